// fcontext_bench: the context-switch floor. Ping-pongs between main and one
// Boost.Context fcontext with raw jump_fcontext (no scheduler, no queues), and
// reports ns per one-way switch, to compare with ringo-bench's `switch`.
//
// Usage: fcontext_bench [switch] [-procs 1] [-n N]     (default N = 10000000)
// Output: bench=switch impl=fcontext procs=1 n=N ns_op=X
// Build:  g++ -O2 fcontext_bench.cpp -o fcontext_bench -lboost_context
#include <boost/context/detail/fcontext.hpp>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>

namespace ctx = boost::context::detail;

static const std::size_t kStackSize = 64 * 1024;

// Body of the second context: bounce straight back to whoever jumped in.
// It never returns (returning from an fcontext entry function exits).
static void bouncer(ctx::transfer_t t) {
    for (;;)
        t = ctx::jump_fcontext(t.fctx, nullptr);
}

static double now_ns() {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static void usage(const char *prog) {
    std::fprintf(stderr, "usage: %s [switch] [-procs 1] [-n N]\n", prog);
    std::exit(2);
}

int main(int argc, char **argv) {
    long long n = 10000000;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!std::strcmp(a, "switch"))
            continue;
        // Accept -n/--n and -procs/--procs.
        if (a[0] == '-' && a[1] == '-')
            a++;
        if (!std::strcmp(a, "-n") && i + 1 < argc) {
            char *end;
            n = std::strtoll(argv[++i], &end, 10);
            if (*end || n < 2)
                usage(argv[0]);
        } else if (!std::strcmp(a, "-procs") && i + 1 < argc) {
            if (std::strcmp(argv[++i], "1"))
                std::fprintf(stderr, "fcontext_bench: single-threaded; ignoring -procs\n");
        } else {
            usage(argv[0]);
        }
    }

    void *stack = std::malloc(kStackSize);
    if (!stack) {
        std::perror("malloc");
        return 1;
    }
    // make_fcontext takes the top of the stack (stacks grow down on x86-64/arm64).
    ctx::fcontext_t other =
        ctx::make_fcontext(static_cast<char *>(stack) + kStackSize, kStackSize, bouncer);
    other = ctx::jump_fcontext(other, nullptr).fctx;  // start it (not timed)

    long long rounds = n / 2;  // each round trip is two one-way switches
    n = rounds * 2;
    double t0 = now_ns();
    for (long long i = 0; i < rounds; i++)
        other = ctx::jump_fcontext(other, nullptr).fctx;
    double t1 = now_ns();

    std::printf("bench=switch impl=fcontext procs=1 n=%lld ns_op=%.2f\n", n, (t1 - t0) / n);
    return 0;  // the bouncer context is simply abandoned
}
