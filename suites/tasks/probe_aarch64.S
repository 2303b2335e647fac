/* unsigned long cw_probe_callee_saved(void (*fn)(void *), void *arg, unsigned long seed)
 * Loads seed+1 .. seed+19 into x19-x29 and d8-d15, calls fn(arg) and returns
 * a mask of the registers that did not hold their value afterwards (bit 0:
 * x19, ..., bit 10: x29, bit 11: d8, ..., bit 18: d15). */
#if defined(__aarch64__)
	.text
	.globl	cw_probe_callee_saved
	.type	cw_probe_callee_saved, %function
cw_probe_callee_saved:
	stp	x29, x30, [sp, #-176]!
	stp	x19, x20, [sp, #16]
	stp	x21, x22, [sp, #32]
	stp	x23, x24, [sp, #48]
	stp	x25, x26, [sp, #64]
	stp	x27, x28, [sp, #80]
	stp	d8, d9, [sp, #96]
	stp	d10, d11, [sp, #112]
	stp	d12, d13, [sp, #128]
	stp	d14, d15, [sp, #144]
	str	x2, [sp, #160]
	.macro	load_x reg, offset
	add	\reg, x2, #\offset
	.endm
	.macro	load_d reg, offset
	add	x9, x2, #\offset
	fmov	\reg, x9
	.endm
	load_x	x19, 1
	load_x	x20, 2
	load_x	x21, 3
	load_x	x22, 4
	load_x	x23, 5
	load_x	x24, 6
	load_x	x25, 7
	load_x	x26, 8
	load_x	x27, 9
	load_x	x28, 10
	load_x	x29, 11
	load_d	d8, 12
	load_d	d9, 13
	load_d	d10, 14
	load_d	d11, 15
	load_d	d12, 16
	load_d	d13, 17
	load_d	d14, 18
	load_d	d15, 19
	mov	x9, x0
	mov	x0, x1
	blr	x9
	ldr	x2, [sp, #160]
	mov	x0, #0
	.macro	check_x reg, offset, bit
	add	x9, x2, #\offset
	cmp	\reg, x9
	b.eq	1f
	orr	x0, x0, #(1 << \bit)
1:
	.endm
	.macro	check_d reg, offset, bit
	fmov	x10, \reg
	check_x	x10, \offset, \bit
	.endm
	check_x	x19, 1, 0
	check_x	x20, 2, 1
	check_x	x21, 3, 2
	check_x	x22, 4, 3
	check_x	x23, 5, 4
	check_x	x24, 6, 5
	check_x	x25, 7, 6
	check_x	x26, 8, 7
	check_x	x27, 9, 8
	check_x	x28, 10, 9
	check_x	x29, 11, 10
	check_d	d8, 12, 11
	check_d	d9, 13, 12
	check_d	d10, 14, 13
	check_d	d11, 15, 14
	check_d	d12, 16, 15
	check_d	d13, 17, 16
	check_d	d14, 18, 17
	check_d	d15, 19, 18
	ldp	x19, x20, [sp, #16]
	ldp	x21, x22, [sp, #32]
	ldp	x23, x24, [sp, #48]
	ldp	x25, x26, [sp, #64]
	ldp	x27, x28, [sp, #80]
	ldp	d8, d9, [sp, #96]
	ldp	d10, d11, [sp, #112]
	ldp	d12, d13, [sp, #128]
	ldp	d14, d15, [sp, #144]
	ldp	x29, x30, [sp], #176
	ret
	.size	cw_probe_callee_saved, .-cw_probe_callee_saved
#endif
	.section .note.GNU-stack, "", %progbits
