/* gemm.h: packed matrix product for many activation rows (prefill and batched decoding), one
 * version per kernel set (internal API; the sets' tables are in kernels.h).
 *
 * y[t][n] = sum_k x[t][k] * W[n][k] for a block of weight rows, with W in its stored dtype. The
 * weight block is widened and transposed once into float32 panels of NR rows x KC columns (the
 * "packing" of BLIS), each reused for every activation row; the activations are packed too, once
 * per product (sa_gemm_pack_x_*), into groups of MR rows interleaved column by column; a
 * micro-kernel then computes MR x NR tiles of y (gemm_impl.h). Every output is summed over k in
 * order within each KC block and the blocks are added in order, so the result depends neither on
 * T nor on how rows are split between threads; the two sets' KC differ, so their last bits do. */
#ifndef SA_TENSOR_GEMM_H
#define SA_TENSOR_GEMM_H

#include <stddef.h>

#include "tensor/matmul.h"

/* avx2: 4 x 24 tiles (12 accumulators of 8 lanes), 256-column panels (24 KiB, L1). */
#define SA_GEMM_AVX2_MR 4
#define SA_GEMM_AVX2_NR 24
#define SA_GEMM_AVX2_KC 256
#define SA_GEMM_AVX2_NC 48 /* weight rows per task (a multiple of NR) */
/* avx512: 8 x 48 tiles (24 accumulators of 16 lanes), 128-column panels (24 KiB, L1). */
#define SA_GEMM_AVX512_MR 8
#define SA_GEMM_AVX512_NR 48
#define SA_GEMM_AVX512_KC 128
#define SA_GEMM_AVX512_NC 96

/* Most activation rows per packed group over all sets, and the floats sa_gemm_pack_x_* writes for
 * T rows of cols (whole groups). */
#define SA_GEMM_MAX_MR 8
#define SA_GEMM_XPACK_FLOATS(T, cols)                                                              \
    (((size_t)(T) + SA_GEMM_MAX_MR - 1) / SA_GEMM_MAX_MR * SA_GEMM_MAX_MR * (size_t)(cols))

/* x [T][cols] into xp: group g (rows MR*g .. MR*g + MR-1) at xp + g*MR*cols, laid out [cols][MR]
 * (rows past T are zeros), so that the micro-kernel's activations of one column are adjacent.
 * Reading the rows cols floats apart instead put them all in the same L1 set whenever the row
 * length was a multiple of 4 KiB (2048 columns), evicting the weight panel (bench/engine.md). */
void sa_gemm_pack_x_avx2(const float *x, int T, int cols, float *xp);
void sa_gemm_pack_x_avx512(const float *x, int T, int cols, float *xp);

/* Rows [n0, n0 + nn) of W (nn <= NC) against the T rows packed in xp (of w->cols columns);
 * writes y[t*w->rows + n]. scratch: NC x KC floats, 64-byte aligned. */
void sa_gemm_block_avx2(const sa_wmat *w, int n0, int nn, const float *xp, int T, float *y,
                        float *scratch);
void sa_gemm_block_avx512(const sa_wmat *w, int n0, int nn, const float *xp, int T, float *y,
                          float *scratch);

#endif
