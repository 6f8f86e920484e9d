/* test_kernels.c: the engine's matrix product (every path, every weight dtype, odd widths,
 * 1..3 threads) against a double-precision loop, the bit-identity of a row computed alone or in a
 * batch, and the sampler (greedy ties, top-k, top-p, seeds, the sampled distribution). The product
 * tests run once per kernel set, each forced through SAFEARITH_ISA (and for avx512bf16 once more
 * with BF16 activations); a set this CPU lacks is printed as SKIPPED, never passed over silently.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/check.h"
#include "safearith/model.h"
#include "tensor/matmul.h"

/* The kernel set and precision under test (main runs every set the CPU has). */
static sa_kset test_set = SA_KSET_AVX2;
static sa_precision test_prec = SA_PRECISION_F32;

static float frand(uint64_t *s) {
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    return (float)((*s >> 40) & 0xffffff) / 16777216.0f * 2.0f - 1.0f;
}

/* Relative error of sa_matmul against a double loop over the (widened) stored weights. */
static double matmul_err(sa_dtype dt, int rows, int cols, int T, int threads, int gemm_min_t) {
    uint64_t seed = (uint64_t)rows * 31 + cols;
    size_t n = (size_t)rows * cols, es = dt == SA_F32 ? 4 : 2;
    unsigned char *w = malloc(n * es + 1); /* +1: misaligned start for 2-byte types */
    unsigned char *wp = dt == SA_F32 ? w : w + 1;
    float *wf = malloc(n * 4), *x = malloc((size_t)T * cols * 4), *y = malloc((size_t)T * rows * 4);
    for (size_t i = 0; i < n; i++) wf[i] = frand(&seed);
    sa_from_f32(wf, wp, dt, n);
    sa_to_f32(wp, dt, wf, n);
    for (size_t i = 0; i < (size_t)T * cols; i++) x[i] = frand(&seed);
    /* BF16 activations: the reference multiplies the same rounded values */
    int round_x = test_prec == SA_PRECISION_BF16 && dt == SA_BF16;
    float *xr = malloc((size_t)T * cols * 4);
    for (size_t i = 0; i < (size_t)T * cols; i++)
        xr[i] = round_x ? sa_bf16_to_f32(sa_f32_to_bf16(x[i])) : x[i];
    sa_pool *pool = sa_pool_create(threads);
    sa_mm_ctx c;
    sa_mm_ctx_init(&c, pool, cols, test_set, test_prec);
    c.gemm_min_t = gemm_min_t;
    sa_wmat wm = {wp, dt, rows, cols};
    sa_matmul(&c, &wm, x, T, y);
    double worst = 0, scale = 0;
    for (int t = 0; t < T; t++)
        for (int r = 0; r < rows; r++) {
            double ref = 0;
            for (int i = 0; i < cols; i++)
                ref += (double)wf[(size_t)r * cols + i] * xr[(size_t)t * cols + i];
            double e = fabs(ref - y[(size_t)t * rows + r]);
            worst = e > worst ? e : worst;
            scale = fabs(ref) > scale ? fabs(ref) : scale;
        }
    sa_mm_ctx_free(&c);
    sa_pool_destroy(pool);
    free(w);
    free(wf);
    free(x);
    free(xr);
    free(y);
    return worst / scale;
}

static void test_matmul(void) {
    sa_dtype dts[] = {SA_F32, SA_BF16, SA_F16};
    /* edges of the packed path: rows past a 24- or 48-row panel and a 48- or 96-row task, columns
     * past a 128- or 256-column block and not a multiple of 8 or 16, groups of 4 and 8 rows with
     * any rest; of the kernel path: tasks of 16 to 64 rows (up to 1024 for 1-3 activation rows)
     * read as four strided streams, with 1 to 3 rows left over, steps of 8, 16 and 32 columns with
     * a rest; of the BF16 path: column blocks of 512 with a rest, blocks of 48 activation rows
     * (T = 50), groups of 6 with a rest, 16-row tasks with 1-3 rows left over */
    int shapes[][2] = {{1, 8},    {7, 37},   {33, 100},  {130, 64}, {65, 259},
                       {50, 521}, {302, 40}, {4101, 16}, {97, 600}, {19, 1030}};
    int Ts[] = {1, 2, 3, 4, 5, 7, 12, 19, 50};
    for (int d = 0; d < 3; d++)
        for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
            for (size_t ti = 0; ti < sizeof Ts / sizeof Ts[0]; ti++)
                for (int threads = 1, T = Ts[ti]; threads <= 3; threads += 2) {
                    double ek = matmul_err(dts[d], shapes[s][0], shapes[s][1], T, threads, 1 << 30);
                    double eb = matmul_err(dts[d], shapes[s][0], shapes[s][1], T, threads, 1);
                    CHECK_MSG(ek < 1e-5 && eb < 1e-5,
                              "%s/%s %s [%d,%d] T=%d threads=%d: kernel %.2e packed %.2e",
                              sa_kset_name(test_set), sa_precision_name(test_prec),
                              sa_dtype_name(dts[d]), shapes[s][0], shapes[s][1], T, threads, ek,
                              eb);
                }
}

