/*
 * runtime/debug.c: fatal errors, the goroutine list printed with them,
 * and the sanitizer and valgrind hooks declared in debug.h.
 */
#include "internal.h"

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

#ifdef RG_SANITIZE
#ifdef RG_ASAN
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#endif
#ifdef RG_TSAN
#include <sanitizer/tsan_interface.h>
#endif

void rg__san_switch_begin(struct g *from, struct g *to, int from_dies)
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

void rg__san_switch_end(struct g *self)
{
#ifdef RG_ASAN
    __sanitizer_finish_switch_fiber(self->san_fake_stack, NULL, NULL);
#else
    (void)self;
#endif
}

#ifdef RG_ASAN
void rg__san_unpoison(void *addr, size_t len)
{
    __asan_unpoison_memory_region(addr, len);
}
#endif

void rg__san_g_create(struct g *gp)
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
       still switching away from. */
    (void)gp;
}

void rg__san_m_init(struct m *mp)
{
#ifdef RG_TSAN
    mp->g0->san_fiber = __tsan_get_current_fiber();
#else
    (void)mp;
#endif
}

/* Entry of every goroutine in sanitizer builds: finish the switch into
   the new stack, then run the goroutine function. */
void rg__san_gentry(void *arg)
{
    struct g *gp = arg;
    rg__san_switch_end(gp);
    gp->fn(gp->arg);
}
#endif
