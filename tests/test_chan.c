/*
 * tests/test_chan.c: channels through the public API (in the spirit of
 * Go's chan_test.go): order through unbuffered and buffered channels,
 * close semantics, non-blocking operations, len/cap, element sizes, FIFO
 * wakeups, foreign threads, and a many-producer/many-consumer stress that
 * checks every value arrives exactly once.
 */
#include "helpers.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#define MS 1000000ull

/* ---- order through a channel ---- */

struct order_arg {
    rg_chan *c;
    long n;
    rg_waitgroup *wg;
};

static void order_producer(void *arg)
{
    struct order_arg *a = arg;
    for (long i = 0; i < a->n; i++)
        ck_assert_int_eq(rg_chan_send(a->c, &i), 0);
    ck_assert_int_eq(rg_chan_close(a->c), 0);
}

static void order_main(void *arg)
{
    size_t cap = (size_t)(intptr_t)arg;
    struct order_arg a = {rg_chan_make(sizeof(long), cap), 20000, NULL};
    ck_assert_ptr_nonnull(a.c);
    ck_assert_uint_eq(rg_chan_cap(a.c), cap);
    ck_assert_int_eq(rg_go(order_producer, &a), 0);
    long v, want = 0;
    int rc;
    while ((rc = rg_chan_recv(a.c, &v)) == 1) {
        ck_assert_int_eq(v, want);
        want++;
    }
    ck_assert_int_eq(rc, 0);
    ck_assert_int_eq(v, 0); /* zeroed on close */
    ck_assert_int_eq(want, a.n);
    rg_chan_free(a.c);
}

START_TEST(unbuffered_order)
{
    t_run(order_main, (void *)0, 1);
    t_run(order_main, (void *)0, 2);
}
END_TEST

START_TEST(buffered_order)
{
    t_run(order_main, (void *)1, 1);
    t_run(order_main, (void *)7, 2);
    t_run(order_main, (void *)1024, 2);
}
END_TEST

/* ---- len, cap, non-blocking operations on a buffered channel ---- */

static void buffered_ops_main(void *arg)
{
    (void)arg;
    rg_chan *c = rg_chan_make(sizeof(int), 4);
    ck_assert_uint_eq(rg_chan_len(c), 0);
    ck_assert_uint_eq(rg_chan_cap(c), 4);
    int v = -1;
    ck_assert_int_eq(rg_chan_tryrecv(c, &v), -EAGAIN);
    ck_assert_int_eq(v, -1); /* untouched */
    for (int i = 0; i < 4; i++) {
        ck_assert_int_eq(rg_chan_trysend(c, &i), 0);
        ck_assert_uint_eq(rg_chan_len(c), (size_t)i + 1);
    }
    int x = 99;
    ck_assert_int_eq(rg_chan_trysend(c, &x), -EAGAIN);
    ck_assert_uint_eq(rg_chan_len(c), 4);
    /* Wrap around the ring a few times. */
    for (int i = 0; i < 10; i++) {
        ck_assert_int_eq(rg_chan_tryrecv(c, &v), 1);
        ck_assert_int_eq(v, i);
        int next = i + 4;
        ck_assert_int_eq(rg_chan_trysend(c, &next), 0);
    }
    ck_assert_int_eq(rg_chan_close(c), 0);
    ck_assert_int_eq(rg_chan_trysend(c, &x), -EPIPE);
    ck_assert_int_eq(rg_chan_send(c, &x), -EPIPE);
    ck_assert_int_eq(rg_chan_close(c), -EPIPE);
    /* Buffered values survive the close, then "closed" forever. */
    for (int i = 10; i < 14; i++) {
        ck_assert_int_eq(rg_chan_recv(c, &v), 1);
        ck_assert_int_eq(v, i);
    }
    ck_assert_uint_eq(rg_chan_len(c), 0);
    v = 7;
    ck_assert_int_eq(rg_chan_recv(c, &v), 0);
    ck_assert_int_eq(v, 0);
    v = 7;
    ck_assert_int_eq(rg_chan_tryrecv(c, &v), 0);
    ck_assert_int_eq(v, 0);
    ck_assert_int_eq(rg_chan_recv(c, NULL), 0);
    rg_chan_free(c);
}

