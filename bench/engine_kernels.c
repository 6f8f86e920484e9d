/* engine_kernels.c: the engine's matrix product on one TinyLlama-sized BF16 weight, by path.
 *
 * usage: engine_kernels [threads (default 1)] [rows cols (default 5632 2048)]
 * For T = 1 ... 128 activation rows, times sa_matmul on its paths (the matrix-vector kernel and
 * the packed product of gemm.h, in the kernel set SAFEARITH_ISA or the CPU selects; with the
 * avx512bf16 set also the BF16-activation path) and, as the comparison, the former path: widen
 * blocks of 256 weight rows to float32 and call OpenBLAS sgemm on each, one block per thread
 * task. Prints GFLOP/s by wall time and per CPU-second, medians of several runs; this is how
 * SA_MM_GEMM_MIN_T was chosen.
 */
#include "bench_util.h"
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>

#include <cblas.h>

#include "safearith/dtype.h"
#include "tensor/matmul.h"

static double cpu_per_call; /* CPU seconds (all threads) per call, median run */

/* The comparison path: 256-row blocks widened to float32, one sgemm each, one block per task. */
typedef struct {
    const sa_wmat *w;
    const float *x;
    int T;
    float *y, **tiles;
} sgemm_job;

static void sgemm_task(void *ctx, size_t task, int worker) {
    sgemm_job *j = ctx;
    int r0 = (int)task * 256, n = j->w->rows - r0 < 256 ? j->w->rows - r0 : 256;
    const uint16_t *src = (const uint16_t *)j->w->data + (size_t)r0 * j->w->cols;
    sa_to_f32(src, SA_BF16, j->tiles[worker], (size_t)n * j->w->cols);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, j->T, n, j->w->cols, 1.0f, j->x,
                j->w->cols, j->tiles[worker], j->w->cols, 0.0f, j->y + r0, j->w->rows);
}

enum { PATH_KERNEL, PATH_PACKED, PATH_SGEMM, PATH_BF16 };
static sa_mm_ctx *bf16_ctx; /* the context of PATH_BF16 (SA_PRECISION_BF16), NULL without */

static void run_path(int path, sa_mm_ctx *c, const sa_wmat *w, const float *x, int T, float *y,
                     float **tiles) {
    if (path == PATH_SGEMM) {
        sgemm_job j = {w, x, T, y, tiles};
        sa_pool_run(c->pool, (size_t)(w->rows + 255) / 256, sgemm_task, &j);
        return;
    }
    c->gemm_min_t = path == PATH_KERNEL ? 1 << 30 : 1;
    sa_matmul(path == PATH_BF16 ? bf16_ctx : c, w, x, T, y);
}

static double time_it(int path, sa_mm_ctx *c, const sa_wmat *w, const float *x, int T, float *y,
                      float **tiles, int reps) {
    double t[15], cpu[15];
    if (reps > 15) reps = 15;
    run_path(path, c, w, x, T, y, tiles);
    for (int r = 0; r < reps; r++) {
        double t0 = bench_now(), c0 = bench_cpu_now();
        run_path(path, c, w, x, T, y, tiles);
        t[r] = bench_now() - t0;
        cpu[r] = bench_cpu_now() - c0;
    }
    qsort(t, (size_t)reps, sizeof t[0], bench_cmp_double);
    qsort(cpu, (size_t)reps, sizeof cpu[0], bench_cmp_double);
    cpu_per_call = cpu[reps / 2];
    return t[reps / 2];
}

int main(int argc, char **argv) {
    int threads = argc > 1 ? atoi(argv[1]) : 1;
    int rows = argc > 3 ? atoi(argv[2]) : 5632, cols = argc > 3 ? atoi(argv[3]) : 2048;
    size_t nw = (size_t)rows * cols;
    uint16_t *wd = malloc(nw * 2);
    float *x = malloc((size_t)128 * cols * 4), *y = malloc((size_t)128 * rows * 4);
    if (!wd || !x || !y) return 1;
    for (size_t i = 0; i < nw; i++)
        wd[i] = sa_f32_to_bf16((float)((i * 2654435761u) % 1000) / 1000.0f - 0.5f);
    for (size_t i = 0; i < (size_t)128 * cols; i++) x[i] = (float)(i % 97) / 97.0f;
    sa_pool *pool = sa_pool_create(threads);
    sa_mm_ctx c, cb;
    sa_kset set;
    sa_error err;
    if (sa_kset_choose(SA_KSET_AUTO, &set, &err)) {
        fprintf(stderr, "engine_kernels: %s\n", err.msg);
        return 1;
    }
    if (!pool || sa_mm_ctx_init(&c, pool, cols, set, SA_PRECISION_F32)) return 1;
    if (set == SA_KSET_AVX512BF16) {
        if (sa_mm_ctx_init(&cb, pool, cols, set, SA_PRECISION_BF16)) return 1;
        bf16_ctx = &cb;
    }
    openblas_set_num_threads(1);
    float *tiles[64];
    for (int i = 0; i < threads && i < 64; i++) tiles[i] = malloc((size_t)256 * cols * 4);
    sa_wmat w = {wd, SA_BF16, rows, cols};
    const char *names[] = {"kernel", "packed", "sgemm", "bf16"};
    int n_paths = bf16_ctx ? 4 : 3;
    printf("BF16 weight [%d, %d], %d thread(s), kernel set %s; GFLOP/s by wall time (per "
           "CPU-second)\n",
           rows, cols, threads, sa_kset_name(set));
    printf("%5s %18s %18s %18s %18s %14s\n", "T", names[0], names[1], names[2],
           bf16_ctx ? names[3] : "-", "packed/sgemm");
    int Ts[] = {1, 2, 4, 8, 12, 16, 24, 32, 64, 128};
    for (size_t i = 0; i < sizeof Ts / sizeof Ts[0]; i++) {
        int T = Ts[i], reps = T >= 32 ? 5 : 11;
        double flop = 2.0 * nw * T, wall[4];
        printf("%5d", T);
        for (int p = 0; p < n_paths; p++) {
            wall[p] = time_it(p, &c, &w, x, T, y, tiles, reps);
            printf("   %6.1f (%6.1f)   ", flop / wall[p] / 1e9, flop / cpu_per_call / 1e9);
        }
        if (n_paths == 3) printf("   %16s", "-");
        printf("%14.2f\n", wall[2] / wall[1]);
    }
    for (int i = 0; i < threads && i < 64; i++) free(tiles[i]);
    sa_mm_ctx_free(&c);
    if (bf16_ctx) sa_mm_ctx_free(bf16_ctx);
    sa_pool_destroy(pool);
    free(wd);
    free(x);
    free(y);
    return 0;
}
