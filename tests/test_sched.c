/*
 * tests/test_sched.c: the scheduler through the public API: boot and
 * return, restart, mass spawning, yield, spreading over Ps, ids across
 * migrations, and progress next to a spinning goroutine.
 */
#include "helpers.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static int ran;
static void set_ran(void *arg) { ran = *(int *)arg; }

START_TEST(boot_and_return)
{
    int v = 42;
    ran = 0;
    t_run(set_ran, &v, 1);
    ck_assert_int_eq(ran, 42);
    ck_assert_int_eq(rg_procs(), 0);
    ck_assert_uint_eq(rg_id(), 0);
}
END_TEST

static void check_main_id(void *arg)
{
    (void)arg;
    ck_assert_uint_eq(rg_id(), 1);
    ck_assert_int_gt(rg_procs(), 0);
}

START_TEST(run_twice)
{
    for (int i = 0; i < 3; i++)
        t_run(check_main_id, NULL, 2);
}
END_TEST

static void nested_run(void *arg)
{
    (void)arg;
    ck_assert_int_eq(rg_run(check_main_id, NULL, NULL), -EBUSY);
}

START_TEST(errors)
{
    ck_assert_int_eq(rg_run(NULL, NULL, NULL), -EINVAL);
    struct rg_config bad = {0};
    bad.procs = -1;
    ck_assert_int_eq(rg_run(check_main_id, NULL, &bad), -EINVAL);
    ck_assert_int_eq(rg_go(set_ran, NULL), -EPERM);
    ck_assert_int_eq(rg_sleep(1), -EPERM);
    t_run(nested_run, NULL, 1);
}
END_TEST

/* 100k goroutines, spawned by 100 spawner goroutines. */
static atomic_long done_count;
static void leaf(void *arg)
{
    (void)arg;
    atomic_fetch_add(&done_count, 1);
}

static void spawner(void *arg)
{
    long n = (long)(intptr_t)arg;
    for (long i = 0; i < n; i++)
        ck_assert_int_eq(rg_go(leaf, NULL), 0);
}

static void wait_count(atomic_long *c, long want)
{
    uint64_t deadline = rg_now() + 30ull * 1000000000;
    while (atomic_load(c) < want) {
        ck_assert_msg(rg_now() < deadline, "timed out at %ld of %ld",
                      atomic_load(c), want);
        rg_yield();
    }
}

static void spawn_many_main(void *arg)
{
    (void)arg;
    for (int i = 0; i < 100; i++)
        ck_assert_int_eq(rg_go(spawner, (void *)(intptr_t)1000), 0);
    wait_count(&done_count, 100000);
}

START_TEST(spawn_100k_from_many)
{
    atomic_store(&done_count, 0);
    t_run(spawn_many_main, NULL, 2);
    ck_assert_int_eq(atomic_load(&done_count), 100000);
}
END_TEST

/* Nested spawns: a binary tree of depth 12 (4095 goroutines). */
static void tree(void *arg)
{
    long depth = (long)(intptr_t)arg;
    atomic_fetch_add(&done_count, 1);
    if (depth > 1) {
        rg_go(tree, (void *)(intptr_t)(depth - 1));
        rg_go(tree, (void *)(intptr_t)(depth - 1));
    }
}

static void tree_main(void *arg)
{
    (void)arg;
    rg_go(tree, (void *)(intptr_t)12);
    wait_count(&done_count, 4095);
}

START_TEST(nested_spawns)
{
    atomic_store(&done_count, 0);
    t_run(tree_main, NULL, 2);
    ck_assert_int_eq(atomic_load(&done_count), 4095);
}
END_TEST

/* Two goroutines yield in turn on one P: they must alternate strictly. */
static int turn_log[2000];
static atomic_int turn_n;
static void pinger(void *arg)
{
    int me = (int)(intptr_t)arg;
    for (int i = 0; i < 1000; i++) {
        turn_log[atomic_fetch_add(&turn_n, 1)] = me;
        rg_yield();
    }
    atomic_fetch_add(&done_count, 1);
}

