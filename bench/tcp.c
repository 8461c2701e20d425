/*
 * bench/tcp.c: ringo-bench tcp and echo, request/response over raw TCP.
 *
 *   ringo-bench tcp HOST:PORT [--size B | --payload-file F] [--reply-len N]
 *                   [-c N] [-d T] [--rate R] [--pipeline N] [--timeout T]
 *   ringo-bench echo [--host H] [--port P] [-c N] [-d T] [--size B] ...
 *
 * A request is --size bytes (64 by default) or the contents of
 * --payload-file; its answer is the next --reply-len bytes the server
 * sends. Without --reply-len the server is taken to be an echo server:
 * the answer is as long as the request and must be the same bytes (a
 * difference is a protocol error). The connection engine is loadgen.c's,
 * with all its options (closed or open loop, pipelining, timeouts).
 * `echo` is `tcp` with the target given as --host/--port (default
 * 127.0.0.1:9000) and 50 connections.
 */
#include "lg.h"

#include <stdlib.h>
#include <string.h>

struct tcp_cfg {
    const char *payload; /* one request */
    size_t len;
    size_t reply; /* bytes of an answer */
    bool verify;  /* the answer must equal the request */
};

static size_t tcp_parse(struct lg_conn *c, const char *p, size_t n, int *ev)
{
    const struct tcp_cfg *cfg = c->lg->pcfg;
    size_t want = cfg->reply - c->ps.t.got;
    size_t k = n < want ? n : want;
    if (cfg->verify && memcmp(p, cfg->payload + c->ps.t.got, k) != 0) {
        c->perr = LG_E_PROTOCOL;
        *ev = LG_EV_ERR;
        return 0;
    }
    c->ps.t.got += k;
    if (c->ps.t.got == cfg->reply) {
        c->ps.t.got = 0;
        c->status = -1;
        c->close = false;
        *ev = LG_EV_DONE;
    }
    return k;
}

static void tcp_reset(struct lg_conn *c)
{
    c->ps.t.got = 0;
}

static int tcp_at_eof(struct lg_conn *c)
{
    return c->ps.t.got ? LG_EOF_MID : LG_EOF_IDLE;
}

static const struct lg_proto tcp_proto = {
    .reset = tcp_reset,
    .parse = tcp_parse,
    .at_eof = tcp_at_eof,
};

static void tcp_usage(void)
{
    fprintf(stderr,
            "usage: ringo-bench tcp HOST:PORT [options]\n"
            "       ringo-bench echo [--host H] [--port P] [options]\n"
            "%s"
            "  --size B              request bytes (64); echoed back\n"
            "  --payload-file F      the request is the file's bytes\n"
            "  --reply-len N         answers are N bytes (any content);\n"
            "                        default: an echo of the request\n"
            "%s",
            lg_net_usage, lg_common_usage);
}

/* host:port, [v6]:port. Returns 0 or -1. */
static int parse_target(struct lg_net *lg, const char *t)
{
    const char *colon = strrchr(t, ':');
    const char *hs = t, *he = colon;
    long port;
    if (!colon || lg_parse_pos(colon + 1, 1, &port) < 0 || port > 65535)
        return -1;
    if (*t == '[' && colon > t && colon[-1] == ']') {
        hs = t + 1;
        he = colon - 1;
    }
    if (he <= hs || (size_t)(he - hs) >= sizeof(lg->host))
        return -1;
    memcpy(lg->host, hs, (size_t)(he - hs));
    lg->host[he - hs] = '\0';
    lg->port = (int)port;
    return 0;
}

struct tcp_opts {
    uint64_t size;
    const char *file;
    uint64_t reply;
    bool reply_set, target_set;
};

