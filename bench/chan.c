/*
 * bench/chan.c: channel and mutex micro-benchmarks: pingpong, bufchan,
 * select4, mutex. Each is the workload of the same name in
 * bench/peers/go/micro (same default n, same result line), written with
 * the public API only.
 */
#include "bench.h"

#include <stdlib.h>
#include <string.h>

static int procs_or(struct bench_opts *o, int def)
{
    return o->procs > 0 ? o->procs : def;
}

static void die(const char *what)
{
    fprintf(stderr, "ringo-bench: %s\n", what);
    exit(1);
}

/* ---- pingpong: unbuffered round trips between two goroutines ---- */

static rg_chan *pp_ping, *pp_pong;
static long pp_n;
static double pp_ns;

static void ponger(void *arg)
{
    (void)arg;
    long v;
    while (rg_chan_recv(pp_ping, &v) == 1)
        rg_chan_send(pp_pong, &v);
}

static void pingpong_main(void *arg)
{
    (void)arg;
    pp_ping = rg_chan_make(sizeof(long), 0);
    pp_pong = rg_chan_make(sizeof(long), 0);
    if (!pp_ping || !pp_pong || rg_go(ponger, NULL) < 0)
        die("pingpong: setup failed");
    uint64_t t0 = rg_now();
    for (long i = 0; i < pp_n; i++) {
        long v = i;
        rg_chan_send(pp_ping, &v);
        if (rg_chan_recv(pp_pong, &v) != 1 || v != i)
            die("pingpong: wrong value");
    }
    pp_ns = (double)(rg_now() - t0) / (double)pp_n;
    rg_chan_close(pp_ping);
}

int bench_pingpong(struct bench_opts *o)
{
    int procs = procs_or(o, 1);
    pp_n = o->n ? o->n : 1000000;
    bench_rg_run(pingpong_main, NULL, procs);
    rg_chan_free(pp_ping);
    rg_chan_free(pp_pong);
    bench_result("pingpong", procs, pp_n, pp_ns, NULL);
    return 0;
}

/* ---- bufchan: cap 1024, one producer, one consumer ---- */

static rg_chan *bc_c;
static long bc_n;
static double bc_ns;

static void bc_producer(void *arg)
{
    (void)arg;
    for (long i = 0; i < bc_n; i++)
        rg_chan_send(bc_c, &i);
    rg_chan_close(bc_c);
}

static void bufchan_main(void *arg)
{
    (void)arg;
    bc_c = rg_chan_make(sizeof(long), 1024);
    uint64_t t0 = rg_now();
    if (!bc_c || rg_go(bc_producer, NULL) < 0)
        die("bufchan: setup failed");
    long v, got = 0;
    while (rg_chan_recv(bc_c, &v) == 1)
        got++;
    bc_ns = (double)(rg_now() - t0) / (double)bc_n;
    if (got != bc_n)
        die("bufchan: lost values");
}

int bench_bufchan(struct bench_opts *o)
{
    int procs = procs_or(o, 1);
    bc_n = o->n ? o->n : 10000000;
    bench_rg_run(bufchan_main, NULL, procs);
    rg_chan_free(bc_c);
    bench_result("bufchan", procs, bc_n, bc_ns, NULL);
    return 0;
}

/* ---- select4: 4 producers, one consumer selecting over 4 receives ---- */

static rg_chan *s4_c[4];
static long s4_per;
static double s4_ns;

static void s4_producer(void *arg)
{
    rg_chan *c = arg;
    for (long i = 0; i < s4_per; i++)
        rg_chan_send(c, &i);
}

static void select4_main(void *arg)
{
    (void)arg;
    long n = s4_per * 4, v[4];
    struct rg_case cs[4];
    for (int k = 0; k < 4; k++) {
        s4_c[k] = rg_chan_make(sizeof(long), 0);
        if (!s4_c[k])
            die("select4: setup failed");
        cs[k] = (struct rg_case){s4_c[k], RG_RECV, &v[k], 0};
    }
    uint64_t t0 = rg_now();
    for (int k = 0; k < 4; k++)
        if (rg_go(s4_producer, s4_c[k]) < 0)
            die("select4: rg_go failed");
    for (long got = 0; got < n; got++)
        if (rg_select(cs, 4, -1) < 0)
            die("select4: select failed");
    s4_ns = (double)(rg_now() - t0) / (double)n;
}

int bench_select4(struct bench_opts *o)
{
    int procs = procs_or(o, 1);
    long n = o->n ? o->n : 2000000;
    s4_per = n / 4;
    if (s4_per <= 0)
        die("select4: n rounds down to 0");
    bench_rg_run(select4_main, NULL, procs);
    for (int k = 0; k < 4; k++)
        rg_chan_free(s4_c[k]);
    bench_result("select4", procs, s4_per * 4, s4_ns, NULL);
    return 0;
}

/* ---- mutex: g goroutines share n increments under one rg_mutex ---- */

static rg_mutex mx_mu = RG_MUTEX_INIT;
static long mx_counter, mx_per;
static rg_waitgroup mx_wg = RG_WAITGROUP_INIT;
static double mx_ns;
static int mx_g;

static void mx_worker(void *arg)
{
    (void)arg;
    for (long i = 0; i < mx_per; i++) {
        rg_mutex_lock(&mx_mu);
        mx_counter++;
        rg_mutex_unlock(&mx_mu);
    }
    rg_waitgroup_done(&mx_wg);
}

static void mutex_main(void *arg)
{
    (void)arg;
    rg_waitgroup_add(&mx_wg, mx_g);
    uint64_t t0 = rg_now();
    for (int k = 0; k < mx_g; k++)
        if (rg_go(mx_worker, NULL) < 0)
            die("mutex: rg_go failed");
    rg_waitgroup_wait(&mx_wg);
    mx_ns = (double)(rg_now() - t0) / (double)(mx_per * mx_g);
}

int bench_mutex(struct bench_opts *o)
{
    int procs = procs_or(o, 2);
    long n = o->n ? o->n : 10000000;
    mx_g = 4;
    for (int i = 1; i + 1 < o->argc; i++)
        if (!strcmp(o->argv[i], "--g") || !strcmp(o->argv[i], "-g"))
            mx_g = atoi(o->argv[i + 1]);
    if (mx_g < 1)
        die("mutex: -g must be >= 1");
    mx_per = n / mx_g;
    if (mx_per <= 0)
        die("mutex: n rounds down to 0");
    bench_rg_run(mutex_main, NULL, procs);
    if (mx_counter != mx_per * mx_g)
        die("mutex: lost increments");
    bench_result("mutex", procs, mx_per * mx_g, mx_ns, NULL);
    return 0;
}
