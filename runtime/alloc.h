/*
 * runtime/alloc.h: the runtime's heap allocator.
 *
 * With jemalloc enabled (the default), the runtime allocates its own
 * objects (Ms, Ps, timer heaps, channels, poller state) through jemalloc's
 * non-standard API (mallocx/rallocx/dallocx), so they come from jemalloc
 * whatever malloc the rest of the process uses, and the process's malloc
 * is left alone. Goroutine stacks (and the struct g stored with each) are
 * never heap-allocated: they are mmap'd arenas (stack.c).
 */
#ifndef RINGO_RUNTIME_ALLOC_H
#define RINGO_RUNTIME_ALLOC_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

/*
 * Fault injection (meson -Dfault_inject=true; tests only, see
 * tests/test_fault.c). rg__fault_set(nth, persist): the nth allocation
 * from now fails (1: the next one), and with persist every one after it
 * too; rg__fault_set(0, false) turns it off. rg__fault_hits() counts the
 * allocations failed so far. In other builds rg__fault_alloc() is a
 * constant false and costs nothing.
 */
#ifdef RG_FAULT_INJECT
bool rg__fault_alloc(void);
void rg__fault_set(long nth, bool persist);
long rg__fault_hits(void);
#else
static inline bool rg__fault_alloc(void) { return false; }
#endif

#ifdef RG_HAVE_JEMALLOC
#include <jemalloc/jemalloc.h>
static inline void *rg__malloc(size_t n)
{
    return rg__fault_alloc() ? NULL : mallocx(n ? n : 1, 0);
}
static inline void *rg__calloc(size_t n, size_t sz)
{
    size_t total;
    if (__builtin_mul_overflow(n, sz, &total) || rg__fault_alloc())
        return NULL;
    return mallocx(total > 0 ? total : 1, MALLOCX_ZERO);
}
static inline void *rg__realloc(void *p, size_t n)
{
    if (rg__fault_alloc())
        return NULL;
    return p ? rallocx(p, n ? n : 1, 0) : mallocx(n ? n : 1, 0);
}
static inline void rg__free(void *p)
{
    if (p)
        dallocx(p, 0);
}
#else
#include <stdlib.h>
static inline void *rg__malloc(size_t n)
{
    return rg__fault_alloc() ? NULL : malloc(n);
}
static inline void *rg__calloc(size_t n, size_t sz)
{
    return rg__fault_alloc() ? NULL : calloc(n, sz);
}
static inline void *rg__realloc(void *p, size_t n)
{
    return rg__fault_alloc() ? NULL : realloc(p, n);
}
static inline void rg__free(void *p) { free(p); }
#endif

#endif
