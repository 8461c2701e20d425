/*
 * runtime/debug.c: fatal errors, the goroutine list printed with them,
 * the sanitizer and valgrind hooks declared in debug.h, and the test-only
 * allocation fault injection declared in alloc.h.
 */
#include "internal.h"
#include "alloc.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define RG_HAVE_VALGRIND 1
#endif
#endif

void rg__throw(const char *msg)
{
    char buf[512];
    int n = snprintf(buf, sizeof(buf), "ringo: fatal error: %s\n\n", msg);
    if (n > 0 && write(2, buf, (size_t)n) < 0) {
        /* still abort */
    }
    if (rg__sched.allp)
        rg__dump_goroutines(2);
    abort();
}

void rg__valgrind_stack_register(void *lo, void *hi)
{
#ifdef RG_HAVE_VALGRIND
    if (RUNNING_ON_VALGRIND)
        VALGRIND_STACK_REGISTER(lo, hi);
#else
    (void)lo, (void)hi;
#endif
}

bool rg__valgrind_running(void)
{
#ifdef RG_HAVE_VALGRIND
    return RUNNING_ON_VALGRIND;
#else
    return false;
#endif
}

#ifdef RG_FAULT_INJECT
/* See alloc.h. countdown: allocations left before the one that fails, 0
   when off; relaxed, the tests that set it order everything else. */
static _Atomic long fault_countdown, fault_nhits;
static _Atomic bool fault_persist;

void rg__fault_set(long nth, bool persist)
{
    rg__store_rlx(&fault_persist, persist);
    rg__store_rlx(&fault_countdown, nth > 0 ? nth : 0);
}

long rg__fault_hits(void)
{
    return rg__load_rlx(&fault_nhits);
}

bool rg__fault_alloc(void)
{
    long n = rg__load_rlx(&fault_countdown);
    while (n > 1 && !atomic_compare_exchange_weak_explicit(
                        &fault_countdown, &n, n - 1, memory_order_relaxed,
                        memory_order_relaxed)) {
    }
    if (n != 1)
        return false; /* off, or counted down */
    if (!rg__load_rlx(&fault_persist)) {
        long one = 1;
        atomic_compare_exchange_strong_explicit(&fault_countdown, &one, 0,
                                                memory_order_relaxed,
                                                memory_order_relaxed);
    }
    rg__add_rlx(&fault_nhits, 1);
    return true;
}
#endif

#ifdef RG_SANITIZE
#ifdef RG_ASAN
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#endif
#ifdef RG_TSAN
#include <sanitizer/tsan_interface.h>

/* Not in tsan_interface.h, but exported by every TSan runtime that has
   the fiber API (LLVM >= 9, gcc >= 10): the depth of the current fiber's
   shadow call stack, and the hook instrumented code calls on return. */
uintptr_t __tsan_testonly_shadow_stack_current_size(void);
void __tsan_func_exit(void);

/* Cut the current fiber's shadow stack back to depth (see "TSan" in
   debug.h): the frames above it were abandoned, never returned from. */
static RG_SAN_NOINSTR void tsan_unwind(uintptr_t depth)
{
    while (__tsan_testonly_shadow_stack_current_size() > depth)
        __tsan_func_exit();
}

RG_SAN_NOINSTR void rg__san_release(const void *addr)
{
    __tsan_release((void *)addr);
}

RG_SAN_NOINSTR void rg__san_acquire(const void *addr)
{
    __tsan_acquire((void *)addr);
}
#endif

RG_SAN_NOINSTR void rg__san_switch_begin(struct g *from, struct g *to,
                                         int from_dies)
{
#ifdef RG_ASAN
    __sanitizer_start_switch_fiber(from_dies ? NULL : &from->san_fake_stack,
                                   (void *)to->stack_lo, to->stack_hi - to->stack_lo);
#else
    (void)from, (void)from_dies;
#endif
#ifdef RG_TSAN
    __tsan_switch_to_fiber(to->san_fiber, 0);
#else
    (void)to;
#endif
}

RG_SAN_NOINSTR void rg__san_switch_end(struct g *self)
{
#ifdef RG_ASAN
    __sanitizer_finish_switch_fiber(self->san_fake_stack, NULL, NULL);
#endif
#ifdef RG_TSAN
    if (self == self->m->g0) /* g0 is only ever entered afresh */
        tsan_unwind(self->san_depth);
#endif
    (void)self;
}

#ifdef RG_ASAN
void rg__san_unpoison(void *addr, size_t len)
{
    __asan_unpoison_memory_region(addr, len);
}
#endif

RG_SAN_NOINSTR void rg__san_g_create(struct g *gp)
{
#ifdef RG_TSAN
    if (!gp->san_fiber)
        gp->san_fiber = __tsan_create_fiber(0);
#endif
    gp->san_fake_stack = NULL;
}

void rg__san_g_destroy(struct g *gp)
{
    /* The TSan fiber is kept with the G and reused by the next goroutine
       on this stack; destroying it here would free the context we are
       still switching away from. rg__san_g_free destroys it. */
    (void)gp;
}

RG_SAN_NOINSTR void rg__san_g_free(struct g *gp)
{
#ifdef RG_TSAN
    if (gp->san_fiber)
        __tsan_destroy_fiber(gp->san_fiber);
    gp->san_fiber = NULL;
#else
    (void)gp;
#endif
}

/* On g0 of a starting M, in rg__mstart: g0's base is this depth. */
RG_SAN_NOINSTR void rg__san_m_init(struct m *mp)
{
#ifdef RG_TSAN
    mp->g0->san_fiber = __tsan_get_current_fiber();
    mp->g0->san_depth = __tsan_testonly_shadow_stack_current_size();
#else
    (void)mp;
#endif
}

/* Entry of every goroutine in sanitizer builds: finish the switch into
   the new stack, then run the goroutine function. Not instrumented: it
   cuts the fiber's shadow stack to zero, its own entry included. */
RG_SAN_NOINSTR void rg__san_gentry(void *arg)
{
    struct g *gp = arg;
    rg__san_switch_end(gp);
#ifdef RG_TSAN
    tsan_unwind(0); /* what the fiber's last goroutine left in goexit */
#endif
    gp->fn(gp->arg);
}
#endif
