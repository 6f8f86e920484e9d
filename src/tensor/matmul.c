/* matmul.c: y = x . W^T with weights in their stored dtype (see matmul.h for the two paths).
 *
 * The kernel computes a tile of up to 4 weight rows x 3 activation rows with 12 AVX2
 * accumulators: each 8-wide step loads 4 weight vectors (widened from BF16 by a shift, from F16
 * with F16C) and 3 activation vectors for 12 FMAs. A task's rows are read as four strided
 * streams (see DEFINE_BLOCK), and several matrices over the same activations can share one pool
 * job (sa_matmul_multi). Every output element is accumulated lane-wise over the columns in the
 * same order and reduced in the same fixed order whatever the tile shape, task or job, which is
 * what makes batched and unbatched rows bit-identical. */
#include "tensor/matmul.h"

#include "tensor/gemm.h"
#include "tensor/stored.h"

#include <stdlib.h>
#include <string.h>

#ifdef __AVX2__
#include <immintrin.h>
#endif

/* Kernel-path tasks: 16 to 64 rows, at most 128 KiB of weights (so that the rows stay in L2 while
 * groups of 3 activation rows pass over them), or up to 1024 rows when a single group passes
 * (1-3 activation rows: decoding), for longer streams; at least 4 tasks per worker. */
#define KERNEL_TASK_MAX_ROWS 64
#define KERNEL_TASK_MAX_ROWS_SINGLE 1024
#define KERNEL_TASK_MIN_ROWS 16
#define KERNEL_TASK_MAX_BYTES (128 * 1024)

int sa_mm_ctx_init(sa_mm_ctx *c, sa_pool *pool, int max_cols) {
    memset(c, 0, sizeof *c);
    c->pool = pool;
    c->n_workers = sa_pool_size(pool);
    c->gemm_min_t = SA_MM_GEMM_MIN_T;
    c->tile_floats = SA_GEMM_SCRATCH_FLOATS(max_cols);
    c->tiles = calloc((size_t)c->n_workers, sizeof *c->tiles);
    if (!c->tiles) return -1;
    for (int i = 0; i < c->n_workers; i++) {
        c->tiles[i] = aligned_alloc(64, ((c->tile_floats * 4 + 63) / 64) * 64);
        if (!c->tiles[i]) {
            sa_mm_ctx_free(c);
            return -1;
        }
    }
    return 0;
}

void sa_mm_ctx_free(sa_mm_ctx *c) {
    if (c->tiles)
        for (int i = 0; i < c->n_workers; i++) free(c->tiles[i]);
    free(c->tiles);
    memset(c, 0, sizeof *c);
}

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
DEFINE_BLOCK(block_bf16, SA_BF16)
DEFINE_BLOCK(block_f16, SA_F16)
DEFINE_BLOCK(block_f32, SA_F32)

