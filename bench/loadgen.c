/*
 * bench/loadgen.c: the connection engine of ringo-bench http, tcp and
 * echo, written on ringo itself: one goroutine per connection.
 *
 * Invariants:
 *  1. A connection's requests leave in the order they were scheduled and
 *     their responses are matched to them in that order (HTTP/1.1 and a
 *     request/response stream are both FIFO): the in-flight queue c->q.
 *  2. At most lg->pipeline requests of a connection are in flight.
 *  3. A latency runs from the request's intended send time (its due time)
 *     to the end of its response. In a closed loop that is when it was
 *     first written; in an open loop it is its slot in the schedule, so a
 *     server stall delays the latency of every request scheduled during
 *     the stall, not only of the one that met it (coordinated omission;
 *     see "Open loop").
 *  4. Only responses are counted as requests done, and each at most once.
 *
 * The connection loop
 * ===================
 *   dial (once, before the start barrier; again after a failure)
 *   loop: send what may be sent -> if nothing is in flight, wait for the
 *         next due time (open loop) or stop (closed loop past the end)
 *         -> read once and hand the bytes to the protocol's parser, which
 *         ends zero or more responses
 * A closed loop (wrk's) writes a batch of --pipeline requests when nothing
 * is in flight, in one write, and waits for all their responses. All
 * connections dial first and start together when main closes the start
 * channel, so connection set-up is not measured.
 *
 * Open loop
 * =========
 * --rate R spreads R requests a second over the C connections: request k
 * of connection c is due at t0 + (c + k*C) / R, a fixed schedule that
 * does not care how fast the server answers (wrk2's model). A connection
 * sends every request whose time has come, as long as fewer than
 * --pipeline are in flight (1 by default: one outstanding request per
 * connection, as wrk2). When the server stalls, requests fall behind
 * their schedule; once it answers again they are sent back to back until
 * the connection has caught up, and each one's latency still counts from
 * its due time. So a stall shows up in the latency of every request it
 * delayed and the total rate holds, where a closed loop would simply
 * send fewer requests and hide it.
 *
 * While requests are in flight and another is due before the oldest
 * answer arrives (pipeline > 1), the read waits with a read deadline at
 * that due time, and a deadline that passes just means "send now".
 *
 * Ending
 * ======
 * At end (t0 + -d) no new request is sent, and each connection waits for
 * the answers it is owed, until its --timeout or end + LG_GRACE_NS; so
 * every request the server answered is counted and a counting server
 * agrees with the totals exactly. A closed loop's rate is over the span
 * from t0 to the later of end and the last answer; an open loop's over its
 * schedule, t0 to end: the requests due in it are its offered load, and
 * answers late at the end show in their latency (the drain time is
 * reported too). SIGINT moves end to now.
 *
 * Failures
 * ========
 * A failed dial counts a connect error and is retried after
 * LG_BACKOFF_NS. A read or write error, a timeout, a malformed answer or
 * the peer closing mid-response counts one error of its kind and loses
 * the requests in flight (counted as dropped). The peer closing between
 * responses with requests owed counts a "closed" error, and a response
 * that said Connection: close none; in both cases the requests it did not
 * answer are sent again on a new connection, keeping their due times.
 */
#include "lg.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#define LG_GRACE_NS 2000000000ull  /* answers owed at the end: at most */
#define LG_BACKOFF_NS 100000000ull /* between failed dials */
#define LG_TICK_NS 1000000000ull   /* progress line */
#define LG_SLACK_DIV 16            /* --timeout deadline: see conn_read */

static struct lg_net *lg_active; /* for the SIGINT handler */

/* ---- schedule and queue ---- */

static uint64_t end_of(struct lg_net *lg)
{
    return __atomic_load_n(&lg->end, __ATOMIC_RELAXED);
}

/* Open loop: when request k of connection c is due. */
static uint64_t due_at(const struct lg_conn *c, uint64_t k)
{
    const struct lg_net *lg = c->lg;
    double slot = (double)c->id + (double)k * (double)lg->conns;
    return lg->t0 + (uint64_t)(slot * 1e9 / lg->rate);
}

