/*
 * tests/test_sync.c: mutex, rwmutex, cond, waitgroup, once and sema
 * through the public API (in the spirit of Go's sync tests): mutual
 * exclusion under contention, the starvation bound, readers together and
 * writers alone, signal and broadcast, wait groups and once under races,
 * semaphore bounds, error returns and calls from outside the runtime.
 */
#include "helpers.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <unistd.h>

#define MS 1000000ull

static rg_waitgroup wg;

static void wg_reset(int n)
{
    wg = (rg_waitgroup)RG_WAITGROUP_INIT;
    ck_assert_int_eq(rg_waitgroup_add(&wg, n), 0);
}

/* ---- mutex: exclusion under contention ---- */

static rg_mutex mu = RG_MUTEX_INIT;
static long mu_counter;
static atomic_int mu_inside, mu_overlap;

static void mu_worker(void *arg)
{
    long n = (long)(intptr_t)arg;
    for (long i = 0; i < n; i++) {
        ck_assert_int_eq(rg_mutex_lock(&mu), 0);
        if (atomic_fetch_add(&mu_inside, 1) != 0)
            atomic_fetch_add(&mu_overlap, 1);
        long c = mu_counter; /* a lost update would show */
        if ((i & 63) == 0)
            rg_yield(); /* park others while holding it */
        mu_counter = c + 1;
        atomic_fetch_sub(&mu_inside, 1);
        ck_assert_int_eq(rg_mutex_unlock(&mu), 0);
    }
    rg_waitgroup_done(&wg);
}

static void mutex_main(void *arg)
{
    (void)arg;
    enum { G = 8, N = 20000 };
    mu = (rg_mutex)RG_MUTEX_INIT;
    mu_counter = 0;
    atomic_store(&mu_overlap, 0);
    wg_reset(G);
    for (int i = 0; i < G; i++)
        rg_go(mu_worker, (void *)(intptr_t)N);
    rg_waitgroup_wait(&wg);
    ck_assert_int_eq(mu_counter, (long)G * N);
    ck_assert_int_eq(atomic_load(&mu_overlap), 0);
}

START_TEST(mutex_exclusion)
{
    t_run(mutex_main, NULL, 1);
    t_run(mutex_main, NULL, 2);
}
END_TEST

/* ---- mutex: errors, trylock, outside the runtime ---- */

static void mutex_errors_main(void *arg)
{
    (void)arg;
    rg_mutex m = RG_MUTEX_INIT;
    ck_assert_int_eq(rg_mutex_unlock(&m), -EPERM);
    ck_assert_int_eq(rg_mutex_trylock(&m), 0);
    ck_assert_int_eq(rg_mutex_trylock(&m), -EBUSY);
    ck_assert_int_eq(rg_mutex_unlock(&m), 0);
    ck_assert_int_eq(rg_mutex_unlock(&m), -EPERM);
    ck_assert_int_eq(rg_mutex_lock(&m), 0);
    ck_assert_int_eq(rg_mutex_trylock(&m), -EBUSY);
    ck_assert_int_eq(rg_mutex_unlock(&m), 0);
    ck_assert_int_eq(m.state, 0);
}

START_TEST(mutex_errors)
{
    rg_mutex m = RG_MUTEX_INIT;
    ck_assert_int_eq(rg_mutex_lock(&m), -EPERM);
    ck_assert_int_eq(m.state, 0); /* no side effect */
    ck_assert_int_eq(rg_mutex_trylock(&m), 0);
    ck_assert_int_eq(rg_mutex_unlock(&m), 0);
    t_run(mutex_errors_main, NULL, 1);
    ck_assert_int_eq(rg_mutex_lock(&m), -EPERM);
}
END_TEST

/* ---- mutex: starvation bound ---- */

static atomic_int sv_stop;
static uint64_t sv_maxwait;

/* Holds the lock most of the time, and relocks at once after unlock:
   without starvation mode a woken waiter would always lose to it. */
