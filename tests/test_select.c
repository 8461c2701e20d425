/*
 * tests/test_select.c: rg_select through the public API (in the spirit
 * of Go's select tests in chan_test.go): readiness, poll, timeouts, nil
 * and closed channels, uniform choice among ready cases (chi-squared),
 * a goroutine on both sides of one channel, duplicated channels, large
 * selects, and a stress of selects racing their timeouts.
 */
#include "helpers.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

#define MS 1000000ll

/* ---- basic readiness ---- */

static void basic_main(void *arg)
{
    (void)arg;
    rg_chan *a = rg_chan_make(sizeof(int), 1);
    rg_chan *b = rg_chan_make(sizeof(int), 1);
    int va = -1, vb = -1, x = 7;
    struct rg_case cs[2] = {{a, RG_RECV, &va, 0}, {b, RG_RECV, &vb, 0}};

    ck_assert_int_eq(rg_select(cs, 2, 0), -EAGAIN);
    ck_assert_int_eq(rg_select(NULL, 0, 0), -EAGAIN);
    ck_assert_int_eq(rg_chan_send(b, &x), 0);
    ck_assert_int_eq(rg_select(cs, 2, -1), 1);
    ck_assert_int_eq(cs[1].ok, 1);
    ck_assert_int_eq(cs[0].ok, 0);
    ck_assert_int_eq(vb, 7);
    ck_assert_int_eq(va, -1);

    /* A send case into a buffer with room. */
    x = 9;
    struct rg_case snd[2] = {{a, RG_SEND, &x, 0}, {NULL, RG_RECV, &va, 0}};
    ck_assert_int_eq(rg_select(snd, 2, 0), 0);
    ck_assert_int_eq(snd[0].ok, 1);
    ck_assert_uint_eq(rg_chan_len(a), 1);
    ck_assert_int_eq(rg_select(snd, 2, 0), -EAGAIN); /* full now */
    ck_assert_int_eq(rg_select(cs, 2, 0), 0);
    ck_assert_int_eq(va, 9);

    /* Closed: a receive case reports ok 0, a send case -EPIPE. */
    rg_chan_close(a);
    va = 5;
    ck_assert_int_eq(rg_select(cs, 2, 0), 0);
    ck_assert_int_eq(cs[0].ok, 0);
    ck_assert_int_eq(va, 0);
    ck_assert_int_eq(rg_select(snd, 2, -1), -EPIPE);
    ck_assert_int_eq(snd[0].ok, 0);
    rg_chan_free(a);
    rg_chan_free(b);
}

START_TEST(basic)
{
    t_run(basic_main, NULL, 1);
}
END_TEST

/* ---- errors ---- */

static void errors_main(void *arg)
{
    (void)arg;
    rg_chan *c = rg_chan_make(sizeof(int), 0);
    int v;
    struct rg_case bad = {c, 3, &v, 0};
    ck_assert_int_eq(rg_select(&bad, 1, 0), -EINVAL);
    struct rg_case nullelem = {c, RG_SEND, NULL, 0};
    ck_assert_int_eq(rg_select(&nullelem, 1, 0), -EINVAL);
    ck_assert_int_eq(rg_select(NULL, 1, 0), -EINVAL);
    ck_assert_int_eq(rg_select(&bad, -1, 0), -EINVAL);
    rg_chan_free(c);
}

START_TEST(errors)
{
    rg_chan *c = rg_chan_make(sizeof(int), 1);
    int v = 1;
    struct rg_case cs = {c, RG_RECV, &v, 0};
    /* Outside the runtime: polling works, waiting does not. */
    ck_assert_int_eq(rg_select(&cs, 1, 0), -EAGAIN);
    ck_assert_int_eq(rg_select(&cs, 1, -1), -EPERM);
    ck_assert_int_eq(rg_select(&cs, 1, MS), -EPERM);
    ck_assert_int_eq(rg_chan_trysend(c, &v), 0);
    v = 0;
    ck_assert_int_eq(rg_select(&cs, 1, 0), 0);
    ck_assert_int_eq(v, 1);
    rg_chan_free(c);
    t_run(errors_main, NULL, 1);
}
END_TEST

/* ---- timeouts ---- */

static rg_chan *to_c;

static void late_sender(void *arg)
{
    int v = 11;
    rg_sleep((uint64_t)(intptr_t)arg);
    rg_chan_send(to_c, &v);
}

