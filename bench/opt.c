/*
 * bench/opt.c: option values of the load generators: durations ("500ms"),
 * sizes ("4k", "256M"), whole numbers, and the output options every mode
 * shares (--json, --plot, --quiet, -t).
 */
#include "lg.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

const char lg_common_usage[] =
    "  --json            one JSON object on stdout instead of the report\n"
    "  --plot FILE.svg   latency-by-percentile chart\n"
    "  --quiet           no progress line on a terminal\n"
    "  --procs P, -t P   runtime Ps (threads running goroutines)\n";

int lg_parse_duration(const char *s, uint64_t *ns)
{
    char *end;
    double v = strtod(s, &end);
    if (end == s || !isfinite(v) || v < 0)
        return -1;
    double mul;
    if (!*end || !strcmp(end, "s"))
        mul = 1e9;
    else if (!strcmp(end, "ms"))
        mul = 1e6;
    else if (!strcmp(end, "us"))
        mul = 1e3;
    else if (!strcmp(end, "ns"))
        mul = 1;
    else if (!strcmp(end, "m"))
        mul = 60e9;
    else if (!strcmp(end, "h"))
        mul = 3600e9;
    else
        return -1;
    v *= mul;
    if (v > 365 * 24 * 3600e9)
        return -1;
    *ns = (uint64_t)llround(v);
    return 0;
}

int lg_parse_size(const char *s, uint64_t *bytes)
{
    char *end;
    double v = strtod(s, &end);
    if (end == s || !isfinite(v) || v < 0)
        return -1;
    int shift = 0;
    switch (*end) {
    case 'k':
    case 'K':
        shift = 10;
        end++;
        break;
    case 'm':
    case 'M':
        shift = 20;
        end++;
        break;
    case 'g':
    case 'G':
        shift = 30;
        end++;
        break;
    case 't':
    case 'T':
        shift = 40;
        end++;
        break;
    }
    if (shift && (!strcmp(end, "iB") || !strcmp(end, "B") ||
                  !strcmp(end, "ib") || !strcmp(end, "b")))
        end += strlen(end);
    else if (!shift && (!strcmp(end, "B") || !strcmp(end, "b")))
        end++;
    if (*end)
        return -1;
    v = ldexp(v, shift);
    if (v >= ldexp(1.0, 62))
        return -1;
    *bytes = (uint64_t)llround(v);
    return 0;
}

int lg_parse_pos(const char *s, long min, long *out)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (end == s || *end || v < min)
        return -1;
    *out = v;
    return 0;
}

int lg_opt_common(struct lg_out *out, struct bench_opts *o, int argc,
                  char **argv, int *i)
{
    const char *a = argv[*i];
    const char *v = *i + 1 < argc ? argv[*i + 1] : NULL;
    long n;
    if (!strcmp(a, "--json")) {
        out->json = true;
    } else if (!strcmp(a, "--quiet") || !strcmp(a, "-q")) {
        out->quiet = true;
    } else if (!strcmp(a, "--latency")) {
        /* wrk's: latencies are always reported */
    } else if (!strcmp(a, "--plot")) {
        if (!v)
            return -1;
        out->plot = v;
        (*i)++;
    } else if (!strcmp(a, "-t") || !strcmp(a, "--threads")) {
        if (!v || lg_parse_pos(v, 1, &n) < 0 || n > 4096)
            return -1;
        o->procs = (int)n;
        (*i)++;
    } else {
        return 0;
    }
    (*i)++;
    return 1;
}
