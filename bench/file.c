/*
 * bench/file.c: ringo-bench file, fio-like file I/O through io_uring.
 *
 *   ringo-bench file PATH [--rw read|write|randread|randwrite] [--bs 4k]
 *                    [--size 256M] [--qd 32] [--direct] [-d T | --io-count N]
 *                    [--verify] [--seed S] [--fsync] [--json] [--plot F]
 *
 * --qd goroutines each keep one rg_pread or rg_pwrite of --bs bytes in
 * flight, so the queue depth the device sees is --qd (fio's iodepth with
 * one job; --procs 1 by default: one thread, one ring). Sequential modes
 * share one cursor, so consecutive I/Os go to consecutive blocks whatever
 * goroutine issues them, and wrap at the end of the file; random modes
 * draw blocks uniformly (xorshift64*, seeded from --seed). The run lasts
 * -d, or --io-count I/Os, or by default one file's worth of blocks.
 *
 * The file: writes create it and extend it to --size. Reads use the
 * file's size unless --size is given; a file shorter than what the reads
 * need is first laid out (written sequentially with the pattern, as fio
 * does), so reads never hit holes or the end of the file.
 *
 * --direct opens with O_DIRECT; buffers come from posix_memalign (4 KiB),
 * offsets are multiples of --bs, so --bs must be a multiple of the
 * device's logical block size. A file system that refuses O_DIRECT (open
 * fails with EINVAL) ends the run with that message before any I/O.
 *
 * The pattern
 * ===========
 * Every write stores, in each 8-byte little-endian word at file offset o,
 * the value o XOR (seed * 0x9E3779B97F4A7C15): derived from the offset,
 * so a block written to the wrong place or a corrupted byte is caught by
 * reading it back, and from the seed (1 by default), so a stale file from
 * a run with another seed is caught too. With --verify, reads check
 * every word they read (a block that differs is one verify error; the
 * first bad byte's offset is reported), and writes are followed by a
 * verify pass (not timed) over every block the run wrote.
 *
 * The first failed I/O ends the run (after the I/Os in flight), with its
 * errno; verify errors do not.
 */
#include "lg.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define F_KEY 0x9E3779B97F4A7C15ull   /* pattern: seed multiplier */
#define F_LAYOUT_CHUNK (1u << 20)     /* layout writes: about 1 MiB */
#define F_DEFAULT_SIZE (256ull << 20) /* a new file */

enum { RW_READ, RW_WRITE, RW_RANDREAD, RW_RANDWRITE };
static const char *const rw_names[] = {"read", "write", "randread",
                                       "randwrite"};

struct fopts {
    const char *path;
    int rw;
    uint64_t bs, size;
    bool size_set, direct, verify, fsync_end;
    long qd;
    uint64_t dur_ns, ios; /* one of them; both 0: one pass */
    uint64_t seed;
    struct lg_out out;
};

/* A run. The counters below blocks are shared by the workers: relaxed
   __atomic operations, read plainly once the workers are joined. */
struct frun {
    struct fopts *o;
    int fd;
    bool writing, random;
    uint64_t blocks;
    uint64_t t0, end, elapsed;
    uint64_t ios;       /* I/Os to do, or 0: until end */
    uint64_t cursor;    /* sequential: next block */
    uint64_t claimed;   /* I/Os claimed (with ios) */
    int failed;         /* -errno of the first failed I/O */
    uint64_t fail_off;  /* ... and its offset */
    uint64_t *written;  /* bitmap of blocks written (write --verify) */
    uint64_t checked;   /* verify: blocks checked */
    uint64_t bad;       /* ... and found bad */
    uint64_t first_bad; /* lowest bad byte offset, UINT64_MAX: none */
    struct lg_stats st;
    rg_chan *done;
    int procs;
    double cpu_user, cpu_sys;
    int rc; /* setup failure: exit status */
};

struct fworker {
    struct frun *fr;
    int id;
    uint64_t rng;
    uint64_t *buf;
};

/* ---- the pattern ---- */

