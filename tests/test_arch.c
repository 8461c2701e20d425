/*
 * tests/test_arch.c: the context-switch contract of arch/ (context.h) on
 * its own, linked with arch/<cpu>/switch.S and nothing else of the runtime.
 * It needs no io_uring, so it runs where rg_run cannot boot (qemu-user
 * runs the aarch64 port here on x86-64 hosts).
 *
 * The suite builds a miniature of the runtime's scheduler: contexts made
 * by rg__ctx_make on mmap'd stacks; per thread, a "main" context (the
 * thread's own stack) and a g0 stack; yield is rg__mcall to g0, where a
 * scheduler function picks the next context of the thread's ring and
 * rg__gogo's into it, or back into main when none is left. rg__goexit1,
 * which the runtime's proc.c provides, is defined here to retire the
 * context whose entry function returned.
 *
 * Code that runs in a context reads thread-local state only through
 * OPAQUE functions: a context may resume on another thread, and a
 * compiler may keep a thread-local address, or the result of a function
 * it deems const (pthread_self), across a call (see "TLS" in
 * runtime/m.c).
 */
#include "helpers.h"
#include "../arch/context.h"
#include "../runtime/debug.h" /* RG_TSAN */

#include <fenv.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define PAGE ((uintptr_t)sysconf(_SC_PAGESIZE)) /* 4, 16 or 64 KiB */
#define STACK_SIZE (64 * 1024)
#define MAXCTX 8

/* Never inlined, and never assumed free of side effects: each call is
   made, and its result computed afresh (put BARRIER() in the body). */
#define OPAQUE __attribute__((noinline))
#define BARRIER() __asm__ volatile("" ::: "memory")

void rg__goexit1(void) __attribute__((noreturn));

struct tctx {
    struct rg_gobuf buf;
    char *block;      /* mapping: guard page, then the stack */
    uintptr_t lo, hi; /* the stack */
    int slot;         /* index in the thread's ring; -1 for its main */
    bool dead;        /* the entry function returned */
    bool parked;      /* skipped by the scheduler until cleared */
};

/* One per thread that runs contexts. */
struct sched {
    struct tctx main; /* the thread's own stack */
    struct tctx *cur; /* running context */
    struct tctx *ring[MAXCTX];
    int n;
    char *g0block;
    uintptr_t g0lo, g0top;
    long switches;           /* entries into g0 */
    long g0bad;              /* g0 entries with a wrong stack or frame chain */
    struct rg_gobuf exitbuf; /* dead contexts save here */
};

static __thread struct sched *S;