static void sv_hammer(void *arg)
{
    (void)arg;
    while (!atomic_load(&sv_stop)) {
        rg_mutex_lock(&mu);
        rg_sleep(100000); /* 100 us */
        rg_mutex_unlock(&mu);
    }
    rg_waitgroup_done(&wg);
}

/* Busy hammer: short critical sections, back to back. */
static void sv_spinner(void *arg)
{
    (void)arg;
    while (!atomic_load(&sv_stop)) {
        rg_mutex_lock(&mu);
        for (volatile int i = 0; i < 200; i++) {
        }
        rg_mutex_unlock(&mu);
    }
    rg_waitgroup_done(&wg);
}

static void starvation_main(void *arg)
{
    void (*hammer)(void *) = arg;
    mu = (rg_mutex)RG_MUTEX_INIT;
    atomic_store(&sv_stop, 0);
    sv_maxwait = 0;
    wg_reset(2);
    rg_go(hammer, NULL);
    rg_go(hammer, NULL);
    rg_sleep(2 * MS);
    for (int i = 0; i < 20; i++) {
        rg_sleep(100000);
        uint64_t t0 = rg_now();
        rg_mutex_lock(&mu);
        uint64_t w = rg_now() - t0;
        rg_mutex_unlock(&mu);
        if (w > sv_maxwait)
            sv_maxwait = w;
    }
    atomic_store(&sv_stop, 1);
    rg_waitgroup_wait(&wg);
    /* Starvation mode kicks in after 1 ms; allow a noisy machine a lot. */
    ck_assert_msg(sv_maxwait < 500 * MS, "waited %llu ns",
                  (unsigned long long)sv_maxwait);
}

START_TEST(mutex_starvation)
{
    t_run(starvation_main, sv_hammer, 1);
    t_run(starvation_main, sv_hammer, 2);
    /* Two spinners that never block but on the mutex would, on 2 Ps, also
       keep the waiter from getting a P at all: goroutines are not
       preempted (docs/design.md section 9), and under CPU contention from
       other processes that wait reached seconds. A third P measures the
       mutex's fairness, not the lack of preemption. */
    t_run(starvation_main, sv_spinner, 3);
}
END_TEST

/* ---- rwmutex ---- */

static rg_rwmutex rw = RG_RWMUTEX_INIT;
static atomic_int rw_readers, rw_writers, rw_bad, rw_maxreaders;

static void rw_reader_together(void *arg)
{
    int want = (int)(intptr_t)arg;
    ck_assert_int_eq(rg_rwmutex_rlock(&rw), 0);
    atomic_fetch_add(&rw_readers, 1);
    /* Every reader must get in while the others are still inside. */
    uint64_t deadline = rg_now() + 10000 * MS;
    while (atomic_load(&rw_readers) < want) {
        ck_assert_msg(rg_now() < deadline, "readers not concurrent");
        rg_yield();
    }
    ck_assert_int_eq(rg_rwmutex_runlock(&rw), 0);
    rg_waitgroup_done(&wg);
}

static void rw_concurrent_main(void *arg)
{
    (void)arg;
    enum { R = 10 };
    rw = (rg_rwmutex)RG_RWMUTEX_INIT;
    atomic_store(&rw_readers, 0);
    wg_reset(R);
    for (int i = 0; i < R; i++)
        rg_go(rw_reader_together, (void *)(intptr_t)R);
    rg_waitgroup_wait(&wg);
}

START_TEST(rwmutex_readers_concurrent)
{
    t_run(rw_concurrent_main, NULL, 1);
    t_run(rw_concurrent_main, NULL, 2);
}
END_TEST

static void rw_reader(void *arg)
{
    long n = (long)(intptr_t)arg;
    for (long i = 0; i < n; i++) {
        rg_rwmutex_rlock(&rw);
        int r = atomic_fetch_add(&rw_readers, 1) + 1;
        int m = atomic_load(&rw_maxreaders);
        while (r > m && !atomic_compare_exchange_weak(&rw_maxreaders, &m, r)) {
        }
        if (atomic_load(&rw_writers) != 0)
            atomic_fetch_add(&rw_bad, 1);
        if ((i & 7) == 0)
            rg_yield();
        atomic_fetch_sub(&rw_readers, 1);
        rg_rwmutex_runlock(&rw);
    }
    rg_waitgroup_done(&wg);
}