static void pattern_fill(uint64_t *w, uint64_t off, uint64_t bs, uint64_t key)
{
    for (uint64_t i = 0; i < bs / 8; i++)
        w[i] = (off + 8 * i) ^ key;
}

/* Offset of the first byte of w (at off) not holding the pattern, or
   UINT64_MAX. */
static uint64_t pattern_check(const uint64_t *w, uint64_t off, uint64_t bs,
                              uint64_t key)
{
    for (uint64_t i = 0; i < bs / 8; i++) {
        uint64_t want = (off + 8 * i) ^ key;
        if (w[i] == want)
            continue;
        const unsigned char *a = (const void *)&w[i], *b = (void *)&want;
        int j = 0;
        while (a[j] == b[j])
            j++;
        return off + 8 * i + (uint64_t)j;
    }
    return UINT64_MAX;
}

static void note_bad(struct frun *fr, uint64_t at)
{
    lg_stats_err(&fr->st, LG_E_VERIFY);
    __atomic_fetch_add(&fr->bad, 1, __ATOMIC_RELAXED);
    uint64_t cur = __atomic_load_n(&fr->first_bad, __ATOMIC_RELAXED);
    while (at < cur &&
           !__atomic_compare_exchange_n(&fr->first_bad, &cur, at, true,
                                        __ATOMIC_RELAXED, __ATOMIC_RELAXED))
        ;
}

/* ---- workers ---- */

static uint64_t rng_next(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 0x2545F4914F6CDD1Dull;
}

/* The next block to use, or UINT64_MAX when the run is over. */
static uint64_t next_block(struct fworker *w)
{
    struct frun *fr = w->fr;
    if (__atomic_load_n(&fr->failed, __ATOMIC_RELAXED))
        return UINT64_MAX;
    if (fr->ios) {
        if (__atomic_fetch_add(&fr->claimed, 1, __ATOMIC_RELAXED) >= fr->ios)
            return UINT64_MAX;
    } else if (rg_now() >= fr->end) {
        return UINT64_MAX;
    }
    if (fr->random)
        return rng_next(&w->rng) % fr->blocks;
    return __atomic_fetch_add(&fr->cursor, 1, __ATOMIC_RELAXED) % fr->blocks;
}

static void fail(struct frun *fr, ssize_t r, uint64_t off)
{
    int expect = 0;
    if (__atomic_compare_exchange_n(&fr->failed, &expect, (int)r, false,
                                    __ATOMIC_RELAXED, __ATOMIC_RELAXED))
        __atomic_store_n(&fr->fail_off, off, __ATOMIC_RELAXED);
}

/* One I/O of block blk; records it. */
static void do_io(struct fworker *w, uint64_t blk)
{
    struct frun *fr = w->fr;
    uint64_t bs = fr->o->bs, off = blk * bs, key = fr->o->seed * F_KEY;
    if (fr->writing)
        pattern_fill(w->buf, off, bs, key);
    uint64_t t = rg_now();
    ssize_t r = fr->writing ? rg_pwrite(fr->fd, w->buf, bs, (off_t)off)
                            : rg_pread(fr->fd, w->buf, bs, (off_t)off);
    uint64_t lat = rg_now() - t;
    if (r < 0) {
        lg_stats_err(&fr->st, fr->writing ? LG_E_WRITE : LG_E_READ);
        fail(fr, r, off);
        return;
    }
    if ((uint64_t)r != bs) {
        lg_stats_err(&fr->st, LG_E_SHORT);
        fail(fr, -ENODATA, off);
        return;
    }
    hist_record_shared(&fr->st.shards[w->id % LG_SHARDS], lat);
    __atomic_fetch_add(fr->writing ? &fr->st.bytes_out : &fr->st.bytes_in, bs,
                       __ATOMIC_RELAXED);
    if (fr->writing && fr->written)
        __atomic_fetch_or(&fr->written[blk / 64], 1ull << (blk % 64),
                          __ATOMIC_RELAXED);
    if (!fr->writing && fr->o->verify) {
        __atomic_fetch_add(&fr->checked, 1, __ATOMIC_RELAXED);
        uint64_t at = pattern_check(w->buf, off, bs, key);
        if (at != UINT64_MAX)
            note_bad(fr, at);
    }
}

