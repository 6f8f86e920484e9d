/* resta.c: RESTA, restoring safety by adding a safety vector (arXiv 2402.11746; see arith.h:
 * sa_resta).
 *
 * Per element, in float32 (s = SFT, a = aligned, u = unaligned):
 *   plain:     out = s + beta * (a - u)
 *   with DARE: d = s - a;  dd = (d * m) / (1 - p)            (rescale inverse)
 *                          dd = (d * m) * (|d|_1 / |d*m|_1)  (rescale l1, per tensor; skipped
 *                                                             when a norm is below 1e-7)
 *                          dd = d * m                        (rescale none)
 *              out = (a + dd) + beta * (a - u)
 * m is the counter-based DARE keep mask (dare.h, stream 0) with keep probability 1 - p. The L1
 * norms are summed in double per fixed chunk and then in chunk order, so they too are
 * independent of the thread count. */
#ifdef __clang__
#pragma STDC FP_CONTRACT OFF
#endif
#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "arith/dare.h"
#include "arith/output.h"
#include "core/opts.h"
#include "formats/json_build.h"
#include "formats/jsonl.h"

enum { S_IN = 0, A_IN = 1, U_IN = 2 };

typedef struct resta_ctx {
    const sa_resta_opts *r;
    float beta, inv_q;
    uint64_t keep_below;
    float *scale; /* per tensor, l1 rescale */
    double *sums; /* per chunk of the tensor being prepared: |d|_1, |d*m|_1 pairs */
    size_t sums_cap;
    uint8_t *mask; /* per worker SA_CHUNK */
    const sa_aligned *a;
} resta_ctx;

static sa_out_kind plan(void *ctx, size_t ti) {
    resta_ctx *x = ctx;
    for (int k = 0; k < 3; k++)
        if (!sa_dtype_is_arith(sa_aligned_get(x->a, ti, k)->dtype)) return SA_OUT_COPY;
    return SA_OUT_COMPUTE;
}

static const uint8_t *chunk_mask(resta_ctx *x, const sa_chunk *c) {
    uint8_t *m = x->mask + (size_t)c->worker * SA_CHUNK;
    const char *name = sa_aligned_get(x->a, c->tensor, 0)->name;
    sa_dare_mask(sa_dare_key_make(x->r->seed, 0, name), c->offset, c->n, x->keep_below, m);
    return m;
}

static void l1_chunk(void *ctx, const sa_chunk *c) {
    resta_ctx *x = ctx;
    const uint8_t *m = chunk_mask(x, c);
    const float *s = c->in[S_IN], *a = c->in[A_IN];
    double full = 0, kept = 0;
    for (size_t i = 0; i < c->n; i++) {
        float d = s[i] - a[i];
        full += fabs((double)d);
        kept += fabs((double)(d * (float)m[i]));
    }
    x->sums[2 * c->index] = full;
    x->sums[2 * c->index + 1] = kept;
}

static sa_status prepare(void *ctx, sa_stream *st, size_t ti, sa_error *err) {
    resta_ctx *x = ctx;
    if (x->r->dare_p <= 0 || x->r->rescale != SA_RESCALE_L1) return SA_OK;
    uint64_t numel = sa_aligned_get(x->a, ti, 0)->numel;
    size_t chunks = (size_t)((numel + SA_CHUNK - 1) / SA_CHUNK);
    if (chunks > x->sums_cap) {
        free(x->sums);
        x->sums = malloc(2 * chunks * sizeof *x->sums);
        x->sums_cap = x->sums ? chunks : 0;
        if (!x->sums) return sa_error_set(err, SA_ENOMEM, "out of memory");
    }
    sa_status s = sa_stream_scan(st, ti, (1u << S_IN) | (1u << A_IN), l1_chunk, x, err);
    if (s != SA_OK) return s;
    double full = 0, kept = 0;
    for (size_t i = 0; i < chunks; i++) {
        full += x->sums[2 * i];
        kept += x->sums[2 * i + 1];
    }
    x->scale[ti] = full < 1e-7 || kept < 1e-7 ? 1.0f : (float)(full / kept);
    return SA_OK;
}

