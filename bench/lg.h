/*
 * bench/lg.h: the load generators' shared parts (ringo-bench http, tcp,
 * echo and file).
 *
 *   loadgen.c  the connection engine for http and tcp: one goroutine per
 *              connection, closed or open loop, in-flight queue, deadlines,
 *              reconnects ("The connection loop" there)
 *   http.c     URL and options, requests, the HTTP/1.1 response parser
 *   tcp.c      raw TCP request/response (echo by default)
 *   file.c     file I/O through io_uring (rg_pread/rg_pwrite), fio-like
 *   report.c   the result: text, the bench= line, JSON, progress, CPU use
 *   plot.c     the latency-by-percentile chart (SVG)
 *   opt.c      durations, sizes and the output options shared by all modes
 *
 * Every latency is recorded in nanoseconds in the histograms of a struct
 * lg_stats (bench/hist.h: within 0.8%); counters are relaxed atomics read
 * once a second by the progress line and exactly after the workers are
 * joined.
 */
#ifndef RINGO_BENCH_LG_H
#define RINGO_BENCH_LG_H

#include "bench.h"
#include "hist.h"

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- errors ---- */

/* Kinds of errors, in report order (names in lg_err_names). */
enum lg_err {
    LG_E_CONNECT,  /* a dial failed (refused, unreachable, timed out) */
    LG_E_TIMEOUT,  /* no answer within --timeout (once per connection) */
    LG_E_READ,     /* read failed (reset, ...) */
    LG_E_WRITE,    /* write failed or timed out */
    LG_E_CLOSED,   /* peer closed between responses with requests owed */
    LG_E_SHORT,    /* peer closed mid-response; file: short read/write */
    LG_E_PROTOCOL, /* malformed response, or an echo that differs */
    LG_E_VERIFY,   /* file --verify: a block without its pattern */
    LG_E_4XX,      /* HTTP status 400-499 */
    LG_E_5XX,      /* HTTP status 500-599 */
    LG_E_STATUS,   /* HTTP final status outside 200-599 */
    LG_NERR
};

extern const char *const lg_err_names[LG_NERR];

/* ---- options (opt.c) ---- */

/*
 * lg_parse_duration - "5", "5s", "1.5s", "500ms", "250us", "2m", "1h" into
 * nanoseconds (a bare number is seconds). Returns 0, or -1 for anything
 * else, a negative value, or one over a year.
 */
int lg_parse_duration(const char *s, uint64_t *ns);

/*
 * lg_parse_size - "4096", "4k", "4K", "4KiB", "256M", "1g", "2T" into
 * bytes (k, m, g, t are powers of 1024). Returns 0 or -1.
 */
int lg_parse_size(const char *s, uint64_t *bytes);

/* lg_parse_pos - a whole number >= min; returns 0 or -1. */
int lg_parse_pos(const char *s, long min, long *out);

/* Output options, shared by every mode. */
struct lg_out {
    bool json;        /* --json: one JSON object on stdout, nothing else */
    bool quiet;       /* --quiet: no progress line */
    const char *plot; /* --plot FILE.svg, or NULL */
};

/*
 * lg_opt_common - try argv[*i] (and argv[*i + 1]) as an output option or
 * -t/--threads (wrk's; sets o->procs). Returns 1 when taken (*i moved past
 * what it used), 0 when not an output option, -1 for a missing or bad
 * value.
 */
int lg_opt_common(struct lg_out *out, struct bench_opts *o, int argc,
                  char **argv, int *i);

/* The usage lines of lg_opt_common's options. */
extern const char lg_common_usage[];

/* ---- statistics ---- */

#define LG_SHARDS 64   /* latency histograms shared by the workers */
#define LG_NSTATUS 600 /* status codes counted one by one: 0..599 */

/*
 * Shared by a run's goroutines. Every field is written with relaxed
 * __atomic adds (no ordering needed: totals are read after the writers
 * are joined through a channel, which orders them; the progress line
 * reads them with relaxed loads meanwhile).
 */
struct lg_stats {
    struct hist *shards;         /* LG_SHARDS, hist_record_shared */
    uint64_t err[LG_NERR];       /* errors by kind */
    uint64_t status[LG_NSTATUS]; /* HTTP responses by status */
    uint64_t status_big;         /* ... with a status >= 600 */
    uint64_t bytes_in, bytes_out;
    uint64_t reconnects; /* dials after a connection's first */
    uint64_t dropped;    /* requests lost with a failed connection */
};

