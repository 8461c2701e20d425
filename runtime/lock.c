/*
 * runtime/lock.c: slow paths of the runtime mutex (see lock.h) and the
 * futex-based one-shot note used to park threads that have no io_uring.
 */
#include "lock.h"
#include "atomic.h"

#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static void futex_wait(_Atomic uint32_t *addr, uint32_t val)
{
    syscall(SYS_futex, addr, FUTEX_WAIT_PRIVATE, val, NULL, NULL, 0);
}

static void futex_wake(_Atomic uint32_t *addr, int n)
{
    syscall(SYS_futex, addr, FUTEX_WAKE_PRIVATE, n, NULL, NULL, 0);
}

/* Spin a little (the holder is likely running), then sleep on the futex. */
void rg__lock_slow(rg_lock *l)
{
    for (int i = 0; i < 100; i++) {
        uint32_t z = 0;
        if (rg__load_rlx(&l->key) == 0 && rg__cas_acqrel(&l->key, &z, 1))
            return;
        rg__cpu_relax();
    }
    /* From here on we may sleep: mark the lock contended (2). */
    while (atomic_exchange_explicit(&l->key, 2, memory_order_acquire) != 0)
        futex_wait(&l->key, 2);
}

void rg__unlock_slow(rg_lock *l)
{
    futex_wake(&l->key, 1);
}

void rg__note_clear(rg_note *n)
{
    rg__store_rel(&n->key, 0);
}

void rg__note_wakeup(rg_note *n)
{
    if (rg__xchg_seq(&n->key, 1) == 0)
        futex_wake(&n->key, 1);
}

int rg__note_sleep(rg_note *n, int64_t ns)
{
    if (rg__load_acq(&n->key) != 0)
        return 1;
    if (ns < 0) {
        while (rg__load_acq(&n->key) == 0)
            futex_wait(&n->key, 0);
        return 1;
    }
    struct timespec ts = {.tv_sec = ns / 1000000000,
                          .tv_nsec = ns % 1000000000};
    syscall(SYS_futex, &n->key, FUTEX_WAIT_PRIVATE, 0, &ts, NULL, 0);
    return rg__load_acq(&n->key) != 0;
}
