/* text.c: the checks every text format applies to its bytes before parsing (see text.h). */
#include "formats/text.h"

#include <stdint.h>
#include <string.h>

int sa_text_utf8_valid(const char *s, size_t n, size_t *bad) {
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        unsigned c = p[i];
        size_t k;
        uint32_t cp, min;
        if (c < 0x80) {
            i++;
            continue;
        } else if ((c & 0xE0) == 0xC0)
            k = 1, cp = c & 0x1F, min = 0x80;
        else if ((c & 0xF0) == 0xE0)
            k = 2, cp = c & 0x0F, min = 0x800;
        else if ((c & 0xF8) == 0xF0)
            k = 3, cp = c & 0x07, min = 0x10000;
        else
            goto fail;
        for (size_t j = 1; j <= k; j++) {
            if (i + j >= n || (p[i + j] & 0xC0) != 0x80) goto fail;
            cp = (cp << 6) | (p[i + j] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) goto fail;
        i += k + 1;
    }
    return 1;
fail:
    if (bad) *bad = i;
    return 0;
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