static void worker(void *arg)
{
    struct fworker *w = arg;
    uint64_t blk;
    while ((blk = next_block(w)) != UINT64_MAX)
        do_io(w, blk);
    rg_chan_send(w->fr->done, NULL);
}

/* The verify pass after writes: every block written, read back. */
static void verifier(void *arg)
{
    struct fworker *w = arg;
    struct frun *fr = w->fr;
    uint64_t bs = fr->o->bs, key = fr->o->seed * F_KEY, blk;
    while ((blk = __atomic_fetch_add(&fr->cursor, 1, __ATOMIC_RELAXED)) <
           fr->blocks) {
        if (!(fr->written[blk / 64] & (1ull << (blk % 64))))
            continue;
        ssize_t r = rg_pread(fr->fd, w->buf, bs, (off_t)(blk * bs));
        __atomic_fetch_add(&fr->checked, 1, __ATOMIC_RELAXED);
        if (r != (ssize_t)bs) {
            lg_stats_err(&fr->st, r < 0 ? LG_E_READ : LG_E_SHORT);
            note_bad(fr, blk * bs);
            continue;
        }
        uint64_t at = pattern_check(w->buf, blk * bs, bs, key);
        if (at != UINT64_MAX)
            note_bad(fr, at);
    }
    rg_chan_send(fr->done, NULL);
}

/* Run fn on n workers and wait for them (progress meanwhile if p). */
static void run_workers(struct frun *fr, struct fworker *ws, int n,
                        void (*fn)(void *), struct lg_progress *p)
{
    int started = 0;
    for (int i = 0; i < n; i++)
        if (rg_go(fn, &ws[i]) == 0)
            started++;
    uint64_t tick = rg_now() + 1000000000ull;
    while (started > 0) {
        uint64_t now = rg_now();
        struct rg_case cs = {.ch = fr->done, .dir = RG_RECV};
        int rc =
            rg_select(&cs, 1, p ? (int64_t)(tick > now ? tick - now : 1) : -1);
        if (rc == 0) {
            started--;
        } else if (p && rg_now() >= tick) {
            lg_progress_tick(p, &fr->st, "IOPS");
            tick += 1000000000ull;
        }
    }
}

/* ---- setup ---- */

/* Write the pattern over [from, to) (block multiples). Returns 0 or
   -errno. */
static int layout(struct frun *fr, uint64_t from, uint64_t to, void *buf,
                  uint64_t chunk)
{
    uint64_t key = fr->o->seed * F_KEY;
    if (!fr->o->out.json)
        fprintf(stderr, "ringo-bench: laying out %s up to %lu bytes\n",
                fr->o->path, (unsigned long)to);
    for (uint64_t off = from; off < to; off += chunk) {
        uint64_t n = to - off < chunk ? to - off : chunk;
        pattern_fill(buf, off, n, key);
        ssize_t r = rg_pwrite(fr->fd, buf, n, (off_t)off);
        if (r < 0)
            return (int)r;
        if ((uint64_t)r != n)
            return -EIO;
    }
    return 0;
}

static void say_errno(const struct frun *fr, const char *what, int err)
{
    fprintf(stderr, "ringo-bench: %s: %s: %s (errno %d)\n", fr->o->path, what,
            strerror(-err), -err);
    if (fr->o->direct && err == -EINVAL)
        fprintf(stderr, "ringo-bench: with --direct, the file system must "
                        "support O_DIRECT and --bs must be a multiple of "
                        "the device's logical block size\n");
}

