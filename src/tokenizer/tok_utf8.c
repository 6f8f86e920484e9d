/* tok_utf8.c: UTF-8 with replacement, trimming by character class, and the Unicode character
 * classes that the tokenizer's pre-tokenizers and added-token rules ask about.
 *
 * Code points are decoded by sa_text_utf8_next (formats/text.c), the one place that says what
 * valid UTF-8 is. Invalid input is replaced the way Python's bytes.decode(errors="replace") and
 * the WHATWG decoder (Node's TextDecoder) do it: one U+FFFD per maximal subpart of an ill-formed
 * sequence. Character classes come from utf8proc's category table. */
#include <utf8proc.h>

#include "tokenizer/tok_internal.h"

int tok_utf8_sanitize(const char *s, size_t n, tok_buf *out) {
    out->n = 0;
    if (tok_buf_reserve(out, n)) return -1;
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0, run = 0;
    while (i < n) {
        uint32_t cp;
        size_t bad, k = sa_text_utf8_next(u + i, n - i, &cp, &bad);
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

int tok_utf8_open_tail(const char *s, size_t n) {
    const unsigned char *u = (const unsigned char *)s;
    size_t p = n;
    while (p > 0 && n - p < 3 && (u[p - 1] & 0xC0) == 0x80) p--;
    if (p-- == 0 || u[p] < 0xC2 || u[p] > 0xF4) return 0; /* u[p]: not a lead byte */
    uint32_t cp;
    size_t bad;
    return sa_text_utf8_next(u + p, n - p, &cp, &bad) == 0 && bad == n - p;
}

void tok_utf8_trim(const char *s, size_t *a, size_t *b, int left, int right,
                   int (*drop)(uint32_t cp)) {
    const unsigned char *u = (const unsigned char *)s;
    while (left && *a < *b) {
        uint32_t cp;
        size_t bad, k = sa_text_utf8_next(u + *a, *b - *a, &cp, &bad);
        if (!k || !drop(cp)) break;
        *a += k;
    }
    while (right && *b > *a) {
        size_t p = *b - 1;
        while (p > *a && (u[p] & 0xC0) == 0x80) p--;
        uint32_t cp;
        size_t bad, k = sa_text_utf8_next(u + p, *b - p, &cp, &bad);
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
