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

#include <stddef.h>
#include <string.h>

#ifdef RG_HAVE_JEMALLOC
#include <jemalloc/jemalloc.h>
static inline void *rg__malloc(size_t n) { return mallocx(n ? n : 1, 0); }
static inline void *rg__calloc(size_t n, size_t sz)
{
    size_t total = n * sz;
    return mallocx(total > 0 ? total : 1, MALLOCX_ZERO);
}
static inline void *rg__realloc(void *p, size_t n)
{
    return p ? rallocx(p, n ? n : 1, 0) : mallocx(n ? n : 1, 0);
}
static inline void rg__free(void *p)
{
    if (p)
        dallocx(p, 0);
}
#else
#include <stdlib.h>
static inline void *rg__malloc(size_t n) { return malloc(n); }
static inline void *rg__calloc(size_t n, size_t sz) { return calloc(n, sz); }
static inline void *rg__realloc(void *p, size_t n) { return realloc(p, n); }
static inline void rg__free(void *p) { free(p); }
#endif

#endif