static char *block_new(uintptr_t *lo, uintptr_t *hi)
{
    char *b = mmap(NULL, PAGE + STACK_SIZE, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    ck_assert_ptr_ne(b, MAP_FAILED);
    ck_assert_int_eq(mprotect(b, PAGE, PROT_NONE), 0);
    *lo = (uintptr_t)(b + PAGE);
    *hi = *lo + STACK_SIZE;
    return b;
}

static struct tctx *ctx_new(void (*fn)(void *), void *arg)
{
    struct tctx *c = calloc(1, sizeof(*c));
    ck_assert_ptr_nonnull(c);
    c->block = block_new(&c->lo, &c->hi);
    rg__ctx_make(&c->buf, (void *)c->hi, fn, arg);
    return c;
}

static void ctx_free(struct tctx *c)
{
    munmap(c->block, PAGE + STACK_SIZE);
    free(c);
}

/* Set up the calling thread's scheduler, with an empty ring. */
static void sched_init(struct sched *s)
{
    memset(s, 0, sizeof(*s));
    s->main.slot = -1;
    s->cur = &s->main;
    s->g0block = block_new(&s->g0lo, &s->g0top);
    S = s;
}

static void sched_fini(struct sched *s)
{
    munmap(s->g0block, PAGE + STACK_SIZE);
    S = NULL;
}

static void sched_add(struct tctx *c)
{
    ck_assert_int_lt(S->n, MAXCTX);
    c->slot = S->n;
    S->ring[S->n++] = c;
}

/*
 * On g0, at the entry of the function rg__mcall called (frame fp): the
 * stack is the g0 stack, the frame chain ends there (saved fp 0, for
 * traceback walks) and the return address is inside rg__mcall.
 */
static void g0_check(struct sched *s, uintptr_t *fp)
{
    s->switches++;
    if ((uintptr_t)fp < s->g0lo || (uintptr_t)fp >= s->g0top || fp[0] != 0 ||
        fp[1] - (uintptr_t)rg__mcall >= 128)
        s->g0bad++;
}

/* On g0: run the next live context after from, in ring order, or the
   thread's main context when none is left. */
__attribute__((noreturn)) static void pick(struct sched *s, struct tctx *from)
{
    struct tctx *next = &s->main;
    for (int i = 1; i <= s->n; i++) {
        struct tctx *c = s->ring[(from->slot + i + s->n) % s->n];
        if (!c->dead && !c->parked) {
            next = c;
            break;
        }
    }
    s->cur = next;
    rg__gogo(&next->buf);
}

static void yield_m(void *arg)
{
    g0_check(S, __builtin_frame_address(0));
    pick(S, arg);
}

static void park_m(void *arg)
{
    struct tctx *c = arg;
    g0_check(S, __builtin_frame_address(0));
    c->parked = true;
    pick(S, c);
}

static void exit_m(void *arg)
{
    struct tctx *c = arg;
    g0_check(S, __builtin_frame_address(0));
    c->dead = true;
    pick(S, c);
}

/* Switch to the next context of this thread's ring. */
OPAQUE static void yield(void)
{
    struct sched *s = S;
    rg__mcall(&s->cur->buf, (void *)s->g0top, yield_m, s->cur);
}

/* Stop running the current context until someone clears its parked. */
OPAQUE static void park(void)
{
    struct sched *s = S;
    rg__mcall(&s->cur->buf, (void *)s->g0top, park_m, s->cur);
}

/* From a thread's main context: run the ring until every context is dead
   or parked. */
static void run(void)
{
    struct sched *s = S;
    s->cur = &s->main;
    rg__mcall(&s->main.buf, (void *)s->g0top, yield_m, &s->main);
    ck_assert_ptr_eq(S->cur, &S->main);
    ck_assert_int_eq(S->g0bad, 0);
}

/* What rg__goexit called, from which context, on which stack. */
static long goexits;
static long goexit_bad;

void rg__goexit1(void)
{
    struct sched *s = S;
    struct tctx *c = s->cur;
    uintptr_t fp = (uintptr_t)__builtin_frame_address(0);
    uintptr_t ra = (uintptr_t)__builtin_return_address(0);
    goexits++;
    if (fp < c->lo || fp >= c->hi || ra <= (uintptr_t)rg__goexit ||
        ra >= (uintptr_t)rg__goexit + 16)
        goexit_bad++;
    rg__mcall(&s->exitbuf, (void *)s->g0top, exit_m, c);
    __builtin_unreachable();
}

static void reset_counts(void)
{
    goexits = 0;
    goexit_bad = 0;
}

/* ---- ping-pong: strict round robin through g0 ---- */

#ifndef PINGPONG
#define PINGPONG 1000000
#endif
static long turn, nturn, turn_bad;

static void pingpong(void *arg)
{
    long me = (long)arg;
    volatile long mine = me * 1000 + 7; /* lives on this stack */
    long bad = 0;
    for (long i = 0; i < PINGPONG / nturn; i++) {
        bad += turn % nturn != me;
        turn++;
        yield();
        bad += mine != me * 1000 + 7;
    }
    turn_bad += bad;
}

static void pingpong_run(long n)
{
    struct sched s;
    struct tctx *c[MAXCTX];
    sched_init(&s);
    turn = turn_bad = 0;
    nturn = n;
    reset_counts();
    for (long i = 0; i < n; i++) {
        c[i] = ctx_new(pingpong, (void *)i);
        sched_add(c[i]);
    }
    run();
    ck_assert_int_eq(turn_bad, 0);
    ck_assert_int_eq(turn, PINGPONG / n * n);
    ck_assert_int_eq(goexits, n);
    ck_assert_int_eq(goexit_bad, 0);
    /* every yield and exit, plus main's entry */
    ck_assert_int_eq(s.switches, PINGPONG / n * n + n + 1);
    for (long i = 0; i < n; i++)
        ctx_free(c[i]);
    sched_fini(&s);
}

START_TEST(pingpong_two_contexts)
{
    pingpong_run(2);
}
END_TEST

START_TEST(round_robin_eight_contexts)
{
    pingpong_run(8);
}
END_TEST

/* ---- callee-saved registers ---- */

/* The asm below reaches these by name. */
__attribute__((used)) uint64_t regs_in[24], regs_out[24];
__attribute__((used)) void (*volatile yield_ptr)(void) = yield;

#if defined(__x86_64__)
/* rbx, r12-r15, MXCSR (control bits), x87 control word; rsp. */
#define NREGS 7
#define NFPCTL 2 /* the last NFPCTL entries are FP control */
static const uint64_t pattern[NREGS] = {
    0x1111111111111111,
    0x2222222222222222,
    0x3333333333333333,
    0x4444444444444444,
    0x5555555555555555,
    0x1f80 | 0x4000 | 0x8000, /* MXCSR: round up, flush to zero */
    0x037f | 0x0800,          /* x87 CW: round up */
};
__attribute__((used)) uint64_t saved_sp, saved_fpu;         /* regs_roundtrip */
__attribute__((used)) uint64_t clob_sp, clob_fpu, clob_tmp; /* clobber_yield */

/* Load the pattern, yield, store what the registers hold on return.
   The red zone is skipped and the stack aligned by hand: the compiler
   gives no alignment guarantee at an asm statement. */
static void regs_roundtrip(void)
{
    __asm__ volatile("movq %%rsp, saved_sp(%%rip)\n\t"
                     "subq $128, %%rsp\n\t"
                     "andq $-16, %%rsp\n\t"
                     "stmxcsr saved_fpu(%%rip)\n\t"
                     "fnstcw saved_fpu+4(%%rip)\n\t"
                     "movq regs_in+0(%%rip), %%rbx\n\t"
                     "movq regs_in+8(%%rip), %%r12\n\t"
                     "movq regs_in+16(%%rip), %%r13\n\t"
                     "movq regs_in+24(%%rip), %%r14\n\t"
                     "movq regs_in+32(%%rip), %%r15\n\t"
                     "ldmxcsr regs_in+40(%%rip)\n\t"
                     "fldcw regs_in+48(%%rip)\n\t"
                     "movq %%rsp, regs_in+56(%%rip)\n\t"
                     "call *yield_ptr(%%rip)\n\t"
                     "movq %%rsp, regs_out+56(%%rip)\n\t"
                     "movq %%rbx, regs_out+0(%%rip)\n\t"
                     "movq %%r12, regs_out+8(%%rip)\n\t"
                     "movq %%r13, regs_out+16(%%rip)\n\t"
                     "movq %%r14, regs_out+24(%%rip)\n\t"
                     "movq %%r15, regs_out+32(%%rip)\n\t"
                     "stmxcsr regs_out+40(%%rip)\n\t"
                     "fnstcw regs_out+48(%%rip)\n\t"
                     "ldmxcsr saved_fpu(%%rip)\n\t"
                     "fldcw saved_fpu+4(%%rip)\n\t"
                     "movq saved_sp(%%rip), %%rsp\n\t"
                     :
                     :
                     : "rax", "rbx", "rcx", "rdx", "rsi", "rdi", "r8", "r9",
                       "r10", "r11", "r12", "r13", "r14", "r15", "xmm0", "xmm1",
                       "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8",
                       "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14",
                       "xmm15", "memory", "cc");
    regs_out[5] &= 0xffc0; /* MXCSR: control bits only, not the flags */
    regs_out[6] &= 0xffff;
}

/* Yield with every callee-saved register (and the FP control) trashed. */
static void clobber_yield(void)
{
    __asm__ volatile("movq %%rsp, clob_sp(%%rip)\n\t"
                     "subq $128, %%rsp\n\t"
                     "andq $-16, %%rsp\n\t"
                     "stmxcsr clob_fpu(%%rip)\n\t"
                     "fnstcw clob_fpu+4(%%rip)\n\t"
                     "movq $-1, %%rbx\n\t"
                     "movq $-1, %%r12\n\t"
                     "movq $-1, %%r13\n\t"
                     "movq $-1, %%r14\n\t"
                     "movq $-1, %%r15\n\t"
                     "movl $0x7f80, clob_tmp(%%rip)\n\t" /* round to 0 */
                     "ldmxcsr clob_tmp(%%rip)\n\t"
                     "movw $0x0f7f, clob_tmp(%%rip)\n\t"
                     "fldcw clob_tmp(%%rip)\n\t"
                     "call *yield_ptr(%%rip)\n\t"
                     "ldmxcsr clob_fpu(%%rip)\n\t"
                     "fldcw clob_fpu+4(%%rip)\n\t"
                     "movq clob_sp(%%rip), %%rsp\n\t"
                     :
                     :
                     : "rax", "rbx", "rcx", "rdx", "rsi", "rdi", "r8", "r9",
                       "r10", "r11", "r12", "r13", "r14", "r15", "xmm0", "xmm1",
                       "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8",
                       "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14",
                       "xmm15", "memory", "cc");
}
#elif defined(__aarch64__)
/* x19-x28, d8-d15, FPCR; sp and x29 (checked apart). */
#define NREGS 19
#define NFPCTL 1
static const uint64_t pattern[NREGS] = {
    0x1919191919191919, 0x2020202020202020, 0x2121212121212121,
    0x2222222222222222, 0x2323232323232323, 0x2424242424242424,
    0x2525252525252525, 0x2626262626262626, 0x2727272727272727,
    0x2828282828282828, 0x0808080808080808, 0x0909090909090909,
    0x1010101010101010, 0x1111111111111111, 0x1212121212121212,
    0x1313131313131313, 0x1414141414141414, 0x1515151515151515,
    0x01400000, /* FPCR: FZ, round towards +inf */
};

#define AARCH64_CLOBBERS                                                       \
    "x0", "x1", "x2", "x3", "x4", "x5", "x6", "x7", "x8", "x9", "x10", "x11",  \
        "x12", "x13", "x14", "x15", "x16", "x17", "x18", "x19", "x20", "x21",  \
        "x22", "x23", "x24", "x25", "x26", "x27", "x28", "x30", "v0", "v1",    \
        "v2", "v3", "v4", "v5", "v6", "v7", "v8", "v9", "v10", "v11", "v12",   \
        "v13", "v14", "v15", "v16", "v17", "v18", "v19", "v20", "v21", "v22",  \
        "v23", "v24", "v25", "v26", "v27", "v28", "v29", "v30", "v31",         \
        "memory", "cc"

/* Load the pattern, yield, store what the registers hold on return.
   regs_*[19]: sp, [20]: x29, [21]: FPCR before the pattern. */
static void regs_roundtrip(void)
{
    __asm__ volatile("adrp x9, regs_in\n\t"
                     "add x9, x9, :lo12:regs_in\n\t"
                     "mrs x10, fpcr\n\t"
                     "str x10, [x9, #168]\n\t"
                     "ldp x19, x20, [x9, #0]\n\t"
                     "ldp x21, x22, [x9, #16]\n\t"
                     "ldp x23, x24, [x9, #32]\n\t"
                     "ldp x25, x26, [x9, #48]\n\t"
                     "ldp x27, x28, [x9, #64]\n\t"
                     "ldp d8, d9, [x9, #80]\n\t"
                     "ldp d10, d11, [x9, #96]\n\t"
                     "ldp d12, d13, [x9, #112]\n\t"
                     "ldp d14, d15, [x9, #128]\n\t"
                     "ldr x10, [x9, #144]\n\t"
                     "msr fpcr, x10\n\t"
                     "mov x10, sp\n\t"
                     "stp x10, x29, [x9, #152]\n\t"
                     "adrp x16, yield_ptr\n\t"
                     "ldr x16, [x16, :lo12:yield_ptr]\n\t"
                     "blr x16\n\t"
                     "adrp x9, regs_out\n\t"
                     "add x9, x9, :lo12:regs_out\n\t"
                     "stp x19, x20, [x9, #0]\n\t"
                     "stp x21, x22, [x9, #16]\n\t"
                     "stp x23, x24, [x9, #32]\n\t"
                     "stp x25, x26, [x9, #48]\n\t"
                     "stp x27, x28, [x9, #64]\n\t"
                     "stp d8, d9, [x9, #80]\n\t"
                     "stp d10, d11, [x9, #96]\n\t"
                     "stp d12, d13, [x9, #112]\n\t"
                     "stp d14, d15, [x9, #128]\n\t"
                     "mrs x10, fpcr\n\t"
                     "str x10, [x9, #144]\n\t"
                     "mov x10, sp\n\t"
                     "stp x10, x29, [x9, #152]\n\t"
                     "adrp x9, regs_in\n\t"
                     "add x9, x9, :lo12:regs_in\n\t"
                     "ldr x10, [x9, #168]\n\t"
                     "msr fpcr, x10\n\t" ::
                         : AARCH64_CLOBBERS);
}

/* Yield with every callee-saved register (and FPCR) trashed. */
static void clobber_yield(void)
{
    __asm__ volatile("mrs x9, fpcr\n\t"
                     "str x9, [sp, #-16]!\n\t"
                     "mov x19, #-1\n\t"
                     "mov x20, #-1\n\t"
                     "mov x21, #-1\n\t"
                     "mov x22, #-1\n\t"
                     "mov x23, #-1\n\t"
                     "mov x24, #-1\n\t"
                     "mov x25, #-1\n\t"
                     "mov x26, #-1\n\t"
                     "mov x27, #-1\n\t"
                     "mov x28, #-1\n\t"
                     "movi v8.2d, #0xffffffffffffffff\n\t"
                     "movi v9.2d, #0xffffffffffffffff\n\t"
                     "movi v10.2d, #0xffffffffffffffff\n\t"
                     "movi v11.2d, #0xffffffffffffffff\n\t"
                     "movi v12.2d, #0xffffffffffffffff\n\t"
                     "movi v13.2d, #0xffffffffffffffff\n\t"
                     "movi v14.2d, #0xffffffffffffffff\n\t"
                     "movi v15.2d, #0xffffffffffffffff\n\t"
                     "mov x9, #0x00c00000\n\t" /* round towards zero */
                     "msr fpcr, x9\n\t"
                     "adrp x16, yield_ptr\n\t"
                     "ldr x16, [x16, :lo12:yield_ptr]\n\t"
                     "blr x16\n\t"
                     "ldr x9, [sp], #16\n\t"
                     "msr fpcr, x9\n\t" ::
                         : AARCH64_CLOBBERS);
}
#endif

#ifdef NREGS
static long regs_bad;
static int regs_rounds;

static void regs_checker(void *arg)
{
    (void)arg;
    for (int r = 0; r < regs_rounds; r++) {
        for (int i = 0; i < NREGS; i++)
            regs_in[i] = pattern[i] + (uint64_t)r * (i < NREGS - NFPCTL);
        memset(regs_out, 0, sizeof(regs_out));
        regs_roundtrip();
        for (int i = 0; i < NREGS; i++)
            regs_bad += regs_out[i] != regs_in[i];
#if defined(__x86_64__)
        regs_bad += regs_out[7] != regs_in[7]; /* rsp */
#else
        regs_bad += regs_out[19] != regs_in[19]; /* sp */
        regs_bad += regs_out[20] != regs_in[20]; /* x29 */
#endif
    }
}

static void regs_clobberer(void *arg)
{
    (void)arg;
    for (int r = 0; r < regs_rounds + 1; r++)
        clobber_yield();
}

START_TEST(callee_saved_registers)
{
    struct sched s;
    sched_init(&s);
    regs_bad = 0;
    regs_rounds = 50;
    reset_counts();
    struct tctx *a = ctx_new(regs_checker, NULL);
    struct tctx *b = ctx_new(regs_clobberer, NULL);
    sched_add(a);
    sched_add(b);
    run();
    ck_assert_int_eq(regs_bad, 0);
    ck_assert_int_eq(goexits, 2);
    ctx_free(a);
    ctx_free(b);
    sched_fini(&s);
}
END_TEST
#endif

/* ---- floating-point control: per context, ABI default at start ---- */

static long fp_bad;

/* The raw control state: MXCSR's control bits and the x87 control word,
   or FPCR; and its ABI default, which every new context starts with. */
#if defined(__x86_64__)
#define FP_CONTROL_DEFAULT (0x1f80u << 16 | 0x037fu)
static uint32_t fp_control(void)
{
    uint32_t csr;
    uint16_t cw;
    __asm__ volatile("stmxcsr %0\n\tfnstcw %1" : "=m"(csr), "=m"(cw));
    return (csr & 0xffc0) << 16 | cw;
}
#elif defined(__aarch64__)
#define FP_CONTROL_DEFAULT 0u
static uint32_t fp_control(void)
{
    uint64_t fpcr;
    __asm__ volatile("mrs %0, fpcr" : "=r"(fpcr));
    return (uint32_t)fpcr;
}
#endif

static void fp_ctx(void *arg)
{
    int mode = (int)(long)arg;
    fp_bad += fp_control() != FP_CONTROL_DEFAULT;
    fp_bad += fegetround() != FE_TONEAREST;
    fesetround(mode);
    for (int i = 0; i < 100; i++) {
        yield();
        fp_bad += fegetround() != mode;
    }
}

START_TEST(fp_rounding_per_context)
{
    struct sched s;
    sched_init(&s);
    fp_bad = 0;
    reset_counts();
    struct tctx *a = ctx_new(fp_ctx, (void *)(long)FE_DOWNWARD);
    struct tctx *b = ctx_new(fp_ctx, (void *)(long)FE_TOWARDZERO);
    sched_add(a);
    sched_add(b);
    fesetround(FE_UPWARD); /* not inherited by new contexts */
    run();
    int mine = fegetround();
    fesetround(FE_TONEAREST);
    ck_assert_int_eq(mine, FE_UPWARD);
    ck_assert_int_eq(fp_bad, 0);
    ck_assert_int_eq(goexits, 2);
    ctx_free(a);
    ctx_free(b);
    sched_fini(&s);
}
END_TEST

/* ---- the first frame returns into goexit ---- */

static long first_bad;
static int returned;

static void first_frame(void *arg)
{
    uintptr_t *fp = __builtin_frame_address(0);
    uintptr_t ra = (uintptr_t)rg__goexit + RG_CTX_GOEXIT_RA;
    /* the frame record above the entry ends the chain, in goexit */
    first_bad += fp[0] != 0;
    first_bad += fp[1] != ra;
    first_bad += (uintptr_t)__builtin_return_address(0) != ra;
    first_bad += arg != (void *)&returned;
    returned++;
}

START_TEST(first_frame_returns_into_goexit)
{
    struct sched s;
    struct tctx *c[MAXCTX];
    sched_init(&s);
    first_bad = returned = 0;
    reset_counts();
    for (int i = 0; i < MAXCTX; i++) {
        c[i] = ctx_new(first_frame, &returned);
        sched_add(c[i]);
    }
    run();
    ck_assert_int_eq(first_bad, 0);
    ck_assert_int_eq(returned, MAXCTX);
    ck_assert_int_eq(goexits, MAXCTX);
    ck_assert_int_eq(goexit_bad, 0); /* called from goexit, on its stack */
    for (int i = 0; i < MAXCTX; i++) {
        ck_assert(c[i]->dead);
        ctx_free(c[i]);
    }
    sched_fini(&s);
}
END_TEST

/* ---- the saved frame, as traceback.c reads it ---- */

static uintptr_t yield_fp;

/* park(), recording the frame pointer that the saved context must hold. */
OPAQUE static void park_here(void)
{
    struct sched *s = S;
    yield_fp = (uintptr_t)__builtin_frame_address(0);
    rg__mcall(&s->cur->buf, (void *)s->g0top, park_m, s->cur);
    BARRIER(); /* no tail call: keep this frame */
}

static void parks_once(void *arg)
{
    (void)arg;
    park_here();
}

START_TEST(saved_frame_layout)
{
    struct sched s;
    sched_init(&s);
    reset_counts();
    struct tctx *c = ctx_new(parks_once, NULL);
    sched_add(c);

    /* not started: resumes at rg__gostart with no frame chain */
    uintptr_t sp = (uintptr_t)c->buf.sp;
    ck_assert_uint_ge(sp, c->hi - RG_CTX_FRAME_SIZE - 16);
    ck_assert_uint_le(sp + RG_CTX_FRAME_SIZE, c->hi);
    ck_assert_uint_eq(sp % 8, 0);
    ck_assert_uint_eq(*(uintptr_t *)(sp + RG_CTX_OFF_PC),
                      (uintptr_t)rg__gostart);
    ck_assert_uint_eq(*(uintptr_t *)(sp + RG_CTX_OFF_RBP), 0);

    /* suspended: the caller's frame pointer and a return address into it */
    run();
    ck_assert(c->parked);
    sp = (uintptr_t)c->buf.sp;
    ck_assert_uint_eq(sp % 16, 0);
    ck_assert_uint_ge(sp, c->lo);
    ck_assert_uint_le(sp + RG_CTX_FRAME_SIZE, c->hi);
    ck_assert_uint_eq(*(uintptr_t *)(sp + RG_CTX_OFF_RBP), yield_fp);
    uintptr_t pc = *(uintptr_t *)(sp + RG_CTX_OFF_PC);
    ck_assert_uint_gt(pc, (uintptr_t)park_here);
    ck_assert_uint_lt(pc, (uintptr_t)park_here + 256);

    c->parked = false;
    run();
    ck_assert(c->dead);
    ck_assert_int_eq(goexits, 1);
    ctx_free(c);
    sched_fini(&s);
}
END_TEST

/* ---- stack alignment at entry, for every alignment of the top ---- */

struct align_probe {
    uintptr_t fp, local, sp;
};

static void aligned_entry(void *arg)
{
    struct align_probe *p = arg;
    _Alignas(16) volatile char buf[32];
    buf[0] = 1;
    p->fp = (uintptr_t)__builtin_frame_address(0);
    p->local = (uintptr_t)buf;
#if defined(__aarch64__)
    __asm__ volatile("mov %0, sp" : "=r"(p->sp));
#else
    p->sp = 0;
#endif
}

START_TEST(entry_stack_aligned)
{
    struct sched s;
    sched_init(&s);
    reset_counts();
    for (int k = 0; k < 16; k++) {
        struct align_probe p = {0};
        struct tctx *c = ctx_new(aligned_entry, &p);
        /* make it again below an unaligned top; bytes above stay put */
        uintptr_t top = c->hi - (uintptr_t)k;
        memset((void *)top, 0xa5, (size_t)k);
        rg__ctx_make(&c->buf, (void *)top, aligned_entry, &p);
        sched_add(c);
        run();
        ck_assert(c->dead);
        ck_assert_uint_eq(p.fp % 16, 0);
        ck_assert_uint_eq(p.local % 16, 0);
        ck_assert_uint_eq(p.sp % 16, 0);
        ck_assert_uint_lt(p.fp, top);
        ck_assert_uint_gt(p.fp, c->lo);
        for (int i = 0; i < k; i++)
            ck_assert_uint_eq(((unsigned char *)top)[i], 0xa5);
        s.n = 0;
        ctx_free(c);
    }
    ck_assert_int_eq(goexits, 16);
    sched_fini(&s);
}
END_TEST

/* ---- a context resumed on another thread ---- */

static __thread int tls_probe __attribute__((tls_model("initial-exec")));

OPAQUE static char *tls_probe_addr(void)
{
    BARRIER();
    return (char *)&tls_probe;
}

struct migrant {
    long tls_off;            /* &tls_probe - thread pointer, on thread 1 */
    pthread_t before, after; /* threads it ran on */
    int round_after;         /* its rounding mode once resumed */
    bool tls_ok;             /* tp + tls_off is tls_probe on thread 2 */
};

/* pthread_self is declared const: a compiler may reuse its result across
   park(), which resumes on another thread. */
OPAQUE static pthread_t self(void)
{
    BARRIER();
    return pthread_self();
}

static void migrant(void *arg)
{
    struct migrant *m = arg;
    fesetround(FE_UPWARD);
    m->before = self();
    park();
    m->after = self();
    m->round_after = fegetround();
    m->tls_ok = rg__thread_pointer() + m->tls_off == tls_probe_addr();
}

struct thread2 {
    struct tctx *c;
    int round_main; /* thread 2's own rounding mode after the run */
    long goexits;
};

static void *thread2_main(void *arg)
{
    struct thread2 *t = arg;
    struct sched s;
    sched_init(&s);
    t->c->parked = false;
    sched_add(t->c);
    run();
    t->round_main = fegetround();
    sched_fini(&s);
    return NULL;
}

START_TEST(resumes_on_another_thread)
{
    struct sched s;
    struct migrant m = {0};
    struct thread2 t = {0};
    pthread_t th;
    sched_init(&s);
    reset_counts();
    m.tls_off = (long)(tls_probe_addr() - rg__thread_pointer());
    t.c = ctx_new(migrant, &m);
    sched_add(t.c);
    run();
    ck_assert(t.c->parked);
    ck_assert_int_eq(fegetround(), FE_TONEAREST);
    s.n = 0;

    ck_assert_int_eq(pthread_create(&th, NULL, thread2_main, &t), 0);
    ck_assert_int_eq(pthread_join(th, NULL), 0);
    ck_assert(t.c->dead);
    ck_assert(pthread_equal(m.before, pthread_self()));
    ck_assert(pthread_equal(m.after, th));
    ck_assert_int_eq(m.round_after, FE_UPWARD);
    ck_assert_int_eq(t.round_main, FE_TONEAREST);
    ck_assert(m.tls_ok);
    ck_assert_int_eq(goexits, 1);
    ck_assert_int_eq(goexit_bad, 0);
    ctx_free(t.c);
    sched_fini(&s);
}
END_TEST

int main(void)
{
#ifdef RG_TSAN
    /* These switches bypass the runtime's fiber hooks (debug.h): TSan's
       shadow stack would overflow. 77: skipped, for meson. */
    puts("test_arch: skipped under ThreadSanitizer");
    return 77;
#endif
    Suite *s = suite_create("arch");
    TCase *tc = tcase_create("arch");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, pingpong_two_contexts);
    tcase_add_test(tc, round_robin_eight_contexts);
#ifdef NREGS
    tcase_add_test(tc, callee_saved_registers);
#endif
    tcase_add_test(tc, fp_rounding_per_context);
    tcase_add_test(tc, first_frame_returns_into_goexit);
    tcase_add_test(tc, saved_frame_layout);
    tcase_add_test(tc, entry_stack_aligned);
    tcase_add_test(tc, resumes_on_another_thread);
    suite_add_tcase(s, tc);
    return t_main(s);
}
