/*
 * bench/http.c: ringo-bench http, HTTP/1.1 load against any server.
 *
 *   ringo-bench http [URL] [-c N] [-d T] [--rate R] [--pipeline N]
 *                    [-X METHOD] [-H 'K: V']... [--body S | --body-file F]
 *                    [--timeout T] [--json] [--plot F.svg] [--procs P]
 *
 * The connection engine (loadgen.c) sends prebuilt requests and feeds
 * what it reads to the response parser below, one state machine per
 * connection that consumes bodies as they arrive and never buffers them:
 *
 *   HP_HEAD        until the empty line ending the head; then, by the
 *                  status line and headers:
 *                    1xx (not 101): skip it, stay in HP_HEAD
 *                    HEAD request, 204, 304, Content-Length 0: done
 *                    chunked: HP_CHUNK_SIZE
 *                    Content-Length: HP_BODY
 *                    neither: HP_UNTIL_EOF
 *   HP_BODY        Content-Length bytes, then done
 *   HP_CHUNK_SIZE  a hex size line: 0 -> HP_TRAILER, else HP_CHUNK_DATA
 *   HP_CHUNK_DATA  that many bytes -> HP_CHUNK_END
 *   HP_CHUNK_END   the CRLF after the data -> HP_CHUNK_SIZE
 *   HP_TRAILER     lines until an empty one, then done
 *   HP_UNTIL_EOF   everything until the server closes the connection,
 *                  which ends the body (and the connection)
 *
 * The head must fit in the read buffer (LG_RBUF, 16 KiB). The rules for
 * where a body ends are RFC 9112's section 6.3. Keep-alive: an HTTP/1.1
 * response keeps the connection unless it says Connection: close; an
 * HTTP/1.0 one closes it unless it says Connection: keep-alive. A closing
 * response ends the connection after it, and requests pipelined behind it
 * are sent again on a new one.
 */
#include "lg.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum {
    HP_HEAD = 0,
    HP_BODY,
    HP_CHUNK_SIZE,
    HP_CHUNK_DATA,
    HP_CHUNK_END,
    HP_TRAILER,
    HP_UNTIL_EOF,
};

#define HP_MAX_LINE 4096 /* a chunk-size or trailer line */

struct http_cfg {
    bool head; /* HEAD requests: answers have no body */
};

/* ---- parsing helpers ---- */

/* Offset just past the empty line ending the head in p[0..n), or 0. */
static size_t head_end(const char *p, size_t n)
{
    const char *e = p + n, *nl = p;
    while ((nl = memchr(nl, '\n', (size_t)(e - nl))) != NULL) {
        nl++;
        if (nl < e && *nl == '\n')
            return (size_t)(nl + 1 - p);
        if (nl + 1 < e && nl[0] == '\r' && nl[1] == '\n')
            return (size_t)(nl + 2 - p);
        if (nl + 1 >= e)
            return 0;
    }
    return 0;
}

/* Trim spaces, tabs and a final CR from [*v, *e). */
static void trim(const char **v, const char **e)
{
    while (*v < *e && (**v == ' ' || **v == '\t'))
        (*v)++;
    while (*e > *v && ((*e)[-1] == ' ' || (*e)[-1] == '\t' || (*e)[-1] == '\r'))
        (*e)--;
}

/* Does the comma-separated list [v, e) hold token t (any case)? */
static bool has_token(const char *v, const char *e, const char *t)
{
    size_t tl = strlen(t);
    while (v < e) {
        const char *c = memchr(v, ',', (size_t)(e - v));
        const char *te = c ? c : e;
        const char *tv = v;
        trim(&tv, &te);
        if ((size_t)(te - tv) == tl && !strncasecmp(tv, t, tl))
            return true;
        v = c ? c + 1 : e;
    }
    return false;
}

/* Is the last token of the list [v, e) t? */
static bool last_token(const char *v, const char *e, const char *t)
{
    const char *c = e;
    while (c > v && c[-1] != ',')
        c--;
    trim(&c, &e);
    return (size_t)(e - c) == strlen(t) && !strncasecmp(c, t, strlen(t));
}

/* What a head says about its body and the connection. */
struct head {
    int minor; /* HTTP/1.<minor> */
    int status;
    bool chunked; /* Transfer-Encoding ends in chunked */
    bool coded;   /* some other Transfer-Encoding */
    bool has_len;
    uint64_t len;     /* Content-Length */
    bool close, keep; /* Connection: close / keep-alive */
};