static void rw_writer(void *arg)
{
    long n = (long)(intptr_t)arg;
    for (long i = 0; i < n; i++) {
        rg_rwmutex_lock(&rw);
        if (atomic_fetch_add(&rw_writers, 1) != 0 ||
            atomic_load(&rw_readers) != 0)
            atomic_fetch_add(&rw_bad, 1);
        rg_yield();
        if (atomic_load(&rw_readers) != 0)
            atomic_fetch_add(&rw_bad, 1);
        atomic_fetch_sub(&rw_writers, 1);
        rg_rwmutex_unlock(&rw);
    }
    rg_waitgroup_done(&wg);
}

static void rw_exclusive_main(void *arg)
{
    (void)arg;
    rw = (rg_rwmutex)RG_RWMUTEX_INIT;
    atomic_store(&rw_readers, 0);
    atomic_store(&rw_writers, 0);
    atomic_store(&rw_bad, 0);
    atomic_store(&rw_maxreaders, 0);
    wg_reset(8 + 3);
    for (int i = 0; i < 8; i++)
        rg_go(rw_reader, (void *)(intptr_t)5000);
    for (int i = 0; i < 3; i++)
        rg_go(rw_writer, (void *)(intptr_t)1000);
    rg_waitgroup_wait(&wg);
    ck_assert_int_eq(atomic_load(&rw_bad), 0);
    ck_assert_int_gt(atomic_load(&rw_maxreaders), 1);
    ck_assert_int_eq(rw.readercount, 0);
    /* Errors leave the lock as it was. */
    ck_assert_int_eq(rg_rwmutex_runlock(&rw), -EPERM);
    ck_assert_int_eq(rg_rwmutex_unlock(&rw), -EPERM);
    rg_rwmutex_rlock(&rw);
    ck_assert_int_eq(rg_rwmutex_unlock(&rw), -EPERM);
    ck_assert_int_eq(rg_rwmutex_runlock(&rw), 0);
    rg_rwmutex_lock(&rw);
    ck_assert_int_eq(rg_rwmutex_runlock(&rw), -EPERM);
    ck_assert_int_eq(rg_rwmutex_unlock(&rw), 0);
    ck_assert_int_eq(rw.readercount, 0);
}

START_TEST(rwmutex_writer_exclusive)
{
    t_run(rw_exclusive_main, NULL, 1);
    t_run(rw_exclusive_main, NULL, 2);
    rg_rwmutex x = RG_RWMUTEX_INIT;
    ck_assert_int_eq(rg_rwmutex_rlock(&x), -EPERM);
    ck_assert_int_eq(rg_rwmutex_lock(&x), -EPERM);
}
END_TEST

/* ---- cond ---- */

static rg_cond cv = RG_COND_INIT;
static int cv_ready;
static atomic_int cv_woken;

static void cv_waiter(void *arg)
{
    (void)arg;
    rg_mutex_lock(&mu);
    while (cv_ready == 0)
        ck_assert_int_eq(rg_cond_wait(&cv, &mu), 0);
    cv_ready--;
    atomic_fetch_add(&cv_woken, 1);
    rg_mutex_unlock(&mu);
    rg_waitgroup_done(&wg);
}

