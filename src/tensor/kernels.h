/* kernels.h: one kernel set's entry points, as a table the matrix product calls through
 * (internal API; the sets are listed in safearith/kset.h).
 *
 * matmul.c owns everything that does not depend on the instruction set: splitting the work into
 * tasks, the activation buffers, parts of SA_MM_PART_ROWS rows. Each set supplies, compiled with
 * its own flags (CMakeLists.txt): the matrix-vector kernel for few activation rows (mv_*), the
 * packed product for many (gemm_*), and, in avx512bf16 only, the BF16-activation dot products for
 * BF16 weights (bf16_*). Each function's contract is the one of the avx2 set's file
 * (matvec_avx2.c, gemm_avx2.c); the others differ only in vector width and tile shapes. */
#ifndef SA_TENSOR_KERNELS_H
#define SA_TENSOR_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#include "safearith/kset.h"
#include "tensor/matmul.h"

typedef struct sa_kernels {
    sa_kset set;
    /* matrix-vector path, T < gemm_min_t. mv_prep copies x for BF16 weights (the permutation
     * mv_rows reads); mv_rows: rows [r0, r0 + nrows) of W against x rows [0, T). */
    void (*mv_prep)(const float *x, int T, int cols, float *dst);
    void (*mv_rows)(const sa_wmat *w, int r0, int nrows, const float *x, int T, float *y);
    /* packed path: gemm_pack_x packs x in groups of gemm_mr rows; gemm_block computes rows
     * [n0, n0 + nn) of W (nn <= gemm_nc) with gemm_scratch_floats floats of 64-byte aligned
     * scratch. */
    int gemm_min_t, gemm_mr, gemm_nc;
    size_t gemm_scratch_floats;
    void (*gemm_pack_x)(const float *x, int T, int cols, float *xp);
    void (*gemm_block)(const sa_wmat *w, int n0, int nn, const float *xp, int T, float *y,
                       float *scratch);
    /* BF16 activations (NULL where the set has none): bf16_prep rounds x rows to BF16 (nearest
     * even) SA_DOT_BF16_XSTRIDE(cols) apart; bf16_rows is mv_rows for BF16 weights over those, for
     * every T, with bf16_rows_max rows per call and bf16_scratch_floats floats of scratch. */
    void (*bf16_prep)(const float *x, int T, int cols, uint16_t *dst);
    void (*bf16_rows)(const sa_wmat *w, int r0, int nrows, const uint16_t *x, int T, float *y,
                      float *scratch);
    int bf16_rows_max;
    size_t bf16_scratch_floats;
} sa_kernels;

/* The BF16-activation kernel (dot_bf16.c): at most this many weight rows per call, whose 16-lane
 * accumulators for all (up to SA_DOT_BF16_TB = SA_MM_PART_ROWS) activation rows wait in scratch
 * between column blocks. */
#define SA_DOT_BF16_ROWS_MAX 16
#define SA_DOT_BF16_TB SA_MM_PART_ROWS
#define SA_DOT_BF16_KB 512 /* columns per block */
/* accumulators, then the block's weight rows copied side by side (BF16, two per float) */
#define SA_DOT_BF16_SCRATCH_FLOATS                                                                 \
    ((size_t)SA_DOT_BF16_ROWS_MAX * SA_DOT_BF16_TB * 16 +                                          \
     (size_t)SA_DOT_BF16_ROWS_MAX * SA_DOT_BF16_KB / 2)
/* Elements from one BF16 activation row to the next in bf16_prep's copy: whole 32-column steps
 * and 64 bytes more, so that rows 4 KiB long (2048 columns) do not all fall in one L1 set. */
#define SA_DOT_BF16_XSTRIDE(cols) (((size_t)(cols) + 31) / 32 * 32 + 32)

/* The table of set k (not SA_KSET_AUTO), or NULL where this build lacks it. */
const sa_kernels *sa_kernels_get(sa_kset k);

/* The sets' functions (contracts: the table's fields above). */
void sa_mv_prep_avx2(const float *x, int T, int cols, float *dst);
void sa_mv_rows_avx2(const sa_wmat *w, int r0, int nrows, const float *x, int T, float *y);
void sa_mv_prep_avx512(const float *x, int T, int cols, float *dst);
void sa_mv_rows_avx512(const sa_wmat *w, int r0, int nrows, const float *x, int T, float *y);
void sa_bf16_prep_avx512bf16(const float *x, int T, int cols, uint16_t *dst);
void sa_bf16_rows_avx512bf16(const sa_wmat *w, int r0, int nrows, const uint16_t *x, int T,
                             float *y, float *scratch);

#endif
