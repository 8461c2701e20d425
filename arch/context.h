/*
 * arch/context.h: the saved context of a goroutine and the assembly entry
 * points that switch between contexts. Included by C and by the .S files.
 *
 * A context is a single stack pointer. Everything else a switch must keep
 * (the callee-saved registers, the floating-point control state: MXCSR and
 * the x87 control word, or FPCR, and the address to resume at) is pushed
 * on the stack that is being left, so a
 * suspended goroutine costs sizeof(struct rg_gobuf) outside its own stack.
 *
 * The model is the Go runtime's gobuf/gogo/mcall:
 *
 *   rg__gogo(buf)               restore the context saved in buf and run it;
 *                               never returns to its caller.
 *   rg__mcall(save, sp, fn, a)  save the running context into save, switch to
 *                               the stack sp (an M's g0 stack) and call
 *                               fn(a) there; fn must never return.
 *
 * A new goroutine's stack is laid out by rg__ctx_make() so that the first
 * rg__gogo() enters fn(arg) through rg__gostart, with rg__goexit as the
 * return address of fn's frame: returning from the goroutine function
 * returns into goexit, exactly as in Go's newproc.
 */
#ifndef RINGO_ARCH_CONTEXT_H
#define RINGO_ARCH_CONTEXT_H

#if defined(__x86_64__)
/*
 * x86-64 frame saved by rg__mcall, from the saved sp upwards:
 *
 *   sp+0   MXCSR (4 bytes), then the x87 control word (2 bytes), padding
 *   sp+8   r15
 *   sp+16  r14
 *   sp+24  r13
 *   sp+32  r12
 *   sp+40  rbx
 *   sp+48  rbp    <- frame pointer of the suspended code (dumps walk it)
 *   sp+56  return address: where rg__gogo resumes
 */
#define RG_CTX_FRAME_SIZE 64
#define RG_CTX_OFF_CSR 0
#define RG_CTX_OFF_R15 8
#define RG_CTX_OFF_R14 16
#define RG_CTX_OFF_R13 24
#define RG_CTX_OFF_R12 32
#define RG_CTX_OFF_RBX 40
#define RG_CTX_OFF_RBP 48
#define RG_CTX_OFF_PC 56
/* rg__goexit + this is the return address of a goroutine's first frame. */
#define RG_CTX_GOEXIT_RA 1
#elif defined(__aarch64__)
/*
 * aarch64 (AAPCS64) frame saved by rg__mcall, from the saved sp upwards.
 * x29/x30 come first, so the saved sp points at an ordinary frame record
 * (fp, lr) and rg__mcall allocates the frame with that one store:
 *
 *   sp+0    x29 (fp)  <- frame pointer of the suspended code (dumps walk it)
 *   sp+8    x30 (lr)  <- where rg__gogo resumes
 *   sp+16   x19 x20, sp+32 x21 x22, sp+48 x23 x24, sp+64 x25 x26,
 *   sp+80   x27 x28
 *   sp+96   d8 d9, sp+112 d10 d11, sp+128 d12 d13, sp+144 d14 d15
 *   sp+160  FPCR (rounding mode, FZ, DN, trap enables), padding to 16
 */
#define RG_CTX_FRAME_SIZE 176
#define RG_CTX_OFF_RBP 0 /* x29, the frame pointer */
#define RG_CTX_OFF_PC 8  /* x30, the resume address */
#define RG_CTX_OFF_X19 16
#define RG_CTX_OFF_X21 32
#define RG_CTX_OFF_X23 48
#define RG_CTX_OFF_X25 64
#define RG_CTX_OFF_X27 80
#define RG_CTX_OFF_D8 96
#define RG_CTX_OFF_D10 112
#define RG_CTX_OFF_D12 128
#define RG_CTX_OFF_D14 144
#define RG_CTX_OFF_FPCR 160
/* rg__goexit + this is the return address of a goroutine's first frame. */
#define RG_CTX_GOEXIT_RA 4
#else
#error "ringo: unsupported architecture"
#endif

#ifndef __ASSEMBLER__
#include <stddef.h>
#include <stdint.h>

/* The saved context of a suspended goroutine (Go's gobuf). */
struct rg_gobuf {
    void *sp; /* saved stack pointer; the frame above is laid out as above */
};

_Static_assert(offsetof(struct rg_gobuf, sp) == 0,
               "the assembly stores the stack pointer at offset 0");

/* Restore buf's context and continue it. Never returns. */
void rg__gogo(struct rg_gobuf *buf) __attribute__((noreturn));

/*
 * Save the running context into *save, switch to stack sp and call fn(arg).
 * fn must not return. The saved context resumes (returns from rg__mcall)
 * when some M calls rg__gogo(save), possibly on another thread.
 */
void rg__mcall(struct rg_gobuf *save, void *sp, void (*fn)(void *), void *arg);

/* First frame of a new goroutine: calls entry(arg), returning into goexit. */
void rg__gostart(void);
/* Return address of every goroutine's first frame; calls rg__goexit1(). */
void rg__goexit(void);

/*
 * Lay out a new context at the top of [lo, hi) that will call entry(arg)
 * when first resumed, and return into rg__goexit when entry returns.
 */
void rg__ctx_make(struct rg_gobuf *buf, void *hi, void (*entry)(void *),
                  void *arg);

/* Read the thread pointer (fs base / tpidr_el0); never cached. */
static inline char *rg__thread_pointer(void)
{
    char *tp;
#if defined(__x86_64__)
    __asm__ volatile("movq %%fs:0, %0" : "=r"(tp)::"memory");
#else
    __asm__ volatile("mrs %0, tpidr_el0" : "=r"(tp)::"memory");
#endif
    return tp;
}
#endif /* __ASSEMBLER__ */
#endif
