/* test_utf8.c: the one UTF-8 rule (sa_text_utf8_next and sa_text_utf8_valid, formats/text.c),
 * which the text readers and the tokenizer share, against a reference written differently here.
 *
 * The reference decodes by bit pattern first and judges the code point afterwards (overlong,
 * surrogate, above U+10FFFF), the way sa_text_utf8_valid did before it was built on the
 * tokenizer's table-driven decoder; the maximal ill-formed subpart is the longest prefix that
 * some continuation would make well-formed. Both are run over every 1- and 2-byte string, every
 * 3- and 4-byte string of the bytes where the rules change, every 4-byte sequence led by F0..F7,
 * and random strings, and must agree on validity, the offset of the first bad sequence, each code
 * point and each replaced length. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/check.h"
#include "formats/text.h"

/* Length the lead byte announces (1..4), or 0 for a byte that cannot start a sequence. */
static size_t ref_len(unsigned c) {
    return c < 0x80             ? 1
           : (c & 0xE0) == 0xC0 ? 2
           : (c & 0xF0) == 0xE0 ? 3
           : (c & 0xF8) == 0xF0 ? 4
                                : 0;
}

/* The code point at s[0..n) and its length, or 0 if ill-formed. */
static size_t ref_decode(const unsigned char *s, size_t n, uint32_t *cp) {
    static const uint32_t min[5] = {0, 0, 0x80, 0x800, 0x10000};
    size_t len = ref_len(s[0]);
    if (!len || len > n) return 0;
    uint32_t v = len == 1 ? s[0] : s[0] & (0x7F >> len);
    for (size_t j = 1; j < len; j++) {
        if ((s[j] & 0xC0) != 0x80) return 0;
        v = (v << 6) | (s[j] & 0x3F);
    }
    if (v < min[len] || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) return 0;
    *cp = v;
    return len;
}

/* Bytes one U+FFFD replaces at an ill-formed s[0..n): the longest prefix (at least 1 byte) that
 * some continuation would complete; since only the second byte of a sequence has a narrowed
 * range, completing with 0x80 bytes finds it. */
static size_t ref_subpart(const unsigned char *s, size_t n) {
    size_t len = ref_len(s[0]), best = 1;
    unsigned char buf[4];
    uint32_t cp;
    for (size_t m = 2; m < len && m <= n; m++) {
        for (size_t j = 0; j < 4; j++) buf[j] = j < m ? s[j] : 0x80;
        if (ref_decode(buf, len, &cp)) best = m;
    }
    return best;
}

static long cases;

static void one(const unsigned char *s, size_t n) {
    size_t i = 0, bad = SIZE_MAX, at = SIZE_MAX;
    int ok = 1;
    cases++;
    while (i < n) {
        uint32_t want_cp = 0, cp = 0;
        size_t sub = 0, want = ref_decode(s + i, n - i, &want_cp);
        size_t k = sa_text_utf8_next(s + i, n - i, &cp, &sub);
        CHECK_MSG(k == want && (!k || cp == want_cp), "at %zu of %zu bytes: %zu/%zu", i, n, k,
                  want);
        if (!k) {
            CHECK_MSG(sub == ref_subpart(s + i, n - i), "subpart at %zu: %zu", i, sub);
            if (ok) at = i;
            ok = 0;
            i += sub;
        } else
            i += k;
    }
    int v = sa_text_utf8_valid((const char *)s, n, &bad);
    CHECK_MSG(v == ok && (ok || bad == at), "%zu bytes, first byte 0x%02X: valid %d, bad %zu", n,
              n ? s[0] : 0, v, bad);
}

/* The bytes where the rules change: ASCII, each end of the continuation sub-ranges, the leads
 * that narrow the second byte, and bytes that never occur. */
static const unsigned char edges[] = {0x00, 0x41, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF,
                                      0xC0, 0xC1, 0xC2, 0xDF, 0xE0, 0xE1, 0xEC, 0xED, 0xEE,
                                      0xEF, 0xF0, 0xF1, 0xF3, 0xF4, 0xF5, 0xF7, 0xF8, 0xFF};
#define N_EDGES (sizeof edges)

