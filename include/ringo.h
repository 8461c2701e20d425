/*
 * ringo.h: goroutines for C on Linux, scheduled G/M/P-style on io_uring.
 *
 * A goroutine is a function running on its own small stack. rg_run turns
 * the calling thread into the runtime's first worker thread and runs a
 * main goroutine; goroutines started with rg_go run on a pool of threads
 * (Go's G/M/P scheduler) and block only themselves when they wait on I/O,
 * channels, locks or timers. docs/api.md is this reference on one page,
 * docs/design.md the model behind it.
 *
 * The header reads top-down: conventions and version, then one section
 * per object: the runtime, goroutines, seeing inside, I/O, channels and
 * select, synchronization.
 *
 * Conventions, for every function below:
 *  - Functions that can fail return 0 (or a count) on success and a
 *    negative errno on failure, as liburing does. ringo never sets errno:
 *    a ringo call leaves the caller's errno as it found it.
 *  - Who may call, as each function states it:
 *      "from a goroutine": from code running on a goroutine of the
 *      running runtime; called from elsewhere, such functions return
 *      -EPERM and do nothing.
 *      "any thread": from a goroutine or from any other thread of the
 *      process (a "foreign" thread, not one of the runtime's), at any
 *      time unless the function says "while a runtime runs".
 *  - Pointer arguments must be valid unless a function says what NULL
 *    means.
 *  - Scheduling is cooperative: a goroutine runs until it blocks in a
 *    ringo call, yields (rg_yield) or returns. Code that loops without
 *    calling ringo keeps its thread; a call that blocks the thread in the
 *    kernel or a C library belongs in rg_blocking.
 *  - A goroutine may resume on a different thread after any call that can
 *    block or yield. Do not keep pointers to thread-local storage (errno,
 *    thread_local/__thread variables, pthread_self()) across such calls.
 *  - C and C++: the header compiles as C99/C11 and C++11/17. Zero a
 *    struct rg_config with `= {0}` in C, `{}` in C++ (where -Wextra warns
 *    about `{0}`). The RG_*_INIT macros are braced initializers: use them
 *    to initialize a declaration or a C++ member, not as expressions. A
 *    C++ exception may be thrown and caught inside a goroutine, but must
 *    not leave the goroutine's function (std::terminate) nor a callback
 *    ringo calls (rg_blocking, rg_once_do).
 */
#ifndef RINGO_H
#define RINGO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Version of this header, the same as ringo.pc's (checked by
   tests/test_install.sh). The shared library's soname is libringo.so.0;
   it changes when the ABI does. */
#define RINGO_VERSION_MAJOR 0
#define RINGO_VERSION_MINOR 1
#define RINGO_VERSION_PATCH 0

#if defined(__GNUC__)
#define RG_API __attribute__((visibility("default")))
#else
#define RG_API
#endif

/* ------------------------------------------------------------------ */
/* Runtime                                                             */
/* ------------------------------------------------------------------ */

/*
 * The runtime is the scheduler, its threads and their I/O pollers (an
 * io_uring per thread, or one epoll instance: RG_CONFIG_EPOLL). rg_run
 * starts it on the calling thread and stops it when the main goroutine
 * returns; one runtime runs at a time in a process, and it may be
 * started again after it stopped. While it runs it owns handlers for
 * SIGSEGV and SIGBUS (a goroutine stack overflow is reported, any other
 * fault goes to the handler installed before), SIGURG with io_uring (it
 * nudges a busy thread to submit its I/O; other SIGURGs go to the
 * previous handler), and SIGQUIT with RG_CONFIG_TRACEBACK; rg_run
 * restores them all.
 */

/*
 * Settings for rg_run(). Zero means "the default" for every field, so
 * `struct rg_config cfg = {0};` (`{}` in C++), or a NULL pointer, is a
 * valid config. A value out of range makes rg_run fail with -EINVAL.
 */
struct rg_config {
    int procs;             /* Ps (goroutines running in parallel), 0..4096.
                              0: $RINGO_PROCS if it is a number in 1..4096,
                              else the CPUs in the process's affinity
                              mask. */
    size_t stack_size;     /* bytes of each goroutine stack, 0..1 GiB,
                              raised to 16 KiB and rounded up to pages;
                              its top ~0.5 KiB holds the goroutine's
                              descriptor. 0: 256 KiB. Stacks are reserved,
                              not committed: RSS grows only with the pages
                              a goroutine touches. */
    unsigned ring_entries; /* submission queue entries of each thread's
                              io_uring, 0..32768. 0: 256. */
    unsigned flags;        /* RG_CONFIG_* below; other bits: -EINVAL */
    int reserved[7];       /* must be zero */
};

/* rg_config.flags: SIGQUIT prints every goroutine's stack to stderr and
   exits 2 (as Go does). RINGO_TRACEBACK in the environment overrides the
   flag: "0" turns the dump off, any other non-empty value on. */