static void timeout_main(void *arg)
{
    (void)arg;
    to_c = rg_chan_make(sizeof(int), 0);
    int v = 0;
    struct rg_case cs[2] = {{to_c, RG_RECV, &v, 0}, {NULL, RG_SEND, &v, 0}};

    uint64_t t0 = rg_now();
    ck_assert_int_eq(rg_select(cs, 2, 5 * MS), -ETIMEDOUT);
    uint64_t dt = rg_now() - t0;
    ck_assert_uint_ge(dt, 5 * MS);
    ck_assert_uint_lt(dt, 5000 * MS);

    /* No cases at all, or only nil channels: a plain sleep. */
    t0 = rg_now();
    ck_assert_int_eq(rg_select(NULL, 0, 2 * MS), -ETIMEDOUT);
    ck_assert_int_eq(rg_select(&cs[1], 1, 2 * MS), -ETIMEDOUT);
    ck_assert_uint_ge(rg_now() - t0, 4 * MS);

    /* A value before the deadline wins, long before it. */
    rg_go(late_sender, (void *)(intptr_t)(2 * MS));
    t0 = rg_now();
    ck_assert_int_eq(rg_select(cs, 2, 10000 * MS), 0);
    ck_assert_int_eq(cs[0].ok, 1);
    ck_assert_int_eq(v, 11);
    ck_assert_uint_lt(rg_now() - t0, 5000 * MS);

    /* The G's timer is reused right away: sleep, then select again. */
    rg_sleep(1 * MS);
    ck_assert_int_eq(rg_select(cs, 2, 1 * MS), -ETIMEDOUT);
    rg_chan_free(to_c);
}

START_TEST(timeout)
{
    t_run(timeout_main, NULL, 1);
    t_run(timeout_main, NULL, 2);
}
END_TEST

/* ---- uniform choice among ready cases ---- */

static void fairness_main(void *arg)
{
    (void)arg;
    enum { K = 4, ROUNDS = 40000 };
    rg_chan *c[K];
    struct rg_case cs[K];
    int v[K];
    long count[K] = {0};
    for (int k = 0; k < K; k++) {
        c[k] = rg_chan_make(sizeof(int), 1);
        ck_assert_int_eq(rg_chan_trysend(c[k], &k), 0);
        cs[k] = (struct rg_case){c[k], RG_RECV, &v[k], 0};
    }
    for (int r = 0; r < ROUNDS; r++) {
        int i = rg_select(cs, K, -1);
        ck_assert(i >= 0 && i < K);
        ck_assert_int_eq(v[i], i);
        count[i]++;
        ck_assert_int_eq(rg_chan_trysend(c[i], &i), 0); /* ready again */
    }
    /* Chi-squared, 3 degrees of freedom: 30 is p < 2e-6 for a fair
       choice, while a choice biased by even 5% scores in the hundreds. */
    double expect = (double)ROUNDS / K, chi2 = 0;
    for (int k = 0; k < K; k++)
        chi2 += (count[k] - expect) * (count[k] - expect) / expect;
    ck_assert_msg(chi2 < 30.0, "chi2 %.1f: %ld %ld %ld %ld", chi2, count[0],
                  count[1], count[2], count[3]);
    for (int k = 0; k < K; k++)
        rg_chan_free(c[k]);
}

START_TEST(fairness)
{
    t_run(fairness_main, NULL, 1);
}
END_TEST

/* ---- a blocked select woken by each kind of partner ---- */

static rg_chan *wk_a, *wk_b;

static void wk_sender(void *arg)
{
    int v = (int)(intptr_t)arg;
    rg_sleep(1 * MS);
    ck_assert_int_eq(rg_chan_send(wk_b, &v), 0);
}

static void wk_receiver(void *arg)
{
    (void)arg;
    int v = 0;
    rg_sleep(1 * MS);
    ck_assert_int_eq(rg_chan_recv(wk_a, &v), 1);
    ck_assert_int_eq(v, 77);
}

static void wk_closer(void *arg)
{
    rg_sleep(1 * MS);
    rg_chan_close(arg);
}

