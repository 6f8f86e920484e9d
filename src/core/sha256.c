/* sha256.c: SHA-256 (FIPS 180-4) for input checksums: datasets, lists and prompts of eval runs,
 * the model files that model cards and GGUF exports record (provenance.h), run fingerprints.
 *
 * A run directory records the checksum of every input it depends on so that a resume with a
 * changed file is refused; an output model records its inputs so that it can be reproduced.
 * The compression function is the SHA-NI one where the CPU has it (sha256_ni.c, about 5x the
 * portable one's speed), picked by CPUID once per process (the one global of this file); whole
 * blocks are hashed straight from the caller's buffer. */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/sha256_impl.h"
#include "safearith/provenance.h"

typedef struct sha256_ctx {
    sa_sha256_blocks_fn blocks;
    uint32_t h[8];
    uint64_t len;
    unsigned char buf[64];
    size_t n;
} sha256_ctx;

const uint32_t sa_sha256_k[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

#define ROR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))

/* One block into h. */
static void block(uint32_t hs[8], const unsigned char *p) {
    uint32_t w[64];
    for (int i = 0; i < 16; i++)
        w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
               (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
    for (int i = 16; i < 64; i++) {
        uint32_t s0 = ROR(w[i - 15], 7) ^ ROR(w[i - 15], 18) ^ (w[i - 15] >> 3);
        uint32_t s1 = ROR(w[i - 2], 17) ^ ROR(w[i - 2], 19) ^ (w[i - 2] >> 10);
        w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    uint32_t a = hs[0], b = hs[1], cc = hs[2], d = hs[3], e = hs[4], f = hs[5], g = hs[6],
             h = hs[7];
    for (int i = 0; i < 64; i++) {
        uint32_t t1 = h + (ROR(e, 6) ^ ROR(e, 11) ^ ROR(e, 25)) + ((e & f) ^ (~e & g)) +
                      sa_sha256_k[i] + w[i];
        uint32_t t2 = (ROR(a, 2) ^ ROR(a, 13) ^ ROR(a, 22)) + ((a & b) ^ (a & cc) ^ (b & cc));
        h = g, g = f, f = e, e = d + t1, d = cc, cc = b, b = a, a = t1 + t2;
    }
    hs[0] += a, hs[1] += b, hs[2] += cc, hs[3] += d;
    hs[4] += e, hs[5] += f, hs[6] += g, hs[7] += h;
}

void sa_sha256_blocks_portable(uint32_t h[8], const unsigned char *p, size_t n) {
    for (; n; n--, p += 64) block(h, p);
}

/* The choice is made once per process: CPUID traps to the hypervisor in a virtual machine
 * (12 us per call measured on the VM of bench/sha256.md). */
static pthread_once_t best_once = PTHREAD_ONCE_INIT;
static sa_sha256_blocks_fn best_fn;

static void pick_best(void) {
    sa_sha256_blocks_fn ni = sa_sha256_blocks_ni();
    best_fn = ni ? ni : sa_sha256_blocks_portable;
}

sa_sha256_blocks_fn sa_sha256_best(void) {
    pthread_once(&best_once, pick_best);
    return best_fn;
}

static void sha_init(sha256_ctx *c, sa_sha256_blocks_fn fn) {
    c->blocks = fn;
    static const uint32_t h0[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                   0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    memcpy(c->h, h0, sizeof h0);
    c->len = 0;
    c->n = 0;
}

static void sha_update(sha256_ctx *c, const void *data, size_t len) {
    const unsigned char *p = data;
    if (!len) return;
    c->len += len;
    if (c->n) { /* complete the buffered block first */
        size_t take = 64 - c->n < len ? 64 - c->n : len;
        memcpy(c->buf + c->n, p, take);
        c->n += take, p += take, len -= take;
        if (c->n < 64) return;
        c->blocks(c->h, c->buf, 1), c->n = 0;
    }
    c->blocks(c->h, p, len / 64); /* whole blocks straight from the input */
    p += len / 64 * 64, len %= 64;
    if (len) memcpy(c->buf, p, len);
    c->n = len;
}

static void sha_final(sha256_ctx *c, char hex[65]) {
    uint64_t bits = c->len * 8;
    unsigned char pad = 0x80, zero = 0, lenb[8];
    sha_update(c, &pad, 1);
    while (c->n != 56) sha_update(c, &zero, 1);
    for (int i = 0; i < 8; i++) lenb[i] = (unsigned char)(bits >> (56 - 8 * i));
    sha_update(c, lenb, 8);
    for (int i = 0; i < 8; i++) snprintf(hex + 8 * i, 9, "%08x", c->h[i]);
    hex[64] = 0;
}

void sa_sha256_hex_using(sa_sha256_blocks_fn fn, const void *data, size_t len, char hex[65]) {
    sha256_ctx c;
    sha_init(&c, fn);
    sha_update(&c, data, len);
    sha_final(&c, hex);
}

void sa_sha256_hex(const void *data, size_t len, char hex[65]) {
    sa_sha256_hex_using(sa_sha256_best(), data, len, hex);
}

sa_status sa_sha256_file(const char *path, char hex[65], sa_error *err) {
    FILE *f = fopen(path, "rb");
    if (!f) return sa_error_set(err, SA_EIO, "%s: cannot open: %s", path, strerror(errno));
    sha256_ctx c;
    sha_init(&c, sa_sha256_best());
    unsigned char buf[1 << 16];
    size_t got;
    while ((got = fread(buf, 1, sizeof buf, f)) > 0) sha_update(&c, buf, got);
    int bad = ferror(f) ? errno : 0;
    fclose(f);
    if (bad) return sa_error_set(err, SA_EIO, "%s: read error: %s", path, strerror(bad));
    sha_final(&c, hex);
    return SA_OK;
}
