/* text.h: what every text format safearith reads (CSV, JSON, JSONL, plain lines, tokenizer.json)
 * requires of its bytes before parsing: valid UTF-8 and no NUL byte, with errors that name the
 * line and offset. */
#ifndef SAFEARITH_FORMATS_TEXT_H
#define SAFEARITH_FORMATS_TEXT_H

#include <stddef.h>

#include "safearith/error.h"

/* 1 if s[0..n) is valid UTF-8 (no overlong forms, surrogates or code points above U+10FFFF);
 * otherwise 0 and *bad (if not NULL) receives the offset of the first bad byte. */
int sa_text_utf8_valid(const char *s, size_t n, size_t *bad);
/* 1-based line number of byte offset `off` in text. */
size_t sa_text_line_of(const char *text, size_t off);
/* What every text file safearith reads (CSV, JSON, JSONL, plain lines, tokenizer.json, the
 * safetensors index) requires: valid UTF-8 and no NUL byte (C strings would end there, silently
 * cutting a field). SA_EFORMAT naming the path, line and offset otherwise. */
sa_status sa_text_check(const char *text, size_t len, const char *path, sa_error *err);

#endif