#define RG_CONFIG_TRACEBACK 0x1
/* rg_config.flags: wait for I/O with epoll (Go's netpoller: try the call,
   wait for readiness, retry; files run as blocking calls) instead of
   io_uring. Also selected by RINGO_NETPOLL=epoll in the environment, and
   taken on its own, with one line on stderr, where io_uring cannot be set
   up (qemu-user, seccomp, kernel.io_uring_disabled). The calls behave the
   same either way; ring_entries is then unused. */
#define RG_CONFIG_EPOLL 0x2
/* rg_config.flags: set up each thread's io_uring with
   IORING_SETUP_DEFER_TASKRUN where the kernel has it (6.1+): completions
   are posted only when the thread enters the kernel for them, in batches,
   which costs 5-10% less CPU per request on a busy server (README,
   "Performance"). The price: the completions of I/O queued on a thread's
   ring wait while that thread is inside rg_blocking, until the call
   returns (a thread running goroutines is kicked to post them, as without
   the flag). So set it in programs that make no long blocking calls; the
   example servers do. RINGO_DEFER_TASKRUN in the environment overrides
   the flag: "0" off, any other non-empty value on. No effect with
   RG_CONFIG_EPOLL. */
#define RG_CONFIG_DEFER_TASKRUN 0x4

/*
 * rg_run - boot the runtime and run main_fn(arg) as goroutine 1.
 *
 * The calling thread becomes the runtime's first M (m0). rg_run returns
 * when main_fn returns: goroutines still alive then are never resumed
 * again, every runtime resource is freed, and rg_run may be called again.
 * A goroutine that is running on another thread at that moment is not
 * interrupted; rg_run waits for it to reach its next scheduling point.
 *
 * Any thread that is not running a goroutine. The environment is read
 * here: RINGO_PROCS, RINGO_TRACEBACK, RINGO_DEBUG, RINGO_NETPOLL
 * (docs/api.md).
 *
 * Returns 0 when main_fn returned; -EINVAL for a NULL main_fn or a bad
 * config; -EBUSY when called from a goroutine or while a runtime is
 * already running in this process; -EDEADLK when every goroutine became
 * blocked forever (a report goes to stderr); -EAGAIN when the monitor
 * thread could not be started; or the -errno of another resource that
 * could not be set up (the poller, memory), with a message on stderr
 * saying which.
 */
RG_API int rg_run(void (*main_fn)(void *), void *arg,
                  const struct rg_config *cfg);

/* rg_procs - number of Ps of the running runtime; 0 when none runs. Any
   thread. */
RG_API int rg_procs(void);

/* ------------------------------------------------------------------ */
/* Goroutines                                                          */
/* ------------------------------------------------------------------ */

/*
 * A goroutine is fn(arg) running on its own stack, scheduled on whichever
 * runtime thread is free; it ends when fn returns (there is no handle to
 * join it: use a channel or a waitgroup). Goroutines are cheap: a parked
 * one costs about one page of RAM, and starting one in steady state
 * reuses a dead one's stack without a system call.
 */

/*
 * rg_go - start fn(arg) as a new goroutine.
 *
 * From a goroutine, the new one is queued to run next on the caller's P,
 * once the caller blocks or yields (an idle thread may steal it sooner).
 * rg_go may yield the caller when its P's run queue is full, so a loop
 * that spawns goroutines cannot run away from them. From a foreign
 * thread, while a runtime runs, it goes to the global run queue and an
 * idle P is woken for it. Any thread, while a runtime runs; not from
 * rg_blocking's fn.
 *
 * Returns 0; -EINVAL for a NULL fn; -ENOMEM when no stack could be
 * mapped; -EPERM when no runtime runs (or it is stopping). On failure fn
 * never runs.
 */
RG_API int rg_go(void (*fn)(void *), void *arg);

/* rg_yield - let other runnable goroutines run; the caller stays runnable
   and goes to the back of its P's run queue. Outside a goroutine it does
   nothing. */
RG_API void rg_yield(void);

/*
 * rg_sleep - park the calling goroutine for at least ns nanoseconds (0:
 * just yield). From a goroutine. Returns 0, or -EPERM outside one.
 */
RG_API int rg_sleep(uint64_t ns);

/* rg_now - monotonic clock (CLOCK_MONOTONIC) in nanoseconds, the clock of
   deadlines. Any thread, with or without a runtime. */
RG_API uint64_t rg_now(void);

/* rg_id - id of the calling goroutine: main is 1, the others unique within
   a run (not in creation order); 0 outside a goroutine. Any thread. */
RG_API uint64_t rg_id(void);

