/* unsigned long cw_probe_callee_saved(void (*fn)(void *), void *arg, unsigned long seed)
 * Loads seed+1 .. seed+6 into rbp, rbx, r12-r15, calls fn(arg) and returns a
 * mask of the registers that did not hold their value afterwards (bit 0: rbp). */
#if defined(__x86_64__)
	.text
	.globl	cw_probe_callee_saved
	.type	cw_probe_callee_saved, @function
cw_probe_callee_saved:
	pushq	%rbp
	pushq	%rbx
	pushq	%r12
	pushq	%r13
	pushq	%r14
	pushq	%r15
	pushq	%rdx
	leaq	1(%rdx), %rbp
	leaq	2(%rdx), %rbx
	leaq	3(%rdx), %r12
	leaq	4(%rdx), %r13
	leaq	5(%rdx), %r14
	leaq	6(%rdx), %r15
	movq	%rdi, %rax
	movq	%rsi, %rdi
	call	*%rax
	popq	%rdx
	xorl	%eax, %eax
	.macro	check reg, offset, bit
	leaq	\offset(%rdx), %rcx
	cmpq	%rcx, \reg
	je	1f
	orq	$\bit, %rax
1:
	.endm
	check	%rbp, 1, 1
	check	%rbx, 2, 2
	check	%r12, 3, 4
	check	%r13, 4, 8
	check	%r14, 5, 16
	check	%r15, 6, 32
	popq	%r15
	popq	%r14
	popq	%r13
	popq	%r12
	popq	%rbx
	popq	%rbp
	ret
	.size	cw_probe_callee_saved, .-cw_probe_callee_saved
#endif
	.section .note.GNU-stack, "", @progbits
