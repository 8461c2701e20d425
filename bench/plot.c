/*
 * bench/plot.c: the latency-by-percentile chart of a run, as SVG written
 * by hand (--plot FILE.svg).
 *
 * The x axis is HdrHistogram's: percentile q is placed at log10(1/(1-q)),
 * so 0%, 90%, 99%, 99.9%, ... are evenly spaced and the tail, where the
 * interesting latencies live, gets most of the width. It runs to the
 * decade the sample can resolve (1/(1-q) up to the count of values), at
 * least 99% and at most 99.9999%. Latency is linear in ms up the y axis.
 * The curve is a step line through the histogram's buckets: each bucket's
 * value (its midpoint, as hist_quantile reports) holds from the fraction
 * of values below the bucket to the fraction up to its end. Dots mark
 * p50, p90, p99, p99.9 and p99.99.
 */
#include "lg.h"

#include <errno.h>
#include <math.h>
#include <string.h>

#define W 900.0
#define H 560.0
#define ML 80.0 /* margins: left, right, top, bottom */
#define MR 40.0
#define MT 80.0
#define MB 70.0
#define PW (W - ML - MR)
#define PH (H - MT - MB)

struct frame {
    FILE *f;
    double decades; /* x axis: 0 .. decades */
    double ymax;    /* y axis: 0 .. ymax ms */
};

static double xq(const struct frame *fr, double q)
{
    double x = q >= 1 ? fr->decades : log10(1 / (1 - q));
    if (x > fr->decades)
        x = fr->decades;
    return ML + PW * x / fr->decades;
}

static double yv(const struct frame *fr, double ms)
{
    return MT + PH * (1 - ms / fr->ymax);
}

/* A "nice" number >= v: 1, 2 or 5 times a power of ten. */
static double nice_ceil(double v)
{
    if (v <= 0)
        return 1;
    static const double steps[] = {1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10};
    double p = pow(10, floor(log10(v)));
    double m = v / p;
    size_t i = 0;
    while (steps[i] < m * (1 - 1e-9) && i + 1 < sizeof(steps) / sizeof(*steps))
        i++;
    return steps[i] * p;
}

/* XML text: & < > " escaped. */
static void xml(FILE *f, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '&':
            fputs("&amp;", f);
            break;
        case '<':
            fputs("&lt;", f);
            break;
        case '>':
            fputs("&gt;", f);
            break;
        case '"':
            fputs("&quot;", f);
            break;
        default:
            fputc(*s, f);
        }
    }
}

/* A percentile's label: "0%", "90%", "99.99%". */
static void pct_label(char *b, size_t n, double pct)
{
    snprintf(b, n, "%.6g%%", pct);
}

static void axes(const struct frame *fr)
{
    FILE *f = fr->f;
    char b[32];
    fprintf(f,
            "<rect x='%.1f' y='%.1f' width='%.1f' height='%.1f' "
            "fill='#fcfcfc' stroke='#444'/>\n",
            ML, MT, PW, PH);
    /* x: decades, plus 50% */
    for (int d = 0; d <= (int)fr->decades; d++) {
        double q = 1 - pow(10, -d), x = xq(fr, q);
        pct_label(b, sizeof(b), 100 * q);
        fprintf(f,
                "<line x1='%.1f' y1='%.1f' x2='%.1f' y2='%.1f' "
                "stroke='#ddd'/>\n",
                x, MT, x, MT + PH);
        fprintf(f, "<text x='%.1f' y='%.1f' text-anchor='middle'>%s</text>\n",
                x, MT + PH + 18, b);
    }
    double x50 = xq(fr, 0.5);
    fprintf(f,
            "<line x1='%.1f' y1='%.1f' x2='%.1f' y2='%.1f' stroke='#eee' "
            "stroke-dasharray='4 3'/>\n",
            x50, MT, x50, MT + PH);
    fprintf(f, "<text x='%.1f' y='%.1f' text-anchor='middle'>50%%</text>\n",
            x50, MT + PH + 18);
    /* y: five steps */
    for (int i = 0; i <= 5; i++) {
        double ms = fr->ymax * i / 5, y = yv(fr, ms);
        fprintf(f,
                "<line x1='%.1f' y1='%.1f' x2='%.1f' y2='%.1f' "
                "stroke='#ddd'/>\n",
                ML, y, ML + PW, y);
        fprintf(f, "<text x='%.1f' y='%.1f' text-anchor='end'>%.4g</text>\n",
                ML - 8, y + 4, ms);
    }
    fprintf(f,
            "<text x='%.1f' y='%.1f' text-anchor='middle'>Percentile"
            "</text>\n",
            ML + PW / 2, H - 22);
    fprintf(f,
            "<text transform='translate(22 %.1f) rotate(-90)' "
            "text-anchor='middle'>Latency (ms)</text>\n",
            MT + PH / 2);
}

