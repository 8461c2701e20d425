/*
 * examples/httpd_files.c: httpd's static files (--root DIR).
 *
 * Invariants:
 *  1. No file outside the root is ever sent. Two checks keep it:
 *     a. the decoded path has no ".." segment (checked after
 *        percent-decoding, so %2e%2e is caught too) and no NUL byte;
 *     b. the file actually opened resolves, through /proc/self/fd, to a
 *        path under the root's own real path, so a symlink inside the
 *        root that leads out of it gives 403. Checking the opened
 *        descriptor, not the name, leaves no window for a rename in
 *        between.
 *  2. Only regular files are read; a directory gets its index.html (or a
 *     redirect to the name with a trailing slash), anything else 403.
 *     Files are opened O_NONBLOCK so that a FIFO cannot block the open.
 *  3. File data is read with rg_pread (io_uring), FILE_CHUNK bytes at a
 *     time; a file that fits after the head in the write buffer goes out
 *     with the head in one write.
 *
 * Open and read errors map to statuses: ENOENT and ENOTDIR 404; EACCES,
 * EPERM and ELOOP 403; anything else 500. A file that shrinks while it is
 * being sent ends the connection (its Content-Length was promised).
 */
#include "httpd.h"
#include "server.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define FILE_CHUNK (64 << 10) /* bytes per rg_pread of a large file */

static char root_real[PATH_MAX]; /* realpath of --root; "" when unset */
static size_t root_len;

int files_init(const char *root)
{
    if (!realpath(root, root_real)) {
        fprintf(stderr, "httpd: --root %s: %s\n", root, strerror(errno));
        return -1;
    }
    struct stat st;
    if (stat(root_real, &st) < 0 || !S_ISDIR(st.st_mode)) {
        fprintf(stderr, "httpd: --root %s: not a directory\n", root);
        return -1;
    }
    root_len = strlen(root_real);
    if (root_len == 1)
        root_len = 0; /* "/": every absolute path is under it */
    return 0;
}

bool files_enabled(void)
{
    return root_real[0] != '\0';
}

static int hexval(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

/*
 * Percent-decode the path part of p[0..n) (up to '?' or '#') into
 * out[cap]. Returns the decoded length, or -400 (malformed escape, NUL,
 * too long) or -403 (a ".." segment).
 */
static long decode_path(const char *p, size_t n, char *out, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; i < n && p[i] != '?' && p[i] != '#'; i++) {
        int ch = (unsigned char)p[i];
        if (ch == '%') {
            int hi = i + 2 < n ? hexval(p[i + 1]) : -1;
            int lo = hi >= 0 ? hexval(p[i + 2]) : -1;
            if (lo < 0)
                return -400;
            ch = hi * 16 + lo;
            i += 2;
        }
        if (ch == 0 || o + 1 >= cap)
            return -400;
        out[o++] = (char)ch;
    }
    out[o] = '\0';
    /* Segments: between slashes, or the end. */
    for (const char *s = out; *s;) {
        const char *e = strchr(s, '/');
        size_t len = e ? (size_t)(e - s) : strlen(s);
        if (len == 2 && s[0] == '.' && s[1] == '.')
            return -403;
        s += len + (e != NULL);
    }
    return (long)o;
}

static const char *status_body(int status)
{
    switch (status) {
    case 400:
        return "bad request\n";
    case 403:
        return "forbidden\n";
    case 404:
        return "not found\n";
    default:
        return "internal error\n";
    }
}

static int errno_status(int err)
{
    switch (err) {
    case ENOENT:
    case ENOTDIR:
    case ENAMETOOLONG:
        return 404;
    case EACCES:
    case EPERM:
    case ELOOP:
        return 403;
    default:
        return 500;
    }
}

/* Does the open file fd lie under the root? (Invariant 1b.) */
static bool under_root(int fd)
{
    char link[64], real[PATH_MAX];
    snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, real, sizeof(real) - 1);
    if (n < 0)
        return false;
    real[n] = '\0';
    return !strncmp(real, root_real, root_len) &&
           (real[root_len] == '/' || real[root_len] == '\0');
}