static struct lg_req *q_at(struct lg_conn *c, unsigned i)
{
    return &c->q[(c->qhead + i) % (unsigned)c->lg->pipeline];
}

static void q_push(struct lg_conn *c, uint64_t due)
{
    q_at(c, c->qlen++)->due = due;
}

/* ---- connections ---- */

/* Close fd; requests in flight stay queued and will be sent again. */
static void conn_close(struct lg_conn *c)
{
    rg_close(c->fd);
    c->fd = -1;
    c->qsent = 0;
    c->rlen = 0;
    c->rdl = 0;
}

/* Count an error of kind k, lose the requests in flight, close. */
static void conn_fail(struct lg_conn *c, enum lg_err k)
{
    struct lg_net *lg = c->lg;
    lg_stats_err(&lg->st, k);
    if (k != LG_E_CLOSED) {
        __atomic_fetch_add(&lg->st.dropped, c->qlen, __ATOMIC_RELAXED);
        c->qhead = c->qlen = 0;
    }
    conn_close(c);
}

/* Dial; on failure count it and back off. Returns 0 or -1. */
static int conn_dial(struct lg_conn *c)
{
    struct lg_net *lg = c->lg;
    uint64_t now = rg_now(), stop = end_of(lg) + LG_GRACE_NS;
    uint64_t left = stop > now ? stop - now : 1;
    int fd = rg_dial_tcp(lg->addr, lg->port,
                         lg->timeout_ns < left ? lg->timeout_ns : left);
    if (fd < 0) {
        lg_stats_err(&lg->st, LG_E_CONNECT);
        now = rg_now();
        if (now < end_of(lg))
            rg_sleep(LG_BACKOFF_NS);
        return -1;
    }
    if (c->dialled)
        __atomic_fetch_add(&lg->st.reconnects, 1, __ATOMIC_RELAXED);
    c->dialled = true;
    c->fd = fd;
    c->rlen = 0;
    c->rdl = 0;
    lg->proto->reset(c);
    /* A peer that stops reading cannot hold a writer past the grace. */
    rg_set_deadline(fd, RG_WRITE, stop);
    return 0;
}

/* Queue what may be sent now and write everything not yet written on fd.
   Returns 0, or -1 after a failed write. */
static int conn_send(struct lg_conn *c, uint64_t now)
{
    struct lg_net *lg = c->lg;
    unsigned depth = (unsigned)lg->pipeline;
    uint64_t end = end_of(lg);
    unsigned fresh = 0;
    if (lg->rate <= 0) {
        if (c->qlen == 0 && now < end)
            for (fresh = 0; fresh < depth; fresh++)
                q_push(c, now);
    } else {
        while (c->qlen < depth) {
            uint64_t due = due_at(c, c->k);
            if (due > now || due >= end)
                break;
            q_push(c, due);
            c->k++;
            fresh++;
        }
    }
    if (fresh)
        __atomic_fetch_add(&lg->sent, fresh, __ATOMIC_RELAXED);
    unsigned n = c->qlen - c->qsent;
    if (n == 0)
        return 0;
    for (unsigned i = c->qsent; i < c->qlen; i++)
        q_at(c, i)->sent = now;
    ssize_t w = rg_write_all(c->fd, lg->batch, (size_t)n * lg->req_len);
    if (w < 0) {
        conn_fail(c, LG_E_WRITE);
        return -1;
    }
    c->bytes_out += (uint64_t)w;
    c->qsent = c->qlen;
    return 0;
}

/* Count status code s, batching in c->codes. */
static void conn_status(struct lg_conn *c, int s)
{
    struct lg_stats *st = &c->lg->st;
    if (s >= 400 && s < 500)
        lg_stats_err(st, LG_E_4XX);
    else if (s >= 500 && s < 600)
        lg_stats_err(st, LG_E_5XX);
    else if (s < 200 || s >= 600)
        lg_stats_err(st, LG_E_STATUS);
    for (int i = 0; i < LG_CODES; i++) {
        if (c->codes[i].code == s || c->codes[i].n == 0) {
            c->codes[i].code = s;
            c->codes[i].n++;
            return;
        }
    }
    if (s >= 0 && s < LG_NSTATUS)
        __atomic_fetch_add(&st->status[s], 1, __ATOMIC_RELAXED);
    else
        __atomic_fetch_add(&st->status_big, 1, __ATOMIC_RELAXED);
}

