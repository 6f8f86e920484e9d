/* tok_buf.c: growable byte buffers and piece lists for the tokenizer pipeline.
 *
 * Every stage of encoding writes its output into one of these; they keep their capacity between
 * calls so that steady-state encoding allocates nothing. Functions return 0 or -1 on OOM. */
#include <stdlib.h>
#include <string.h>

#include "tokenizer/tok_internal.h"

int tok_buf_reserve(tok_buf *b, size_t extra) {
    if (b->n + extra + 1 <= b->cap) return 0;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < b->n + extra + 1) cap *= 2;
    char *s = realloc(b->s, cap);
    if (!s) return -1;
    b->s = s;
    b->cap = cap;
    return 0;
}

int tok_buf_put(tok_buf *b, const void *p, size_t n) {
    if (tok_buf_reserve(b, n)) return -1;
    if (n) memcpy(b->s + b->n, p, n);
    b->n += n;
    b->s[b->n] = 0;
    return 0;
}

int tok_buf_putc(tok_buf *b, char c) {
    return tok_buf_put(b, &c, 1);
}

int tok_buf_put_cp(tok_buf *b, uint32_t cp) {
    unsigned char u[4];
    size_t n;
    if (cp < 0x80) {
        u[0] = (unsigned char)cp;
        n = 1;
    } else if (cp < 0x800) {
        u[0] = (unsigned char)(0xC0 | (cp >> 6));
        u[1] = (unsigned char)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        u[0] = (unsigned char)(0xE0 | (cp >> 12));
        u[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        u[2] = (unsigned char)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        u[0] = (unsigned char)(0xF0 | (cp >> 18));
        u[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
        u[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        u[3] = (unsigned char)(0x80 | (cp & 0x3F));
        n = 4;
    }
    return tok_buf_put(b, u, n);
}

void tok_buf_free(tok_buf *b) {
    free(b->s);
    memset(b, 0, sizeof *b);
}

void tok_pieces_clear(tok_pieces *l) {
    l->buf.n = 0;
    l->n = 0;
}

static int grow(tok_pieces *l) {
    if (l->n < l->cap) return 0;
    size_t cap = l->cap ? l->cap * 2 : 32;
    tok_piece *p = realloc(l->p, cap * sizeof *p);
    if (!p) return -1;
    l->p = p;
    l->cap = cap;
    return 0;
}

int tok_pieces_add(tok_pieces *l, const char *s, size_t n, int first) {
    if (grow(l)) return -1;
    size_t off = l->buf.n;
    if (tok_buf_put(&l->buf, s, n)) return -1;
    l->p[l->n++] = (tok_piece){off, n, first};
    return 0;
}

void tok_pieces_begin(tok_pieces *l, size_t *start) {
    *start = l->buf.n;
}

int tok_pieces_end(tok_pieces *l, size_t start, int first) {
    if (grow(l) || tok_buf_reserve(&l->buf, 0)) return -1;
    l->p[l->n++] = (tok_piece){start, l->buf.n - start, first};
    return 0;
}

void tok_pieces_free(tok_pieces *l) {
    tok_buf_free(&l->buf);
    free(l->p);
    memset(l, 0, sizeof *l);
}
