# First call of a lazily bound library function (see cmake/lazy_libs.py).
# Each generated stub jumps here with its index in %r11 when its slot is
# still empty. The argument registers of the System V x86-64 calling
# convention (and %rax, the vector-register count of variadic calls, and
# %r10, the static chain) are saved, vigil_lazy_resolve(index) fills the slot
# and returns the function's address, the registers are restored and control
# goes on to the function as if it had been called directly: the return
# address and any stack arguments are untouched.
	.section .note.GNU-stack,"",@progbits
	.text
	.globl vigil_lazy_bind
	.hidden vigil_lazy_bind
	.type vigil_lazy_bind,@function
	.p2align 4
vigil_lazy_bind:
	pushq %rbp
	movq %rsp, %rbp
	subq $192, %rsp
	movq %rdi, 0(%rsp)
	movq %rsi, 8(%rsp)
	movq %rdx, 16(%rsp)
	movq %rcx, 24(%rsp)
	movq %r8, 32(%rsp)
	movq %r9, 40(%rsp)
	movq %rax, 48(%rsp)
	movq %r10, 56(%rsp)
	movdqu %xmm0, 64(%rsp)
	movdqu %xmm1, 80(%rsp)
	movdqu %xmm2, 96(%rsp)
	movdqu %xmm3, 112(%rsp)
	movdqu %xmm4, 128(%rsp)
	movdqu %xmm5, 144(%rsp)
	movdqu %xmm6, 160(%rsp)
	movdqu %xmm7, 176(%rsp)
	movl %r11d, %edi
	call vigil_lazy_resolve
	movq %rax, %r11
	movq 0(%rsp), %rdi
	movq 8(%rsp), %rsi
	movq 16(%rsp), %rdx
	movq 24(%rsp), %rcx
	movq 32(%rsp), %r8
	movq 40(%rsp), %r9
	movq 48(%rsp), %rax
	movq 56(%rsp), %r10
	movdqu 64(%rsp), %xmm0
	movdqu 80(%rsp), %xmm1
	movdqu 96(%rsp), %xmm2
	movdqu 112(%rsp), %xmm3
	movdqu 128(%rsp), %xmm4
	movdqu 144(%rsp), %xmm5
	movdqu 160(%rsp), %xmm6
	movdqu 176(%rsp), %xmm7
	leave
	jmp *%r11
	.size vigil_lazy_bind, .-vigil_lazy_bind
