/* Context switch for aarch64 (AAPCS64): see fiber_internal.h. A suspended
 * context is its stack pointer, where a 176-byte frame holds x19-x28,
 * x29 (fp), x30 (lr, where to resume), d8-d15 and FPCR. */
#if defined(__aarch64__) && !defined(CW_FIBER_UCONTEXT)

	.text

/* Saves the caller's context on its stack and its stack pointer at [x0]. */
	.macro	SAVE_CONTEXT
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
	.endm

/* Loads the callee-saved registers of the context at sp and pops it. */
	.macro	RESTORE_CONTEXT
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
	add	sp, sp, #176
	.endm

/* void cw_fiber_switch(void **save_sp, void *load_sp) */
	.globl	cw_fiber_switch
	.hidden	cw_fiber_switch
	.type	cw_fiber_switch, %function
	.p2align 4
cw_fiber_switch:
	.cfi_startproc
	SAVE_CONTEXT
	mov	sp, x1
	ldr	x9, [sp, #160]
	msr	fpcr, x9
	RESTORE_CONTEXT
	ret
	.cfi_endproc
	.size	cw_fiber_switch, .-cw_fiber_switch

/* void cw_fiber_start(void **save_sp, void *top, void *(*entry)(void))
 * Saves the caller's context as cw_fiber_switch does, then calls entry on
 * the empty stack below top (16-byte aligned), with a null frame pointer
 * and no return address for backtraces to follow. The floating-point
 * control state stays the caller's, as a new thread inherits it.
 * entry returns once the fiber has finished, with the stack pointer of the
 * context to switch back to: that context's FPCR is mostly the fiber's
 * still, and writing it again would stall for nothing. A fiber that
 * finishes without suspending has made balanced calls and returns, so this
 * ret and those after it are predicted. */
	.globl	cw_fiber_start
	.hidden	cw_fiber_start
	.type	cw_fiber_start, %function
	.p2align 4
cw_fiber_start:
	.cfi_startproc
	SAVE_CONTEXT
	mov	sp, x1
	.cfi_undefined x30
	mov	x29, xzr
	blr	x2
	mov	sp, x0
	ldr	x9, [sp, #160]
	mrs	x10, fpcr
	cmp	x9, x10
	b.eq	1f
	msr	fpcr, x9
1:	RESTORE_CONTEXT
	ret
	.cfi_endproc
	.size	cw_fiber_start, .-cw_fiber_start

#endif

	.section .note.GNU-stack, "", %progbits