static void pingpong_main(void *arg)
{
    (void)arg;
    rg_go(pinger, (void *)0);
    rg_go(pinger, (void *)1);
    wait_count(&done_count, 2);
}

START_TEST(yield_pingpong)
{
    atomic_store(&done_count, 0);
    atomic_store(&turn_n, 0);
    t_run(pingpong_main, NULL, 1);
    ck_assert_int_eq(atomic_load(&turn_n), 2000);
    int switches = 0;
    for (int i = 1; i < 2000; i++)
        switches += turn_log[i] != turn_log[i - 1];
    /* main's own yields may interleave, but the pair must alternate */
    ck_assert_int_ge(switches, 1990);
}
END_TEST

/* Work spreads over every P: goroutines record the thread they ran on. */
#define SPREAD_G 64
static pthread_t spread_tid[SPREAD_G];
static void busy(void *arg)
{
    long i = (long)(intptr_t)arg;
    uint64_t end = rg_now() + 20000000; /* 20 ms of CPU */
    while (rg_now() < end)
        ;
    spread_tid[i] = pthread_self();
    atomic_fetch_add(&done_count, 1);
}

static void spread_main(void *arg)
{
    (void)arg;
    for (long i = 0; i < SPREAD_G; i++)
        rg_go(busy, (void *)(intptr_t)i);
    wait_count(&done_count, SPREAD_G);
}

START_TEST(work_spreads_over_ps)
{
    atomic_store(&done_count, 0);
    t_run(spread_main, NULL, 2);
    int distinct = 1;
    for (int i = 1; i < SPREAD_G; i++)
        if (!pthread_equal(spread_tid[i], spread_tid[0])) {
            distinct = 2;
            break;
        }
    ck_assert_int_eq(distinct, 2);
}
END_TEST

/* Ids survive migrations: 4 goroutines x 250k yields on 2 Ps. */
static atomic_long migrations, bad_ids;

/* The kernel's thread id, read fresh each time: pthread_self() is declared
   const, so a compiler may reuse a value read before a yield. */
static long tid(void)
{
    return syscall(SYS_gettid);
}

static void id_checker(void *arg)
{
    uint64_t me = rg_id();
    long last = tid();
    (void)arg;
    for (int i = 0; i < 250000; i++) {
        if (i % 64 == 0)
            rg_sleep(20000); /* wake up on whichever P runs the timer */
        else
            rg_yield();
        if (rg_id() != me)
            atomic_fetch_add(&bad_ids, 1);
        if (tid() != last) {
            atomic_fetch_add(&migrations, 1);
            last = tid();
        }
    }
    atomic_fetch_add(&done_count, 1);
}

static void ids_main(void *arg)
{
    (void)arg;
    for (int i = 0; i < 4; i++)
        rg_go(id_checker, NULL);
    wait_count(&done_count, 4);
}

START_TEST(ids_across_migration)
{
    atomic_store(&done_count, 0);
    atomic_store(&bad_ids, 0);
    atomic_store(&migrations, 0);
    t_run(ids_main, NULL, 2);
    ck_assert_int_eq(atomic_load(&bad_ids), 0);
    /* The 1M switches must also have moved goroutines between threads,
       or the test proved nothing. */
    ck_assert_int_gt(atomic_load(&migrations), 0);
}
END_TEST

/* A goroutine spinning forever on one P must not stop the others. */
static atomic_int stop_spin;
static void spin(void *arg)
{
    (void)arg;
    while (!atomic_load(&stop_spin))
        ;
}

static void ticker(void *arg)
{
    (void)arg;
    for (int i = 0; i < 50; i++)
        rg_sleep(1000000);
    atomic_fetch_add(&done_count, 1);
}

static void spin_main(void *arg)
{
    (void)arg;
    rg_go(spin, NULL);
    rg_yield();
    for (int i = 0; i < 10; i++)
        rg_go(ticker, NULL);
    wait_count(&done_count, 10);
    atomic_store(&stop_spin, 1);
}

START_TEST(progress_beside_spinner)
{
    atomic_store(&done_count, 0);
    atomic_store(&stop_spin, 0);
    t_run(spin_main, NULL, 2);
    ck_assert_int_eq(atomic_load(&done_count), 10);
}
END_TEST

