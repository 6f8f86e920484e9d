/* flops.c: the machine's float32 FMA throughput, the compute roofline for prompt processing and
 * batched decoding (each token of a prompt costs 2 FLOP per weight).
 *
 * usage: flops [threads (default 1,2)] [repetitions (default 7)]
 * Each thread task runs 12 independent chains of 8-wide FMAs on registers only (enough chains
 * to cover the FMA latency on both FMA pipes), with the same pool the engine uses, and prints
 * the median GFLOP/s per thread count, plus one JSON line per count. No memory traffic: this is
 * the ceiling no matrix product can pass. */
#include "bench_util.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "safearith/threads.h"

#ifdef __AVX2__
#include <immintrin.h>
#endif

#define ITERS 20000000L
#define CHAINS 12

static void fma_task(void *ctx, size_t task, int worker) {
    (void)worker;
    float *sink = ctx;
#ifdef __FMA__
    __m256 acc[CHAINS];
    for (int i = 0; i < CHAINS; i++) acc[i] = _mm256_set1_ps((float)i);
    __m256 m = _mm256_set1_ps(0.999999f), a = _mm256_set1_ps(1e-7f);
    for (long k = 0; k < ITERS; k++)
        for (int i = 0; i < CHAINS; i++) acc[i] = _mm256_fmadd_ps(acc[i], m, a);
    float out[8], s = 0;
    for (int i = 0; i < CHAINS; i++) {
        _mm256_storeu_ps(out, acc[i]);
        s += out[0];
    }
    sink[task] = s;
#else
    float acc[CHAINS * 8];
    for (int i = 0; i < CHAINS * 8; i++) acc[i] = (float)i;
    for (long k = 0; k < ITERS; k++)
        for (int i = 0; i < CHAINS * 8; i++) acc[i] = acc[i] * 0.999999f + 1e-7f;
    sink[task] = acc[0];
#endif
}

static double measure(int threads, int reps) {
    float sink[64];
    sa_pool *pool = sa_pool_create(threads);
    double *g = malloc((size_t)reps * sizeof *g);
    if (!pool || !g) {
        fprintf(stderr, "flops: out of memory\n");
        exit(1);
    }
    for (int r = 0; r < reps; r++) {
        double t0 = bench_now();
        sa_pool_run(pool, (size_t)threads, fma_task, sink); /* one task per thread */
        g[r] = 2.0 * 8 * CHAINS * ITERS * threads / (bench_now() - t0) / 1e9;
    }
    double med = bench_median(g, reps);
    free(g);
    sa_pool_destroy(pool);
    return med;
}

int main(int argc, char **argv) {
    int reps = argc > 2 ? atoi(argv[2]) : 7;
    int tlist[8] = {1, 2}, nt = 2;
    if (argc > 1) {
        nt = 0;
        for (char *s = strtok(argv[1], ","); s && nt < 8; s = strtok(NULL, ",")) {
            tlist[nt] = atoi(s);
            if (tlist[nt] < 1 || tlist[nt] > 64) {
                fprintf(stderr, "usage: flops [threads,list (1-64)] [repetitions]\n");
                return 2;
            }
            nt++;
        }
    }
    if (reps < 1) {
        fprintf(stderr, "usage: flops [threads,list (1-64)] [repetitions]\n");
        return 2;
    }
    for (int i = 0; i < nt; i++) {
        double g = measure(tlist[i], reps);
        printf("float32 FMA throughput, %d thread%s: %.1f GFLOP/s (median of %d)\n", tlist[i],
               tlist[i] == 1 ? "" : "s", g, reps);
        printf("{\"threads\": %d, \"gflop_per_s\": %.1f, \"reps\": %d}\n", tlist[i], g, reps);
    }
    return 0;
}
