/*
 * tests/helpers.h: shared helpers for the Check suites (t_ prefix).
 */
#ifndef RINGO_TESTS_HELPERS_H
#define RINGO_TESTS_HELPERS_H

#include <check.h>
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
