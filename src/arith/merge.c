/* merge.c: mergekit's generalized task arithmetic over a base and N models (see arith.h:
 * sa_merge): task_arithmetic, ties, dare_linear, dare_ties.
 *
 * Per tensor, with b the base and x_i the models (float32, per element):
 *   d_i = x_i - b, sparsified with density p_i:
 *     ties       keep |d_i| >= t_i, t_i the threshold of the top int(p_i * n) |d_i| of the tensor
 *                (or of the whole model with trim_scope global, as the TIES paper), ties kept;
 *     dare_*     keep with probability p_i (counter-based mask, stream i), then rescale by
 *                |d_i|_1 / |m d_i|_1 (l1, per tensor) or 1 / p_i (inverse), or not at all;
 *   w_i d_i weighted; ties and dare_ties elect the sign s = +1 where sum_i w_i d_i >= 0, else -1,
 *   and keep the terms whose sign equals s (zeros never do): mixed = sum mask_i w_i d_i,
 *   divisor = sum mask_i w_i (0 -> 1); otherwise mixed = sum w_i d_i, divisor = sum w_i
 *   (|divisor| < 1e-8 -> 1); normalize divides mixed by the divisor, lambda scales it, and
 *   out = b + mixed. Sums run in model order. This is mergekit's algorithm computed in float32
 *   (mergekit with dtype: float32), except that trimming keeps ties at the threshold. */
#ifdef __clang__
#pragma STDC FP_CONTRACT OFF
#endif
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arith/dare.h"
#include "arith/output.h"
#include "arith/select.h"
#include "formats/json_build.h"
#include "formats/jsonl.h"

typedef struct merge_ctx {
    const sa_merge_recipe *r;
    const sa_aligned *a;
    sa_stream *s;
    int m; /* models besides the base; input k = model k-1 */
    int ties_trim, dare, consensus;
    float w[SA_MAX_INPUTS], inv_dens[SA_MAX_INPUTS], lambda;
    uint64_t keep_below[SA_MAX_INPUTS];
    uint64_t *thr; /* [tensor * m + i] ties thresholds (per tensor), or global per model */
    float *scale;  /* [tensor * m + i] DARE l1 rescale factors */
    double *sums;  /* l1 sums per chunk of the tensor being prepared */
    size_t sums_cap;
    float *delta;  /* per worker SA_CHUNK floats: radix input */
    uint8_t *mask; /* per worker m * SA_CHUNK */
    int cur_model; /* model being measured in a selection pass */
    size_t cur_tensor;
    sa_radix radix;
} merge_ctx;

static int is_arith(const merge_ctx *x, size_t ti) {
    for (int k = 0; k <= x->m; k++)
        if (!sa_dtype_is_arith(sa_aligned_get(x->a, ti, k)->dtype)) return 0;
    return 1;
}

static sa_out_kind plan(void *ctx, size_t ti) {
    return is_arith(ctx, ti) ? SA_OUT_COMPUTE : SA_OUT_COPY;
}

/* ---- trimming thresholds ---- */

static void delta_chunk(void *ctx, const sa_chunk *c) {
    merge_ctx *x = ctx;
    float *d = x->delta + (size_t)c->worker * SA_CHUNK;
    const float *m = c->in[x->cur_model + 1], *b = c->in[0];
    for (size_t i = 0; i < c->n; i++) d[i] = m[i] - b[i];
    sa_radix_add(&x->radix, c->worker, d, c->n);
}

static unsigned model_mask(const merge_ctx *x) {
    return 1u | (1u << (x->cur_model + 1));
}

static sa_status tensor_pass(void *ctx, sa_radix *r, sa_error *err) {
    (void)r;
    merge_ctx *x = ctx;
    return sa_stream_scan(x->s, x->cur_tensor, model_mask(x), delta_chunk, x, err);
}

static sa_status global_pass(void *ctx, sa_radix *r, sa_error *err) {
    merge_ctx *x = ctx;
    char stage[64];
    snprintf(stage, sizeof stage, "trimming model %d (pass %d/2)", x->cur_model + 1, r->level + 1);
    uint64_t total = 0;
    for (size_t ti = 0; ti < x->a->n_tensors; ti++)
        if (is_arith(x, ti)) total += sa_aligned_get(x->a, ti, 0)->numel;
    sa_stream_stage(x->s, stage, total);
    sa_status s = SA_OK;
    for (size_t ti = 0; s == SA_OK && ti < x->a->n_tensors; ti++)
        if (is_arith(x, ti)) s = sa_stream_scan(x->s, ti, model_mask(x), delta_chunk, x, err);
    return s;
}