/* Rows [r0, r0+nrows) of W against x rows [0, T), up to 3 x rows at a time. */
static void kernel_rows(const sa_wmat *w, int r0, int nrows, const float *x, int T, float *y) {
    size_t rb = (size_t)w->cols * sa_stored_size(w->dtype);
    const unsigned char *wp = (const unsigned char *)w->data + (size_t)r0 * rb;
    for (int t = 0; t < T; t += 3) {
        int nx = T - t < 3 ? T - t : 3;
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

float sa_dot_row(const sa_wmat *w, int row, const float *x) {
    float y;
    sa_wmat one = *w;
    one.data = (const unsigned char *)w->data + (size_t)row * w->cols * sa_stored_size(w->dtype);
    one.rows = 1;
    kernel_rows(&one, 0, 1, x, 1, &y);
    return y;
}

#else
/* Portable fallback with the same per-element summation structure (8 lanes, fixed reduction). */
static void kernel_rows(const sa_wmat *w, int r0, int nrows, const float *x, int T, float *y) {
    size_t rb = (size_t)w->cols * sa_stored_size(w->dtype);
    for (int t = 0; t < T; t++)
        for (int r = r0; r < r0 + nrows; r++) {
            const unsigned char *wr = (const unsigned char *)w->data + (size_t)r * rb;
            const float *xt = x + (size_t)t * w->cols;
            float lane[8] = {0};
            int n8 = w->cols & ~7;
            for (int i = 0; i < n8; i += 8)
                for (int l = 0; l < 8; l++)
                    lane[l] += sa_stored_elem(wr, i + l, w->dtype) * xt[i + l];
            float s = ((lane[0] + lane[4]) + (lane[2] + lane[6])) +
                      ((lane[1] + lane[5]) + (lane[3] + lane[7]));
            for (int i = n8; i < w->cols; i++) s += sa_stored_elem(wr, i, w->dtype) * xt[i];
            y[(size_t)t * w->rows + r] = s;
        }
}

float sa_dot_row(const sa_wmat *w, int row, const float *x) {
    float y;
    sa_wmat one = *w;
    one.data = (const unsigned char *)w->data + (size_t)row * w->cols * sa_stored_size(w->dtype);
    one.rows = 1;
    kernel_rows(&one, 0, 1, x, 1, &y);
    return y;
}

#endif

/* Several products over the same activations run as one pool job: the tasks of matrix m are
 * first_task[m] .. first_task[m+1]-1, so no thread waits at the end of one matrix while the other
 * still works on it, and the pool hand-off is paid once. */
typedef struct {
    sa_mm_ctx *c;
    const float *x;
    int T;
    const sa_wmat *w[SA_MM_MAX_MULTI];
    float *y[SA_MM_MAX_MULTI];
    int rows_per_task[SA_MM_MAX_MULTI], packed[SA_MM_MAX_MULTI];
    size_t first_task[SA_MM_MAX_MULTI + 1];
} mm_job;

static void mm_task(void *ctx, size_t task, int worker) {
    mm_job *j = ctx;
    int m = 0;
    while (task >= j->first_task[m + 1]) m++;
    const sa_wmat *w = j->w[m];
    int per = j->rows_per_task[m], r0 = (int)(task - j->first_task[m]) * per;
    int n = w->rows - r0 < per ? w->rows - r0 : per;
    if (j->packed[m]) /* one SA_GEMM_NC-row block through the packed product */
        sa_gemm_block(w, r0, n, j->x, j->T, j->y[m], j->c->tiles[worker]);
    else
        kernel_rows(w, r0, n, j->x, j->T, j->y[m]);
}

static int kernel_rows_per_task(const sa_wmat *w, int n_workers, int T) {
    size_t row_bytes = (size_t)w->cols * sa_stored_size(w->dtype);
    /* one group of activation rows reads each weight row once: no L2 bound, longer streams */
    int single = T <= 3;
    int n = single ? KERNEL_TASK_MAX_ROWS_SINGLE : KERNEL_TASK_MAX_ROWS;
    while (
        n > KERNEL_TASK_MIN_ROWS &&
        ((!single && (size_t)n * row_bytes > KERNEL_TASK_MAX_BYTES) || w->rows < 4 * n_workers * n))
        n /= 2;
    return n;
}

void sa_matmul_multi(sa_mm_ctx *c, int n, const sa_wmat *const *w, const float *x, int T,
                     float *const *y) {
    mm_job j = {.c = c, .x = x, .T = T};
    for (int m = 0; m < n; m++) {
        j.w[m] = w[m];
        j.y[m] = y[m];
        j.packed[m] = T >= c->gemm_min_t && SA_GEMM_SCRATCH_FLOATS(w[m]->cols) <= c->tile_floats;
        j.rows_per_task[m] = j.packed[m] ? SA_GEMM_NC : kernel_rows_per_task(w[m], c->n_workers, T);
        j.first_task[m + 1] =
            j.first_task[m] + (size_t)(w[m]->rows + j.rows_per_task[m] - 1) / j.rows_per_task[m];
    }
    sa_pool_run(c->pool, j.first_task[n], mm_task, &j);
}

void sa_matmul(sa_mm_ctx *c, const sa_wmat *w, const float *x, int T, float *y) {
    sa_matmul_multi(c, 1, &w, x, T, &y);
}