static const char *content_type(const char *path)
{
    static const char *const types[][2] = {
        {".html", "text/html; charset=utf-8"},
        {".htm", "text/html; charset=utf-8"},
        {".txt", "text/plain; charset=utf-8"},
        {".css", "text/css"},
        {".js", "text/javascript"},
        {".json", "application/json"},
        {".svg", "image/svg+xml"},
        {".png", "image/png"},
        {".jpg", "image/jpeg"},
        {".jpeg", "image/jpeg"},
        {".gif", "image/gif"},
        {".ico", "image/x-icon"},
        {".wasm", "application/wasm"},
        {".pdf", "application/pdf"},
    };
    const char *dot = strrchr(path, '.');
    if (dot && !strchr(dot, '/'))
        for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
            if (!strcasecmp(dot, types[i][0]))
                return types[i][1];
    return "application/octet-stream";
}

/* Read size bytes of ffd at 0 into buf. Returns 0 or -1 (error, or the
   file got shorter). */
static int pread_full(int ffd, char *buf, size_t size, off_t off)
{
    size_t got = 0;
    while (got < size) {
        ssize_t n = rg_pread(ffd, buf + got, size - got, off + (off_t)got);
        if (n <= 0)
            return -1;
        got += (size_t)n;
    }
    return 0;
}

/* Send the body of ffd (size bytes) after the head already in wbuf. */
static void send_body(struct conn *c, int ffd, size_t size)
{
    if (size <= WBUF_SIZE - c->wlen) {
        if (pread_full(ffd, c->wbuf + c->wlen, size, 0) < 0)
            goto fail;
        c->wlen += size;
        return;
    }
    char *buf = malloc(FILE_CHUNK);
    if (!buf || conn_flush(c) < 0) {
        free(buf);
        goto fail;
    }
    for (size_t off = 0; off < size;) {
        size_t k = size - off < FILE_CHUNK ? size - off : FILE_CHUNK;
        if (pread_full(ffd, buf, k, (off_t)off) < 0 ||
            rg_write_all(c->fd, buf, k) < 0) {
            free(buf);
            goto fail;
        }
        off += k;
    }
    free(buf);
    return;
fail:
    /* The head promised size bytes: the connection cannot go on. */
    c->wlen = 0;
    c->broken = true;
}

/* Redirect a directory named without its trailing slash. */
static void redirect_dir(struct conn *c, const struct req *rq)
{
    size_t n = rq->path_len;
    const char *q = memchr(rq->path, '?', n);
    if (q)
        n = (size_t)(q - rq->path);
    char loc[PATH_MAX + 32];
    if (n + 16 > sizeof(loc)) {
        resp_text(c, rq, 404, "not found\n", NULL);
        return;
    }
    snprintf(loc, sizeof(loc), "Location: %.*s/\r\n", (int)n, rq->path);
    resp_text(c, rq, 301, "moved\n", loc);
}

/* Open full (a directory gets its index.html); returns an fd or -status,
   with *st filled in. */
static int open_file(char *full, size_t cap, bool *is_dir, struct stat *st)
{
    *is_dir = false;
    for (int tries = 0; tries < 2; tries++) {
        int ffd =
            rg_open(full, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK, 0);
        if (ffd < 0)
            return -errno_status(-ffd);
        if (!under_root(ffd) || fstat(ffd, st) < 0) {
            rg_close(ffd);
            return -403;
        }
        if (S_ISREG(st->st_mode))
            return ffd;
        rg_close(ffd);
        size_t len = strlen(full);
        if (!S_ISDIR(st->st_mode) || tries > 0)
            return -403;
        if (len == 0 || full[len - 1] != '/') {
            *is_dir = true;
            return -301;
        }
        if (len + sizeof("index.html") > cap)
            return -404;
        memcpy(full + len, "index.html", sizeof("index.html"));
    }
    return -403;
}

void files_serve(struct conn *c, const struct req *rq)
{
    char full[PATH_MAX];
    memcpy(full, root_real, root_len);
    long n = decode_path(rq->path, rq->path_len, full + root_len,
                         sizeof(full) - root_len);
    if (n < 0) {
        resp_text(c, rq, (int)-n, status_body((int)-n), NULL);
        return;
    }
    bool is_dir;
    struct stat st;
    int ffd = open_file(full, sizeof(full), &is_dir, &st);
    if (ffd == -301) {
        redirect_dir(c, rq);
        return;
    }
    if (ffd < 0) {
        resp_text(c, rq, -ffd, status_body(-ffd), NULL);
        return;
    }
    resp_head(c, rq, 200, content_type(full), (uint64_t)st.st_size, NULL);
    if (!rq->head && st.st_size > 0)
        send_body(c, ffd, (size_t)st.st_size);
    rg_close(ffd);
}