/* keep count int(density * n): 0 keeps nothing (mergekit requires at least one). */
static sa_status trim_threshold(merge_ctx *x, uint64_t n, double density, sa_radix_pass pass,
                                uint64_t *thr, sa_error *err) {
    if (density >= 1) {
        *thr = 0;
        return SA_OK;
    }
    uint64_t keep = (uint64_t)(density * (double)n);
    if (keep == 0) {
        *thr = SA_KEEP_NONE;
        return SA_OK;
    }
    sa_status s = sa_topk_threshold(&x->radix, n, keep, pass, x, thr, err);
    if (s == SA_EFORMAT) { /* NaN in a task vector: say whose */
        char why[sizeof err->msg];
        snprintf(why, sizeof why, "%s", err->msg);
        sa_error_set(err, s, "%s: trimming its task vector (model - base): %s",
                     x->r->models[x->cur_model].path, why);
    }
    return s;
}

static sa_status global_thresholds(merge_ctx *x, sa_error *err) {
    uint64_t total = 0;
    for (size_t ti = 0; ti < x->a->n_tensors; ti++)
        if (is_arith(x, ti)) total += sa_aligned_get(x->a, ti, 0)->numel;
    for (int i = 0; i < x->m; i++) {
        x->cur_model = i;
        uint64_t thr;
        sa_status s = trim_threshold(x, total, x->r->models[i].density, global_pass, &thr, err);
        if (s != SA_OK) return s;
        for (size_t ti = 0; ti < x->a->n_tensors; ti++) x->thr[ti * (size_t)x->m + (size_t)i] = thr;
    }
    return SA_OK;
}

/* ---- DARE ---- */

static const uint8_t *dare_mask(merge_ctx *x, const sa_chunk *c, int i) {
    uint8_t *mk = x->mask + ((size_t)c->worker * (size_t)x->m + (size_t)i) * SA_CHUNK;
    const char *name = sa_aligned_get(x->a, c->tensor, 0)->name;
    sa_dare_mask(sa_dare_key_make(x->r->seed, (uint32_t)i, name), c->offset, c->n, x->keep_below[i],
                 mk);
    return mk;
}

static void l1_chunk(void *ctx, const sa_chunk *c) {
    merge_ctx *x = ctx;
    int i = x->cur_model;
    const uint8_t *mk = dare_mask(x, c, i);
    const float *m = c->in[i + 1], *b = c->in[0];
    double full = 0, kept = 0;
    for (size_t e = 0; e < c->n; e++) {
        float d = m[e] - b[e];
        full += fabs((double)d);
        kept += fabs((double)(d * (float)mk[e]));
    }
    x->sums[2 * c->index] = full;
    x->sums[2 * c->index + 1] = kept;
}

static sa_status l1_scale(merge_ctx *x, size_t ti, int i, sa_error *err) {
    uint64_t numel = sa_aligned_get(x->a, ti, 0)->numel;
    size_t chunks = (size_t)((numel + SA_CHUNK - 1) / SA_CHUNK);
    if (chunks > x->sums_cap) {
        free(x->sums);
        x->sums = malloc(2 * chunks * sizeof *x->sums);
        x->sums_cap = x->sums ? chunks : 0;
        if (!x->sums) return sa_error_set(err, SA_ENOMEM, "out of memory");
    }
    x->cur_model = i;
    sa_status s = sa_stream_scan(x->s, ti, 1u | (1u << (i + 1)), l1_chunk, x, err);
    if (s != SA_OK) return s;
    double full = 0, kept = 0;
    for (size_t k = 0; k < chunks; k++) full += x->sums[2 * k], kept += x->sums[2 * k + 1];
    x->scale[ti * (size_t)x->m + (size_t)i] =
        full < 1e-7 || kept < 1e-7 ? 1.0f : (float)(full / kept);
    return SA_OK;
}

static sa_status prepare(void *ctx, sa_stream *st, size_t ti, sa_error *err) {
    (void)st;
    merge_ctx *x = ctx;
    sa_status s = SA_OK;
    for (int i = 0; s == SA_OK && i < x->m; i++) {
        double dens = x->r->models[i].density;
        if (dens >= 1) continue;
        if (x->ties_trim && x->r->trim_scope == SA_SELECT_PER_TENSOR) {
            x->cur_model = i;
            x->cur_tensor = ti;
            s = trim_threshold(x, sa_aligned_get(x->a, ti, 0)->numel, dens, tensor_pass,
                               &x->thr[ti * (size_t)x->m + (size_t)i], err);
        } else if (x->dare && x->r->rescale && x->r->rescale_mode == SA_RESCALE_L1) {
            s = l1_scale(x, ti, i, err);
        }
    }
    return s;
}

