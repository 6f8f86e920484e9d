/* radix_select.c: exact k-th smallest magnitude by two counting passes (see select.h). */
#include "arith/select.h"

#include <stdlib.h>

sa_status sa_radix_init(sa_radix *r, int workers, sa_error *err) {
    r->workers = workers < 1 ? 1 : workers;
    r->level = 0;
    r->prefix = 0;
    r->hist = calloc((size_t)r->workers * SA_RADIX_BINS, sizeof *r->hist);
    return r->hist ? SA_OK : sa_error_set(err, SA_ENOMEM, "out of memory");
}

void sa_radix_free(sa_radix *r) {
    free(r->hist);
    r->hist = NULL;
}

void sa_radix_level(sa_radix *r, int level, uint32_t prefix) {
    r->level = level;
    r->prefix = prefix;
    memset(r->hist, 0, (size_t)r->workers * SA_RADIX_BINS * sizeof *r->hist);
}

void sa_radix_add(sa_radix *r, int worker, const float *v, size_t n) {
    uint64_t *h = r->hist + (size_t)worker * SA_RADIX_BINS;
    if (r->level == 0) {
        for (size_t i = 0; i < n; i++) {
            uint32_t b = sa_abs_bits(v[i]);
            h[b > 0x7f800000u ? SA_RADIX_NAN_BIN : b >> 16]++;
        }
        return;
    }
    uint32_t prefix = r->prefix;
    for (size_t i = 0; i < n; i++) {
        uint32_t b = sa_abs_bits(v[i]);
        if ((b >> 16) == prefix) h[b & 0xffffu]++;
    }
}

uint64_t sa_radix_nan(const sa_radix *r, int worker) {
    uint64_t n = 0;
    for (int w = worker < 0 ? 0 : worker; w < (worker < 0 ? r->workers : worker + 1); w++)
        n += r->hist[(size_t)w * SA_RADIX_BINS + SA_RADIX_NAN_BIN];
    return n;
}

/* Merge worker histograms; find the bin where the cumulative count reaches rank. */
static uint32_t find_bin(const sa_radix *r, uint64_t rank, uint64_t *below, uint64_t *total) {
    uint64_t cum = 0, found_below = 0;
    uint32_t bin = SA_RADIX_BINS;
    for (uint32_t b = 0; b < SA_RADIX_BINS; b++) {
        uint64_t c = 0;
        for (int w = 0; w < r->workers; w++) c += r->hist[(size_t)w * SA_RADIX_BINS + b];
        if (bin == SA_RADIX_BINS && cum + c >= rank) {
            bin = b;
            found_below = cum;
        }
        cum += c;
    }
    *below = found_below;
    *total = cum;
    return bin;
}

sa_status sa_radix_select(sa_radix *r, uint64_t rank, sa_radix_pass pass, void *ctx, uint32_t *bits,
                          sa_error *err) {
    uint64_t below, total;
    sa_radix_level(r, 0, 0);
    sa_status s = pass(ctx, r, err);
    if (s != SA_OK) return s;
    uint64_t nan = sa_radix_nan(r, -1);
    if (nan) return sa_error_set(err, SA_EFORMAT, "%llu values are NaN", (unsigned long long)nan);
    uint32_t hi = find_bin(r, rank, &below, &total);
    if (rank == 0 || hi == SA_RADIX_BINS)
        return sa_error_set(err, SA_EINVAL, "rank %llu out of range (%llu values)",
                            (unsigned long long)rank, (unsigned long long)total);
    sa_radix_level(r, 1, hi);
    s = pass(ctx, r, err);
    if (s != SA_OK) return s;
    uint64_t below2, total2;
    uint32_t lo = find_bin(r, rank - below, &below2, &total2);
    if (lo == SA_RADIX_BINS)
        return sa_error_set(err, SA_EINVAL, "values changed between selection passes");
    *bits = (hi << 16) | lo;
    return SA_OK;
}

uint64_t sa_topk_count(uint64_t d, double k_percent) {
    double k = k_percent / 100.0;
    double v = (double)d * k;
    if (!(v > 0)) return 0;
    if (v >= (double)d) return d;
    return (uint64_t)v;
}

sa_status sa_topk_threshold(sa_radix *r, uint64_t d, uint64_t keep, sa_radix_pass pass, void *ctx,
                            uint64_t *thr, sa_error *err) {
    if (d == 0) {
        *thr = SA_KEEP_NONE;
        return SA_OK;
    }
    if (keep >= d) {
        *thr = 0;
        return SA_OK;
    }
    uint32_t bits;
    sa_status s = sa_radix_select(r, d - keep, pass, ctx, &bits, err);
    if (s == SA_OK) *thr = bits;
    return s;
}
