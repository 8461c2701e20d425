/*
 * tests/test_debug.c: seeing inside: rg_dump (wait reasons, the function a
 * goroutine is blocked in, who created it), rg_stats, the SIGQUIT dump.
 */
#include "helpers.h"

#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static char out[65536];

/* Run fn with stdout... no: capture what rg_dump writes to a pipe. */
static void capture_dump(void)
{
    int fds[2];
    ck_assert_int_eq(pipe(fds), 0);
    ck_assert_int_eq(rg_dump(fds[1]), 0);
    close(fds[1]);
    size_t len = 0;
    ssize_t n;
    while ((n = read(fds[0], out + len, sizeof(out) - 1 - len)) > 0)
        len += (size_t)n;
    out[len] = 0;
    close(fds[0]);
}

static atomic_int asleep;

__attribute__((noinline)) static void sleepy_worker(void *arg)
{
    (void)arg;
    atomic_fetch_add(&asleep, 1);
    rg_sleep(60ull * 1000000000);
    atomic_fetch_sub(&asleep, 1); /* not a tail call: keep this frame */
}

static volatile uint64_t worker_id;
static void spawn_worker(void *arg)
{
    (void)arg;
    rg_go(sleepy_worker, NULL);
    worker_id = 3; /* not a tail call: keep the creation site */
}

static void dump_main(void *arg)
{
    (void)arg;
    rg_go(spawn_worker, NULL);
    while (atomic_load(&asleep) < 1)
        rg_sleep(1000000);
    rg_sleep(2000000);
    capture_dump();
}

START_TEST(dump_shows_reason_function_and_creator)
{
    atomic_store(&asleep, 0);
    t_run(dump_main, NULL, 2);
    /* main is running: it is listed with its own trace */
    ck_assert_msg(strstr(out, "goroutine 1 [running]:"), "%s", out);
    ck_assert_msg(strstr(out, "dump_main"), "%s", out);
    /* the sleeper: its wait reason, the function it is blocked in, and
       who created it (a goroutine, in spawn_worker). Ids depend on which
       P ran the creator (they come in batches per P). */
    ck_assert_msg(strstr(out, " [sleep]:\n"), "%s", out);
    ck_assert_msg(strstr(out, "sleepy_worker+"), "%s", out);
    ck_assert_msg(strstr(out, "rg_sleep+"), "%s", out);
    const char *cb = strstr(out, "created by goroutine ");
    ck_assert_msg(cb && strstr(cb, " at spawn_worker+"), "%s", out);
    (void)worker_id;
}
END_TEST

START_TEST(dump_outside_runtime)
{
    ck_assert_int_eq(rg_dump(2), -EPERM);
    struct rg_stats st;
    ck_assert_int_eq(rg_stats(&st), -EPERM);
}
END_TEST

static struct rg_stats st1;
static void noop(void *arg) { (void)arg; }
static void stats_main(void *arg)
{
    (void)arg;
    for (int i = 0; i < 1000; i++)
        rg_go(noop, NULL);
    for (int i = 0; i < 10; i++)
        rg_sleep(100000);
    ck_assert_int_eq(rg_stats(NULL), -EINVAL);
    ck_assert_int_eq(rg_stats(&st1), 0);
}

START_TEST(stats_count)
{
    t_run(stats_main, NULL, 2);
    ck_assert_uint_ge(st1.goroutines_created, 1001);
    ck_assert_uint_ge(st1.goroutines, 1);
    ck_assert_uint_le(st1.goroutines, 1001);
    ck_assert_uint_ge(st1.switches, 1001);
    ck_assert_uint_ge(st1.parks, 10);
    ck_assert_uint_ge(st1.threads, 1);
    ck_assert_uint_gt(st1.stack_mapped, 0);
    ck_assert_uint_gt(st1.stack_resident, 0);
    ck_assert_uint_le(st1.stack_resident, st1.stack_mapped);
}
END_TEST

static void quit_main(void *arg)
{
    (void)arg;
    rg_go(sleepy_worker, NULL);
    rg_sleep(5000000);
    raise(SIGQUIT);
    rg_sleep(1000000000);
}

/* With RG_CONFIG_TRACEBACK, SIGQUIT dumps every goroutine and exits 2. */
START_TEST(sigquit_dumps)
{
    int fds[2];
    ck_assert_int_eq(pipe(fds), 0);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fds[1], 2);
        struct rg_config cfg = {0};
        cfg.procs = 2;
        cfg.flags = RG_CONFIG_TRACEBACK;
        rg_run(quit_main, NULL, &cfg);
        _exit(0);
    }
    close(fds[1]);
    size_t len = 0;
    ssize_t n;
    while ((n = read(fds[0], out + len, sizeof(out) - 1 - len)) > 0)
        len += (size_t)n;
    out[len] = 0;
    int status;
    waitpid(pid, &status, 0);
    ck_assert(WIFEXITED(status));
    ck_assert_int_eq(WEXITSTATUS(status), 2);
    ck_assert_msg(strstr(out, "SIGQUIT"), "%s", out);
    /* Its id depends on which P ran main (ids come in batches per P). */
    ck_assert_msg(strstr(out, " [sleep]:\n"), "%s", out);
    ck_assert_msg(strstr(out, "sleepy_worker+"), "%s", out);
}
END_TEST

static void trace_main(void *arg)
{
    (void)arg;
    rg_sleep(105000000); /* 105 ms */
}

/* RINGO_DEBUG=schedtrace=20 prints a SCHED line every 20 ms. */
START_TEST(schedtrace_interval)
{
    int fds[2];
    ck_assert_int_eq(pipe(fds), 0);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fds[1], 2);
        setenv("RINGO_DEBUG", "schedtrace=20,scheddetail=1", 1);
        struct rg_config cfg = {0};
        cfg.procs = 2;
        _exit(rg_run(trace_main, NULL, &cfg) == 0 ? 0 : 1);
    }
    close(fds[1]);
    size_t len = 0;
    ssize_t n;
    while ((n = read(fds[0], out + len, sizeof(out) - 1 - len)) > 0)
        len += (size_t)n;
    out[len] = 0;
    int status;
    waitpid(pid, &status, 0);
    ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    int lines = 0;
    for (char *p = out; (p = strstr(p, "SCHED ")); p++)
        lines++;
    /* 0, 20, 40, 60, 80, 100 ms: 6 lines, give or take scheduling noise */
    ck_assert_msg(lines >= 4 && lines <= 8, "%d lines:\n%s", lines, out);
    ck_assert_msg(strstr(out, "gomaxprocs=2"), "%s", out);
    ck_assert_msg(strstr(out, "timers=1"), "%s", out);
    ck_assert_msg(strstr(out, "  P1: status="), "%s", out);
    ck_assert_msg(strstr(out, "  G1: status=3(sleep)"), "%s", out);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("debug");
    TCase *tc = tcase_create("debug");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, dump_shows_reason_function_and_creator);
    tcase_add_test(tc, dump_outside_runtime);
    tcase_add_test(tc, stats_count);
    tcase_add_test(tc, sigquit_dumps);
    tcase_add_test(tc, schedtrace_interval);
    suite_add_tcase(s, tc);
    return t_main(s);
}
