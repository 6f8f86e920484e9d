/* kernel_rows.c: the matrix-vector kernel for every number of activation rows from 1 to 16, on
 * BF16 weights read from memory rather than from the caches, as decoding reads them.
 *
 * usage: kernel_rows [threads (default 1)] [rows cols (default 5632 2048)] [copies (default 8)]
 * Each product runs over `copies` different weights of [rows, cols] in turn (8 TinyLlama MLP
 * weights are 184 MB, several times the L3), so that every product streams its weights from DRAM.
 * Prints one line per T: T and GFLOP/s, the median of 9 runs. To compare two builds, run each
 * build's binary in turn a few times (bench/engine.md). */
#include "bench_util.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "safearith/dtype.h"
#include "tensor/matmul.h"

enum { MAX_T = 16, RUNS = 9 };

static double gflops(sa_mm_ctx *c, const uint16_t *w, int copies, int rows, int cols,
                     const float *x, int T, float *y) {
    size_t nw = (size_t)rows * cols;
    double v[RUNS];
    for (int r = 0; r < RUNS; r++) {
        double t0 = bench_now();
        for (int m = 0; m < copies; m++) {
            sa_wmat wm = {w + nw * m, SA_BF16, rows, cols};
            sa_matmul(c, &wm, x, T, y);
        }
        v[r] = 2.0 * (double)nw * T * copies / (bench_now() - t0) / 1e9;
    }
    return bench_median(v, RUNS);
}

int main(int argc, char **argv) {
    int threads = argc > 1 ? atoi(argv[1]) : 1;
    int rows = argc > 3 ? atoi(argv[2]) : 5632, cols = argc > 3 ? atoi(argv[3]) : 2048;
    int copies = argc > 4 ? atoi(argv[4]) : 8;
    if (threads < 1 || rows < 1 || cols < 1 || copies < 1) {
        fprintf(stderr, "usage: kernel_rows [threads] [rows cols] [copies]\n");
        return 2;
    }
    size_t nw = (size_t)rows * cols;
    uint16_t *w = malloc(nw * copies * sizeof *w);
    float *x = malloc((size_t)MAX_T * cols * sizeof *x), *y = malloc((size_t)MAX_T * rows * 4);
    sa_pool *pool = sa_pool_create(threads);
    sa_mm_ctx c;
    sa_kset set;
    if (!w || !x || !y || !pool || sa_kset_choose(SA_KSET_AUTO, &set, NULL) ||
        sa_mm_ctx_init(&c, pool, cols, set, SA_PRECISION_F32)) {
        fprintf(stderr, "kernel_rows: out of memory\n");
        return 1;
    }
    for (size_t i = 0; i < nw * copies; i++)
        w[i] = sa_f32_to_bf16((float)((i * 2654435761u) % 1000) / 1000.0f - 0.5f);
    for (size_t i = 0; i < (size_t)MAX_T * cols; i++) x[i] = (float)(i % 97) / 97.0f;
    printf("BF16 weights %d x [%d, %d], %d thread(s): T, GFLOP/s (median of %d)\n", copies, rows,
           cols, threads, RUNS);
    for (int T = 1; T <= MAX_T; T++)
        printf("%d %.1f\n", T, gflops(&c, w, copies, rows, cols, x, T, y));
    sa_mm_ctx_free(&c);
    sa_pool_destroy(pool);
    free(w);
    free(x);
    free(y);
    return 0;
}
