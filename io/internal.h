/*
 * io/internal.h: what the files of io/ share: the raw syscall wrappers
 * (sys.c), the per-fd state and the generic "submit one operation and
 * park" path (fd.c), and its epoll counterpart "try, wait for readiness,
 * retry" (ready.c). Nothing here is visible outside io/.
 *
 * Layering: net.c and file.c build the public calls on rg__io_do and the
 * fd table; fd.c builds on the poller (poll.h), handing the operation to
 * ready.c under the epoll backend; the pollers on the runtime (park/ready
 * only). runtime/ never includes this file.
 */
#ifndef RINGO_IO_INTERNAL_H
#define RINGO_IO_INTERNAL_H

#include "poll.h"
#include "../runtime/internal.h"

#include <linux/time_types.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>

/* Park reasons of io/ (unique per park site, shown in dumps). */
#define RG_WAIT_IO_READ "IO wait read"
#define RG_WAIT_IO_WRITE "IO wait write"
#define RG_WAIT_IO_ACCEPT "IO wait accept"
#define RG_WAIT_IO_CONNECT "IO wait connect"
#define RG_WAIT_IO_FILE "IO wait file"
#define RG_WAIT_IO_CLOSE "IO wait close"
#define RG_WAIT_IO_DRAIN "IO wait close drain"
#define RG_WAIT_IO_CLOSING "IO wait fd closing"
#define RG_WAIT_IO_RESOLVE "IO wait resolve"
#define RG_WAIT_IO_POLL "IO wait poll"

/* Directions, as in the public API: which deadline applies to an op. */
#define IO_DIR_READ 1  /* RG_READ */
#define IO_DIR_WRITE 2 /* RG_WRITE */

/* Why an op was asked to cancel (ioop.cancel). */
enum { CANCEL_NONE = 0, CANCEL_CLOSE, CANCEL_DEADLINE, CANCEL_STOP };

/* What an fd is (fdstate.kind), found by fstat on first use. */
enum { FD_KIND_UNKNOWN = 0, FD_KIND_SOCKET, FD_KIND_PIPE, FD_KIND_OTHER };

/* fdstate.ep: what the epoll backend learned about an fd (ready.c). */
enum {
    EP_REG = 1,     /* registered in the epoll instance */
    EP_NOPOLL = 2,  /* epoll refused it (a regular file): blocking calls */
    EP_FLKNOWN = 4, /* EP_NONBLOCK is known */
    EP_NONBLOCK = 8 /* O_NONBLOCK is set on the open file */
};

struct acceptq;
struct addrinfo;

/*
 * An operation in flight on some M's ring, registered on its fd. Lives on
 * the waiting G's stack (or in a listener's heap state for the multishot
 * accept) until its final CQE has arrived and it is unregistered.
 */
struct ioop {
    struct rg__pollop pop;       /* wait slot; the SQE's user_data */

    /* Protected by the fd's lock. */
    struct ioop *next, *prev;    /* fd's list of ops in flight */
    uint8_t cancel;              /* CANCEL_* requested, or CANCEL_NONE */
    bool cancel_sent;            /* the ring owner queued ASYNC_CANCEL */

    /* Set at registration, read-only afterwards. */
    uint8_t dir;                 /* IO_DIR_* whose deadline applies, or 0 */
    uint8_t armed;               /* epoll: lock; IO_DIR_* it waits to be
                                    ready for, 0: not waiting (ready.c) */
    uintptr_t tok;               /* epoll: its own timeout's token, 0: none */
    struct m *m;                 /* M whose ring holds the op */
    int64_t deadline;            /* the call's own linked timeout (rg_now
                                    clock), 0: none */
    struct __kernel_timespec ts; /* its value, read by the kernel at submit */
};

/*
 * Per-fd state (see "The fd table" in fd.c). Entries are never freed while
 * the runtime runs; a closed fd's entry is reset for the next fd with that
 * number.
 */
