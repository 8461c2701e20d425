/*
 * bench/bench.h: the ringo-bench runner's interface.
 *
 * Each benchmark is a function registered in bench/main.c's table. It
 * receives the parsed common options and the remaining argv, runs one
 * workload and prints one result line per measurement:
 *
 *   bench=<name> impl=ringo procs=<P> n=<N> ns_op=<x> [key=value ...]
 *
 * the same format as the peers under bench/peers/, so bench/compare.sh
 * can put them side by side. Progress and errors go to stderr.
 */
#ifndef RINGO_BENCH_H
#define RINGO_BENCH_H

#include <ringo.h>
#include <stdint.h>
#include <stdio.h>

struct bench_opts {
    int procs;     /* --procs, 0: default (1 for micro-benchmarks) */
    long n;        /* --n, 0: the benchmark's default */
    int argc;      /* what is left of argv after the common options */
    char **argv;
};

struct bench {
    const char *name;
    const char *help;
    int (*run)(struct bench_opts *o);
};

/* Run fn(arg) as main with procs Ps; exit on failure. */
void bench_rg_run(void (*fn)(void *), void *arg, int procs);

/* VmRSS of this process in bytes. */
long bench_rss(void);

/* Print a result line; extra is a preformatted "k=v k=v" or NULL. */
void bench_result(const char *name, int procs, long n, double ns_op,
                  const char *extra);

/* Benchmarks, one per file. */
int bench_switch(struct bench_opts *o);
int bench_yield(struct bench_opts *o);
int bench_spawn(struct bench_opts *o);
int bench_sleep(struct bench_opts *o);
int bench_parked(struct bench_opts *o);
int bench_pingpong(struct bench_opts *o);
int bench_bufchan(struct bench_opts *o);
int bench_select4(struct bench_opts *o);
int bench_mutex(struct bench_opts *o);
int bench_echo(struct bench_opts *o);
int bench_http(struct bench_opts *o);
int bench_iort(struct bench_opts *o);
int bench_iostream(struct bench_opts *o);
int bench_accept(struct bench_opts *o);
int bench_tcp(struct bench_opts *o);
int bench_file(struct bench_opts *o);
int bench_soak(struct bench_opts *o);

#endif
