/* dot_bf16.c: the BF16-activation products of the avx512bf16 set (SA_PRECISION_BF16, BF16
 * weights): y[t][n] = sum_k bf16(x[t][k]) * W[n][k], with vdpbf16ps on the stored rows.
 *
 * The activations are rounded to BF16 once per product (vcvtneps2bf16: nearest even; the weights
 * are BF16 already), and each vdpbf16ps multiplies 32 pairs into 16 float32 lanes, twice the
 * products per instruction of a float32 FMA and with no widening: no packing either, the tiles
 * read the weight rows as stored (the dot-product form of llamafile's tinyBLAS).
 *
 * A tile is NR <= 4 weight rows x NX <= 6 activation rows (24 accumulators, 4 weight vectors and
 * one activation vector: 29 of the 32 registers). Up to STREAM_T activation rows (decoding, batched
 * decoding) each group of up to 6 runs its tiles over all columns at once, as four strided streams
 * like the matrix-vector kernel (the first group brings the rows from memory, the others find them
 * in L2). With more, a call holds at most SA_DOT_BF16_ROWS_MAX weight rows and walks
 * blocks of KB columns (the rows' block copied side by side: 16 KiB), groups of up to 6 activation
 * rows inside, tiles of 4 weight rows inside that; the accumulators of all rows wait in scratch
 * between column blocks, so the weights stay in L1 and each group is read from L2 once per block.
 * Every output's lanes add the same vdpbf16ps steps in column order (the columns past the last 32
 * as one masked step) and are reduced by _mm512_reduce_add_ps, whatever T, the grouping or the
 * task: batched and unbatched rows are bit-identical. */
#include "tensor/kernels.h"
#include "tensor/stored.h"

#ifdef SA_HAVE_AVX512
#include <assert.h>
#include <immintrin.h>
#include <string.h>

#define KB SA_DOT_BF16_KB /* columns per block (16 steps of 32) */
#define GROUP 6           /* activation rows per tile */
#define STREAM_T 24       /* up to this many activation rows, no column blocks (batched decoding) */

void sa_bf16_prep_avx512bf16(const float *x, int T, int cols, uint16_t *dst) {
    for (int t = 0; t < T; t++) {
        const float *s = x + (size_t)t * cols;
        uint16_t *d = dst + (size_t)t * SA_DOT_BF16_XSTRIDE(cols);
        for (int i = 0; i < cols; i += 16) {
            int left = cols - i < 16 ? cols - i : 16;
            __mmask16 m = (__mmask16)((1u << left) - 1);
            __m256bh h = _mm512_cvtneps_pbh(_mm512_maskz_loadu_ps(m, s + i));
            _mm256_mask_storeu_epi16(d + i, m, (__m256i)h);
        }
    }
}

/* n columns of NR weight rows (w, stride bytes apart) against NX activation rows (x, xs elements
 * apart). acc holds the tile's accumulators between blocks ([r][c] at acc + (r*TB + c)*16 floats):
 * read unless first; written unless last, when the sums go to y[c*ldy + r*ys] instead. */
static inline __attribute__((always_inline)) void tile(const unsigned char *w, size_t stride,
                                                       const int NR, const uint16_t *x, size_t xs,
                                                       const int NX, int n, float *acc, int first,
                                                       int last, float *y, int ys, int ldy) {
    __m512 a[4][GROUP];
#pragma GCC unroll 32
    for (int r = 0; r < NR; r++)
#pragma GCC unroll 32
        for (int c = 0; c < NX; c++)
            a[r][c] = first ? _mm512_setzero_ps()
                            : _mm512_load_ps(acc + ((size_t)r * SA_DOT_BF16_TB + c) * 16);
    for (int i = 0; i < n; i += 32) {
        int left = n - i < 32 ? n - i : 32;
        __mmask32 m = left == 32 ? (__mmask32)0xFFFFFFFFu : (__mmask32)((1u << left) - 1);
        __m512bh wv[4];
#pragma GCC unroll 32
        for (int r = 0; r < NR; r++)
            wv[r] = (__m512bh)(left == 32
                                   ? sa_load64(w + r * stride + 2 * (size_t)i)
                                   : _mm512_maskz_loadu_epi16(m, w + r * stride + 2 * (size_t)i));
#pragma GCC unroll 32
        for (int c = 0; c < NX; c++) {
            __m512bh xv = (__m512bh)_mm512_maskz_loadu_epi16(m, x + (size_t)c * xs + i);
#pragma GCC unroll 32
            for (int r = 0; r < NR; r++) a[r][c] = _mm512_dpbf16_ps(a[r][c], wv[r], xv);
        }
    }
#pragma GCC unroll 32
    for (int r = 0; r < NR; r++)
#pragma GCC unroll 32
        for (int c = 0; c < NX; c++) {
            if (last)
                y[(size_t)c * ldy + (size_t)r * ys] = _mm512_reduce_add_ps(a[r][c]);
            else
                _mm512_store_ps(acc + ((size_t)r * SA_DOT_BF16_TB + c) * 16, a[r][c]);
        }
}

