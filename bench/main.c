/*
 * bench/main.c: ringo-bench, the benchmark runner.
 *
 *   ringo-bench <name> [--procs P] [--n N] [benchmark options]
 *   ringo-bench list
 */
#include "bench.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>


static const struct bench benches[] = {
#define BENCH(name, fn, help) {name, help, fn},
#include "list.h"
#undef BENCH
};

/*
 * The runtime counters of the last bench_rg_run, taken as its main
 * returns: bench_result prints those that explain a result (switches,
 * steals and parks per operation; threads; io_uring_enter calls).
 */
static struct rg_stats last_stats;
static bool have_stats;

struct run_args {
    void (*fn)(void *);
    void *arg;
};

static void run_main(void *p)
{
    struct run_args *ra = p;
    ra->fn(ra->arg);
    have_stats = rg_stats(&last_stats) == 0;
}

void bench_rg_run(void (*fn)(void *), void *arg, int procs)
{
    struct rg_config cfg = {0};
    struct run_args ra = {fn, arg};
    cfg.procs = procs;
    have_stats = false;
    int rc = rg_run(run_main, &ra, &cfg);
    if (rc != 0) {
        fprintf(stderr, "ringo-bench: rg_run failed: %d\n", rc);
        exit(1);
    }
}

long bench_rss(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kb = -1;
    if (!f)
        return -1;
    while (fgets(line, sizeof(line), f))
        if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
            break;
    fclose(f);
    return kb * 1024;
}

void bench_result(const char *name, int procs, long n, double ns_op,
                  const char *extra)
{
    printf("bench=%s impl=ringo procs=%d n=%ld ns_op=%.2f%s%s", name, procs,
           n, ns_op, extra ? " " : "", extra ? extra : "");
    if (have_stats && n > 0)
        printf(" switches_op=%.2f steals=%llu parks_op=%.2f threads=%llu "
               "io_enters=%llu",
               (double)last_stats.switches / (double)n,
               (unsigned long long)last_stats.steals,
               (double)last_stats.parks / (double)n,
               (unsigned long long)last_stats.threads,
               (unsigned long long)last_stats.io_enters);
    printf("\n");
    fflush(stdout);
}

static void usage(void)
{
    fprintf(stderr, "usage: ringo-bench <name> [--procs P] [--n N] [options]\n"
                    "benchmarks:\n");
    for (size_t i = 0; i < sizeof(benches) / sizeof(benches[0]); i++)
        fprintf(stderr, "  %-10s %s\n", benches[i].name, benches[i].help);
}

int main(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "list") || !strcmp(argv[1], "-h") ||
        !strcmp(argv[1], "--help")) {
        usage();
        return argc < 2 ? 2 : 0;
    }
    struct bench_opts o = {0};
    char **rest = calloc((size_t)argc + 1, sizeof(char *));
    int nrest = 0;
    rest[nrest++] = argv[1];
    for (int i = 2; i < argc; i++) {
        if ((!strcmp(argv[i], "--procs") || !strcmp(argv[i], "-procs")) &&
            i + 1 < argc)
            o.procs = atoi(argv[++i]);
        else if ((!strcmp(argv[i], "--n") || !strcmp(argv[i], "-n")) &&
                 i + 1 < argc)
            o.n = atol(argv[++i]);
        else
            rest[nrest++] = argv[i];
    }
    o.argc = nrest;
    o.argv = rest;
    for (size_t i = 0; i < sizeof(benches) / sizeof(benches[0]); i++)
        if (!strcmp(benches[i].name, argv[1]))
            return benches[i].run(&o);
    fprintf(stderr, "ringo-bench: unknown benchmark '%s'\n", argv[1]);
    usage();
    return 2;
}
