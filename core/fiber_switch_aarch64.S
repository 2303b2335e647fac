/* Context switch for aarch64 (AAPCS64): see fiber_internal.h. A suspended
 * context is its stack pointer, where a 176-byte frame holds x19-x28,
 * x29 (fp), x30 (lr, where to resume), d8-d15 and FPCR. */
#if defined(__aarch64__) && !defined(CW_FIBER_UCONTEXT)

	.text

/* void cw_fiber_switch(void **save_sp, void *load_sp) */
	.globl	cw_fiber_switch
	.hidden	cw_fiber_switch
	.type	cw_fiber_switch, %function
	.p2align 4
cw_fiber_switch:
	.cfi_startproc
	sub	sp, sp, #176
	stp	x19, x20, [sp, #0]
	stp	x21, x22, [sp, #16]
	stp	x23, x24, [sp, #32]
	stp	x25, x26, [sp, #48]
	stp	x27, x28, [sp, #64]
	stp	x29, x30, [sp, #80]
	stp	d8, d9, [sp, #96]
	stp	d10, d11, [sp, #112]
	stp	d12, d13, [sp, #128]
	stp	d14, d15, [sp, #144]
	mrs	x9, fpcr
	str	x9, [sp, #160]
	mov	x9, sp
	str	x9, [x0]
	mov	sp, x1
	ldp	x19, x20, [sp, #0]
	ldp	x21, x22, [sp, #16]
	ldp	x23, x24, [sp, #32]
	ldp	x25, x26, [sp, #48]
	ldp	x27, x28, [sp, #64]
	ldp	x29, x30, [sp, #80]
	ldp	d8, d9, [sp, #96]
	ldp	d10, d11, [sp, #112]
	ldp	d12, d13, [sp, #128]
	ldp	d14, d15, [sp, #144]
	ldr	x9, [sp, #160]
	msr	fpcr, x9
	add	sp, sp, #176
	ret
	.cfi_endproc
	.size	cw_fiber_switch, .-cw_fiber_switch

/* void *cw_fiber_stack_init(void *top, void (*entry)(void))
 * Lays out a context below top (16-byte aligned) that cw_fiber_switch enters
 * at entry with sp = top; a null frame pointer ends backtraces. The
 * floating-point control state is the caller's, as a new thread inherits it. */
	.globl	cw_fiber_stack_init
	.hidden	cw_fiber_stack_init
	.type	cw_fiber_stack_init, %function
	.p2align 4
cw_fiber_stack_init:
	.cfi_startproc
	sub	x0, x0, #176
	stp	xzr, xzr, [x0, #0]
	stp	xzr, xzr, [x0, #16]
	stp	xzr, xzr, [x0, #32]
	stp	xzr, xzr, [x0, #48]
	stp	xzr, xzr, [x0, #64]
	stp	xzr, x1, [x0, #80]
	stp	xzr, xzr, [x0, #96]
	stp	xzr, xzr, [x0, #112]
	stp	xzr, xzr, [x0, #128]
	stp	xzr, xzr, [x0, #144]
	mrs	x9, fpcr
	stp	x9, xzr, [x0, #160]
	ret
	.cfi_endproc
	.size	cw_fiber_stack_init, .-cw_fiber_stack_init

#endif

	.section .note.GNU-stack, "", %progbits
