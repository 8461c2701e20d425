/*
 * bench/hist.c: the log-linear latency histogram; the layout and its error
 * bound are described in bench/hist.h.
 *
 * Bucket index of v, with S = HIST_SUB_BITS:
 *   v < 2^S:  v itself;
 *   else, with e = floor(log2 v) (so e >= S):
 *            (e - S + 1) * 2^S + (the S bits of v just below its top bit).
 * The first range of the second kind starts at index 2^S, right after the
 * exact buckets, so the index is continuous and monotonic in v.
 */
#include "hist.h"

#include <stdbool.h>
#include <string.h>

static unsigned hist_index(uint64_t v)
{
    if (v < HIST_SUB)
        return (unsigned)v;
    unsigned e = 63u - (unsigned)__builtin_clzll(v);
    unsigned sub = (unsigned)(v >> (e - HIST_SUB_BITS)) & (HIST_SUB - 1);
    return (e - HIST_SUB_BITS + 1) * HIST_SUB + sub;
}

void hist_bucket_bounds(unsigned i, uint64_t *lo, uint64_t *width)
{
    if (i < HIST_SUB) {
        *lo = i;
        *width = 1;
        return;
    }
    unsigned e = i / HIST_SUB + HIST_SUB_BITS - 1;
    uint64_t sub = i % HIST_SUB;
    *width = (uint64_t)1 << (e - HIST_SUB_BITS);
    *lo = ((uint64_t)1 << e) + sub * *width;
}

void hist_init(struct hist *h)
{
    memset(h, 0, sizeof(*h));
}

void hist_record(struct hist *h, uint64_t v)
{
    h->bucket[hist_index(v)]++;
    h->count++;
    h->sum += v;
    if (v > h->max)
        h->max = v;
}

void hist_record_shared(struct hist *h, uint64_t v)
{
    /* Relaxed: the counts are read after the writers are joined. */
    __atomic_fetch_add(&h->bucket[hist_index(v)], 1, __ATOMIC_RELAXED);
    __atomic_fetch_add(&h->count, 1, __ATOMIC_RELAXED);
    __atomic_fetch_add(&h->sum, v, __ATOMIC_RELAXED);
    uint64_t m = __atomic_load_n(&h->max, __ATOMIC_RELAXED);
    while (v > m &&
           !__atomic_compare_exchange_n(&h->max, &m, v, true, __ATOMIC_RELAXED,
                                        __ATOMIC_RELAXED))
        ;
}

void hist_merge(struct hist *dst, const struct hist *src)
{
    for (unsigned i = 0; i < HIST_NBUCKETS; i++)
        dst->bucket[i] += src->bucket[i];
    dst->count += src->count;
    dst->sum += src->sum;
    if (src->max > dst->max)
        dst->max = src->max;
}

void hist_merge_shared(struct hist *dst, const struct hist *src)
{
    /* Relaxed: a snapshot for progress reports; exact values are read
       only after the writers are joined (see hist.h). */
    uint64_t n = __atomic_load_n(&src->count, __ATOMIC_RELAXED);
    if (n == 0)
        return;
    for (unsigned i = 0; i < HIST_NBUCKETS; i++)
        dst->bucket[i] += __atomic_load_n(&src->bucket[i], __ATOMIC_RELAXED);
    dst->count += n;
    dst->sum += __atomic_load_n(&src->sum, __ATOMIC_RELAXED);
    uint64_t m = __atomic_load_n(&src->max, __ATOMIC_RELAXED);
    if (m > dst->max)
        dst->max = m;
}

double hist_mean(const struct hist *h)
{
    return h->count ? (double)h->sum / (double)h->count : 0.0;
}

uint64_t hist_quantile(const struct hist *h, double q)
{
    if (h->count == 0)
        return 0;
    if (q >= 1.0)
        return h->max;
    /* The rank-th smallest value, 1-based; at least 1. */
    uint64_t rank = (uint64_t)(q * (double)h->count);
    if ((double)rank < q * (double)h->count || rank == 0)
        rank++;
    uint64_t seen = 0;
    for (unsigned i = 0; i < HIST_NBUCKETS; i++) {
        seen += h->bucket[i];
        if (seen >= rank) {
            uint64_t lo, width;
            hist_bucket_bounds(i, &lo, &width);
            uint64_t mid = lo + width / 2;
            return mid < h->max ? mid : h->max;
        }
    }
    return h->max;
}
