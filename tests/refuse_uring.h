/*
 * tests/refuse_uring.h: make io_uring_setup fail, as a seccomp policy or
 * kernel.io_uring_disabled would, for the suites that test the fallback
 * (test_netpoll) and a ring refused after start-up (test_fault).
 */
#ifndef RINGO_TESTS_REFUSE_URING_H
#define RINGO_TESTS_REFUSE_URING_H

#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#if defined(__x86_64__)
#define T_AUDIT_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define T_AUDIT_ARCH AUDIT_ARCH_AARCH64
#endif

/*
 * t_refuse_io_uring: from now on io_uring_setup fails with err in every
 * thread of this process and in the threads they create (TSYNC: a thread
 * already running, such as the monitor, too). 0, or -errno (-EBUSY: a
 * thread could not be synchronised; -ENOSYS: no filter for this CPU).
 */
static inline int t_refuse_io_uring(int err)
{
#ifdef T_AUDIT_ARCH
    struct sock_filter f[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, T_AUDIT_ARCH, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_setup, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (err & SECCOMP_RET_DATA)),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog prog = {.len = sizeof(f) / sizeof(f[0]), .filter = f};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
        return -errno;
    long r = syscall(__NR_seccomp, SECCOMP_SET_MODE_FILTER,
                     SECCOMP_FILTER_FLAG_TSYNC, &prog);
    if (r != 0)
        return r > 0 ? -EBUSY : -errno;
    return 0;
#else
    (void)err;
    return -ENOSYS;
#endif
}

#endif