/*
 * rg_blocking - run fn(arg), a call that may block the thread (a blocking
 * syscall, a C library that does its own I/O), on the calling goroutine
 * without stopping the others.
 *
 * fn runs at once, on the caller's stack and thread. If it takes longer
 * than ~20 us, the runtime's monitor hands the caller's P to another
 * thread (one is started if none is idle, up to 1024 threads in all), so
 * the other goroutines keep running. When fn returns, the goroutine
 * continues on its P if that is still free, else on any idle P, else it
 * is queued and may resume on another thread. fn must not call rg_go or
 * ringo functions that block or yield; the ones that never block
 * (trysend, tryrecv, unlocks, signal, ...) are allowed. fn returns
 * nothing: pass results through arg.
 *
 * From a goroutine. Returns 0 after fn returned, -EINVAL if fn is NULL,
 * or -EPERM outside a goroutine (fn is not called).
 */
RG_API int rg_blocking(void (*fn)(void *), void *arg);

/* ------------------------------------------------------------------ */
/* Seeing inside                                                       */
/* ------------------------------------------------------------------ */

/*
 * What the runtime is doing, for debugging and monitoring: the goroutine
 * list with stack traces, and counters. (The environment adds a periodic
 * scheduler trace, RINGO_DEBUG=schedtrace=MS, and a dump on SIGQUIT,
 * RINGO_TRACEBACK=1; see docs/api.md.)
 */

/*
 * rg_dump - write every live goroutine to fd, in the shape of Go's
 * traceback: id, state or wait reason (with the fd of an I/O wait and how
 * long it has waited), a symbolized stack trace of a parked goroutine
 * (frame-pointer walk from its saved context), and the goroutine and code
 * that created it. Goroutines running on another thread are listed
 * without a trace. Any thread, while a runtime runs.
 *
 * Returns 0 (a failed write(2) is not reported), -EBADF for a negative
 * fd, or -EPERM when no runtime runs.
 */
RG_API int rg_dump(int fd);

/* Runtime counters, summed over Ps and threads (a racy snapshot). */
struct rg_stats {
    uint64_t goroutines;         /* alive now */
    uint64_t goroutines_created; /* since rg_run started */
    uint64_t switches;           /* goroutines scheduled (execute) */
    uint64_t steals;             /* successful steals from another P */
    uint64_t parks;              /* goroutines parked (blocked) */
    uint64_t threads;            /* Ms created */
    uint64_t idle_threads;       /* Ms parked with nothing to run */
    uint64_t io_submitted;       /* I/O operations submitted (epoll:
                                    waits for readiness begun) */
    uint64_t io_completed;       /* I/O completions reaped (epoll: waits
                                    ended by readiness) */
    uint64_t io_enters;          /* io_uring_enter system calls (epoll:
                                    epoll_wait calls) */
    uint64_t stack_mapped;       /* bytes of stack address space reserved */
    uint64_t stack_resident;     /* bytes of it in RAM (mincore) */
    uint64_t io_epoll;           /* 1: I/O waits with epoll
                                    (RG_CONFIG_EPOLL), 0: with io_uring */
    uint64_t reserved[7];        /* zero */
};

/*
 * rg_stats - fill *st with the counters above. Any thread, while a runtime
 * runs. stack_resident is computed with mincore(2) over every stack arena
 * and costs a system call per arena.
 *
 * Returns 0, -EINVAL for a NULL st, or -EPERM when no runtime runs.
 */
RG_API int rg_stats(struct rg_stats *st);

/* ------------------------------------------------------------------ */
/* I/O                                                                 */
/* ------------------------------------------------------------------ */

/*
 * Goroutine-blocking I/O on file descriptors. Each call behaves like the
 * syscall it is named after, except that when it has to wait, only the
 * calling goroutine waits: it submits one io_uring operation on its
 * thread's ring and parks, and other goroutines run until the completion
 * resumes it (on whichever thread is free). Calls that can finish at once
 * do so without the ring (recv/send try a non-blocking syscall first).
 * Regular files go through the ring too, so no thread ever blocks on a
 * disk. With the epoll backend (RG_CONFIG_EPOLL) a call tries the syscall
 * and, when it would wait, parks until the fd is ready and tries again
 * (Go's netpoller); regular files, rg_open, rg_fsync and rg_close then run
 * inside rg_blocking. Results and errors are the same with either.
 *
 * Common rules for every function in this section:
 *  - From a goroutine; elsewhere they return -EPERM and do nothing.
 *  - They return the syscall's result, or -errno; errno is never touched.
 *  - The buffers, iovecs, msghdrs and sockaddrs passed in belong to the
 *    call until it returns (the kernel may write them until then).
 *  - Sockets never raise SIGPIPE: writes to a broken connection return
 *    -EPIPE (MSG_NOSIGNAL is always added).
 *  - A read-side call (read, readv, pread, recv, recvmsg, accept) fails
 *    with -ETIMEDOUT once the fd's read deadline has passed, a write-side
 *    call (write, writev, pwrite, send, sendmsg, connect) once its write
 *    deadline has; see rg_set_deadline.
 *  - A call blocked on an fd that another goroutine closes with rg_close
 *    returns -ECANCELED. A call started while that close is in progress
 *    waits for it to end and then acts on whatever the fd number is then
 *    (-EBADF if it was not reused), as with a raw fd. Close descriptors
 *    used with these calls with rg_close, not close(2), which would
 *    neither wake the goroutines blocked on the fd nor reset what ringo
 *    remembers of it (its deadlines, whether it is a socket).
 *  - A descriptor's O_NONBLOCK flag changes nothing: the call still waits
 *    (parking only the goroutine) until it can complete. For a single
 *    attempt on a socket, pass MSG_DONTWAIT to rg_recv/rg_send.
 *  - Reads and writes of one buffer longer than 1 GiB are cut to 1 GiB (a
 *    short count, as the syscalls may return anyway).
 *  - Descriptors of 2^24 and above work, but rg_close cannot cancel the
 *    calls blocked on them and deadlines do not apply to them.
 */

