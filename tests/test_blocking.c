/*
 * tests/test_blocking.c: blocking C calls (rg_blocking) and CPU hogs do not
 * stop the other goroutines; foreign threads can start goroutines.
 */
#include "helpers.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>

static atomic_long progress, done_count;

static void do_sleep_1s(void *arg)
{
    (void)arg;
    sleep(1);
}

static uint64_t blocked_for;
static void blocker(void *arg)
{
    (void)arg;
    uint64_t t0 = rg_now();
    ck_assert_int_eq(rg_blocking(do_sleep_1s, NULL), 0);
    blocked_for = rg_now() - t0;
    atomic_fetch_add(&done_count, 1);
}

static void worker(void *arg)
{
    (void)arg;
    for (int i = 0; i < 10; i++) {
        rg_sleep(10000000);
        atomic_fetch_add(&progress, 1);
    }
    atomic_fetch_add(&done_count, 1);
}

static long progress_at_half;
static void blocking_main(void *arg)
{
    (void)arg;
    rg_go(blocker, NULL);
    rg_yield(); /* let it enter the call */
    for (int i = 0; i < 1000; i++)
        rg_go(worker, NULL);
    rg_sleep(500000000);
    progress_at_half = atomic_load(&progress);
    while (atomic_load(&done_count) < 1001)
        rg_sleep(10000000);
}

/* On 1 P: while one goroutine sleeps 1 s in a blocking call, 1,000 others
   each complete 10 sleeps of 10 ms. */
START_TEST(blocking_call_does_not_stop_others)
{
    atomic_store(&progress, 0);
    atomic_store(&done_count, 0);
    t_run(blocking_main, NULL, 1);
    ck_assert_int_eq(atomic_load(&progress), 10000);
    ck_assert_int_eq(progress_at_half, 10000);
    ck_assert_uint_ge(blocked_for, 1000000000);
}
END_TEST

static void noop(void *arg) { (void)arg; }

START_TEST(blocking_errors)
{
    ck_assert_int_eq(rg_blocking(noop, NULL), -EPERM);
}
END_TEST

/* A goroutine's read, queued on the ring of the M that then enters a
   blocking call, still completes while that call lasts: its data arrives
   100 ms into a 1 s call, and it is resumed (on another M) long before
   the call returns. */
static int iob_pipe[2];
static uint64_t iob_resumed_ns, iob_start_ns;
static ssize_t iob_got;

static void iob_reader(void *arg)
{
    (void)arg;
    char c;
    iob_got = rg_read(iob_pipe[0], &c, 1);
    iob_resumed_ns = rg_now() - iob_start_ns;
}

static void *iob_writer(void *arg)
{
    (void)arg;
    usleep(100000);
    ssize_t w = write(iob_pipe[1], "x", 1);
    (void)w;
    return NULL;
}

static void iob_main(void *arg)
{
    (void)arg;
    iob_start_ns = rg_now();
    rg_go(iob_reader, NULL);
    rg_yield(); /* the reader parks, its read queued on this M's ring */
    pthread_t t;
    ck_assert_int_eq(pthread_create(&t, NULL, iob_writer, NULL), 0);
    ck_assert_int_eq(rg_blocking(do_sleep_1s, NULL), 0);
    pthread_join(t, NULL);
}

START_TEST(io_completes_during_blocking_call)
{
    ck_assert_int_eq(pipe(iob_pipe), 0);
    iob_got = 0;
    iob_resumed_ns = 0;
    t_run(iob_main, NULL, 1);
    ck_assert_int_eq(iob_got, 1);
    ck_assert_uint_lt(iob_resumed_ns, 600000000ull);
    close(iob_pipe[0]);
    close(iob_pipe[1]);
}
END_TEST

/* Many short blocking calls: the fast path returns to the same P. */
static int short_calls;
static void short_main(void *arg)
{
    (void)arg;
    for (int i = 0; i < 100000; i++)
        if (rg_blocking(noop, NULL) == 0)
            short_calls++;
    ck_assert_int_eq(rg_blocking(NULL, NULL), -EINVAL);
}

START_TEST(short_blocking_calls)
{
    short_calls = 0;
    t_run(short_main, NULL, 2);
    ck_assert_int_eq(short_calls, 100000);
}
END_TEST

/* A CPU hog on 2 Ps: goroutines queued behind it on its P still run
   within ~20 ms (the monitor moves them), though the hog never yields. */