/* The oldest request got its answer. */
static void conn_done(struct lg_conn *c)
{
    struct lg_net *lg = c->lg;
    uint64_t now = rg_now();
    struct lg_req *r = q_at(c, 0);
    uint64_t lat = now > r->due ? now - r->due : 0;
    hist_record_shared(&lg->st.shards[c->id % LG_SHARDS], lat);
    c->qhead = (c->qhead + 1) % (unsigned)lg->pipeline;
    c->qlen--;
    c->qsent--;
    if (c->status >= 0)
        conn_status(c, c->status);
    uint64_t last = __atomic_load_n(&lg->last, __ATOMIC_RELAXED);
    while (now > last &&
           !__atomic_compare_exchange_n(&lg->last, &last, now, true,
                                        __ATOMIC_RELAXED, __ATOMIC_RELAXED))
        ;
}

/* Parse what rbuf holds. Returns 0, or -1 when the connection was
   closed (an error, or a response that closes it). */
static int conn_parse(struct lg_conn *c)
{
    size_t off = 0;
    bool closing = false;
    while (c->qsent > 0 && !closing) {
        int ev = LG_EV_NONE;
        size_t used = c->lg->proto->parse(c, c->rbuf + off, c->rlen - off, &ev);
        off += used;
        if (ev == LG_EV_ERR) {
            conn_fail(c, c->perr);
            return -1;
        }
        if (ev == LG_EV_DONE) {
            conn_done(c);
            closing = c->close;
        } else if (used == 0) {
            break;
        }
    }
    if (closing) {
        conn_close(c);
        return -1;
    }
    if (c->qsent == 0 && off < c->rlen) {
        c->perr = LG_E_PROTOCOL; /* an answer nobody asked for */
        conn_fail(c, LG_E_PROTOCOL);
        return -1;
    }
    memmove(c->rbuf, c->rbuf + off, c->rlen - off);
    c->rlen -= off;
    if (c->rlen == LG_RBUF) { /* a head or line larger than the buffer */
        conn_fail(c, LG_E_PROTOCOL);
        return -1;
    }
    return 0;
}

/* The peer closed the connection. */
static void conn_eof(struct lg_conn *c)
{
    int at = c->lg->proto->at_eof(c);
    if (at == LG_EOF_DONE) { /* a body that ends with the connection */
        conn_done(c);
        conn_close(c);
    } else if (at == LG_EOF_MID || c->rlen > 0) {
        conn_fail(c, LG_E_SHORT);
    } else {
        conn_fail(c, LG_E_CLOSED);
    }
}

/*
 * The read deadline: the oldest request's --timeout, the grace at the
 * end, and in an open loop with room in flight, the next due time.
 */
static uint64_t conn_deadline(struct lg_conn *c, uint64_t *hard)
{
    struct lg_net *lg = c->lg;
    uint64_t end = end_of(lg);
    uint64_t dl = q_at(c, 0)->sent + lg->timeout_ns;
    if (dl > end + LG_GRACE_NS)
        dl = end + LG_GRACE_NS;
    *hard = dl;
    if (lg->rate > 0 && c->qlen < (unsigned)lg->pipeline) {
        uint64_t due = due_at(c, c->k);
        if (due < end && due < dl)
            dl = due;
    }
    return dl;
}

/*
 * Read once and parse. The deadline on fd is moved only when it is later
 * than wanted, already past, or earlier by more than timeout/16: a
 * deadline that fires early finds no request timed out and is set again,
 * so a steady stream of requests costs a deadline update every
 * timeout/16, not one per request. now: a recent rg_now() (a deadline
 * found past because now was stale just costs one more round).
 */
