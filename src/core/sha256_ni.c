/* sha256_ni.c: the SHA-256 compression function on the x86 SHA extensions (sha256_impl.h).
 *
 * The instructions keep the eight working variables in two vectors, {a, b, e, f} and
 * {c, d, g, h} (a and c in the top lane), and SHA256RNDS2 runs two rounds: given CDGH, ABEF and
 * two message words already added to their round constants, it returns the new ABEF, while the
 * old ABEF becomes the new CDGH. Four rounds are therefore two calls with the roles swapped.
 * SHA256MSG1 and SHA256MSG2 compute the sigma0 and sigma1 halves of the message schedule, four
 * words at a time. Compiled for the extension with a target attribute and called only after
 * CPUID says it is there. */
#include "core/sha256_impl.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <cpuid.h>
#include <immintrin.h>

#define SHA_TARGET __attribute__((target("sha,sse4.1,ssse3")))

/* Four rounds: w holds the next four schedule words. */
static inline SHA_TARGET void rounds4(__m128i *abef, __m128i *cdgh, __m128i w, int g) {
    __m128i wk = _mm_add_epi32(w, _mm_loadu_si128((const __m128i *)(sa_sha256_k + 4 * g)));
    *cdgh = _mm_sha256rnds2_epu32(*cdgh, *abef, wk);
    *abef = _mm_sha256rnds2_epu32(*abef, *cdgh, _mm_shuffle_epi32(wk, 0x0E));
}

static SHA_TARGET void blocks_ni(uint32_t h[8], const unsigned char *p, size_t n) {
    const __m128i bswap = _mm_set_epi64x(0x0c0d0e0f08090a0bLL, 0x0405060700010203LL);
    /* h[0..3] = a b c d and h[4..7] = e f g h (lane 0 first) into ABEF and CDGH */
    __m128i abcd = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)h), 0xB1);       /* b a d c */
    __m128i efgh = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)(h + 4)), 0x1B); /* h g f e */
    __m128i abef = _mm_alignr_epi8(abcd, efgh, 8);                                     /* f e b a */
    __m128i cdgh = _mm_blend_epi16(efgh, abcd, 0xF0);                                  /* h g d c */
    for (; n; n--, p += 64) {
        __m128i abef0 = abef, cdgh0 = cdgh, m[4];
        for (int g = 0; g < 16; g++) {
            __m128i w;
            if (g < 4) {
                w = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(p + 16 * g)), bswap);
            } else { /* W[t..t+3] from the four previous groups m[0..3] (oldest first) */
                w = _mm_sha256msg1_epu32(m[0], m[1]);
                w = _mm_add_epi32(w, _mm_alignr_epi8(m[3], m[2], 4));
                w = _mm_sha256msg2_epu32(w, m[3]);
            }
            rounds4(&abef, &cdgh, w, g);
            if (g < 4) {
                m[g] = w;
            } else {
                m[0] = m[1], m[1] = m[2], m[2] = m[3], m[3] = w;
            }
        }
        abef = _mm_add_epi32(abef, abef0);
        cdgh = _mm_add_epi32(cdgh, cdgh0);
    }
    __m128i feba = _mm_shuffle_epi32(abef, 0x1B);                         /* a b e f */
    __m128i hgdc = _mm_shuffle_epi32(cdgh, 0xB1);                         /* g h c d */
    _mm_storeu_si128((__m128i *)h, _mm_blend_epi16(feba, hgdc, 0xF0));    /* a b c d */
    _mm_storeu_si128((__m128i *)(h + 4), _mm_alignr_epi8(hgdc, feba, 8)); /* e f g h */
}

/* CPUID directly: not every compiler's __builtin_cpu_supports knows "sha" (clang 14 does not). */
sa_sha256_blocks_fn sa_sha256_blocks_ni(void) {
    unsigned a, b, c, d;
    int sse41 = __get_cpuid(1, &a, &b, &c, &d) && (c >> 19 & 1);
    int sha = __get_cpuid_count(7, 0, &a, &b, &c, &d) && (b >> 29 & 1);
    return sse41 && sha ? blocks_ni : NULL;
}
#else
sa_sha256_blocks_fn sa_sha256_blocks_ni(void) {
    return NULL;
}
#endif
