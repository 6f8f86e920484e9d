/* hdr.c: Harm Direction Removal, out = target - lambda * trim_k(harmful - base) (Safety
 * Arithmetic, arXiv 2406.11801, Eqs. 1-4; see arith.h: sa_hdr).
 *
 * tau is never materialised: it is recomputed chunk by chunk from the mapped checkpoints in each
 * pass. Trimming keeps |tau| >= t where t is the (d - int(d * k/100))-th smallest |tau| over the
 * d selected entries, ties at t kept (the official topk_values_mask), found exactly by the radix
 * select of select.h: two counting passes, then one writing pass. The selection (--layers,
 * --include, --exclude) confines both tau and the top-k: tau is zero outside it, as the paper
 * intends for edited models. The official edited-model notebook instead subtracts the dense,
 * untrimmed tau outside layers 4-6; notebook_edited_bug reproduces that on request. Masking
 * multiplies tau by 0/1, as the official code does, so signed zeros match it too. */
#ifdef __clang__
#pragma STDC FP_CONTRACT OFF
#endif
#include <cjson/cJSON.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arith/filter.h"
#include "formats/json_build.h"
#include "core/opts.h"
#include "arith/output.h"
#include "arith/select.h"

enum { T_IN = 0, H_IN = 1, B_IN = 2 };
enum { NOT_SELECTED = 0, SELECTED = 1, DENSE = 2 };

typedef struct hdr_ctx {
    const sa_hdr_opts *h;
    int tv;             /* harmful is a stored task vector: no base input */
    unsigned char *sel; /* per tensor */
    uint64_t thr;       /* global threshold */
    uint64_t *thr_t;    /* per tensor thresholds (per-tensor scope) */
    float lambda;
    sa_radix radix;
    sa_stream *s;
    size_t only;    /* per-tensor selection: the tensor being measured */
    float *tau;     /* per worker SA_CHUNK floats */
    uint64_t *kept; /* per worker */
    size_t *bad;    /* per worker: first tensor whose tau has a NaN (SIZE_MAX: none) */
} hdr_ctx;

/* tau for the chunk: harmful - base, or harmful itself. */
static const float *chunk_tau(hdr_ctx *x, const sa_chunk *c) {
    if (x->tv) return c->in[H_IN];
    float *tau = x->tau + (size_t)c->worker * SA_CHUNK;
    const float *h = c->in[H_IN], *b = c->in[B_IN];
    for (size_t i = 0; i < c->n; i++) tau[i] = h[i] - b[i];
    return tau;
}

static unsigned tau_mask(const hdr_ctx *x) {
    return x->tv ? 1u << H_IN : (1u << H_IN) | (1u << B_IN);
}

static void radix_chunk(void *ctx, const sa_chunk *c) {
    hdr_ctx *x = ctx;
    if (x->radix.level != 0) {
        sa_radix_add(&x->radix, c->worker, chunk_tau(x, c), c->n);
        return;
    }
    uint64_t before = sa_radix_nan(&x->radix, c->worker);
    sa_radix_add(&x->radix, c->worker, chunk_tau(x, c), c->n);
    if (sa_radix_nan(&x->radix, c->worker) > before && c->tensor < x->bad[c->worker])
        x->bad[c->worker] = c->tensor;
}

/* A failed selection that met a NaN in tau: say where, and why it matters. */
static sa_status name_nan(hdr_ctx *x, sa_status s, sa_error *err) {
    size_t first = SIZE_MAX;
    for (int w = 0; w < sa_stream_workers(x->s); w++)
        if (x->bad[w] < first) first = x->bad[w];
    if (s != SA_EFORMAT || first == SIZE_MAX) return s; /* another error: keep its message */
    const char *name = sa_aligned_get(sa_stream_aligned(x->s), first, 0)->name;
    return sa_error_set(err, SA_EFORMAT,
                        "%s: the harm vector (%s) is NaN there, so its top-k magnitudes "
                        "are undefined: the checkpoints hold NaN (or opposite infinite) weights",
                        name, x->tv ? "the stored task vector" : "harmful - base");
}

