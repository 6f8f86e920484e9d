/* gemm_impl.h: the packed product of gemm.h, written once for every kernel set; a set's file
 * (gemm_avx2.c, gemm_avx512.c) defines MR, NR, KC, the function names and its micro-kernel
 * `micro`, then includes this (internal; never included anywhere else).
 *
 * For each KC-column block of the weight rows [n0, n0 + nn):
 * 1. pack: widen the block's rows to float32 and transpose them into panels of NR rows, each laid
 *    out [k][NR] so that one k step of a panel is NR / 8 aligned 8-float vectors (rows past nn are
 *    zeros). The packed block is used right away, from L1/L2.
 * 2. for each panel, for each group of up to MR activation rows (packed by PACK_X_FN, the MR
 *    values of a column adjacent): the micro-kernel broadcasts x[t][k], multiplies it with the
 *    panel's vectors and accumulates an MR x NR tile, then stores the tile (first block) or adds
 *    it to y (later ones). The panel stays in L1 while the activation groups stream from L2.
 *
 * Expects: GEMM_MR (4 or 8), GEMM_NR (a multiple of 8), GEMM_KC, BLOCK_FN, PACK_X_FN, and
 * static void micro(int mr, int kc, const float *xg, const float *panel, float *y, size_t ldy,
 * int nc, int acc), always inlined, that does the step-2 tile for mr <= GEMM_MR rows. */
#include "tensor/stored.h"

#include <string.h>