static void conn_read(struct lg_conn *c, uint64_t now)
{
    struct lg_net *lg = c->lg;
    uint64_t hard;
    uint64_t dl = conn_deadline(c, &hard);
    uint64_t slack = dl == hard ? lg->timeout_ns / LG_SLACK_DIV : 0;
    if (c->rdl > dl || c->rdl <= now || dl - c->rdl > slack) {
        rg_set_deadline(c->fd, RG_READ, dl);
        c->rdl = dl;
    }
    ssize_t r = rg_read(c->fd, c->rbuf + c->rlen, LG_RBUF - c->rlen);
    if (r == -ETIMEDOUT) {
        if (rg_now() >= hard)
            conn_fail(c, LG_E_TIMEOUT);
        return;
    }
    if (r < 0)
        conn_fail(c, LG_E_READ);
    else if (r == 0)
        conn_eof(c);
    else {
        c->bytes_in += (uint64_t)r;
        c->rlen += (size_t)r;
        conn_parse(c);
    }
}

/* Nothing in flight: wait for the next due time. Returns false when the
   connection has nothing more to send. */
static bool conn_idle(struct lg_conn *c, uint64_t now)
{
    struct lg_net *lg = c->lg;
    if (lg->rate <= 0)
        return now < end_of(lg);
    uint64_t due = due_at(c, c->k);
    if (due >= end_of(lg))
        return false;
    if (due > now)
        rg_sleep(due - now);
    return true;
}

static void conn_loop(struct lg_conn *c)
{
    struct lg_net *lg = c->lg;
    bool late = false;
    for (;;) {
        uint64_t now = rg_now();
        if (now >= end_of(lg) + LG_GRACE_NS) {
            late = true;
            break;
        }
        if (c->fd < 0) {
            if (c->qlen == 0 && !conn_idle(c, now))
                break;
            if (conn_dial(c) < 0 && rg_now() >= end_of(lg))
                break; /* no new connection past the end */
            continue;
        }
        if (conn_send(c, now) < 0)
            continue;
        if (c->qlen == 0) {
            if (!conn_idle(c, now))
                break;
            continue;
        }
        conn_read(c, now);
    }
    if (c->qlen > 0) { /* answers still owed are lost */
        if (late)
            lg_stats_err(&lg->st, LG_E_TIMEOUT);
        __atomic_fetch_add(&lg->st.dropped, c->qlen, __ATOMIC_RELAXED);
    }
    if (c->fd >= 0)
        rg_close(c->fd);
}

/* Hand the connection's counters to lg->st. */
static void conn_flush(struct lg_conn *c)
{
    struct lg_stats *st = &c->lg->st;
    __atomic_fetch_add(&st->bytes_in, c->bytes_in, __ATOMIC_RELAXED);
    __atomic_fetch_add(&st->bytes_out, c->bytes_out, __ATOMIC_RELAXED);
    for (int i = 0; i < LG_CODES && c->codes[i].n; i++) {
        int s = c->codes[i].code;
        if (s >= 0 && s < LG_NSTATUS)
            __atomic_fetch_add(&st->status[s], c->codes[i].n, __ATOMIC_RELAXED);
        else
            __atomic_fetch_add(&st->status_big, c->codes[i].n,
                               __ATOMIC_RELAXED);
    }
}

/* ---- workers and main ---- */

struct lg_run {
    struct lg_net *lg;
    struct lg_conn *conns;
    rg_chan *ready; /* each connection: dialled (or failed) once */
    rg_chan *start; /* closed by main: t0 is set */
    rg_chan *done;  /* each connection: finished */
};

static struct lg_run run;

static void conn_main(void *arg)
{
    struct lg_conn *c = arg;
    char rbuf[LG_RBUF]; /* pages are touched only as data arrives */
    c->rbuf = rbuf;
    c->fd = -1;
    conn_dial(c);
    rg_chan_send(run.ready, NULL);
    rg_chan_recv(run.start, NULL);
    if (c->fd >= 0) /* dialled before end was known */
        rg_set_deadline(c->fd, RG_WRITE, end_of(c->lg) + LG_GRACE_NS);
    conn_loop(c);
    conn_flush(c);
    c->rbuf = NULL;
    rg_chan_send(run.done, NULL);
}

