/* test_pca.c: the first principal component, its sign rule, and ICV from differences.
 *
 * Synthetic rows with a known principal direction d: row_i = m + t_i d + small noise. The PC
 * must be +-d to within the noise, unit, and signed so the mean projects positively. Run as
 * `test_pca pca IN.f32 N DIM OUT.f64` it is the tool test_pca.py uses to compare with numpy. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/check.h"
#include "safearith/steer.h"

static uint64_t rng = 88172645463325252ull;
static double urand(void) { /* xorshift64, uniform in [-1, 1) */
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return (double)(rng >> 11) / 4503599627370496.0 - 1.0;
}

static void make(float *X, int n, int dim, const double *d, const double *m, double noise) {
    for (int i = 0; i < n; i++) {
        double t = 3 * urand();
        for (int j = 0; j < dim; j++) X[i * dim + j] = (float)(m[j] + t * d[j] + noise * urand());
    }
}

static void unit_dir(double *d, int dim) {
    double s = 0;
    for (int j = 0; j < dim; j++) d[j] = urand(), s += d[j] * d[j];
    for (int j = 0; j < dim; j++) d[j] /= sqrt(s);
}

static void one_case(int n, int dim, double mean_sign) {
    double *d = malloc(dim * sizeof *d), *m = malloc(dim * sizeof *m),
           *pc = malloc(dim * sizeof *pc);
    float *X = malloc((size_t)n * dim * sizeof *X);
    unit_dir(d, dim);
    /* mean: mostly along d (sign mean_sign), plus an orthogonal-ish offset */
    for (int j = 0; j < dim; j++) m[j] = mean_sign * 0.7 * d[j] + 0.05 * urand();
    make(X, n, dim, d, m, 0.01);
    double expl = 0;
    sa_error err = {0};
    CHECK(!sa_pca_first(X, n, dim, pc, &expl, &err));
    double c = 0, nn = 0, proj = 0, mj;
    for (int j = 0; j < dim; j++) {
        c += pc[j] * d[j], nn += pc[j] * pc[j];
        mj = 0;
        for (int i = 0; i < n; i++) mj += X[i * dim + j];
        proj += pc[j] * mj / n;
    }
    CHECK_MSG(fabs(c) > 0.999, "n=%d dim=%d |cos|=%g", n, dim, fabs(c));
    CHECK(fabs(nn - 1) < 1e-9);
    CHECK_MSG(proj > 0, "sign rule: mean projects %g", proj);
    CHECK_MSG(c * mean_sign > 0, "pc points along the mean's side of d");
    CHECK(expl > 0.9 && expl <= 1.0 + 1e-12);
    free(d), free(m), free(pc), free(X);
}

static void test_errors(void) {
    float X[6] = {1, 2, 3, 1, 2, 3};
    double pc[3];
    sa_error err = {0};
    CHECK(sa_pca_first(X, 1, 3, pc, NULL, &err) == SA_EINVAL);
    CHECK_STR_CONTAINS(err.msg, "at least 2 pairs");
    CHECK(sa_pca_first(X, 2, 3, pc, NULL, &err) == SA_EINVAL);
    CHECK_STR_CONTAINS(err.msg, "no variance");
}

/* ICV from 3 pairs x 2 layers x 2 dims. */
static void test_icv(void) {
    float diffs[12] = {1, 0, 2, 2, /* pair 0: layer0 (1,0), layer1 (2,2) */
                       3, 0, 2, 4, 5, 0, 2, 6};
    float out[4], mn[2];
    sa_error err = {0};
    CHECK(!sa_icv_from_diffs(diffs, 3, 2, 2, SA_ICV_MEAN, SA_ICV_PER_LAYER, out, mn, &err));
    CHECK(out[0] == 3 && out[1] == 0 && out[2] == 2 && out[3] == 4);
    CHECK(fabs(mn[0] - 3) < 1e-6 && fabs(mn[1] - sqrt(20.0)) < 1e-5);
    /* per layer: layer 0 varies along x, layer 1 along y: PCs (1,0), (0,1) */
    CHECK(!sa_icv_from_diffs(diffs, 3, 2, 2, SA_ICV_PCA, SA_ICV_PER_LAYER, out, NULL, &err));
    CHECK(fabs(out[0] - 1) < 1e-6 && fabs(out[1]) < 1e-6 && fabs(out[2]) < 1e-6 &&
          fabs(out[3] - 1) < 1e-6);
    /* concat: the joint direction is (1,0,0,1)/sqrt2 */
    CHECK(!sa_icv_from_diffs(diffs, 3, 2, 2, SA_ICV_PCA, SA_ICV_CONCAT, out, NULL, &err));
    double r = 1 / sqrt(2.0);
    CHECK(fabs(out[0] - r) < 1e-6 && fabs(out[1]) < 1e-6 && fabs(out[2]) < 1e-6 &&
          fabs(out[3] - r) < 1e-6);
    CHECK(!sa_icv_from_diffs(diffs, 3, 2, 2, SA_ICV_PCA_MEAN, SA_ICV_CONCAT, out, NULL, &err));
    CHECK(fabs(out[0] - (r + 3)) < 1e-6 && fabs(out[2] - 2) < 1e-6 &&
          fabs(out[3] - (r + 4)) < 1e-6);
}

static int tool(char **argv) {
    int n = atoi(argv[3]), dim = atoi(argv[4]);
    float *X = malloc((size_t)n * dim * sizeof *X);
    double *pc = malloc((size_t)dim * sizeof *pc);
    FILE *f = fopen(argv[2], "rb");
    if (!f || fread(X, sizeof *X, (size_t)n * dim, f) != (size_t)n * dim) return 1;
    fclose(f);
    sa_error err = {0};
    if (sa_pca_first(X, n, dim, pc, NULL, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    f = fopen(argv[5], "wb");
    if (!f || fwrite(pc, sizeof *pc, (size_t)dim, f) != (size_t)dim) return 1;
    fclose(f);
    free(X), free(pc);
    return 0;
}

int main(int argc, char **argv) {
    if (argc == 6 && !strcmp(argv[1], "pca")) return tool(argv);
    one_case(30, 200, 1);  /* Gram path */
    one_case(30, 200, -1); /* sign follows the mean */
    one_case(60, 8, 1);    /* covariance path */
    one_case(60, 8, -1);
    test_errors();
    test_icv();
    return CHECK_DONE();
}