/* Open the file and size it. Returns 0 or sets fr->rc. */
static int prepare(struct frun *fr)
{
    struct fopts *o = fr->o;
    struct stat sb;
    uint64_t have = stat(o->path, &sb) == 0 ? (uint64_t)sb.st_size : 0;
    uint64_t size = o->size_set     ? o->size
                    : have >= o->bs ? have
                                    : F_DEFAULT_SIZE;
    size -= size % o->bs;
    bool grow = have < size;
    int flags = (fr->writing || grow ? O_RDWR | O_CREAT : O_RDONLY) |
                (o->direct ? O_DIRECT : 0) | O_CLOEXEC;
    fr->fd = rg_open(o->path, flags, 0644);
    if (fr->fd < 0) {
        say_errno(fr,
                  o->direct && fr->fd == -EINVAL ? "open with O_DIRECT refused"
                                                 : "open",
                  fr->fd);
        fr->rc = 1;
        return -1;
    }
    fr->blocks = size / o->bs;
    if (fr->writing && grow && ftruncate(fr->fd, (off_t)size) < 0) {
        say_errno(fr, "extend", -errno);
        fr->rc = 1;
        return -1;
    }
    if (!fr->writing && grow) {
        uint64_t chunk = F_LAYOUT_CHUNK - F_LAYOUT_CHUNK % o->bs;
        void *buf = NULL;
        if (chunk < o->bs)
            chunk = o->bs;
        int rc = posix_memalign(&buf, 4096, chunk)
                     ? -ENOMEM
                     : layout(fr, have - have % o->bs, size, buf, chunk);
        free(buf);
        if (rc < 0) {
            say_errno(fr, "laying out", rc);
            fr->rc = 1;
            return -1;
        }
    }
    return 0;
}

static struct fworker *make_workers(struct frun *fr)
{
    struct fworker *ws = calloc((size_t)fr->o->qd, sizeof(*ws));
    if (!ws)
        return NULL;
    uint64_t s = fr->o->seed * F_KEY + 0x632BE59BD9B4E019ull;
    for (int i = 0; i < fr->o->qd; i++) {
        ws[i].fr = fr;
        ws[i].id = i;
        ws[i].rng = (s + (uint64_t)i * F_KEY) | 1;
        if (posix_memalign((void **)&ws[i].buf, 4096, fr->o->bs)) {
            while (i-- > 0)
                free(ws[i].buf);
            free(ws);
            return NULL;
        }
    }
    return ws;
}

static void file_main(void *arg)
{
    struct frun *fr = arg;
    fr->procs = rg_procs();
    if (prepare(fr) < 0)
        return;
    fr->ios = fr->o->ios ? fr->o->ios : fr->o->dur_ns ? 0 : fr->blocks;
    struct fworker *ws = make_workers(fr);
    if (!ws) {
        fprintf(stderr, "ringo-bench: out of memory\n");
        fr->rc = 1;
        return;
    }
    if (fr->writing && fr->o->verify)
        fr->written = calloc((fr->blocks + 63) / 64, sizeof(uint64_t));
    struct lg_progress p;
    lg_cpu_now(&fr->cpu_user, &fr->cpu_sys);
    fr->t0 = rg_now();
    fr->end = fr->t0 + fr->o->dur_ns;
    lg_progress_start(&p, &fr->o->out, fr->t0);
    run_workers(fr, ws, (int)fr->o->qd, worker, &p);
    if (fr->writing && fr->o->fsync_end) {
        int rc = rg_fsync(fr->fd);
        if (rc < 0)
            fail(fr, rc, 0);
    }
    fr->elapsed = rg_now() - fr->t0;
    lg_progress_done(&p);
    double u, s;
    lg_cpu_now(&u, &s);
    fr->cpu_user = u - fr->cpu_user;
    fr->cpu_sys = s - fr->cpu_sys;
    if (fr->written && !fr->failed) {
        __atomic_store_n(&fr->cursor, 0, __ATOMIC_RELAXED);
        run_workers(fr, ws, (int)fr->o->qd, verifier, NULL);
    }
    rg_close(fr->fd);
    for (int i = 0; i < fr->o->qd; i++)
        free(ws[i].buf);
    free(ws);
    free(fr->written);
    fr->written = NULL;
}

/* ---- options and report ---- */

