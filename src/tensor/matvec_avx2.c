/* matvec_avx2.c: the matrix-vector kernel of the avx2 set (few activation rows: decoding and
 * small batches; matmul.h describes the two paths, kernels.h the set's table).
 *
 * The kernel computes a tile of up to 4 weight rows x up to 3 activation rows with AVX2
 * accumulators. F16 and F32 rows are read 8 columns at a time (F16 widened with F16C); a 4 x 3
 * tile then does 12 FMAs per step. BF16 rows are read 16 columns (32 bytes) at a time: each
 * 32-bit lane holds two columns, the even one becomes float32 by a shift and the odd one by a mask,
 * and the activations are read permuted to match (the 8 even columns of each 16, then the 8 odd
 * ones; permuted once per call by sa_mv_prep_avx2). The zero-extension this replaces ran on the
 * same two vector pipes as the shift and bounded the kernel (bench/engine.md); with it gone a
 * 4 x 2 tile is the fastest shape. A task's rows are read as four strided streams (see
 * DEFINE_BLOCK). Every output element is accumulated lane-wise over the columns in the same
 * order and reduced in the same fixed order whatever the tile shape, task or job, which is what
 * makes batched and unbatched rows bit-identical. Without AVX2 (non-x86 builds) the same
 * summation structure runs in portable C. */
#include "tensor/kernels.h"
#include "tensor/stored.h"

#include <string.h>

#ifdef __AVX2__
#include <immintrin.h>
#endif

#ifdef __AVX2__
static inline float hsum8(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
    return _mm_cvtss_f32(s);
}

/* y[c*ldy + r*ys] = dot(W row r, x row c) for r < NR, c < NX; row r starts at w + r*stride. */
static inline __attribute__((always_inline)) void tile(const unsigned char *w, size_t stride,
                                                       sa_dtype dt, const int NR, const float *x,
                                                       int cols, const int NX, float *y, int ys,
                                                       int ldy) {
    __m256 acc[4][3];
    for (int r = 0; r < NR; r++)
        for (int c = 0; c < NX; c++) acc[r][c] = _mm256_setzero_ps();
    int n8 = cols & ~7;
    for (int i = 0; i < n8; i += 8) {
        __m256 xv[3];
        for (int c = 0; c < NX; c++) {
            xv[c] = _mm256_loadu_ps(x + (size_t)c * cols + i);
            /* keep it in a register: gcc otherwise folds the load into each of the NR FMAs, and
             * the loop becomes bound by loads (16 instead of 7 per step). Not the third row of a
             * 4 x 3 tile: 12 accumulators + 3 rows + the weight vector need all 16 registers,
             * gcc then keeps one accumulator on the stack, and the store-to-load round trip on
             * it bounds the whole loop (it ran at ~35 % of the FMA throughput) */
            if (!(NR == 4 && c == 2)) __asm__("" : "+x"(xv[c]));
        }
        for (int r = 0; r < NR; r++) {
            __m256 wv = sa_stored_load8(w + r * stride, i, dt);
            for (int c = 0; c < NX; c++) acc[r][c] = _mm256_fmadd_ps(wv, xv[c], acc[r][c]);
        }
    }
    for (int r = 0; r < NR; r++)
        for (int c = 0; c < NX; c++) {
            float s = hsum8(acc[r][c]);
            for (int i = n8; i < cols; i++)
                s += sa_stored_elem(w + r * stride, i, dt) * x[(size_t)c * cols + i];
            y[(size_t)c * ldy + (size_t)r * ys] = s;
        }
}

/* The BF16 tile: y[c*ldy + r*ys] = dot(W row r, x row c) for r < NR, c < NX, with x permuted
 * per 16 columns (sa_mv_prep_avx2). Lane l of an accumulator adds, for every 16 columns i,
 * column i+2l then column i+2l+1; columns past the last 16 are added after the reduction. */