static void on_sigint(int sig)
{
    (void)sig;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    uint64_t now = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
    if (lg_active && now < end_of(lg_active))
        __atomic_store_n(&lg_active->end, now, __ATOMIC_RELAXED);
}

/* Wait for n sends on ch, until limit (rg_now); runs the progress line.
   Returns how many arrived. */
static int wait_n(rg_chan *ch, int n, uint64_t (*limit)(void),
                  struct lg_progress *p)
{
    int got = 0;
    uint64_t tick = rg_now() + LG_TICK_NS;
    while (got < n) {
        uint64_t now = rg_now(), lim = limit();
        if (now >= lim)
            break;
        uint64_t until = p && tick < lim ? tick : lim;
        struct rg_case cs = {.ch = ch, .dir = RG_RECV};
        int rc = rg_select(&cs, 1, (int64_t)(until > now ? until - now : 1));
        if (rc == 0) {
            got++;
        } else if (p && rg_now() >= tick) {
            lg_progress_tick(p, &run.lg->st, "req/s");
            tick += LG_TICK_NS;
        }
    }
    return got;
}

static uint64_t dial_limit;
static uint64_t limit_dial(void)
{
    return dial_limit;
}
static uint64_t limit_done(void)
{
    return end_of(run.lg) + LG_GRACE_NS + 2 * LG_TICK_NS;
}

/* Spawn the connections; returns how many run. */
static int spawn_conns(struct lg_net *lg)
{
    int n = 0;
    for (int i = 0; i < lg->conns; i++) {
        struct lg_conn *c = &run.conns[i];
        c->lg = lg;
        c->id = i;
        c->q = calloc((size_t)lg->pipeline, sizeof(*c->q));
        if (!c->q || rg_go(conn_main, c) < 0) {
            fprintf(stderr, "ringo-bench: cannot start connection %d\n", i);
            break;
        }
        n++;
    }
    return n;
}

static void lg_main(void *arg)
{
    struct lg_net *lg = arg;
    lg->procs = rg_procs();
    /* Everyone dials first (no end yet); a dial takes at most --timeout. */
    __atomic_store_n(&lg->end, UINT64_MAX / 2, __ATOMIC_RELAXED);
    int n = spawn_conns(lg);
    dial_limit = rg_now() + lg->timeout_ns + LG_TICK_NS;
    int ready = wait_n(run.ready, n, limit_dial, NULL);
    if (ready < n)
        fprintf(stderr, "ringo-bench: %d connections still dialling\n",
                n - ready);
    lg_cpu_now(&lg->cpu_user, &lg->cpu_sys);
    lg->t0 = rg_now();
    __atomic_store_n(&lg->end, lg->t0 + lg->dur_ns, __ATOMIC_RELAXED);
    __atomic_store_n(&lg->last, 0, __ATOMIC_RELAXED);
    lg_active = lg;
    rg_chan_close(run.start); /* publishes t0, end: pairs with the recv */
    struct lg_progress p;
    lg_progress_start(&p, &lg->out, lg->t0);
    int done = wait_n(run.done, n, limit_done, &p);
    lg_progress_done(&p);
    double u, s;
    lg_cpu_now(&u, &s);
    lg->cpu_user = u - lg->cpu_user;
    lg->cpu_sys = s - lg->cpu_sys;
    if (done < n)
        fprintf(stderr, "ringo-bench: %d connections still busy\n", n - done);
}

/* ---- setup and report ---- */

