/*
 * bench/soak.c: a long mixed load in one process, watched for growth.
 *
 *   ringo-bench soak [--seconds S] [--procs P] [--clients C]
 *                    [--sleepers N] [--workers W] [--check]
 *
 * Everything runs inside one rg_run, on 127.0.0.1 free ports:
 *  - an echo server and a minimal HTTP/1.1 server (keep-alive, pipelining,
 *    a fixed "ok" answer), one goroutine per connection;
 *  - C clients (16) churning connections: dial the echo or the HTTP
 *    server in turn, 1 to 20 round trips checked byte for byte (HTTP:
 *    one request in four pipelined three deep), close (every eighth with
 *    a reset);
 *  - N sleepers (64): random sleeps of 0-2 ms, and selects that time out
 *    on a channel nobody sends on;
 *  - a worker pool: a producer sends jobs on a job channel, W workers (4)
 *    compute and send them on a result channel, a collector checks them;
 *  - a spawner: batches of SPAWN_BATCH short-lived goroutines, each
 *    reporting on a fresh unbuffered channel that is freed after the
 *    batch.
 * Once a second it prints
 *
 *   soak: t=<s> rss_kb= goroutines= req_s= errors= jobs_s= spawned_s=
 *         timers_s= stack_kb=<resident>/<mapped>
 *
 * and at the end the usual result line (n = round trips) and the verdict
 *
 *   soak: rss_start=<kB> rss_end=<kB> rss_max=<kB> goroutines_start=
 *         goroutines_end= goroutines_before= goroutines_after=
 *         sockets_after= errors= flat=yes|no
 *
 * errors counts failed dials, failed or wrong round trips, wrong results
 * and timers that fired wrongly. With --check the exit status is 1 unless
 * flat=yes, errors=0, and every goroutine and socket of the load is gone
 * once it has stopped.
 *
 * Flatness
 * ========
 * RSS and the live goroutine count are sampled every SAMPLE_NS. The first
 * 20% of the run is warm-up (the allocator's arenas, the stack cache and
 * the fd tables fill). "start" is the mean over the window from 20% to 40%
 * of the run, "end" the mean over the last 20%; the run is flat when
 *
 *   rss_end <= rss_start * (1 + FLAT_PCT%) + FLAT_RSS_KB, and
 *   goroutines_end <= goroutines_start * (1 + FLAT_PCT%) + FLAT_G.
 *
 * The absolute margins cover what comes and goes by construction (a
 * spawn batch, connections being closed and accepted); a leak of anything
 * per connection, request, job, timer or goroutine grows far past them
 * over a run of a few seconds at these rates.
 *
 * Under AddressSanitizer, freed blocks wait in a quarantine (256 MiB by
 * default) before their memory is reused, so RSS climbs by a few hundred
 * KiB a second whatever the program does: a 5 s run stays within the
 * margins, a long one does not. Judge long soaks in a build without
 * sanitizers, or with ASAN_OPTIONS=quarantine_size_mb=0:
 * thread_local_quarantine_size_kb=0 (RSS is then flat under ASan too).
 */
#include "bench.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define SAMPLE_NS 100000000ull /* 100 ms */
#define IO_NS 10000000000ull   /* a connection's deadline: 10 s */
#define DIAL_NS 5000000000ull
#define SPAWN_BATCH 32
#define JOB_BURST 64 /* jobs between the producer's 1 ms pauses */
#define FLAT_PCT 10
#define FLAT_RSS_KB 4096
#define FLAT_G (SPAWN_BATCH + 16)
#define MAX_SAMPLES 100000

static const char http_req[] = "GET /soak HTTP/1.1\r\nHost: soak\r\n\r\n";
static const char http_resp[] =
    "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";

struct job {
    uint64_t x, y;
};

