/*
 * tests/test_stack.c: goroutine stacks: deep recursion within the limit,
 * overflow caught with a message, lazy commit, and more goroutines than
 * mprotect guard pages would allow under vm.max_map_count.
 */
#include "helpers.h"

#include <stdatomic.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static long recurse(long depth)
{
    volatile char pad[256];
    pad[0] = (char)depth;
    if (depth == 0)
        return pad[0];
    return recurse(depth - 1) + pad[0];
}

static long rec_result;
static void deep(void *arg)
{
    rec_result = recurse((long)(intptr_t)arg);
}

static void deep_main(void *arg)
{
    rg_go(deep, arg);
    rg_sleep(10000000);
}

START_TEST(deep_recursion_within_limit)
{
    /* ~300 bytes a frame: 600 frames is ~180 KiB of a 256 KiB stack */
    rec_result = -1;
    t_run(deep_main, (void *)(intptr_t)600, 1);
    ck_assert_int_ge(rec_result, 0);
}
END_TEST

static void overflow_main(void *arg)
{
    (void)arg;
    rg_go(deep, (void *)(intptr_t)100000000);
    rg_sleep(1000000000);
}

/* Overflow must kill the process with a message naming the goroutine
   and its stack size: run it in a child and read its stderr. */
START_TEST(overflow_dies_with_message)
{
    int fds[2];
    ck_assert_int_eq(pipe(fds), 0);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fds[1], 2);
        struct rg_config cfg = {0};
        cfg.procs = 1;
        cfg.stack_size = 64 * 1024;
        rg_run(overflow_main, NULL, &cfg);
        _exit(0); /* not reached if the overflow is caught */
    }
    close(fds[1]);
    char buf[4096];
    size_t len = 0;
    ssize_t n;
    while ((n = read(fds[0], buf + len, sizeof(buf) - 1 - len)) > 0)
        len += (size_t)n;
    buf[len] = 0;
    int status;
    waitpid(pid, &status, 0);
    ck_assert_msg(WIFSIGNALED(status), "child exited normally: %s", buf);
    ck_assert_ptr_nonnull(strstr(buf, "goroutine 2 stack overflow"));
    ck_assert_ptr_nonnull(strstr(buf, "stack size 65536"));
}
END_TEST

static long rss_kb(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kb = -1;
    while (f && fgets(line, sizeof(line), f))
        if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
            break;
    if (f)
        fclose(f);
    return kb;
}

static long map_count(void)
{
    FILE *f = fopen("/proc/self/maps", "r");
    long n = 0;
    int c;
    while (f && (c = fgetc(f)) != EOF)
        n += c == '\n';
    if (f)
        fclose(f);
    return n;
}

/* 40k goroutines alive at once: more than the ~32k that mprotect guard
   pages allow under vm.max_map_count = 65530; each costs ~1 page. */
#define MANY 40000
static atomic_long parked;
static atomic_int release;
static long rss_per_g, maps_during;

static void waiter(void *arg)
{
    (void)arg;
    atomic_fetch_add(&parked, 1);
    while (!atomic_load(&release))
        rg_sleep(50000000);
}

static void many_main(void *arg)
{
    (void)arg;
    long before = rss_kb();
    for (int i = 0; i < MANY; i++)
        ck_assert_int_eq(rg_go(waiter, NULL), 0);
    while (atomic_load(&parked) < MANY)
        rg_sleep(1000000);
    rss_per_g = (rss_kb() - before) * 1024 / MANY;
    maps_during = map_count();
    atomic_store(&release, 1);
}

START_TEST(many_goroutines_guarded_lazily)
{
    atomic_store(&parked, 0);
    atomic_store(&release, 0);
    t_run(many_main, NULL, 2);
    /* lazily committed: nowhere near 256 KiB each */
    ck_assert_int_lt(rss_per_g, 16 * 1024);
    ck_assert_int_lt(maps_during, 65530);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("stack");
    TCase *tc = tcase_create("stack");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, deep_recursion_within_limit);
    tcase_add_test(tc, overflow_dies_with_message);
    tcase_add_test(tc, many_goroutines_guarded_lazily);
    suite_add_tcase(s, tc);
    return t_main(s);
}
