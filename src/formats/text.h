/* text.h: what every text format safearith reads (CSV, JSON, JSONL, plain lines, tokenizer.json)
 * requires of its bytes before parsing: valid UTF-8 and no NUL byte, with errors that name the
 * line and offset. The UTF-8 decoder here is also the tokenizer's, so that what counts as valid
 * UTF-8 is written once. */
#ifndef SAFEARITH_FORMATS_TEXT_H
#define SAFEARITH_FORMATS_TEXT_H

#include <stddef.h>
#include <stdint.h>

#include "safearith/error.h"

/* Decode the code point at s[0..n) (n >= 1) into *cp and return its length (1..4); return 0 if
 * the bytes there are not well-formed UTF-8 (an overlong form, a surrogate, a code point above
 * U+10FFFF or a truncated sequence), with *bad the length of the maximal ill-formed subpart: the
 * bytes that one U+FFFD replaces (as Python's errors="replace" and WHATWG decoders do). */
size_t sa_text_utf8_next(const unsigned char *s, size_t n, uint32_t *cp, size_t *bad);
/* 1 if s[0..n) is valid UTF-8 (every code point decodes with sa_text_utf8_next); otherwise 0
 * and *bad (if not NULL) receives the offset where the first ill-formed sequence starts. */
int sa_text_utf8_valid(const char *s, size_t n, size_t *bad);
/* 1-based line number of byte offset `off` in text. */
size_t sa_text_line_of(const char *text, size_t off);
/* What every text file safearith reads (CSV, JSON, JSONL, plain lines, tokenizer.json, the
 * safetensors index) requires: valid UTF-8 and no NUL byte (C strings would end there, silently
 * cutting a field). SA_EFORMAT naming the path, line and offset otherwise. */
sa_status sa_text_check(const char *text, size_t len, const char *path, sa_error *err);

#endif