/* Parse a Content-Length value; -1 when malformed or conflicting. */
static int head_length(struct head *h, const char *v, const char *e)
{
    uint64_t n = 0;
    if (v == e)
        return -1;
    for (const char *s = v; s < e; s++) {
        if (*s < '0' || *s > '9' || n > UINT64_MAX / 16)
            return -1;
        n = n * 10 + (uint64_t)(*s - '0');
    }
    if (h->has_len && h->len != n)
        return -1;
    h->has_len = true;
    h->len = n;
    return 0;
}

/* One header line [l, e) (no CRLF). Returns 0 or -1. */
static int head_field(struct head *h, const char *l, const char *e)
{
    const char *colon = memchr(l, ':', (size_t)(e - l));
    if (!colon || colon == l)
        return -1;
    size_t nl = (size_t)(colon - l);
    const char *v = colon + 1, *ve = e;
    trim(&v, &ve);
    if (nl == 14 && !strncasecmp(l, "content-length", 14))
        return head_length(h, v, ve);
    if (nl == 17 && !strncasecmp(l, "transfer-encoding", 17)) {
        h->chunked = last_token(v, ve, "chunked");
        h->coded = !h->chunked;
    } else if (nl == 10 && !strncasecmp(l, "connection", 10)) {
        h->close |= has_token(v, ve, "close");
        h->keep |= has_token(v, ve, "keep-alive");
    }
    return 0;
}

/* The status line and headers of p[0..n) (n ends at the empty line). */
static int head_parse(struct head *h, const char *p, size_t n)
{
    memset(h, 0, sizeof(*h));
    if (n < 13 || memcmp(p, "HTTP/1.", 7) != 0 || p[7] < '0' || p[7] > '9' ||
        p[8] != ' ')
        return -1;
    h->minor = p[7] - '0';
    for (int i = 9; i < 12; i++) {
        if (p[i] < '0' || p[i] > '9')
            return -1;
        h->status = h->status * 10 + (p[i] - '0');
    }
    if (p[12] != ' ' && p[12] != '\r' && p[12] != '\n')
        return -1;
    const char *l = memchr(p, '\n', n), *end = p + n;
    while (l && ++l < end) {
        const char *e = memchr(l, '\n', (size_t)(end - l));
        const char *le = e;
        while (le > l && le[-1] == '\r')
            le--;
        if (le == l) /* the empty line */
            break;
        if (head_field(h, l, le) < 0)
            return -1;
        l = e;
    }
    return 0;
}

/* ---- the response state machine ---- */

static size_t proto_err(struct lg_conn *c, int *ev)
{
    c->perr = LG_E_PROTOCOL;
    *ev = LG_EV_ERR;
    return 0;
}

static size_t resp_done(struct lg_conn *c, size_t used, int *ev)
{
    c->ps.h.state = HP_HEAD;
    *ev = LG_EV_DONE;
    return used;
}

static size_t hp_head(struct lg_conn *c, const char *p, size_t n, int *ev)
{
    const struct http_cfg *cfg = c->lg->pcfg;
    size_t end = head_end(p, n);
    struct head h;
    if (!end)
        return 0;
    if (head_parse(&h, p, end) < 0)
        return proto_err(c, ev);
    if (h.status >= 100 && h.status < 200 && h.status != 101)
        return end; /* interim: the final answer follows */
    c->status = h.status;
    c->close = h.minor == 0 ? !h.keep : h.close;
    if (h.status == 101) /* the connection leaves HTTP */
        c->close = true;
    if (cfg->head || h.status == 204 || h.status == 304 || h.status < 200)
        return resp_done(c, end, ev);
    if (h.chunked) {
        c->ps.h.state = HP_CHUNK_SIZE;
    } else if (h.has_len && !h.coded) {
        if (h.len == 0)
            return resp_done(c, end, ev);
        c->ps.h.state = HP_BODY;
        c->ps.h.left = h.len;
    } else {
        c->ps.h.state = HP_UNTIL_EOF;
        c->close = true;
    }
    return end;
}

/* A line of p[0..n) without its LF; 0 and *len = -1 when incomplete. */
static size_t line(const char *p, size_t n, size_t *len)
{
    const char *nl = memchr(p, '\n', n);
    if (!nl) {
        *len = SIZE_MAX;
        return 0;
    }
    *len = (size_t)(nl - p);
    if (*len && p[*len - 1] == '\r')
        (*len)--;
    return (size_t)(nl + 1 - p);
}