/* A row computed alone equals the same row computed inside a batch, bit for bit, on each path;
 * T = 7 mixes the kernel's tiles of 2 and 1 BF16 rows; SA_MM_PART_ROWS + 7 runs in parts on both
 * paths (the last part a packed group of 3 rows). */
static void test_batch_identity(int T, int kernel_min_t) {
    int rows = 141, cols = 600;
    uint64_t seed = 5;
    uint16_t *w = malloc((size_t)rows * cols * 2);
    float *x = malloc((size_t)T * cols * 4), *yb = malloc((size_t)T * rows * 4),
          *y1 = malloc((size_t)rows * 4);
    for (int i = 0; i < rows * cols; i++) w[i] = sa_f32_to_bf16(frand(&seed));
    for (int i = 0; i < T * cols; i++) x[i] = frand(&seed);
    sa_pool *pool = sa_pool_create(2);
    sa_mm_ctx c;
    sa_mm_ctx_init(&c, pool, cols, test_set, test_prec);
    c.gemm_min_t = kernel_min_t;
    sa_wmat wm = {w, SA_BF16, rows, cols};
    sa_matmul(&c, &wm, x, T, yb);
    int same = 1;
    for (int t = 0; t < T; t++) {
        sa_matmul(&c, &wm, x + (size_t)t * cols, 1, y1);
        for (int r = 0; r < rows; r++) same &= y1[r] == yb[(size_t)t * rows + r];
    }
    CHECK_MSG(same, "%s/%s kernel path, T=%d: batched and single-row products differ",
              sa_kset_name(test_set), sa_precision_name(test_prec), T);
    c.gemm_min_t = 1;
    sa_matmul(&c, &wm, x, T, yb);
    same = 1;
    for (int t = 0; t < T; t++) {
        sa_matmul(&c, &wm, x + (size_t)t * cols, 1, y1);
        for (int r = 0; r < rows; r++) same &= y1[r] == yb[(size_t)t * rows + r];
    }
    CHECK_MSG(same, "%s/%s packed path, T=%d: batched and single-row products differ",
              sa_kset_name(test_set), sa_precision_name(test_prec), T);
    sa_mm_ctx_free(&c);
    sa_pool_destroy(pool);
    free(w);
    free(x);
    free(yb);
    free(y1);
}

/* Several matrices in one job (sa_matmul_multi) give exactly what separate products give, on
 * both paths, with different row counts and dtypes. */
static void test_multi(void) {
    enum { COLS = 100, TMAX = 30 };
    int rows[3] = {37, 130, 8};
    sa_dtype dts[3] = {SA_BF16, SA_F16, SA_F32};
    uint64_t seed = 11;
    unsigned char *w[3];
    float *ym[3], *ys = malloc((size_t)TMAX * 130 * 4), *x = malloc((size_t)TMAX * COLS * 4);
    sa_wmat wm[3];
    const sa_wmat *wp[3];
    float *wf = malloc((size_t)130 * COLS * 4);
    for (int m = 0; m < 3; m++) {
        size_t n = (size_t)rows[m] * COLS;
        for (size_t i = 0; i < n; i++) wf[i] = frand(&seed);
        w[m] = malloc(n * 4);
        sa_from_f32(wf, w[m], dts[m], n);
        wm[m] = (sa_wmat){w[m], dts[m], rows[m], COLS};
        wp[m] = &wm[m];
        ym[m] = malloc((size_t)TMAX * rows[m] * 4);
    }
    for (int i = 0; i < TMAX * COLS; i++) x[i] = frand(&seed);
    sa_pool *pool = sa_pool_create(2);
    sa_mm_ctx c;
    sa_mm_ctx_init(&c, pool, COLS, test_set, test_prec);
    int Ts[3] = {1, 5, TMAX}; /* TMAX >= SA_MM_GEMM_MIN_T: the packed path */
    for (int k = 0; k < 3; k++) {
        int T = Ts[k], same = 1;
        sa_matmul_multi(&c, 3, wp, x, T, ym);
        for (int m = 0; m < 3; m++) {
            sa_matmul(&c, &wm[m], x, T, ys);
            for (int i = 0; i < T * rows[m]; i++) same &= ys[i] == ym[m][i];
        }
        CHECK_MSG(same, "%s/%s T=%d: sa_matmul_multi differs from separate products",
                  sa_kset_name(test_set), sa_precision_name(test_prec), T);
    }
    sa_mm_ctx_free(&c);
    sa_pool_destroy(pool);
    for (int m = 0; m < 3; m++) free(w[m]), free(ym[m]);
    free(wf), free(ys), free(x);
}