static int tcp_opt(struct lg_net *lg, struct tcp_opts *to, struct bench_opts *o,
                   int *i)
{
    int argc = o->argc;
    char **argv = o->argv;
    const char *a = argv[*i], *v = *i + 1 < argc ? argv[*i + 1] : NULL;
    int rc = lg_net_opt(lg, o, argc, argv, i);
    long n;
    if (rc)
        return rc;
    if (a[0] != '-') {
        if (to->target_set || parse_target(lg, a) < 0)
            return -1;
        to->target_set = true;
        (*i)++;
        return 1;
    }
    if (!strcmp(a, "--size")) {
        if (!v || lg_parse_size(v, &to->size) < 0 || !to->size ||
            to->size > (1u << 30))
            return -1;
    } else if (!strcmp(a, "--payload-file")) {
        if (!v)
            return -1;
        to->file = v;
    } else if (!strcmp(a, "--reply-len")) {
        if (!v || lg_parse_size(v, &to->reply) < 0 || !to->reply ||
            to->reply > (1u << 30))
            return -1;
        to->reply_set = true;
    } else if (!strcmp(a, "--host")) {
        if (!v || strlen(v) >= sizeof(lg->host))
            return -1;
        snprintf(lg->host, sizeof(lg->host), "%s", v);
    } else if (!strcmp(a, "--port")) {
        if (!v || lg_parse_pos(v, 1, &n) < 0 || n > 65535)
            return -1;
        lg->port = (int)n;
    } else {
        return 0;
    }
    *i += 2;
    return 1;
}

/* The payload: --size bytes of letters, or the file. */
static int make_payload(struct tcp_opts *to, struct tcp_cfg *cfg)
{
    if (to->file) {
        FILE *f = fopen(to->file, "rb");
        long len = -1;
        if (f && fseek(f, 0, SEEK_END) == 0)
            len = ftell(f);
        char *b = len > 0 ? malloc((size_t)len) : NULL;
        if (!f || !b || fseek(f, 0, SEEK_SET) != 0 ||
            fread(b, 1, (size_t)len, f) != (size_t)len) {
            fprintf(stderr, "ringo-bench: %s: cannot read (or empty)\n",
                    to->file);
            if (f)
                fclose(f);
            free(b);
            return -1;
        }
        fclose(f);
        cfg->payload = b;
        cfg->len = (size_t)len;
    } else {
        char *b = malloc(to->size);
        if (!b)
            return -1;
        for (size_t i = 0; i < to->size; i++)
            b[i] = (char)('a' + i % 26);
        cfg->payload = b;
        cfg->len = to->size;
    }
    cfg->verify = !to->reply_set;
    cfg->reply = to->reply_set ? to->reply : cfg->len;
    return 0;
}

/* lg->pipeline copies of the payload. */
static int make_batch(struct lg_net *lg, const struct tcp_cfg *cfg)
{
    char *b = malloc(cfg->len * (size_t)lg->pipeline);
    if (!b)
        return -1;
    for (int i = 0; i < lg->pipeline; i++)
        memcpy(b + (size_t)i * cfg->len, cfg->payload, cfg->len);
    lg->batch = b;
    lg->req_len = cfg->len;
    return 0;
}

static int tcp_main(struct bench_opts *o, bool echo)
{
    static struct lg_net lg; /* connections may outlive a failed wait */
    static struct tcp_cfg cfg;
    struct tcp_opts to = {.size = 64};
    lg.proto = &tcp_proto;
    lg.pcfg = &cfg;
    lg.bench = echo ? "echo" : "tcp";
    snprintf(lg.host, sizeof(lg.host), "127.0.0.1");
    lg.port = 9000;
    lg.conns = echo ? 50 : 100;
    lg.dur_ns = 5000000000ull;
    lg.pipeline = 1;
    lg.timeout_ns = 10000000000ull;
    for (int i = 1; i < o->argc;) {
        if (!strcmp(o->argv[i], "-h") || !strcmp(o->argv[i], "--help")) {
            tcp_usage();
            return 0;
        }
        int rc = tcp_opt(&lg, &to, o, &i);
        if (rc <= 0) {
            fprintf(stderr, "ringo-bench: %s '%s'\n",
                    rc ? "bad value or target for" : "unknown option",
                    o->argv[i]);
            tcp_usage();
            return 2;
        }
    }
    if (!echo && !to.target_set) {
        fprintf(stderr, "ringo-bench: tcp needs HOST:PORT\n");
        tcp_usage();
        return 2;
    }
    bool v6 = strchr(lg.host, ':') != NULL;
    snprintf(lg.target, sizeof(lg.target), "%s%s%s:%d", v6 ? "[" : "", lg.host,
             v6 ? "]" : "", lg.port);
    if (make_payload(&to, &cfg) < 0 || make_batch(&lg, &cfg) < 0)
        return 1;
    return lg_net_run(&lg, o);
}

int bench_tcp(struct bench_opts *o)
{
    return tcp_main(o, false);
}

int bench_echo(struct bench_opts *o)
{
    return tcp_main(o, true);
}
