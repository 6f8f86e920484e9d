/* matmul.c: y = x . W^T with weights in their stored dtype (see matmul.h for the paths): the
 * part that does not depend on the instruction set. It chooses the path of each product, copies
 * the activations once per part into the layout the path reads (permuted, packed or rounded to
 * BF16), splits the weight rows into tasks and runs them on the pool; the kernels themselves come
 * from the context's kernel set (kernels.h). Several matrices over the same activations can share
 * one pool job (sa_matmul_multi). */
#include "tensor/matmul.h"

#include "tensor/gemm.h"
#include "tensor/kernels.h"
#include "tensor/stored.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

/* Kernel-path tasks: 16 to 64 rows, at most 128 KiB of weights (so that the rows stay in L2 while
 * groups of 3 activation rows pass over them), or up to 1024 rows when a single group passes
 * (1-3 activation rows: decoding), for longer streams; at least 4 tasks per worker. */
#define KERNEL_TASK_MAX_ROWS 64
#define KERNEL_TASK_MAX_ROWS_SINGLE 1024
#define KERNEL_TASK_MIN_ROWS 16
#define KERNEL_TASK_MAX_BYTES (128 * 1024)

int sa_mm_ctx_init(sa_mm_ctx *c, sa_pool *pool, int max_cols, sa_kset set, sa_precision prec) {
    memset(c, 0, sizeof *c);
    c->k = sa_kernels_get(set);
    if (!c->k || (prec == SA_PRECISION_BF16 && !c->k->bf16_rows)) return -1;
    c->pool = pool;
    c->bf16_act = prec == SA_PRECISION_BF16;
    c->n_workers = sa_pool_size(pool);
    c->gemm_min_t = c->k->gemm_min_t;
    c->tile_floats = c->k->gemm_scratch_floats > c->k->bf16_scratch_floats
                         ? c->k->gemm_scratch_floats
                         : c->k->bf16_scratch_floats;
    c->max_cols = max_cols;
    /* packed groups of up to SA_GEMM_MAX_MR rows hold the most; a permuted or BF16 copy less */
    c->xbuf_floats = SA_GEMM_XPACK_FLOATS(SA_MM_PART_ROWS, max_cols);
    size_t bf16_floats = (size_t)SA_MM_PART_ROWS * SA_DOT_BF16_XSTRIDE(max_cols) / 2;
    if (c->bf16_act && bf16_floats > c->xbuf_floats) c->xbuf_floats = bf16_floats;
    c->tiles = calloc((size_t)c->n_workers, sizeof *c->tiles);
    c->xbuf = aligned_alloc(64, ((c->xbuf_floats * 4 + 63) / 64) * 64);
    if (!c->tiles || !c->xbuf) {
        sa_mm_ctx_free(c);
        return -1;
    }
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
    free(c->xbuf);
    memset(c, 0, sizeof *c);
}

/* The path a product takes. */
typedef enum { PATH_KERNEL, PATH_PACKED, PATH_BF16 } mm_path;

static mm_path choose_path(const sa_mm_ctx *c, const sa_wmat *w, int T) {
    if (c->bf16_act && w->dtype == SA_BF16) return PATH_BF16;
    return T >= c->gemm_min_t ? PATH_PACKED : PATH_KERNEL;
}

/* Several products over the same activations run as one pool job: the tasks of matrix m are
 * first_task[m] .. first_task[m+1]-1, so no thread waits at the end of one matrix while the other
 * still works on it, and the pool hand-off is paid once. */
typedef struct {
    sa_mm_ctx *c;
    const float *x;  /* the activations as given */
    const float *xc; /* the part's copy: permuted, packed or BF16 (by the job's path) */
    int T;
    mm_path path;
    const sa_wmat *w[SA_MM_MAX_MULTI];
    float *y[SA_MM_MAX_MULTI];
    int rows_per_task[SA_MM_MAX_MULTI];
    size_t first_task[SA_MM_MAX_MULTI + 1];
} mm_job;