static void apply(void *ctx, const sa_chunk *c) {
    resta_ctx *x = ctx;
    const float *s = c->in[S_IN], *a = c->in[A_IN], *u = c->in[U_IN];
    float beta = x->beta;
    if (x->r->dare_p <= 0) {
        for (size_t i = 0; i < c->n; i++) c->out[i] = s[i] + beta * (a[i] - u[i]);
        return;
    }
    const uint8_t *m = chunk_mask(x, c);
    sa_rescale mode = x->r->rescale;
    float q = x->inv_q, sc = mode == SA_RESCALE_L1 ? x->scale[c->tensor] : 1.0f;
    for (size_t i = 0; i < c->n; i++) {
        float d = s[i] - a[i], dm = d * (float)m[i];
        float dd = mode == SA_RESCALE_INVERSE ? dm / q : mode == SA_RESCALE_L1 ? dm * sc : dm;
        c->out[i] = (a[i] + dd) + beta * (a[i] - u[i]);
    }
}

static char *params_json(const char *const *paths, const sa_resta_opts *r) {
    sa_jb b = {0}; /* a field that could not be added: no metadata rather than a short one */
    cJSON *p = sa_jb_root(&b);
    sa_jb_str(&b, p, "sft", paths[0]);
    sa_jb_str(&b, p, "aligned", paths[1]);
    sa_jb_str(&b, p, "unaligned", paths[2]);
    sa_jb_num(&b, p, "beta", r->beta);
    if (r->dare_p > 0) {
        sa_jb_num(&b, p, "dare_p", r->dare_p);
        sa_jb_add(&b, p, "seed", sa_json_u64(r->seed));
        sa_jb_str(&b, p, "rescale",
                  r->rescale == SA_RESCALE_L1        ? "l1"
                  : r->rescale == SA_RESCALE_INVERSE ? "inverse"
                                                     : "none");
    }
    return sa_jb_print(&b, p);
}

static sa_status run(resta_ctx *x, sa_stream *st, const char *const *paths, const sa_arith_opts *o,
                     sa_error *err) {
    char *params = params_json(paths, x->r);
    if (!params) return sa_error_set(err, SA_ENOMEM, "out of memory");
    sa_write_spec spec = {plan, prepare, apply, 7u, x, o->out_dtype};
    sa_output_job j = {st, &spec, o, paths, 3, paths[0], "resta", params};
    sa_status s = sa_output_run(&j, err);
    free(params);
    return s;
}

void sa_resta_opts_init(sa_resta_opts *r) {
    *r = (sa_resta_opts){
        .struct_size = sizeof *r, .beta = 1, .dare_p = 0, .seed = 0, .rescale = SA_RESCALE_INVERSE};
}

sa_status sa_resta(const char *sft, const char *aligned, const char *unaligned,
                   const sa_resta_opts *r_in, const sa_arith_opts *o_in, sa_error *err) {
    sa_resta_opts rc;
    sa_arith_opts oc;
    sa_resta_opts_init(&rc);
    sa_status s0 = sa_opts_take(&rc, sizeof rc, r_in, "sa_resta_opts", err);
    if (!s0) s0 = sa_arith_opts_take(o_in, &oc, err);
    if (s0) return s0;
    const sa_resta_opts *r = &rc;
    const sa_arith_opts *o = &oc;
    if (!isfinite(r->beta)) return sa_error_set(err, SA_EINVAL, "--beta %g is not finite", r->beta);
    if (!(r->dare_p >= 0 && r->dare_p < 1))
        return sa_error_set(err, SA_EINVAL, "DARE drop rate %g is not in [0, 1)", r->dare_p);
    const char *paths[3] = {sft, aligned, unaligned}, *labels[3] = {"sft", "aligned", "unaligned"};
    sa_checkpoint *cks[3];
    sa_status s = sa_output_prepare(o, paths, 3, NULL, err);
    if (s == SA_OK) s = sa_open_all(paths, 3, cks, err);
    if (s != SA_OK) return s;
    resta_ctx x = {0};
    x.r = r;
    x.beta = (float)r->beta;
    x.inv_q = (float)(1.0 - r->dare_p);
    x.keep_below = sa_dare_keep_below(1.0 - r->dare_p);
    sa_aligned a = {0};
    sa_stream *st = NULL;
    s = sa_align(&a, (const sa_checkpoint *const *)cks, labels, 3, err);
    x.a = &a;
    if (s == SA_OK) s = sa_stream_create(&a, o->pool, o->progress, &st, err);
    int workers = st ? sa_stream_workers(st) : 1;
    x.scale = calloc(a.n_tensors + 1, sizeof *x.scale);
    x.mask = malloc((size_t)workers * SA_CHUNK);
    if (s == SA_OK && (!x.scale || !x.mask)) s = sa_error_set(err, SA_ENOMEM, "out of memory");
    if (s == SA_OK) s = run(&x, st, paths, o, err);
    free(x.scale);
    free(x.mask);
    free(x.sums);
    sa_stream_free(st);
    sa_aligned_free(&a);
    sa_close_all(cks, 3);
    return s;
}