static void file_usage(void)
{
    fprintf(stderr,
            "usage: ringo-bench file PATH [options]\n"
            "  --rw MODE        read, write, randread, randwrite (read)\n"
            "  --bs B           block size, a multiple of 8 (4k)\n"
            "  --size B         file size (reads: the file's; else 256M)\n"
            "  --qd N           I/Os in flight: goroutines (32)\n"
            "  --direct         O_DIRECT (aligned buffers)\n"
            "  -d, --duration T run for T (else one pass over the file)\n"
            "  --io-count N     run for N I/Os\n"
            "  --verify         write/check the offset pattern\n"
            "  --seed S         pattern and random offsets seed (1)\n"
            "  --fsync          writes: fsync at the end (timed)\n"
            "%s",
            lg_common_usage);
}

static int file_opt(struct fopts *fo, struct bench_opts *o, int *i)
{
    int argc = o->argc;
    char **argv = o->argv;
    const char *a = argv[*i], *v = *i + 1 < argc ? argv[*i + 1] : NULL;
    int rc = lg_opt_common(&fo->out, o, argc, argv, i);
    if (rc)
        return rc;
    int flag = !strcmp(a, "--direct")   ? 1
               : !strcmp(a, "--verify") ? 2
               : !strcmp(a, "--fsync")  ? 3
                                        : 0;
    if (flag) {
        fo->direct |= flag == 1;
        fo->verify |= flag == 2;
        fo->fsync_end |= flag == 3;
        (*i)++;
        return 1;
    }
    if (a[0] != '-') {
        if (fo->path)
            return -1;
        fo->path = a;
        (*i)++;
        return 1;
    }
    if (!strcmp(a, "--rw")) {
        int m = -1;
        for (int k = 0; v && k < 4; k++)
            if (!strcmp(v, rw_names[k]))
                m = k;
        if (m < 0)
            return -1;
        fo->rw = m;
    } else if (!strcmp(a, "--bs")) {
        if (!v || lg_parse_size(v, &fo->bs) < 0 || !fo->bs || fo->bs % 8 ||
            fo->bs > (1u << 30))
            return -1;
    } else if (!strcmp(a, "--size")) {
        if (!v || lg_parse_size(v, &fo->size) < 0 || !fo->size)
            return -1;
        fo->size_set = true;
    } else if (!strcmp(a, "--qd")) {
        if (!v || lg_parse_pos(v, 1, &fo->qd) < 0 || fo->qd > 65536)
            return -1;
    } else if (!strcmp(a, "-d") || !strcmp(a, "--duration")) {
        if (!v || lg_parse_duration(v, &fo->dur_ns) < 0 || !fo->dur_ns)
            return -1;
    } else if (!strcmp(a, "--io-count")) {
        long n;
        if (!v || lg_parse_pos(v, 1, &n) < 0)
            return -1;
        fo->ios = (uint64_t)n;
    } else if (!strcmp(a, "--seed")) {
        long n;
        if (!v || lg_parse_pos(v, 0, &n) < 0)
            return -1;
        fo->seed = (uint64_t)n;
    } else {
        return 0;
    }
    *i += 2;
    return 1;
}

static void file_notes(struct frun *fr, struct lg_result *r)
{
    size_t n = 0;
    if (fr->failed) {
        uint64_t off = fr->fail_off;
        n += (size_t)snprintf(r->note + n, sizeof(r->note) - n,
                              "stopped by a failed I/O at offset %lu: %s%s",
                              (unsigned long)off, strerror(-fr->failed),
                              fr->o->verify ? "; " : "");
    }
    if (fr->o->verify) {
        n += (size_t)snprintf(r->note + n, sizeof(r->note) - n,
                              "verify: %lu blocks checked, %lu bad",
                              (unsigned long)fr->checked,
                              (unsigned long)fr->bad);
        if (fr->bad)
            snprintf(r->note + n, sizeof(r->note) - n,
                     " (first bad byte at offset %lu)",
                     (unsigned long)fr->first_bad);
    }
}

