/*
 * bench/report.c: what a load generator prints.
 *
 *   text    (default, stdout) the run's setup, count and rate, bytes,
 *           latency percentiles, status codes, errors by kind, and the
 *           generator's own CPU use; then the bench= line of bench.h,
 *           which bench/net-compare.sh and bench/compare.sh read
 *   --json  one JSON object on stdout and nothing else (schema in
 *           docs/loadgen.md)
 *   --plot  the SVG chart of plot.c
 *   progress  on a terminal only: one line on stderr, redrawn each second
 *
 * The generator's CPU use is getrusage(RUSAGE_SELF) over the measured run
 * (all its threads), reported per request and as a share of one CPU: near
 * 100% of the CPUs it may use means the generator, not the server, set
 * the pace.
 */
#include "lg.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

const char *const lg_err_names[LG_NERR] = {
    [LG_E_CONNECT] = "connect",     [LG_E_TIMEOUT] = "timeout",
    [LG_E_READ] = "read",           [LG_E_WRITE] = "write",
    [LG_E_CLOSED] = "closed",       [LG_E_SHORT] = "short",
    [LG_E_PROTOCOL] = "protocol",   [LG_E_VERIFY] = "verify",
    [LG_E_4XX] = "status_4xx",      [LG_E_5XX] = "status_5xx",
    [LG_E_STATUS] = "status_other",
};

/* Percentiles in every report. */
static const struct {
    double q;
    const char *text, *key;
} pcts[] = {
    {0.50, "p50", "p50"},     {0.90, "p90", "p90"},        {0.99, "p99", "p99"},
    {0.999, "p99.9", "p999"}, {0.9999, "p99.99", "p9999"},
};
#define NPCTS (sizeof(pcts) / sizeof(pcts[0]))

/* ---- statistics ---- */

int lg_stats_init(struct lg_stats *st)
{
    st->shards = calloc(LG_SHARDS, sizeof(struct hist));
    return st->shards ? 0 : -ENOMEM;
}

void lg_stats_merge(const struct lg_stats *st, struct hist *h)
{
    hist_init(h);
    for (int i = 0; i < LG_SHARDS; i++)
        hist_merge_shared(h, &st->shards[i]);
}

uint64_t lg_stats_count(const struct lg_stats *st)
{
    uint64_t n = 0;
    for (int i = 0; i < LG_SHARDS; i++)
        n += __atomic_load_n(&st->shards[i].count, __ATOMIC_RELAXED);
    return n;
}

void lg_result_param(struct lg_result *r, const char *key, const char *s,
                     double v)
{
    if (r->nparams == LG_MAXPARAMS)
        return;
    r->params[r->nparams++] = (struct lg_param){key, s, v};
}

