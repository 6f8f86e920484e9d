/* gemm.c: the packed matrix product of gemm.h.
 *
 * For each SA_GEMM_KC-column block of the weight rows [n0, n0 + nn):
 * 1. pack: widen the block's rows to float32 and transpose them into panels of SA_GEMM_NR rows,
 *    each laid out [k][24] so that one k step of a panel is three aligned vectors (rows past nn
 *    are zeros). The packed block (48 KiB at most) is used right away, from L1/L2.
 * 2. for each panel, for each group of up to 4 activation rows (packed by sa_gemm_pack_x, the
 *    four values of a column adjacent): the micro-kernel broadcasts x[t][k], multiplies it with
 *    the panel's three vectors and accumulates a 4 x 24 tile, then stores the tile (first block)
 *    or adds it to y (later ones). The 24 KiB panel stays in L1 while the activation groups
 *    stream from L2. */
#include "tensor/gemm.h"

#include "tensor/stored.h"

#include <string.h>

#ifdef __AVX2__
#include <immintrin.h>
#endif

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
        for (int j = 0; j < 8; j++) _mm256_store_ps(dst + (size_t)(k + j) * SA_GEMM_NR, r[j]);
    }
    for (; k < kc; k++)
        for (int i = 0; i < 8; i++)
            dst[(size_t)k * SA_GEMM_NR + i] = rows[i] ? sa_stored_elem(rows[i], k, dt) : 0.0f;
}
#else
static inline void pack8(const unsigned char *const rows[8], sa_dtype dt, int kc, float *dst) {
    for (int k = 0; k < kc; k++)
        for (int i = 0; i < 8; i++)
            dst[(size_t)k * SA_GEMM_NR + i] = rows[i] ? sa_stored_elem(rows[i], k, dt) : 0.0f;
}
#endif

/* Columns [k0, k0 + kc) of weight rows [n0, n0 + nn) into dst: ceil(nn / NR) panels of [kc][NR]
 * floats. */
static void pack_block(const sa_wmat *w, int n0, int nn, int k0, int kc, float *dst) {
    size_t es = sa_stored_size(w->dtype), rb = (size_t)w->cols * es;
    const unsigned char *base = (const unsigned char *)w->data + (size_t)k0 * es;
    for (int p = 0; p * SA_GEMM_NR < nn; p++)
        for (int g = 0; g < SA_GEMM_NR / 8; g++) {
            const unsigned char *rows[8];
            for (int i = 0; i < 8; i++) {
                int n = p * SA_GEMM_NR + g * 8 + i;
                rows[i] = n < nn ? base + (size_t)(n0 + n) * rb : NULL;
            }
            pack8(rows, w->dtype, kc, dst + (size_t)p * kc * SA_GEMM_NR + g * 8);
        }
}

/* Store (or add, when acc) a tile held as tile[r][0..NR) into y rows of stride ldy, nc columns. */
static inline void store_tile(const float *tile, int mr, int nc, float *y, size_t ldy, int acc) {
    for (int r = 0; r < mr; r++)
        for (int j = 0; j < nc; j++) {
            float *o = y + (size_t)r * ldy + j;
            *o = acc ? *o + tile[r * SA_GEMM_NR + j] : tile[r * SA_GEMM_NR + j];
        }
}