/* ---- the merge ---- */

/* wd[i][e] = w_i * sparsified d_i for the chunk. */
static void weighted_deltas(merge_ctx *x, const sa_chunk *c, float *wd) {
    const float *b = c->in[0];
    for (int i = 0; i < x->m; i++) {
        const float *m = c->in[i + 1];
        float *o = wd + (size_t)i * SA_CHUNK, w = x->w[i];
        double dens = x->r->models[i].density;
        size_t at = c->tensor * (size_t)x->m + (size_t)i;
        if (dens >= 1) {
            for (size_t e = 0; e < c->n; e++) o[e] = w * (m[e] - b[e]);
        } else if (x->ties_trim) {
            uint64_t thr = x->thr[at];
            for (size_t e = 0; e < c->n; e++) {
                float d = m[e] - b[e];
                o[e] = w * (d * (float)((uint64_t)sa_abs_bits(d) >= thr));
            }
        } else {
            const uint8_t *mk = dare_mask(x, c, i);
            int mode = !x->r->rescale ? SA_RESCALE_NONE : (int)x->r->rescale_mode;
            float sc = mode == SA_RESCALE_L1 ? x->scale[at] : 1.0f, q = x->inv_dens[i];
            for (size_t e = 0; e < c->n; e++) {
                float dm = (m[e] - b[e]) * (float)mk[e];
                float d = mode == SA_RESCALE_L1        ? dm * sc
                          : mode == SA_RESCALE_INVERSE ? dm / q
                                                       : dm;
                o[e] = w * d;
            }
        }
    }
}

static void combine(merge_ctx *x, const sa_chunk *c, const float *wd) {
    const float *b = c->in[0];
    int normalize = x->r->normalize, scale = x->lambda != 1.0f;
    for (size_t e = 0; e < c->n; e++) {
        float mixed, div;
        if (x->consensus) {
            float total = wd[e];
            for (int i = 1; i < x->m; i++) total = total + wd[(size_t)i * SA_CHUNK + e];
            float sign = total >= 0 ? 1.0f : -1.0f;
            mixed = 0, div = 0;
            for (int i = 0; i < x->m; i++) {
                float v = wd[(size_t)i * SA_CHUNK + e];
                float mk = (float)((v > 0 ? 1.0f : v < 0 ? -1.0f : 0.0f) == sign);
                mixed = i ? mixed + v * mk : v * mk;
                div = i ? div + x->w[i] * mk : x->w[i] * mk;
            }
            if (div == 0) div = 1;
        } else {
            mixed = wd[e], div = x->w[0];
            for (int i = 1; i < x->m; i++) {
                mixed = mixed + wd[(size_t)i * SA_CHUNK + e];
                div = div + x->w[i];
            }
            if (fabsf(div) < 1e-8f) div = 1;
        }
        if (normalize) mixed = mixed / div;
        if (scale) mixed = mixed * x->lambda;
        c->out[e] = b[e] + mixed;
    }
}

static void apply(void *ctx, const sa_chunk *c) {
    merge_ctx *x = ctx;
    float *wd = x->delta + (size_t)sa_stream_workers(x->s) * SA_CHUNK +
                (size_t)c->worker * (size_t)x->m * SA_CHUNK;
    weighted_deltas(x, c, wd);
    combine(x, c, wd);
}

static char *params_json(const sa_merge_recipe *r) {
    sa_jb b = {0}; /* a field that could not be added: no metadata rather than a short one */
    cJSON *p = sa_jb_root(&b);
    sa_jb_str(&b, p, "merge_method", sa_merge_method_name(r->method));
    sa_jb_str(&b, p, "base_model", r->base);
    cJSON *ms = sa_jb_arr(&b, p, "models");
    for (int i = 0; i < r->n_models; i++) {
        cJSON *m = sa_jb_obj(&b, ms, NULL);
        sa_jb_str(&b, m, "model", r->models[i].path);
        sa_jb_num(&b, m, "weight", r->models[i].weight);
        sa_jb_num(&b, m, "density", r->models[i].density);
    }
    sa_jb_num(&b, p, "lambda", r->lambda);
    sa_jb_bool(&b, p, "normalize", r->normalize);
    if (r->method == SA_MERGE_DARE_LINEAR || r->method == SA_MERGE_DARE_TIES) {
        sa_jb_str(&b, p, "rescale",
                  !r->rescale                        ? "none"
                  : r->rescale_mode == SA_RESCALE_L1 ? "l1"
                                                     : "inverse");
        sa_jb_add(&b, p, "seed", sa_json_u64(r->seed));
    }
    if (r->method == SA_MERGE_TIES)
        sa_jb_str(&b, p, "trim_scope", r->trim_scope == SA_SELECT_GLOBAL ? "global" : "per_tensor");
    return sa_jb_print(&b, p);
}

