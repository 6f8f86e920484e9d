/* text.c: the checks every text format applies to its bytes before parsing, and the UTF-8
 * decoder they share with the tokenizer (see text.h).
 *
 * Well-formed UTF-8 is Table 3-7 of the Unicode standard: each lead byte allows its continuation
 * bytes in 80..BF, except that the second byte after E0 is A0..BF (no overlong 3-byte forms),
 * after ED 80..9F (no surrogates), after F0 90..BF (no overlong 4-byte forms) and after F4
 * 80..8F (nothing above U+10FFFF); C0, C1 and F5..FF never occur. */
#include "formats/text.h"

#include <stdint.h>
#include <string.h>

size_t sa_text_utf8_next(const unsigned char *s, size_t n, uint32_t *cp, size_t *bad) {
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

int sa_text_utf8_valid(const char *s, size_t n, size_t *bad) {
    const unsigned char *p = (const unsigned char *)s;
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        size_t sub, k = p[i] < 0x80 ? 1 : sa_text_utf8_next(p + i, n - i, &cp, &sub);
        if (!k) {
            if (bad) *bad = i;
            return 0;
        }
        i += k;
    }
    return 1;
}

size_t sa_text_line_of(const char *text, size_t off) {
    size_t line = 1;
    for (size_t i = 0; i < off; i++) line += text[i] == '\n';
    return line;
}

sa_status sa_text_check(const char *text, size_t len, const char *path, sa_error *err) {
    size_t bad = 0;
    if (!sa_text_utf8_valid(text, len, &bad))
        return sa_error_set(err, SA_EFORMAT,
                            "%s: line %zu: invalid UTF-8 (byte 0x%02X at offset %zu)", path,
                            sa_text_line_of(text, bad), (unsigned char)text[bad], bad);
    const char *nul = memchr(text, 0, len);
    if (nul)
        return sa_error_set(err, SA_EFORMAT,
                            "%s: line %zu: NUL byte at offset %zu (not a text file?)", path,
                            sa_text_line_of(text, (size_t)(nul - text)), (size_t)(nul - text));
    return SA_OK;
}