/*
 * rg_read, rg_write - read(2) and write(2). On a socket they are
 * rg_recv/rg_send with flags 0. On a regular file they use and advance the
 * file position. Returns the bytes transferred (0 at end of file or when
 * the peer closed), -EBADF if fd is not open, or -errno.
 */
RG_API ssize_t rg_read(int fd, void *buf, size_t n);
RG_API ssize_t rg_write(int fd, const void *buf, size_t n);

/*
 * rg_readv, rg_writev - readv(2) and writev(2) with iovcnt buffers
 * (at most IOV_MAX); on a socket they are rg_recvmsg/rg_sendmsg. Returns
 * the bytes transferred, -EINVAL for a negative iovcnt or a NULL iov with
 * iovcnt > 0, or -errno.
 */
RG_API ssize_t rg_readv(int fd, const struct iovec *iov, int iovcnt);
RG_API ssize_t rg_writev(int fd, const struct iovec *iov, int iovcnt);

/*
 * rg_pread, rg_pwrite - pread(2) and pwrite(2): at offset off, leaving the
 * file position alone. Returns the bytes transferred, -EINVAL for a
 * negative off, -ESPIPE on a socket or pipe, or -errno.
 */
RG_API ssize_t rg_pread(int fd, void *buf, size_t n, off_t off);
RG_API ssize_t rg_pwrite(int fd, const void *buf, size_t n, off_t off);

/*
 * rg_write_all - write all n bytes of buf, looping over short writes.
 * Returns n; -errno from the first write that failed, or -EIO if a
 * write returned 0 (how much was written before the failure is then
 * unknown to the caller).
 */
RG_API ssize_t rg_write_all(int fd, const void *buf, size_t n);

/*
 * rg_recv, rg_send - recv(2) and send(2) with MSG_* flags. MSG_DONTWAIT
 * makes a single non-blocking attempt (-EAGAIN if it would wait);
 * MSG_WAITALL waits for all n bytes (rg_recv) in the kernel. Returns the
 * bytes transferred (rg_recv: 0 when the peer closed), -ECONNRESET when
 * the peer reset the connection, -ENOTSOCK if fd is not a socket, or
 * -errno.
 */
RG_API ssize_t rg_recv(int fd, void *buf, size_t n, int flags);
RG_API ssize_t rg_send(int fd, const void *buf, size_t n, int flags);

/*
 * rg_recvmsg, rg_sendmsg - recvmsg(2) and sendmsg(2), flags as for
 * rg_recv/rg_send. Returns the bytes transferred, or -errno.
 */
RG_API ssize_t rg_recvmsg(int fd, struct msghdr *msg, int flags);
RG_API ssize_t rg_sendmsg(int fd, const struct msghdr *msg, int flags);

/*
 * rg_accept - accept4(2): wait for a connection on the listening socket
 * fd and return a new socket for it. flags are accept4's (SOCK_CLOEXEC,
 * SOCK_NONBLOCK; the new socket is usable with these calls either way).
 * If addr is not NULL, the peer's address is stored there, *addrlen (in:
 * size of addr; out: size of the address) as for accept4.
 *
 * Connections may be accepted by the kernel ahead of the call (a
 * multishot accept per listener, armed by the first rg_accept), so the
 * listener's backlog is drained into the process while goroutines accept.
 * Returns the new fd; -EINVAL for flags other than those two, or a
 * non-NULL addr with a NULL addrlen; -ETIMEDOUT past the read deadline;
 * -ECANCELED if fd was closed meanwhile; or -errno.
 */
RG_API int rg_accept(int fd, struct sockaddr *addr, socklen_t *addrlen,
                     int flags);

