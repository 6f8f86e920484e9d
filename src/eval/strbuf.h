/* strbuf.h: a growing string for the evaluation's Markdown and SVG writers (internal). */
#ifndef SAFEARITH_EVAL_STRBUF_H
#define SAFEARITH_EVAL_STRBUF_H

#include <stddef.h>

typedef struct sa_sbuf {
    char *s; /* NUL-terminated once anything was written; NULL before */
    size_t n, cap;
    int oom; /* an allocation failed: the text is incomplete */
} sa_sbuf;

void sa_sbuf_printf(sa_sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Append n bytes (which may hold NULs; the text stays NUL-terminated). */
void sa_sbuf_append(sa_sbuf *b, const void *data, size_t n);
/* Append text with &, <, >, " escaped for XML. */
void sa_sbuf_xml(sa_sbuf *b, const char *text);
/* Append text with | and newlines escaped for a Markdown table cell. */
void sa_sbuf_md(sa_sbuf *b, const char *text);

#endif