/* The step line through the buckets. */
static void curve(const struct frame *fr, const struct hist *h)
{
    FILE *f = fr->f;
    uint64_t seen = 0;
    bool first = true;
    fprintf(f, "<path fill='none' stroke='#1f6fd1' stroke-width='2' d='");
    for (unsigned i = 0; i < HIST_NBUCKETS && seen < h->count; i++) {
        if (!h->bucket[i])
            continue;
        uint64_t lo, width;
        hist_bucket_bounds(i, &lo, &width);
        double v = (double)(lo + width / 2);
        if (v > (double)h->max)
            v = (double)h->max;
        double y = yv(fr, v / 1e6);
        double x0 = xq(fr, (double)seen / (double)h->count);
        seen += h->bucket[i];
        double x1 = xq(fr, (double)seen / (double)h->count);
        if (first)
            fprintf(f, "M%.2f %.2f", x0, y);
        else
            fprintf(f, "V%.2f", y);
        fprintf(f, "H%.2f", x1);
        first = false;
    }
    fprintf(f, "'/>\n");
}

static void marks(const struct frame *fr, const struct hist *h)
{
    static const double qs[] = {0.5, 0.9, 0.99, 0.999, 0.9999};
    for (size_t i = 0; i < sizeof(qs) / sizeof(qs[0]); i++) {
        double x = xq(fr, qs[i]);
        if (x >= ML + PW - 0.5 && qs[i] > 0.99)
            break;
        double ms = (double)hist_quantile(h, qs[i]) / 1e6;
        double y = yv(fr, ms);
        fprintf(fr->f,
                "<circle cx='%.1f' cy='%.1f' r='3.5' fill='#d1451f'/>"
                "\n<text x='%.1f' y='%.1f' font-size='11' "
                "fill='#a03010' stroke='white' stroke-width='3' "
                "paint-order='stroke'>%.3g %s</text>\n",
                x, y, x + 6, y - 6 > MT + 10 ? y - 6 : y + 14,
                ms < 1 ? ms * 1e3 : ms, ms < 1 ? "us" : "ms");
    }
}

static void title(const struct frame *fr, const struct lg_result *r)
{
    FILE *f = fr->f;
    fprintf(f,
            "<text x='%.1f' y='28' font-size='17' font-weight='bold'>"
            "Latency by percentile: ringo-bench %s ",
            ML, r->bench);
    xml(f, r->target);
    fprintf(f, "</text>\n<text x='%.1f' y='48' font-size='12' fill='#444'>",
            ML);
    xml(f, r->setup);
    fprintf(f,
            "</text>\n<text x='%.1f' y='66' font-size='12' "
            "fill='#444'>%lu %s, %.1f %s, max %.3g ms</text>\n",
            ML, (unsigned long)r->n, r->unit,
            r->secs > 0 ? (double)r->n / r->secs : 0.0, r->rate_name,
            (double)r->lat.max / 1e6);
}

int lg_plot_svg(const struct lg_result *r, const char *path)
{
    struct frame fr;
    double d = r->lat.count ? ceil(log10((double)r->lat.count)) : 2;
    fr.decades = d < 2 ? 2 : d > 6 ? 6 : d;
    fr.ymax = nice_ceil((double)r->lat.max / 1e6 * 1.05);
    fr.f = fopen(path, "w");
    if (!fr.f)
        return -errno;
    fprintf(fr.f,
            "<svg xmlns='http://www.w3.org/2000/svg' width='%.0f' "
            "height='%.0f' viewBox='0 0 %.0f %.0f' "
            "font-family='sans-serif' font-size='12'>\n"
            "<rect width='100%%' height='100%%' fill='white'/>\n",
            W, H, W, H);
    title(&fr, r);
    axes(&fr);
    if (r->lat.count) {
        curve(&fr, &r->lat);
        marks(&fr, &r->lat);
    }
    fprintf(fr.f, "</svg>\n");
    if (fclose(fr.f) != 0)
        return -EIO;
    return 0;
}
