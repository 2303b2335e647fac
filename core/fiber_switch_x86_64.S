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
.Lrestore_registers:
	addq	$8, %rsp
	popq	%r15
	popq	%r14
	popq	%r13
	popq	%r12
	popq	%rbx
	popq	%rbp
	/* jump, not ret: a ret to another stack always misses the return stack buffer */
	popq	%rcx
	jmp	*%rcx
	.cfi_endproc
	.size	cw_fiber_switch, .-cw_fiber_switch

/* void cw_fiber_exit(void *load_sp)
 * The second half of cw_fiber_switch alone, from a finished fiber. Its
 * floating-point control state is mostly the one to resume: loading them
 * again would stall for nothing. */
	.globl	cw_fiber_exit
	.hidden	cw_fiber_exit
	.type	cw_fiber_exit, @function
	.p2align 4
cw_fiber_exit:
	.cfi_startproc
	movq	%rdi, %rsp
	stmxcsr	-8(%rsp)
	fnstcw	-4(%rsp)
	movl	-8(%rsp), %eax
	movzwl	-4(%rsp), %ecx
	cmpl	(%rsp), %eax
	jne	1f
	cmpw	4(%rsp), %cx
	je	.Lrestore_registers
1:	ldmxcsr	(%rsp)
	fldcw	4(%rsp)
	jmp	.Lrestore_registers
	.cfi_endproc
	.size	cw_fiber_exit, .-cw_fiber_exit

/* void cw_fiber_start(void **save_sp, void *top, void (*entry)(void))
 * Saves the caller's context as cw_fiber_switch does, then enters entry on
 * the empty stack below top (16-byte aligned) as if entry had been called,
 * from a null return address that ends backtraces. The floating-point
 * control state stays the caller's, as a new thread inherits it. */
	.globl	cw_fiber_start
	.hidden	cw_fiber_start
	.type	cw_fiber_start, @function
	.p2align 4
cw_fiber_start:
	.cfi_startproc
	SAVE_CONTEXT
	movq	%rsi, %rsp
	pushq	$0
	jmp	*%rdx
	.cfi_endproc
	.size	cw_fiber_start, .-cw_fiber_start

#endif

	.section .note.GNU-stack, "", @progbits
