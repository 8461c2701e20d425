/*
 * bench/micro.c: scheduler micro-benchmarks: switch, yield, spawn, sleep,
 * parked. Each mirrors a workload of bench/peers/go/micro (Go) or
 * bench/peers/fcontext (the context-switch floor).
 *
 * Goroutines signal completion to main through a latch built on the
 * runtime's park/ready (the same protocol the I/O wait slot uses), so the
 * measurements depend on nothing but the scheduler.
 */
#include "bench.h"
#include "../runtime/internal.h"

#include <stdlib.h>
#include <string.h>

/* ---- latch: main parks until count reaches 0 ---- */

struct latch {
    _Atomic long count;
    _Atomic int state; /* 0 none, 1 main parked, 2 released */
    struct g *waiter;
};

static bool latch_commit(struct g *gp, void *arg)
{
    struct latch *l = arg;
    int expect = 0;
    l->waiter = gp;
    return rg__cas_acqrel(&l->state, &expect, 1);
}

static void latch_wait(struct latch *l)
{
    if (rg__load_acq(&l->count) > 0)
        rg__park(latch_commit, l, "latch");
    while (rg__load_acq(&l->state) != 2)
        rg_yield();
}

static void latch_done(struct latch *l)
{
    if (rg__sub_acqrel(&l->count, 1) == 1 &&
        rg__xchg_acqrel(&l->state, 2) == 1)
        rg__ready(l->waiter, true);
}

static void latch_init(struct latch *l, long n)
{
    rg__store_rlx(&l->count, n);
    rg__store_rlx(&l->state, 0);
    l->waiter = NULL;
}

static int procs_or(struct bench_opts *o, int def)
{
    return o->procs > 0 ? o->procs : def;
}

/* ---- switch: raw mcall + gogo ---- */

static long sw_n;
static double sw_ns;

static void bounce(struct g *gp)
{
    rg__san_switch_begin(gp->m->g0, gp, 1);
    setg(gp);
    rg__gogo(&gp->sched);
}

static void switch_main(void *arg)
{
    (void)arg;
    for (int i = 0; i < 10000; i++) /* warm up */
        rg__mcallg(bounce);
    uint64_t t0 = rg_now();
    for (long i = 0; i < sw_n; i++)
        rg__mcallg(bounce);
    sw_ns = (double)(rg_now() - t0) / (2.0 * (double)sw_n);
}

int bench_switch(struct bench_opts *o)
{
    sw_n = o->n ? o->n : 10000000;
    bench_rg_run(switch_main, NULL, 1);
    bench_result("switch", 1, sw_n, sw_ns, NULL);
    return 0;
}

/* ---- yield: two goroutines alternately yield ---- */

static struct latch y_latch;
static long y_n;

static void yielder(void *arg)
{
    (void)arg;
    for (long i = 0; i < y_n / 2; i++)
        rg_yield();
    latch_done(&y_latch);
}

static double y_ns;

static void yield_main(void *arg)
{
    (void)arg;
    latch_init(&y_latch, 2);
    uint64_t t0 = rg_now();
    rg_go(yielder, NULL);
    rg_go(yielder, NULL);
    latch_wait(&y_latch);
    y_ns = (double)(rg_now() - t0) / (double)y_n;
}

int bench_yield(struct bench_opts *o)
{
    int procs = procs_or(o, 1);
    y_n = o->n ? o->n : 10000000;
    bench_rg_run(yield_main, NULL, procs);
    bench_result("yield", procs, y_n, y_ns, NULL);
    return 0;
}

/* ---- spawn: create + run + exit ---- */

static struct latch s_latch;
static long s_n;
static double s_ns;

static void spawned(void *arg)
{
    (void)arg;
    latch_done(&s_latch);
}

static void spawn_main(void *arg)
{
    (void)arg;
    latch_init(&s_latch, s_n);
    uint64_t t0 = rg_now();
    for (long i = 0; i < s_n; i++)
        if (rg_go(spawned, NULL) < 0)
            abort();
    latch_wait(&s_latch);
    s_ns = (double)(rg_now() - t0) / (double)s_n;
}

