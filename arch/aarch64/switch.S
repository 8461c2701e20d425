/*
 * arch/aarch64/switch.S: gogo, mcall and the first and last frames of a
 * goroutine, for AAPCS64 (Linux). See arch/context.h for the contract and
 * the layout of a saved frame.
 *
 * Only what the ABI makes callee-saved moves: x19-x28, x29 (fp), x30 (lr,
 * the resume address), sp, d8-d15 (the low halves of v8-v15) and FPCR.
 * Everything else is dead at a call, and rg__mcall is only ever reached by
 * a call. x18 is the platform register and is never touched.
 *
 * The stack pointer stays 16-byte aligned everywhere (the hardware checks
 * it on every sp-based access): the frame is a multiple of 16 and the
 * stack tops handed to rg__mcall and rg__ctx_make are (or are rounded
 * down to) multiples of 16.
 *
 * Branch protection: this file carries no BTI/PAC property note, so a
 * link that includes it is not BTI-enforced. It has to stay that way
 * while rg__gogo resumes with br: a br into a guarded page must land on a
 * bti instruction, and resume addresses follow ordinary bl calls. Code
 * built with pac-ret needs nothing from this file: rg__mcall saves lr as
 * its caller's bl set it (unsigned: a callee signs lr in its prologue),
 * and a resumed caller authenticates its own saved lr against its own sp,
 * which the switch restores.
 */
#include "../asm.h"
#include "../context.h"

/*
 * void rg__gogo(struct rg_gobuf *buf)
 * x0: buf. Restore the context saved in buf->sp and jump to its resume
 * address. An indirect br, not ret: a ret would always miss in the return
 * stack predictor (the resumed context was not called from here), while
 * the indirect predictor learns switch patterns. FPCR is written only when
 * it differs: reading it is cheap, writing it may synchronize the FP unit.
 */
ENTRY(rg__gogo)
	ldr	x9, [x0]
	ldp	x29, x30, [x9, #RG_CTX_OFF_RBP]
	ldp	x19, x20, [x9, #RG_CTX_OFF_X19]
	ldp	x21, x22, [x9, #RG_CTX_OFF_X21]
	ldp	x23, x24, [x9, #RG_CTX_OFF_X23]
	ldp	x25, x26, [x9, #RG_CTX_OFF_X25]
	ldp	x27, x28, [x9, #RG_CTX_OFF_X27]
	ldp	d8, d9, [x9, #RG_CTX_OFF_D8]
	ldp	d10, d11, [x9, #RG_CTX_OFF_D10]
	ldp	d12, d13, [x9, #RG_CTX_OFF_D12]
	ldp	d14, d15, [x9, #RG_CTX_OFF_D14]
	ldr	x10, [x9, #RG_CTX_OFF_FPCR]
	mrs	x11, fpcr
	cmp	x10, x11
	b.eq	1f
	msr	fpcr, x10
1:	add	sp, x9, #RG_CTX_FRAME_SIZE
	br	x30
END(rg__gogo)

/*
 * void rg__mcall(struct rg_gobuf *save, void *sp, void (*fn)(void *), void *arg)
 * x0: save, x1: g0 stack pointer (16-byte aligned), x2: fn, x3: arg.
 * Push the callee-saved state (the first store allocates the frame), store
 * sp into save->sp, switch to sp and call fn(arg) with x29 = 0. fn never
 * returns; if it does, trap.
 */
ENTRY(rg__mcall)
	stp	x29, x30, [sp, #-RG_CTX_FRAME_SIZE]!
	.cfi_def_cfa_offset RG_CTX_FRAME_SIZE
	.cfi_offset x29, -RG_CTX_FRAME_SIZE
	.cfi_offset x30, -(RG_CTX_FRAME_SIZE - 8)
	stp	x19, x20, [sp, #RG_CTX_OFF_X19]
	stp	x21, x22, [sp, #RG_CTX_OFF_X21]
	stp	x23, x24, [sp, #RG_CTX_OFF_X23]
	stp	x25, x26, [sp, #RG_CTX_OFF_X25]
	stp	x27, x28, [sp, #RG_CTX_OFF_X27]
	stp	d8, d9, [sp, #RG_CTX_OFF_D8]
	stp	d10, d11, [sp, #RG_CTX_OFF_D10]
	stp	d12, d13, [sp, #RG_CTX_OFF_D12]
	stp	d14, d15, [sp, #RG_CTX_OFF_D14]
	mrs	x9, fpcr
	str	x9, [sp, #RG_CTX_OFF_FPCR]
	mov	x9, sp
	str	x9, [x0]
	mov	sp, x1
	mov	x29, xzr		/* g0's frame chain starts here */
	mov	x0, x3
	blr	x2
	brk	#0x3e8
END(rg__mcall)

/*
 * First frame of every goroutine, entered by the br of rg__gogo.
 * x19: entry function, x20: its argument, x29: 0 (ends frame-pointer
 * walks), sp: the 16-aligned stack top. lr is set to a return address
 * inside rg__goexit, so entry returns into goexit, as if goexit had
 * called it.
 */
ENTRY(rg__gostart)
	.cfi_undefined x30
	mov	x0, x20
	adr	x30, rg__goexit + RG_CTX_GOEXIT_RA
	br	x19
END(rg__gostart)

/*
 * Reached by the return of a goroutine's entry function (sp 16-aligned).
 * Calls rg__goexit1(), which switches to g0 and never returns.
 */
ENTRY(rg__goexit)
	.cfi_undefined x30
	nop			/* return addresses point after a call; keep */
	bl	rg__goexit1	/* symbolizers inside this function */
	brk	#0x3e8
END(rg__goexit)

/*
 * void rg__ctx_make(struct rg_gobuf *buf, void *hi, void (*entry)(void *), void *arg)
 * x0: buf, x1: top of the new stack, x2: entry, x3: arg.
 * Lay out, below hi rounded down to 16 bytes, a frame that rg__gogo
 * resumes into rg__gostart with x19 = entry, x20 = arg, x29 = 0, the other
 * callee-saved registers zero and FPCR 0 (the ABI default: round to
 * nearest, no flush-to-zero, no traps). Once the frame is popped, sp is
 * the rounded top: nothing of the new stack is used above it.
 */
ENTRY(rg__ctx_make)
	and	x1, x1, #-16
	sub	x9, x1, #RG_CTX_FRAME_SIZE
	adr	x10, rg__gostart
	stp	xzr, x10, [x9, #RG_CTX_OFF_RBP]
	stp	x2, x3, [x9, #RG_CTX_OFF_X19]
	stp	xzr, xzr, [x9, #RG_CTX_OFF_X21]
	stp	xzr, xzr, [x9, #RG_CTX_OFF_X23]
	stp	xzr, xzr, [x9, #RG_CTX_OFF_X25]
	stp	xzr, xzr, [x9, #RG_CTX_OFF_X27]
	stp	xzr, xzr, [x9, #RG_CTX_OFF_D8]
	stp	xzr, xzr, [x9, #RG_CTX_OFF_D10]
	stp	xzr, xzr, [x9, #RG_CTX_OFF_D12]
	stp	xzr, xzr, [x9, #RG_CTX_OFF_D14]
	stp	xzr, xzr, [x9, #RG_CTX_OFF_FPCR]
	str	x9, [x0]
	ret
END(rg__ctx_make)

	.section .note.GNU-stack,"",@progbits