static size_t hp_chunk_size(struct lg_conn *c, const char *p, size_t n, int *ev)
{
    size_t len, used = line(p, n, &len);
    if (!used)
        return n > HP_MAX_LINE ? proto_err(c, ev) : 0;
    uint64_t size = 0;
    size_t i = 0;
    for (; i < len; i++) {
        int d = p[i] >= '0' && p[i] <= '9'   ? p[i] - '0'
                : p[i] >= 'a' && p[i] <= 'f' ? p[i] - 'a' + 10
                : p[i] >= 'A' && p[i] <= 'F' ? p[i] - 'A' + 10
                                             : -1;
        if (d < 0)
            break;
        if (size >> 60)
            return proto_err(c, ev);
        size = size * 16 + (uint64_t)d;
    }
    if (i == 0 || (i < len && p[i] != ';' && p[i] != ' ' && p[i] != '\t'))
        return proto_err(c, ev);
    c->ps.h.state = size ? HP_CHUNK_DATA : HP_TRAILER;
    c->ps.h.left = size;
    return used;
}

static size_t hp_chunk_end(struct lg_conn *c, const char *p, size_t n, int *ev)
{
    if (n == 0 || (n == 1 && p[0] == '\r'))
        return 0;
    size_t used = p[0] == '\n' ? 1 : p[0] == '\r' && p[1] == '\n' ? 2 : 0;
    if (!used)
        return proto_err(c, ev);
    c->ps.h.state = HP_CHUNK_SIZE;
    return used;
}

static size_t hp_trailer(struct lg_conn *c, const char *p, size_t n, int *ev)
{
    size_t len, used = line(p, n, &len);
    if (!used)
        return n > HP_MAX_LINE ? proto_err(c, ev) : 0;
    return len == 0 ? resp_done(c, used, ev) : used;
}

/* Body bytes: consume up to left of them. */
static size_t hp_skip(struct lg_conn *c, size_t n, int next, int *ev)
{
    size_t k = c->ps.h.left < n ? (size_t)c->ps.h.left : n;
    c->ps.h.left -= k;
    if (c->ps.h.left == 0) {
        if (next == HP_HEAD)
            return resp_done(c, k, ev);
        c->ps.h.state = next;
    }
    return k;
}

static size_t http_parse(struct lg_conn *c, const char *p, size_t n, int *ev)
{
    switch (c->ps.h.state) {
    case HP_HEAD:
        return hp_head(c, p, n, ev);
    case HP_BODY:
        return hp_skip(c, n, HP_HEAD, ev);
    case HP_CHUNK_SIZE:
        return hp_chunk_size(c, p, n, ev);
    case HP_CHUNK_DATA:
        return hp_skip(c, n, HP_CHUNK_END, ev);
    case HP_CHUNK_END:
        return hp_chunk_end(c, p, n, ev);
    case HP_TRAILER:
        return hp_trailer(c, p, n, ev);
    default: /* HP_UNTIL_EOF */
        return n;
    }
}

static void http_reset(struct lg_conn *c)
{
    c->ps.h.state = HP_HEAD;
    c->ps.h.left = 0;
}

static int http_at_eof(struct lg_conn *c)
{
    switch (c->ps.h.state) {
    case HP_HEAD:
        return LG_EOF_IDLE;
    case HP_UNTIL_EOF:
        c->ps.h.state = HP_HEAD;
        return LG_EOF_DONE;
    default:
        return LG_EOF_MID;
    }
}

static const struct lg_proto http_proto = {
    .reset = http_reset,
    .parse = http_parse,
    .at_eof = http_at_eof,
};

/* ---- options and the request ---- */

struct http_opts {
    const char *method;
    const char *body;
    size_t body_len;
    const char *hdr[64];
    int nhdr;
    char path[1024];
    bool url, port_set;
    struct http_cfg cfg;
};

static void http_usage(void)
{
    fprintf(stderr,
            "usage: ringo-bench http [http://HOST[:PORT]/PATH] [options]\n"
            "%s"
            "  -X, --method M        request method (GET)\n"
            "  -H, --header 'K: V'   add a header (repeatable)\n"
            "  --body S              request body (sets Content-Length)\n"
            "  --body-file F         request body from a file\n"
            "  --host H --port P --path /p   the target without a URL\n"
            "%s",
            lg_net_usage, lg_common_usage);
}