/*
 * rg_connect - connect(2) the socket fd to addr, waiting until the
 * connection is established or fails. Returns 0, -ECONNREFUSED when
 * nothing listens there, -ETIMEDOUT past fd's write deadline, -EINVAL for
 * a NULL addr, or -errno.
 */
RG_API int rg_connect(int fd, const struct sockaddr *addr, socklen_t addrlen);

/*
 * rg_open - open(2) path (relative paths from the current directory) with
 * open flags and mode (for O_CREAT), through the ring (epoll: inside
 * rg_blocking), so a slow file system blocks no goroutine but the caller.
 * Returns the new fd, -EFAULT for a NULL path, or -errno.
 */
RG_API int rg_open(const char *path, int flags, mode_t mode);

/*
 * rg_close - close(2) fd. Goroutines blocked on fd are woken first: their
 * calls return -ECANCELED, and rg_close waits until every one of them has
 * left the kernel (so no completion can ever land in their buffers after
 * they return) before closing the descriptor. Returns 0, -EBADF if fd is
 * not open or another rg_close of it is in progress, or -errno.
 */
RG_API int rg_close(int fd);

/* rg_fsync - fsync(2): flush fd's data and metadata. Returns 0 or -errno. */
RG_API int rg_fsync(int fd);

/* Flags of rg_listen_tcp. */
#define RG_REUSEPORT 1 /* set SO_REUSEPORT: several listeners on one port */

/*
 * rg_listen_tcp - a TCP socket listening on host:port with the given
 * backlog (<= 0: SOMAXCONN). host may be NULL or "" (every address: IPv6
 * dual-stack, or IPv4 where IPv6 is absent), a numeric IPv4 or IPv6
 * address ("0.0.0.0", "::", "127.0.0.1", "::1"), or a name such as
 * "localhost" (resolved without blocking a thread; a name listens on its
 * first IPv4 address if it has one). port 0 picks a free port (read it
 * with getsockname(2)). SO_REUSEADDR is always set; flags may add
 * RG_REUSEPORT. The socket is close-on-exec.
 *
 * Returns the listening fd, -EINVAL for a bad port or flags,
 * -EADDRINUSE, -ENOENT for an unknown name, or -errno.
 */
RG_API int rg_listen_tcp(const char *host, int port, int backlog, int flags);

/*
 * rg_dial_tcp - connect to host:port and return the connected socket
 * (close-on-exec, TCP_NODELAY set, as Go does). host is a numeric IPv4 or
 * IPv6 address, taken at once, or a name ("" means "localhost"), resolved by
 * getaddrinfo(3) on a helper thread while the goroutine waits (no thread
 * of the runtime blocks). A name's addresses are tried in order until one
 * connects. timeout_ns bounds the whole call, resolution included (0: no
 * timeout).
 *
 * Returns the fd, -ECONNREFUSED when nothing listens there, -ETIMEDOUT
 * when timeout_ns passed, -ENOENT for an unknown name, -EINVAL for a port
 * outside 1..65535 or a NULL host, or -errno (the first address's error).
 */
RG_API int rg_dial_tcp(const char *host, int port, uint64_t timeout_ns);

/* Directions of rg_set_deadline, may be OR'ed. */
#define RG_READ 1
#define RG_WRITE 2

/*
 * rg_set_deadline - set fd's read and/or write deadline (Go's
 * SetReadDeadline/SetWriteDeadline) to abs_ns on the rg_now() clock; 0
 * clears it. A call in that direction that would wait past the deadline
 * fails with -ETIMEDOUT then, and one that starts after it fails at once,
 * even if data is ready. The deadline applies to calls already blocked on
 * fd, too: moving it earlier wakes them at the new time. Deadlines are
 * absolute: to time out after idling, set a new one before each call
 * (that costs no timer operation). rg_close clears them. rg_open,
 * rg_fsync and rg_close ignore deadlines.
 *
 * Returns 0; -EINVAL for a which that is 0 or has bits other than RG_READ
 * and RG_WRITE; -EBADF for a negative fd; -ENOMEM when the fd's state
 * could not be allocated (always for fds of 2^24 and above); -EPERM
 * outside a goroutine.
 */
RG_API int rg_set_deadline(int fd, int which, uint64_t abs_ns);

/* ------------------------------------------------------------------ */
/* Channels and select                                                 */
/* ------------------------------------------------------------------ */

