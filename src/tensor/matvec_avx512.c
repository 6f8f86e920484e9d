/* matvec_avx512.c: the matrix-vector kernel of the avx512 sets (few activation rows: decoding and
 * small batches), the AVX-512 counterpart of matvec_avx2.c (read that file first).
 *
 * Tiles of up to 4 weight rows x up to 4 activation rows, 16-lane accumulators (16 of the 32
 * registers at most). F32 and F16 rows are read 16 columns per step (F16 widened by vcvtph2ps);
 * BF16 rows 32 columns (64 bytes) per step, widened in place as in the avx2 kernel: in each 32-bit
 * lane the even column by a shift, the odd one by a mask, with the activations permuted per 32
 * columns to match (16 even, then 16 odd: sa_mv_prep_avx512). The columns past the last whole
 * step run as one more step with masked loads (zeros past the row), so there is no scalar tail.
 * A task's rows are read as four strided streams (matvec_avx2.c says why). Each output is
 * accumulated lane-wise in column order and reduced by _mm512_reduce_add_ps, the same for every
 * tile shape, task and group: batched and unbatched rows are bit-identical. */
#include "tensor/kernels.h"
#include "tensor/stored.h"

#ifdef SA_HAVE_AVX512
#include <immintrin.h>
#include <string.h>

/* BF16 rows are prefetched this many bytes ahead of the loads in each of the four streams (past a
 * row's end, the next row of the same stream): on the Zen 5 of bench/engine.md decoding then took
 * 1.10x less CPU time than with the hardware prefetchers alone (alternated runs); 512 and 1024
 * bytes were slower than none, 3 KiB about the same as 2. Prefetches change no result. */
#define PREFETCH_BYTES 2048

/* Columns [i, i + 16) of a stored F32 or F16 row, masked (zeros where m is clear). */
static inline __attribute__((always_inline)) __m512 load16(const unsigned char *row, int i,
                                                           sa_dtype dt, __mmask16 m) {
    if (dt == SA_F32)
        return m == (__mmask16)0xFFFF ? _mm512_castsi512_ps(sa_load64(row + 4 * (size_t)i))
                                      : _mm512_maskz_loadu_ps(m, row + 4 * (size_t)i);
    return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, row + 2 * (size_t)i));
}

/* y[c*ldy + r*ys] = dot(W row r, x row c) for r < NR, c < NX (F32 or F16 weights). */
static inline __attribute__((always_inline)) void tile(const unsigned char *w, size_t stride,
                                                       sa_dtype dt, const int NR, const float *x,
                                                       int cols, const int NX, float *y, int ys,
                                                       int ldy) {
    __m512 acc[4][4];
#pragma GCC unroll 32
    for (int r = 0; r < NR; r++)
#pragma GCC unroll 32
        for (int c = 0; c < NX; c++) acc[r][c] = _mm512_setzero_ps();
    for (int i = 0; i < cols; i += 16) {
        __mmask16 m = cols - i >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (cols - i)) - 1);
        __m512 xv[4];
#pragma GCC unroll 32
        for (int c = 0; c < NX; c++) {
            xv[c] = _mm512_maskz_loadu_ps(m, x + (size_t)c * cols + i);
            __asm__("" : "+v"(xv[c])); /* one load per row and step, not one per FMA */
        }
#pragma GCC unroll 32
        for (int r = 0; r < NR; r++) {
            __m512 wv = load16(w + r * stride, i, dt, m);
#pragma GCC unroll 32
            for (int c = 0; c < NX; c++) acc[r][c] = _mm512_fmadd_ps(wv, xv[c], acc[r][c]);
        }
    }
#pragma GCC unroll 32
    for (int r = 0; r < NR; r++)
#pragma GCC unroll 32
        for (int c = 0; c < NX; c++)
            y[(size_t)c * ldy + (size_t)r * ys] = _mm512_reduce_add_ps(acc[r][c]);
}

/* The BF16 tile, x permuted per 32 columns (sa_mv_prep_avx512): lane l of an accumulator adds,
 * for every 32 columns i, column i+2l then column i+2l+1. */
