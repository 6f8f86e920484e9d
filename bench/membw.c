/* membw.c: the machine's memory read bandwidth, the roofline for decoding (each generated token
 * streams every weight once).
 *
 * usage: membw [MiB (default 1024)] [threads (default 1,2)] [repetitions (default 7)]
 * Reads a buffer much larger than the last-level cache with AVX2 loads, split across threads
 * with the same pool the engine uses, in two patterns: each task reading its part as one
 * sequential stream, and as four streams read in step (the access pattern of the engine's
 * matrix-vector kernel, which the hardware prefetchers serve faster on the machine of
 * bench/engine.md). Prints the median GB/s (10^9 bytes/s) of each pattern per thread count and
 * one JSON line per count whose read_gb_per_s is the faster pattern: the roofline. */
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
    int streams; /* 1 or 4 */
    float *sink; /* one per task */
} job;

static void read_task(void *ctx, size_t task, int worker) {
    (void)worker;
    job *j = ctx;
    size_t part = j->n_per_task / (size_t)j->streams;
    const float *p = j->buf + task * j->n_per_task;
#ifdef __AVX2__
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    for (size_t i = 0; i < part; i += 32)
        for (int s = 0; s < j->streams; s++) {
            const float *q = p + (size_t)s * part + i;
            a0 = _mm256_add_ps(a0, _mm256_load_ps(q));
            a1 = _mm256_add_ps(a1, _mm256_load_ps(q + 8));
            a2 = _mm256_add_ps(a2, _mm256_load_ps(q + 16));
            a3 = _mm256_add_ps(a3, _mm256_load_ps(q + 24));
        }
    __m256 s = _mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3));
    float out[8];
    _mm256_storeu_ps(out, s);
    j->sink[task] = out[0] + out[1] + out[2] + out[3] + out[4] + out[5] + out[6] + out[7];
#else
    float s = 0;
    for (size_t i = 0; i < part; i++)
        for (int k = 0; k < j->streams; k++) s += p[(size_t)k * part + i];
    j->sink[task] = s;
#endif
}

static double measure(const float *buf, size_t n, int threads, int streams, int reps) {
    enum { TASKS = 64 };
    float sink[TASKS];
    job j = {buf, n / TASKS, streams, sink};
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
        double g1 = measure(buf, n, tlist[i], 1, reps), g4 = measure(buf, n, tlist[i], 4, reps);
        double g = g1 > g4 ? g1 : g4;
        printf("read bandwidth, %d thread%s: %.1f GB/s (one stream per task %.1f, four %.1f; "
               "medians of %d, %zu MiB)\n",
               tlist[i], tlist[i] == 1 ? "" : "s", g, g1, g4, reps, mib);
        printf("{\"threads\": %d, \"read_gb_per_s\": %.2f, \"one_stream_gb_per_s\": %.2f, "
               "\"four_streams_gb_per_s\": %.2f, \"mib\": %zu, \"reps\": %d}\n",
               tlist[i], g, g1, g4, mib, reps);
    }
    free(buf);
    return 0;
}