/*
 * A channel is a typed queue between goroutines, with Go's semantics: an
 * unbuffered channel (capacity 0) hands each value from a sender straight
 * to a receiver, both blocking until the other arrives; a buffered channel
 * holds up to its capacity of values, so a sender blocks only when it is
 * full and a receiver only when it is empty. Values are elem_size bytes,
 * copied in and out; a value sent reaches exactly one receiver. Values
 * sent by one goroutine arrive in the order it sent them.
 *
 * Closing a channel says no more values will be sent: receivers drain the
 * values still buffered, then get "closed" results at once; senders get
 * -EPIPE. Errors that are panics in Go are -errno results here.
 *
 * A NULL channel is Go's nil channel: sending or receiving on it blocks
 * forever (only the deadlock report can end that), and a select case on
 * it is never ready.
 *
 * Who may call: operations that may block (rg_chan_send, rg_chan_recv,
 * rg_select with a non-zero timeout) need a goroutine and return -EPERM
 * elsewhere. The non-blocking ones (rg_chan_trysend, rg_chan_tryrecv,
 * rg_chan_close, rg_select with timeout 0, rg_chan_len, rg_chan_cap) may
 * be called from any thread, also while a runtime runs: a goroutine they
 * wake is queued on the runtime's global run queue. The deadlock report
 * (see rg_run) cannot see such threads: goroutines that only wait for one
 * of them count as asleep, unless a timer (rg_sleep, a select timeout) or
 * I/O is pending.
 *
 * A channel outlives rg_run: it may be used by later runs, and goroutines
 * left blocked on it when a run ended are forgotten (buffered values are
 * kept).
 */
typedef struct rg_chan rg_chan;

/*
 * rg_chan_make - create a channel of elements of elem_size bytes with
 * room for cap buffered elements (0: unbuffered). elem_size may be 0 (the
 * channel then carries only the fact that a value was sent, as Go's
 * chan struct{}). Any thread, also outside rg_run.
 *
 * Returns the channel, or NULL when memory is exhausted (or elem_size *
 * cap overflows, or elem_size is 4 GiB or more). Free it with
 * rg_chan_free.
 */
RG_API rg_chan *rg_chan_make(size_t elem_size, size_t cap);

/*
 * rg_chan_send - send the elem_size bytes at elem on ch, blocking until a
 * receiver takes them (unbuffered) or there is room in the buffer.
 *
 * A goroutine blocked here is woken with -EPIPE if ch is closed meanwhile.
 * elem may be NULL only when elem_size is 0; it is read before the call
 * returns and not kept. Returns 0 once the value is sent; -EPIPE if ch is
 * closed (the value is not sent); -EINVAL for a NULL elem with a non-zero
 * elem_size; -EPERM outside a goroutine. With a NULL ch it never returns.
 */
RG_API int rg_chan_send(rg_chan *ch, const void *elem);

/*
 * rg_chan_recv - receive one value from ch into elem (elem_size bytes),
 * blocking until one is available or ch is closed.
 *
 * elem may be NULL to discard the value. Returns 1 when a value was
 * received; 0 when ch is closed and its buffer drained (elem is then
 * zeroed); -EPERM outside a goroutine. With a NULL ch it never returns.
 */
RG_API int rg_chan_recv(rg_chan *ch, void *elem);

/*
 * rg_chan_trysend - send without blocking: succeed only if a receiver is
 * waiting or the buffer has room. Any thread.
 *
 * Returns 0 when sent; -EAGAIN when it would block (always, for a NULL
 * ch); -EPIPE if ch is closed; -EINVAL for a NULL elem with a non-zero
 * elem_size.
 */
RG_API int rg_chan_trysend(rg_chan *ch, const void *elem);

/*
 * rg_chan_tryrecv - receive without blocking. Any thread.
 *
 * Returns 1 with a value in elem (NULL: discard it); 0 when ch is closed
 * and drained (elem zeroed); -EAGAIN when no value is ready (always, for
 * a NULL ch).
 */
RG_API int rg_chan_tryrecv(rg_chan *ch, void *elem);

/*
 * rg_chan_close - close ch: no more values may be sent. Every goroutine
 * blocked receiving on ch wakes with 0 (elem zeroed) and every one
 * blocked sending wakes with -EPIPE; values already buffered can still be
 * received. Any thread.
 *
 * Returns 0; -EPIPE if ch was already closed; -EINVAL for a NULL ch.
 */
RG_API int rg_chan_close(rg_chan *ch);

/*
 * rg_chan_free - free ch (NULL is ignored). No goroutine may be blocked
 * on ch, or use it afterwards (goroutines left blocked on it by a runtime
 * that has since returned do not count). Any thread.
 */
RG_API void rg_chan_free(rg_chan *ch);

/* rg_chan_len - values buffered in ch right now (0 for NULL). Any thread. */
RG_API size_t rg_chan_len(rg_chan *ch);

/* rg_chan_cap - capacity ch was made with (0 for NULL). Any thread. */
RG_API size_t rg_chan_cap(rg_chan *ch);

#define RG_SEND 1 /* rg_case.dir: send *elem on ch */
#define RG_RECV 2 /* rg_case.dir: receive from ch into elem */

/* One case of rg_select. */
struct rg_case {
    rg_chan *ch; /* public: the channel; NULL: the case is never ready */
    int dir;     /* public: RG_SEND or RG_RECV */
    void *elem;  /* public: value to send, or where to receive (NULL:
                    discard); same rules as rg_chan_send/rg_chan_recv */
    int ok;      /* read-only: set by rg_select, see below */
};

