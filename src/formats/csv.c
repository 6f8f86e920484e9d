/* csv.c: strict RFC 4180 CSV parsing into a table of cells.
 *
 * One pass over the bytes with two states (inside or outside quotes). A field that starts with a
 * quote runs to the matching quote ("" is a literal quote, newlines are kept); anything but a
 * comma or a line end after the closing quote is an error, and so is a quote inside an unquoted
 * field: silently "repairing" such files is how rows end up shifted by one column. Blank lines
 * are skipped. The text is checked first (text.h) so that every later stage can trust it. */
#include "formats/csv.h"

#include <stdlib.h>
#include <string.h>

#include "formats/text.h"
#include "core/fsutil.h"

typedef struct strvec {
    char **v;
    size_t n, cap;
} strvec;

static int strvec_push(strvec *sv, char *s) {
    if (sv->n == sv->cap) {
        size_t cap = sv->cap ? sv->cap * 2 : 16;
        char **v = realloc(sv->v, cap * sizeof *v);
        if (!v) return -1;
        sv->v = v;
        sv->cap = cap;
    }
    sv->v[sv->n++] = s;
    return 0;
}

static void strvec_free(strvec *sv) {
    for (size_t i = 0; i < sv->n; i++) free(sv->v[i]);
    free(sv->v);
    memset(sv, 0, sizeof *sv);
}

/* The bytes that end an unquoted field (a NUL never reaches here: sa_text_check). */
static int ends_field(char c) {
    return c == ',' || c == '\r' || c == '\n';
}

typedef struct parser {
    const char *t;
    size_t len, pos, line;
    const char *path;
    sa_error *err;
} parser;

/* Parse one field starting at p->pos into a malloc'd string. */
static sa_status parse_field(parser *p, size_t field_no, char **out) {
    size_t cap = 64, n = 0;
    char *buf = malloc(cap);
    if (!buf) return sa_error_set(p->err, SA_ENOMEM, "%s: out of memory", p->path);
#define PUT(ch)                                                                                    \
    do {                                                                                           \
        if (n + 1 >= cap) {                                                                        \
            char *nb = realloc(buf, cap *= 2);                                                     \
            if (!nb) {                                                                             \
                free(buf);                                                                         \
                return sa_error_set(p->err, SA_ENOMEM, "%s: out of memory", p->path);              \
            }                                                                                      \
            buf = nb;                                                                              \
        }                                                                                          \
        buf[n++] = (ch);                                                                           \
    } while (0)
    if (p->pos < p->len && p->t[p->pos] == '"') {
        size_t start_line = p->line;
        p->pos++;
        for (;;) {
            if (p->pos >= p->len) {
                free(buf);
                return sa_error_set(p->err, SA_EFORMAT,
                                    "%s: line %zu: unterminated quoted field %zu (quote opened "
                                    "here, never closed)",
                                    p->path, start_line, field_no);
            }
            char c = p->t[p->pos];
            if (c == '"') {
                if (p->pos + 1 < p->len && p->t[p->pos + 1] == '"') {
                    PUT('"');
                    p->pos += 2;
                    continue;
                }
                p->pos++;
                break;
            }
            if (c == '\n') p->line++;
            PUT(c);
            p->pos++;
        }
        if (p->pos < p->len && !ends_field(p->t[p->pos])) {
            free(buf);
            return sa_error_set(p->err, SA_EFORMAT,
                                "%s: line %zu: text after the closing quote of field %zu", p->path,
                                p->line, field_no);
        }
    } else {
        while (p->pos < p->len && !ends_field(p->t[p->pos])) {
            if (p->t[p->pos] == '"') {
                free(buf);
                return sa_error_set(p->err, SA_EFORMAT,
                                    "%s: line %zu: quote inside unquoted field %zu (quote the "
                                    "field and double the quote)",
                                    p->path, p->line, field_no);
            }
            PUT(p->t[p->pos]);
            p->pos++;
        }
    }
#undef PUT
    buf[n] = 0;
    *out = buf;
    return SA_OK;
}

/* Parse one record into fields; *blank is set for an empty line. */
static sa_status parse_record(parser *p, strvec *fields, int *blank) {
    size_t start = p->pos;
    for (;;) {
        char *f = NULL;
        sa_status st = parse_field(p, fields->n + 1, &f);
        if (st) return st;
        if (strvec_push(fields, f)) {
            free(f);
            return sa_error_set(p->err, SA_ENOMEM, "%s: out of memory", p->path);
        }
        if (p->pos < p->len && p->t[p->pos] == ',') {
            p->pos++;
            continue;
        }
        break;
    }
    *blank = fields->n == 1 && p->pos == start;
    if (p->pos < p->len && p->t[p->pos] == '\r') p->pos++;
    if (p->pos < p->len && p->t[p->pos] == '\n') p->pos++;
    p->line++;
    return SA_OK;
}

