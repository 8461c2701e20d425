/*
 * runtime/runq.c: the per-P local run queue and the global run queue.
 *
 * Run queues
 * ==========
 * Each P has a 256-slot ring runq[head..tail) plus a one-G runnext slot.
 * The owner P is the only producer: it writes runq[tail % 256] and then
 * publishes it with a store-release of tail. Any P may consume: it reads
 * the slots from head and commits with a CAS-release of head; a failed CAS
 * means someone else consumed first, and it retries. So:
 *
 *  1. Only the owner writes tail and the slots at or past tail.
 *  2. A consumer must load-acquire head, then load-acquire tail, then read
 *     slots, then CAS head: the acquire on tail pairs with the owner's
 *     release and makes the slot contents visible.
 *  3. tail - head <= 256 always. A thief that sees more than half a queue
 *     (n > 128) read an inconsistent head/tail pair and retries.
 *  4. runnext is set only by the owner (CAS, in runq_put with next), and
 *     taken by anyone with a CAS to NULL.
 *
 * When the ring is full, runq_put moves half of it plus the new G to the
 * global queue in one locked operation (runq_put_slow), so the global lock
 * is taken once per 128 puts at worst.
 *
 * The global queue (sched.runq) is a linked list under sched.lock. Every
 * 61st schedule takes from it first, so a goroutine there cannot be starved
 * by two goroutines that keep readying each other through runnext.
 */
#include "internal.h"

#include <unistd.h>

bool rg__runq_empty(struct p *pp)
{
    /* Defend against a race where runnext moves into the ring between the
       reads (Go's runqempty): re-read tail. Never returns true spuriously
       while a G stays queued. */
    for (;;) {
        uint32_t head = rg__load_acq(&pp->runqhead);
        uint32_t tail = rg__load_acq(&pp->runqtail);
        struct g *next = rg__load_acq(&pp->runnext);
        if (tail == rg__load_acq(&pp->runqtail))
            return head == tail && next == NULL;
    }
}

uint32_t rg__runq_len(struct p *pp)
{
    uint32_t head = rg__load_acq(&pp->runqhead);
    uint32_t tail = rg__load_rlx(&pp->runqtail);
    return tail - head;
}

/* Move half the ring plus gp to the global queue. Owner only. */
static bool runq_put_slow(struct p *pp, struct g *gp, uint32_t head,
                          uint32_t tail)
{
    struct g *batch[RUNQ_SIZE / 2 + 1];
    uint32_t n = (tail - head) / 2;
    if (n != RUNQ_SIZE / 2)
        rg__throw("runq_put_slow: queue is not full");
    for (uint32_t i = 0; i < n; i++)
        batch[i] = rg__load_rlx(&pp->runq[(head + i) % RUNQ_SIZE]);
    /* cas-rel: commits the consume; pairs with the acq loads of head */
    if (!rg__cas_rel(&pp->runqhead, &head, head + n))
        return false;
    batch[n] = gp;
    struct gq q = {0};
    for (uint32_t i = 0; i <= n; i++)
        gq_push(&q, batch[i]);
    rg__lock(&rg__sched.lock);
    rg__globrunq_putbatch(&q);
    rg__unlock(&rg__sched.lock);
    return true;
}

/*
 * runq_put: queue gp on pp. With next, gp goes to runnext and the G it
 * displaces to the tail of the ring. Owner only.
 */
void rg__runq_put(struct p *pp, struct g *gp, bool next)
{
    if (next) {
        struct g *old = rg__load_rlx(&pp->runnext);
        while (!rg__cas_acqrel(&pp->runnext, &old, gp))
            ;
        if (!old)
            return;
        gp = old; /* kick the old runnext to the ring */
    }
    for (;;) {
        uint32_t head = rg__load_acq(&pp->runqhead); /* acq: pairs with consumers' cas-rel */
        uint32_t tail = rg__load_rlx(&pp->runqtail);
        if (tail - head < RUNQ_SIZE) {
            rg__store_rlx(&pp->runq[tail % RUNQ_SIZE], gp);
            /* rel: makes the slot visible to consumers */
            rg__store_rel(&pp->runqtail, tail + 1);
            return;
        }
        if (runq_put_slow(pp, gp, head, tail))
            return;
        /* the queue is no longer full: retry */
    }
}

/*
 * runq_get: the next G of pp's queue, runnext first. *inherit is set when
 * the G came from runnext and should inherit the current time slice.
 * Owner only.
 */