int bench_spawn(struct bench_opts *o)
{
    int procs = procs_or(o, 1);
    s_n = o->n ? o->n : 1000000;
    bench_rg_run(spawn_main, NULL, procs);
    bench_result("spawn", procs, s_n, s_ns, NULL);
    return 0;
}

/* ---- sleep: N goroutines sleep 10 ms ---- */

#define SLEEP_NS 10000000

static struct latch sl_latch;
static long sl_n;
static int64_t *sl_late;
static double sl_wall_ms, sl_spawn_ms;

static void sleeper(void *arg)
{
    long i = (long)(intptr_t)arg;
    int64_t deadline = (int64_t)rg_now() + SLEEP_NS;
    rg_sleep(SLEEP_NS);
    sl_late[i] = (int64_t)rg_now() - deadline;
    latch_done(&sl_latch);
}

static int cmp64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static void sleep_main(void *arg)
{
    (void)arg;
    latch_init(&sl_latch, sl_n);
    uint64_t t0 = rg_now();
    for (long i = 0; i < sl_n; i++)
        if (rg_go(sleeper, (void *)(intptr_t)i) < 0)
            abort();
    sl_spawn_ms = (double)(rg_now() - t0) / 1e6;
    latch_wait(&sl_latch);
    sl_wall_ms = (double)(rg_now() - t0) / 1e6;
}

int bench_sleep(struct bench_opts *o)
{
    int procs = procs_or(o, 2);
    sl_n = o->n ? o->n : 100000;
    sl_late = calloc((size_t)sl_n, sizeof(int64_t));
    bench_rg_run(sleep_main, NULL, procs);
    qsort(sl_late, (size_t)sl_n, sizeof(int64_t), cmp64);
    char extra[160];
    snprintf(extra, sizeof(extra),
             "wall_ms=%.2f spawn_ms=%.2f p50_us=%.1f p99_us=%.1f", sl_wall_ms,
             sl_spawn_ms, (double)sl_late[sl_n / 2] / 1e3,
             (double)sl_late[sl_n * 99 / 100] / 1e3);
    bench_result("sleep", procs, sl_n, sl_wall_ms * 1e6 / (double)sl_n, extra);
    free(sl_late);
    return 0;
}

/* ---- parked: N goroutines parked at once ---- */

static rg_lock pk_lock;
static struct g *pk_list;
static _Atomic long pk_parked;
static struct latch pk_latch;
static long pk_n;
static double pk_rss_per_g, pk_create_ns;

static bool pk_commit(struct g *gp, void *arg)
{
    (void)arg;
    rg__lock(&pk_lock);
    gp->schedlink = pk_list;
    pk_list = gp;
    rg__unlock(&pk_lock);
    rg__add_seq(&pk_parked, 1);
    return true;
}

static void parker(void *arg)
{
    (void)arg;
    rg__park(pk_commit, NULL, "bench parked");
    latch_done(&pk_latch);
}

static void parked_main(void *arg)
{
    (void)arg;
    latch_init(&pk_latch, pk_n);
    rg_sleep(1000000);
    long rss0 = bench_rss();
    uint64_t t0 = rg_now();
    for (long i = 0; i < pk_n; i++)
        if (rg_go(parker, NULL) < 0)
            abort();
    while (rg__load_acq(&pk_parked) < pk_n)
        rg_sleep(100000);
    pk_create_ns = (double)(rg_now() - t0) / (double)pk_n;
    rg_sleep(10000000);
    pk_rss_per_g = (double)(bench_rss() - rss0) / (double)pk_n;
    rg__lock(&pk_lock);
    struct g *gp = pk_list;
    pk_list = NULL;
    rg__unlock(&pk_lock);
    while (gp) {
        struct g *next = gp->schedlink;
        rg__ready(gp, false);
        gp = next;
    }
    latch_wait(&pk_latch);
}

int bench_parked(struct bench_opts *o)
{
    int procs = procs_or(o, 2);
    pk_n = o->n ? o->n : 100000;
    rg__store_rlx(&pk_parked, 0);
    bench_rg_run(parked_main, NULL, procs);
    char extra[96];
    snprintf(extra, sizeof(extra), "rss_per_g=%.0f create_ns=%.1f",
             pk_rss_per_g, pk_create_ns);
    bench_result("parked", procs, pk_n, pk_create_ns, extra);
    return 0;
}