/*
 * rg_select - wait until one of n cases can proceed and run exactly that
 * one, as Go's select statement.
 *
 * When several cases are ready, one is chosen uniformly at random. Each
 * case's ok is first cleared to 0; in the case that ran, ok is set to 1
 * for a send and for a receive that got a value, and stays 0 for a
 * receive that found the channel closed (its elem zeroed). A goroutine
 * may list the same channel in several cases, including a send and a
 * receive of one unbuffered channel: it never matches with itself.
 *
 * timeout_ns < 0 waits forever; 0 polls without blocking (any thread);
 * > 0 waits at most that long. With n == 0 (or only NULL channels) and
 * timeout_ns < 0 the caller blocks forever, as Go's `select {}`.
 *
 * Returns the index of the case that ran; -EAGAIN when timeout_ns is 0
 * and no case is ready; -ETIMEDOUT when the timeout passed; -EPIPE when
 * the chosen case is a send on a closed channel (its ok stays 0, nothing
 * else ran); -EINVAL for a bad dir, a NULL cases with n > 0, n < 0 or
 * n > 65536, or a send case with a NULL elem and non-zero elem_size;
 * -EPERM outside a goroutine with a non-zero timeout_ns; -ENOMEM when a
 * select of more than 8 cases finds no memory for its bookkeeping.
 */
RG_API int rg_select(struct rg_case *cases, int n, int64_t timeout_ns);

/* ------------------------------------------------------------------ */
/* Synchronization                                                     */
/* ------------------------------------------------------------------ */

/*
 * Goroutine-level locks and events (Go's package sync). Each type is a
 * plain struct of words, set up by its static initializer (or by zeroing
 * it) and needing no destruction; do not copy one that is in use. The
 * initializers work in C and C++ alike (`rg_mutex mu = RG_MUTEX_INIT;`,
 * or as a C++ default member initializer). The fields are private. A
 * ringo lock is not a pthread lock: it may be held across calls that
 * block or yield, and the goroutine may resume on another thread while
 * holding it. Blocking parks the calling goroutine, never the thread
 * underneath it, so other goroutines keep running on that thread.
 *
 * Calls that may block (lock, rlock, wait, acquire, once_do) need a
 * goroutine: elsewhere they return -EPERM and change nothing. Calls that
 * never block (trylock, unlocks, signal, broadcast, waitgroup_add/done,
 * sema_release) may be called from any thread, also while a runtime
 * runs. An unlock may come from another goroutine than the lock, as in
 * Go. Waiters left blocked when rg_run returns are forgotten; an object
 * they were blocked on must be re-initialised before it is used again.
 */

/* Mutual exclusion lock (Go's sync.Mutex). */
typedef struct rg_mutex {
    int32_t state; /* private: locked, woken, starving bits, waiters */
    uint32_t sema; /* private: semaphore the waiters sleep on */
} rg_mutex;
#define RG_MUTEX_INIT {0, 0}

/*
 * rg_mutex_lock - lock m, parking until it is available.
 *
 * Fair in the long run as Go's mutex: a goroutine woken from the wait
 * queue competes with newcomers, but one that has waited over 1 ms puts
 * the mutex in starvation mode, where each unlock hands it directly to
 * the longest waiter. Returns 0, or -EPERM outside a goroutine.
 */
RG_API int rg_mutex_lock(rg_mutex *m);

/* rg_mutex_trylock - lock m if it is free. Returns 0 or -EBUSY. Any thread. */
RG_API int rg_mutex_trylock(rg_mutex *m);

/*
 * rg_mutex_unlock - unlock m, waking a waiter if there is one. Any thread
 * (not necessarily the locker's). Returns 0, or -EPERM if m was not
 * locked (nothing changes). Two unlocks racing to undo one lock corrupt
 * the mutex: like Go, ringo then aborts with a fatal error.
 */
RG_API int rg_mutex_unlock(rg_mutex *m);

/*
 * Reader/writer lock (Go's sync.RWMutex): any number of readers or one
 * writer. A writer waiting in rg_rwmutex_lock keeps new readers out, so
 * writers are not starved.
 */
typedef struct rg_rwmutex {
    rg_mutex w;           /* private: held by the writer */
    uint32_t writersem;   /* private: the writer waits for readers here */
    uint32_t readersem;   /* private: readers wait for the writer here */
    int32_t readercount;  /* private: readers, minus 2^30 with a writer */
    int32_t readerwait;   /* private: readers the writer still waits for */
} rg_rwmutex;
#define RG_RWMUTEX_INIT {RG_MUTEX_INIT, 0, 0, 0, 0}