struct g *rg__runq_get(struct p *pp, bool *inherit)
{
    struct g *next = rg__load_rlx(&pp->runnext);
    if (next && rg__cas_acqrel(&pp->runnext, &next, NULL)) {
        *inherit = true;
        return next;
    }
    *inherit = false;
    for (;;) {
        uint32_t head = rg__load_acq(&pp->runqhead);
        uint32_t tail = rg__load_rlx(&pp->runqtail); /* owner wrote it */
        if (tail == head)
            return NULL;
        struct g *gp = rg__load_rlx(&pp->runq[head % RUNQ_SIZE]);
        if (rg__cas_rel(&pp->runqhead, &head, head + 1))
            return gp;
    }
}

/*
 * runq_grab: copy half of pp's runnable Gs into batch[bhead...], for a
 * thief. With stealrunnext, takes runnext when the ring is empty. Returns
 * the number of Gs taken. Any P.
 */
static uint32_t runq_grab(struct p *pp, struct g *_Atomic *batch,
                          uint32_t bhead, bool stealrunnext)
{
    for (;;) {
        uint32_t head = rg__load_acq(&pp->runqhead);
        uint32_t tail = rg__load_acq(&pp->runqtail); /* acq: pairs with the owner's rel */
        uint32_t n = tail - head;
        n = n - n / 2;
        if (n == 0) {
            if (!stealrunnext)
                return 0;
            struct g *next = rg__load_acq(&pp->runnext);
            if (!next)
                return 0;
            if (rg__load_rlx(&pp->status) == P_RUNNING) {
                /* pp's G is likely about to yield to runnext (a channel
                   handoff takes ~100ns); give it the chance instead of
                   bouncing the G between Ps. 3us is ~30x that. Spin
                   rather than usleep(3): with timer slack a usleep lasts
                   ~50us, long enough for the pair to have moved on. */
                int64_t until = rg__nanotime() + 3000;
                while (rg__load_acq(&pp->runnext) == next &&
                       rg__nanotime() < until)
                    rg__cpu_relax();
                /* It moved: the owner is running its runnext chain (a
                   goroutine pair handing off). Leave the pair together;
                   catching the same G again a round trip later would
                   split it across threads. */
            }
            if (!rg__cas_acqrel(&pp->runnext, &next, NULL))
                continue;
            rg__store_rlx(&batch[bhead % RUNQ_SIZE], next);
            return 1;
        }
        if (n > RUNQ_SIZE / 2)
            continue; /* read an inconsistent head and tail */
        for (uint32_t i = 0; i < n; i++) {
            struct g *gp = rg__load_rlx(&pp->runq[(head + i) % RUNQ_SIZE]);
            rg__store_rlx(&batch[(bhead + i) % RUNQ_SIZE], gp);
        }
        if (rg__cas_rel(&pp->runqhead, &head, head + n))
            return n;
    }
}

/*
 * runq_steal: move half of victim's Gs to pp's ring and return one of
 * them. pp's owner only (it is the producer of pp's ring).
 */
struct g *rg__runq_steal(struct p *pp, struct p *victim, bool stealrunnext)
{
    uint32_t tail = rg__load_rlx(&pp->runqtail);
    uint32_t n = runq_grab(victim, pp->runq, tail, stealrunnext);
    if (n == 0)
        return NULL;
    n--;
    struct g *gp = rg__load_rlx(&pp->runq[(tail + n) % RUNQ_SIZE]);
    if (n == 0)
        return gp;
    uint32_t head = rg__load_acq(&pp->runqhead);
    if (tail - head + n >= RUNQ_SIZE)
        rg__throw("runq_steal: runq overflow");
    rg__store_rel(&pp->runqtail, tail + n); /* rel: publishes the batch */
    return gp;
}

/*
 * runq_grab_all: move every G of pp's queue (runnext included) to q. For
 * the monitor, which holds no P: it hands a hog's queued Gs to the global
 * queue. Any thread. Returns the number moved.
 */
int rg__runq_grab_all(struct p *pp, struct gq *q)
{
    struct g *_Atomic batch[RUNQ_SIZE];
    int total = 0;
    for (;;) {
        uint32_t n = runq_grab(pp, batch, 0, true);
        if (n == 0)
            return total;
        for (uint32_t i = 0; i < n; i++)
            gq_push(q, rg__load_rlx(&batch[i]));
        total += (int)n;
    }
}