/* Parse http://host[:port][/path]; [v6]:port too. Returns 0 or -1. */
static int parse_url(struct lg_net *lg, struct http_opts *ho, const char *u)
{
    if (!strncasecmp(u, "https://", 8)) {
        fprintf(stderr, "ringo-bench: https is not supported\n");
        return -1;
    }
    if (strncasecmp(u, "http://", 7) != 0)
        return -1;
    const char *h = u + 7, *e = h + strcspn(h, "/?#");
    const char *hs = h, *he, *colon;
    if (*h == '[') {
        hs = h + 1;
        he = memchr(hs, ']', (size_t)(e - hs));
        if (!he)
            return -1;
        colon = he + 1 < e && he[1] == ':' ? he + 1 : NULL;
    } else {
        colon = memchr(h, ':', (size_t)(e - h));
        he = colon ? colon : e;
    }
    if (he == hs || (size_t)(he - hs) >= sizeof(lg->host))
        return -1;
    memcpy(lg->host, hs, (size_t)(he - hs));
    lg->host[he - hs] = '\0';
    long port = 80;
    if (colon) {
        char tmp[8] = {0};
        size_t pl = (size_t)(e - colon - 1);
        if (pl == 0 || pl >= sizeof(tmp))
            return -1;
        memcpy(tmp, colon + 1, pl);
        if (lg_parse_pos(tmp, 1, &port) < 0 || port > 65535)
            return -1;
    }
    lg->port = (int)port;
    ho->port_set = colon != NULL;
    snprintf(ho->path, sizeof(ho->path), "%s%s", *e == '/' ? "" : "/", e);
    char *hash = strchr(ho->path, '#');
    if (hash)
        *hash = '\0';
    snprintf(lg->target, sizeof(lg->target), "%s", u);
    ho->url = true;
    return 0;
}

/* Read the whole of file f. Returns 0 or -1 (message printed). */
static int read_file(const char *f, const char **out, size_t *len)
{
    FILE *fp = fopen(f, "rb");
    char *buf = NULL;
    size_t n = 0, cap = 0;
    if (!fp) {
        fprintf(stderr, "ringo-bench: %s: %s\n", f, strerror(errno));
        return -1;
    }
    for (;;) {
        if (n == cap) {
            cap = cap ? cap * 2 : 65536;
            char *nb = realloc(buf, cap);
            if (!nb)
                break;
            buf = nb;
        }
        size_t r = fread(buf + n, 1, cap - n, fp);
        n += r;
        if (r == 0)
            break;
    }
    int bad = ferror(fp);
    fclose(fp);
    if (bad || !buf) {
        fprintf(stderr, "ringo-bench: %s: cannot read\n", f);
        free(buf);
        return -1;
    }
    *out = buf;
    *len = n;
    return 0;
}

static int http_opt(struct lg_net *lg, struct http_opts *ho,
                    struct bench_opts *o, int *i)
{
    int argc = o->argc;
    char **argv = o->argv;
    const char *a = argv[*i], *v = *i + 1 < argc ? argv[*i + 1] : NULL;
    int rc = lg_net_opt(lg, o, argc, argv, i);
    long n;
    if (rc)
        return rc;
    if (!strncasecmp(a, "http://", 7) || !strncasecmp(a, "https://", 8)) {
        (*i)++;
        return parse_url(lg, ho, a) < 0 ? -1 : 1;
    }
    if (!strcmp(a, "-X") || !strcmp(a, "--method")) {
        if (!v || !*v || strpbrk(v, " \r\n"))
            return -1;
        ho->method = v;
    } else if (!strcmp(a, "-H") || !strcmp(a, "--header")) {
        if (!v || !strchr(v, ':') || strpbrk(v, "\r\n") ||
            ho->nhdr == (int)(sizeof(ho->hdr) / sizeof(ho->hdr[0])))
            return -1;
        ho->hdr[ho->nhdr++] = v;
    } else if (!strcmp(a, "--body")) {
        if (!v)
            return -1;
        ho->body = v;
        ho->body_len = strlen(v);
    } else if (!strcmp(a, "--body-file")) {
        if (!v || read_file(v, &ho->body, &ho->body_len) < 0)
            return -1;
    } else if (!strcmp(a, "--host")) {
        if (!v)
            return -1;
        snprintf(lg->host, sizeof(lg->host), "%s", v);
    } else if (!strcmp(a, "--port")) {
        if (!v || lg_parse_pos(v, 1, &n) < 0 || n > 65535)
            return -1;
        lg->port = (int)n;
        ho->port_set = true;
    } else if (!strcmp(a, "--path")) {
        if (!v || v[0] != '/' || strpbrk(v, " \r\n"))
            return -1;
        snprintf(ho->path, sizeof(ho->path), "%s", v);
    } else {
        return 0;
    }
    *i += 2;
    return 1;
}