struct fdstate {
    int fd;                      /* the fd number; constant */
    rg_lock lock;                /* protects the fields marked "lock" */
    _Atomic uint8_t closing;     /* rg_close in progress; written under lock */
    _Atomic uint8_t kind;        /* FD_KIND_*, reset with the entry */
    _Atomic uint8_t rmiss;       /* recv tries that found nothing, see
                                    "Trying first" in net.c; racy hint */
    uint32_t gen;                /* lock: bumped when the entry is reset */
    _Atomic int64_t deadline[2]; /* [0] read, [1] write; 0: none; written
                                    under lock, read without it */
    struct ioop *ops;            /* lock: ops in flight */
    struct g *closer;            /* lock: rg_close parked for the drain */
    struct gq closewait;         /* lock: calls waiting for the close to end */
    struct acceptq *acceptq;     /* lock: multishot accept state (accept.c),
                                    or NULL */

    /* Readiness, for the epoll backend (see "Readiness" in ready.c). */
    _Atomic uint8_t ep;          /* EP_* bits; reset with the entry */
    _Atomic uint32_t rdseq[2];   /* readiness edges seen: [0] read,
                                    [1] write; bumped by the poller */
    _Atomic uint32_t nwait[2];   /* ops armed per direction; written under
                                    lock, read without it by the poller */

    /* The deadline timer (see "Deadlines" in fd.c), under tlock. */
    rg_lock tlock;
    int64_t twhen;               /* when it is armed for, 0: not armed */
    struct rg_timer timer;       /* f = deadline_fire, arg = this entry */
};

/*
 * One operation for rg__io_do: the fields of the SQE (io_uring_prep_rw's
 * arguments plus the op-specific flags word and ioprio) and how to wait.
 */
struct iodesc {
    uint8_t opcode;      /* IORING_OP_* */
    uint8_t dir;         /* IO_DIR_* deadline that applies, or 0 */
    bool noreg;          /* do not register on the fd (the close itself) */
    uint16_t ioprio;     /* e.g. IORING_RECVSEND_POLL_FIRST */
    int fd;
    const void *addr;
    uint32_t len;
    uint64_t off;
    uint32_t flags;      /* rw_flags / msg_flags / accept_flags / ... */
    int64_t deadline;    /* the call's own absolute deadline, as a linked
                            timeout (dial, resolve), 0: none */
    const char *reason;  /* park reason */
};

/* ---- fd.c ---- */
struct fdstate *rg__fd_get(int fd);
void rg__fd_fresh(int fd, int kind);
int rg__fd_kind(struct fdstate *fs, int fd);
void rg__fd_close_raw(int fd);
bool rg__io_in_goroutine(void);
int64_t rg__fd_deadline(struct fdstate *fs, int dir);
int rg__fd_check(struct fdstate *fs, int dir);
ssize_t rg__io_do(const struct iodesc *d);
int rg__fd_register(struct fdstate *fs, struct ioop *op, int dir,
                    int64_t *deadline);
void rg__fd_unregister(struct fdstate *fs, struct ioop *op, struct gq *ready);
void rg__fd_link_locked(struct fdstate *fs, struct ioop *op, int dir);
struct g *rg__fd_unlink_locked(struct fdstate *fs, struct ioop *op);
struct m *rg__fd_cancel_locked(struct fdstate *fs, struct ioop *op, int why);
void rg__io_fini(void);

/* ---- poll_epoll.c, ready.c: the I/O path of the epoll backend ---- */
int rg__ep_add(int fd, struct fdstate *fs);
ssize_t rg__ep_io_do(const struct iodesc *d);
void rg__ep_ready(struct fdstate *fs, int dir, struct gq *ready);
void rg__ep_cancel_locked(struct fdstate *fs, struct ioop *op, int why,
                          struct gq *woken);

/* ---- net.c ---- */

