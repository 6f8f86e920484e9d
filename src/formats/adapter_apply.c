/* adapter_apply.c: the values of a LoRA-adapted tensor, any element range at a time (the
 * formulas are in adapter.h).
 *
 * A range of a row-major [rows, cols] tensor is walked row by row. For a plain weight, the row's
 * delta is sum_k B[o, k] * A[k, cols...] accumulated in double over k in order (each product of
 * two floats is exact in double, so only the order of the r additions is fixed by this code);
 * for a transposed weight (fan_in_fan_out, embeddings) it is, per column c, the dot product of
 * B[c, :] with column `row` of A. DoRA needs the norm of the whole output row, so its rows are
 * always computed whole. Buffers are allocated, and the factor along the columns widened to
 * float32, once per call (a call is a chunk of tens of thousands of elements), never per row. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "formats/adapter.h"

static const unsigned char *at(const sa_st_tensor *t, uint64_t i) {
    return (const unsigned char *)t->data + i * (sa_dtype_bits(t->dtype) / 8);
}

typedef struct row_bufs {
    double *acc; /* cols */
    float *w;    /* cols: base values, then results */
    float *f;    /* rank * cols: the factor spanning the columns (A, or B for transposed) */
    float *base; /* cols: base values (DoRA) */
    float *coef; /* rank */
} row_bufs;

static int bufs_alloc(row_bufs *b, const sa_lora_target *t) {
    size_t cols = (size_t)t->cols, r = (size_t)t->rank;
    b->acc = malloc(cols * sizeof *b->acc);
    b->w = malloc(cols * sizeof *b->w);
    b->f = malloc(cols * (r > 1 ? r : 1) * sizeof *b->f);
    b->coef = malloc((r ? r : 1) * sizeof *b->coef);
    b->base = malloc(cols * sizeof *b->base);
    return b->acc && b->w && b->f && b->coef && b->base;
}

static void bufs_free(row_bufs *b) {
    free(b->acc);
    free(b->w);
    free(b->f);
    free(b->coef);
    free(b->base);
}

/* The factor whose index runs along the stored columns, widened once per call: A [r, cols] for a
 * plain weight, B [cols, r] for a transposed one. */
static void widen_factor(const sa_lora_target *t, row_bufs *b) {
    const sa_st_tensor *f = t->kind == SA_LORA_LINEAR ? t->a : t->b;
    sa_to_f32(f->data, f->dtype, b->f, (size_t)t->cols * (size_t)t->rank);
}

/* acc[c - c0] = sum_k B[row, k] * A[k, c] for c in [c0, c1). */
static void delta_linear(const sa_lora_target *t, int64_t row, int64_t c0, int64_t c1,
                         row_bufs *b) {
    size_t n = (size_t)(c1 - c0), r = (size_t)t->rank;
    sa_to_f32(at(t->b, (uint64_t)row * r), t->b->dtype, b->coef, r);
    for (size_t i = 0; i < n; i++) b->acc[i] = 0;
    for (size_t k = 0; k < r; k++) {
        const float *a = b->f + k * (size_t)t->cols + (size_t)c0;
        double bk = b->coef[k];
        for (size_t i = 0; i < n; i++) b->acc[i] += bk * (double)a[i];
    }
}

/* acc[c - c0] = sum_k B[c, k] * A[k, row] for c in [c0, c1). */
static void delta_transposed(const sa_lora_target *t, int64_t row, int64_t c0, int64_t c1,
                             row_bufs *b) {
    size_t n = (size_t)(c1 - c0), r = (size_t)t->rank;
    for (size_t k = 0; k < r; k++)
        sa_to_f32(at(t->a, k * (uint64_t)t->rows + (uint64_t)row), t->a->dtype, &b->coef[k], 1);
    const float *bf = b->f + (size_t)c0 * r;
    for (size_t i = 0; i < n; i++) {
        double s = 0;
        for (size_t k = 0; k < r; k++) s += (double)bf[i * r + k] * (double)b->coef[k];
        b->acc[i] = s;
    }
}