/* Has the user given header name? */
static bool user_has(const struct http_opts *ho, const char *name)
{
    size_t nl = strlen(name);
    for (int i = 0; i < ho->nhdr; i++)
        if (!strncasecmp(ho->hdr[i], name, nl) && ho->hdr[i][nl] == ':')
            return true;
    return false;
}

/* Append to a growing buffer; returns -1 when out of memory. */
static int put(char **b, size_t *len, size_t *cap, const void *p, size_t n)
{
    if (*len + n > *cap) {
        size_t nc = (*len + n) * 2;
        char *nb = realloc(*b, nc);
        if (!nb)
            return -1;
        *b = nb;
        *cap = nc;
    }
    memcpy(*b + *len, p, n);
    *len += n;
    return 0;
}

/* One request, then lg->pipeline copies of it in lg->batch. */
static int build_request(struct lg_net *lg, struct http_opts *ho)
{
    char *b = NULL, line[4096];
    size_t len = 0, cap = 0;
    int bad = 0, n;
    bool v6 = strchr(lg->host, ':') != NULL;
    n = snprintf(line, sizeof(line), "%s %s HTTP/1.1\r\n", ho->method,
                 ho->path);
    bad |= put(&b, &len, &cap, line, (size_t)n);
    if (!user_has(ho, "Host")) {
        n = snprintf(line, sizeof(line), "Host: %s%s%s", v6 ? "[" : "",
                     lg->host, v6 ? "]" : "");
        if (lg->port != 80)
            n += snprintf(line + n, sizeof(line) - (size_t)n, ":%d", lg->port);
        n += snprintf(line + n, sizeof(line) - (size_t)n, "\r\n");
        bad |= put(&b, &len, &cap, line, (size_t)n);
    }
    if (!user_has(ho, "User-Agent"))
        bad |= put(&b, &len, &cap, "User-Agent: ringo-bench\r\n", 25);
    for (int i = 0; i < ho->nhdr; i++) {
        bad |= put(&b, &len, &cap, ho->hdr[i], strlen(ho->hdr[i]));
        bad |= put(&b, &len, &cap, "\r\n", 2);
    }
    if (ho->body && !user_has(ho, "Content-Length")) {
        n = snprintf(line, sizeof(line), "Content-Length: %zu\r\n",
                     ho->body_len);
        bad |= put(&b, &len, &cap, line, (size_t)n);
    }
    bad |= put(&b, &len, &cap, "\r\n", 2);
    if (ho->body)
        bad |= put(&b, &len, &cap, ho->body, ho->body_len);
    size_t one = len;
    char *nb = bad ? NULL : realloc(b, one * (size_t)lg->pipeline);
    if (!nb) {
        free(b);
        return -1;
    }
    b = nb;
    for (int i = 1; i < lg->pipeline; i++)
        memcpy(b + (size_t)i * one, b, one);
    lg->batch = b;
    lg->req_len = one;
    return 0;
}

int bench_http(struct bench_opts *o)
{
    static struct lg_net lg; /* connections may outlive a failed wait */
    static struct http_opts ho;
    lg.proto = &http_proto;
    lg.pcfg = &ho.cfg;
    lg.bench = "http";
    lg.http = true;
    snprintf(lg.host, sizeof(lg.host), "127.0.0.1");
    lg.port = 8080;
    lg.conns = 100;
    lg.dur_ns = 5000000000ull;
    lg.pipeline = 1;
    lg.timeout_ns = 10000000000ull;
    ho.method = "GET";
    snprintf(ho.path, sizeof(ho.path), "/");
    for (int i = 1; i < o->argc;) {
        if (!strcmp(o->argv[i], "-h") || !strcmp(o->argv[i], "--help")) {
            http_usage();
            return 0;
        }
        int rc = http_opt(&lg, &ho, o, &i);
        if (rc <= 0) {
            if (rc == 0)
                fprintf(stderr, "ringo-bench: unknown option '%s'\n",
                        o->argv[i]);
            else
                fprintf(stderr, "ringo-bench: bad value for '%s'\n",
                        o->argv[i]);
            http_usage();
            return 2;
        }
    }
    ho.cfg.head = !strcasecmp(ho.method, "HEAD");
    if (!ho.url) {
        bool v6 = strchr(lg.host, ':') != NULL;
        snprintf(lg.target, sizeof(lg.target), "http://%s%s%s:%d%s",
                 v6 ? "[" : "", lg.host, v6 ? "]" : "", lg.port, ho.path);
    }
    if (build_request(&lg, &ho) < 0) {
        fprintf(stderr, "ringo-bench: out of memory\n");
        return 1;
    }
    return lg_net_run(&lg, o);
}
