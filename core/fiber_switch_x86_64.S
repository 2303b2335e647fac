/* Context switch for x86_64 (System V): see fiber_internal.h. A suspended
 * context is its stack pointer; below it lie MXCSR and the x87 control word,
 * then r15, r14, r13, r12, rbx, rbp and the address to return to. */
#if defined(__x86_64__) && !defined(CW_FIBER_UCONTEXT)

	.text

/* Saves the caller's context on its stack and its stack pointer at (%rdi). */
	.macro	SAVE_CONTEXT
	pushq	%rbp
	pushq	%rbx
	pushq	%r12
	pushq	%r13
	pushq	%r14
	pushq	%r15
	subq	$8, %rsp
	stmxcsr	(%rsp)
	fnstcw	4(%rsp)
	movq	%rsp, (%rdi)
	.endm

/* Pops the callee-saved registers of the context at %rsp, leaving its
 * address to return to on top. */
	.macro	RESTORE_REGISTERS
	addq	$8, %rsp
	popq	%r15
	popq	%r14
	popq	%r13
	popq	%r12
	popq	%rbx
	popq	%rbp
	.endm

/* void cw_fiber_switch(void **save_sp, void *load_sp) */
	.globl	cw_fiber_switch
	.hidden	cw_fiber_switch
	.type	cw_fiber_switch, @function
	.p2align 4
cw_fiber_switch:
	.cfi_startproc
	SAVE_CONTEXT
	movq	%rsi, %rsp
	ldmxcsr	(%rsp)
	fldcw	4(%rsp)
	RESTORE_REGISTERS
	/* jump, not ret: a ret to another stack always misses the return stack buffer */
	popq	%rcx
	jmp	*%rcx
	.cfi_endproc
	.size	cw_fiber_switch, .-cw_fiber_switch

/* void cw_fiber_start(void **save_sp, void *top, void *(*entry)(void))
 * Saves the caller's context as cw_fiber_switch does, then calls entry on
 * the empty stack below top (16-byte aligned), with no frame pointer and no
 * return address for backtraces to follow. The floating-point control state
 * stays the caller's, as a new thread inherits it.
 * entry returns once the fiber has finished, with the stack pointer of the
 * context to switch back to, which is resumed as cw_fiber_switch does but
 * with a ret: a fiber that finishes without suspending has made balanced
 * calls and returns, so this ret and those after it hit the return stack
 * buffer. (Loading the floating-point control state costs less than reading
 * it to see whether it changed: stmxcsr waits for the FP work in flight.) */
	.globl	cw_fiber_start
	.hidden	cw_fiber_start
	.type	cw_fiber_start, @function
	.p2align 4
cw_fiber_start:
	.cfi_startproc
	SAVE_CONTEXT
	movq	%rsi, %rsp
	.cfi_undefined rip
	xorl	%ebp, %ebp
	call	*%rdx
	movq	%rax, %rsp
	ldmxcsr	(%rsp)
	fldcw	4(%rsp)
	RESTORE_REGISTERS
	ret
	.cfi_endproc
	.size	cw_fiber_start, .-cw_fiber_start

#endif

	.section .note.GNU-stack, "", @progbits