/* tile() with a constant NX (1..6). */
static void tile_nx(const unsigned char *w, size_t stride, int NR, const uint16_t *x, size_t xs,
                    int nx, int n, float *acc, int first, int last, float *y, int ys, int ldy) {
#define TILE_CASE(R, C)                                                                            \
    case C:                                                                                        \
        tile(w, stride, R, x, xs, C, n, acc, first, last, y, ys, ldy);                             \
        break
    if (NR == 4) {
        switch (nx) {
            TILE_CASE(4, 6);
            TILE_CASE(4, 5);
            TILE_CASE(4, 4);
            TILE_CASE(4, 3);
            TILE_CASE(4, 2);
        default:
            tile(w, stride, 4, x, xs, 1, n, acc, first, last, y, ys, ldy);
        }
    } else {
        switch (nx) {
            TILE_CASE(1, 6);
            TILE_CASE(1, 5);
            TILE_CASE(1, 4);
            TILE_CASE(1, 3);
            TILE_CASE(1, 2);
        default:
            tile(w, stride, 1, x, xs, 1, n, acc, first, last, y, ys, ldy);
        }
    }
#undef TILE_CASE
}

/* Activation rows in the group that starts with `left` rows to go: groups of 6, the rest spread
 * evenly (13 = 5 + 4 + 4). */
static int group_rows(int left) {
    int groups = (left + GROUP - 1) / GROUP;
    return (left + groups - 1) / groups;
}

void sa_bf16_rows_avx512bf16(const sa_wmat *w, int r0, int nrows, const uint16_t *x, int T,
                             float *y, float *scratch) {
    size_t rb = (size_t)w->cols * 2, xs = SA_DOT_BF16_XSTRIDE(w->cols);
    const unsigned char *wp = (const unsigned char *)w->data + (size_t)r0 * rb;
    int cols = w->cols, ldy = w->rows, q = nrows / 4;
    float *yr = y + r0;
    if (T <= STREAM_T) { /* groups over whole rows, each reading them as four strided streams */
        for (int t = 0, nx; t < T; t += nx) {
            nx = group_rows(T - t);
            const uint16_t *xt = x + (size_t)t * xs;
            float *yt = yr + (size_t)t * ldy;
            for (int j = 0; j < q; j++)
                tile_nx(wp + j * rb, q * rb, 4, xt, xs, nx, cols, scratch, 1, 1, yt + j, q, ldy);
            for (int r = 4 * q; r < nrows; r++)
                tile_nx(wp + r * rb, rb, 1, xt, xs, nx, cols, scratch, 1, 1, yt + r, 1, ldy);
        }
        return;
    }
    assert(nrows <= SA_DOT_BF16_ROWS_MAX && T <= SA_DOT_BF16_TB);
    /* the block's weight rows side by side, KB columns apart (rows cols apart would put all of
     * them in one L1 set for 2048-column rows); copied once per block, the next block's lines
     * asked for in L2 meanwhile */
    unsigned char *wb =
        (unsigned char *)(scratch + (size_t)SA_DOT_BF16_ROWS_MAX * SA_DOT_BF16_TB * 16);
    for (int k0 = 0; k0 < cols; k0 += KB) {
        int n = cols - k0 < KB ? cols - k0 : KB, first = k0 == 0, last = k0 + n == cols;
        for (int r = 0; r < nrows; r++)
            memcpy(wb + (size_t)r * KB * 2, wp + r * rb + (size_t)k0 * 2, (size_t)n * 2);
        if (!last)
            for (int r = 0; r < nrows; r++)
                for (int i = 0; i < KB * 2; i += 64)
                    _mm_prefetch((const char *)(wp + r * rb + (size_t)(k0 + KB) * 2 + i),
                                 _MM_HINT_T1);
        for (int t = 0, nx; t < T; t += nx) {
            nx = group_rows(T - t);
            const uint16_t *xt = x + (size_t)t * xs + k0;
            float *yt = yr + (size_t)t * ldy;
            for (int r = 0, nr; r < nrows; r += nr) {
                nr = nrows - r >= 4 ? 4 : 1;
                float *acc = scratch + ((size_t)r * SA_DOT_BF16_TB + t) * 16;
                tile_nx(wb + (size_t)r * KB * 2, (size_t)KB * 2, nr, xt, xs, nx, n, acc, first,
                        last, yt + r, 1, ldy);
            }
        }
    }
}
#endif