/* Resolve lg->host into lg->addr (numeric), once, before the run. */
static int resolve(struct lg_net *lg)
{
    struct addrinfo hints = {0}, *ai;
    hints.ai_socktype = SOCK_STREAM;
    int rc = getaddrinfo(lg->host, NULL, &hints, &ai);
    if (rc != 0) {
        fprintf(stderr, "ringo-bench: %s: %s\n", lg->host, gai_strerror(rc));
        return -1;
    }
    rc = getnameinfo(ai->ai_addr, ai->ai_addrlen, lg->addr, sizeof(lg->addr),
                     NULL, 0, NI_NUMERICHOST);
    freeaddrinfo(ai);
    if (rc != 0) {
        fprintf(stderr, "ringo-bench: %s: %s\n", lg->host, gai_strerror(rc));
        return -1;
    }
    return 0;
}

/* Open loop: how many requests of c were due before end. */
static uint64_t conn_planned(const struct lg_conn *c, uint64_t end)
{
    const struct lg_net *lg = c->lg;
    double est = ((double)(end - lg->t0) / 1e9 * lg->rate - c->id) / lg->conns;
    uint64_t k = est > 0 ? (uint64_t)est : 0;
    while (k > 0 && due_at(c, k - 1) >= end)
        k--;
    while (due_at(c, k) < end)
        k++;
    return k;
}

/* Open loop: requests that were due but never sent, all connections. */
static uint64_t unsent(const struct lg_net *lg)
{
    uint64_t n = 0, end = end_of((struct lg_net *)lg);
    for (int i = 0; i < lg->conns && lg->rate > 0; i++) {
        const struct lg_conn *c = &run.conns[i];
        if (c->lg) /* was started */
            n += conn_planned(c, end) - c->k;
    }
    return n;
}

static void fill_result(struct lg_net *lg, struct lg_result *r)
{
    r->bench = lg->bench;
    r->target = lg->target;
    r->unit = "requests";
    r->rate_name = "req/s";
    r->rate_key = "rps";
    r->procs = lg->procs;
    lg_stats_merge(&lg->st, &r->lat);
    r->n = r->lat.count;
    /* See "Ending": an open loop's rate is over its schedule. */
    uint64_t end = end_of(lg), last = lg->last;
    uint64_t drain = last > end ? last - end : 0;
    r->secs = (double)(end - lg->t0 + (lg->rate > 0 ? 0 : drain)) / 1e9;
    for (int k = 0; k < LG_NERR; k++)
        r->err[k] = lg->st.err[k];
    r->st = lg->http ? &lg->st : NULL;
    r->bytes_in = lg->st.bytes_in;
    r->bytes_out = lg->st.bytes_out;
    r->cpu_user = lg->cpu_user;
    r->cpu_sys = lg->cpu_sys;
    if (lg->rate > 0)
        snprintf(r->setup, sizeof(r->setup),
                 "%d connections, open loop at %.0f req/s, %d in flight "
                 "per connection at most, procs %d, %.2f s",
                 lg->conns, lg->rate, lg->pipeline, lg->procs,
                 (double)lg->dur_ns / 1e9);
    else
        snprintf(r->setup, sizeof(r->setup),
                 "%d connections, closed loop, %d request%s per write, "
                 "procs %d, %.2f s",
                 lg->conns, lg->pipeline, lg->pipeline > 1 ? "s" : "",
                 lg->procs, (double)lg->dur_ns / 1e9);
    uint64_t sent = lg->sent, late = unsent(lg);
    if (lg->st.reconnects || lg->st.dropped || late)
        snprintf(r->note, sizeof(r->note),
                 "reconnects %lu, requests lost with a connection %lu, "
                 "never sent (behind schedule) %lu",
                 (unsigned long)lg->st.reconnects,
                 (unsigned long)lg->st.dropped, (unsigned long)late);
    lg_result_param(r, "conns", NULL, lg->conns);
    lg_result_param(r, "secs", NULL, r->secs);
    lg_result_param(r, "drain_s", NULL, (double)drain / 1e9);
    lg_result_param(r, "reconnects", NULL, (double)lg->st.reconnects);
    lg_result_param(r, "pipeline", NULL, lg->pipeline);
    lg_result_param(r, "rate", NULL, lg->rate);
    lg_result_param(r, "duration", NULL, (double)lg->dur_ns / 1e9);
    lg_result_param(r, "timeout", NULL, (double)lg->timeout_ns / 1e9);
    lg_result_param(r, "sent", NULL, (double)sent);
    lg_result_param(r, "dropped", NULL, (double)lg->st.dropped);
    lg_result_param(r, "unsent", NULL, (double)late);
    lg_result_param(r, "loop", lg->rate > 0 ? "open" : "closed", 0);
}

