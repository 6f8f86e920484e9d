/* pca.c: the exact first principal component of a small set of high-dimensional rows.
 *
 * ICV data is a few dozen difference vectors of width n_embd or n_layers * n_embd, so the
 * n x n Gram matrix G = Xc Xc^T of the centred rows is tiny: its top eigenvector u (LAPACK
 * dsyevr, deterministic) gives the principal direction Xc^T u, normalised. When the width is
 * smaller than the row count the dim x dim covariance is used directly. Everything runs in
 * double precision. The sign is fixed so that the mean row projects positively (the "safe"
 * side), with the largest component as the tie-break, so results never depend on LAPACK's
 * arbitrary eigenvector sign. */
#include "safearith/steer.h"

#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Top eigenvector (and eigenvalue) of the symmetric m x m matrix A (row-major, destroyed). */
static sa_status top_eigen(double *A, int m, double *vec, double *val, sa_error *err) {
    lapack_int found = 0;
    lapack_int *isuppz = malloc(2 * sizeof *isuppz);
    double *w = malloc((size_t)m * sizeof *w);
    lapack_int info = LAPACK_WORK_MEMORY_ERROR;
    if (isuppz && w)
        info = LAPACKE_dsyevr(LAPACK_ROW_MAJOR, 'V', 'I', 'U', m, A, m, 0, 0, m, m, 0.0, &found, w,
                              vec, 1, isuppz);
    if (info == 0) *val = w[0];
    free(isuppz), free(w);
    if (info == LAPACK_WORK_MEMORY_ERROR || info == LAPACK_TRANSPOSE_MEMORY_ERROR)
        return sa_error_set(err, SA_ENOMEM, "pca: out of memory");
    if (info != 0 || found != 1)
        return sa_error_set(err, SA_EINVAL, "pca: eigensolver failed (LAPACK info %d)", (int)info);
    return SA_OK;
}

/* Centre the rows of X into C (n x dim doubles) and return the column mean in mean. */
static void centre(const float *X, int n, int64_t dim, double *C, double *mean) {
    memset(mean, 0, (size_t)dim * sizeof *mean);
    for (int i = 0; i < n; i++)
        for (int64_t j = 0; j < dim; j++) mean[j] += X[(size_t)i * dim + j];
    for (int64_t j = 0; j < dim; j++) mean[j] /= n;
    for (int i = 0; i < n; i++)
        for (int64_t j = 0; j < dim; j++) C[(size_t)i * dim + j] = X[(size_t)i * dim + j] - mean[j];
}

/* G = C C^T over the n centred rows (the dim >= n path). */
static void gram_matrix(const double *C, int n, int64_t dim, double *G) {
    for (int a = 0; a < n; a++)
        for (int b = a; b < n; b++) {
            double s = 0;
            const double *ra = C + (size_t)a * dim, *rb = C + (size_t)b * dim;
            for (int64_t j = 0; j < dim; j++) s += ra[j] * rb[j];
            G[a * n + b] = G[b * n + a] = s;
        }
}

static void fix_sign(double *pc, int64_t dim, const double *mean) {
    double proj = 0, scale = 0;
    for (int64_t j = 0; j < dim; j++) proj += pc[j] * mean[j], scale += fabs(mean[j]);
    int flip;
    if (fabs(proj) > 1e-12 * (scale > 0 ? scale : 1)) {
        flip = proj < 0;
    } else {
        int64_t big = 0;
        for (int64_t j = 1; j < dim; j++)
            if (fabs(pc[j]) > fabs(pc[big])) big = j;
        flip = pc[big] < 0;
    }
    if (flip)
        for (int64_t j = 0; j < dim; j++) pc[j] = -pc[j];
}

static sa_status pca_small_dim(const double *C, int n, int64_t dim, double *pc, double *top,
                               double *total, sa_error *err) {
    int m = (int)dim;
    double *A = calloc((size_t)m * m, sizeof *A);
    if (!A) return sa_error_set(err, SA_ENOMEM, "pca: out of memory");
    for (int i = 0; i < n; i++)
        for (int a = 0; a < m; a++)
            for (int b = a; b < m; b++) A[a * m + b] += C[(size_t)i * m + a] * C[(size_t)i * m + b];
    *total = 0;
    for (int a = 0; a < m; a++) {
        *total += A[a * m + a];
        for (int b = 0; b < a; b++) A[a * m + b] = A[b * m + a];
    }
    sa_status st = top_eigen(A, m, pc, top, err);
    free(A);
    return st;
}

static sa_status pca_gram(const double *C, int n, int64_t dim, double *pc, double *top,
                          double *total, sa_error *err) {
    double *G = malloc((size_t)n * n * sizeof *G), *u = malloc((size_t)n * sizeof *u);
    if (!G || !u) {
        free(G), free(u);
        return sa_error_set(err, SA_ENOMEM, "pca: out of memory");
    }
    gram_matrix(C, n, dim, G);
    *total = 0;
    for (int a = 0; a < n; a++) *total += G[a * n + a];
    sa_status st = top_eigen(G, n, u, top, err);
    if (st == SA_OK) {
        for (int64_t j = 0; j < dim; j++) {
            double s = 0;
            for (int i = 0; i < n; i++) s += C[(size_t)i * dim + j] * u[i];
            pc[j] = s;
        }
    }
    free(G), free(u);
    return st;
}

sa_status sa_pca_first(const float *X, int n, int64_t dim, double *pc, double *explained,
                       sa_error *err) {
    if (n < 2)
        return sa_error_set(err, SA_EINVAL,
                            "pca: needs at least 2 pairs (got %d); use --method mean", n);
    if (dim < 1) return sa_error_set(err, SA_EINVAL, "pca: empty rows");
    double *C = malloc((size_t)n * (size_t)dim * sizeof *C),
           *mean = malloc((size_t)dim * sizeof *mean);
    if (!C || !mean) {
        free(C), free(mean);
        return sa_error_set(err, SA_ENOMEM, "pca: out of memory for %d x %lld", n, (long long)dim);
    }
    centre(X, n, dim, C, mean);
    double top = 0, total = 0;
    sa_status st = dim < n ? pca_small_dim(C, n, dim, pc, &top, &total, err)
                           : pca_gram(C, n, dim, pc, &top, &total, err);
    free(C);
    if (!st) {
        double nrm = 0;
        for (int64_t j = 0; j < dim; j++) nrm += pc[j] * pc[j];
        nrm = sqrt(nrm);
        if (!(total > 0) || !(nrm > 0) || !(top > 1e-12 * total))
            st = sa_error_set(err, SA_EINVAL,
                              "pca: the differences have no variance (all pairs differ alike); "
                              "use --method mean");
        else {
            for (int64_t j = 0; j < dim; j++) pc[j] /= nrm;
            fix_sign(pc, dim, mean);
            if (explained) *explained = top / total;
        }
    }
    free(mean);
    return st;
}