static void cond_main(void *arg)
{
    (void)arg;
    enum { W = 10 };
    mu = (rg_mutex)RG_MUTEX_INIT;
    cv = (rg_cond)RG_COND_INIT;
    cv_ready = 0;
    atomic_store(&cv_woken, 0);
    ck_assert_int_eq(rg_cond_signal(&cv), 0); /* nobody waits: no-op */
    wg_reset(W);
    for (int i = 0; i < W; i++)
        rg_go(cv_waiter, NULL);
    rg_sleep(10 * MS);
    ck_assert_int_eq(atomic_load(&cv_woken), 0);
    /* One signal, one waiter: exactly one proceeds. */
    for (int k = 1; k <= 3; k++) {
        rg_mutex_lock(&mu);
        cv_ready++;
        rg_cond_signal(&cv);
        rg_mutex_unlock(&mu);
        rg_sleep(10 * MS);
        ck_assert_int_eq(atomic_load(&cv_woken), k);
    }
    /* Broadcast wakes the rest. */
    rg_mutex_lock(&mu);
    cv_ready += W - 3;
    rg_cond_broadcast(&cv);
    rg_mutex_unlock(&mu);
    rg_waitgroup_wait(&wg);
    ck_assert_int_eq(atomic_load(&cv_woken), W);
    /* Waiting without holding the mutex is refused. */
    ck_assert_int_eq(rg_cond_wait(&cv, &mu), -EPERM);
}

START_TEST(cond_signal_broadcast)
{
    t_run(cond_main, NULL, 1);
    t_run(cond_main, NULL, 2);
}
END_TEST

/* Producer/consumer queue on a cond, many rounds: no lost wakeup. */
static int pc_items;
static long pc_consumed;

static void pc_consumer(void *arg)
{
    long n = (long)(intptr_t)arg;
    for (long i = 0; i < n; i++) {
        rg_mutex_lock(&mu);
        while (pc_items == 0)
            rg_cond_wait(&cv, &mu);
        pc_items--;
        pc_consumed++;
        rg_mutex_unlock(&mu);
    }
    rg_waitgroup_done(&wg);
}

static void pc_main(void *arg)
{
    (void)arg;
    enum { C = 4, PER = 5000 };
    mu = (rg_mutex)RG_MUTEX_INIT;
    cv = (rg_cond)RG_COND_INIT;
    pc_items = 0;
    pc_consumed = 0;
    wg_reset(C);
    for (int i = 0; i < C; i++)
        rg_go(pc_consumer, (void *)(intptr_t)PER);
    for (int i = 0; i < C * PER; i++) {
        rg_mutex_lock(&mu);
        pc_items++;
        if (i & 1)
            rg_cond_signal(&cv);
        else
            rg_cond_broadcast(&cv);
        rg_mutex_unlock(&mu);
        if ((i & 15) == 0)
            rg_yield();
    }
    rg_waitgroup_wait(&wg);
    ck_assert_int_eq(pc_consumed, C * PER);
    ck_assert_int_eq(pc_items, 0);
}

START_TEST(cond_producer_consumer)
{
    t_run(pc_main, NULL, 2);
}
END_TEST

/* ---- waitgroup ---- */

static atomic_int wg_done_count;
static rg_waitgroup wg2;

static void wg_task(void *arg)
{
    (void)arg;
    rg_sleep(1 * MS);
    atomic_fetch_add(&wg_done_count, 1);
    ck_assert_int_eq(rg_waitgroup_done(&wg2), 0);
}

static void wg_waiter(void *arg)
{
    int want = (int)(intptr_t)arg;
    ck_assert_int_eq(rg_waitgroup_wait(&wg2), 0);
    ck_assert_int_eq(atomic_load(&wg_done_count), want);
    rg_waitgroup_done(&wg);
}

static void waitgroup_main(void *arg)
{
    (void)arg;
    wg2 = (rg_waitgroup)RG_WAITGROUP_INIT;
    ck_assert_int_eq(rg_waitgroup_wait(&wg2), 0); /* zero: at once */
    ck_assert_int_eq(rg_waitgroup_done(&wg2), -EINVAL);
    ck_assert_int_eq(rg_waitgroup_add(&wg2, -3), -EINVAL);
    ck_assert_uint_eq(wg2.state, 0);
    /* Reused for several rounds, with several waiters each. */
    for (int round = 1; round <= 20; round++) {
        enum { T = 16, W = 3 };
        atomic_store(&wg_done_count, 0);
        ck_assert_int_eq(rg_waitgroup_add(&wg2, T), 0);
        wg_reset(W);
        for (int i = 0; i < W; i++)
            rg_go(wg_waiter, (void *)(intptr_t)T);
        for (int i = 0; i < T; i++)
            rg_go(wg_task, NULL);
        ck_assert_int_eq(rg_waitgroup_wait(&wg2), 0);
        ck_assert_int_eq(atomic_load(&wg_done_count), T);
        rg_waitgroup_wait(&wg);
    }
    ck_assert_uint_eq(wg2.state, 0);
    ck_assert_int_eq(rg_waitgroup_add(&wg2, 0x7fffffff), 0);
    ck_assert_int_eq(rg_waitgroup_add(&wg2, 1), -EOVERFLOW);
    ck_assert_int_eq(rg_waitgroup_add(&wg2, -0x7fffffff), 0);
}

