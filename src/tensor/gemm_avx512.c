/* gemm_avx512.c: the packed product (gemm.h, gemm_impl.h) for the avx512 sets: 8 x 48 tiles with
 * 24 16-lane FMA accumulators (of the 32 registers) over 128-column panels (24 KiB, in L1; 256
 * columns would fill a 48 KiB L1 alone). Per column step: 3 panel loads, 8 broadcasts and 24
 * FMAs, enough for two FMA pipes. */
#include "tensor/gemm.h"

#ifdef SA_HAVE_AVX512
#include <immintrin.h>

#define GEMM_MR SA_GEMM_AVX512_MR
#define GEMM_NR SA_GEMM_AVX512_NR
#define GEMM_KC SA_GEMM_AVX512_KC
#define BLOCK_FN sa_gemm_block_avx512
#define PACK_X_FN sa_gemm_pack_x_avx512

/* y[r][0..nc) (+)= sum_k xg[k][r] * panel[k][0..nc) for r < MR (xg: one packed group); columns
 * past nc are masked off at the store. */
static inline __attribute__((always_inline)) void micro(const int MR, int kc, const float *xg,
                                                        const float *panel, float *y, size_t ldy,
                                                        int nc, int acc) {
    __m512 c[GEMM_MR][3];
#pragma GCC unroll 32
    for (int r = 0; r < MR; r++) c[r][0] = c[r][1] = c[r][2] = _mm512_setzero_ps();
    for (int k = 0; k < kc; k++) {
        const float *b = panel + (size_t)k * GEMM_NR;
        __m512 b0 = _mm512_load_ps(b), b1 = _mm512_load_ps(b + 16), b2 = _mm512_load_ps(b + 32);
        __asm__("" : "+v"(b0), "+v"(b1), "+v"(b2)); /* loads once, not folded into each FMA */
#pragma GCC unroll 32
        for (int r = 0; r < MR; r++) {
            __m512 a = _mm512_set1_ps(xg[(size_t)k * GEMM_MR + r]);
            c[r][0] = _mm512_fmadd_ps(a, b0, c[r][0]);
            c[r][1] = _mm512_fmadd_ps(a, b1, c[r][1]);
            c[r][2] = _mm512_fmadd_ps(a, b2, c[r][2]);
        }
    }
#pragma GCC unroll 32
    for (int v = 0; v < 3; v++) {
        int n = nc - 16 * v;
        if (n <= 0) break;
        __mmask16 m = n >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << n) - 1);
#pragma GCC unroll 32
        for (int r = 0; r < MR; r++) {
            float *o = y + (size_t)r * ldy + 16 * v;
            __m512 s = acc ? _mm512_add_ps(_mm512_maskz_loadu_ps(m, o), c[r][v]) : c[r][v];
            _mm512_mask_storeu_ps(o, m, s);
        }
    }
}

#include "tensor/gemm_impl.h"
#endif
