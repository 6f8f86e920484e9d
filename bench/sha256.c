/* sha256.c: SHA-256 throughput, the SHA-NI compression function against the portable one,
 * alternated in one run (the checksums model cards, GGUF exports and eval runs record).
 *
 * usage: sha256 [MiB (default 256)] [rounds (default 7)]
 * Hashes a buffer of random bytes held in memory (no I/O) with each function in turn, round after
 * round, and prints one JSON line: the median MB/s (10^6 bytes/s) of each and their ratio. */
#include "bench_util.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/sha256_impl.h"

static double rate(sa_sha256_blocks_fn fn, const unsigned char *b, size_t n, char hex[65]) {
    double t0 = bench_now();
    sa_sha256_hex_using(fn, b, n, hex);
    return (double)n / (bench_now() - t0) / 1e6;
}

int main(int argc, char **argv) {
    size_t mib = argc > 1 ? (size_t)atol(argv[1]) : 256;
    int rounds = argc > 2 ? atoi(argv[2]) : 7;
    if (!mib || rounds < 1 || rounds > 99)
        return fprintf(stderr, "usage: sha256 [MiB] [rounds]\n"), 2;
    sa_sha256_blocks_fn ni = sa_sha256_blocks_ni();
    if (!ni) return fprintf(stderr, "sha256: this CPU has no SHA extensions\n"), 1;
    size_t n = mib << 20;
    unsigned char *b = malloc(n);
    if (!b) return fprintf(stderr, "sha256: out of memory\n"), 1;
    uint64_t s = 88172645463325252ull;
    for (size_t i = 0; i < n; i++) s ^= s << 13, s ^= s >> 7, s ^= s << 17, b[i] = (unsigned char)s;
    double fast[99], slow[99];
    char x[65], y[65];
    for (int r = 0; r < rounds; r++) {
        fast[r] = rate(ni, b, n, x);
        slow[r] = rate(sa_sha256_blocks_portable, b, n, y);
        if (strcmp(x, y)) return fprintf(stderr, "sha256: the two digests differ\n"), 1;
    }
    double f = bench_median(fast, rounds), p = bench_median(slow, rounds);
    printf("{\"mib\": %zu, \"rounds\": %d, \"sha_ni_mb_s\": %.0f, \"portable_mb_s\": %.0f, "
           "\"ratio\": %.2f}\n",
           mib, rounds, f, p, f / p);
    free(b);
    return 0;
}
