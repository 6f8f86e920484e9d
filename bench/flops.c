/* flops.c: the machine's multiply-add throughput, the compute roofline for prompt processing
 * and batched decoding (each token of a prompt costs 2 FLOP per weight), for each kernel set's
 * instruction: 8-lane float32 FMA (avx2), 16-lane float32 FMA (avx512) and vdpbf16ps (avx512bf16:
 * 32 BF16 products summed into 16 float32 lanes, 64 FLOP per instruction).
 *
 * usage: flops [threads (default 1,2)] [repetitions (default 7)]
 * Each thread task runs 12 independent chains of the instruction on registers only (enough chains
 * to cover its latency on both pipes), with the same pool the engine uses, and prints the median
 * GFLOP/s per instruction and thread count, plus one JSON line each ("kind": fma256, fma512 or
 * dpbf16). Instructions the CPU lacks are printed as skipped. No memory traffic: this is the
 * ceiling no matrix product can pass. */
#include "bench_util.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "safearith/kset.h"
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

#if defined(__x86_64__)
__attribute__((target("avx512f"))) static void fma512_task(void *ctx, size_t task, int worker) {
    (void)worker;
    float *sink = ctx;
    __m512 acc[CHAINS];
    for (int i = 0; i < CHAINS; i++) acc[i] = _mm512_set1_ps((float)i);
    __m512 m = _mm512_set1_ps(0.999999f), a = _mm512_set1_ps(1e-7f);
    for (long k = 0; k < ITERS; k++)
        for (int i = 0; i < CHAINS; i++) acc[i] = _mm512_fmadd_ps(acc[i], m, a);
    float s = 0;
    for (int i = 0; i < CHAINS; i++) s += _mm512_reduce_add_ps(acc[i]);
    sink[task] = s;
}

__attribute__((target("avx512f,avx512bw,avx512bf16"))) static void
dpbf16_task(void *ctx, size_t task, int worker) {
    (void)worker;
    float *sink = ctx;
    __m512 acc[CHAINS];
    for (int i = 0; i < CHAINS; i++) acc[i] = _mm512_set1_ps((float)i);
    __m512bh a = (__m512bh)_mm512_set1_epi16(0x3f80), b = (__m512bh)_mm512_set1_epi16(0x3380);
    for (long k = 0; k < ITERS; k++)
        for (int i = 0; i < CHAINS; i++) acc[i] = _mm512_dpbf16_ps(acc[i], a, b);
    float s = 0;
    for (int i = 0; i < CHAINS; i++) s += _mm512_reduce_add_ps(acc[i]);
    sink[task] = s;
}
#endif

/* The instructions measured: the task, FLOP per instruction, and the kernel set needing it. */
typedef struct {
    const char *kind, *what;
    sa_task_fn fn;
    double flop;
    sa_kset set;
} flops_kind;

static const flops_kind kinds[] = {
    {"fma256", "float32 FMA, 8 lanes", fma_task, 16, SA_KSET_AVX2},
#if defined(__x86_64__)
    {"fma512", "float32 FMA, 16 lanes", fma512_task, 32, SA_KSET_AVX512},
    {"dpbf16", "vdpbf16ps, 32 BF16 products", dpbf16_task, 64, SA_KSET_AVX512BF16},
#endif
};

/* Median GFLOP/s by wall time; *per_cpu gets the median per CPU-second of the process (what a
 * thread does while it runs, the figure to use when other programs share the cores). */
static double measure(const flops_kind *kd, int threads, int reps, double *per_cpu) {
    float sink[64];
    sa_pool *pool = sa_pool_create(threads);
    double *g = malloc((size_t)reps * sizeof *g), *gc = malloc((size_t)reps * sizeof *gc);
    if (!pool || !g || !gc) {
        fprintf(stderr, "flops: out of memory\n");
        exit(1);
    }
    for (int r = 0; r < reps; r++) {
        double t0 = bench_now(), c0 = bench_cpu_now();
        sa_pool_run(pool, (size_t)threads, kd->fn, sink); /* one task per thread */
        g[r] = kd->flop * CHAINS * ITERS * threads / (bench_now() - t0) / 1e9;
        gc[r] = kd->flop * CHAINS * ITERS * threads / (bench_cpu_now() - c0) / 1e9;
    }
    double med = bench_median(g, reps);
    *per_cpu = bench_median(gc, reps);
    free(g);
    free(gc);
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
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
        if (!sa_kset_supported(kinds[k].set)) {
            printf("%s: skipped, this CPU lacks the %s set\n", kinds[k].what,
                   sa_kset_name(kinds[k].set));
            continue;
        }
        for (int i = 0; i < nt; i++) {
            double gc, g = measure(&kinds[k], tlist[i], reps, &gc);
            printf("%s throughput, %d thread%s: %.1f GFLOP/s, %.1f per CPU-second (medians of "
                   "%d)\n",
                   kinds[k].what, tlist[i], tlist[i] == 1 ? "" : "s", g, gc, reps);
            printf("{\"kind\": \"%s\", \"threads\": %d, \"gflop_per_s\": %.1f, "
                   "\"gflop_per_cpu_s\": %.1f, \"reps\": %d}\n",
                   kinds[k].kind, tlist[i], g, gc, reps);
        }
    }
    return 0;
}
