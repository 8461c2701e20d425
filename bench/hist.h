/*
 * bench/hist.h: a log-linear latency histogram (HdrHistogram's layout).
 *
 * Values are unsigned 64-bit (nanoseconds, in practice). Values below
 * 2^HIST_SUB_BITS get a bucket each, so they are exact. Above that, each
 * power of two [2^e, 2^(e+1)) is cut into 2^HIST_SUB_BITS equal buckets,
 * each 2^(e - HIST_SUB_BITS) wide. A bucket is therefore at most
 * 1/64 = 1.6% as wide as the values it holds, and hist_quantile() reports
 * the bucket's midpoint, within 0.8% of any value the bucket received.
 * That is the histogram's whole error: counts are exact and no value is
 * ever clamped (the 3776 buckets cover all of uint64_t, 30 KiB).
 *
 * A histogram is plain memory: hist_record() is for one writer, and
 * hist_record_shared() for several (a relaxed atomic add per bucket: the
 * counts are read only after every writer is known to be done, which the
 * caller orders, e.g. by joining the writers).
 */
#ifndef RINGO_BENCH_HIST_H
#define RINGO_BENCH_HIST_H

#include <stdint.h>

#define HIST_SUB_BITS 6 /* 64 buckets per power of two: <= 1.6% wide */
#define HIST_SUB (1u << HIST_SUB_BITS)
/* Buckets: HIST_SUB exact ones, then HIST_SUB per power of two from
   2^HIST_SUB_BITS up to 2^63. */
#define HIST_NBUCKETS ((64 - HIST_SUB_BITS + 1) * HIST_SUB)

struct hist {
    uint64_t count;                 /* values recorded */
    uint64_t max;                   /* largest value recorded */
    uint64_t bucket[HIST_NBUCKETS]; /* counts, see hist_index() */
};

/* Zero h. */
void hist_init(struct hist *h);

/* Count value v once; one writer only. */
void hist_record(struct hist *h, uint64_t v);

/* Count value v once; safe with concurrent writers (relaxed atomics). */
void hist_record_shared(struct hist *h, uint64_t v);

/* Add every count of src to dst. */
void hist_merge(struct hist *dst, const struct hist *src);

/*
 * hist_quantile - the value below which a fraction q (0..1) of the
 * recorded values fall, as the midpoint of the bucket holding it (exact
 * below 64). Returns 0 for an empty histogram; q >= 1 returns the maximum.
 */
uint64_t hist_quantile(const struct hist *h, double q);

#endif