/* A timer armed on a P whose goroutine then spins, while the other P
   never runs out of work (so never steals): it still fires, run by the
   busy P at the monitor's request, not after the spinner stops. */
static _Atomic long tl_sleeper_tid, tl_hog_tid;
static atomic_int tl_done, tl_stop;
static _Atomic uint64_t tl_slept_ns;

static void tl_sleeper(void *arg)
{
    (void)arg;
    tl_sleeper_tid = tid();
    uint64_t t0 = rg_now();
    rg_sleep(20 * 1000000);
    tl_slept_ns = rg_now() - t0;
    atomic_store(&tl_done, 1);
}

static void tl_hog(void *arg)
{
    (void)arg;
    rg_go(tl_sleeper, NULL); /* runnext of this P */
    rg_yield();              /* it runs here, arms its timer here */
    tl_hog_tid = tid();
    uint64_t end = rg_now() + 3000000000ull;
    while (!atomic_load(&tl_done) && !atomic_load(&tl_stop) && rg_now() < end)
        ;
}

static void tl_main(void *arg)
{
    (void)arg;
    rg_go(tl_hog, NULL);
    uint64_t end = rg_now() + 3000000000ull;
    while (!atomic_load(&tl_done) && rg_now() < end)
        rg_yield(); /* this P never runs out of work */
    atomic_store(&tl_stop, 1);
}

START_TEST(timer_on_hogged_p)
{
    atomic_store(&tl_done, 0);
    atomic_store(&tl_stop, 0);
    t_run(tl_main, NULL, 2);
    ck_assert_int_eq(atomic_load(&tl_done), 1);
    /* 20 ms asked; the monitor notices after 1 ms overdue. */
    ck_assert_msg(tl_slept_ns < 500000000ull,
                  "slept %llu ns (sleeper on thread %ld, spinner on %ld)",
                  (unsigned long long)tl_slept_ns, (long)tl_sleeper_tid,
                  (long)tl_hog_tid);
}
END_TEST

/* Goroutines still alive when main returns are never resumed. */
static atomic_int after_main;
static void sleeper_forever(void *arg)
{
    (void)arg;
    rg_sleep(60ull * 1000000000);
    atomic_store(&after_main, 1);
}

static void leave_main(void *arg)
{
    (void)arg;
    for (int i = 0; i < 100; i++)
        rg_go(sleeper_forever, NULL);
    rg_yield();
}

START_TEST(main_return_destroys_others)
{
    atomic_store(&after_main, 0);
    uint64_t t0 = rg_now();
    t_run(leave_main, NULL, 2);
    ck_assert_int_eq(atomic_load(&after_main), 0);
    ck_assert_uint_lt(rg_now() - t0, 5ull * 1000000000);
}
END_TEST

static int seen_procs;
static void record_procs(void *arg)
{
    (void)arg;
    seen_procs = rg_procs();
}

START_TEST(procs_config_and_env)
{
    setenv("RINGO_PROCS", "3", 1);
    t_run(record_procs, NULL, 0);
    ck_assert_int_eq(seen_procs, 3);
    t_run(record_procs, NULL, 5);
    ck_assert_int_eq(seen_procs, 5);
    unsetenv("RINGO_PROCS");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("sched");
    TCase *tc = tcase_create("sched");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, boot_and_return);
    tcase_add_test(tc, run_twice);
    tcase_add_test(tc, errors);
    tcase_add_test(tc, spawn_100k_from_many);
    tcase_add_test(tc, nested_spawns);
    tcase_add_test(tc, yield_pingpong);
    tcase_add_test(tc, work_spreads_over_ps);
    tcase_add_test(tc, ids_across_migration);
    tcase_add_test(tc, progress_beside_spinner);
    tcase_add_test(tc, timer_on_hogged_p);
    tcase_add_test(tc, main_return_destroys_others);
    tcase_add_test(tc, procs_config_and_env);
    suite_add_tcase(s, tc);
    return t_main(s);
}