static inline __attribute__((always_inline)) void tile_bf16(const unsigned char *w, size_t stride,
                                                            const int NR, const float *x, int cols,
                                                            const int NX, float *y, int ys,
                                                            int ldy) {
    __m256 acc[4][3];
    const __m256i odd = _mm256_set1_epi32((int)0xFFFF0000u);
    for (int r = 0; r < NR; r++)
        for (int c = 0; c < NX; c++) acc[r][c] = _mm256_setzero_ps();
    int n16 = cols & ~15;
    for (int i = 0; i < n16; i += 16) {
        __m256 xe[3], xo[3];
        for (int c = 0; c < NX; c++) {
            xe[c] = _mm256_loadu_ps(x + (size_t)c * cols + i);
            xo[c] = _mm256_loadu_ps(x + (size_t)c * cols + i + 8);
            /* keep rows 0 and 1 in registers (gcc would fold the loads into every FMA); row 2
             * does not fit next to 9 accumulators and comes from L1 with each FMA */
            if (c < 2) __asm__("" : "+x"(xe[c]), "+x"(xo[c]));
        }
        for (int r = 0; r < NR; r++) {
            __m256i v = _mm256_loadu_si256((const __m256i *)(const void *)(w + r * stride + 2 * i));
            __m256 we = _mm256_castsi256_ps(_mm256_slli_epi32(v, 16));
            __m256 wo = _mm256_castsi256_ps(_mm256_and_si256(v, odd));
            for (int c = 0; c < NX; c++) {
                acc[r][c] = _mm256_fmadd_ps(we, xe[c], acc[r][c]);
                acc[r][c] = _mm256_fmadd_ps(wo, xo[c], acc[r][c]);
            }
        }
    }
    for (int r = 0; r < NR; r++)
        for (int c = 0; c < NX; c++) {
            float s = hsum8(acc[r][c]);
            for (int i = n16; i < cols; i++)
                s += sa_stored_elem(w + r * stride, i, SA_BF16) * x[(size_t)c * cols + i];
            y[(size_t)c * ldy + (size_t)r * ys] = s;
        }
}

/* x rows [0, T) of `cols` floats into dst, each 16-column block as its 8 even columns then its 8
 * odd ones (the order tile_bf16 reads); the columns past the last 16 keep their places. */
void sa_mv_prep_avx2(const float *x, int T, int cols, float *dst) {
    int n16 = cols & ~15;
    for (int t = 0; t < T; t++) {
        const float *s = x + (size_t)t * cols;
        float *d = dst + (size_t)t * cols;
        for (int i = 0; i < n16; i += 16) {
            __m256 a = _mm256_loadu_ps(s + i), b = _mm256_loadu_ps(s + i + 8);
            /* shuffle picks a0 a2 b0 b2 | a4 a6 b4 b6; the 64-bit permute restores the order */
            __m256 e = _mm256_shuffle_ps(a, b, 0x88), o = _mm256_shuffle_ps(a, b, 0xDD);
            _mm256_storeu_ps(d + i,
                             _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(e), 0xD8)));
            _mm256_storeu_ps(d + i + 8,
                             _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(o), 0xD8)));
        }
        memcpy(d + n16, s + n16, (size_t)(cols - n16) * sizeof *d);
    }
}

/* Up to 3 activation rows against nrows weight rows. The rows are read as four streams: tile j
 * takes rows j, j+q, j+2q and j+3q (q = nrows / 4), so the hardware prefetchers see four long
 * sequential reads. Tiles of four adjacent rows instead read four short runs that restart every
 * tile, which ran at 60 % of this speed for rows 768 wide (bench/engine.md). */
#define TILE_NX(DT, NR, WP, STRIDE, YP, YS)                                                        \
    do {                                                                                           \
        if (nx == 3)                                                                               \
            tile(WP, STRIDE, DT, NR, x, cols, 3, YP, YS, ldy);                                     \
        else if (nx == 2)                                                                          \
            tile(WP, STRIDE, DT, NR, x, cols, 2, YP, YS, ldy);                                     \
        else                                                                                       \
            tile(WP, STRIDE, DT, NR, x, cols, 1, YP, YS, ldy);                                     \
    } while (0)
#define DEFINE_BLOCK(NAME, DT)                                                                     \
    static void NAME(const unsigned char *w, size_t rb, int nrows, const float *x, int cols,       \
                     int nx, float *y, int ldy) {                                                  \
        int q = nrows / 4;                                                                         \
        for (int j = 0; j < q; j++) TILE_NX(DT, 4, w + j * rb, q * rb, y + j, q);                  \
        for (int r = 4 * q; r < nrows; r++) TILE_NX(DT, 1, w + r * rb, rb, y + r, 1);              \
    }
DEFINE_BLOCK(block_f16, SA_F16)
DEFINE_BLOCK(block_f32, SA_F32)

/* The same for BF16: a pass of 3 activation rows takes tiles of 3 weight rows (9 accumulators,
 * three streams), a pass of 1 or 2 rows tiles of 4 (8 accumulators at most, four streams). */