#ifdef __AVX2__
/* r[0..7] = rows of an 8x8 block; on return r[k] holds column k. */
static inline __attribute__((always_inline)) void transpose8(__m256 r[8]) {
    __m256 t[8], s[8];
    for (int i = 0; i < 4; i++) {
        t[2 * i] = _mm256_unpacklo_ps(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm256_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
    for (int h = 0; h < 2; h++) {
        __m256 *tt = t + 4 * h, *ss = s + 4 * h;
        ss[0] = _mm256_shuffle_ps(tt[0], tt[2], 0x44);
        ss[1] = _mm256_shuffle_ps(tt[0], tt[2], 0xEE);
        ss[2] = _mm256_shuffle_ps(tt[1], tt[3], 0x44);
        ss[3] = _mm256_shuffle_ps(tt[1], tt[3], 0xEE);
    }
    for (int i = 0; i < 4; i++) {
        r[i] = _mm256_permute2f128_ps(s[i], s[i + 4], 0x20);
        r[i + 4] = _mm256_permute2f128_ps(s[i], s[i + 4], 0x31);
    }
}

/* Pack 8 weight rows (rows[i] NULL past the end: zeros) x kc columns into dst[k*NR + 0..7]. */
static inline __attribute__((always_inline)) void pack8(const unsigned char *const rows[8],
                                                        sa_dtype dt, int kc, float *dst) {
    int k = 0;
    for (; k + 8 <= kc; k += 8) {
        __m256 r[8];
        for (int i = 0; i < 8; i++)
            r[i] = rows[i] ? sa_stored_load8(rows[i], k, dt) : _mm256_setzero_ps();
        transpose8(r);
        for (int j = 0; j < 8; j++) _mm256_store_ps(dst + (size_t)(k + j) * GEMM_NR, r[j]);
    }
    for (; k < kc; k++)
        for (int i = 0; i < 8; i++)
            dst[(size_t)k * GEMM_NR + i] = rows[i] ? sa_stored_elem(rows[i], k, dt) : 0.0f;
}
#else
static inline void pack8(const unsigned char *const rows[8], sa_dtype dt, int kc, float *dst) {
    for (int k = 0; k < kc; k++)
        for (int i = 0; i < 8; i++)
            dst[(size_t)k * GEMM_NR + i] = rows[i] ? sa_stored_elem(rows[i], k, dt) : 0.0f;
}
#endif

/* Columns [k0, k0 + kc) of weight rows [n0, n0 + nn) into dst: ceil(nn / NR) panels of [kc][NR]
 * floats. */
static void pack_block(const sa_wmat *w, int n0, int nn, int k0, int kc, float *dst) {
    size_t es = sa_stored_size(w->dtype), rb = (size_t)w->cols * es;
    const unsigned char *base = (const unsigned char *)w->data + (size_t)k0 * es;
    for (int p = 0; p * GEMM_NR < nn; p++)
        for (int g = 0; g < GEMM_NR / 8; g++) {
            const unsigned char *rows[8];
            for (int i = 0; i < 8; i++) {
                int n = p * GEMM_NR + g * 8 + i;
                rows[i] = n < nn ? base + (size_t)(n0 + n) * rb : NULL;
            }
            pack8(rows, w->dtype, kc, dst + (size_t)p * kc * GEMM_NR + g * 8);
        }
}

/* Store (or add, when acc) a tile held as tile[r][0..NR) into y rows of stride ldy, nc columns. */
static inline void store_tile(const float *tile, int mr, int nc, float *y, size_t ldy, int acc) {
    for (int r = 0; r < mr; r++)
        for (int j = 0; j < nc; j++) {
            float *o = y + (size_t)r * ldy + j;
            *o = acc ? *o + tile[r * GEMM_NR + j] : tile[r * GEMM_NR + j];
        }
}

/* One panel against all T activation rows, a packed group of up to MR at a time (the panel stays
 * in L1, the groups stream from L2). xp points at column k0 of group 0; groups are gs apart. The
 * switch gives the micro-kernel a constant row count for every leftover. */
static void panel_rows(int kc, const float *xp, size_t gs, int T, const float *panel, float *y,
                       size_t ldy, int nc, int acc) {
    int t = 0;
    for (; t + GEMM_MR <= T; t += GEMM_MR)
        micro(GEMM_MR, kc, xp + t / GEMM_MR * gs, panel, y + t * ldy, ldy, nc, acc);
    const float *xg = xp + t / GEMM_MR * gs;
    float *yt = y + t * ldy;
    switch (T - t) {
#if GEMM_MR > 4
    case 7:
        micro(7, kc, xg, panel, yt, ldy, nc, acc);
        break;
    case 6:
        micro(6, kc, xg, panel, yt, ldy, nc, acc);
        break;
    case 5:
        micro(5, kc, xg, panel, yt, ldy, nc, acc);
        break;
    case 4:
        micro(4, kc, xg, panel, yt, ldy, nc, acc);
        break;
#endif
    case 3:
        micro(3, kc, xg, panel, yt, ldy, nc, acc);
        break;
    case 2:
        micro(2, kc, xg, panel, yt, ldy, nc, acc);
        break;
    case 1:
        micro(1, kc, xg, panel, yt, ldy, nc, acc);
        break;
    default:
        break;
    }
}

void BLOCK_FN(const sa_wmat *w, int n0, int nn, const float *xp, int T, float *y, float *scratch) {
    size_t gs = (size_t)w->cols * GEMM_MR, ldy = (size_t)w->rows;
    int panels = (nn + GEMM_NR - 1) / GEMM_NR;
    for (int k0 = 0; k0 < w->cols; k0 += GEMM_KC) {
        int kc = w->cols - k0 < GEMM_KC ? w->cols - k0 : GEMM_KC;
        pack_block(w, n0, nn, k0, kc, scratch);
        for (int p = 0; p < panels; p++) {
            int nc = nn - p * GEMM_NR < GEMM_NR ? nn - p * GEMM_NR : GEMM_NR;
            panel_rows(kc, xp + (size_t)k0 * GEMM_MR, gs, T, scratch + (size_t)p * kc * GEMM_NR,
                       y + n0 + p * GEMM_NR, ldy, nc, k0 > 0);
        }
    }
}

/* Rows of one group (NULL past T: zeros), columns [0, cols), into dst laid out [cols][MR]. */
static void pack_x_group(const float *const rows[GEMM_MR], int cols, float *dst) {
    int k = 0;
#ifdef __AVX2__
#if GEMM_MR == 4
    for (; k + 4 <= cols; k += 4) {
        __m128 r[4];
        for (int i = 0; i < 4; i++) r[i] = rows[i] ? _mm_loadu_ps(rows[i] + k) : _mm_setzero_ps();
        _MM_TRANSPOSE4_PS(r[0], r[1], r[2], r[3]);
        for (int j = 0; j < 4; j++) _mm_storeu_ps(dst + (size_t)(k + j) * 4, r[j]);
    }
#else
    for (; k + 8 <= cols; k += 8) {
        __m256 r[8];
        for (int i = 0; i < 8; i++)
            r[i] = rows[i] ? _mm256_loadu_ps(rows[i] + k) : _mm256_setzero_ps();
        transpose8(r);
        for (int j = 0; j < 8; j++) _mm256_storeu_ps(dst + (size_t)(k + j) * 8, r[j]);
    }
#endif
#endif
    for (; k < cols; k++)
        for (int i = 0; i < GEMM_MR; i++)
            dst[(size_t)k * GEMM_MR + i] = rows[i] ? rows[i][k] : 0.0f;
}

void PACK_X_FN(const float *x, int T, int cols, float *xp) {
    for (int t = 0; t < T; t += GEMM_MR) {
        const float *rows[GEMM_MR];
        for (int i = 0; i < GEMM_MR; i++) rows[i] = t + i < T ? x + (size_t)(t + i) * cols : NULL;
        pack_x_group(rows, cols, xp + (size_t)t * cols);
    }
}