static void mm_task(void *ctx, size_t task, int worker) {
    mm_job *j = ctx;
    const sa_kernels *k = j->c->k;
    int m = 0;
    while (task >= j->first_task[m + 1]) m++;
    const sa_wmat *w = j->w[m];
    int per = j->rows_per_task[m], r0 = (int)(task - j->first_task[m]) * per;
    int n = w->rows - r0 < per ? w->rows - r0 : per;
    if (j->path == PATH_PACKED) /* one gemm_nc-row block through the packed product */
        k->gemm_block(w, r0, n, j->xc, j->T, j->y[m], j->c->tiles[worker]);
    else if (j->path == PATH_BF16)
        k->bf16_rows(w, r0, n, (const uint16_t *)(const void *)j->xc, j->T, j->y[m],
                     j->c->tiles[worker]);
    else
        k->mv_rows(w, r0, n, w->dtype == SA_BF16 ? j->xc : j->x, j->T, j->y[m]);
}

/* Rows per task of the kernel and BF16 paths (max_rows, if not 0, caps it for more than one group
 * of activation rows: the BF16 kernel's limit). */
static int kernel_rows_per_task(const sa_wmat *w, int n_workers, int T, int max_rows) {
    size_t row_bytes = (size_t)w->cols * sa_stored_size(w->dtype);
    /* one group of activation rows reads each weight row once: no L2 bound, longer streams */
    int single = T <= 3;
    int n = single ? KERNEL_TASK_MAX_ROWS_SINGLE : KERNEL_TASK_MAX_ROWS;
    if (max_rows && !single && n > max_rows) n = max_rows;
    while (
        n > KERNEL_TASK_MIN_ROWS &&
        ((!single && (size_t)n * row_bytes > KERNEL_TASK_MAX_BYTES) || w->rows < 4 * n_workers * n))
        n /= 2;
    return n;
}

/* One pool job: rows [t0, t0 + nt) of x through the n products, all on one path. */
static void run_part(sa_mm_ctx *c, int n, const sa_wmat *const *w, mm_path path, const float *x,
                     int t0, int nt, float *const *y) {
    mm_job j = {.c = c, .x = x + (size_t)t0 * w[0]->cols, .xc = c->xbuf, .T = nt, .path = path};
    for (int m = 0; m < n; m++) {
        j.w[m] = w[m];
        j.y[m] = y[m] + (size_t)t0 * w[m]->rows;
        j.rows_per_task[m] = path == PATH_PACKED ? c->k->gemm_nc
                             : path == PATH_BF16
                                 ? kernel_rows_per_task(w[m], c->n_workers, nt, c->k->bf16_rows_max)
                                 : kernel_rows_per_task(w[m], c->n_workers, nt, 0);
        j.first_task[m + 1] =
            j.first_task[m] + (size_t)(w[m]->rows + j.rows_per_task[m] - 1) / j.rows_per_task[m];
    }
    sa_pool_run(c->pool, j.first_task[n], mm_task, &j);
}

void sa_matmul_multi(sa_mm_ctx *c, int n, const sa_wmat *const *w, const float *x, int T,
                     float *const *y) {
    int cols = w[0]->cols, permute = 0;
    assert(cols <= c->max_cols);
    mm_path path = choose_path(c, w[0], T);
    for (int m = 0; m < n; m++) {
        /* matrices on different paths need different copies of x: one job each (the results are
         * the same as in a shared job) */
        if (choose_path(c, w[m], T) != path) {
            for (int i = 0; i < n; i++) sa_matmul_multi(c, 1, &w[i], x, T, &y[i]);
            return;
        }
        permute |= path == PATH_KERNEL && w[m]->dtype == SA_BF16;
    }
    /* the copy of x holds SA_MM_PART_ROWS rows: a longer batch runs in parts, and each output row
     * is computed the same way in any part */
    int part = permute || path != PATH_KERNEL ? SA_MM_PART_ROWS : T;
    for (int t0 = 0; t0 < T; t0 += part) {
        int nt = T - t0 < part ? T - t0 : part;
        const float *xt = x + (size_t)t0 * cols;
        if (path == PATH_PACKED)
            c->k->gemm_pack_x(xt, nt, cols, c->xbuf);
        else if (path == PATH_BF16)
            c->k->bf16_prep(xt, nt, cols, (uint16_t *)(void *)c->xbuf);
        else if (permute)
            c->k->mv_prep(xt, nt, cols, c->xbuf);
        run_part(c, n, w, path, x, t0, nt, y);
    }
}

void sa_matmul(sa_mm_ctx *c, const sa_wmat *w, const float *x, int T, float *y) {
    sa_matmul_multi(c, 1, &w, x, T, &y);
}
