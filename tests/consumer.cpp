/*
 * tests/consumer.cpp: the C++17 twin of tests/consumer.c, built out of
 * tree against the installed libringo (tests/test_install.sh):
 *
 *   g++ -std=c++17 -Wall -Wextra -Werror -pedantic consumer.cpp \
 *       $(pkg-config --cflags --libs ringo)
 *
 * Besides what consumer.c checks, it uses ringo.h the ways C++ code does:
 * the static initializers as default member initializers and with a
 * non-constant count (RG_SEMA_INIT(n)), `rg_config cfg{}`, captureless
 * lambdas as goroutine functions, standard containers, and an exception
 * thrown and caught inside a goroutine. Exits 0 when all is well.
 */
#include <ringo.h>

#include <netinet/in.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#define CHECK(cond)                                                         \
    do {                                                                    \
        if (!(cond)) {                                                      \
            std::fprintf(stderr, "consumer.cpp:%d: CHECK(%s) failed\n",     \
                         __LINE__, #cond);                                  \
            std::_Exit(1);                                                  \
        }                                                                   \
    } while (0)

namespace {

constexpr int kWorkers = 8;
constexpr int kRounds = 500;
constexpr size_t kEchoBytes = 256 * 1024;

// A counter shared by goroutines: the ringo objects as members, set up by
// their initializer macros.
struct Counter {
    rg_mutex mu = RG_MUTEX_INIT;
    rg_waitgroup wg = RG_WAITGROUP_INIT;
    rg_once once = RG_ONCE_INIT;
    long value = 0;
    int inits = 0;
};

struct Produce {
    rg_chan *ch;
    long base;
};

void test_chan()
{
    rg_chan *ch = rg_chan_make(sizeof(long), 4);
    CHECK(ch != nullptr);
    std::vector<Produce> ps(kWorkers);
    for (int w = 0; w < kWorkers; w++) {
        ps[w] = Produce{ch, static_cast<long>(w) * kRounds};
        CHECK(rg_go(
                  +[](void *arg) {
                      auto *p = static_cast<Produce *>(arg);
                      for (long i = 0; i < kRounds; i++) {
                          long v = p->base + i;
                          CHECK(rg_chan_send(p->ch, &v) == 0);
                      }
                  },
                  &ps[w]) == 0);
    }
    long sum = 0, v = 0;
    for (int i = 0; i < kWorkers * kRounds; i++) {
        CHECK(rg_chan_recv(ch, &v) == 1);
        sum += v;
    }
    const long n = static_cast<long>(kWorkers) * kRounds;
    CHECK(sum == n * (n - 1) / 2);
    CHECK(rg_chan_close(ch) == 0);
    CHECK(rg_chan_recv(ch, &v) == 0 && v == 0);
    rg_chan_free(ch);
}

void test_mutex()
{
    Counter c;
    CHECK(rg_waitgroup_add(&c.wg, kWorkers) == 0);
    for (int w = 0; w < kWorkers; w++) {
        CHECK(rg_go(
                  +[](void *arg) {
                      auto *c = static_cast<Counter *>(arg);
                      CHECK(rg_once_do(
                                &c->once,
                                +[](void *a) {
                                    static_cast<Counter *>(a)->inits++;
                                },
                                c) == 0);
                      for (int i = 0; i < kRounds; i++) {
                          CHECK(rg_mutex_lock(&c->mu) == 0);
                          long x = c->value;
                          if (i % 16 == 0)
                              rg_yield();
                          c->value = x + 1;
                          CHECK(rg_mutex_unlock(&c->mu) == 0);
                      }
                      CHECK(rg_waitgroup_done(&c->wg) == 0);
                  },
                  &c) == 0);
    }
    CHECK(rg_waitgroup_wait(&c.wg) == 0);
    CHECK(c.value == static_cast<long>(kWorkers) * kRounds);
    CHECK(c.inits == 1);
}

void test_misc()
{
    uint64_t t0 = rg_now();
    CHECK(rg_sleep(5 * 1000 * 1000) == 0);
    CHECK(rg_now() - t0 >= 5 * 1000 * 1000);

    int units = 2; // not a constant: RG_SEMA_INIT must still compile
    rg_sema sem = RG_SEMA_INIT(units);
    CHECK(rg_sema_acquire(&sem) == 0);
    CHECK(rg_sema_acquire(&sem) == 0);
    CHECK(rg_sema_release(&sem) == 0);

    rg_chan *never = rg_chan_make(0, 0);
    CHECK(never != nullptr);
    rg_case c{};
    c.ch = never;
    c.dir = RG_RECV;
    CHECK(rg_select(&c, 1, 2 * 1000 * 1000) == -ETIMEDOUT);
    rg_chan_free(never);

    // C++ exceptions inside a goroutine, across a yield and a sleep.
    rg_chan *done = rg_chan_make(sizeof(int), 1);
    CHECK(done != nullptr);
    CHECK(rg_go(
              +[](void *arg) {
                  int caught = 0;
                  try {
                      std::string s(100, 'x');
                      rg_yield();
                      rg_sleep(1000 * 1000);
                      throw std::runtime_error(s);
                  } catch (const std::runtime_error &e) {
                      caught = std::strlen(e.what()) == 100;
                  }
                  CHECK(rg_chan_send(static_cast<rg_chan *>(arg), &caught) ==
                        0);
              },
              done) == 0);
    int caught = 0;
    CHECK(rg_chan_recv(done, &caught) == 1 && caught == 1);
    rg_chan_free(done);
}

struct Echo {
    int lfd;
    rg_chan *done;
};

void test_tcp()
{
    int lfd = rg_listen_tcp("127.0.0.1", 0, 16, 0);
    CHECK(lfd >= 0);
    sockaddr_in sin{};
    socklen_t len = sizeof(sin);
    CHECK(getsockname(lfd, reinterpret_cast<sockaddr *>(&sin), &len) == 0);
    int port = ntohs(sin.sin_port);

    Echo e{lfd, rg_chan_make(0, 1)};
    CHECK(e.done != nullptr);
    CHECK(rg_go(
              +[](void *arg) {
                  auto *e = static_cast<Echo *>(arg);
                  int fd = rg_accept(e->lfd, nullptr, nullptr, SOCK_CLOEXEC);
                  CHECK(fd >= 0);
                  std::vector<char> buf(4096);
                  ssize_t n;
                  while ((n = rg_read(fd, buf.data(), buf.size())) > 0)
                      CHECK(rg_write_all(fd, buf.data(),
                                         static_cast<size_t>(n)) == n);
                  CHECK(n == 0);
                  CHECK(rg_close(fd) == 0);
                  CHECK(rg_chan_send(e->done, nullptr) == 0);
              },
              &e) == 0);

    int fd = rg_dial_tcp("127.0.0.1", port, 5ull * 1000 * 1000 * 1000);
    CHECK(fd >= 0);
    std::string out(kEchoBytes, '\0'), in(kEchoBytes, '\0');
    for (size_t i = 0; i < kEchoBytes; i++)
        out[i] = static_cast<char>(i * 13 + i / 509);
    // Write in chunks, reading the echo back as it comes: the server's
    // replies never wait on a full socket buffer.
    size_t sent = 0, got = 0;
    while (got < kEchoBytes) {
        if (sent < kEchoBytes) {
            size_t chunk = kEchoBytes - sent < 8192 ? kEchoBytes - sent : 8192;
            CHECK(rg_write_all(fd, out.data() + sent, chunk) ==
                  static_cast<ssize_t>(chunk));
            sent += chunk;
        }
        while (got < sent) {
            ssize_t n = rg_read(fd, &in[got], sent - got);
            CHECK(n > 0);
            got += static_cast<size_t>(n);
        }
    }
    CHECK(in == out);
    CHECK(rg_close(fd) == 0);
    CHECK(rg_chan_recv(e.done, nullptr) == 1);
    CHECK(rg_close(lfd) == 0);
    rg_chan_free(e.done);
}

} // namespace

int main()
{
    rg_config cfg{};
    cfg.procs = 2;
    bool ran = false;
    int rc = rg_run(
        +[](void *arg) {
            CHECK(rg_id() == 1);
            test_chan();
            test_mutex();
            test_misc();
            test_tcp();
            *static_cast<bool *>(arg) = true;
        },
        &ran, &cfg);
    if (rc != 0) {
        std::fprintf(stderr, "consumer.cpp: rg_run: %s\n", std::strerror(-rc));
        return 1;
    }
    CHECK(ran);
    std::printf("consumer.cpp: ok\n");
    return 0;
}
