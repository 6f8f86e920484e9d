/* membw.c: the machine's memory read bandwidth, the roofline for decoding (each generated token
 * streams every weight once).
 *
 * usage: membw [MiB (default 1024)] [threads (default 1,2)] [repetitions (default 7)]
 * Reads a buffer much larger than the last-level cache with AVX2 loads, split across threads
 * with the same pool the engine uses, and prints the median GB/s (10^9 bytes/s) per thread
 * count, plus one JSON line per count. */
#include "bench_util.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "safearith/threads.h"

#ifdef __AVX2__
#include <immintrin.h>
#endif

typedef struct {
    const float *buf;
    size_t n_per_task;
    float *sink; /* one per task */
} job;

static void read_task(void *ctx, size_t task, int worker) {
    (void)worker;
    job *j = ctx;
    const float *p = j->buf + task * j->n_per_task;
#ifdef __AVX2__
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    for (size_t i = 0; i < j->n_per_task; i += 32) {
        a0 = _mm256_add_ps(a0, _mm256_load_ps(p + i));
        a1 = _mm256_add_ps(a1, _mm256_load_ps(p + i + 8));
        a2 = _mm256_add_ps(a2, _mm256_load_ps(p + i + 16));
        a3 = _mm256_add_ps(a3, _mm256_load_ps(p + i + 24));
    }
    __m256 s = _mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3));
    float out[8];
    _mm256_storeu_ps(out, s);
    j->sink[task] = out[0] + out[1] + out[2] + out[3] + out[4] + out[5] + out[6] + out[7];
#else
    float s = 0;
    for (size_t i = 0; i < j->n_per_task; i++) s += p[i];
    j->sink[task] = s;
#endif
}

static double measure(const float *buf, size_t n, int threads, int reps) {
    enum { TASKS = 64 };
    float sink[TASKS];
    job j = {buf, n / TASKS, sink};
    sa_pool *pool = sa_pool_create(threads);
    double *gbs = malloc((size_t)reps * sizeof *gbs);
    sa_pool_run(pool, TASKS, read_task, &j); /* warm up */
    for (int r = 0; r < reps; r++) {
        double t0 = bench_now();
        sa_pool_run(pool, TASKS, read_task, &j);
        gbs[r] = (double)j.n_per_task * TASKS * sizeof(float) / (bench_now() - t0) / 1e9;
    }
    double med = bench_median(gbs, reps);
    free(gbs);
    sa_pool_destroy(pool);
    return med;
}

int main(int argc, char **argv) {
    size_t mib = argc > 1 ? strtoul(argv[1], NULL, 10) : 1024;
    int reps = argc > 3 ? atoi(argv[3]) : 7;
    int tlist[8] = {1, 2}, nt = 2;
    if (argc > 2) {
        nt = 0;
        for (char *s = strtok(argv[2], ","); s && nt < 8; s = strtok(NULL, ","))
            tlist[nt++] = atoi(s);
    }
    if (mib < 64 || reps < 1) {
        fprintf(stderr, "usage: membw [MiB >= 64] [threads,list] [repetitions]\n");
        return 2;
    }
    size_t n = mib * 1024 * 1024 / sizeof(float);
    float *buf = aligned_alloc(64, n * sizeof(float));
    if (!buf) {
        fprintf(stderr, "membw: cannot allocate %zu MiB\n", mib);
        return 1;
    }
    for (size_t i = 0; i < n; i++) buf[i] = (float)(i & 1023);
    for (int i = 0; i < nt; i++) {
        double g = measure(buf, n, tlist[i], reps);
        printf("read bandwidth, %d thread%s: %.1f GB/s (median of %d, %zu MiB)\n", tlist[i],
               tlist[i] == 1 ? "" : "s", g, reps, mib);
        printf("{\"threads\": %d, \"read_gb_per_s\": %.2f, \"mib\": %zu, \"reps\": %d}\n", tlist[i],
               g, mib, reps);
    }
    free(buf);
    return 0;
}