START_TEST(waitgroup)
{
    t_run(waitgroup_main, NULL, 1);
    t_run(waitgroup_main, NULL, 2);
    rg_waitgroup w = RG_WAITGROUP_INIT;
    ck_assert_int_eq(rg_waitgroup_wait(&w), -EPERM);
    ck_assert_int_eq(rg_waitgroup_add(&w, 1), 0); /* any thread */
    ck_assert_int_eq(rg_waitgroup_done(&w), 0);
}
END_TEST

/* ---- once ---- */

static rg_once once = RG_ONCE_INIT;
static atomic_int once_calls;
static int once_value;

static void once_fn(void *arg)
{
    atomic_fetch_add(&once_calls, 1);
    rg_sleep(2 * MS); /* others must wait, not return early */
    once_value = (int)(intptr_t)arg;
}

static void once_racer(void *arg)
{
    ck_assert_int_eq(rg_once_do(&once, once_fn, arg), 0);
    ck_assert_int_eq(once_value != 0, 1); /* fn completed */
    rg_waitgroup_done(&wg);
}

static void once_main(void *arg)
{
    (void)arg;
    enum { G = 16 };
    once = (rg_once)RG_ONCE_INIT;
    atomic_store(&once_calls, 0);
    once_value = 0;
    wg_reset(G);
    for (int i = 0; i < G; i++)
        rg_go(once_racer, (void *)(intptr_t)(i + 1));
    rg_waitgroup_wait(&wg);
    ck_assert_int_eq(atomic_load(&once_calls), 1);
    ck_assert_int_eq(rg_once_do(&once, once_fn, NULL), 0);
    ck_assert_int_eq(atomic_load(&once_calls), 1);
}

START_TEST(once_race)
{
    t_run(once_main, NULL, 1);
    t_run(once_main, NULL, 2);
    /* Outside the runtime: done already, fine; not done, refused. */
    ck_assert_int_eq(rg_once_do(&once, once_fn, NULL), 0);
    rg_once o = RG_ONCE_INIT;
    ck_assert_int_eq(rg_once_do(&o, once_fn, NULL), -EPERM);
    ck_assert_int_eq(atomic_load(&once_calls), 1);
}
END_TEST

/* ---- sema ---- */

static rg_sema sem = RG_SEMA_INIT(3);
static atomic_int sem_inside, sem_max, sem_over;

static void sem_worker(void *arg)
{
    long n = (long)(intptr_t)arg;
    for (long i = 0; i < n; i++) {
        ck_assert_int_eq(rg_sema_acquire(&sem), 0);
        int in = atomic_fetch_add(&sem_inside, 1) + 1;
        if (in > 3)
            atomic_fetch_add(&sem_over, 1);
        int m = atomic_load(&sem_max);
        while (in > m && !atomic_compare_exchange_weak(&sem_max, &m, in)) {
        }
        rg_yield();
        atomic_fetch_sub(&sem_inside, 1);
        ck_assert_int_eq(rg_sema_release(&sem), 0);
    }
    rg_waitgroup_done(&wg);
}

static void *sem_foreign(void *arg)
{
    (void)arg;
    usleep(20000);
    rg_sema_release(&sem);
    return NULL;
}

