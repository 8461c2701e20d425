/*
 * bench/hist.h: a log-linear latency histogram (HdrHistogram's layout).
 *
 * Values are unsigned 64-bit (nanoseconds, in practice). Values below
 * 2^HIST_SUB_BITS = 64 get a bucket each, so they are exact. Above that,
 * each power of two [2^e, 2^(e+1)) is cut into 64 equal buckets, each
 * 2^(e-6) wide: a bucket is at most 1/64 = 1.6% as wide as the values it
 * holds.
 *
 * Error bound. hist_quantile() reports the midpoint of the bucket that
 * holds the asked rank, so the value it returns is within half a bucket,
 * 2^(e-7) <= v/128, of every value that bucket received: a relative error
 * of at most 0.78% (0 below 64 ns), the same as HdrHistogram with 2
 * significant digits. Nothing else is approximate: counts, the maximum
 * and the sum (hence the mean) are exact, and no value is ever clamped
 * (the 3776 buckets cover all of uint64_t, 30 KiB). A quantile is the
 * value of rank ceil(q * count) (the smallest value v such that at least
 * a fraction q of the values are <= v), never above the maximum.
 *
 * A histogram is plain memory: hist_record() is for one writer, and
 * hist_record_shared() for several (relaxed atomic adds: the counts are
 * read exactly only after every writer is known to be done, which the
 * caller orders, e.g. by joining the writers; hist_merge_shared() reads
 * them with relaxed loads meanwhile, a picture that may be off by the
 * values being recorded at that instant).
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
    uint64_t sum;                   /* of the values (wraps past 2^64) */
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

/* hist_merge reading src with relaxed atomic loads, while hist_record_shared
   may run on it. */
void hist_merge_shared(struct hist *dst, const struct hist *src);

/*
 * hist_quantile - the value below which a fraction q (0..1) of the
 * recorded values fall, as the midpoint of the bucket holding it (exact
 * below 64). Returns 0 for an empty histogram; q >= 1 returns the maximum.
 */
uint64_t hist_quantile(const struct hist *h, double q);

/* hist_mean - the mean of the values (exact), 0 when empty. */
double hist_mean(const struct hist *h);

/*
 * hist_bucket_bounds - bucket i holds the values [*lo, *lo + *width). The
 * value hist_quantile reports for it is its midpoint, capped at h->max.
 */
void hist_bucket_bounds(unsigned i, uint64_t *lo, uint64_t *width);

#endif
