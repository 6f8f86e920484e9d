/* matmul.h: y = x . W^T for weights stored row-major [rows][cols] in BF16, F16 or F32, with
 * float32 activations: the one product every linear layer of the engine uses (internal API).
 *
 * Two paths, chosen by the number of activation rows T:
 *   T < gemm_min_t (SA_MM_GEMM_MIN_T, 24): a matrix-vector kernel that streams each weight row
 * once per group of a few activation rows (decode is bound by memory bandwidth; this reads the
 * weights in their stored dtype and never widens them into memory); otherwise the packed product
 * of gemm.h, which widens each block of weights once into an L1-sized float32 panel and reuses it
 * for every activation row (prefill and batched decoding are bound by arithmetic). With
 * SA_PRECISION_BF16 and BF16 weights a third path replaces both: the activations are rounded to
 * BF16 and dot products over the stored rows run with vdpbf16ps for every T (dot_bf16.c).
 * The kernels come from the kernel set chosen at sa_mm_ctx_init (kernels.h, safearith/kset.h).
 * Work is split over output rows in fixed blocks, so results do not depend on the thread count.
 * The kernel path and the BF16 path give every output the same sequence of operations whatever T
 * is, so one row computed alone or with others is bit-identical; the packed path sums in a
 * different order (last bits may differ). */
#ifndef SA_TENSOR_MATMUL_H
#define SA_TENSOR_MATMUL_H

#include <stddef.h>

#include "safearith/dtype.h"
#include "safearith/kset.h"
#include "safearith/threads.h"

#ifndef SA_MM_GEMM_MIN_T
#define SA_MM_GEMM_MIN_T 24
#endif

typedef struct sa_wmat {
    const void *data; /* rows x cols elements of dtype, row-major; any alignment for BF16/F16 */
    sa_dtype dtype;   /* SA_BF16, SA_F16 or SA_F32 */
    int rows, cols;
} sa_wmat;

/* Activation rows a product copies at a time (permuted for the BF16 kernel, packed for the
 * packed path); longer batches run in parts of this many rows. */
#define SA_MM_PART_ROWS 256

struct sa_kernels;

/* Per-thread scratch for the packed and BF16 paths, and the copied activations of one part. */
typedef struct sa_mm_ctx {
    sa_pool *pool;
    const struct sa_kernels *k; /* the kernel set's table */
    int bf16_act;               /* SA_PRECISION_BF16: BF16 weights take the BF16 path */
    int n_workers, max_cols;
    size_t tile_floats; /* floats per worker */
    float **tiles;
    size_t xbuf_floats; /* SA_MM_PART_ROWS rows of max_cols, in any of the paths' layouts */
    float *xbuf;
    int gemm_min_t; /* path threshold (the set's by default; tests may change it) */
} sa_mm_ctx;

/* max_cols: the widest weight any product will see; set: a set this CPU supports (sa_kset_choose);
 * prec: SA_PRECISION_BF16 needs SA_KSET_AVX512BF16. Returns 0, or -1 (out of memory, or a set or
 * precision this build cannot run). */
int sa_mm_ctx_init(sa_mm_ctx *c, sa_pool *pool, int max_cols, sa_kset set, sa_precision prec);
void sa_mm_ctx_free(sa_mm_ctx *c);

/* y[t*w->rows + o] = sum_i x[t*w->cols + i] * W[o][i], for t < T. */
void sa_matmul(sa_mm_ctx *c, const sa_wmat *w, const float *x, int T, float *y);

/* The same for n <= SA_MM_MAX_MULTI matrices of the same width applied to the same x (q/k/v,
 * gate/up), y[m] for w[m], in one pool job; each result is what sa_matmul gives. */
#define SA_MM_MAX_MULTI 4
void sa_matmul_multi(sa_mm_ctx *c, int n, const sa_wmat *const *w, const float *x, int T,
                     float *const *y);

#endif
