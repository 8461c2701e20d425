/*
 * tests/test_timer.c: rg_sleep and the timer heaps: order, never early,
 * many concurrent sleepers, sleepers on idle Ps.
 */
#include "helpers.h"

#include <stdatomic.h>

static atomic_long done_count;

static void wait_count(long want)
{
    uint64_t deadline = rg_now() + 30ull * 1000000000;
    while (atomic_load(&done_count) < want) {
        ck_assert_msg(rg_now() < deadline, "timed out at %ld of %ld",
                      atomic_load(&done_count), want);
        rg_sleep(1000000);
    }
}

/* Sleepers with distinct durations wake in order, never early. */
#define ORDER_N 50
static int order_log[ORDER_N];
static atomic_int order_pos;
static atomic_int early;

static void ordered_sleeper(void *arg)
{
    int i = (int)(intptr_t)arg;
    uint64_t ns = (uint64_t)(ORDER_N - i) * 2000000; /* reverse spawn order */
    uint64_t t0 = rg_now();
    ck_assert_int_eq(rg_sleep(ns), 0);
    if (rg_now() - t0 < ns)
        atomic_fetch_add(&early, 1);
    order_log[atomic_fetch_add(&order_pos, 1)] = ORDER_N - i;
    atomic_fetch_add(&done_count, 1);
}

static void order_main(void *arg)
{
    (void)arg;
    for (int i = 0; i < ORDER_N; i++)
        rg_go(ordered_sleeper, (void *)(intptr_t)i);
    wait_count(ORDER_N);
}

START_TEST(fire_in_order_not_early)
{
    atomic_store(&done_count, 0);
    atomic_store(&order_pos, 0);
    atomic_store(&early, 0);
    /* One P, one timer heap: expiry order is wake order. (Across Ps, two
       timers 2 ms apart on different heaps may wake in either order when
       the machine stalls for longer than that, as in Go.) */
    t_run(order_main, NULL, 1);
    ck_assert_int_eq(atomic_load(&early), 0);
    for (int i = 1; i < ORDER_N; i++)
        ck_assert_int_le(order_log[i - 1], order_log[i]);
}
END_TEST

/* 10k concurrent sleepers, all wake, none early, total well bounded. */
static void short_sleeper(void *arg)
{
    (void)arg;
    uint64_t t0 = rg_now();
    rg_sleep(20000000);
    if (rg_now() - t0 < 20000000)
        atomic_fetch_add(&early, 1);
    atomic_fetch_add(&done_count, 1);
}

static uint64_t many_wall;
static void many_main(void *arg)
{
    (void)arg;
    uint64_t t0 = rg_now();
    for (int i = 0; i < 10000; i++)
        rg_go(short_sleeper, NULL);
    wait_count(10000);
    many_wall = rg_now() - t0;
}

START_TEST(many_concurrent_sleepers)
{
    atomic_store(&done_count, 0);
    atomic_store(&early, 0);
    t_run(many_main, NULL, 2);
    ck_assert_int_eq(atomic_load(&early), 0);
    ck_assert_int_eq(atomic_load(&done_count), 10000);
    ck_assert_uint_lt(many_wall, 5ull * 1000000000);
}
END_TEST

/* main sleeping alone: the runtime must wake it with no other activity
   (the idle M's ring timeout), with 1 and with 4 Ps. */
static uint64_t slept;
static void lone_sleeper(void *arg)
{
    (void)arg;
    uint64_t t0 = rg_now();
    rg_sleep(50000000);
    slept = rg_now() - t0;
}

START_TEST(lone_sleeper_wakes)
{
    t_run(lone_sleeper, NULL, 1);
    ck_assert_uint_ge(slept, 50000000);
    ck_assert_uint_lt(slept, 1000000000);
    t_run(lone_sleeper, NULL, 4);
    ck_assert_uint_ge(slept, 50000000);
    ck_assert_uint_lt(slept, 1000000000);
}
END_TEST

/* A timer armed on a P whose M then spins forever still fires: another P
   runs it (timer stealing / the monitor). */
static atomic_int spin_stop;
static void spinner(void *arg)
{
    (void)arg;
    while (!atomic_load(&spin_stop))
        ;
}

static uint64_t stolen_late;
static void arm_then_spin(void *arg)
{
    (void)arg;
    uint64_t t0 = rg_now();
    rg_sleep(5000000);
    stolen_late = rg_now() - t0 - 5000000;
    atomic_store(&spin_stop, 1);
}

static void steal_main(void *arg)
{
    (void)arg;
    atomic_store(&spin_stop, 0);
    /* arm_then_spin parks, then a spinner takes its P's M */
    rg_go(arm_then_spin, NULL);
    rg_yield();
    rg_go(spinner, NULL);
    while (!atomic_load(&spin_stop))
        rg_sleep(1000000);
}

START_TEST(timer_not_stranded_by_spinner)
{
    t_run(steal_main, NULL, 2);
    ck_assert_uint_lt(stolen_late, 200000000);
}
END_TEST

/* Regression: 10k sleepers plus a main that polls with 1 ms sleeps, over
   many runs. Once lost an idle M's wakeup (the monitor consumed the wake
   CQE from the M's ring) and spun an idle M on a past timer deadline. */
static void storm_main(void *arg)
{
    (void)arg;
    for (int i = 0; i < 10000; i++)
        rg_go(short_sleeper, NULL);
    wait_count(10000);
}

START_TEST(sleeper_storm_many_runs)
{
    for (int run = 0; run < 30; run++) {
        atomic_store(&done_count, 0);
        atomic_store(&early, 0);
        t_run(storm_main, NULL, 2);
        ck_assert_int_eq(atomic_load(&done_count), 10000);
        ck_assert_int_eq(atomic_load(&early), 0);
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("timer");
    TCase *tc = tcase_create("timer");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, fire_in_order_not_early);
    tcase_add_test(tc, many_concurrent_sleepers);
    tcase_add_test(tc, lone_sleeper_wakes);
    tcase_add_test(tc, timer_not_stranded_by_spinner);
    tcase_add_test(tc, sleeper_storm_many_runs);
    suite_add_tcase(s, tc);
    return t_main(s);
}