static int make_chans(int n)
{
    run.ready = rg_chan_make(0, (size_t)n);
    run.start = rg_chan_make(0, 0);
    run.done = rg_chan_make(0, (size_t)n);
    return run.ready && run.start && run.done ? 0 : -1;
}

int lg_net_run(struct lg_net *lg, struct bench_opts *o)
{
    if (resolve(lg) < 0)
        return 2;
    if (lg_stats_init(&lg->st) < 0)
        return 1;
    run.lg = lg;
    run.conns = calloc((size_t)lg->conns, sizeof(*run.conns));
    if (!run.conns || make_chans(lg->conns) < 0) {
        fprintf(stderr, "ringo-bench: out of memory\n");
        return 1;
    }
    signal(SIGPIPE, SIG_IGN); /* a reset peer is an error, not a death */
    struct sigaction sa = {0};
    sa.sa_handler = on_sigint;
    sa.sa_flags = SA_RESETHAND | SA_RESTART;
    sigaction(SIGINT, &sa, NULL);
    bench_rg_run(lg_main, lg, o->procs > 0 ? o->procs : 0);
    signal(SIGINT, SIG_DFL);
    lg_active = NULL;
    struct lg_result *r = calloc(1, sizeof(*r));
    if (!r)
        return 1;
    fill_result(lg, r);
    int rc = lg_report(r, &lg->out);
    uint64_t n = r->n;
    free(r);
    if (rc)
        return 1;
    return n ? 0 : 1;
}

/* ---- options shared by http and tcp ---- */

const char lg_net_usage[] =
    "  -c, --connections N   connections (goroutines), default 100\n"
    "  -d, --duration T      5, 5s, 500ms, 2m (default 5s)\n"
    "  --rate R              open loop: R requests/s in total, latency from\n"
    "                        each request's intended send time; default:\n"
    "                        closed loop (send when answered)\n"
    "  --pipeline N          closed loop: N requests per write; open loop:\n"
    "                        at most N in flight per connection (default 1)\n"
    "  --timeout T           a request unanswered after T is a timeout and\n"
    "                        its connection is dialled again (default 10s)\n";

int lg_net_opt(struct lg_net *lg, struct bench_opts *o, int argc, char **argv,
               int *i)
{
    int rc = lg_opt_common(&lg->out, o, argc, argv, i);
    if (rc)
        return rc;
    const char *a = argv[*i];
    const char *v = *i + 1 < argc ? argv[*i + 1] : NULL;
    long n;
    if (!strcmp(a, "-c") || !strcmp(a, "--connections") ||
        !strcmp(a, "--conns")) {
        if (!v || lg_parse_pos(v, 1, &n) < 0 || n > 1000000)
            return -1;
        lg->conns = (int)n;
    } else if (!strcmp(a, "-d") || !strcmp(a, "--duration")) {
        if (!v || lg_parse_duration(v, &lg->dur_ns) < 0 || !lg->dur_ns)
            return -1;
    } else if (!strcmp(a, "--rate") || !strcmp(a, "-R")) {
        char *e;
        lg->rate = v ? strtod(v, &e) : -1;
        if (!v || *e || !(lg->rate > 0) || lg->rate > 1e9)
            return -1;
    } else if (!strcmp(a, "--pipeline")) {
        if (!v || lg_parse_pos(v, 1, &n) < 0 || n > 65536)
            return -1;
        lg->pipeline = (int)n;
    } else if (!strcmp(a, "--timeout")) {
        if (!v || lg_parse_duration(v, &lg->timeout_ns) < 0 || !lg->timeout_ns)
            return -1;
    } else {
        return 0;
    }
    *i += 2;
    return 1;
}