static void test_known(void) {
    static const struct {
        const char *s;
        int valid;
        size_t bad;
    } t[] = {
        {"a\xC2\xA9\xE2\x82\xAC\xF0\x9F\x98\x80", 1, 0}, /* U+00A9, U+20AC, U+1F600 */
        {"\xF4\x8F\xBF\xBF", 1, 0},                      /* U+10FFFF */
        {"\xED\x9F\xBF\xEE\x80\x80", 1, 0},              /* U+D7FF, U+E000 */
        {"\xC0\x80", 0, 0},                              /* overlong NUL */
        {"x\xC1\xBF", 0, 1},                             /* overlong 2-byte */
        {"xy\xE0\x9F\xBF", 0, 2},                        /* overlong 3-byte */
        {"\xF0\x8F\xBF\xBF", 0, 0},                      /* overlong 4-byte */
        {"ok\xED\xA0\x80", 0, 2},                        /* surrogate U+D800 */
        {"\xED\xBF\xBF", 0, 0},                          /* surrogate U+DFFF */
        {"\xF4\x90\x80\x80", 0, 0},                      /* U+110000 */
        {"\xF5\x80\x80\x80", 0, 0},
        {"abc\xE4\xB8", 0, 3}, /* truncated */
        {"\xF0\x9F\x98", 0, 0},
        {"\x80", 0, 0}, /* lone continuation */
        {"\xFF", 0, 0},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        size_t bad = SIZE_MAX;
        int v = sa_text_utf8_valid(t[i].s, strlen(t[i].s), &bad);
        CHECK_MSG(v == t[i].valid && (v || bad == t[i].bad), "case %zu: valid %d, bad %zu", i, v,
                  bad);
        one((const unsigned char *)t[i].s, strlen(t[i].s));
    }
    /* the subparts Python's errors="replace" finds: E4 B8 41 -> 2 bytes, E0 80 -> 1, F1 80 80 */
    uint32_t cp;
    size_t sub;
    CHECK(!sa_text_utf8_next((const unsigned char *)"\xE4\xB8\x41", 3, &cp, &sub) && sub == 2);
    CHECK(!sa_text_utf8_next((const unsigned char *)"\xE0\x80\x80", 3, &cp, &sub) && sub == 1);
    CHECK(!sa_text_utf8_next((const unsigned char *)"\xF1\x80\x80", 3, &cp, &sub) && sub == 3);
}

static void test_sweep(void) {
    unsigned char s[4];
    for (unsigned a = 0; a < 256; a++) {
        s[0] = (unsigned char)a;
        one(s, 1);
        for (unsigned b = 0; b < 256; b++) {
            s[1] = (unsigned char)b;
            one(s, 2);
        }
        for (size_t b = 0; b < N_EDGES; b++)
            for (size_t c = 0; c < N_EDGES; c++) {
                s[1] = edges[b], s[2] = edges[c];
                one(s, 3);
                for (size_t d = 0; d < N_EDGES; d++) {
                    s[3] = edges[d];
                    one(s, 4);
                }
            }
    }
    /* every 4-byte sequence led by F0..F7 with bytes around the continuation range */
    for (unsigned a = 0xF0; a <= 0xF7; a++)
        for (unsigned b = 0x7E; b <= 0xC1; b++)
            for (unsigned c = 0x7F; c <= 0xC0; c++)
                for (unsigned d = 0x7F; d <= 0xC0; d++) {
                    s[0] = (unsigned char)a, s[1] = (unsigned char)b;
                    s[2] = (unsigned char)c, s[3] = (unsigned char)d;
                    one(s, 4);
                }
}

/* Random strings, most bytes non-ASCII so that sequences (and broken ones) are common. */
static void test_random(void) {
    unsigned char s[24];
    uint64_t x = 0x9E3779B97F4A7C15u;
    for (int t = 0; t < 300000; t++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        size_t n = (size_t)(x % 24);
        for (size_t j = 0; j < n; j++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            unsigned r = (unsigned)(x >> 32);
            s[j] = (unsigned char)((r & 3) == 0   ? r >> 8
                                   : (r & 3) == 1 ? 0x80 + ((r >> 8) & 0x3F)
                                   : (r & 3) == 2 ? 0xC0 + ((r >> 8) & 0x3F)
                                                  : (r >> 8) & 0x7F);
        }
        one(s, n);
    }
}

int main(void) {
    test_known();
    test_sweep();
    test_random();
    printf("%ld byte strings\n", cases);
    return CHECK_DONE();
}
