/* gemm.h: packed matrix product for many activation rows (prefill and batched decoding).
 *
 * y[t][n] = sum_k x[t][k] * W[n][k] for a block of weight rows, with W in its stored dtype. The
 * weight block is widened and transposed once into float32 panels of SA_GEMM_NR rows x
 * SA_GEMM_KC columns (the "packing" of BLIS), each reused for every activation row; the
 * activations are packed too, once per product (sa_gemm_pack_x), into groups of SA_GEMM_MR rows
 * interleaved column by column; an AVX2 micro-kernel then computes 4 x 24 tiles of y with 12 FMA
 * accumulators. Every output is summed
 * over k in order within each SA_GEMM_KC block and the blocks are added in order, so the result
 * depends neither on T nor on how rows are split between threads (internal API). */
#ifndef SA_TENSOR_GEMM_H
#define SA_TENSOR_GEMM_H

#include <stddef.h>

#include "tensor/matmul.h"

#define SA_GEMM_MR 4   /* activation rows per micro-tile */
#define SA_GEMM_NR 24  /* weight rows per micro-tile (three 8-float vectors) */
#define SA_GEMM_KC 256 /* columns per packed block (a 24 KiB panel stays in L1) */
#define SA_GEMM_NC 48  /* weight rows per call of sa_gemm_block (one thread task) */
/* (NC must be a multiple of NR: the packed rows of a task fill whole panels.) */

/* Floats of scratch sa_gemm_block needs: one packed column block of NC rows. */
#define SA_GEMM_SCRATCH_FLOATS ((size_t)SA_GEMM_NC * SA_GEMM_KC)

/* Floats sa_gemm_pack_x writes for T rows of cols (whole groups of SA_GEMM_MR rows). */
#define SA_GEMM_XPACK_FLOATS(T, cols)                                                              \
    (((size_t)(T) + SA_GEMM_MR - 1) / SA_GEMM_MR * SA_GEMM_MR * (size_t)(cols))

/* x [T][cols] into xp: group g (rows 4g .. 4g+3) at xp + g*4*cols, laid out [cols][4] (rows past
 * T are zeros), so that the micro-kernel's four activations of one column are adjacent. Reading
 * four rows cols floats apart instead put all four in the same L1 set whenever the row length was
 * a multiple of 4 KiB (2048 columns), evicting the weight panel (bench/engine.md). */
void sa_gemm_pack_x(const float *x, int T, int cols, float *xp);

/* Rows [n0, n0 + nn) of W (nn <= SA_GEMM_NC) against the T rows packed in xp (sa_gemm_pack_x of
 * w->cols columns); writes y[t*w->rows + n]. scratch: SA_GEMM_SCRATCH_FLOATS floats, 32-byte
 * aligned. */
void sa_gemm_block(const sa_wmat *w, int n0, int nn, const float *xp, int T, float *y,
                   float *scratch);

#endif
