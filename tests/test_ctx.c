/*
 * tests/test_ctx.c: the context switch (arch/): callee-saved registers,
 * MXCSR and the x87 control word survive a switch; a new goroutine starts
 * with the ABI's defaults and an aligned stack; the raw mcall/gogo pair.
 */
#include "helpers.h"
#include "../runtime/internal.h"

#include <fenv.h>
#include <stdatomic.h>

static atomic_long done_count;

static void wait_count(long want)
{
    while (atomic_load(&done_count) < want)
        rg_yield();
}

#if defined(__x86_64__)
/* Load known values in every callee-saved register, yield (switching to
   another goroutine that clobbers them), and read them back. */
/* Keeps rg_yield alive under LTO: the asm below calls it by name. */
__attribute__((used)) void (*volatile keep_yield)(void) = rg_yield;
__attribute__((used)) uint64_t regs_out[5];
__attribute__((used)) uint64_t saved_sp;
static int regs_survive(void)
{
    /* Skip the red zone and align the stack for the call by hand: the
       compiler gives no alignment guarantee at an asm statement. */
    __asm__ volatile("movq %%rsp, saved_sp(%%rip)\n\t"
                     "subq $128, %%rsp\n\t"
                     "andq $-16, %%rsp\n\t"
                     "movq $0x1111, %%rbx\n\t"
                     "movq $0x2222, %%r12\n\t"
                     "movq $0x3333, %%r13\n\t"
                     "movq $0x4444, %%r14\n\t"
                     "movq $0x5555, %%r15\n\t"
                     "call rg_yield@PLT\n\t"
                     "movq saved_sp(%%rip), %%rsp\n\t"
                     "movq %%rbx, regs_out+0(%%rip)\n\t"
                     "movq %%r12, regs_out+8(%%rip)\n\t"
                     "movq %%r13, regs_out+16(%%rip)\n\t"
                     "movq %%r14, regs_out+24(%%rip)\n\t"
                     "movq %%r15, regs_out+32(%%rip)\n\t"
                     :
                     :
                     : "rbx", "r12", "r13", "r14", "r15", "rax", "rcx",
                       "rdx", "rsi", "rdi", "r8", "r9", "r10", "r11",
                       "memory", "cc");
    return regs_out[0] == 0x1111 && regs_out[1] == 0x2222 &&
           regs_out[2] == 0x3333 && regs_out[3] == 0x4444 &&
           regs_out[4] == 0x5555;
}

static void clobber(void *arg)
{
    (void)arg;
    for (int i = 0; i < 100; i++) {
        __asm__ volatile("movq $-1, %%rbx\n\tmovq $-1, %%r12\n\t"
                         "movq $-1, %%r13\n\tmovq $-1, %%r14\n\t"
                         "movq $-1, %%r15\n\t" ::
                             : "rbx", "r12", "r13", "r14", "r15");
        rg_yield();
    }
    atomic_fetch_add(&done_count, 1);
}

static int regs_ok;
static void regs_main(void *arg)
{
    (void)arg;
    rg_go(clobber, NULL);
    regs_ok = 1;
    for (int i = 0; i < 50; i++)
        regs_ok &= regs_survive();
    wait_count(1);
}

START_TEST(callee_saved_registers)
{
    atomic_store(&done_count, 0);
    t_run(regs_main, NULL, 1);
    ck_assert_int_eq(regs_ok, 1);
}
END_TEST
#endif

/* Rounding mode (MXCSR and x87 CW) is per goroutine. */
static int fp_ok = 1;
static void fp_other(void *arg)
{
    (void)arg;
    /* a new goroutine starts with the default environment */
    if (fegetround() != FE_TONEAREST)
        fp_ok = 0;
    fesetround(FE_UPWARD);
    rg_yield();
    if (fegetround() != FE_UPWARD)
        fp_ok = 0;
    atomic_fetch_add(&done_count, 1);
}

static void fp_main(void *arg)
{
    (void)arg;
    fesetround(FE_TOWARDZERO);
    rg_go(fp_other, NULL);
    for (int i = 0; i < 10; i++) {
        rg_yield();
        if (fegetround() != FE_TOWARDZERO)
            fp_ok = 0;
    }
    wait_count(1);
    fesetround(FE_TONEAREST);
}

START_TEST(fp_control_per_goroutine)
{
    atomic_store(&done_count, 0);
    t_run(fp_main, NULL, 1);
    ck_assert_int_eq(fp_ok, 1);
}
END_TEST

/* A new goroutine's frame is ABI-aligned: its frame pointer is 16-byte
   aligned and a 16-byte-aligned local really is. */
static uintptr_t fa, la;
static void aligned(void *arg)
{
    (void)arg;
    _Alignas(16) volatile char buf[32];
    buf[0] = 1;
    fa = (uintptr_t)__builtin_frame_address(0);
    la = (uintptr_t)buf;
    atomic_fetch_add(&done_count, 1);
}

static void align_main(void *arg)
{
    (void)arg;
    rg_go(aligned, NULL);
    wait_count(1);
}

START_TEST(new_goroutine_stack_aligned)
{
    atomic_store(&done_count, 0);
    t_run(align_main, NULL, 1);
    ck_assert_uint_eq(fa % 16, 0);
    ck_assert_uint_eq(la % 16, 0);
}
END_TEST

/* The raw pair: mcall to g0 and gogo straight back, many times. */
static long bounces;
static void bounce(struct g *gp)
{
    bounces++;
    rg__san_switch_begin(gp->m->g0, gp, 1);
    setg(gp);
    rg__gogo(&gp->sched);
}

static void bounce_main(void *arg)
{
    (void)arg;
    uint64_t id = rg_id();
    for (int i = 0; i < 100000; i++)
        rg__mcallg(bounce);
    ck_assert_uint_eq(rg_id(), id);
}

START_TEST(mcall_gogo_pair)
{
    bounces = 0;
    t_run(bounce_main, NULL, 1);
    ck_assert_int_eq(bounces, 100000);
}
END_TEST

/* The first frame returns into goexit: a goroutine that returns ends. */
static atomic_int returned;
static void just_return(void *arg)
{
    (void)arg;
    atomic_fetch_add(&returned, 1);
}

static void goexit_main(void *arg)
{
    (void)arg;
    for (int i = 0; i < 1000; i++)
        rg_go(just_return, NULL);
    while (atomic_load(&returned) < 1000)
        rg_yield();
    /* all 1000 Gs went back to free lists: none is running or runnable */
    int live = 0;
    for (struct g *gp = rg__sched.allg; gp; gp = gp->alllink)
        live += rg__load_acq(&gp->status) != G_DEAD;
    ck_assert_int_eq(live, 1); /* main */
}

START_TEST(first_frame_returns_into_goexit)
{
    atomic_store(&returned, 0);
    t_run(goexit_main, NULL, 1);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("ctx");
    TCase *tc = tcase_create("ctx");
#if defined(__x86_64__)
    tcase_add_test(tc, callee_saved_registers);
#endif
    tcase_add_test(tc, fp_control_per_goroutine);
    tcase_add_test(tc, new_goroutine_stack_aligned);
    tcase_add_test(tc, mcall_gogo_pair);
    tcase_add_test(tc, first_frame_returns_into_goexit);
    suite_add_tcase(s, tc);
    return t_main(s);
}
