/*
 * tests/fuzz/fuzz_http.c: a libFuzzer target for httpd's request path,
 * examples/httpd_proto.c (parsing, framing, responses), without sockets.
 *
 * Input: one control byte, then the bytes a client sends on one
 * connection. They are fed to httpd_serve() the way httpd.c's connection
 * loop does (append to rbuf, serve, flush), twice:
 *
 *   A. in reads as large as rbuf has room for;
 *   B. in reads of 1 to 64 bytes, sizes drawn from a generator seeded with
 *      the control byte (bit 7 also plays "server shutting down").
 *
 * and checks, besides what ASan and UBSan catch:
 *  1. after each read, rbuf has room left and holds at most
 *     MAX_HEADER_BYTES, unless the connection is closing (httpd.c would
 *     otherwise read 0 bytes, or hold more than one head's worth);
 *  2. the output is a sequence of well-formed responses: a status line
 *     "HTTP/1.1 NNN ", header lines, a Content-Length that matches the
 *     body, and Connection: close on the last one iff the connection
 *     closed;
 *  3. A and B produce the same responses (Date lines aside): the answers
 *     do not depend on how the bytes were split across reads, so no
 *     split can desynchronize the pipeline.
 * A failed check aborts with the reason, and libFuzzer saves the input.
 *
 * The same file builds without libFuzzer (tests/fuzz/replay.c supplies
 * main) to replay the seed corpus as an ordinary test.
 */
#include "httpd.h"
#include "server.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OUT_MAX (1 << 20) /* output kept per run; inputs are far smaller */

struct out {
    char buf[OUT_MAX];
    size_t len;
    bool overflow;
};

static struct out out_a, out_b;
static struct out *out_cur;
static bool stopping;
static struct conn conn;

/* ---- what httpd_proto.c needs from the rest of httpd ---- */

int conn_flush(struct conn *c)
{
    if (c->broken) {
        c->wlen = 0;
        return -1;
    }
    size_t k = c->wlen;
    if (k > OUT_MAX - out_cur->len) {
        k = OUT_MAX - out_cur->len;
        out_cur->overflow = true;
    }
    memcpy(out_cur->buf + out_cur->len, c->wbuf, k);
    out_cur->len += k;
    c->wlen = 0;
    return 0;
}

bool srv_stopping(void)
{
    return stopping;
}

bool files_enabled(void)
{
    return false;
}

void files_serve(struct conn *c, const struct req *rq)
{
    (void)c;
    (void)rq;
    abort(); /* files_enabled() is false */
}

/* ---- checks ---- */

__attribute__((noreturn)) static void fail(const char *what)
{
    fprintf(stderr, "fuzz_http: %s\n", what);
    abort();
}

/* A small generator (xorshift32) for the read sizes of run B. */
static uint32_t next_rand(uint32_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return *s;
}

/* Feed data[0..size) as httpd.c would: reads as large as rbuf has room
   for, or (seed non-zero) of random sizes in 1..64. Returns whether the
   connection ended closing. */
static bool run(const uint8_t *data, size_t size, uint32_t seed, struct out *o)
{
    struct conn *c = &conn;
    memset(c, 0, sizeof(*c));
    c->fd = -1;
    o->len = 0;
    o->overflow = false;
    out_cur = o;
    size_t pos = 0;
    while (pos < size && !c->close && !c->broken) {
        size_t room = RBUF_SIZE - c->rlen;
        size_t k = size - pos < room ? size - pos : room;
        if (seed) {
            size_t want = 1 + next_rand(&seed) % 64;
            k = k < want ? k : want;
        }
        memcpy(c->rbuf + c->rlen, data + pos, k);
        c->rlen += k;
        pos += k;
        httpd_serve(c);
        conn_flush(c);
        if (!c->close && (c->rlen >= RBUF_SIZE || c->rlen > MAX_HEADER_BYTES))
            fail("rbuf holds more than one head's worth after serving");
    }
    return c->close;
}

/* The length of the response head at p[0..n) through its blank line;
   0 if it is not all there. */
static size_t head_len(const char *p, size_t n)
{
    for (size_t i = 3; i < n; i++)
        if (p[i] == '\n' && p[i - 1] == '\r' && p[i - 2] == '\n' &&
            p[i - 3] == '\r')
            return i + 1;
    return 0;
}

/* Does p (9 bytes at least) start like a status line? */
static bool is_status_line(const char *p)
{
    return !strncmp(p, "HTTP/1.1 ", 9);
}

/* Parse "Content-Length: N\r\n" from a response head; -1 if absent. */
static long head_length(const char *h, size_t n)
{
    static const char key[] = "\r\nContent-Length: ";
    const char *p = memmem(h, n, key, sizeof(key) - 1);
    if (!p)
        return -1;
    return strtol(p + sizeof(key) - 1, NULL, 10);
}

/* Check o is well-formed responses (check 2). */
static void check_responses(const struct out *o, bool closed)
{
    size_t pos = 0;
    bool last_close = false;
    while (pos < o->len) {
        const char *r = o->buf + pos;
        size_t left = o->len - pos;
        if (left < 13 || !is_status_line(r))
            fail("response does not start with a status line");
        size_t hlen = head_len(r, left);
        if (hlen == 0)
            fail("response head not terminated");
        long blen = head_length(r, hlen);
        if (blen < 0)
            fail("response without Content-Length");
        last_close = memmem(r, hlen, "\r\nConnection: close\r\n", 21) != NULL;
        /* A HEAD answer has a length but no body: what follows its head
           is nothing or the next response (no body starts like one). */
        bool headless =
            left == hlen || (left - hlen >= 9 && is_status_line(r + hlen));
        if (!headless && (size_t)blen > left - hlen)
            fail("response body shorter than its Content-Length");
        pos += hlen + (headless ? 0 : (size_t)blen);
        if (last_close && pos != o->len)
            fail("bytes after a response that closes the connection");
    }
    if (closed && o->len > 0 && !last_close)
        fail("connection closed after a response that did not say so");
    if (!closed && last_close)
        fail("Connection: close sent but the connection stayed open");
}

/* Remove the Date lines (their seconds may differ between runs). */
static size_t strip_dates(char *b, size_t n)
{
    size_t w = 0;
    for (size_t i = 0; i < n;) {
        if (n - i >= 6 && !memcmp(b + i, "Date: ", 6) &&
            (i == 0 || b[i - 1] == '\n')) {
            const char *nl = memchr(b + i, '\n', n - i);
            i = nl ? (size_t)(nl - b) + 1 : n;
            continue;
        }
        b[w++] = b[i++];
    }
    return w;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t ctl = data[0];
    data++;
    size--;
    stopping = (ctl & 0x80) != 0;
    bool ca = run(data, size, 0, &out_a);
    bool cb = run(data, size, 0x9e3779b9u ^ ctl, &out_b);
    if (out_a.overflow || out_b.overflow)
        return 0;
    check_responses(&out_a, ca);
    check_responses(&out_b, cb);
    size_t la = strip_dates(out_a.buf, out_a.len);
    size_t lb = strip_dates(out_b.buf, out_b.len);
    if (ca != cb || la != lb || memcmp(out_a.buf, out_b.buf, la) != 0) {
        fprintf(stderr,
                "--- whole reads (%zu bytes):\n%.*s\n"
                "--- small reads (%zu bytes):\n%.*s\n",
                la, (int)la, out_a.buf, lb, (int)lb, out_b.buf);
        fail("answers depend on how the request bytes were split");
    }
    return 0;
}