/* b->w[0, c1 - c0) = the adapter's delta, rounded to float32, for one row's columns. */
static void row_delta(const sa_lora_target *t, int64_t row, int64_t c0, int64_t c1, row_bufs *b) {
    if (t->kind == SA_LORA_LINEAR)
        delta_linear(t, row, c0, c1, b);
    else
        delta_transposed(t, row, c0, c1, b);
    for (int64_t i = 0; i < c1 - c0; i++) b->w[i] = (float)(t->scaling * b->acc[i]);
}

/* dst[0, c1 - c0) = W' of one row's columns. */
static void row_values(const sa_lora_target *t, int64_t row, int64_t c0, int64_t c1, row_bufs *b,
                       float *dst) {
    if (t->magnitude) { /* DoRA: the whole row, then its slice */
        row_delta(t, row, 0, t->cols, b);
        sa_to_f32(at(&t->base, (uint64_t)row * (uint64_t)t->cols), t->base.dtype, b->base,
                  (size_t)t->cols);
        double ss = 0;
        for (int64_t i = 0; i < t->cols; i++) {
            b->w[i] = b->base[i] + b->w[i];
            ss += (double)b->w[i] * (double)b->w[i];
        }
        float m;
        sa_to_f32(at(t->magnitude, (uint64_t)row), t->magnitude->dtype, &m, 1);
        float factor = m / (float)sqrt(ss);
        for (int64_t c = c0; c < c1; c++) dst[c - c0] = factor * b->w[c];
        return;
    }
    row_delta(t, row, c0, c1, b);
    sa_to_f32(at(&t->base, (uint64_t)row * (uint64_t)t->cols + (uint64_t)c0), t->base.dtype, dst,
              (size_t)(c1 - c0));
    for (int64_t i = 0; i < c1 - c0; i++) dst[i] = dst[i] + b->w[i];
}

static void read_bias(const sa_lora_target *t, uint64_t off, size_t n, float *dst, int delta) {
    float lb[256];
    for (size_t done = 0; done < n;) {
        size_t m = n - done < 256 ? n - done : 256;
        sa_to_f32(at(t->b, off + done), t->b->dtype, lb, m);
        if (!delta) sa_to_f32(at(&t->base, off + done), t->base.dtype, dst + done, m);
        for (size_t i = 0; i < m; i++) {
            float d = (float)(t->scaling * (double)lb[i]);
            dst[done + i] = delta ? d : dst[done + i] + d;
        }
        done += m;
    }
}

/* Walk [off, off + n) row by row; delta: the adapter's contribution only. */
static void read_range(const sa_lora_target *t, uint64_t off, size_t n, float *dst, int delta) {
    if (t->kind == SA_LORA_BIAS) {
        read_bias(t, off, n, dst, delta);
        return;
    }
    row_bufs b;
    if (!bufs_alloc(&b, t)) { /* out of memory in a worker: NaN makes the caller fail */
        for (size_t i = 0; i < n; i++) dst[i] = NAN;
        bufs_free(&b);
        return;
    }
    widen_factor(t, &b);
    uint64_t end = off + n, cols = (uint64_t)t->cols;
    for (uint64_t i = off; i < end;) {
        int64_t row = (int64_t)(i / cols), c0 = (int64_t)(i % cols);
        int64_t c1 = end - (uint64_t)row * cols < cols ? (int64_t)(end - (uint64_t)row * cols)
                                                       : (int64_t)cols;
        if (delta) {
            row_delta(t, row, c0, c1, &b);
            memcpy(dst + (i - off), b.w, (size_t)(c1 - c0) * sizeof *dst);
        } else {
            row_values(t, row, c0, c1, &b, dst + (i - off));
        }
        i += (uint64_t)(c1 - c0);
    }
    bufs_free(&b);
}

void sa_adapter_read(const sa_lora_target *t, uint64_t off, size_t n, float *dst) {
    read_range(t, off, n, dst, 0);
}

void sa_adapter_read_delta(const sa_lora_target *t, uint64_t off, size_t n, float *dst) {
    read_range(t, off, n, dst, 1);
}