/* Which path each call takes; the defaults are what the benchmarks chose
   (docs/design.md). bench/io.c flips them to compare. Set before rg_run. */
struct rg__io_tune {
    bool recv_try;         /* recv: MSG_DONTWAIT syscall before the ring */
    bool recv_adapt;       /* ...adapting per fd ("Trying first") */
    bool send_try;         /* send: likewise */
    bool accept_multishot; /* accept: one multishot accept per listener */
    bool deadline_link;    /* fd deadlines also as linked timeouts on each
                              op (the rejected design, for comparison) */
};
extern struct rg__io_tune rg__io_tune;

ssize_t rg__sock_recv(struct fdstate *fs, int fd, void *buf, size_t n,
                      int flags);
ssize_t rg__sock_send(struct fdstate *fs, int fd, const void *buf, size_t n,
                      int flags);

/* ---- accept.c ---- */
void rg__acceptq_close(struct fdstate *fs);
void rg__acceptq_requeue_locked(struct fdstate *fs, struct gq *woken);

/* ---- sys.c: raw syscalls, -errno on failure, errno left untouched ---- */
ssize_t rg__sys_recv(int fd, void *buf, size_t n, int flags);
ssize_t rg__sys_send(int fd, const void *buf, size_t n, int flags);
ssize_t rg__sys_recvmsg(int fd, struct msghdr *msg, int flags);
ssize_t rg__sys_sendmsg(int fd, const struct msghdr *msg, int flags);
int rg__sys_socket(int domain, int type, int proto);
int rg__sys_setsockopt(int fd, int level, int name, const void *v,
                       socklen_t len);
int rg__sys_bind(int fd, const struct sockaddr *sa, socklen_t len);
int rg__sys_listen(int fd, int backlog);
int rg__sys_getpeername(int fd, struct sockaddr *sa, socklen_t *len);
int rg__sys_close(int fd);
int rg__sys_fcntl(int fd, int cmd, int arg);
int rg__sys_eventfd(unsigned initval, int flags);
ssize_t rg__sys_read(int fd, void *buf, size_t n);
ssize_t rg__sys_write(int fd, const void *buf, size_t n);
int rg__sys_fstat_kind(int fd);
int rg__sys_accept4(int fd, struct sockaddr *sa, socklen_t *len, int flags);
int rg__sys_connect(int fd, const struct sockaddr *sa, socklen_t len);
int rg__sys_sockerr(int fd);
ssize_t rg__sys_readv(int fd, const struct iovec *iov, int cnt);
ssize_t rg__sys_writev(int fd, const struct iovec *iov, int cnt);
ssize_t rg__sys_pread(int fd, void *buf, size_t n, off_t off);
ssize_t rg__sys_pwrite(int fd, const void *buf, size_t n, off_t off);
ssize_t rg__sys_preadv(int fd, const struct iovec *iov, int cnt, off_t off);
ssize_t rg__sys_pwritev(int fd, const struct iovec *iov, int cnt, off_t off);
int rg__sys_openat(int dirfd, const char *path, int flags, mode_t mode);
int rg__sys_fsync(int fd);
int rg__sys_poll1(int fd, short events, int timeout_ms);
struct epoll_event;
int rg__sys_epoll_create(void);
int rg__sys_epoll_ctl(int epfd, int op, int fd, struct epoll_event *ev);
int rg__sys_epoll_wait(int epfd, struct epoll_event *evs, int n, int64_t ns,
                       bool ns_timeout);
bool rg__sys_epoll_pwait2_works(int epfd);
void rg__sys_futex_wait(_Atomic uint32_t *addr, uint32_t val, int64_t ns);
void rg__sys_futex_wake(_Atomic uint32_t *addr, int n);
int rg__sys_gettid(void);
int rg__sys_tgkill(int pid, int tid, int sig);
int rg__sys_getaddrinfo(const char *host, const char *serv,
                        const struct addrinfo *hints, struct addrinfo **res);

#endif
