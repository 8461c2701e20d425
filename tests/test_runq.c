/*
 * tests/test_runq.c: the local run queue at its boundaries: FIFO order,
 * runnext, overflow of a full ring to the global queue, stealing half.
 */
#include "helpers.h"
#include "../runtime/internal.h"

#include <string.h>

static struct g gs[600];
static struct p p1, p2;

static void setup(void)
{
    memset(&rg__sched, 0, sizeof(rg__sched));
    rg__sched.nprocs = 2;
    memset(&p1, 0, sizeof(p1));
    memset(&p2, 0, sizeof(p2));
    memset(gs, 0, sizeof(gs));
}

START_TEST(fifo_and_runnext)
{
    setup();
    bool inherit;
    ck_assert(rg__runq_empty(&p1));
    ck_assert_ptr_null(rg__runq_get(&p1, &inherit));
    for (int i = 0; i < 10; i++)
        rg__runq_put(&p1, &gs[i], false);
    rg__runq_put(&p1, &gs[100], true);
    rg__runq_put(&p1, &gs[101], true); /* kicks gs[100] to the tail */
    ck_assert_ptr_eq(rg__runq_get(&p1, &inherit), &gs[101]);
    ck_assert(inherit);
    for (int i = 0; i < 10; i++) {
        ck_assert_ptr_eq(rg__runq_get(&p1, &inherit), &gs[i]);
        ck_assert(!inherit);
    }
    ck_assert_ptr_eq(rg__runq_get(&p1, &inherit), &gs[100]);
    ck_assert(rg__runq_empty(&p1));
}
END_TEST

START_TEST(full_ring_overflows_half_to_global)
{
    setup();
    for (int i = 0; i < RUNQ_SIZE; i++)
        rg__runq_put(&p1, &gs[i], false);
    ck_assert_uint_eq(rg__runq_len(&p1), RUNQ_SIZE);
    ck_assert_int_eq(rg__sched.runq.n, 0);
    rg__runq_put(&p1, &gs[RUNQ_SIZE], false);
    /* half of the ring plus the new G went to the global queue */
    ck_assert_uint_eq(rg__runq_len(&p1), RUNQ_SIZE / 2);
    ck_assert_int_eq(rg__sched.runq.n, RUNQ_SIZE / 2 + 1);
    ck_assert_int_eq(rg__load_rlx(&rg__sched.runqsize), RUNQ_SIZE / 2 + 1);
    ck_assert_ptr_eq(rg__sched.runq.head, &gs[0]);
    ck_assert_ptr_eq(rg__sched.runq.tail, &gs[RUNQ_SIZE]);
    bool inherit;
    ck_assert_ptr_eq(rg__runq_get(&p1, &inherit), &gs[RUNQ_SIZE / 2]);
}
END_TEST

START_TEST(steal_takes_half)
{
    setup();
    for (int i = 0; i < 10; i++)
        rg__runq_put(&p1, &gs[i], false);
    struct g *got = rg__runq_steal(&p2, &p1, false);
    ck_assert_ptr_eq(got, &gs[4]); /* last of the 5 stolen is returned */
    ck_assert_uint_eq(rg__runq_len(&p1), 5);
    ck_assert_uint_eq(rg__runq_len(&p2), 4);
    bool inherit;
    ck_assert_ptr_eq(rg__runq_get(&p2, &inherit), &gs[0]);
    ck_assert_ptr_eq(rg__runq_get(&p1, &inherit), &gs[5]);
}
END_TEST

START_TEST(steal_runnext_only_when_asked)
{
    setup();
    p1.status = P_IDLE;
    rg__runq_put(&p1, &gs[7], true);
    ck_assert_ptr_null(rg__runq_steal(&p2, &p1, false));
    ck_assert_ptr_eq(rg__runq_steal(&p2, &p1, true), &gs[7]);
    ck_assert(rg__runq_empty(&p1));
}
END_TEST

START_TEST(steal_from_empty)
{
    setup();
    ck_assert_ptr_null(rg__runq_steal(&p2, &p1, true));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("runq");
    TCase *tc = tcase_create("runq");
    tcase_add_test(tc, fifo_and_runnext);
    tcase_add_test(tc, full_ring_overflows_half_to_global);
    tcase_add_test(tc, steal_takes_half);
    tcase_add_test(tc, steal_runnext_only_when_asked);
    tcase_add_test(tc, steal_from_empty);
    suite_add_tcase(s, tc);
    return t_main(s);
}