static atomic_int hog_stop;
static atomic_long max_wait_ns;
static void hog(void *arg)
{
    (void)arg;
    uint64_t end = rg_now() + 2000000000ull;
    while (!atomic_load(&hog_stop) && rg_now() < end)
        ;
    atomic_fetch_add(&done_count, 1);
}

static void queued(void *arg)
{
    uint64_t queued_at = (uint64_t)(uintptr_t)arg;
    long waited = (long)(rg_now() - queued_at);
    long cur = atomic_load(&max_wait_ns);
    while (waited > cur && !atomic_compare_exchange_weak(&max_wait_ns, &cur, waited))
        ;
    atomic_fetch_add(&progress, 1);
}

static void spawn_behind_hog(void *arg)
{
    (void)arg;
    /* Runs on the hog's P: queue 100 goroutines there, then become the
       hog itself. */
    for (int i = 0; i < 100; i++)
        rg_go(queued, (void *)(uintptr_t)rg_now());
    hog(NULL);
}

static void hog_main(void *arg)
{
    (void)arg;
    rg_go(spawn_behind_hog, NULL);
    while (atomic_load(&progress) < 100)
        rg_sleep(1000000);
    atomic_store(&hog_stop, 1);
    while (atomic_load(&done_count) < 1)
        rg_sleep(1000000);
}

START_TEST(hog_does_not_starve_its_queue)
{
    atomic_store(&progress, 0);
    atomic_store(&done_count, 0);
    atomic_store(&hog_stop, 0);
    atomic_store(&max_wait_ns, 0);
    t_run(hog_main, NULL, 2);
    ck_assert_int_eq(atomic_load(&progress), 100);
    /* ~10 ms detection + one monitor period; generous for a noisy VM */
    ck_assert_int_lt(atomic_load(&max_wait_ns), 200000000);
}
END_TEST

/* Foreign threads: a plain pthread starts goroutines while the runtime
   runs; blocking calls from it fail with -EPERM and no side effect. */
static atomic_long foreign_ran;
static int foreign_sleep_rc, foreign_go_rc;
static uint64_t foreign_id = 99;

static void from_foreign(void *arg)
{
    (void)arg;
    atomic_fetch_add(&foreign_ran, 1);
}

static void *foreign_thread(void *arg)
{
    (void)arg;
    foreign_id = rg_id();
    foreign_sleep_rc = rg_sleep(1000);
    rg_yield(); /* no-op outside a goroutine */
    for (int i = 0; i < 1000; i++) {
        int rc = rg_go(from_foreign, NULL);
        if (rc != 0)
            foreign_go_rc = rc;
    }
    return NULL;
}

static void join_fn(void *arg)
{
    pthread_join(*(pthread_t *)arg, NULL);
}

static void foreign_main(void *arg)
{
    (void)arg;
    pthread_t t;
    ck_assert_int_eq(pthread_create(&t, NULL, foreign_thread, NULL), 0);
    uint64_t deadline = rg_now() + 10000000000ull;
    while (atomic_load(&foreign_ran) < 1000 && rg_now() < deadline)
        rg_sleep(1000000);
    /* joining blocks the thread: do it as a blocking call */
    ck_assert_int_eq(rg_blocking(join_fn, &t), 0);
}

START_TEST(foreign_thread_spawns)
{
    atomic_store(&foreign_ran, 0);
    t_run(foreign_main, NULL, 2);
    ck_assert_int_eq(atomic_load(&foreign_ran), 1000);
    ck_assert_int_eq(foreign_go_rc, 0);
    ck_assert_int_eq(foreign_sleep_rc, -EPERM);
    ck_assert_uint_eq(foreign_id, 0);
}
END_TEST

static void *late_foreign(void *arg)
{
    (void)arg;
    return (void *)(intptr_t)rg_go(from_foreign, NULL);
}

START_TEST(foreign_spawn_without_runtime)
{
    pthread_t t;
    void *rc;
    pthread_create(&t, NULL, late_foreign, NULL);
    pthread_join(t, &rc);
    ck_assert_int_eq((int)(intptr_t)rc, -EPERM);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("blocking");
    TCase *tc = tcase_create("blocking");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, blocking_call_does_not_stop_others);
    tcase_add_test(tc, blocking_errors);
    tcase_add_test(tc, io_completes_during_blocking_call);
    tcase_add_test(tc, short_blocking_calls);
    tcase_add_test(tc, hog_does_not_starve_its_queue);
    tcase_add_test(tc, foreign_thread_spawns);
    tcase_add_test(tc, foreign_spawn_without_runtime);
    suite_add_tcase(s, tc);
    return t_main(s);
}
