/* strbuf.c: printf-style appending to a growing string, with XML and Markdown-cell escaping. */
#include "eval/strbuf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void sa_sbuf_printf(sa_sbuf *b, const char *fmt, ...) {
    va_list ap;
    for (;;) {
        va_start(ap, fmt);
        int need = vsnprintf(b->s ? b->s + b->n : NULL, b->s ? b->cap - b->n : 0, fmt, ap);
        va_end(ap);
        if (need < 0) return;
        if (b->s && b->n + (size_t)need < b->cap) {
            b->n += (size_t)need;
            return;
        }
        size_t cap = (b->cap + (size_t)need + 1) * 2;
        char *s = realloc(b->s, cap);
        if (!s) {
            b->oom = 1;
            return;
        }
        b->s = s, b->cap = cap;
    }
}

void sa_sbuf_append(sa_sbuf *b, const void *data, size_t n) {
    if (b->n + n + 1 > b->cap) {
        size_t cap = (b->n + n + 1) * 2;
        char *s = realloc(b->s, cap);
        if (!s) {
            b->oom = 1;
            return;
        }
        b->s = s, b->cap = cap;
    }
    memcpy(b->s + b->n, data, n);
    b->n += n;
    b->s[b->n] = 0;
}

void sa_sbuf_xml(sa_sbuf *b, const char *t) {
    for (; *t; t++) {
        switch (*t) {
        case '&':
            sa_sbuf_printf(b, "&amp;");
            break;
        case '<':
            sa_sbuf_printf(b, "&lt;");
            break;
        case '>':
            sa_sbuf_printf(b, "&gt;");
            break;
        case '"':
            sa_sbuf_printf(b, "&quot;");
            break;
        default:
            sa_sbuf_printf(b, "%c", *t);
        }
    }
}

void sa_sbuf_md(sa_sbuf *b, const char *t) {
    for (; *t; t++) {
        if (*t == '|')
            sa_sbuf_printf(b, "\\|");
        else if (*t == '\n')
            sa_sbuf_printf(b, " ");
        else
            sa_sbuf_printf(b, "%c", *t);
    }
}