static sa_status global_pass(void *ctx, sa_radix *r, sa_error *err) {
    hdr_ctx *x = ctx;
    const sa_aligned *a = sa_stream_aligned(x->s);
    uint64_t total = 0;
    for (size_t ti = 0; ti < a->n_tensors; ti++)
        if (x->sel[ti] == SELECTED) total += sa_aligned_get(a, ti, 0)->numel;
    sa_stream_stage(x->s, r->level ? "selecting top-k (pass 2/2)" : "selecting top-k (pass 1/2)",
                    total);
    sa_status s = SA_OK;
    for (size_t ti = 0; s == SA_OK && ti < a->n_tensors; ti++)
        if (x->sel[ti] == SELECTED) s = sa_stream_scan(x->s, ti, tau_mask(x), radix_chunk, x, err);
    return s;
}

static sa_status tensor_pass(void *ctx, sa_radix *r, sa_error *err) {
    (void)r;
    hdr_ctx *x = ctx;
    return sa_stream_scan(x->s, x->only, tau_mask(x), radix_chunk, x, err);
}

static sa_status prepare_tensor(void *ctx, sa_stream *s, size_t ti, sa_error *err) {
    hdr_ctx *x = ctx;
    if (x->sel[ti] != SELECTED || x->h->scope != SA_SELECT_PER_TENSOR || !x->h->trim) return SA_OK;
    (void)s;
    x->only = ti;
    uint64_t d = sa_aligned_get(sa_stream_aligned(x->s), ti, 0)->numel;
    return name_nan(x,
                    sa_topk_threshold(&x->radix, d, sa_topk_count(d, x->h->top_k), tensor_pass, x,
                                      &x->thr_t[ti], err),
                    err);
}

static sa_out_kind plan(void *ctx, size_t ti) {
    hdr_ctx *x = ctx;
    return x->sel[ti] == NOT_SELECTED ? SA_OUT_COPY : SA_OUT_COMPUTE;
}

static void apply(void *ctx, const sa_chunk *c) {
    hdr_ctx *x = ctx;
    const float *tau = chunk_tau(x, c), *t = c->in[T_IN];
    float lam = x->lambda;
    if (x->sel[c->tensor] == DENSE || !x->h->trim) {
        for (size_t i = 0; i < c->n; i++) c->out[i] = t[i] - lam * tau[i];
        if (x->sel[c->tensor] == SELECTED) x->kept[c->worker] += c->n;
        return;
    }
    uint64_t thr = x->h->scope == SA_SELECT_PER_TENSOR ? x->thr_t[c->tensor] : x->thr, kept = 0;
    for (size_t i = 0; i < c->n; i++) {
        int keep = (uint64_t)sa_abs_bits(tau[i]) >= thr;
        kept += (uint64_t)keep;
        float tp = tau[i] * (float)keep;
        c->out[i] = t[i] - lam * tp;
    }
    x->kept[c->worker] += kept;
}

static char *params_json(const char *target, const char *base, const char *harmful,
                         const sa_hdr_opts *h, const sa_hdr_result *r) {
    sa_jb b = {0}; /* a field that could not be added: no metadata rather than a short one */
    cJSON *p = sa_jb_root(&b);
    sa_jb_str(&b, p, "target", target);
    if (base) sa_jb_str(&b, p, "base", base);
    sa_jb_str(&b, p, "harmful", harmful);
    sa_jb_bool(&b, p, "harmful_is_task_vector", r->harmful_is_task_vector);
    sa_jb_num(&b, p, "top_k", h->top_k);
    sa_jb_num(&b, p, "lambda", h->lambda);
    sa_jb_str(&b, p, "select", h->scope == SA_SELECT_GLOBAL ? "global" : "per-tensor");
    sa_jb_bool(&b, p, "trim", h->trim);
    if (h->layer_lo >= 0) {
        char l[64];
        snprintf(l, sizeof l, "%ld-%ld", h->layer_lo, h->layer_hi);
        sa_jb_str(&b, p, "layers", l);
    }
    if (h->include) sa_jb_str(&b, p, "include", h->include);
    if (h->exclude) sa_jb_str(&b, p, "exclude", h->exclude);
    if (h->notebook_edited_bug) sa_jb_bool(&b, p, "notebook_edited_bug", 1);
    sa_jb_num(&b, p, "selected_params", (double)r->selected_params);
    if (h->trim && h->scope == SA_SELECT_GLOBAL)
        sa_jb_num(&b, p, "threshold", (double)r->threshold);
    return sa_jb_print(&b, p);
}

