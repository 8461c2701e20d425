/*
 * tests/test_tls.c: the runtime's notion of the current G and M stays
 * right when goroutines resume on other threads. Linked with the static
 * library, so in the LTO build (scripts/test builds one at -O3 with
 * -flto) the runtime's TLS accessors are inlined into this loop: the
 * setting in which compilers cache thread-local addresses.
 */
#include "helpers.h"
#include "../runtime/internal.h"

#include <pthread.h>
#include <stdatomic.h>

#define SWITCHES 250000
#define NG 4

static atomic_long bad, migrations, done_count;

static void checker(void *arg)
{
    (void)arg;
    struct g *self = getg();
    uint64_t id = rg_id();
    char *last = rg__thread_pointer();
    for (long i = 0; i < SWITCHES; i++) {
        rg_yield();
        struct g *gp = getg();
        struct m *mp = getm();
        if (gp != self || rg_id() != id || mp->curg != gp || gp->m != mp ||
            mp->p == NULL || mp->p->m != mp) {
            if (atomic_fetch_add(&bad, 1) == 0)
                fprintf(stderr, "gp %d id %d curg %d m %d p %d\n", gp != self,
                        rg_id() != id, mp->curg != gp, gp->m != mp,
                        mp->p == NULL || mp->p->m != mp);
        }
        /* not pthread_self(): glibc declares it const, and the compiler
           may reuse a value computed before the yield (on another
           thread): the very hazard this test is about. */
#if defined(__x86_64__) /* glibc: pthread_t is the thread pointer there */
        if (!mp->is_m0 && (char *)mp->thread != rg__thread_pointer()) {
            if (atomic_fetch_add(&bad, 1) == 0)
                fprintf(stderr, "thread mismatch\n");
        }
#endif
        if (i % 1024 == 0)
            rg_sleep(20000); /* wake up on whichever P runs the timer */
        if (rg__thread_pointer() != last) {
            atomic_fetch_add(&migrations, 1);
            last = rg__thread_pointer();
        }
    }
    atomic_fetch_add(&done_count, 1);
}

static void tls_main(void *arg)
{
    (void)arg;
    for (int i = 0; i < NG; i++)
        rg_go(checker, NULL);
    while (atomic_load(&done_count) < NG)
        rg_yield();
}

START_TEST(current_g_and_m_across_1m_switches)
{
    t_run(tls_main, NULL, 2);
    ck_assert_int_eq(atomic_load(&bad), 0);
    ck_assert_int_gt(atomic_load(&migrations), 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("tls");
    TCase *tc = tcase_create("tls");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, current_g_and_m_across_1m_switches);
    suite_add_tcase(s, tc);
    return t_main(s);
}
