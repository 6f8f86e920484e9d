/* icv.c: turning per-pair hidden-state differences into per-layer steering directions.
 *
 * Per-layer scope runs one PCA per layer on the n_pairs x n_embd slice; concat scope runs one
 * PCA on the n_pairs x (n_layers * n_embd) rows (the paper's eq. 8) and cuts the unit vector
 * into layer segments. The mean difference is separable, so it is the same in both scopes.
 * pca+mean is the official code's `components_.sum(0) + mean_`. */
#include "safearith/steer.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *method_names[] = {"pca", "mean", "pca+mean"};
static const char *scope_names[] = {"per-layer", "concat"};
static const char *position_names[] = {"last", "mean-last-4", "mean-answer"};

const char *sa_icv_method_name(sa_icv_method m) {
    return method_names[m];
}
const char *sa_icv_scope_name(sa_icv_scope s) {
    return scope_names[s];
}
const char *sa_icv_position_name(sa_icv_position p) {
    return position_names[p];
}

static int find(const char *const *names, int n, const char *s) {
    for (int i = 0; s && i < n; i++)
        if (!strcmp(names[i], s)) return i;
    return -1;
}

int sa_icv_method_parse(const char *s) {
    return find(method_names, 3, s);
}
int sa_icv_scope_parse(const char *s) {
    return find(scope_names, 2, s);
}
int sa_icv_position_parse(const char *s) {
    return find(position_names, 3, s);
}

/* Column means of diffs into out (n_layers x n_embd), in double. */
static void mean_diff(const float *diffs, int n, size_t width, float *out) {
    for (size_t j = 0; j < width; j++) {
        double s = 0;
        for (int i = 0; i < n; i++) s += diffs[(size_t)i * width + j];
        out[j] = (float)(s / n);
    }
}

/* PCA over the columns [off, off + w) of the n x width rows. */
static sa_status pca_slice(const float *diffs, int n, size_t width, size_t off, size_t w,
                           double *pc, sa_error *err) {
    float *X = malloc((size_t)n * w * sizeof *X);
    if (!X) return sa_error_set(err, SA_ENOMEM, "icv: out of memory");
    for (int i = 0; i < n; i++)
        memcpy(X + (size_t)i * w, diffs + (size_t)i * width + off, w * sizeof *X);
    sa_status st = sa_pca_first(X, n, (int64_t)w, pc, NULL, err);
    free(X);
    return st;
}

sa_status sa_icv_from_diffs(const float *diffs, int n_pairs, int n_layers, int n_embd,
                            sa_icv_method method, sa_icv_scope scope, float *out, float *mean_norms,
                            sa_error *err) {
    if (n_pairs < 1) return sa_error_set(err, SA_EINVAL, "icv: no pairs");
    size_t width = (size_t)n_layers * n_embd;
    float *mean = malloc(width * sizeof *mean);
    double *pc = method != SA_ICV_MEAN ? malloc(width * sizeof *pc) : NULL;
    if (!mean || (method != SA_ICV_MEAN && !pc)) {
        free(mean), free(pc);
        return sa_error_set(err, SA_ENOMEM, "icv: out of memory");
    }
    mean_diff(diffs, n_pairs, width, mean);
    sa_status st = SA_OK;
    if (method != SA_ICV_MEAN) {
        if (scope == SA_ICV_CONCAT) st = pca_slice(diffs, n_pairs, width, 0, width, pc, err);
        for (int l = 0; l < n_layers && !st && scope == SA_ICV_PER_LAYER; l++) {
            st = pca_slice(diffs, n_pairs, width, (size_t)l * n_embd, (size_t)n_embd,
                           pc + (size_t)l * n_embd, err);
            if (st) sa_error_prefix(err, "layer %d", l);
        }
    }
    for (size_t j = 0; j < width && !st; j++)
        out[j] = method == SA_ICV_MEAN  ? mean[j]
                 : method == SA_ICV_PCA ? (float)pc[j]
                                        : (float)(pc[j] + mean[j]);
    for (int l = 0; l < n_layers && !st && mean_norms; l++) {
        double s = 0;
        for (int k = 0; k < n_embd; k++)
            s += (double)mean[(size_t)l * n_embd + k] * mean[(size_t)l * n_embd + k];
        mean_norms[l] = (float)sqrt(s);
    }
    free(mean), free(pc);
    return st;
}
