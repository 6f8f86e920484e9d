/* csv.h: a strict RFC 4180 CSV reader (quoted fields with "" escapes, embedded newlines, CRLF
 * or LF line ends).
 *
 * The whole file is parsed into a table of NUL-terminated cells. Errors name the file, the line
 * and, where it helps, the column: an unterminated quote, text after a closing quote, a row
 * with the wrong number of fields, invalid UTF-8, an empty file. */
#ifndef SAFEARITH_FORMATS_CSV_H
#define SAFEARITH_FORMATS_CSV_H

#include <stddef.h>

#include "safearith/error.h"

typedef struct sa_csv {
    size_t n_rows;   /* data rows (the header, if any, is not counted) */
    size_t n_cols;   /* fields per row (from the header or the first row) */
    char **header;   /* n_cols names, or NULL without a header */
    char **cells;    /* n_rows * n_cols, row-major */
    size_t *line_of; /* 1-based line on which each data row starts */
} sa_csv;

/* Parse `len` bytes of CSV text. With has_header the first row names the columns. With
 * ragged == 0 every row must have n_cols fields; with ragged != 0 extra fields are joined back
 * with "," into the last column and missing ones are empty (for headerless one-item-per-line
 * files where some lines contain a bare comma). `path` is used in messages only. */
sa_status sa_csv_parse(const char *text, size_t len, const char *path, int has_header, int ragged,
                       sa_csv *out, sa_error *err);
/* Read and parse a file. */
sa_status sa_csv_read(const char *path, int has_header, int ragged, sa_csv *out, sa_error *err);
void sa_csv_free(sa_csv *t);
/* Column index of `name` in the header, or -1. */
int sa_csv_col(const sa_csv *t, const char *name);
static inline const char *sa_csv_cell(const sa_csv *t, size_t row, size_t col) {
    return t->cells[row * t->n_cols + col];
}

#endif
