/* Context switch for x86_64 (System V): see fiber_internal.h. A suspended
 * context is its stack pointer; below it lie MXCSR and the x87 control word,
 * then r15, r14, r13, r12, rbx, rbp and the address to return to. */
#if defined(__x86_64__) && !defined(CW_FIBER_UCONTEXT)

	.text

/* void cw_fiber_switch(void **save_sp, void *load_sp) */
	.globl	cw_fiber_switch
	.hidden	cw_fiber_switch
	.type	cw_fiber_switch, @function
	.p2align 4
cw_fiber_switch:
	.cfi_startproc
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
	movq	%rsi, %rsp
	ldmxcsr	(%rsp)
	fldcw	4(%rsp)
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

/* void *cw_fiber_stack_init(void *top, void (*entry)(void))
 * Lays out a context below top (16-byte aligned) that cw_fiber_switch enters
 * at entry as if entry had been called: a null return address above it ends
 * backtraces. The floating-point control state is the caller's, as a new
 * thread inherits it. */
	.globl	cw_fiber_stack_init
	.hidden	cw_fiber_stack_init
	.type	cw_fiber_stack_init, @function
	.p2align 4
cw_fiber_stack_init:
	.cfi_startproc
	leaq	-72(%rdi), %rax
	movq	$0, -8(%rdi)
	movq	%rsi, -16(%rdi)
	movq	$0, -24(%rdi)
	movq	$0, -32(%rdi)
	movq	$0, -40(%rdi)
	movq	$0, -48(%rdi)
	movq	$0, -56(%rdi)
	movq	$0, -64(%rdi)
	movq	$0, (%rax)
	stmxcsr	(%rax)
	fnstcw	4(%rax)
	ret
	.cfi_endproc
	.size	cw_fiber_stack_init, .-cw_fiber_stack_init

#endif

	.section .note.GNU-stack, "", @progbits