START_TEST(buffered_ops)
{
    t_run(buffered_ops_main, NULL, 1);
}
END_TEST

/* ---- non-blocking operations on an unbuffered channel ---- */

static rg_chan *nb_c;
static atomic_int nb_got;

static void nb_receiver(void *arg)
{
    (void)arg;
    int v = 0;
    ck_assert_int_eq(rg_chan_recv(nb_c, &v), 1);
    atomic_store(&nb_got, v);
}

static void nb_sender(void *arg)
{
    int v = (int)(intptr_t)arg;
    ck_assert_int_eq(rg_chan_send(nb_c, &v), 0);
}

static void unbuffered_nb_main(void *arg)
{
    (void)arg;
    nb_c = rg_chan_make(sizeof(int), 0);
    int v = 5;
    ck_assert_int_eq(rg_chan_trysend(nb_c, &v), -EAGAIN);
    ck_assert_int_eq(rg_chan_tryrecv(nb_c, &v), -EAGAIN);
    ck_assert_uint_eq(rg_chan_len(nb_c), 0);
    ck_assert_uint_eq(rg_chan_cap(nb_c), 0);

    /* One P: the receiver runs at the yield and blocks in recv. */
    atomic_store(&nb_got, 0);
    rg_go(nb_receiver, NULL);
    rg_yield();
    v = 42;
    ck_assert_int_eq(rg_chan_trysend(nb_c, &v), 0);
    rg_yield();
    ck_assert_int_eq(atomic_load(&nb_got), 42);

    rg_go(nb_sender, (void *)(intptr_t)43);
    rg_yield();
    v = 0;
    ck_assert_int_eq(rg_chan_tryrecv(nb_c, &v), 1);
    ck_assert_int_eq(v, 43);
    rg_chan_free(nb_c);
}

START_TEST(unbuffered_nonblocking)
{
    t_run(unbuffered_nb_main, NULL, 1);
}
END_TEST

/* ---- close wakes every blocked receiver and sender ---- */

static rg_chan *cl_c;
static atomic_int cl_recv0, cl_epipe;
static rg_waitgroup cl_wg;

static void cl_receiver(void *arg)
{
    (void)arg;
    long v = -1;
    if (rg_chan_recv(cl_c, &v) == 0 && v == 0)
        atomic_fetch_add(&cl_recv0, 1);
    rg_waitgroup_done(&cl_wg);
}

static void cl_sender(void *arg)
{
    (void)arg;
    long v = 1;
    if (rg_chan_send(cl_c, &v) == -EPIPE)
        atomic_fetch_add(&cl_epipe, 1);
    rg_waitgroup_done(&cl_wg);
}

static void close_wakes_main(void *arg)
{
    void (*fn)(void *) = arg;
    cl_c = rg_chan_make(sizeof(long), 0);
    atomic_store(&cl_recv0, 0);
    atomic_store(&cl_epipe, 0);
    cl_wg = (rg_waitgroup)RG_WAITGROUP_INIT;
    ck_assert_int_eq(rg_waitgroup_add(&cl_wg, 50), 0);
    for (int i = 0; i < 50; i++)
        ck_assert_int_eq(rg_go(fn, NULL), 0);
    rg_sleep(20 * MS); /* let them all block */
    ck_assert_int_eq(rg_chan_close(cl_c), 0);
    rg_waitgroup_wait(&cl_wg);
    if (fn == cl_receiver)
        ck_assert_int_eq(atomic_load(&cl_recv0), 50);
    else
        ck_assert_int_eq(atomic_load(&cl_epipe), 50);
    rg_chan_free(cl_c);
}

START_TEST(close_wakes_receivers)
{
    t_run(close_wakes_main, cl_receiver, 1);
    t_run(close_wakes_main, cl_receiver, 2);
}
END_TEST

START_TEST(close_wakes_senders)
{
    t_run(close_wakes_main, cl_sender, 2);
}
END_TEST

/* ---- blocked receivers are served first come, first served ---- */

static rg_chan *fifo_c;
static int fifo_got[8];

