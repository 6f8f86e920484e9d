/* strbuf.h: a growing string for the evaluation's Markdown and SVG writers (internal). */
#ifndef SAFEARITH_EVAL_STRBUF_H
#define SAFEARITH_EVAL_STRBUF_H

#include <stddef.h>

typedef struct sa_strbuf {
    char *s; /* NUL-terminated once anything was written; NULL before */
    size_t n, cap;
    int oom; /* an allocation failed: the text is incomplete */
} sa_strbuf;

void sa_strbuf_printf(sa_strbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Append text with &, <, >, " escaped for XML. */
void sa_strbuf_xml(sa_strbuf *b, const char *text);
/* Append text with | and newlines escaped for a Markdown table cell. */
void sa_strbuf_md(sa_strbuf *b, const char *text);

#endif