/* lg_stats_init - allocate the shards. Returns 0 or -ENOMEM. */
int lg_stats_init(struct lg_stats *st);

/* lg_stats_err - count one error of kind k. Any thread. */
static inline void lg_stats_err(struct lg_stats *st, enum lg_err k)
{
    __atomic_fetch_add(&st->err[k], 1, __ATOMIC_RELAXED);
}

/*
 * lg_stats_merge - the latencies of every shard, read with relaxed loads
 * (a consistent-enough picture while the workers run; exact once they are
 * joined), into h.
 */
void lg_stats_merge(const struct lg_stats *st, struct hist *h);

/* Latencies recorded so far, all shards (relaxed loads). */
uint64_t lg_stats_count(const struct lg_stats *st);

/* ---- results (report.c) ---- */

#define LG_MAXPARAMS 24

/* A parameter of the run: printed in JSON and on the bench= line. */
struct lg_param {
    const char *key;
    const char *s; /* a string value, or NULL: v is the value */
    double v;
};

struct lg_result {
    const char *bench;     /* "http", "tcp", "echo", "file" */
    const char *target;    /* URL, host:port or path */
    const char *unit;      /* "requests" or "I/Os" */
    const char *rate_name; /* "req/s" or "IOPS" */
    const char *rate_key;  /* key on the bench= line: "rps" or "iops" */
    char setup[512];       /* one line describing the run */
    char note[512];        /* an extra result line, or "" */
    int procs;
    double secs;     /* the measured span */
    uint64_t n;      /* requests or I/Os completed */
    struct hist lat; /* their latencies, ns */
    uint64_t err[LG_NERR];
    const struct lg_stats *st; /* status codes (http) or NULL */
    uint64_t bytes_in, bytes_out;
    bool file;                /* bytes are I/O payload, not traffic */
    double cpu_user, cpu_sys; /* seconds of this process's CPU */
    struct lg_param params[LG_MAXPARAMS];
    int nparams;
};

/* lg_result_param - add a numeric (s NULL) or string parameter. */
void lg_result_param(struct lg_result *r, const char *key, const char *s,
                     double v);

/* v bytes as "512 B", "4.0 KiB", "1.5 GiB" into b[0..n); returns b. */
const char *lg_fmt_bytes(char *b, size_t n, double v);

/* CPU time of the whole process so far, seconds (getrusage). */
void lg_cpu_now(double *user, double *sys);

/*
 * lg_report - print r: the text report and the bench= line, or with
 * out->json the JSON object alone; and write out->plot. Returns 0, or 1
 * when the plot could not be written.
 */
int lg_report(struct lg_result *r, const struct lg_out *out);

/*
 * lg_progress - on a terminal (stderr), redraw the one-line progress:
 * elapsed, rate over the last interval, p99 so far, errors. done: erase
 * it for good. Callers keep *last (count and time of the previous call).
 */
struct lg_progress {
    bool on;          /* stderr is a terminal and not --quiet */
    uint64_t t0;      /* start of the run */
    uint64_t last_t;  /* previous call */
    uint64_t last_n;  /* count at the previous call */
    struct hist *tmp; /* scratch for the merged histogram */
};
void lg_progress_start(struct lg_progress *p, const struct lg_out *out,
                       uint64_t t0);
void lg_progress_tick(struct lg_progress *p, const struct lg_stats *st,
                      const char *rate_name);
void lg_progress_done(struct lg_progress *p);

/* ---- plot (plot.c) ---- */

/*
 * lg_plot_svg - write the latency-by-percentile chart of r to path: a log
 * x axis in percentiles (0, 50, 90, 99, 99.9, ...: the tail spread out as
 * HdrHistogram's plots do), latency in ms up the y axis. Returns 0 or
 * -errno.
 */
int lg_plot_svg(const struct lg_result *r, const char *path);

/* ---- the connection engine (loadgen.c) ---- */

struct lg_conn;

/* Parser events. */
enum { LG_EV_NONE, LG_EV_DONE, LG_EV_ERR };

/* What the peer's close means to the response being read (at_eof). */
enum {
    LG_EOF_IDLE, /* between responses */
    LG_EOF_MID,  /* a response is cut short */
    LG_EOF_DONE, /* the response ends here (a body delimited by close) */
};