static void wakeups_main(void *arg)
{
    (void)arg;
    wk_a = rg_chan_make(sizeof(int), 0);
    wk_b = rg_chan_make(sizeof(int), 0);
    int out = 77, in = -1;
    struct rg_case cs[2] = {{wk_a, RG_SEND, &out, 0}, {wk_b, RG_RECV, &in, 0}};

    rg_go(wk_sender, (void *)(intptr_t)5);
    ck_assert_int_eq(rg_select(cs, 2, -1), 1);
    ck_assert_int_eq(cs[1].ok, 1);
    ck_assert_int_eq(in, 5);

    rg_go(wk_receiver, NULL);
    ck_assert_int_eq(rg_select(cs, 2, -1), 0);
    ck_assert_int_eq(cs[0].ok, 1);

    rg_go(wk_closer, wk_b);
    in = 3;
    ck_assert_int_eq(rg_select(cs, 2, -1), 1);
    ck_assert_int_eq(cs[1].ok, 0);
    ck_assert_int_eq(in, 0);

    /* Send case woken by close. */
    struct rg_case snd = {wk_a, RG_SEND, &out, 0};
    rg_go(wk_closer, wk_a);
    ck_assert_int_eq(rg_select(&snd, 1, -1), -EPIPE);
    rg_chan_free(wk_a);
    rg_chan_free(wk_b);
}

START_TEST(wakeups)
{
    t_run(wakeups_main, NULL, 1);
    t_run(wakeups_main, NULL, 2);
}
END_TEST

/* ---- nil channels ---- */

static void nil_main(void *arg)
{
    (void)arg;
    rg_chan *c = rg_chan_make(sizeof(int), 1);
    int v = 4, w = 0;
    struct rg_case cs[3] = {
        {NULL, RG_RECV, &w, 0}, {NULL, RG_SEND, &v, 0}, {c, RG_RECV, &w, 0}};
    ck_assert_int_eq(rg_select(cs, 2, 0), -EAGAIN);
    ck_assert_int_eq(rg_select(cs, 2, 1 * MS), -ETIMEDOUT);
    rg_chan_trysend(c, &v);
    for (int i = 0; i < 100; i++) { /* never the nil cases */
        ck_assert_int_eq(rg_select(cs, 3, -1), 2);
        ck_assert_int_eq(w, 4);
        rg_chan_trysend(c, &v);
    }
    rg_chan_free(c);
}

START_TEST(nil_channels)
{
    t_run(nil_main, NULL, 1);
}
END_TEST

/* ---- one goroutine on both sides of one channel ---- */

static rg_chan *self_c;
static rg_waitgroup self_wg;

static void self_partner(void *arg)
{
    long n = (long)(intptr_t)arg;
    for (long i = 0; i < n; i++) {
        int v = 1000;
        if (i & 1)
            ck_assert_int_eq(rg_chan_send(self_c, &v), 0);
        else
            ck_assert_int_eq(rg_chan_recv(self_c, &v), 1);
    }
    rg_waitgroup_done(&self_wg);
}

static void self_main(void *arg)
{
    (void)arg;
    enum { N = 20000 };
    self_c = rg_chan_make(sizeof(int), 0);
    int out = 1, in = 0;
    struct rg_case cs[2] = {{self_c, RG_SEND, &out, 0},
                            {self_c, RG_RECV, &in, 0}};
    /* Alone, it must never match itself. */
    ck_assert_int_eq(rg_select(cs, 2, 0), -EAGAIN);
    ck_assert_int_eq(rg_select(cs, 2, 1 * MS), -ETIMEDOUT);

    self_wg = (rg_waitgroup)RG_WAITGROUP_INIT;
    rg_waitgroup_add(&self_wg, 1);
    rg_go(self_partner, (void *)(intptr_t)N);
    long sends = 0, recvs = 0;
    for (long i = 0; i < N; i++) {
        int k = rg_select(cs, 2, -1);
        ck_assert(k == 0 || k == 1);
        ck_assert_int_eq(cs[k].ok, 1);
        /* The partner alternates recv, send, recv, ... */
        ck_assert_int_eq(k, (int)(i & 1));
        if (k == 1) {
            ck_assert_int_eq(in, 1000);
            recvs++;
        } else {
            sends++;
        }
    }
    ck_assert_int_eq(sends, N / 2);
    ck_assert_int_eq(recvs, N / 2);
    rg_waitgroup_wait(&self_wg);
    rg_chan_free(self_c);
}

START_TEST(self_select)
{
    t_run(self_main, NULL, 1);
    t_run(self_main, NULL, 2);
}
END_TEST

/* ---- the same channel in several cases; a large select ---- */

