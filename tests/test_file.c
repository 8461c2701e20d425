/*
 * tests/test_file.c: files and pipes through the ring: write/read round
 * trip with pwrite/pread, readv/writev and fsync, a file written and read
 * in parallel by many goroutines, blocking and O_NONBLOCK pipes, close of
 * a pipe a goroutine is blocked on, and the error paths.
 */
#include "helpers.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#define MS 1000000ull

static char tmpdir[64];

static void make_tmpdir(void)
{
    strcpy(tmpdir, "/tmp/ringo-test-file-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void path_in_tmp(char *out, size_t n, const char *name)
{
    snprintf(out, n, "%s/%s", tmpdir, name);
}

static void wait_flag(atomic_int *f, int want, uint64_t timeout)
{
    uint64_t end = rg_now() + timeout;
    while (atomic_load(f) < want) {
        ck_assert_msg(rg_now() < end, "timed out waiting (%d of %d)",
                      atomic_load(f), want);
        rg_sleep(MS);
    }
}

/* ---- round trip ---- */

static void roundtrip_main(void *arg)
{
    (void)arg;
    char path[128], buf[64];
    path_in_tmp(path, sizeof(path), "rt");
    int fd = rg_open(path, O_CREAT | O_RDWR | O_TRUNC | O_CLOEXEC, 0600);
    ck_assert_int_ge(fd, 0);
    /* write advances the position; pwrite does not. */
    ck_assert_int_eq(rg_write(fd, "hello ", 6), 6);
    ck_assert_int_eq(rg_write_all(fd, "world", 5), 5);
    ck_assert_int_eq(rg_pwrite(fd, "W", 1, 6), 1);
    ck_assert_int_eq(rg_write(fd, "!", 1), 1);
    ck_assert_int_eq(rg_fsync(fd), 0);
    memset(buf, 0, sizeof(buf));
    ck_assert_int_eq(rg_pread(fd, buf, sizeof(buf), 0), 12);
    ck_assert_str_eq(buf, "hello World!");
    ck_assert_int_eq(rg_pread(fd, buf, 5, 6), 5);
    ck_assert_int_eq(memcmp(buf, "World", 5), 0);
    ck_assert_int_eq(rg_read(fd, buf, sizeof(buf)), 0); /* at EOF */
    /* writev / readv */
    struct iovec out[3] = {{"ab", 2}, {"", 0}, {"cde", 3}};
    ck_assert_int_eq(rg_writev(fd, out, 3), 5);
    ck_assert_int_eq(lseek(fd, 12, SEEK_SET), 12);
    char a[1], b[4];
    struct iovec in[2] = {{a, 1}, {b, 4}};
    ck_assert_int_eq(rg_readv(fd, in, 2), 5);
    ck_assert_int_eq(a[0], 'a');
    ck_assert_int_eq(memcmp(b, "bcde", 4), 0);
    struct stat st;
    ck_assert_int_eq(fstat(fd, &st), 0);
    ck_assert_int_eq(st.st_size, 17);
    ck_assert_int_eq(rg_close(fd), 0);
    /* Reopen read-only and read it all sequentially. */
    fd = rg_open(path, O_RDONLY | O_CLOEXEC, 0);
    ck_assert_int_ge(fd, 0);
    memset(buf, 0, sizeof(buf));
    ck_assert_int_eq(rg_read(fd, buf, 6), 6);
    ck_assert_int_eq(rg_read(fd, buf + 6, 100), 11);
    ck_assert_str_eq(buf, "hello World!abcde");
    ck_assert_int_lt(rg_write(fd, "x", 1), 0); /* read-only */
    ck_assert_int_eq(rg_close(fd), 0);
    ck_assert_int_eq(unlink(path), 0);
}

START_TEST(file_round_trip)
{
    make_tmpdir();
    t_run_nofd(roundtrip_main, NULL, 1);
    t_run_nofd(roundtrip_main, NULL, 2);
    rmdir(tmpdir);
}
END_TEST

/* ---- many goroutines, one file ---- */

#define BLOCKS 256
#define BLOCK 4096
static int big_fd;
static atomic_int blocks_done;

static void fill_block(char *p, int i)
{
    for (int k = 0; k < BLOCK; k++)
        p[k] = (char)(i * 31 + k);
}

static void block_writer(void *arg)
{
    int i = (int)(intptr_t)arg;
    char buf[BLOCK];
    fill_block(buf, i);
    ck_assert_int_eq(rg_pwrite(big_fd, buf, BLOCK, (off_t)i * BLOCK), BLOCK);
    atomic_fetch_add(&blocks_done, 1);
}

static void block_reader(void *arg)
{
    int i = (int)(intptr_t)arg;
    char buf[BLOCK], want[BLOCK];
    fill_block(want, i);
    ck_assert_int_eq(rg_pread(big_fd, buf, BLOCK, (off_t)i * BLOCK), BLOCK);
    ck_assert_int_eq(memcmp(buf, want, BLOCK), 0);
    atomic_fetch_add(&blocks_done, 1);
}

static void parallel_main(void *arg)
{
    (void)arg;
    char path[128];
    path_in_tmp(path, sizeof(path), "big");
    big_fd = rg_open(path, O_CREAT | O_RDWR | O_TRUNC | O_CLOEXEC, 0600);
    ck_assert_int_ge(big_fd, 0);
    atomic_store(&blocks_done, 0);
    for (int i = 0; i < BLOCKS; i++)
        ck_assert_int_eq(rg_go(block_writer, (void *)(intptr_t)i), 0);
    wait_flag(&blocks_done, BLOCKS, 30000 * MS);
    ck_assert_int_eq(rg_fsync(big_fd), 0);
    atomic_store(&blocks_done, 0);
    for (int i = 0; i < BLOCKS; i++)
        ck_assert_int_eq(rg_go(block_reader, (void *)(intptr_t)i), 0);
    wait_flag(&blocks_done, BLOCKS, 30000 * MS);
    ck_assert_int_eq(rg_close(big_fd), 0);
    ck_assert_int_eq(unlink(path), 0);
}

START_TEST(parallel_pread_pwrite)
{
    make_tmpdir();
    t_run_nofd(parallel_main, NULL, 2);
    rmdir(tmpdir);
}
END_TEST

/* ---- pipes ---- */

static atomic_int pipe_done;
static _Atomic ssize_t pipe_res;

static void pipe_reader(void *arg)
{
    int fd = (int)(intptr_t)arg;
    char buf[16] = {0};
    pipe_res = rg_read(fd, buf, sizeof(buf));
    if (pipe_res > 0)
        ck_assert_str_eq(buf, "pipe");
    atomic_store(&pipe_done, 1);
}

static void pipe_main(void *arg)
{
    int flags = (int)(intptr_t)arg;
    int p[2];
    ck_assert_int_eq(pipe2(p, O_CLOEXEC | flags), 0);
    /* A reader blocked on an empty pipe is woken by the write. */
    atomic_store(&pipe_done, 0);
    ck_assert_int_eq(rg_go(pipe_reader, (void *)(intptr_t)p[0]), 0);
    rg_sleep(20 * MS);
    ck_assert_int_eq(atomic_load(&pipe_done), 0);
    ck_assert_int_eq(rg_write(p[1], "pipe", 5), 5);
    wait_flag(&pipe_done, 1, 5000 * MS);
    ck_assert_int_eq(pipe_res, 5);
    /* A reader blocked on it is woken by rg_close with -ECANCELED. */
    atomic_store(&pipe_done, 0);
    ck_assert_int_eq(rg_go(pipe_reader, (void *)(intptr_t)p[0]), 0);
    rg_sleep(20 * MS);
    ck_assert_int_eq(rg_close(p[0]), 0);
    wait_flag(&pipe_done, 1, 5000 * MS);
    ck_assert_int_eq(pipe_res, -ECANCELED);
    /* No reader left: writes fail with EPIPE. (ringo does not mask
       SIGPIPE for pipes; ignore it here.) */
    signal(SIGPIPE, SIG_IGN);
    ck_assert_int_eq(rg_write(p[1], "x", 1), -EPIPE);
    ck_assert_int_eq(rg_close(p[1]), 0);
}

START_TEST(pipes)
{
    t_run_nofd(pipe_main, (void *)0, 1);
    t_run_nofd(pipe_main, (void *)0, 2);
    t_run_nofd(pipe_main, (void *)(intptr_t)O_NONBLOCK, 1);
    t_run_nofd(pipe_main, (void *)(intptr_t)O_NONBLOCK, 2);
}
END_TEST

/* ---- errors ---- */

static void errors_main(void *arg)
{
    (void)arg;
    char buf[4];
    ck_assert_int_eq(rg_open("/nonexistent/ringo", O_RDONLY, 0), -ENOENT);
    ck_assert_int_eq(rg_open(NULL, O_RDONLY, 0), -EFAULT);
    ck_assert_int_eq(rg_read(-1, buf, 1), -EBADF);
    ck_assert_int_eq(rg_write(-1, buf, 1), -EBADF);
    ck_assert_int_eq(rg_close(-1), -EBADF);
    ck_assert_int_eq(rg_fsync(-1), -EBADF);
    ck_assert_int_eq(rg_pread(0, buf, 1, -1), -EINVAL);
    int p[2];
    ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
    ck_assert_int_eq(rg_pread(p[0], buf, 1, 0), -ESPIPE);
    ck_assert_int_eq(rg_fsync(p[0]), -EINVAL);
    ck_assert_int_eq(rg_close(p[0]), 0);
    ck_assert_int_eq(rg_close(p[1]), 0);
    ck_assert_int_eq(rg_close(p[1]), -EBADF);
}

START_TEST(file_errors)
{
    t_run_nofd(errors_main, NULL, 1);
}
END_TEST

static Suite *file_suite(void)
{
    Suite *s = suite_create("file");
    TCase *tc = tcase_create("file");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, file_round_trip);
    tcase_add_test(tc, parallel_pread_pwrite);
    tcase_add_test(tc, pipes);
    tcase_add_test(tc, file_errors);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return t_main(file_suite());
}