#ifdef __AVX2__
/* y[r][0..nc) (+)= sum_k xg[k][r] * panel[k][0..nc) for r < MR (xg: one packed group). */
static inline __attribute__((always_inline)) void micro(const int MR, int kc, const float *xg,
                                                        const float *panel, float *y, size_t ldy,
                                                        int nc, int acc) {
    __m256 c[SA_GEMM_MR][3];
    for (int r = 0; r < MR; r++) c[r][0] = c[r][1] = c[r][2] = _mm256_setzero_ps();
    for (int k = 0; k < kc; k++) {
        const float *b = panel + (size_t)k * SA_GEMM_NR;
        __m256 b0 = _mm256_load_ps(b), b1 = _mm256_load_ps(b + 8), b2 = _mm256_load_ps(b + 16);
        /* keep the panel vectors in registers: gcc otherwise folds a load into every FMA, which
         * makes the loop bound by loads (16 instead of 7 per step) */
        __asm__("" : "+x"(b0), "+x"(b1), "+x"(b2));
        for (int r = 0; r < MR; r++) {
            __m256 a = _mm256_broadcast_ss(xg + (size_t)k * SA_GEMM_MR + r);
            c[r][0] = _mm256_fmadd_ps(a, b0, c[r][0]);
            c[r][1] = _mm256_fmadd_ps(a, b1, c[r][1]);
            c[r][2] = _mm256_fmadd_ps(a, b2, c[r][2]);
        }
    }
    if (nc == SA_GEMM_NR) {
        for (int r = 0; r < MR; r++)
            for (int v = 0; v < 3; v++) {
                float *o = y + (size_t)r * ldy + 8 * v;
                __m256 s = acc ? _mm256_add_ps(_mm256_loadu_ps(o), c[r][v]) : c[r][v];
                _mm256_storeu_ps(o, s);
            }
        return;
    }
    float tile[SA_GEMM_MR * SA_GEMM_NR];
    for (int r = 0; r < MR; r++)
        for (int v = 0; v < 3; v++) _mm256_storeu_ps(tile + r * SA_GEMM_NR + 8 * v, c[r][v]);
    store_tile(tile, MR, nc, y, ldy, acc);
}
#else
static inline void micro(const int MR, int kc, const float *xg, const float *panel, float *y,
                         size_t ldy, int nc, int acc) {
    float tile[SA_GEMM_MR * SA_GEMM_NR] = {0};
    for (int k = 0; k < kc; k++)
        for (int r = 0; r < MR; r++)
            for (int j = 0; j < SA_GEMM_NR; j++)
                tile[r * SA_GEMM_NR + j] += xg[k * SA_GEMM_MR + r] * panel[k * SA_GEMM_NR + j];
    store_tile(tile, MR, nc, y, ldy, acc);
}
#endif

/* One panel against all T activation rows, a packed group of up to 4 at a time (the panel stays
 * in L1, the groups stream from L2). xp points at column k0 of group 0; groups are gs apart. */
static void panel_rows(int kc, const float *xp, size_t gs, int T, const float *panel, float *y,
                       size_t ldy, int nc, int acc) {
    int t = 0;
    for (; t + 4 <= T; t += 4) micro(4, kc, xp + t / 4 * gs, panel, y + t * ldy, ldy, nc, acc);
    const float *xg = xp + t / 4 * gs;
    float *yt = y + t * ldy;
    switch (T - t) {
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

void sa_gemm_block(const sa_wmat *w, int n0, int nn, const float *xp, int T, float *y,
                   float *scratch) {
    size_t gs = (size_t)w->cols * SA_GEMM_MR, ldy = (size_t)w->rows;
    int panels = (nn + SA_GEMM_NR - 1) / SA_GEMM_NR;
    for (int k0 = 0; k0 < w->cols; k0 += SA_GEMM_KC) {
        int kc = w->cols - k0 < SA_GEMM_KC ? w->cols - k0 : SA_GEMM_KC;
        pack_block(w, n0, nn, k0, kc, scratch);
        for (int p = 0; p < panels; p++) {
            int nc = nn - p * SA_GEMM_NR < SA_GEMM_NR ? nn - p * SA_GEMM_NR : SA_GEMM_NR;
            panel_rows(kc, xp + (size_t)k0 * SA_GEMM_MR, gs, T,
                       scratch + (size_t)p * kc * SA_GEMM_NR, y + n0 + p * SA_GEMM_NR, ldy, nc,
                       k0 > 0);
        }
    }
}

/* Rows r0 .. r0+3 of x (NULL past T: zeros), columns [0, cols), into dst laid out [cols][4]. */
static void pack_x_group(const float *const rows[4], int cols, float *dst) {
    int k = 0;
#ifdef __AVX2__
    for (; k + 4 <= cols; k += 4) {
        __m128 r[4];
        for (int i = 0; i < 4; i++) r[i] = rows[i] ? _mm_loadu_ps(rows[i] + k) : _mm_setzero_ps();
        _MM_TRANSPOSE4_PS(r[0], r[1], r[2], r[3]);
        for (int j = 0; j < 4; j++) _mm_storeu_ps(dst + (size_t)(k + j) * 4, r[j]);
    }
#endif
    for (; k < cols; k++)
        for (int i = 0; i < 4; i++) dst[(size_t)k * 4 + i] = rows[i] ? rows[i][k] : 0.0f;
}

void sa_gemm_pack_x(const float *x, int T, int cols, float *xp) {
    _Static_assert(SA_GEMM_MR == 4, "pack_x_group packs groups of 4 rows");
    for (int t = 0; t < T; t += SA_GEMM_MR) {
        const float *rows[4];
        for (int i = 0; i < 4; i++) rows[i] = t + i < T ? x + (size_t)(t + i) * cols : NULL;
        pack_x_group(rows, cols, xp + (size_t)t * cols);
    }
}