static void fifo_receiver(void *arg)
{
    int me = (int)(intptr_t)arg;
    ck_assert_int_eq(rg_chan_recv(fifo_c, &fifo_got[me]), 1);
}

static void fifo_main(void *arg)
{
    (void)arg;
    fifo_c = rg_chan_make(sizeof(int), 0);
    for (int i = 0; i < 8; i++) {
        rg_go(fifo_receiver, (void *)(intptr_t)i);
        rg_yield(); /* one P: receiver i blocks before i + 1 starts */
    }
    for (int i = 0; i < 8; i++)
        ck_assert_int_eq(rg_chan_send(fifo_c, &i), 0);
    rg_yield();
    for (int i = 0; i < 8; i++)
        ck_assert_int_eq(fifo_got[i], i);
    rg_chan_free(fifo_c);
}

START_TEST(fifo_receivers)
{
    t_run(fifo_main, NULL, 1);
}
END_TEST

/* ---- element sizes: 0, odd, large; NULL elem ---- */

struct big {
    char bytes[333];
};

static void big_sender(void *arg)
{
    rg_chan *c = arg;
    struct big b;
    for (int i = 0; i < 100; i++) {
        memset(b.bytes, i, sizeof(b.bytes));
        ck_assert_int_eq(rg_chan_send(c, &b), 0);
    }
    rg_chan_close(c);
}

static void zero_sender(void *arg)
{
    rg_chan *c = arg;
    for (int i = 0; i < 10; i++)
        ck_assert_int_eq(rg_chan_send(c, NULL), 0);
    rg_chan_close(c);
}

static void elem_sizes_main(void *arg)
{
    (void)arg;
    for (size_t cap = 0; cap < 3; cap += 2) {
        rg_chan *c = rg_chan_make(sizeof(struct big), cap);
        rg_go(big_sender, c);
        struct big b;
        for (int i = 0; i < 100; i++) {
            ck_assert_int_eq(rg_chan_recv(c, &b), 1);
            for (size_t k = 0; k < sizeof(b.bytes); k++)
                ck_assert_int_eq(b.bytes[k], (char)i);
        }
        ck_assert_int_eq(rg_chan_recv(c, &b), 0);
        rg_chan_free(c);

        rg_chan *z = rg_chan_make(0, cap);
        ck_assert_ptr_nonnull(z);
        rg_go(zero_sender, z);
        int n = 0;
        while (rg_chan_recv(z, NULL) == 1)
            n++;
        ck_assert_int_eq(n, 10);
        rg_chan_free(z);
    }
    rg_chan *c = rg_chan_make(sizeof(int), 1);
    ck_assert_int_eq(rg_chan_send(c, NULL), -EINVAL);
    ck_assert_int_eq(rg_chan_trysend(c, NULL), -EINVAL);
    int v = 3;
    ck_assert_int_eq(rg_chan_send(c, &v), 0);
    ck_assert_int_eq(rg_chan_recv(c, NULL), 1); /* discarded */
    ck_assert_uint_eq(rg_chan_len(c), 0);
    rg_chan_free(c);
}

START_TEST(elem_sizes)
{
    t_run(elem_sizes_main, NULL, 2);
}
END_TEST

/* ---- errors, nil channels, calls from outside the runtime ---- */

static void nil_sender(void *arg)
{
    (void)arg;
    int v = 1;
    rg_chan_send(NULL, &v);
    ck_abort_msg("send on a nil channel returned");
}

static void nil_main(void *arg)
{
    (void)arg;
    int v = 1;
    ck_assert_int_eq(rg_chan_trysend(NULL, &v), -EAGAIN);
    ck_assert_int_eq(rg_chan_tryrecv(NULL, &v), -EAGAIN);
    ck_assert_int_eq(rg_chan_close(NULL), -EINVAL);
    ck_assert_uint_eq(rg_chan_len(NULL), 0);
    ck_assert_uint_eq(rg_chan_cap(NULL), 0);
    rg_chan_free(NULL);
    /* Blocked forever; main returning ends the run anyway. */
    rg_go(nil_sender, NULL);
    rg_sleep(5 * MS);
}

