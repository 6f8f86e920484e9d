/* engine_kernels.c: the engine's matrix product on one TinyLlama-sized BF16 weight, by path.
 *
 * usage: engine_kernels [threads (default 1)] [rows cols (default 5632 2048)]
 * For T = 1, 2, 4, 8, 16, 32, 128 activation rows, times sa_matmul with the AVX2 kernel path
 * and with the widen-then-sgemm path, and prints GFLOP/s and the weight-read rate (GB/s) of each,
 * which is how SA_MM_BLAS_MIN_T was chosen. Medians of several runs. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>

#include "safearith/dtype.h"
#include "tensor/matmul.h"

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static double cpu_now(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
           (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1e-6;
}

static double cpu_per_call; /* CPU seconds (all threads) per call, median run */

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double time_it(sa_mm_ctx *c, const sa_wmat *w, const float *x, int T, float *y, int reps) {
    double t[15], cpu[15];
    if (reps > 15) reps = 15;
    sa_matmul(c, w, x, T, y);
    for (int r = 0; r < reps; r++) {
        double t0 = now(), c0 = cpu_now();
        sa_matmul(c, w, x, T, y);
        t[r] = now() - t0;
        cpu[r] = cpu_now() - c0;
    }
    qsort(t, (size_t)reps, sizeof t[0], cmp_double);
    qsort(cpu, (size_t)reps, sizeof cpu[0], cmp_double);
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
    sa_mm_ctx c;
    if (sa_mm_ctx_init(&c, pool, cols)) return 1;
    sa_wmat w = {wd, SA_BF16, rows, cols};
    if (getenv("BLAS_ROWS")) c.blas_rows = atoi(getenv("BLAS_ROWS"));
    printf("BF16 weight [%d, %d], %d thread(s)\n", rows, cols, threads);
    printf("%5s %14s %14s %14s %18s %18s\n", "T", "kernel GFLOP/s", "kernel GB/s", "sgemm GFLOP/s",
           "kernel GFLOP/cpu-s", "sgemm GFLOP/cpu-s");
    int Ts[] = {1, 2, 4, 8, 16, 32, 128};
    for (size_t i = 0; i < sizeof Ts / sizeof Ts[0]; i++) {
        int T = Ts[i], reps = T >= 32 ? 5 : 11;
        c.blas_min_t = 1 << 30;
        double tk = time_it(&c, &w, x, T, y, reps), ck = cpu_per_call;
        c.blas_min_t = 1;
        double tb = time_it(&c, &w, x, T, y, reps), cb = cpu_per_call;
        double flop = 2.0 * nw * T;
        printf("%5d %14.1f %14.1f %14.1f %18.1f %18.1f\n", T, flop / tk / 1e9, nw * 2.0 / tk / 1e9,
               flop / tb / 1e9, flop / ck / 1e9, flop / cb / 1e9);
    }
    sa_mm_ctx_free(&c);
    sa_pool_destroy(pool);
    free(wd);
    free(x);
    free(y);
    return 0;
}
