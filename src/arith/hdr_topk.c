/* hdr_topk.c: one magnitude histogram of the harm vector serving every top-k (see arith.h:
 * sa_hdr_topk).
 *
 * sa_hdr finds its threshold with two counting passes over tau = harmful - base (select.h):
 * a histogram of the high 16 bits of |tau|, then one of the low 16 bits inside the bin that
 * holds the wanted rank. A study that tries many k would repeat both for every k. Here the
 * first histogram is taken once and kept; the second is kept per high-bits bin, so a k whose
 * rank falls into a bin seen before costs nothing and any other k one pass. The radix select of
 * radix_select.c runs unchanged: its "pass" copies the kept histogram instead of streaming. The
 * tensors are those sa_hdr selects without --layers / --include / --exclude (every tensor whose
 * dtype is F32/F16/BF16 in all three checkpoints), so the thresholds equal sa_hdr's own. */
#include <stdlib.h>
#include <string.h>

#include "arith/output.h"
#include "arith/select.h"
#include "arith/stream.h"
#include "safearith/arith.h"

#define MAX_CACHED 64

struct sa_hdr_topk {
    sa_checkpoint *cks[3];
    sa_aligned a;
    sa_stream *s;
    sa_radix radix;
    unsigned char *sel;
    uint64_t d;
    float *tau;       /* per worker SA_CHUNK */
    uint64_t *level0; /* SA_RADIX_BINS */
    uint32_t prefix[MAX_CACHED];
    uint64_t *level1[MAX_CACHED];
    int n_cached, passes;
};

static void add_chunk(void *ctx, const sa_chunk *c) {
    sa_hdr_topk *t = ctx;
    float *tau = t->tau + (size_t)c->worker * SA_CHUNK;
    for (size_t i = 0; i < c->n; i++) tau[i] = c->in[1][i] - c->in[2][i];
    sa_radix_add(&t->radix, c->worker, tau, c->n);
}

/* Merge the workers' histograms into worker 0's row and return it. */
static uint64_t *merged(sa_radix *r) {
    for (int w = 1; w < r->workers; w++)
        for (size_t b = 0; b < SA_RADIX_BINS; b++) {
            r->hist[b] += r->hist[(size_t)w * SA_RADIX_BINS + b];
            r->hist[(size_t)w * SA_RADIX_BINS + b] = 0;
        }
    return r->hist;
}

static sa_status stream_all(sa_hdr_topk *t, sa_error *err) {
    sa_status s = SA_OK;
    t->passes++;
    sa_stream_stage(t->s, "harm-vector magnitudes", t->d);
    for (size_t ti = 0; s == SA_OK && ti < t->a.n_tensors; ti++)
        if (t->sel[ti]) s = sa_stream_scan(t->s, ti, 6u, add_chunk, t, err);
    return s;
}

/* The radix select's pass: the kept histogram, or one stream whose result is kept. */
static sa_status cached_pass(void *ctx, sa_radix *r, sa_error *err) {
    sa_hdr_topk *t = ctx;
    if (r->level == 0) {
        memcpy(r->hist, t->level0, SA_RADIX_BINS * sizeof *r->hist);
        return SA_OK;
    }
    for (int i = 0; i < t->n_cached; i++)
        if (t->prefix[i] == r->prefix) {
            memcpy(r->hist, t->level1[i], SA_RADIX_BINS * sizeof *r->hist);
            return SA_OK;
        }
    sa_status s = stream_all(t, err);
    if (s != SA_OK) return s;
    uint64_t *h = merged(r);
    if (t->n_cached < MAX_CACHED) {
        uint64_t *keep = malloc(SA_RADIX_BINS * sizeof *keep);
        if (!keep) return sa_error_set(err, SA_ENOMEM, "out of memory");
        memcpy(keep, h, SA_RADIX_BINS * sizeof *keep);
        t->prefix[t->n_cached] = r->prefix;
        t->level1[t->n_cached++] = keep;
    }
    return SA_OK;
}

static sa_status topk_init(sa_hdr_topk *t, const char *target, const char *base,
                           const char *harmful, sa_pool *pool, const sa_progress *progress,
                           sa_error *err) {
    const char *paths[3] = {target, harmful, base}, *labels[3] = {"target", "harmful", "base"};
    sa_status s = sa_open_all(paths, 3, t->cks, err);
    if (s) return memset(t->cks, 0, sizeof t->cks), s;
    s = sa_align(&t->a, (const sa_checkpoint *const *)t->cks, labels, 3, err);
    if (!s) s = sa_stream_create(&t->a, pool, progress, &t->s, err);
    if (!s) s = sa_radix_init(&t->radix, sa_stream_workers(t->s), err);
    if (s) return s;
    t->sel = calloc(t->a.n_tensors + 1, 1);
    t->tau = malloc((size_t)t->radix.workers * SA_CHUNK * sizeof(float));
    t->level0 = malloc(SA_RADIX_BINS * sizeof *t->level0);
    if (!t->sel || !t->tau || !t->level0) return sa_error_set(err, SA_ENOMEM, "out of memory");
    for (size_t ti = 0; ti < t->a.n_tensors; ti++) {
        int arith = 1;
        for (int k = 0; k < 3; k++) arith &= sa_dtype_is_arith(sa_aligned_get(&t->a, ti, k)->dtype);
        t->sel[ti] = (unsigned char)arith;
        if (arith) t->d += sa_aligned_get(&t->a, ti, 0)->numel;
    }
    sa_radix_level(&t->radix, 0, 0);
    s = stream_all(t, err);
    if (s) return s;
    memcpy(t->level0, merged(&t->radix), SA_RADIX_BINS * sizeof *t->level0);
    if (t->level0[SA_RADIX_NAN_BIN])
        return sa_error_set(err, SA_EFORMAT, "%s, %s: the harm vector holds NaN", harmful, base);
    return SA_OK;
}

sa_status sa_hdr_topk_open(const char *target, const char *base, const char *harmful, sa_pool *pool,
                           const sa_progress *progress, sa_hdr_topk **out, sa_error *err) {
    *out = NULL;
    sa_hdr_topk *t = calloc(1, sizeof *t);
    if (!t) return sa_error_set(err, SA_ENOMEM, "out of memory");
    sa_status s = topk_init(t, target, base, harmful, pool, progress, err);
    if (s) return sa_hdr_topk_free(t), s;
    *out = t;
    return SA_OK;
}

sa_status sa_hdr_topk_threshold(sa_hdr_topk *t, double top_k, uint64_t *threshold_bits,
                                sa_error *err) {
    if (!(top_k >= 0 && top_k <= 100))
        return sa_error_set(err, SA_EINVAL, "top-k %g is not a percentage in [0, 100]", top_k);
    return sa_topk_threshold(&t->radix, t->d, sa_topk_count(t->d, top_k), cached_pass, t,
                             threshold_bits, err);
}

int sa_hdr_topk_passes(const sa_hdr_topk *t) {
    return t->passes;
}

void sa_hdr_topk_free(sa_hdr_topk *t) {
    if (!t) return;
    for (int i = 0; i < t->n_cached; i++) free(t->level1[i]);
    free(t->sel), free(t->tau), free(t->level0);
    sa_radix_free(&t->radix);
    sa_stream_free(t->s);
    sa_aligned_free(&t->a);
    if (t->cks[0]) sa_close_all(t->cks, 3);
    free(t);
}
