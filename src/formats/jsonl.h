/* jsonl.h: reading JSON Lines and whole-file JSON with errors that name the file and line.
 *
 * cJSON does the parsing; this layer adds what a data loader needs: UTF-8 validation first,
 * blank lines skipped, a truncated or malformed line reported by its number, an empty file
 * refused. Used by the evaluation datasets and the run directory's responses.jsonl. */
#ifndef SAFEARITH_FORMATS_JSONL_H
#define SAFEARITH_FORMATS_JSONL_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "safearith/error.h"

/* Parse JSONL text into a cJSON array with one element per non-blank line (caller frees with
 * cJSON_Delete). If line_of is not NULL it receives a malloc'd array of 1-based line numbers.
 * With allow_empty == 0 a file without any object is an error. */
sa_status sa_jsonl_parse(const char *text, size_t len, const char *path, int allow_empty,
                         cJSON **out, size_t **line_of, sa_error *err);
sa_status sa_jsonl_read(const char *path, int allow_empty, cJSON **out, size_t **line_of,
                        sa_error *err);
/* Parse a whole file as one JSON value (after UTF-8 validation). */
sa_status sa_json_read(const char *path, cJSON **out, sa_error *err);
/* Parse text as one JSON value; path names it in messages. */
sa_status sa_json_parse(const char *text, size_t len, const char *path, cJSON **out, sa_error *err);

/* After cJSON failed on text[0..len): 1 if cJSON would have accepted it with the memory (so the
 * failure was an allocation), 0 if the text is not JSON as cJSON reads it. Allocates nothing. */
int sa_json_syntax_ok(const char *text, size_t len);

/* Attach item to parent under key (an object), or at its end (key NULL: an array). Unlike
 * cJSON_AddItemTo*, a failure (parent or item NULL: an allocation failed) frees the item, so that
 * `sa_json_attach(o, "k", cJSON_CreateNumber(x))` never leaks. Returns 1 if attached, else 0. */
int sa_json_attach(cJSON *parent, const char *key, cJSON *item);

/* A uint64 (a seed) as JSON: a string of decimal digits, exact where a JSON number (a double)
 * is not, above 2^53. NULL if out of memory. */
cJSON *sa_json_u64(uint64_t v);
/* The value of a sa_json_u64 string, or of a JSON number holding a whole number below 2^53 (as
 * files written before sa_json_u64 did). Returns 1 and sets *out, or 0 for anything else. */
int sa_json_get_u64(const cJSON *item, uint64_t *out);

#endif
