/*
 * tests/helpers.h: shared helpers for the Check suites (t_ prefix).
 */
#ifndef RINGO_TESTS_HELPERS_H
#define RINGO_TESTS_HELPERS_H

#include <check.h>
#include <dirent.h>
#include <ringo.h>
#include <stdio.h>
#include <stdlib.h>

/* Run fn(arg) as main under rg_run with the given Ps (0: default) and
   assert rg_run returned 0. */
#define t_run(fn, arg, nprocs)                                                  \
    do {                                                                       \
        struct rg_config t_cfg_ = {0};                                         \
        t_cfg_.procs = (nprocs);                                                \
        int t_rc_ = rg_run((fn), (arg), &t_cfg_);                              \
        ck_assert_int_eq(t_rc_, 0);                                            \
    } while (0)

/* Open fds of this process (-1 if /proc is missing): a test that must
   not leak fds compares the count before and after. */
static inline int t_open_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    int n = 0;
    if (!d)
        return -1;
    while (readdir(d))
        n++;
    closedir(d);
    return n;
}

/* t_run, then assert that no fd leaked (quiescence). */
#define t_run_nofd(fn, arg, procs)                                             \
    do {                                                                       \
        int fds0_ = t_open_fds();                                              \
        t_run(fn, arg, procs);                                                 \
        ck_assert_int_eq(t_open_fds(), fds0_);                                 \
    } while (0)

/* Run the suite (forking each test) and exit with its verdict. */
static inline int t_main(Suite *s)
{
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

#endif
