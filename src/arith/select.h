/* select.h: exact top-k magnitude thresholds by radix selection on float bits (internal).
 *
 * For non-negative floats the IEEE bit pattern orders like the value, so the k-th smallest |x|
 * is found by counting: one pass histograms the high 16 bits of |x| (sign cleared), which fixes
 * the bin holding the wanted rank; a second pass histograms the low 16 bits of the elements in
 * that bin, which fixes the value exactly. No sorting, and the values are never stored: each pass
 * re-streams them (tau = H - B is recomputed from the mapped checkpoints). Counts are exact
 * integers, so the result does not depend on the thread count.
 *
 * A threshold is a 64-bit number `thr` compared with the bits of |x|: keep iff bits >= thr.
 * thr = 0 keeps everything; thr = SA_KEEP_NONE keeps nothing. */
#ifndef SAFEARITH_ARITH_SELECT_H
#define SAFEARITH_ARITH_SELECT_H

#include <stdint.h>
#include <string.h>

#include "safearith/error.h"

#define SA_KEEP_NONE ((uint64_t)1 << 32)
#define SA_RADIX_BINS 65536
#define SA_RADIX_NAN_BIN 0x8000u /* |x| >> 16 never reaches it */

typedef struct sa_radix {
    int workers;
    int level; /* 0: high 16 bits; 1: low 16 bits of values whose high bits == prefix */
    uint32_t prefix;
    uint64_t *hist; /* workers * SA_RADIX_BINS */
} sa_radix;

sa_status sa_radix_init(sa_radix *r, int workers, sa_error *err);
void sa_radix_free(sa_radix *r);
void sa_radix_level(sa_radix *r, int level, uint32_t prefix);

static inline uint32_t sa_abs_bits(float v) {
    uint32_t u;
    memcpy(&u, &v, 4);
    return u & 0x7fffffffu;
}

/* Count |v[i]| for i < n into worker's histogram. */
void sa_radix_add(sa_radix *r, int worker, const float *v, size_t n);

/* After a level-0 pass: how many of the values counted by `worker` (all workers if < 0) are NaN
 * (counted in a bin of their own, past every magnitude). sa_radix_select refuses them. */
uint64_t sa_radix_nan(const sa_radix *r, int worker);

/* A pass: stream every value once into r (via sa_radix_add). */
typedef sa_status (*sa_radix_pass)(void *ctx, sa_radix *r, sa_error *err);

/* The bits of the rank-th smallest |x| (1-based, rank <= total) over the values the pass
 * streams: two passes. Infinities are the largest magnitudes; a NaN has no place in the order
 * (torch.topk and torch.kthvalue disagree about it), so any NaN fails with SA_EFORMAT. */
sa_status sa_radix_select(sa_radix *r, uint64_t rank, sa_radix_pass pass, void *ctx, uint32_t *bits,
                          sa_error *err);

/* Number of entries kept by top-k percent of d, as the official code computes it:
 * int(d * (k / 100)). */
uint64_t sa_topk_count(uint64_t d, double k_percent);

/* Threshold for keeping the `keep` largest of d magnitudes (ties at the threshold kept): runs
 * sa_radix_select for rank d - keep; keep >= d gives 0 (all), d == 0 gives SA_KEEP_NONE. */
sa_status sa_topk_threshold(sa_radix *r, uint64_t d, uint64_t keep, sa_radix_pass pass, void *ctx,
                            uint64_t *thr, sa_error *err);

#endif
