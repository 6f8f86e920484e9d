/* test_kernels.c: the engine's matrix product (both paths, every weight dtype, odd widths,
 * 1..3 threads) against a double-precision loop, the bit-identity of a row computed alone or in a
 * batch, and the sampler (greedy ties, top-k, top-p, seeds, the sampled distribution). */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "common/check.h"
#include "safearith/model.h"
#include "tensor/matmul.h"

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
    sa_pool *pool = sa_pool_create(threads);
    sa_mm_ctx c;
    sa_mm_ctx_init(&c, pool, cols);
    c.gemm_min_t = gemm_min_t;
    sa_wmat wm = {wp, dt, rows, cols};
    sa_matmul(&c, &wm, x, T, y);
    double worst = 0, scale = 0;
    for (int t = 0; t < T; t++)
        for (int r = 0; r < rows; r++) {
            double ref = 0;
            for (int i = 0; i < cols; i++)
                ref += (double)wf[(size_t)r * cols + i] * x[(size_t)t * cols + i];
            double e = fabs(ref - y[(size_t)t * rows + r]);
            worst = e > worst ? e : worst;
            scale = fabs(ref) > scale ? fabs(ref) : scale;
        }
    sa_mm_ctx_free(&c);
    sa_pool_destroy(pool);
    free(w);
    free(wf);
    free(x);
    free(y);
    return worst / scale;
}

static void test_matmul(void) {
    sa_dtype dts[] = {SA_F32, SA_BF16, SA_F16};
    /* edges of the packed path: rows past a 24-row panel and a 48-row task, columns past a
     * 256-column block and not a multiple of 8; of the kernel path: tasks of 16 to 64 rows (up to
     * 1024 for 1-3 activation rows) read as four strided streams, with 1 to 3 rows left over */
    int shapes[][2] = {{1, 8},    {7, 37},   {33, 100}, {130, 64},
                       {65, 259}, {50, 521}, {302, 40}, {4101, 16}};
    for (int d = 0; d < 3; d++)
        for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
            for (int T = 1; T <= 20; T += (T < 5 ? 1 : 7))
                for (int threads = 1; threads <= 3; threads += 2) {
                    double ek = matmul_err(dts[d], shapes[s][0], shapes[s][1], T, threads, 1 << 30);
                    double eb = matmul_err(dts[d], shapes[s][0], shapes[s][1], T, threads, 1);
                    CHECK_MSG(ek < 1e-5 && eb < 1e-5,
                              "%s [%d,%d] T=%d threads=%d: kernel %.2e packed %.2e",
                              sa_dtype_name(dts[d]), shapes[s][0], shapes[s][1], T, threads, ek,
                              eb);
                }
}

/* A row computed alone equals the same row computed inside a batch, bit for bit, on each path;
 * T = 7 mixes the kernel's tiles of 2 and 1 BF16 rows; SA_MM_PART_ROWS + 7 runs in parts on both
 * paths (the last part a packed group of 3 rows). */
static void test_batch_identity(int T, int kernel_min_t) {
    int rows = 141, cols = 300;
    uint64_t seed = 5;
    uint16_t *w = malloc((size_t)rows * cols * 2);
    float *x = malloc((size_t)T * cols * 4), *yb = malloc((size_t)T * rows * 4),
          *y1 = malloc((size_t)rows * 4);
    for (int i = 0; i < rows * cols; i++) w[i] = sa_f32_to_bf16(frand(&seed));
    for (int i = 0; i < T * cols; i++) x[i] = frand(&seed);
    sa_pool *pool = sa_pool_create(2);
    sa_mm_ctx c;
    sa_mm_ctx_init(&c, pool, cols);
    c.gemm_min_t = kernel_min_t;
    sa_wmat wm = {w, SA_BF16, rows, cols};
    sa_matmul(&c, &wm, x, T, yb);
    int same = 1;
    for (int t = 0; t < T; t++) {
        sa_matmul(&c, &wm, x + (size_t)t * cols, 1, y1);
        for (int r = 0; r < rows; r++) same &= y1[r] == yb[(size_t)t * rows + r];
    }
    CHECK_MSG(same, "kernel path, T=%d: batched and single-row products differ", T);
    c.gemm_min_t = 1;
    sa_matmul(&c, &wm, x, T, yb);
    same = 1;
    for (int t = 0; t < T; t++) {
        sa_matmul(&c, &wm, x + (size_t)t * cols, 1, y1);
        for (int r = 0; r < rows; r++) same &= y1[r] == yb[(size_t)t * rows + r];
    }
    CHECK_MSG(same, "packed path, T=%d: batched and single-row products differ", T);
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
    sa_mm_ctx_init(&c, pool, COLS);
    int Ts[3] = {1, 5, TMAX}; /* TMAX >= SA_MM_GEMM_MIN_T: the packed path */
    for (int k = 0; k < 3; k++) {
        int T = Ts[k], same = 1;
        sa_matmul_multi(&c, 3, wp, x, T, ym);
        for (int m = 0; m < 3; m++) {
            sa_matmul(&c, &wm[m], x, T, ys);
            for (int i = 0; i < T * rows[m]; i++) same &= ys[i] == ym[m][i];
        }
        CHECK_MSG(same, "T=%d: sa_matmul_multi differs from separate products", T);
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

int main(void) {
    test_matmul();
    test_batch_identity(7, SA_MM_GEMM_MIN_T);
    test_batch_identity(SA_MM_PART_ROWS + 7, 1 << 30);
    test_multi();
    test_sampler();
    return CHECK_DONE();
}
