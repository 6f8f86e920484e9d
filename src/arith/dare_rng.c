/* dare_rng.c: Philox4x32-10 and the per-element DARE keep mask (see dare.h).
 *
 * Philox4x32-10 as published by Salmon et al. (SC'11): ten rounds of two 32x32->64 multiplies
 * with the Weyl key schedule. The key comes from FNV-1a over the tensor name, mixed with the seed
 * and stream by the splitmix64 finaliser. */
#include "arith/dare.h"

#define PHILOX_M0 0xD2511F53u
#define PHILOX_M1 0xCD9E8D57u
#define PHILOX_W0 0x9E3779B9u
#define PHILOX_W1 0xBB67AE85u

static uint64_t mix64(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

sa_dare_key sa_dare_key_make(uint64_t seed, uint32_t stream, const char *tensor_name) {
    uint64_t h = 1469598103934665603ull;
    for (const unsigned char *p = (const unsigned char *)tensor_name; *p; p++)
        h = (h ^ *p) * 1099511628211ull;
    uint64_t k = mix64(mix64(seed) ^ mix64(h + 0x9e3779b97f4a7c15ull * (stream + 1ull)));
    sa_dare_key key = {(uint32_t)k, (uint32_t)(k >> 32)};
    return key;
}

void sa_philox4x32(sa_dare_key key, const uint32_t ctr[4], uint32_t out[4]) {
    uint32_t x0 = ctr[0], x1 = ctr[1], x2 = ctr[2], x3 = ctr[3], k0 = key.k0, k1 = key.k1;
    for (int r = 0; r < 10; r++) {
        uint64_t p0 = (uint64_t)PHILOX_M0 * x0, p1 = (uint64_t)PHILOX_M1 * x2;
        uint32_t y0 = (uint32_t)(p1 >> 32) ^ x1 ^ k0, y1 = (uint32_t)p1;
        uint32_t y2 = (uint32_t)(p0 >> 32) ^ x3 ^ k1, y3 = (uint32_t)p0;
        x0 = y0, x1 = y1, x2 = y2, x3 = y3;
        k0 += PHILOX_W0;
        k1 += PHILOX_W1;
    }
    out[0] = x0, out[1] = x1, out[2] = x2, out[3] = x3;
}

uint64_t sa_dare_keep_below(double density) {
    if (!(density > 0)) return 0;
    if (density >= 1) return (uint64_t)1 << 32;
    return (uint64_t)(density * 4294967296.0);
}

void sa_dare_mask(sa_dare_key key, uint64_t off, size_t n, uint64_t keep_below, uint8_t *keep) {
    uint32_t r[4];
    uint64_t block = UINT64_MAX;
    for (size_t i = 0; i < n; i++) {
        uint64_t e = off + i;
        if (e >> 2 != block) {
            block = e >> 2;
            uint32_t ctr[4] = {(uint32_t)block, (uint32_t)(block >> 32), 0, 0};
            sa_philox4x32(key, ctr, r);
        }
        keep[i] = r[e & 3] < keep_below;
    }
}