static sa_status setup(merge_ctx *x, const sa_aligned *a, sa_stream *s, sa_error *err) {
    const sa_merge_recipe *r = x->r;
    x->a = a;
    x->s = s;
    x->m = r->n_models;
    x->ties_trim = r->method == SA_MERGE_TIES;
    x->dare = r->method == SA_MERGE_DARE_LINEAR || r->method == SA_MERGE_DARE_TIES;
    x->consensus = r->method == SA_MERGE_TIES || r->method == SA_MERGE_DARE_TIES;
    x->lambda = (float)r->lambda;
    for (int i = 0; i < x->m; i++) {
        x->w[i] = (float)r->models[i].weight;
        x->inv_dens[i] = (float)r->models[i].density;
        x->keep_below[i] = sa_dare_keep_below(r->models[i].density);
    }
    int workers = sa_stream_workers(s);
    size_t per = a->n_tensors * (size_t)x->m + 1;
    x->thr = calloc(per, sizeof *x->thr);
    x->scale = calloc(per, sizeof *x->scale);
    x->delta = malloc((size_t)workers * (1 + (size_t)x->m) * SA_CHUNK * sizeof(float));
    x->mask = malloc((size_t)workers * (size_t)x->m * SA_CHUNK);
    if (!x->thr || !x->scale || !x->delta || !x->mask)
        return sa_error_set(err, SA_ENOMEM, "out of memory");
    return sa_radix_init(&x->radix, workers, err);
}

static void teardown(merge_ctx *x) {
    free(x->thr);
    free(x->scale);
    free(x->delta);
    free(x->mask);
    free(x->sums);
    sa_radix_free(&x->radix);
}

static sa_status run(merge_ctx *x, const char *const *paths, int n, const sa_arith_opts *o,
                     sa_error *err) {
    sa_status s = SA_OK;
    if (x->ties_trim && x->r->trim_scope == SA_SELECT_GLOBAL) s = global_thresholds(x, err);
    char *params = s == SA_OK ? params_json(x->r) : NULL;
    if (s == SA_OK && !params) s = sa_error_set(err, SA_ENOMEM, "out of memory");
    if (s == SA_OK) {
        sa_arith_opts oo = *o;
        if (oo.out_dtype < 0) oo.out_dtype = x->r->out_dtype;
        unsigned mask = (1u << n) - 1;
        sa_write_spec spec = {plan, prepare, apply, mask, x, oo.out_dtype};
        const char *inputs[SA_MAX_INPUTS + 1];
        memcpy(inputs, paths, (size_t)n * sizeof *inputs);
        inputs[n] = x->r->path;
        sa_output_job j = {x->s, &spec, &oo, inputs, n + 1, paths[0], "merge", params};
        s = sa_output_run(&j, err);
    }
    free(params);
    return s;
}

sa_status sa_merge(const sa_merge_recipe *r, const sa_arith_opts *o_in, sa_error *err) {
    sa_arith_opts oc;
    sa_status s0 = sa_arith_opts_take(o_in, &oc, err);
    if (s0) return s0;
    const sa_arith_opts *o = &oc;
    int n = r->n_models + 1;
    if (n > SA_MAX_INPUTS) return sa_error_set(err, SA_EINVAL, "too many models (at most 15)");
    const char *paths[SA_MAX_INPUTS], *labels[SA_MAX_INPUTS];
    char names[SA_MAX_INPUTS][32];
    paths[0] = r->base;
    labels[0] = "base_model";
    for (int i = 0; i < r->n_models; i++) {
        paths[i + 1] = r->models[i].path;
        snprintf(names[i], sizeof names[i], "models[%d]", i);
        labels[i + 1] = names[i];
    }
    sa_checkpoint *cks[SA_MAX_INPUTS];
    sa_status s = sa_output_prepare(o, paths, n, r->path, err);
    if (s == SA_OK) s = sa_open_all(paths, n, cks, err);
    if (s != SA_OK) return s;
    sa_aligned a = {0};
    sa_stream *st = NULL;
    merge_ctx x = {0};
    x.r = r;
    s = sa_align(&a, (const sa_checkpoint *const *)cks, labels, n, err);
    if (s == SA_OK) s = sa_stream_create(&a, o->pool, o->progress, &st, err);
    if (s == SA_OK) s = setup(&x, &a, st, err);
    if (s == SA_OK) s = run(&x, paths, n, o, err);
    teardown(&x);
    sa_stream_free(st);
    sa_aligned_free(&a);
    sa_close_all(cks, n);
    return s;
}