/* Mark tensors: selected (arith dtype and passing the filter), dense (notebook bug), none. */
static sa_status select_tensors(hdr_ctx *x, const sa_aligned *a, sa_hdr_result *res,
                                sa_error *err) {
    sa_tensor_filter f;
    sa_status s =
        sa_filter_init(&f, x->h->include, x->h->exclude, x->h->layer_lo, x->h->layer_hi, err);
    if (s != SA_OK) return s;
    for (size_t ti = 0; ti < a->n_tensors; ti++) {
        const sa_st_tensor *t = sa_aligned_get(a, ti, 0);
        int arith = 1;
        for (int k = 0; k < a->n; k++) arith &= sa_dtype_is_arith(sa_aligned_get(a, ti, k)->dtype);
        x->sel[ti] = !arith                         ? NOT_SELECTED
                     : sa_filter_match(&f, t->name) ? SELECTED
                     : x->h->notebook_edited_bug    ? DENSE
                                                    : NOT_SELECTED;
        if (x->sel[ti] == SELECTED) {
            res->selected_tensors++;
            res->selected_params += t->numel;
        }
    }
    sa_filter_free(&f);
    if (!res->selected_tensors)
        return sa_error_set(err, SA_EINVAL,
                            "no tensor is selected (check --layers, --include and --exclude)");
    return SA_OK;
}

static sa_status run(hdr_ctx *x, const char *const *paths, int n, const sa_arith_opts *o,
                     sa_hdr_result *res, sa_error *err) {
    const sa_aligned *a = sa_stream_aligned(x->s);
    sa_status s = select_tensors(x, a, res, err);
    if (s == SA_OK && x->h->trim && x->h->scope == SA_SELECT_GLOBAL && x->h->threshold_bits) {
        x->thr = *x->h->threshold_bits;
        uint32_t b = (uint32_t)(x->thr >= SA_KEEP_NONE ? 0x7f800000u : x->thr);
        memcpy(&res->threshold, &b, 4);
    } else if (s == SA_OK && x->h->trim && x->h->scope == SA_SELECT_GLOBAL) {
        uint64_t keep = sa_topk_count(res->selected_params, x->h->top_k);
        s = sa_topk_threshold(&x->radix, res->selected_params, keep, global_pass, x, &x->thr, err);
        s = name_nan(x, s, err);
        uint32_t b = (uint32_t)(x->thr >= SA_KEEP_NONE ? 0x7f800000u : x->thr);
        memcpy(&res->threshold, &b, 4);
    }
    char *params =
        s == SA_OK ? params_json(paths[0], n == 3 ? paths[2] : NULL, paths[1], x->h, res) : NULL;
    if (s == SA_OK && !params) s = sa_error_set(err, SA_ENOMEM, "out of memory");
    if (s == SA_OK) {
        sa_write_spec spec = {plan, prepare_tensor, apply, (1u << T_IN) | tau_mask(x),
                              x,    o->out_dtype};
        sa_output_job j = {x->s, &spec, o, paths, n, paths[0], "hdr", params};
        s = sa_output_run(&j, err);
    }
    free(params);
    for (int w = 0; w < sa_stream_workers(x->s); w++) res->kept_params += x->kept[w];
    return s;
}

void sa_hdr_opts_init(sa_hdr_opts *h) {
    *h = (sa_hdr_opts){.struct_size = sizeof *h,
                       .top_k = 10,
                       .lambda = 3,
                       .scope = SA_SELECT_GLOBAL,
                       .trim = 1,
                       .layer_lo = -1,
                       .layer_hi = -1};
}

sa_status sa_hdr_check(const char *target, const char *base, const char *harmful,
                       const sa_hdr_opts *h, sa_error *err) {
    if (!target || !harmful)
        return sa_error_set(err, SA_EINVAL, "--target and --harmful are required");
    if (!(h->top_k >= 0 && h->top_k <= 100))
        return sa_error_set(err, SA_EINVAL, "--top-k %g is not a percentage in [0, 100]", h->top_k);
    if (h->threshold_bits && (h->scope != SA_SELECT_GLOBAL || h->layer_lo >= 0 || h->include ||
                              h->exclude || h->notebook_edited_bug))
        return sa_error_set(err, SA_EINVAL,
                            "a given threshold needs global selection over every tensor");
    if (!isfinite(h->lambda))
        return sa_error_set(err, SA_EINVAL, "--lambda %g is not finite", h->lambda);
    if (h->scope != SA_SELECT_GLOBAL && h->scope != SA_SELECT_PER_TENSOR)
        return sa_error_set(err, SA_EINVAL, "--select: unknown scope %d", (int)h->scope);
    if ((h->layer_lo >= 0 || h->layer_hi >= 0) && !(h->layer_lo >= 0 && h->layer_lo <= h->layer_hi))
        return sa_error_set(err, SA_EINVAL, "--layers %ld-%ld is not a range A-B with 0 <= A <= B",
                            h->layer_lo, h->layer_hi);
    if (h->notebook_edited_bug && h->layer_lo < 0 && !h->include && !h->exclude)
        return sa_error_set(err, SA_EINVAL,
                            "--notebook-edited-bug needs --layers, --include or --exclude");
    int tv = sa_is_task_vector(harmful);
    if (!base && !tv)
        return sa_error_set(err, SA_EINVAL,
                            "--base is required unless --harmful is a stored task vector");
    if (base && tv)
        return sa_error_set(err, SA_EINVAL,
                            "--harmful %s is a stored task vector; do not give --base", harmful);
    return SA_OK;
}