/* rg_rwmutex_rlock - lock rw for reading. 0, or -EPERM outside a goroutine. */
RG_API int rg_rwmutex_rlock(rg_rwmutex *rw);
/* rg_rwmutex_runlock - undo one rg_rwmutex_rlock. Any thread. Returns 0,
   or -EPERM if rw was not read-locked (nothing changes). */
RG_API int rg_rwmutex_runlock(rg_rwmutex *rw);
/* rg_rwmutex_lock - lock rw for writing: waits for the readers inside to
   leave. Returns 0, or -EPERM outside a goroutine. */
RG_API int rg_rwmutex_lock(rg_rwmutex *rw);
/* rg_rwmutex_unlock - undo rg_rwmutex_lock. Any thread. Returns 0, or
   -EPERM if rw was not write-locked (nothing changes). */
RG_API int rg_rwmutex_unlock(rg_rwmutex *rw);

/* Condition variable (Go's sync.Cond), used with an rg_mutex. */
typedef struct rg_cond {
    uint32_t wait;   /* private: next ticket to hand to a waiter */
    uint32_t notify; /* private: next ticket to wake */
} rg_cond;
#define RG_COND_INIT {0, 0}

/*
 * rg_cond_wait - atomically unlock m (which the caller holds) and park
 * until woken by rg_cond_signal or rg_cond_broadcast, then lock m again
 * before returning. Wakeups go in the order the waiters arrived; as in
 * Go, recheck the condition in a loop. Returns 0, or -EPERM outside a
 * goroutine or when m is not locked (nothing changes).
 */
RG_API int rg_cond_wait(rg_cond *c, rg_mutex *m);
/* rg_cond_signal - wake the longest waiter on c, if any. Returns 0. Any
   thread; holding the mutex is allowed but not required. */
RG_API int rg_cond_signal(rg_cond *c);
/* rg_cond_broadcast - wake every waiter on c. Returns 0. Any thread. */
RG_API int rg_cond_broadcast(rg_cond *c);

/* Wait group (Go's sync.WaitGroup): wait for a counted set of tasks. */
typedef struct rg_waitgroup {
    uint64_t state; /* private: counter << 32 | waiters */
    uint32_t sema;  /* private: waiters sleep here */
} rg_waitgroup;
#define RG_WAITGROUP_INIT {0, 0}

/*
 * rg_waitgroup_add - add delta (may be negative) to wg's counter; when it
 * reaches 0, every rg_waitgroup_wait returns. As in Go, calls with a
 * positive delta that start from 0 must happen before the wait. Any
 * thread. Returns 0; -EINVAL if the counter would go negative, or an
 * add from 0 races with waiters still being released; -EOVERFLOW past
 * 2^31 - 1. On error nothing changes.
 */
RG_API int rg_waitgroup_add(rg_waitgroup *wg, int delta);
/* rg_waitgroup_done - rg_waitgroup_add(wg, -1). */
RG_API int rg_waitgroup_done(rg_waitgroup *wg);
/* rg_waitgroup_wait - park until wg's counter is 0 (at once if it is).
   Returns 0, or -EPERM outside a goroutine. */
RG_API int rg_waitgroup_wait(rg_waitgroup *wg);

/* One-time initialisation (Go's sync.Once). */
typedef struct rg_once {
    uint32_t done; /* private: fn has returned */
    rg_mutex m;    /* private: serialises the first callers */
} rg_once;
#define RG_ONCE_INIT {0, RG_MUTEX_INIT}

/*
 * rg_once_do - call fn(arg) if no rg_once_do on o has called it yet. Other
 * callers meanwhile park until fn has returned, so when rg_once_do returns
 * 0, fn has run to completion exactly once. fn must not call rg_once_do on
 * the same o (it would deadlock). Returns 0, or -EPERM when called outside
 * a goroutine before fn has completed (fn is not called then).
 */
RG_API int rg_once_do(rg_once *o, void (*fn)(void *), void *arg);

/* Counting semaphore (Go's runtime semaphore behind package sync). */
typedef struct rg_sema {
    uint32_t count; /* private: available units */
} rg_sema;
/* A semaphore holding n units. The cast lets C++ take a non-constant n
   (a braced list may not narrow an int to uint32_t there); a C++ cast
   keeps -Wold-style-cast quiet. */
#ifdef __cplusplus
#define RG_SEMA_INIT(n) {static_cast<uint32_t>(n)}
#else
#define RG_SEMA_INIT(n) {(uint32_t)(n)}
#endif

/* rg_sema_acquire - take one unit, parking until one is available
   (parked callers are served first come, first served). Returns 0, or
   -EPERM outside a goroutine. */
RG_API int rg_sema_acquire(rg_sema *s);
/* rg_sema_release - return one unit, waking the longest waiter. Any
   thread. Returns 0. */
RG_API int rg_sema_release(rg_sema *s);

#ifdef __cplusplus
}
#endif
#endif /* RINGO_H */
