/* diff.c: per-tensor statistics of B - A for `safearith diff` (see arith.h: sa_diff_run).
 *
 * One streaming scan per tensor computes, in double, the squared norms of B - A and of A, the
 * number of changed entries and the largest |B - A|. Partial results are kept per fixed chunk
 * and combined in chunk order, so the numbers are the same for any thread count. Tensors whose
 * dtype is not F32/F16/BF16 are compared element by element as bytes (norms are then NaN). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "arith/filter.h"
#include "arith/output.h"

typedef struct part {
    double sq_diff, sq_a, max_abs;
    uint64_t changed;
} part;

typedef struct diff_ctx {
    part *parts;
    size_t cap;
} diff_ctx;

static void diff_chunk(void *ctx, const sa_chunk *c) {
    diff_ctx *x = ctx;
    const float *a = c->in[0], *b = c->in[1];
    part p = {0, 0, 0, 0};
    for (size_t i = 0; i < c->n; i++) {
        double d = (double)b[i] - (double)a[i];
        int same = a[i] == b[i] || (isnan(a[i]) && isnan(b[i]));
        p.changed += (uint64_t)!same;
        if (same) d = 0;
        p.sq_diff += d * d;
        p.sq_a += (double)a[i] * (double)a[i];
        if (fabs(d) > p.max_abs || isnan(d)) p.max_abs = fabs(d);
    }
    x->parts[c->index] = p;
}

static void bytes_diff(const sa_st_tensor *a, const sa_st_tensor *b, sa_diff_tensor *o) {
    size_t es = sa_dtype_bits(a->dtype) / 8;
    o->norm_diff = o->norm_a = o->max_abs = NAN;
    if (!es || a->dtype != b->dtype) {
        o->changed =
            a->nbytes == b->nbytes && !memcmp(a->data, b->data, (size_t)a->nbytes) ? 0 : a->numel;
        return;
    }
    const unsigned char *pa = a->data, *pb = b->data;
    for (uint64_t i = 0; i < a->numel; i++) o->changed += memcmp(pa + i * es, pb + i * es, es) != 0;
}

static sa_status one_tensor(sa_stream *st, const sa_aligned *al, size_t ti, diff_ctx *x,
                            sa_diff_tensor *o, sa_error *err) {
    const sa_st_tensor *a = sa_aligned_get(al, ti, 0), *b = sa_aligned_get(al, ti, 1);
    o->name = a->name;
    o->layer = sa_layer_index(a->name);
    o->numel = a->numel;
    if (!sa_dtype_is_arith(a->dtype) || !sa_dtype_is_arith(b->dtype)) {
        bytes_diff(a, b, o);
        return SA_OK;
    }
    size_t chunks = (size_t)((a->numel + SA_CHUNK - 1) / SA_CHUNK);
    if (chunks > x->cap) {
        free(x->parts);
        x->parts = malloc((chunks + 1) * sizeof *x->parts);
        x->cap = x->parts ? chunks : 0;
        if (!x->parts) return sa_error_set(err, SA_ENOMEM, "out of memory");
    }
    sa_status s = sa_stream_scan(st, ti, 3u, diff_chunk, x, err);
    if (s != SA_OK) return s;
    double sq_d = 0, sq_a = 0;
    for (size_t k = 0; k < chunks; k++) {
        sq_d += x->parts[k].sq_diff;
        sq_a += x->parts[k].sq_a;
        o->changed += x->parts[k].changed;
        if (x->parts[k].max_abs > o->max_abs || isnan(x->parts[k].max_abs))
            o->max_abs = x->parts[k].max_abs;
    }
    o->norm_diff = sqrt(sq_d);
    o->norm_a = sqrt(sq_a);
    return SA_OK;
}

typedef struct diff_internal {
    sa_checkpoint *cks[2];
} diff_internal;

void sa_diff_free(sa_diff *d) {
    diff_internal *in = d->internal;
    if (in) sa_close_all(in->cks, 2);
    free(in);
    free(d->tensors);
    memset(d, 0, sizeof *d);
}

sa_status sa_diff_run(const char *a, const char *b, sa_pool *pool, const sa_progress *progress,
                      sa_diff *out, sa_error *err) {
    memset(out, 0, sizeof *out);
    diff_internal *in = calloc(1, sizeof *in);
    if (!in) return sa_error_set(err, SA_ENOMEM, "out of memory");
    out->internal = in;
    const char *paths[2] = {a, b}, *labels[2] = {"A", "B"};
    sa_status s = sa_open_all(paths, 2, in->cks, err);
    sa_aligned al = {0};
    sa_stream *st = NULL;
    diff_ctx x = {NULL, 0};
    if (s == SA_OK) s = sa_align(&al, (const sa_checkpoint *const *)in->cks, labels, 2, err);
    if (s == SA_OK) s = sa_stream_create(&al, pool, progress, &st, err);
    if (s == SA_OK && !(out->tensors = calloc(al.n_tensors + 1, sizeof *out->tensors)))
        s = sa_error_set(err, SA_ENOMEM, "out of memory");
    if (s == SA_OK) sa_stream_stage(st, "comparing", sa_ckpt_total_params(in->cks[0]));
    for (size_t ti = 0; s == SA_OK && ti < al.n_tensors; ti++) {
        s = one_tensor(st, &al, ti, &x, &out->tensors[ti], err);
        out->n = ti + 1;
    }
    free(x.parts);
    sa_stream_free(st);
    sa_aligned_free(&al);
    if (s != SA_OK) sa_diff_free(out);
    return s;
}