static void dup_main(void *arg)
{
    (void)arg;
    enum { N = 100 };
    rg_chan *c = rg_chan_make(sizeof(int), 0);
    rg_chan *d = rg_chan_make(sizeof(int), 4);
    static struct rg_case cs[N];
    static int v[N];
    for (int i = 0; i < N; i++)
        cs[i] = (struct rg_case){i % 10 == 9 ? d : c, RG_RECV, &v[i], 0};
    ck_assert_int_eq(rg_select(cs, N, 0), -EAGAIN);
    int x = 31;
    rg_chan_trysend(d, &x);
    int k = rg_select(cs, N, -1);
    ck_assert_int_eq(k % 10, 9);
    ck_assert_int_eq(v[k], 31);
    /* Block on the 90 cases of c (and 10 of d) until a sender comes. */
    wk_b = c;
    rg_go(wk_sender, (void *)(intptr_t)8);
    k = rg_select(cs, N, -1);
    ck_assert_int_ne(k % 10, 9);
    ck_assert_int_eq(v[k], 8);
    ck_assert_int_eq(rg_select(cs, N, 1 * MS), -ETIMEDOUT);
    rg_chan_free(c);
    rg_chan_free(d);
}

START_TEST(duplicates_and_large)
{
    t_run(dup_main, NULL, 2);
}
END_TEST

/* ---- stress: selects racing their timeouts, across 2 Ps ---- */

#define SS_PRODUCERS 4
#define SS_PER 20000

static rg_chan *ss_c[2];
static _Atomic unsigned char ss_seen[SS_PRODUCERS * SS_PER];
static atomic_long ss_got, ss_timeouts;
static rg_waitgroup ss_wg;

static void ss_producer(void *arg)
{
    long base = (long)(intptr_t)arg * SS_PER;
    for (long i = 0; i < SS_PER; i++) {
        long v = base + i;
        ck_assert_int_eq(rg_chan_send(ss_c[i & 1], &v), 0);
        if (i % 1000 == 0)
            rg_sleep(20000);
    }
    rg_waitgroup_done(&ss_wg);
}

static void ss_consumer(void *arg)
{
    (void)arg;
    long a, b;
    struct rg_case cs[2] = {{ss_c[0], RG_RECV, &a, 0},
                            {ss_c[1], RG_RECV, &b, 0}};
    while (atomic_load(&ss_got) < SS_PRODUCERS * SS_PER) {
        int k = rg_select(cs, 2, 30000); /* 30us: often expires */
        if (k == -ETIMEDOUT) {
            atomic_fetch_add(&ss_timeouts, 1);
            continue;
        }
        ck_assert(k == 0 || k == 1);
        ck_assert_int_eq(cs[k].ok, 1);
        long v = k ? b : a;
        ck_assert(v >= 0 && v < SS_PRODUCERS * SS_PER);
        atomic_fetch_add(&ss_seen[v], 1);
        atomic_fetch_add(&ss_got, 1);
    }
    rg_waitgroup_done(&ss_wg);
}

static void stress_main(void *arg)
{
    (void)arg;
    ss_c[0] = rg_chan_make(sizeof(long), 0);
    ss_c[1] = rg_chan_make(sizeof(long), 0);
    ss_wg = (rg_waitgroup)RG_WAITGROUP_INIT;
    rg_waitgroup_add(&ss_wg, SS_PRODUCERS + 4);
    for (int i = 0; i < 4; i++)
        rg_go(ss_consumer, NULL);
    for (int i = 0; i < SS_PRODUCERS; i++)
        rg_go(ss_producer, (void *)(intptr_t)i);
    rg_waitgroup_wait(&ss_wg);
    for (long i = 0; i < SS_PRODUCERS * SS_PER; i++)
        ck_assert_msg(atomic_load(&ss_seen[i]) == 1, "value %ld seen %d times",
                      i, atomic_load(&ss_seen[i]));
    rg_chan_free(ss_c[0]);
    rg_chan_free(ss_c[1]);
}

START_TEST(stress_timeouts)
{
    t_run(stress_main, NULL, 2);
    ck_assert_int_gt(atomic_load(&ss_timeouts), 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("select");
    TCase *tc = tcase_create("select");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, basic);
    tcase_add_test(tc, errors);
    tcase_add_test(tc, timeout);
    tcase_add_test(tc, fairness);
    tcase_add_test(tc, wakeups);
    tcase_add_test(tc, nil_channels);
    tcase_add_test(tc, self_select);
    tcase_add_test(tc, duplicates_and_large);
    tcase_add_test(tc, stress_timeouts);
    suite_add_tcase(s, tc);
    return t_main(s);
}