static void block_bf16(const unsigned char *w, size_t rb, int nrows, const float *x, int cols,
                       int nx, float *y, int ldy) {
    int nr = nx == 3 ? 3 : 4, q = nrows / nr;
    for (int j = 0; j < q; j++) {
        const unsigned char *wj = w + j * rb;
        if (nx == 3)
            tile_bf16(wj, q * rb, 3, x, cols, 3, y + j, q, ldy);
        else if (nx == 2)
            tile_bf16(wj, q * rb, 4, x, cols, 2, y + j, q, ldy);
        else
            tile_bf16(wj, q * rb, 4, x, cols, 1, y + j, q, ldy);
    }
    for (int r = nr * q; r < nrows; r++) {
        if (nx == 3)
            tile_bf16(w + r * rb, rb, 1, x, cols, 3, y + r, 1, ldy);
        else if (nx == 2)
            tile_bf16(w + r * rb, rb, 1, x, cols, 2, y + r, 1, ldy);
        else
            tile_bf16(w + r * rb, rb, 1, x, cols, 1, y + r, 1, ldy);
    }
}

/* Activation rows in the pass of the kernel that starts at row t of T: 3 (the rest, when fewer).
 * BF16 passes of 1 row cost almost as much as passes of 2 or 3, so there T is split into 3s and 2s
 * (4 left: 2 + 2), and only T = 1 has a single row. */
static int kernel_group(sa_dtype dt, int t, int T) {
    int left = T - t;
    if (dt == SA_BF16 && left == 4) return 2;
    return left < 3 ? left : 3;
}

/* Rows [r0, r0+nrows) of W against x rows [0, T), in groups of kernel_group(); for BF16 x is the
 * permuted copy (sa_mv_prep_avx2). */
void sa_mv_rows_avx2(const sa_wmat *w, int r0, int nrows, const float *x, int T, float *y) {
    size_t rb = (size_t)w->cols * sa_stored_size(w->dtype);
    const unsigned char *wp = (const unsigned char *)w->data + (size_t)r0 * rb;
    for (int t = 0, nx; t < T; t += nx) {
        nx = kernel_group(w->dtype, t, T);
        const float *xt = x + (size_t)t * w->cols;
        float *yt = y + (size_t)t * w->rows + r0;
        if (w->dtype == SA_BF16)
            block_bf16(wp, rb, nrows, xt, w->cols, nx, yt, w->rows);
        else if (w->dtype == SA_F16)
            block_f16(wp, rb, nrows, xt, w->cols, nx, yt, w->rows);
        else
            block_f32(wp, rb, nrows, xt, w->cols, nx, yt, w->rows);
    }
}

#else
/* Portable fallback with the same per-element summation structure (8 lanes, fixed reduction;
 * for BF16 two columns per lane and step, x permuted as for the AVX2 kernel). */
void sa_mv_prep_avx2(const float *x, int T, int cols, float *dst) {
    int n16 = cols & ~15;
    for (int t = 0; t < T; t++) {
        const float *s = x + (size_t)t * cols;
        float *d = dst + (size_t)t * cols;
        for (int i = 0; i < n16; i += 16)
            for (int l = 0; l < 8; l++) d[i + l] = s[i + 2 * l], d[i + 8 + l] = s[i + 2 * l + 1];
        memcpy(d + n16, s + n16, (size_t)(cols - n16) * sizeof *d);
    }
}

void sa_mv_rows_avx2(const sa_wmat *w, int r0, int nrows, const float *x, int T, float *y) {
    size_t rb = (size_t)w->cols * sa_stored_size(w->dtype);
    int bf16 = w->dtype == SA_BF16, step = bf16 ? 16 : 8, n = w->cols / step * step;
    for (int t = 0; t < T; t++)
        for (int r = r0; r < r0 + nrows; r++) {
            const unsigned char *wr = (const unsigned char *)w->data + (size_t)r * rb;
            const float *xt = x + (size_t)t * w->cols;
            float lane[8] = {0};
            for (int i = 0; i < n; i += step)
                for (int l = 0; l < 8; l++) {
                    if (!bf16) {
                        lane[l] += sa_stored_elem(wr, i + l, w->dtype) * xt[i + l];
                        continue;
                    }
                    lane[l] += sa_stored_elem(wr, i + 2 * l, w->dtype) * xt[i + l];
                    lane[l] += sa_stored_elem(wr, i + 2 * l + 1, w->dtype) * xt[i + 8 + l];
                }
            float s = ((lane[0] + lane[4]) + (lane[2] + lane[6])) +
                      ((lane[1] + lane[5]) + (lane[3] + lane[7]));
            for (int i = n; i < w->cols; i++) s += sa_stored_elem(wr, i, w->dtype) * xt[i];
            y[(size_t)t * w->rows + r] = s;
        }
}

#endif
