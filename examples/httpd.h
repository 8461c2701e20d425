/*
 * examples/httpd.h: what httpd.c (connections, deadlines, main),
 * httpd_proto.c (requests and responses on a connection's buffers) and
 * httpd_files.c (static files under --root) share.
 */
#ifndef RINGO_EXAMPLES_HTTPD_H
#define RINGO_EXAMPLES_HTTPD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RBUF_SIZE 16384       /* request bytes buffered per connection */
#define WBUF_SIZE 16384       /* responses batched per connection */
#define MAX_HEADER_BYTES 8192 /* a longer request head gets 431 */

/*
 * One connection, on its goroutine's stack: only the pages the buffers
 * actually use become resident. Owned by that goroutine alone.
 */
struct conn {
    int fd;
    bool close;            /* close once the responses so far are written */
    bool linger;           /* closing after an error: drain the client first */
    bool broken;           /* a write failed: nothing more can be sent */
    bool short_dl;         /* deadline is req_deadline, not the idle one */
    uint64_t deadline;     /* the read/write deadline currently set, abs ns */
    uint64_t req_deadline; /* the request under way must have arrived by
                              then; 0 between requests */
    size_t discard;        /* request body bytes still to skip */
    size_t rlen;           /* bytes in rbuf */
    size_t wlen;           /* bytes in wbuf */
    char rbuf[RBUF_SIZE];
    char wbuf[WBUF_SIZE];
};

/* The parts of a request the handlers look at; pointers into rbuf. */
struct req {
    const char *method;
    size_t method_len;
    const char *path; /* as sent: percent-encoded, with any query */
    size_t path_len;
    int minor;      /* HTTP/1.<minor> */
    bool head;      /* HEAD: headers only */
    bool keepalive; /* the connection stays open after the response */
};

/*
 * Answer every complete request in c->rbuf[0..c->rlen) into c->wbuf, skip
 * the bodies, and move the incomplete tail to the front of rbuf. Sets
 * c->close after a response that ends the connection (c->linger too after
 * an error); nothing after that request is parsed. Returns how many
 * request boundaries were passed (heads answered plus bodies finished):
 * 0 means the request under way is still incomplete. See httpd_proto.c.
 */
int httpd_serve(struct conn *c);

/* Append n bytes to the connection's write buffer, flushing when full. */
void wb_put(struct conn *c, const void *p, size_t n);

/*
 * Write out the write buffer. Returns 0 or -errno (c->broken is set).
 * Defined by the program that links httpd_proto.c: httpd.c writes to the
 * socket, the fuzzer to memory.
 */
int conn_flush(struct conn *c);

/*
 * Append a response head: status line, Server, Date, Content-Type (if
 * ctype), Content-Length, the Connection header rq calls for (rq NULL:
 * close), extra (preformatted "Name: value\r\n" lines, or NULL), blank
 * line. Sets c->close when the connection ends after this response.
 */
void resp_head(struct conn *c, const struct req *rq, int status,
               const char *ctype, uint64_t length, const char *extra);

/* A complete text/plain response (body omitted for HEAD). */
void resp_text(struct conn *c, const struct req *rq, int status,
               const char *body, const char *extra);

/* An error response that ends the connection after a lingering close. */
void resp_fatal(struct conn *c, int status, const char *body);

/* Static files: see httpd_files.c. */
int files_init(const char *root);
bool files_enabled(void);
void files_serve(struct conn *c, const struct req *rq);

#endif