static inline __attribute__((always_inline)) void tile_bf16(const unsigned char *w, size_t stride,
                                                            const int NR, const float *x, int cols,
                                                            const int NX, float *y, int ys,
                                                            int ldy) {
    __m512 acc[4][4];
    const __m512i odd = _mm512_set1_epi32((int)0xFFFF0000u);
#pragma GCC unroll 32
    for (int r = 0; r < NR; r++)
#pragma GCC unroll 32
        for (int c = 0; c < NX; c++) acc[r][c] = _mm512_setzero_ps();
    for (int i = 0; i < cols; i += 32) {
        int left = cols - i < 32 ? cols - i : 32, ne = (left + 1) / 2, no = left / 2;
        __mmask32 mw = left == 32 ? (__mmask32)0xFFFFFFFFu : (__mmask32)((1u << left) - 1);
        __mmask16 me = (__mmask16)((1u << ne) - 1), mo = (__mmask16)((1u << no) - 1);
        __m512 xe[4], xo[4];
#pragma GCC unroll 32
        for (int c = 0; c < NX; c++) {
            xe[c] = _mm512_maskz_loadu_ps(me, x + (size_t)c * cols + i);
            xo[c] = _mm512_maskz_loadu_ps(mo, x + (size_t)c * cols + i + ne);
            __asm__("" : "+v"(xe[c]), "+v"(xo[c]));
        }
#pragma GCC unroll 32
        for (int r = 0; r < NR; r++) {
            const unsigned char *p = w + r * stride + 2 * (size_t)i;
            _mm_prefetch((const char *)p + PREFETCH_BYTES, _MM_HINT_T0);
            __m512i v = left == 32 ? sa_load64(p) : _mm512_maskz_loadu_epi16(mw, p);
            __m512 we = _mm512_castsi512_ps(_mm512_slli_epi32(v, 16));
            __m512 wo = _mm512_castsi512_ps(_mm512_and_si512(v, odd));
#pragma GCC unroll 32
            for (int c = 0; c < NX; c++) {
                acc[r][c] = _mm512_fmadd_ps(we, xe[c], acc[r][c]);
                acc[r][c] = _mm512_fmadd_ps(wo, xo[c], acc[r][c]);
            }
        }
    }
#pragma GCC unroll 32
    for (int r = 0; r < NR; r++)
#pragma GCC unroll 32
        for (int c = 0; c < NX; c++)
            y[(size_t)c * ldy + (size_t)r * ys] = _mm512_reduce_add_ps(acc[r][c]);
}

void sa_mv_prep_avx512(const float *x, int T, int cols, float *dst) {
    for (int t = 0; t < T; t++) {
        const float *s = x + (size_t)t * cols;
        float *d = dst + (size_t)t * cols;
        for (int i = 0; i < cols; i += 32) {
            int left = cols - i < 32 ? cols - i : 32, ne = (left + 1) / 2;
            for (int l = 0; 2 * l < left; l++) d[i + l] = s[i + 2 * l];
            for (int l = 0; 2 * l + 1 < left; l++) d[i + ne + l] = s[i + 2 * l + 1];
        }
    }
}

/* One tile call with constant NR and NX (NX <= 4). */
#define TILE(NR, WP, STRIDE, YP, YS)                                                               \
    do {                                                                                           \
        if (bf16) {                                                                                \
            if (nx == 4)                                                                           \
                tile_bf16(WP, STRIDE, NR, x, cols, 4, YP, YS, ldy);                                \
            else if (nx == 3)                                                                      \
                tile_bf16(WP, STRIDE, NR, x, cols, 3, YP, YS, ldy);                                \
            else if (nx == 2)                                                                      \
                tile_bf16(WP, STRIDE, NR, x, cols, 2, YP, YS, ldy);                                \
            else                                                                                   \
                tile_bf16(WP, STRIDE, NR, x, cols, 1, YP, YS, ldy);                                \
        } else if (dt == SA_F16) {                                                                 \
            if (nx == 4)                                                                           \
                tile(WP, STRIDE, SA_F16, NR, x, cols, 4, YP, YS, ldy);                             \
            else if (nx == 3)                                                                      \
                tile(WP, STRIDE, SA_F16, NR, x, cols, 3, YP, YS, ldy);                             \
            else if (nx == 2)                                                                      \
                tile(WP, STRIDE, SA_F16, NR, x, cols, 2, YP, YS, ldy);                             \
            else                                                                                   \
                tile(WP, STRIDE, SA_F16, NR, x, cols, 1, YP, YS, ldy);                             \
        } else {                                                                                   \
            if (nx == 4)                                                                           \
                tile(WP, STRIDE, SA_F32, NR, x, cols, 4, YP, YS, ldy);                             \
            else if (nx == 3)                                                                      \
                tile(WP, STRIDE, SA_F32, NR, x, cols, 3, YP, YS, ldy);                             \
            else if (nx == 2)                                                                      \
                tile(WP, STRIDE, SA_F32, NR, x, cols, 2, YP, YS, ldy);                             \
            else                                                                                   \
                tile(WP, STRIDE, SA_F32, NR, x, cols, 1, YP, YS, ldy);                             \
        }                                                                                          \
    } while (0)

/* nx activation rows against nrows weight rows, as four strided streams (tile j: rows j, j+q,
 * j+2q, j+3q), the rows past 4q one at a time. */
static void block(sa_dtype dt, const unsigned char *w, size_t rb, int nrows, const float *x,
                  int cols, int nx, float *y, int ldy) {
    int bf16 = dt == SA_BF16, q = nrows / 4;
    for (int j = 0; j < q; j++) TILE(4, w + j * rb, q * rb, y + j, q);
    for (int r = 4 * q; r < nrows; r++) TILE(1, w + r * rb, rb, y + r, 1);
}

void sa_mv_rows_avx512(const sa_wmat *w, int r0, int nrows, const float *x, int T, float *y) {
    size_t rb = (size_t)w->cols * sa_stored_size(w->dtype);
    const unsigned char *wp = (const unsigned char *)w->data + (size_t)r0 * rb;
    for (int t = 0, nx; t < T; t += nx) {
        int left = T - t, groups = (left + 3) / 4;
        nx = (left + groups - 1) / groups; /* groups of 4, the rest spread evenly */
        block(w->dtype, wp, rb, nrows, x + (size_t)t * w->cols, w->cols, nx,
              y + (size_t)t * w->rows + r0, w->rows);
    }
}
#endif