START_TEST(nil_and_errors)
{
    ck_assert_ptr_null(rg_chan_make(SIZE_MAX / 2, 3));
    rg_chan *c = rg_chan_make(sizeof(int), 2);
    int v = 1;
    /* Outside the runtime: blocking calls refuse, the others work. */
    ck_assert_int_eq(rg_chan_send(c, &v), -EPERM);
    ck_assert_int_eq(rg_chan_recv(c, &v), -EPERM);
    ck_assert_int_eq(rg_chan_trysend(c, &v), 0);
    v = 0;
    ck_assert_int_eq(rg_chan_tryrecv(c, &v), 1);
    ck_assert_int_eq(v, 1);
    rg_chan_free(c);
    t_run(nil_main, NULL, 2);
    ck_assert_int_eq(rg_chan_send(NULL, &v), -EPERM);
}
END_TEST

/* ---- a channel used again by a later run ---- */

static rg_chan *again_c;

static void again_blocked(void *arg)
{
    (void)arg;
    int v;
    rg_chan_recv(again_c, &v); /* still blocked when main returns */
}

/* Leave three receivers blocked on again_c when main returns; with a
   buffer, first send one value (the first receiver takes it). */
static void again_first(void *arg)
{
    int v = 1;
    if (arg)
        ck_assert_int_eq(rg_chan_send(again_c, &v), 0);
    for (int i = 0; i < 3; i++) {
        rg_go(again_blocked, NULL);
        rg_yield();
    }
}

/* The receivers the first run left are gone: nothing may be handed to
   them, and a new receiver works. */
static void again_second(void *arg)
{
    (void)arg;
    int v = 2;
    ck_assert_int_eq(rg_chan_trysend(again_c, &v), -EAGAIN);
    nb_c = again_c;
    rg_go(nb_receiver, NULL);
    rg_yield();
    v = 3;
    ck_assert_int_eq(rg_chan_send(again_c, &v), 0);
    rg_yield();
    ck_assert_int_eq(atomic_load(&nb_got), 3);
}

START_TEST(reuse_across_runs)
{
    again_c = rg_chan_make(sizeof(int), 0);
    t_run(again_first, NULL, 1);
    /* Outside any run, the stale receivers are not seen either. */
    int v = 5;
    ck_assert_int_eq(rg_chan_trysend(again_c, &v), -EAGAIN);
    atomic_store(&nb_got, 0);
    t_run(again_second, NULL, 1);
    rg_chan_free(again_c);

    /* A buffered channel keeps its values across runs. */
    again_c = rg_chan_make(sizeof(int), 2);
    t_run(again_first, (void *)1, 2);
    ck_assert_uint_eq(rg_chan_len(again_c), 0); /* a receiver took it */
    ck_assert_int_eq(rg_chan_trysend(again_c, &v), 0);
    t_run(again_first, NULL, 1); /* a receiver takes 5, two block */
    ck_assert_int_eq(rg_chan_trysend(again_c, &v), 0);
    ck_assert_int_eq(rg_chan_trysend(again_c, &v), 0);
    ck_assert_int_eq(rg_chan_trysend(again_c, &v), -EAGAIN);
    ck_assert_uint_eq(rg_chan_len(again_c), 2);
    ck_assert_int_eq(rg_chan_tryrecv(again_c, &v), 1);
    ck_assert_int_eq(v, 5);
    rg_chan_free(again_c);
}
END_TEST

/* ---- a thread outside the runtime feeds a blocked goroutine ---- */

static void *foreign_feeder(void *arg)
{
    rg_chan *c = arg;
    for (int i = 0; i < 1000; i++) {
        while (rg_chan_trysend(c, &i) == -EAGAIN)
            usleep(10);
    }
    while (rg_chan_close(c) != 0)
        usleep(10);
    return NULL;
}

static void foreign_main(void *arg)
{
    rg_chan *c = arg;
    pthread_t th;
    ck_assert_int_eq(pthread_create(&th, NULL, foreign_feeder, c), 0);
    /* The deadlock detector cannot see the feeder: keep a sleeper
       around so that a blocked main is never reported. */
    int v, want = 0;
    struct rg_case cs = {c, RG_RECV, &v, 0};
    for (;;) {
        int rc = rg_select(&cs, 1, 50 * MS);
        if (rc == -ETIMEDOUT)
            continue;
        ck_assert_int_eq(rc, 0);
        if (!cs.ok)
            break;
        ck_assert_int_eq(v, want);
        want++;
    }
    ck_assert_int_eq(want, 1000);
    pthread_join(th, NULL);
}