static struct {
    /* options */
    double secs;
    int clients, sleepers, workers;
    int procs; /* rg_procs() of the run */
    bool check;
    /* servers */
    int echo_lfd, http_lfd, echo_port, http_port;
    /* state */
    int stop;                /* set once by main; read relaxed */
    rg_waitgroup all;        /* every goroutine of the load */
    rg_waitgroup clients_wg; /* the clients alone */
    rg_chan *jobs, *results, *never;
    int live_workers;
    /* counters, relaxed atomics: read by the monitor as they go */
    uint64_t reqs, errors, jobs_done, spawned, timers;
    /* samples */
    long *rss_kb, *gs;
    double *at; /* seconds since the start */
    int nsamples;
    /* results */
    long g_before, g_after, sockets_before, sockets_after;
    uint64_t elapsed_ns;
} soak;

/* ---- helpers ---- */

static bool stopping(void)
{
    return __atomic_load_n(&soak.stop, __ATOMIC_RELAXED);
}

static void count(uint64_t *c, uint64_t n)
{
    __atomic_fetch_add(c, n, __ATOMIC_RELAXED);
}

static uint64_t rnd_next(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static uint64_t rnd_seed(void)
{
    return (rg_id() + 1) * 0x9e3779b97f4a7c15ull;
}

/* Go as part of the load (counted on soak.all). */
static void go(void (*fn)(void *), void *arg)
{
    rg_waitgroup_add(&soak.all, 1);
    if (rg_go(fn, arg) < 0) {
        rg_waitgroup_done(&soak.all);
        count(&soak.errors, 1);
    }
}

/* Sockets open in this process (entries of /proc/self/fd). */
static long count_sockets(void)
{
    DIR *d = opendir("/proc/self/fd");
    long n = 0;
    struct dirent *e;
    char link[64];
    if (!d)
        return -1;
    while ((e = readdir(d))) {
        ssize_t k = readlinkat(dirfd(d), e->d_name, link, sizeof(link) - 1);
        if (k > 0) {
            link[k] = '\0';
            n += !strncmp(link, "socket:", 7);
        }
    }
    closedir(d);
    return n;
}

static long goroutines(void)
{
    struct rg_stats st;
    return rg_stats(&st) == 0 ? (long)st.goroutines : -1;
}

/* ---- servers ---- */

static void echo_conn(void *arg)
{
    int fd = (int)(intptr_t)arg;
    char buf[4096];
    rg_set_deadline(fd, RG_READ | RG_WRITE, rg_now() + IO_NS);
    for (;;) {
        ssize_t n = rg_read(fd, buf, sizeof(buf));
        if (n <= 0 || rg_write_all(fd, buf, (size_t)n) < 0)
            break;
    }
    rg_close(fd);
    rg_waitgroup_done(&soak.all);
}

/* Answer each complete request head in buf; keep the incomplete tail. */
static void http_conn(void *arg)
{
    int fd = (int)(intptr_t)arg;
    char buf[4096], out[4 * sizeof(http_resp)];
    size_t len = 0;
    rg_set_deadline(fd, RG_READ | RG_WRITE, rg_now() + IO_NS);
    for (;;) {
        ssize_t n = rg_read(fd, buf + len, sizeof(buf) - len);
        if (n <= 0)
            break;
        len += (size_t)n;
        size_t off = 0, olen = 0;
        const char *e;
        while ((e = memmem(buf + off, len - off, "\r\n\r\n", 4))) {
            if (olen + sizeof(http_resp) - 1 > sizeof(out)) {
                if (rg_write_all(fd, out, olen) < 0)
                    goto out;
                olen = 0;
            }
            memcpy(out + olen, http_resp, sizeof(http_resp) - 1);
            olen += sizeof(http_resp) - 1;
            off = (size_t)(e - buf) + 4;
        }
        if (olen && rg_write_all(fd, out, olen) < 0)
            break;
        memmove(buf, buf + off, len - off);
        len -= off;
        if (len == sizeof(buf))
            break; /* no head is this long: not our client */
    }
out:
    rg_close(fd);
    rg_waitgroup_done(&soak.all);
}

struct server {
    int *lfd;
    void (*conn)(void *);
};

static void acceptor(void *arg)
{
    struct server *s = arg;
    for (;;) {
        int fd = rg_accept(*s->lfd, NULL, NULL, SOCK_CLOEXEC);
        if (fd == -ECANCELED || fd == -EBADF)
            break; /* closed by main at the end */
        if (fd < 0) {
            count(&soak.errors, 1);
            rg_sleep(1000000);
            continue;
        }
        go(s->conn, (void *)(intptr_t)fd);
    }
    rg_waitgroup_done(&soak.all);
}

static int listen_any(int *port)
{
    int lfd = rg_listen_tcp("127.0.0.1", 0, 1024, 0);
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    if (lfd < 0 || getsockname(lfd, (struct sockaddr *)&ss, &sl) < 0)
        return -1;
    *port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
    return lfd;
}

/* ---- clients ---- */

/* One echo round trip of 1 to 512 patterned bytes. */
static bool echo_rt(int fd, uint64_t *rs)
{
    unsigned char out[512], in[512];
    size_t n = 1 + rnd_next(rs) % sizeof(out);
    unsigned char b = (unsigned char)rnd_next(rs);
    for (size_t i = 0; i < n; i++)
        out[i] = (unsigned char)(b + i);
    if (rg_write_all(fd, out, n) != (ssize_t)n)
        return false;
    for (size_t got = 0; got < n;) {
        ssize_t k = rg_read(fd, in + got, n - got);
        if (k <= 0)
            return false;
        got += (size_t)k;
    }
    return !memcmp(in, out, n);
}

/* One HTTP round trip of 1 or 3 pipelined requests; returns how many
   were answered correctly (0 on any failure). */
static int http_rt(int fd, uint64_t *rs)
{
    char out[3 * sizeof(http_req)], in[3 * sizeof(http_resp)];
    int n = rnd_next(rs) % 4 == 0 ? 3 : 1;
    size_t ql = sizeof(http_req) - 1, rl = sizeof(http_resp) - 1;
    for (int i = 0; i < n; i++)
        memcpy(out + (size_t)i * ql, http_req, ql);
    if (rg_write_all(fd, out, (size_t)n * ql) != (ssize_t)((size_t)n * ql))
        return 0;
    size_t want = (size_t)n * rl;
    for (size_t got = 0; got < want;) {
        ssize_t k = rg_read(fd, in + got, want - got);
        if (k <= 0)
            return 0;
        got += (size_t)k;
    }
    for (int i = 0; i < n; i++)
        if (memcmp(in + (size_t)i * rl, http_resp, rl))
            return 0;
    return n;
}

static void client(void *arg)
{
    (void)arg;
    uint64_t rs = rnd_seed();
    for (unsigned i = 0; !stopping(); i++) {
        bool http = i & 1;
        int fd = rg_dial_tcp("127.0.0.1",
                             http ? soak.http_port : soak.echo_port, DIAL_NS);
        if (fd < 0) {
            count(&soak.errors, 1);
            rg_sleep(1000000);
            continue;
        }
        rg_set_deadline(fd, RG_READ | RG_WRITE, rg_now() + IO_NS);
        int trips = 1 + (int)(rnd_next(&rs) % 20);
        for (int t = 0; t < trips; t++) {
            int ok = http ? http_rt(fd, &rs) : echo_rt(fd, &rs);
            if (!ok) {
                count(&soak.errors, 1);
                break;
            }
            count(&soak.reqs, (uint64_t)ok);
        }
        if (i % 8 == 7) {
            struct linger l = {1, 0}; /* end with a reset */
            setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
        }
        rg_close(fd);
    }
    rg_waitgroup_done(&soak.clients_wg);
    rg_waitgroup_done(&soak.all);
}

/* ---- timers ---- */

static void sleeper(void *arg)
{
    (void)arg;
    uint64_t rs = rnd_seed();
    while (!stopping()) {
        uint64_t ns = rnd_next(&rs) % 2000000;
        if (rnd_next(&rs) & 1) {
            uint64_t t0 = rg_now();
            if (rg_sleep(ns) < 0 || rg_now() - t0 < ns)
                count(&soak.errors, 1); /* woke early */
        } else {
            struct rg_case c = {soak.never, RG_RECV, NULL, 0};
            if (rg_select(&c, 1, (int64_t)ns + 1) != -ETIMEDOUT)
                count(&soak.errors, 1);
        }
        count(&soak.timers, 1);
    }
    rg_waitgroup_done(&soak.all);
}

/* ---- worker pool ---- */

static uint64_t work(uint64_t x)
{
    for (int i = 0; i < 16; i++)
        x = x * 6364136223846793005ull + 1442695040888963407ull;
    return x;
}

static void producer(void *arg)
{
    (void)arg;
    uint64_t rs = rnd_seed();
    while (!stopping()) {
        for (int i = 0; i < JOB_BURST; i++) {
            struct job j = {rnd_next(&rs), 0};
            if (rg_chan_send(soak.jobs, &j) < 0)
                count(&soak.errors, 1);
        }
        rg_sleep(1000000);
    }
    rg_chan_close(soak.jobs);
    rg_waitgroup_done(&soak.all);
}

static void worker(void *arg)
{
    (void)arg;
    struct job j;
    while (rg_chan_recv(soak.jobs, &j) == 1) {
        j.y = work(j.x);
        if ((j.x & 15) == 0)
            rg_yield();
        if (rg_chan_send(soak.results, &j) < 0)
            count(&soak.errors, 1);
    }
    /* The last worker out closes the results: pairs with the collector's
       receive of "closed". */
    if (__atomic_sub_fetch(&soak.live_workers, 1, __ATOMIC_ACQ_REL) == 0)
        rg_chan_close(soak.results);
    rg_waitgroup_done(&soak.all);
}

static void collector(void *arg)
{
    (void)arg;
    struct job j;
    while (rg_chan_recv(soak.results, &j) == 1) {
        if (j.y != work(j.x))
            count(&soak.errors, 1);
        count(&soak.jobs_done, 1);
    }
    rg_waitgroup_done(&soak.all);
}

/* ---- spawner ---- */

static void spawned(void *arg)
{
    rg_chan *ch = arg;
    int one = 1;
    if (rg_id() % 4 == 0)
        rg_sleep(100000);
    rg_chan_send(ch, &one);
}

static void spawner(void *arg)
{
    (void)arg;
    while (!stopping()) {
        rg_chan *ch = rg_chan_make(sizeof(int), 0);
        int started = 0, sum = 0, v;
        for (int i = 0; ch && i < SPAWN_BATCH; i++)
            started += rg_go(spawned, ch) == 0;
        for (int i = 0; i < started; i++)
            if (rg_chan_recv(ch, &v) == 1)
                sum += v;
        if (!ch || started != SPAWN_BATCH || sum != SPAWN_BATCH)
            count(&soak.errors, 1);
        rg_chan_free(ch);
        count(&soak.spawned, (uint64_t)started);
        rg_sleep(500000);
    }
    rg_waitgroup_done(&soak.all);
}

/* ---- the monitor (main) ---- */

static void sample(uint64_t t0)
{
    if (soak.nsamples == MAX_SAMPLES)
        return;
    int i = soak.nsamples++;
    soak.at[i] = (double)(rg_now() - t0) / 1e9;
    soak.rss_kb[i] = bench_rss() / 1024;
    soak.gs[i] = goroutines();
}

/* Print one progress line from the counters' change since *last. */
static void report(double t, uint64_t last[4])
{
    uint64_t now[4] = {
        __atomic_load_n(&soak.reqs, __ATOMIC_RELAXED),
        __atomic_load_n(&soak.jobs_done, __ATOMIC_RELAXED),
        __atomic_load_n(&soak.spawned, __ATOMIC_RELAXED),
        __atomic_load_n(&soak.timers, __ATOMIC_RELAXED),
    };
    int i = soak.nsamples - 1;
    struct rg_stats st = {0};
    rg_stats(&st);
    printf("soak: t=%.0f rss_kb=%ld goroutines=%ld req_s=%lu errors=%lu "
           "jobs_s=%lu spawned_s=%lu timers_s=%lu stack_kb=%lu/%lu\n",
           t, soak.rss_kb[i], soak.gs[i], (unsigned long)(now[0] - last[0]),
           (unsigned long)__atomic_load_n(&soak.errors, __ATOMIC_RELAXED),
           (unsigned long)(now[1] - last[1]), (unsigned long)(now[2] - last[2]),
           (unsigned long)(now[3] - last[3]),
           (unsigned long)(st.stack_resident >> 10),
           (unsigned long)(st.stack_mapped >> 10));
    fflush(stdout);
    memcpy(last, now, sizeof(now));
}

static void start_load(void)
{
    static struct server echo_srv = {&soak.echo_lfd, echo_conn};
    static struct server http_srv = {&soak.http_lfd, http_conn};
    go(acceptor, &echo_srv);
    go(acceptor, &http_srv);
    soak.live_workers = soak.workers;
    for (int i = 0; i < soak.workers; i++)
        go(worker, NULL);
    go(producer, NULL);
    go(collector, NULL);
    go(spawner, NULL);
    for (int i = 0; i < soak.sleepers; i++)
        go(sleeper, NULL);
    for (int i = 0; i < soak.clients; i++) {
        rg_waitgroup_add(&soak.clients_wg, 1);
        go(client, NULL);
    }
}

/* Stop: clients first (so no dial meets a closed listener), then the
   listeners (which ends the acceptors), then wait for everything. */
static void stop_load(void)
{
    __atomic_store_n(&soak.stop, 1, __ATOMIC_RELAXED);
    rg_waitgroup_wait(&soak.clients_wg);
    rg_close(soak.echo_lfd);
    rg_close(soak.http_lfd);
    rg_waitgroup_wait(&soak.all);
}

static void soak_main(void *arg)
{
    (void)arg;
    soak.procs = rg_procs();
    soak.g_before = goroutines();
    soak.sockets_before = count_sockets();
    soak.echo_lfd = listen_any(&soak.echo_port);
    soak.http_lfd = listen_any(&soak.http_port);
    if (soak.echo_lfd < 0 || soak.http_lfd < 0) {
        fprintf(stderr, "ringo-bench: soak: listen failed\n");
        exit(1);
    }
    start_load();
    uint64_t t0 = rg_now(), end = t0 + (uint64_t)(soak.secs * 1e9);
    uint64_t next_report = t0 + 1000000000ull, last[4] = {0};
    for (uint64_t t = t0 + SAMPLE_NS; t <= end; t += SAMPLE_NS) {
        uint64_t now = rg_now();
        if (t > now)
            rg_sleep(t - now);
        sample(t0);
        if (t >= next_report) {
            report((double)(t - t0) / 1e9, last);
            next_report += 1000000000ull;
        }
    }
    soak.elapsed_ns = rg_now() - t0;
    stop_load();
    /* A goroutine's last rg_waitgroup_done (or channel send) comes just
       before it exits: give the last ones a moment to be gone. */
    for (int i = 0; i < 1000 && goroutines() > soak.g_before; i++)
        rg_sleep(1000000);
    soak.g_after = goroutines();
    soak.sockets_after = count_sockets();
}

/* ---- options and verdict ---- */

static const char *opt(struct bench_opts *o, const char *name)
{
    for (int i = 1; i + 1 < o->argc; i++)
        if (!strcmp(o->argv[i], name))
            return o->argv[i + 1];
    return NULL;
}

static bool has_flag(struct bench_opts *o, const char *name)
{
    for (int i = 1; i < o->argc; i++)
        if (!strcmp(o->argv[i], name))
            return true;
    return false;
}

static int opt_int(struct bench_opts *o, const char *name, int def)
{
    const char *v = opt(o, name);
    return v ? atoi(v) : def;
}

/* Mean of v over the samples taken in (lo, hi] seconds. */
static double window_mean(const long *v, double lo, double hi)
{
    double sum = 0;
    int n = 0;
    for (int i = 0; i < soak.nsamples; i++)
        if (soak.at[i] > lo && soak.at[i] <= hi + 1e-6) {
            sum += (double)v[i];
            n++;
        }
    return n ? sum / n : 0;
}

static long series_max(const long *v)
{
    long m = 0;
    for (int i = 0; i < soak.nsamples; i++)
        m = v[i] > m ? v[i] : m;
    return m;
}

int bench_soak(struct bench_opts *o)
{
    const char *s = opt(o, "--seconds");
    soak.secs = s ? atof(s) : 10;
    soak.clients = opt_int(o, "--clients", 16);
    soak.sleepers = opt_int(o, "--sleepers", 64);
    soak.workers = opt_int(o, "--workers", 4);
    soak.check = has_flag(o, "--check");
    if (soak.secs < 1 || soak.clients < 1 || soak.workers < 1 ||
        soak.sleepers < 0) {
        fprintf(stderr, "ringo-bench: soak: --seconds >= 1, --clients and "
                        "--workers >= 1\n");
        return 2;
    }
    soak.jobs = rg_chan_make(sizeof(struct job), JOB_BURST);
    soak.results = rg_chan_make(sizeof(struct job), JOB_BURST);
    soak.never = rg_chan_make(0, 0);
    soak.rss_kb = calloc(MAX_SAMPLES, sizeof(long));
    soak.gs = calloc(MAX_SAMPLES, sizeof(long));
    soak.at = calloc(MAX_SAMPLES, sizeof(double));
    if (!soak.jobs || !soak.results || !soak.never || !soak.rss_kb ||
        !soak.gs || !soak.at)
        return 1;
    bench_rg_run(soak_main, NULL, o->procs);

    double S = soak.secs;
    double rss0 = window_mean(soak.rss_kb, 0.2 * S, 0.4 * S);
    double rss1 = window_mean(soak.rss_kb, 0.8 * S, S);
    double g0 = window_mean(soak.gs, 0.2 * S, 0.4 * S);
    double g1 = window_mean(soak.gs, 0.8 * S, S);
    bool flat = rss1 <= rss0 * (100 + FLAT_PCT) / 100 + FLAT_RSS_KB &&
                g1 <= g0 * (100 + FLAT_PCT) / 100 + FLAT_G;
    uint64_t errors = soak.errors;
    char extra[256];
    snprintf(extra, sizeof(extra), "rps=%.0f errors=%lu clients=%d",
             (double)soak.reqs * 1e9 / (double)soak.elapsed_ns,
             (unsigned long)errors, soak.clients);
    bench_result("soak", soak.procs, (long)soak.reqs,
                 soak.reqs ? (double)soak.elapsed_ns / (double)soak.reqs : 0,
                 extra);
    printf(
        "soak: rss_start=%.0f rss_end=%.0f rss_max=%ld goroutines_start=%.0f "
        "goroutines_end=%.0f goroutines_before=%ld goroutines_after=%ld "
        "sockets_after=%ld errors=%lu flat=%s\n",
        rss0, rss1, series_max(soak.rss_kb), g0, g1, soak.g_before,
        soak.g_after, soak.sockets_after, (unsigned long)errors,
        flat ? "yes" : "no");
    rg_chan_free(soak.jobs);
    rg_chan_free(soak.results);
    rg_chan_free(soak.never);
    free(soak.rss_kb);
    free(soak.gs);
    free(soak.at);
    if (!soak.check)
        return 0;
    return flat && errors == 0 && soak.g_after == soak.g_before &&
                   soak.sockets_after == soak.sockets_before
               ? 0
               : 1;
}