static void test_sampler(void) {
    float ties[5] = {1, 3, 0, 3, 2};
    sa_sampling greedy = {0, 0, 1, 0};
    sa_rng rng;
    sa_rng_seed(&rng, 1);
    CHECK_EQ_INT(sa_sample(ties, 5, &greedy, &rng, NULL), 1); /* lowest id among ties */
    float l[4] = {logf(0.1f), logf(0.2f), logf(0.6f), logf(0.1f)};
    sa_sampling top1 = {5.0f, 1, 1, 0};
    CHECK_EQ_INT(sa_sample(l, 4, &top1, &rng, NULL), 2);
    /* frequencies at temperature 1 */
    sa_sampling plain = {1.0f, 0, 1.0f, 0};
    int counts[4] = {0}, N = 40000;
    for (int i = 0; i < N; i++) counts[sa_sample(l, 4, &plain, &rng, NULL)]++;
    double expect[4] = {0.1, 0.2, 0.6, 0.1};
    for (int i = 0; i < 4; i++)
        CHECK_MSG(fabs(counts[i] / (double)N - expect[i]) < 0.01, "token %d: %d of %d", i,
                  counts[i], N);
    /* top-p 0.7 keeps {2, 1} (0.6 + 0.2 >= 0.7); top-k 2 keeps {2, 1} too */
    sa_sampling topp = {1.0f, 0, 0.7f, 0}, topk = {1.0f, 2, 1.0f, 0};
    int bad_p = 0, bad_k = 0, seen1 = 0;
    for (int i = 0; i < 5000; i++) {
        int a = sa_sample(l, 4, &topp, &rng, NULL), b = sa_sample(l, 4, &topk, &rng, NULL);
        bad_p += a != 2 && a != 1;
        bad_k += b != 2 && b != 1;
        seen1 += a == 1;
    }
    CHECK_EQ_INT(bad_p, 0);
    CHECK_EQ_INT(bad_k, 0);
    CHECK(seen1 > 1000 && seen1 < 2000); /* 0.2 / 0.8 of 5000 = 1250 */
    /* same seed, same draws; different seed, different draws */
    float big[1000];
    uint64_t s = 9;
    for (int i = 0; i < 1000; i++) big[i] = 3 * frand(&s);
    sa_sampling opt = {0.9f, 50, 0.9f, 0};
    sa_rng a, b, c;
    sa_rng_seed(&a, 42);
    sa_rng_seed(&b, 42);
    sa_rng_seed(&c, 43);
    int same = 1, diff = 0;
    for (int i = 0; i < 200; i++) {
        int ta = sa_sample(big, 1000, &opt, &a, NULL), tb = sa_sample(big, 1000, &opt, &b, NULL);
        same &= ta == tb;
        diff += ta != sa_sample(big, 1000, &opt, &c, NULL);
    }
    CHECK(same);
    CHECK(diff > 50);
}

/* The product tests in the set test_set and precision test_prec. */
static void test_products(void) {
    test_matmul();
    test_batch_identity(7, SA_MM_GEMM_MIN_T);
    test_batch_identity(SA_MM_PART_ROWS + 7, 1 << 30);
    test_multi();
}

/* SAFEARITH_ISA: names are parsed, a bad one is an error naming the variable, unset means the
 * best supported set, and BF16 activations need avx512bf16. */
static void test_choose(void) {
    sa_kset k;
    sa_error err = {0};
    setenv("SAFEARITH_ISA", "avx9", 1);
    CHECK(sa_kset_choose(SA_KSET_AUTO, &k, &err) == SA_EINVAL);
    CHECK_STR_CONTAINS(err.msg, "SAFEARITH_ISA");
    unsetenv("SAFEARITH_ISA");
    CHECK(sa_kset_choose(SA_KSET_AUTO, &k, &err) == SA_OK);
    for (int b = k + 1; b <= SA_KSET_AVX512BF16; b++) CHECK(!sa_kset_supported((sa_kset)b));
    sa_mm_ctx c;
    CHECK(sa_mm_ctx_init(&c, NULL, 16, SA_KSET_AVX2, SA_PRECISION_BF16) == -1);
}

int main(void) {
    test_choose();
    const char *sets[] = {"avx2", "avx512", "avx512bf16"};
    for (int i = 0; i < 3; i++) {
        sa_error err = {0};
        setenv("SAFEARITH_ISA", sets[i], 1);
        if (sa_kset_choose(SA_KSET_AUTO, &test_set, &err)) {
            printf("SKIPPED kernel set %s: %s\n", sets[i], err.msg);
            continue;
        }
        for (int p = 0; p <= (test_set == SA_KSET_AVX512BF16); p++) {
            test_prec = p ? SA_PRECISION_BF16 : SA_PRECISION_F32;
            int failed = check_failed;
            test_products();
            printf("kernel set %s, precision %s: %s\n", sets[i], sa_precision_name(test_prec),
                   check_failed == failed ? "ok" : "FAILED");
        }
    }
    unsetenv("SAFEARITH_ISA");
    test_sampler();
    return CHECK_DONE();
}