/* A request/response protocol on a stream (http.c, tcp.c). */
struct lg_proto {
    /* Forget any partial response: a new connection. */
    void (*reset)(struct lg_conn *c);
    /*
     * Consume bytes of p[0..n): returns how many, and sets *ev to
     * LG_EV_DONE when one response ended (c->status and c->close set),
     * LG_EV_ERR when the bytes cannot be a response (c->perr says which
     * kind), else LG_EV_NONE: call again with the rest, or with more bytes
     * once it returns 0. Bytes of a body are consumed as they come, so
     * only a head or a line has to fit in the buffer.
     */
    size_t (*parse)(struct lg_conn *c, const char *p, size_t n, int *ev);
    /* The peer closed: LG_EOF_* for the response being read. */
    int (*at_eof)(struct lg_conn *c);
};

/* HTTP response parser state (http.c). */
struct lg_http_state {
    int state;     /* HP_* in http.c */
    uint64_t left; /* body or chunk bytes still to consume */
};

/* TCP reply reader state (tcp.c). */
struct lg_tcp_state {
    size_t got; /* bytes of the current reply consumed */
};

/* A network run (http, tcp, echo). */
struct lg_net {
    /* Set by the mode before lg_net_run. */
    const struct lg_proto *proto;
    const void *pcfg;  /* the protocol's own settings */
    const char *bench; /* name on the bench= line */
    bool http;         /* count status codes */
    char target[1400]; /* as the user wrote it */
    char host[256];    /* host name or address to resolve */
    int port;
    int conns;           /* -c */
    uint64_t dur_ns;     /* -d */
    double rate;         /* --rate, requests/s in total; 0: closed loop */
    int pipeline;        /* --pipeline */
    uint64_t timeout_ns; /* --timeout */
    const char *batch;   /* pipeline copies of one request, back to back */
    size_t req_len;      /* bytes of one request */
    struct lg_out out;

    /* Set by lg_net_run. end, last and sent are relaxed __atomic
       variables (end: see "Ending" in loadgen.c). */
    char addr[64]; /* host resolved: a numeric address */
    int procs;
    uint64_t t0;   /* start of the measured run (rg_now) */
    uint64_t end;  /* no new request is sent from then on */
    uint64_t last; /* latest completion, any connection */
    uint64_t sent; /* requests written, first sends */
    struct lg_stats st;
    double cpu_user, cpu_sys;
};

/* One request in flight, or queued for a (re)send. */
struct lg_req {
    uint64_t due;  /* its intended send time: latency runs from here */
    uint64_t sent; /* when it was last written: --timeout runs from here */
};

/* Status codes a connection counts before flushing them to lg_stats. */
#define LG_CODES 4

struct lg_conn {
    struct lg_net *lg;
    int id;
    int fd;                      /* -1: not connected */
    uint64_t k;                  /* open loop: requests scheduled so far */
    uint64_t rdl;                /* read deadline set on fd (0: none) */
    struct lg_req *q;            /* in flight, a ring of lg->pipeline entries */
    unsigned qhead, qlen, qsent; /* [qhead, +qsent) written on fd */
    char *rbuf;                  /* LG_RBUF bytes, on the goroutine's stack */
    size_t rlen;
    bool dialled; /* has connected once */
    /* Set by proto->parse. */
    int status;       /* HTTP status of the response that ended */
    bool close;       /* the connection ends after it */
    enum lg_err perr; /* kind of an LG_EV_ERR */
    union {
        struct lg_http_state h;
        struct lg_tcp_state t;
    } ps;
    uint64_t bytes_in, bytes_out;
    struct {
        int code;
        uint64_t n;
    } codes[LG_CODES];
};

#define LG_RBUF 16384 /* per-connection receive buffer: the largest head */

/*
 * lg_net_run - resolve the target, run the connections under rg_run with
 * o->procs Ps, report. Returns the process exit status: 0 when requests
 * completed, 1 when none did, 2 for bad settings.
 */
int lg_net_run(struct lg_net *lg, struct bench_opts *o);

/* Shared option parsing of http and tcp: -c, -d, --rate, --pipeline,
   --timeout and lg_opt_common. Same contract as lg_opt_common. */
int lg_net_opt(struct lg_net *lg, struct bench_opts *o, int argc, char **argv,
               int *i);
extern const char lg_net_usage[];

/* ---- modes ---- */

int bench_tcp(struct bench_opts *o);
int bench_file(struct bench_opts *o);

#endif