START_TEST(foreign_thread)
{
    rg_chan *c = rg_chan_make(sizeof(int), 0);
    t_run(foreign_main, c, 2);
    rg_chan_free(c);
    c = rg_chan_make(sizeof(int), 3);
    t_run(foreign_main, c, 1);
    rg_chan_free(c);
}
END_TEST

/* ---- stress: P producers, C consumers, each value exactly once ---- */

#define ST_PRODUCERS 8
#define ST_CONSUMERS 8
#define ST_PER 20000

static rg_chan *st_c;
static _Atomic unsigned char st_seen[ST_PRODUCERS * ST_PER];
static rg_waitgroup st_prod, st_cons;
static atomic_long st_total;

static void st_producer(void *arg)
{
    long base = (long)(intptr_t)arg * ST_PER;
    for (long i = 0; i < ST_PER; i++) {
        long v = base + i;
        ck_assert_int_eq(rg_chan_send(st_c, &v), 0);
        if ((i & 255) == 0)
            rg_yield();
    }
    rg_waitgroup_done(&st_prod);
}

static void st_consumer(void *arg)
{
    (void)arg;
    long v, n = 0;
    while (rg_chan_recv(st_c, &v) == 1) {
        ck_assert(v >= 0 && v < ST_PRODUCERS * ST_PER);
        atomic_fetch_add(&st_seen[v], 1);
        n++;
    }
    atomic_fetch_add(&st_total, n);
    rg_waitgroup_done(&st_cons);
}

static void stress_main(void *arg)
{
    st_c = rg_chan_make(sizeof(long), (size_t)(intptr_t)arg);
    memset((void *)st_seen, 0, sizeof(st_seen));
    atomic_store(&st_total, 0);
    st_prod = (rg_waitgroup)RG_WAITGROUP_INIT;
    st_cons = (rg_waitgroup)RG_WAITGROUP_INIT;
    rg_waitgroup_add(&st_prod, ST_PRODUCERS);
    rg_waitgroup_add(&st_cons, ST_CONSUMERS);
    for (int i = 0; i < ST_CONSUMERS; i++)
        rg_go(st_consumer, NULL);
    for (int i = 0; i < ST_PRODUCERS; i++)
        rg_go(st_producer, (void *)(intptr_t)i);
    rg_waitgroup_wait(&st_prod);
    rg_chan_close(st_c);
    rg_waitgroup_wait(&st_cons);
    ck_assert_int_eq(atomic_load(&st_total), ST_PRODUCERS * ST_PER);
    for (long i = 0; i < ST_PRODUCERS * ST_PER; i++)
        ck_assert_msg(atomic_load(&st_seen[i]) == 1, "value %ld seen %d times",
                      i, atomic_load(&st_seen[i]));
    rg_chan_free(st_c);
}

START_TEST(stress_unbuffered)
{
    t_run(stress_main, (void *)0, 2);
}
END_TEST

START_TEST(stress_buffered)
{
    t_run(stress_main, (void *)1, 2);
    t_run(stress_main, (void *)64, 2);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("chan");
    TCase *tc = tcase_create("chan");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, unbuffered_order);
    tcase_add_test(tc, buffered_order);
    tcase_add_test(tc, buffered_ops);
    tcase_add_test(tc, unbuffered_nonblocking);
    tcase_add_test(tc, close_wakes_receivers);
    tcase_add_test(tc, close_wakes_senders);
    tcase_add_test(tc, fifo_receivers);
    tcase_add_test(tc, elem_sizes);
    tcase_add_test(tc, nil_and_errors);
    tcase_add_test(tc, reuse_across_runs);
    tcase_add_test(tc, foreign_thread);
    tcase_add_test(tc, stress_unbuffered);
    tcase_add_test(tc, stress_buffered);
    suite_add_tcase(s, tc);
    return t_main(s);
}