static void sema_main(void *arg)
{
    (void)arg;
    sem = (rg_sema)RG_SEMA_INIT(3);
    atomic_store(&sem_inside, 0);
    atomic_store(&sem_max, 0);
    atomic_store(&sem_over, 0);
    wg_reset(12);
    for (int i = 0; i < 12; i++)
        rg_go(sem_worker, (void *)(intptr_t)2000);
    rg_waitgroup_wait(&wg);
    ck_assert_int_eq(atomic_load(&sem_over), 0);
    ck_assert_int_eq(atomic_load(&sem_max), 3);
    ck_assert_uint_eq(sem.count, 3);
}

static void sleeper(void *arg)
{
    (void)arg;
    rg_sleep(200 * MS);
}

static void sema_foreign_main(void *arg)
{
    (void)arg;
    sem = (rg_sema)RG_SEMA_INIT(0);
    pthread_t th;
    rg_go(sleeper, NULL); /* keeps the deadlock detector quiet */
    ck_assert_int_eq(pthread_create(&th, NULL, sem_foreign, NULL), 0);
    ck_assert_int_eq(rg_sema_acquire(&sem), 0);
    pthread_join(th, NULL);
}

START_TEST(sema_bounds)
{
    t_run(sema_main, NULL, 1);
    t_run(sema_main, NULL, 2);
    t_run(sema_foreign_main, NULL, 2);
    rg_sema s = RG_SEMA_INIT(1);
    ck_assert_int_eq(rg_sema_acquire(&s), -EPERM);
    ck_assert_uint_eq(s.count, 1);
}
END_TEST

/* ---- waiters left behind by a run are forgotten ---- */

static void sem_blocked(void *arg)
{
    (void)arg;
    rg_sema_acquire(&sem); /* still blocked when main returns */
}

static void leave_waiters(void *arg)
{
    (void)arg;
    for (int i = 0; i < 4; i++) {
        rg_go(sem_blocked, NULL);
        rg_yield();
    }
}

static atomic_int reuse_woken;

static void sem_waiter(void *arg)
{
    (void)arg;
    ck_assert_int_eq(rg_sema_acquire(&sem), 0);
    atomic_fetch_add(&reuse_woken, 1);
    rg_waitgroup_done(&wg);
}

static void reuse_main(void *arg)
{
    (void)arg;
    /* New waiters on the same semaphore, on the same stacks as the ones
       the last run left: each release must wake one of them. */
    atomic_store(&reuse_woken, 0);
    wg_reset(4);
    for (int i = 0; i < 4; i++) {
        rg_go(sem_waiter, NULL);
        rg_yield();
    }
    for (int i = 1; i <= 4; i++) {
        ck_assert_int_eq(rg_sema_release(&sem), 0);
        uint64_t deadline = rg_now() + 10000 * MS;
        while (atomic_load(&reuse_woken) < i && rg_now() < deadline)
            rg_sleep(100000);
        ck_assert_int_eq(atomic_load(&reuse_woken), i);
    }
    rg_waitgroup_wait(&wg);
    ck_assert_uint_eq(sem.count, 0);
}

START_TEST(reuse_across_runs)
{
    for (int procs = 1; procs <= 2; procs++) {
        sem = (rg_sema)RG_SEMA_INIT(0);
        t_run(leave_waiters, NULL, procs);
        sem = (rg_sema)RG_SEMA_INIT(0);
        t_run(reuse_main, NULL, procs);
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("sync");
    TCase *tc = tcase_create("sync");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, mutex_exclusion);
    tcase_add_test(tc, mutex_errors);
    tcase_add_test(tc, mutex_starvation);
    tcase_add_test(tc, rwmutex_readers_concurrent);
    tcase_add_test(tc, rwmutex_writer_exclusive);
    tcase_add_test(tc, cond_signal_broadcast);
    tcase_add_test(tc, cond_producer_consumer);
    tcase_add_test(tc, waitgroup);
    tcase_add_test(tc, once_race);
    tcase_add_test(tc, sema_bounds);
    tcase_add_test(tc, reuse_across_runs);
    suite_add_tcase(s, tc);
    return t_main(s);
}