/* --layers A-B must lie within the target's decoder layers (the largest layer index of its
 * tensor names + 1). */
static sa_status check_layers(const sa_hdr_opts *h, const sa_checkpoint *target, const char *path,
                              sa_error *err) {
    if (h->layer_lo < 0) return SA_OK;
    long n_layers = 0;
    for (size_t i = 0; i < sa_ckpt_count(target); i++) {
        long l = sa_layer_index(sa_ckpt_tensor(target, i)->name);
        if (l + 1 > n_layers) n_layers = l + 1;
    }
    if (h->layer_hi < n_layers) return SA_OK;
    return sa_error_set(err, SA_EINVAL, "--layers %ld-%ld: %s has %ld decoder layers (0-%ld)",
                        h->layer_lo, h->layer_hi, path, n_layers, n_layers - 1);
}

sa_status sa_hdr(const char *target, const char *base, const char *harmful, const sa_hdr_opts *h_in,
                 const sa_arith_opts *o_in, sa_hdr_result *res, sa_error *err) {
    memset(res, 0, sizeof *res);
    sa_hdr_opts hc;
    sa_arith_opts oc;
    sa_hdr_opts_init(&hc);
    sa_status s0 = sa_opts_take(&hc, sizeof hc, h_in, "sa_hdr_opts", err);
    if (!s0) s0 = sa_arith_opts_take(o_in, &oc, err);
    if (!s0) s0 = sa_hdr_check(target, base, harmful, &hc, err);
    if (s0) return s0;
    const sa_hdr_opts *h = &hc;
    const sa_arith_opts *o = &oc;
    res->harmful_is_task_vector = base == NULL;
    const char *paths[3] = {target, harmful, base}, *labels[3] = {"target", "harmful", "base"};
    int n = base ? 3 : 2;
    sa_checkpoint *cks[3];
    sa_status s = sa_output_prepare(o, paths, n, NULL, err);
    if (s == SA_OK) s = sa_open_all(paths, n, cks, err);
    if (s != SA_OK) return s;
    s = check_layers(h, cks[0], target, err);
    if (s != SA_OK) return sa_close_all(cks, n), s;
    hdr_ctx x = {0};
    x.h = h;
    x.tv = base == NULL;
    x.lambda = (float)h->lambda;
    sa_aligned a = {0};
    s = sa_align(&a, (const sa_checkpoint *const *)cks, labels, n, err);
    if (s == SA_OK) s = sa_stream_create(&a, o->pool, o->progress, &x.s, err);
    int workers = x.s ? sa_stream_workers(x.s) : 1;
    if (s == SA_OK) s = sa_radix_init(&x.radix, workers, err);
    x.sel = calloc(a.n_tensors + 1, 1);
    x.thr_t = calloc(a.n_tensors + 1, sizeof *x.thr_t);
    x.tau = malloc((size_t)workers * SA_CHUNK * sizeof(float));
    x.kept = calloc((size_t)workers, sizeof *x.kept);
    x.bad = malloc((size_t)workers * sizeof *x.bad);
    for (int w = 0; x.bad && w < workers; w++) x.bad[w] = SIZE_MAX;
    if (s == SA_OK && (!x.sel || !x.thr_t || !x.tau || !x.kept || !x.bad))
        s = sa_error_set(err, SA_ENOMEM, "out of memory");
    if (s == SA_OK) s = run(&x, paths, n, o, res, err);
    free(x.sel);
    free(x.thr_t);
    free(x.tau);
    free(x.kept);
    free(x.bad);
    sa_radix_free(&x.radix);
    sa_stream_free(x.s);
    sa_aligned_free(&a);
    sa_close_all(cks, n);
    return s;
}
