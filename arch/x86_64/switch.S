/*
 * arch/x86_64/switch.S: gogo, mcall and the first and last frames of a
 * goroutine, for the System V x86-64 ABI. See arch/context.h for the
 * contract and the layout of a saved frame.
 *
 * Only what the ABI makes callee-saved moves: rbx, rbp, r12-r15, rsp, the
 * MXCSR control bits and the x87 control word. Everything else is dead at a
 * call, and rg__mcall is only ever reached by a call.
 */
#include "../asm.h"
#include "../context.h"

/*
 * void rg__gogo(struct rg_gobuf *buf)
 * rdi: buf. Restore the context saved in buf->sp and jump to its resume
 * address. An indirect jmp, not ret: a ret would always miss in the return
 * stack predictor (the resumed context was not called from here), while
 * the indirect predictor learns switch patterns (8.2 -> 2.4 ns a switch).
 */
ENTRY(rg__gogo)
	movq	(%rdi), %rsp
	ldmxcsr	RG_CTX_OFF_CSR(%rsp)
	fldcw	RG_CTX_OFF_CSR+4(%rsp)
	movq	RG_CTX_OFF_R15(%rsp), %r15
	movq	RG_CTX_OFF_R14(%rsp), %r14
	movq	RG_CTX_OFF_R13(%rsp), %r13
	movq	RG_CTX_OFF_R12(%rsp), %r12
	movq	RG_CTX_OFF_RBX(%rsp), %rbx
	movq	RG_CTX_OFF_RBP(%rsp), %rbp
	movq	RG_CTX_OFF_PC(%rsp), %rcx
	addq	$RG_CTX_FRAME_SIZE, %rsp
	jmpq	*%rcx
END(rg__gogo)

/*
 * void rg__mcall(struct rg_gobuf *save, void *sp, void (*fn)(void *), void *arg)
 * rdi: save, rsi: g0 stack pointer (16-byte aligned), rdx: fn, rcx: arg.
 * Push the callee-saved state, store rsp into save->sp, switch to sp and
 * call fn(arg). fn never returns; if it does, trap.
 */
ENTRY(rg__mcall)
	subq	$RG_CTX_OFF_PC, %rsp
	.cfi_adjust_cfa_offset RG_CTX_OFF_PC
	movq	%rbp, RG_CTX_OFF_RBP(%rsp)
	movq	%rbx, RG_CTX_OFF_RBX(%rsp)
	movq	%r12, RG_CTX_OFF_R12(%rsp)
	movq	%r13, RG_CTX_OFF_R13(%rsp)
	movq	%r14, RG_CTX_OFF_R14(%rsp)
	movq	%r15, RG_CTX_OFF_R15(%rsp)
	stmxcsr	RG_CTX_OFF_CSR(%rsp)
	fnstcw	RG_CTX_OFF_CSR+4(%rsp)
	movq	%rsp, (%rdi)
	movq	%rsi, %rsp
	xorl	%ebp, %ebp		/* g0's frame chain starts here */
	movq	%rcx, %rdi
	callq	*%rdx
	ud2
END(rg__mcall)

/*
 * First frame of every goroutine, entered by the ret of rg__gogo.
 * rbx: entry function, r12: its argument, rbp: 0 (ends frame-pointer walks).
 * rsp points at the slot holding rg__goexit, so entry returns into goexit.
 */
ENTRY(rg__gostart)
	.cfi_undefined rip
	movq	%r12, %rdi
	jmpq	*%rbx
END(rg__gostart)

/*
 * Reached by the return of a goroutine's entry function (rsp 16-aligned).
 * Calls rg__goexit1(), which switches to g0 and never returns.
 */
ENTRY(rg__goexit)
	.cfi_undefined rip
	nop			/* return addresses point after a call; keep */
	callq	rg__goexit1	/* symbolizers inside this function */
	ud2
END(rg__goexit)

/*
 * void rg__ctx_make(struct rg_gobuf *buf, void *hi, void (*entry)(void *), void *arg)
 * rdi: buf, rsi: top of the new stack, rdx: entry, rcx: arg.
 * Lay out, below hi rounded down to 16 bytes, a frame that rg__gogo resumes
 * into rg__gostart, and above it the return slot holding rg__goexit+1 (a
 * return address inside goexit, as a call would have pushed). The slot is at
 * 8 mod 16, as the ABI wants at a function's entry.
 */
#define TOP (-RG_CTX_FRAME_SIZE - 8)
ENTRY(rg__ctx_make)
	andq	$-16, %rsi
	leaq	rg__goexit+1(%rip), %rax
	movq	%rax, -8(%rsi)
	leaq	rg__gostart(%rip), %rax
	movq	%rax, TOP+RG_CTX_OFF_PC(%rsi)
	movq	$0, TOP+RG_CTX_OFF_RBP(%rsi)
	movq	%rdx, TOP+RG_CTX_OFF_RBX(%rsi)
	movq	%rcx, TOP+RG_CTX_OFF_R12(%rsi)
	movq	$0, TOP+RG_CTX_OFF_R13(%rsi)
	movq	$0, TOP+RG_CTX_OFF_R14(%rsi)
	movq	$0, TOP+RG_CTX_OFF_R15(%rsi)
	movl	$0x1f80, TOP+RG_CTX_OFF_CSR(%rsi)	/* ABI default MXCSR */
	movw	$0x037f, TOP+RG_CTX_OFF_CSR+4(%rsi)	/* ABI default x87 CW */
	leaq	TOP(%rsi), %rax
	movq	%rax, (%rdi)
	ret
END(rg__ctx_make)

	.section .note.GNU-stack,"",@progbits
