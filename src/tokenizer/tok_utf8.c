/* tok_utf8.c: UTF-8 decoding with replacement, and the Unicode character classes that the
 * tokenizer's pre-tokenizers and added-token rules ask about.
 *
 * Invalid input is replaced the way Python's bytes.decode(errors="replace") and the WHATWG
 * decoder (Node's TextDecoder) do it: one U+FFFD per maximal subpart of an ill-formed sequence.
 * Character classes come from utf8proc's category table. */
#include <utf8proc.h>

#include "tokenizer/tok_internal.h"

size_t tok_utf8_next(const unsigned char *s, size_t n, uint32_t *cp, size_t *bad) {
    unsigned c = s[0];
    *bad = 1;
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    size_t need;
    uint32_t v;
    unsigned lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) {
        need = 1;
        v = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        need = 2;
        v = c & 0x0F;
        if (c == 0xE0) lo = 0xA0;
        if (c == 0xED) hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        need = 3;
        v = c & 0x07;
        if (c == 0xF0) lo = 0x90;
        if (c == 0xF4) hi = 0x8F;
    } else {
        return 0;
    }
    for (size_t i = 1; i <= need; i++) {
        if (i >= n) return 0;
        unsigned d = s[i];
        if (d < lo || d > hi) return 0;
        lo = 0x80;
        hi = 0xBF;
        v = (v << 6) | (d & 0x3F);
        *bad = i + 1;
    }
    *cp = v;
    return need + 1;
}

int tok_utf8_sanitize(const char *s, size_t n, tok_buf *out) {
    out->n = 0;
    if (tok_buf_reserve(out, n)) return -1;
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0, run = 0;
    while (i < n) {
        uint32_t cp;
        size_t bad, k = tok_utf8_next(u + i, n - i, &cp, &bad);
        if (k) {
            i += k;
            continue;
        }
        if (tok_buf_put(out, s + run, i - run) || tok_buf_put(out, "\xEF\xBF\xBD", 3)) return -1;
        i += bad;
        run = i;
    }
    return tok_buf_put(out, s + run, n - run);
}

int tok_utf8_is_valid(const char *s, size_t n) {
    const unsigned char *u = (const unsigned char *)s;
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        size_t bad, k = tok_utf8_next(u + i, n - i, &cp, &bad);
        if (!k) return 0;
        i += k;
    }
    return 1;
}

void tok_utf8_trim(const char *s, size_t *a, size_t *b, int left, int right,
                   int (*drop)(uint32_t cp)) {
    const unsigned char *u = (const unsigned char *)s;
    while (left && *a < *b) {
        uint32_t cp;
        size_t bad, k = tok_utf8_next(u + *a, *b - *a, &cp, &bad);
        if (!k || !drop(cp)) break;
        *a += k;
    }
    while (right && *b > *a) {
        size_t p = *b - 1;
        while (p > *a && (u[p] & 0xC0) == 0x80) p--;
        uint32_t cp;
        size_t bad, k = tok_utf8_next(u + p, *b - p, &cp, &bad);
        /* the character must end exactly at *b: stray continuation bytes after it (invalid
         * UTF-8) are not whitespace, and must not be cut off with it */
        if (!k || p + k != *b || !drop(cp)) break;
        *b = p;
    }
}

int tok_is_whitespace(uint32_t c) {
    return (c >= 0x09 && c <= 0x0D) || c == 0x20 || c == 0x85 || c == 0xA0 || c == 0x1680 ||
           (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F ||
           c == 0x205F || c == 0x3000;
}

int tok_is_numeric(uint32_t c) {
    utf8proc_category_t k = utf8proc_category((utf8proc_int32_t)c);
    return k == UTF8PROC_CATEGORY_ND || k == UTF8PROC_CATEGORY_NL || k == UTF8PROC_CATEGORY_NO;
}

int tok_is_punct(uint32_t c) {
    if (c < 0x80)
        return (c >= 0x21 && c <= 0x2F) || (c >= 0x3A && c <= 0x40) || (c >= 0x5B && c <= 0x60) ||
               (c >= 0x7B && c <= 0x7E);
    utf8proc_category_t k = utf8proc_category((utf8proc_int32_t)c);
    return k >= UTF8PROC_CATEGORY_PC && k <= UTF8PROC_CATEGORY_PO;
}

int tok_is_alnum(uint32_t c) {
    if (c == '_') return 1;
    utf8proc_category_t k = utf8proc_category((utf8proc_int32_t)c);
    return (k >= UTF8PROC_CATEGORY_LU && k <= UTF8PROC_CATEGORY_LO) ||
           (k >= UTF8PROC_CATEGORY_MN && k <= UTF8PROC_CATEGORY_ME) ||
           (k >= UTF8PROC_CATEGORY_ND && k <= UTF8PROC_CATEGORY_NO) || k == UTF8PROC_CATEGORY_PC;
}
