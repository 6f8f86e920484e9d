/* dare.h: DARE's random drop masks from a counter-based generator (internal).
 *
 * Each element's keep/drop draw is a pure function of (seed, stream, tensor name, element index):
 * Philox4x32-10 keyed by a hash of (seed, stream, name), with counter = index / 4 and the draw
 * taken from word index % 4. The mask is therefore the same for any thread count, chunking,
 * sharding or tensor order. An element is kept iff its 32-bit draw r satisfies
 * r < floor(density * 2^32); density >= 1 keeps everything. `stream` separates the models of a
 * merge (their position in the recipe); RESTA uses stream 0. */
#ifndef SAFEARITH_ARITH_DARE_H
#define SAFEARITH_ARITH_DARE_H

#include <stddef.h>
#include <stdint.h>

typedef struct sa_dare_key {
    uint32_t k0, k1;
} sa_dare_key;

sa_dare_key sa_dare_key_make(uint64_t seed, uint32_t stream, const char *tensor_name);
/* The four 32-bit Philox4x32-10 outputs for a 128-bit counter. */
void sa_philox4x32(sa_dare_key key, const uint32_t ctr[4], uint32_t out[4]);
/* floor(density * 2^32), clamped to [0, 2^32]. */
uint64_t sa_dare_keep_below(double density);
/* keep[i] = 1 if element off + i is kept, for i < n. */
void sa_dare_mask(sa_dare_key key, uint64_t off, size_t n, uint64_t keep_below, uint8_t *keep);

#endif
