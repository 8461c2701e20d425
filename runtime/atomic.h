/*
 * runtime/atomic.h: atomics with their memory order in the name.
 *
 * No bare atomics elsewhere in the runtime: every use says which ordering
 * it needs, and a trailing comment names the access it pairs with.
 */
#ifndef RINGO_RUNTIME_ATOMIC_H
#define RINGO_RUNTIME_ATOMIC_H

#include <stdatomic.h>
#include <stdbool.h>

#define rg__load_rlx(p) atomic_load_explicit((p), memory_order_relaxed)
#define rg__load_acq(p) atomic_load_explicit((p), memory_order_acquire)
#define rg__load_seq(p) atomic_load_explicit((p), memory_order_seq_cst)
#define rg__store_rlx(p, v) atomic_store_explicit((p), (v), memory_order_relaxed)
#define rg__store_rel(p, v) atomic_store_explicit((p), (v), memory_order_release)
#define rg__store_seq(p, v) atomic_store_explicit((p), (v), memory_order_seq_cst)
#define rg__xchg_seq(p, v) atomic_exchange_explicit((p), (v), memory_order_seq_cst)
#define rg__xchg_acqrel(p, v)                                                  \
    atomic_exchange_explicit((p), (v), memory_order_acq_rel)
#define rg__add_rlx(p, v) atomic_fetch_add_explicit((p), (v), memory_order_relaxed)
#define rg__add_seq(p, v) atomic_fetch_add_explicit((p), (v), memory_order_seq_cst)
#define rg__sub_seq(p, v) atomic_fetch_sub_explicit((p), (v), memory_order_seq_cst)
#define rg__add_acqrel(p, v)                                                   \
    atomic_fetch_add_explicit((p), (v), memory_order_acq_rel)
#define rg__sub_acqrel(p, v)                                                   \
    atomic_fetch_sub_explicit((p), (v), memory_order_acq_rel)
#define rg__or_acqrel(p, v)                                                    \
    atomic_fetch_or_explicit((p), (v), memory_order_acq_rel)

/* Compare-and-swap; *expected is updated on failure. */
#define rg__cas_seq(p, e, v)                                                   \
    atomic_compare_exchange_strong_explicit((p), (e), (v), memory_order_seq_cst, \
                                            memory_order_seq_cst)
#define rg__cas_rel(p, e, v)                                                   \
    atomic_compare_exchange_strong_explicit((p), (e), (v), memory_order_release, \
                                            memory_order_relaxed)
#define rg__cas_acqrel(p, e, v)                                                \
    atomic_compare_exchange_strong_explicit((p), (e), (v), memory_order_acq_rel, \
                                            memory_order_acquire)

/* A full (StoreLoad) fence. */
#define rg__fence_seq() atomic_thread_fence(memory_order_seq_cst)

static inline void rg__cpu_relax(void)
{
#if defined(__x86_64__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ volatile("yield" ::: "memory");
#endif
}

#endif
