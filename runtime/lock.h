/*
 * runtime/lock.h: the runtime's internal mutex.
 *
 * A futex-based mutex (Drepper's three-state lock, as Go's lock_futex.go):
 * 0 unlocked, 1 locked, 2 locked with possible sleepers. It spins a little
 * before sleeping, since the runtime's critical sections are short. It
 * blocks the thread, never the goroutine: hold it only for short sections
 * that cannot park. Goroutine-level locks are rg_mutex (runtime/sync.c).
 */
#ifndef RINGO_RUNTIME_LOCK_H
#define RINGO_RUNTIME_LOCK_H

#include <stdatomic.h>
#include <stdint.h>

typedef struct rg_lock {
    _Atomic uint32_t key;
} rg_lock;

#define RG_LOCK_INIT {0}

void rg__lock_slow(rg_lock *l);
void rg__unlock_slow(rg_lock *l);

static inline void rg__lock(rg_lock *l)
{
    uint32_t z = 0;
    /* acq: pairs with the rel in rg__unlock */
    if (atomic_compare_exchange_weak_explicit(&l->key, &z, 1,
                                              memory_order_acquire,
                                              memory_order_relaxed))
        return;
    rg__lock_slow(l);
}

static inline int rg__trylock(rg_lock *l)
{
    uint32_t z = 0;
    return atomic_compare_exchange_strong_explicit(
        &l->key, &z, 1, memory_order_acquire, memory_order_relaxed);
}

static inline void rg__unlock(rg_lock *l)
{
    /* rel: pairs with the acq in rg__lock */
    if (atomic_exchange_explicit(&l->key, 0, memory_order_release) == 2)
        rg__unlock_slow(l);
}

#endif

/*
 * rg_note: a one-shot sleep/wakeup event between threads (Go's note).
 * rg__note_sleep blocks until rg__note_wakeup has been called (before or
 * after); rg__note_clear rearms it. Used by threads that do not park on
 * an io_uring (the monitor thread).
 */
typedef struct rg_note {
    _Atomic uint32_t key;
} rg_note;

void rg__note_clear(rg_note *n);
void rg__note_wakeup(rg_note *n);
/* Sleep until woken or until ns nanoseconds passed (ns < 0: forever).
   Returns 1 if woken, 0 on timeout. */
int rg__note_sleep(rg_note *n, int64_t ns);