/* Fit a record to n_cols fields (ragged mode) or check its width. */
static sa_status fit_record(parser *p, strvec *f, size_t n_cols, int ragged, size_t line) {
    if (f->n == n_cols) return SA_OK;
    if (!ragged)
        return sa_error_set(p->err, SA_EFORMAT, "%s: line %zu: %zu fields, expected %zu", p->path,
                            line, f->n, n_cols);
    while (f->n < n_cols) {
        char *e = strdup("");
        if (!e || strvec_push(f, e)) return sa_error_set(p->err, SA_ENOMEM, "out of memory");
    }
    size_t total = 0;
    for (size_t i = n_cols - 1; i < f->n; i++) total += strlen(f->v[i]) + 1;
    char *joined = malloc(total + 1);
    if (!joined) return sa_error_set(p->err, SA_ENOMEM, "out of memory");
    joined[0] = 0;
    for (size_t i = n_cols - 1; i < f->n; i++) {
        if (i > n_cols - 1) strcat(joined, ",");
        strcat(joined, f->v[i]);
        free(f->v[i]);
    }
    f->v[n_cols - 1] = joined;
    f->n = n_cols;
    return SA_OK;
}

sa_status sa_csv_parse(const char *text, size_t len, const char *path, int has_header, int ragged,
                       sa_csv *out, sa_error *err) {
    memset(out, 0, sizeof *out);
    sa_status st = sa_text_check(text, len, path, err);
    if (st) return st;
    parser p = {text, len, 0, 1, path, err};
    if (len >= 3 && !memcmp(text, "\xEF\xBB\xBF", 3)) p.pos = 3;
    strvec cells = {0}, fields = {0};
    size_t *lines = NULL, n_rows = 0, lines_cap = 0, n_cols = 0;
    int have_width = 0;
    while (p.pos < p.len) {
        size_t line = p.line;
        int blank = 0;
        if ((st = parse_record(&p, &fields, &blank))) goto fail;
        if (blank) {
            strvec_free(&fields);
            continue;
        }
        if (!have_width) {
            n_cols = fields.n;
            have_width = 1;
            if (has_header) {
                out->header = fields.v;
                memset(&fields, 0, sizeof fields);
                continue;
            }
        }
        if ((st = fit_record(&p, &fields, n_cols, ragged, line))) goto fail;
        for (size_t i = 0; i < fields.n; i++)
            if (strvec_push(&cells, fields.v[i])) {
                for (size_t j = i; j < fields.n; j++) free(fields.v[j]);
                free(fields.v);
                memset(&fields, 0, sizeof fields);
                st = sa_error_set(err, SA_ENOMEM, "%s: out of memory", path);
                goto fail;
            }
        free(fields.v);
        memset(&fields, 0, sizeof fields);
        if (n_rows == lines_cap) {
            lines_cap = lines_cap ? lines_cap * 2 : 64;
            size_t *nl = realloc(lines, lines_cap * sizeof *nl);
            if (!nl) {
                st = sa_error_set(err, SA_ENOMEM, "%s: out of memory", path);
                goto fail;
            }
            lines = nl;
        }
        lines[n_rows++] = line;
    }
    if (!have_width) {
        st = sa_error_set(err, SA_EFORMAT, "%s: empty file (no CSV rows)", path);
        goto fail;
    }
    out->n_rows = n_rows;
    out->n_cols = n_cols;
    out->cells = cells.v;
    out->line_of = lines;
    return SA_OK;
fail:
    strvec_free(&fields);
    strvec_free(&cells);
    free(lines);
    if (out->header) {
        for (size_t i = 0; i < n_cols; i++) free(out->header[i]);
        free(out->header);
    }
    memset(out, 0, sizeof *out);
    return st;
}

sa_status sa_csv_read(const char *path, int has_header, int ragged, sa_csv *out, sa_error *err) {
    char *data = NULL;
    size_t len = 0;
    sa_status st = sa_read_file(path, &data, &len, err);
    if (st) return st;
    st = sa_csv_parse(data, len, path, has_header, ragged, out, err);
    free(data);
    return st;
}

void sa_csv_free(sa_csv *t) {
    if (!t) return;
    for (size_t i = 0; i < t->n_rows * t->n_cols; i++) free(t->cells[i]);
    free(t->cells);
    if (t->header)
        for (size_t i = 0; i < t->n_cols; i++) free(t->header[i]);
    free(t->header);
    free(t->line_of);
    memset(t, 0, sizeof *t);
}

int sa_csv_col(const sa_csv *t, const char *name) {
    if (!t->header) return -1;
    for (size_t i = 0; i < t->n_cols; i++)
        if (!strcmp(t->header[i], name)) return (int)i;
    return -1;
}