static void file_result(struct frun *fr, struct lg_result *r)
{
    struct fopts *o = fr->o;
    char sz[64];
    r->bench = "file";
    r->target = o->path;
    r->unit = "I/Os";
    r->rate_name = "IOPS";
    r->rate_key = "iops";
    r->file = true;
    r->procs = fr->procs;
    lg_stats_merge(&fr->st, &r->lat);
    r->n = r->lat.count;
    r->secs = (double)fr->elapsed / 1e9;
    for (int k = 0; k < LG_NERR; k++)
        r->err[k] = fr->st.err[k];
    r->bytes_in = fr->st.bytes_in;
    r->bytes_out = fr->st.bytes_out;
    r->cpu_user = fr->cpu_user;
    r->cpu_sys = fr->cpu_sys;
    if (o->dur_ns)
        snprintf(sz, sizeof(sz), "%.2f s", (double)o->dur_ns / 1e9);
    else
        snprintf(sz, sizeof(sz), "%lu I/Os", (unsigned long)fr->ios);
    char b1[32], b2[32];
    snprintf(r->setup, sizeof(r->setup),
             "%s, bs %s, file %s, qd %ld%s%s, procs %d, %s", rw_names[o->rw],
             lg_fmt_bytes(b1, sizeof(b1), (double)o->bs),
             lg_fmt_bytes(b2, sizeof(b2), (double)(fr->blocks * o->bs)), o->qd,
             o->direct ? ", O_DIRECT" : "", o->verify ? ", verify" : "",
             fr->procs, sz);
    file_notes(fr, r);
    double secs = r->secs > 0 ? r->secs : 1;
    lg_result_param(r, "rw", rw_names[o->rw], 0);
    lg_result_param(r, "bs", NULL, (double)o->bs);
    lg_result_param(r, "size", NULL, (double)(fr->blocks * o->bs));
    lg_result_param(r, "qd", NULL, (double)o->qd);
    lg_result_param(r, "direct", NULL, o->direct);
    lg_result_param(r, "mib_s", NULL,
                    (double)(r->bytes_in + r->bytes_out) / secs / 1048576);
    lg_result_param(r, "secs", NULL, r->secs);
    lg_result_param(r, "verify", NULL, o->verify);
    lg_result_param(r, "verified_blocks", NULL, (double)fr->checked);
    lg_result_param(r, "bad_blocks", NULL, (double)fr->bad);
    if (fr->bad)
        lg_result_param(r, "first_bad_offset", NULL, (double)fr->first_bad);
}

int bench_file(struct bench_opts *o)
{
    static struct fopts fo;
    static struct frun fr; /* workers may outlive a failed wait */
    fo.rw = RW_READ;
    fo.bs = 4096;
    fo.qd = 32;
    fo.seed = 1;
    for (int i = 1; i < o->argc;) {
        if (!strcmp(o->argv[i], "-h") || !strcmp(o->argv[i], "--help")) {
            file_usage();
            return 0;
        }
        int rc = file_opt(&fo, o, &i);
        if (rc <= 0) {
            fprintf(stderr, "ringo-bench: %s '%s'\n",
                    rc ? "bad value for" : "unknown option", o->argv[i]);
            file_usage();
            return 2;
        }
    }
    if (!fo.path || (fo.dur_ns && fo.ios)) {
        fprintf(stderr, "ringo-bench: file needs PATH, and -d or "
                        "--io-count, not both\n");
        file_usage();
        return 2;
    }
    fr.o = &fo;
    fr.writing = fo.rw == RW_WRITE || fo.rw == RW_RANDWRITE;
    fr.random = fo.rw == RW_RANDREAD || fo.rw == RW_RANDWRITE;
    fr.first_bad = UINT64_MAX;
    if (lg_stats_init(&fr.st) < 0 ||
        !(fr.done = rg_chan_make(0, (size_t)fo.qd)))
        return 1;
    bench_rg_run(file_main, &fr, o->procs > 0 ? o->procs : 1);
    if (fr.rc)
        return fr.rc;
    struct lg_result *r = calloc(1, sizeof(*r));
    if (!r)
        return 1;
    file_result(&fr, r);
    if (fr.failed)
        say_errno(&fr, "I/O failed", fr.failed);
    int rc = lg_report(r, &fo.out);
    bool bad = fr.failed || fr.bad || !r->n;
    free(r);
    return rc || bad ? 1 : 0;
}
