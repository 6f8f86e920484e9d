/* gemm_avx2.c: the packed product (gemm.h, gemm_impl.h) for the avx2 set: 4 x 24 tiles with 12
 * 8-lane FMA accumulators over 256-column panels (24 KiB, in L1). Without AVX2 (non-x86 builds)
 * the micro-kernel is portable C. */
#include "tensor/gemm.h"

#ifdef __AVX2__
#include <immintrin.h>
#endif

#define GEMM_MR SA_GEMM_AVX2_MR
#define GEMM_NR SA_GEMM_AVX2_NR
#define GEMM_KC SA_GEMM_AVX2_KC
#define BLOCK_FN sa_gemm_block_avx2
#define PACK_X_FN sa_gemm_pack_x_avx2

static inline void store_tile(const float *tile, int mr, int nc, float *y, size_t ldy, int acc);

#ifdef __AVX2__
/* y[r][0..nc) (+)= sum_k xg[k][r] * panel[k][0..nc) for r < MR (xg: one packed group). */
static inline __attribute__((always_inline)) void micro(const int MR, int kc, const float *xg,
                                                        const float *panel, float *y, size_t ldy,
                                                        int nc, int acc) {
    __m256 c[GEMM_MR][3];
    for (int r = 0; r < MR; r++) c[r][0] = c[r][1] = c[r][2] = _mm256_setzero_ps();
    for (int k = 0; k < kc; k++) {
        const float *b = panel + (size_t)k * GEMM_NR;
        __m256 b0 = _mm256_load_ps(b), b1 = _mm256_load_ps(b + 8), b2 = _mm256_load_ps(b + 16);
        /* keep the panel vectors in registers: gcc otherwise folds a load into every FMA, which
         * makes the loop bound by loads (16 instead of 7 per step) */
        __asm__("" : "+x"(b0), "+x"(b1), "+x"(b2));
        for (int r = 0; r < MR; r++) {
            __m256 a = _mm256_broadcast_ss(xg + (size_t)k * GEMM_MR + r);
            c[r][0] = _mm256_fmadd_ps(a, b0, c[r][0]);
            c[r][1] = _mm256_fmadd_ps(a, b1, c[r][1]);
            c[r][2] = _mm256_fmadd_ps(a, b2, c[r][2]);
        }
    }
    if (nc == GEMM_NR) {
        for (int r = 0; r < MR; r++)
            for (int v = 0; v < 3; v++) {
                float *o = y + (size_t)r * ldy + 8 * v;
                __m256 s = acc ? _mm256_add_ps(_mm256_loadu_ps(o), c[r][v]) : c[r][v];
                _mm256_storeu_ps(o, s);
            }
        return;
    }
    float tile[GEMM_MR * GEMM_NR];
    for (int r = 0; r < MR; r++)
        for (int v = 0; v < 3; v++) _mm256_storeu_ps(tile + r * GEMM_NR + 8 * v, c[r][v]);
    store_tile(tile, MR, nc, y, ldy, acc);
}
#else
static inline void micro(const int MR, int kc, const float *xg, const float *panel, float *y,
                         size_t ldy, int nc, int acc) {
    float tile[GEMM_MR * GEMM_NR] = {0};
    for (int k = 0; k < kc; k++)
        for (int r = 0; r < MR; r++)
            for (int j = 0; j < GEMM_NR; j++)
                tile[r * GEMM_NR + j] += xg[k * GEMM_MR + r] * panel[k * GEMM_NR + j];
    store_tile(tile, MR, nc, y, ldy, acc);
}
#endif

#include "tensor/gemm_impl.h"