void lg_cpu_now(double *user, double *sys)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    *user = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6;
    *sys = (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static uint64_t err_total(const struct lg_result *r)
{
    uint64_t t = 0;
    for (int k = 0; k < LG_NERR; k++)
        t += r->err[k];
    return t;
}

static double rate(const struct lg_result *r)
{
    return r->secs > 0 ? (double)r->n / r->secs : 0.0;
}

/* ---- text ---- */

/* A duration in ns as "950.0us", "1.23ms", "2.10s". */
static const char *fmt_ns(char *b, size_t n, double ns)
{
    if (ns < 1e3)
        snprintf(b, n, "%.0fns", ns);
    else if (ns < 1e6)
        snprintf(b, n, "%.1fus", ns / 1e3);
    else if (ns < 1e9)
        snprintf(b, n, "%.2fms", ns / 1e6);
    else
        snprintf(b, n, "%.2fs", ns / 1e9);
    return b;
}

const char *lg_fmt_bytes(char *b, size_t n, double v)
{
    static const char *u[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    int i = 0;
    while (v >= 1024 && i < 4) {
        v /= 1024;
        i++;
    }
    snprintf(b, n, i ? "%.1f %s" : "%.0f %s", v, u[i]);
    return b;
}

static void text_latency(const struct lg_result *r)
{
    char b[32];
    printf("  latency     ");
    if (!r->lat.count) {
        printf("none recorded\n");
        return;
    }
    for (size_t i = 0; i < NPCTS; i++)
        printf("%s %s  ", pcts[i].text,
               fmt_ns(b, sizeof(b), (double)hist_quantile(&r->lat, pcts[i].q)));
    printf("max %s  ", fmt_ns(b, sizeof(b), (double)r->lat.max));
    printf("mean %s\n", fmt_ns(b, sizeof(b), hist_mean(&r->lat)));
}

static void text_status(const struct lg_result *r)
{
    if (!r->st)
        return;
    int shown = 0;
    printf("  status     ");
    for (int s = 0; s < LG_NSTATUS; s++) {
        uint64_t n = __atomic_load_n(&r->st->status[s], __ATOMIC_RELAXED);
        if (n)
            printf("%s %d: %lu", shown++ ? "," : "", s, (unsigned long)n);
    }
    if (r->st->status_big)
        printf("%s >599: %lu", shown++ ? "," : "",
               (unsigned long)r->st->status_big);
    printf("%s\n", shown ? "" : " none");
}

static void text_errors(const struct lg_result *r)
{
    printf("  errors     ");
    if (!err_total(r)) {
        printf(" none\n");
        return;
    }
    int shown = 0;
    for (int k = 0; k < LG_NERR; k++)
        if (r->err[k])
            printf("%s %s %lu", shown++ ? "," : "", lg_err_names[k],
                   (unsigned long)r->err[k]);
    printf(" (total %lu)\n", (unsigned long)err_total(r));
}

static void text_cpu(const struct lg_result *r)
{
    double cpu = r->cpu_user + r->cpu_sys;
    char b[32];
    printf("  client CPU  %.2f s (user %.2f, sys %.2f): %.1f%% of one CPU", cpu,
           r->cpu_user, r->cpu_sys, r->secs > 0 ? 100 * cpu / r->secs : 0.0);
    if (r->n)
        printf(", %s per %s", fmt_ns(b, sizeof(b), cpu * 1e9 / (double)r->n),
               r->file ? "I/O" : "request");
    printf("\n");
}

static void text_report(const struct lg_result *r)
{
    char b1[32], b2[32], b3[32], b4[32];
    printf("ringo-bench %s %s\n  %s\n", r->bench, r->target, r->setup);
    printf("  %-10s  %lu in %.2f s: %.1f %s\n", r->unit, (unsigned long)r->n,
           r->secs, rate(r), r->rate_name);
    double s = r->secs > 0 ? r->secs : 1;
    if (r->file)
        printf(
            "  transfer    %s (%s/s)\n",
            lg_fmt_bytes(b1, sizeof(b1), (double)(r->bytes_in + r->bytes_out)),
            lg_fmt_bytes(b2, sizeof(b2),
                         (double)(r->bytes_in + r->bytes_out) / s));
    else
        printf("  transfer    read %s (%s/s), written %s (%s/s)\n",
               lg_fmt_bytes(b1, sizeof(b1), (double)r->bytes_in),
               lg_fmt_bytes(b2, sizeof(b2), (double)r->bytes_in / s),
               lg_fmt_bytes(b3, sizeof(b3), (double)r->bytes_out),
               lg_fmt_bytes(b4, sizeof(b4), (double)r->bytes_out / s));
    text_latency(r);
    text_status(r);
    text_errors(r);
    if (r->note[0])
        printf("  note        %s\n", r->note);
    text_cpu(r);
}

/* The bench= line of bench.h. */
static void bench_line(const struct lg_result *r)
{
    char extra[1536];
    size_t n = 0;
    n += (size_t)snprintf(
        extra + n, sizeof(extra) - n,
        "%s=%.1f p50_us=%.1f p90_us=%.1f p99_us=%.1f p999_us=%.1f "
        "max_us=%.1f errors=%lu cpu_pct=%.1f cpu_us=%.3f",
        r->rate_key, rate(r), (double)hist_quantile(&r->lat, 0.50) / 1e3,
        (double)hist_quantile(&r->lat, 0.90) / 1e3,
        (double)hist_quantile(&r->lat, 0.99) / 1e3,
        (double)hist_quantile(&r->lat, 0.999) / 1e3, (double)r->lat.max / 1e3,
        (unsigned long)err_total(r),
        r->secs > 0 ? 100 * (r->cpu_user + r->cpu_sys) / r->secs : 0.0,
        r->n ? (r->cpu_user + r->cpu_sys) * 1e6 / (double)r->n : 0.0);
    for (int i = 0; i < r->nparams && n < sizeof(extra); i++) {
        const struct lg_param *p = &r->params[i];
        if (p->s)
            n += (size_t)snprintf(extra + n, sizeof(extra) - n, " %s=%s",
                                  p->key, p->s);
        else if (p->v == floor(p->v) && fabs(p->v) < 9e15)
            n += (size_t)snprintf(extra + n, sizeof(extra) - n, " %s=%.0f",
                                  p->key, p->v);
        else
            n += (size_t)snprintf(extra + n, sizeof(extra) - n, " %s=%.6g",
                                  p->key, p->v);
    }
    bench_result(r->bench, r->procs, (long)r->n,
                 r->n ? r->secs * 1e9 / (double)r->n : 0.0, extra);
}

/* ---- JSON ---- */

/* A number JSON accepts (no NaN, no infinity). */
static void j_num(double v)
{
    if (!isfinite(v))
        v = 0;
    if (v == floor(v) && fabs(v) < 9e15)
        printf("%.0f", v);
    else
        printf("%.6g", v);
}

static void j_str(const char *s)
{
    putchar('"');
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\')
            printf("\\%c", ch);
        else if (ch < 0x20)
            printf("\\u%04x", ch);
        else
            putchar(ch);
    }
    putchar('"');
}

static void j_key(const char *k)
{
    j_str(k);
    putchar(':');
}

static void json_latency(const struct lg_result *r)
{
    static const double list[] = {0,  10,   20,   30,    40,     50,
                                  60, 70,   75,   80,    90,     95,
                                  99, 99.5, 99.9, 99.99, 99.999, 100};
    j_key("latency_us");
    printf("{\"mean\":");
    j_num(hist_mean(&r->lat) / 1e3);
    for (size_t i = 0; i < NPCTS; i++) {
        printf(",");
        j_key(pcts[i].key);
        j_num((double)hist_quantile(&r->lat, pcts[i].q) / 1e3);
    }
    printf(",\"max\":");
    j_num((double)r->lat.max / 1e3);
    printf("},\"percentiles_us\":[");
    for (size_t i = 0; i < sizeof(list) / sizeof(list[0]); i++) {
        printf("%s[", i ? "," : "");
        j_num(list[i]);
        printf(",");
        j_num((double)hist_quantile(&r->lat, list[i] / 100) / 1e3);
        printf("]");
    }
    printf("],");
}

static void json_errors(const struct lg_result *r)
{
    j_key("errors");
    printf("{\"total\":");
    j_num((double)err_total(r));
    for (int k = 0; k < LG_NERR; k++) {
        printf(",");
        j_key(lg_err_names[k]);
        j_num((double)r->err[k]);
    }
    printf("},");
    if (!r->st)
        return;
    j_key("status");
    printf("{");
    int shown = 0;
    for (int s = 0; s < LG_NSTATUS; s++) {
        uint64_t n = r->st->status[s];
        if (n)
            printf("%s\"%d\":%lu", shown++ ? "," : "", s, (unsigned long)n);
    }
    if (r->st->status_big)
        printf("%s\"other\":%lu", shown ? "," : "",
               (unsigned long)r->st->status_big);
    printf("},");
}

static void json_cpu(const struct lg_result *r)
{
    double cpu = r->cpu_user + r->cpu_sys;
    printf("\"cpu\":{\"user_s\":");
    j_num(r->cpu_user);
    printf(",\"sys_s\":");
    j_num(r->cpu_sys);
    printf(",\"percent_of_one_cpu\":");
    j_num(r->secs > 0 ? 100 * cpu / r->secs : 0);
    printf(",\"us_per_op\":");
    j_num(r->n ? cpu * 1e6 / (double)r->n : 0);
    printf("}");
}

static void json_report(const struct lg_result *r)
{
    printf("{\"bench\":");
    j_str(r->bench);
    printf(",\"target\":");
    j_str(r->target);
    printf(",\"procs\":%d,\"n\":%lu,", r->procs, (unsigned long)r->n);
    j_key(r->file ? "ios" : "requests");
    printf("%lu,", (unsigned long)r->n);
    j_key(r->rate_key);
    j_num(rate(r));
    printf(",\"elapsed_s\":");
    j_num(r->secs);
    printf(",\"bytes_read\":%lu,\"bytes_written\":%lu,",
           (unsigned long)r->bytes_in, (unsigned long)r->bytes_out);
    for (int i = 0; i < r->nparams; i++) {
        j_key(r->params[i].key);
        if (r->params[i].s)
            j_str(r->params[i].s);
        else
            j_num(r->params[i].v);
        printf(",");
    }
    json_latency(r);
    json_errors(r);
    json_cpu(r);
    printf("}\n");
}

int lg_report(struct lg_result *r, const struct lg_out *out)
{
    if (out->json) {
        json_report(r);
    } else {
        text_report(r);
        bench_line(r);
    }
    fflush(stdout);
    if (out->plot) {
        int rc = lg_plot_svg(r, out->plot);
        if (rc < 0) {
            fprintf(stderr, "ringo-bench: %s: %s\n", out->plot, strerror(-rc));
            return 1;
        }
    }
    return 0;
}

/* ---- progress ---- */

void lg_progress_start(struct lg_progress *p, const struct lg_out *out,
                       uint64_t t0)
{
    memset(p, 0, sizeof(*p));
    p->on = !out->quiet && isatty(STDERR_FILENO);
    p->t0 = p->last_t = t0;
    if (p->on)
        p->tmp = malloc(sizeof(struct hist));
    p->on = p->tmp != NULL;
}

void lg_progress_tick(struct lg_progress *p, const struct lg_stats *st,
                      const char *rate_name)
{
    if (!p->on)
        return;
    uint64_t now = rg_now(), errs = 0;
    lg_stats_merge(st, p->tmp);
    for (int k = 0; k < LG_NERR; k++)
        errs += __atomic_load_n(&st->err[k], __ATOMIC_RELAXED);
    double dt = (double)(now - p->last_t) / 1e9;
    double r = dt > 0 ? (double)(p->tmp->count - p->last_n) / dt : 0;
    char b[32];
    fprintf(stderr, "\r  %5.1fs  %10.1f %s  p99 %s  errors %lu\033[K",
            (double)(now - p->t0) / 1e9, r, rate_name,
            fmt_ns(b, sizeof(b), (double)hist_quantile(p->tmp, 0.99)),
            (unsigned long)errs);
    p->last_t = now;
    p->last_n = p->tmp->count;
}

void lg_progress_done(struct lg_progress *p)
{
    if (p->on)
        fprintf(stderr, "\r\033[K");
    free(p->tmp);
    p->tmp = NULL;
}
