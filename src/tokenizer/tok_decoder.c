/* tok_decoder.c: tokenizer.json "decoder" components: from token strings back to text.
 *
 * Supported: Sequence, ByteLevel (byte alphabet back to bytes, invalid UTF-8 replaced by U+FFFD
 * as String::from_utf8_lossy does), Metaspace (replacement back to space; dropped in the first
 * token unless prepend_scheme is never), ByteFallback (runs of <0xXX> tokens back to text; a run
 * that is not valid UTF-8 becomes one U+FFFD per byte, as tokenizers does), Fuse, Strip,
 * Replace (string pattern) and BPEDecoder (end-of-word suffix). Others are refused by name. */
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <limits.h>
#include <string.h>

#include "tokenizer/tok_internal.h"

/* A count (Strip's start and stop): clamped to [0, INT_MAX] before the conversion, which is
 * undefined for values beyond int. */
static int jint(const cJSON *j, const char *key) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);
    if (!cJSON_IsNumber(v) || !(v->valuedouble > 0)) return 0;
    return v->valuedouble < INT_MAX ? (int)v->valuedouble : INT_MAX;
}

static sa_status parse_kind(const cJSON *j, const char *type, tok_decoder *d, sa_error *err) {
    if (!strcmp(type, "ByteLevel"))
        d->type = TOK_DEC_BYTELEVEL;
    else if (!strcmp(type, "ByteFallback"))
        d->type = TOK_DEC_BYTEFALLBACK;
    else if (!strcmp(type, "Fuse"))
        d->type = TOK_DEC_FUSE;
    else if (!strcmp(type, "Metaspace")) {
        d->type = TOK_DEC_METASPACE;
        const char *r = tok_json_str(j, "replacement");
        d->replacement = tok_strdup(r ? r : "\xE2\x96\x81");
        return tok_prepend_parse(j, &d->prepend, err);
    } else if (!strcmp(type, "Strip")) {
        d->type = TOK_DEC_STRIP;
        const char *c = tok_json_str(j, "content");
        if (!c) return sa_error_set(err, SA_EFORMAT, "decoder Strip: no \"content\"");
        d->content = tok_strdup(c);
        d->start = jint(j, "start");
        d->stop = jint(j, "stop");
    } else if (!strcmp(type, "Replace")) {
        d->type = TOK_DEC_REPLACE;
        const cJSON *pat = cJSON_GetObjectItemCaseSensitive(j, "pattern");
        const char *lit = tok_json_str(pat, "String"), *c = tok_json_str(j, "content");
        if (!lit)
            return sa_error_set(err, SA_EUNSUPPORTED,
                                "decoder Replace with a regex pattern is not supported");
        if (!c) return sa_error_set(err, SA_EFORMAT, "decoder Replace: no \"content\"");
        d->pattern = tok_strdup(lit);
        d->content = tok_strdup(c);
    } else if (!strcmp(type, "BPEDecoder")) {
        d->type = TOK_DEC_BPE;
        const char *s = tok_json_str(j, "suffix");
        d->content = tok_strdup(s ? s : "</w>");
    } else {
        return sa_error_set(err, SA_EUNSUPPORTED, "decoder type \"%s\" is not supported", type);
    }
    return SA_OK;
}

sa_status tok_decoder_parse(const cJSON *j, tok_decoder **out, sa_error *err) {
    *out = NULL;
    if (!j || cJSON_IsNull(j)) return SA_OK;
    const char *type = tok_json_str(j, "type");
    if (!type) return sa_error_set(err, SA_EFORMAT, "decoder without a \"type\"");
    tok_decoder *d = calloc(1, sizeof *d);
    if (!d) return sa_error_set(err, SA_ENOMEM, "decoder");
    sa_status st = SA_OK;
    if (!strcmp(type, "Sequence")) {
        d->type = TOK_DEC_SEQUENCE;
        const cJSON *arr = cJSON_GetObjectItemCaseSensitive(j, "decoders");
        int k = cJSON_GetArraySize(arr);
        d->kids = calloc(k ? (size_t)k : 1, sizeof *d->kids);
        if (!d->kids) st = sa_error_set(err, SA_ENOMEM, "decoder Sequence");
        for (int i = 0; st == SA_OK && i < k; i++) {
            st = tok_decoder_parse(cJSON_GetArrayItem(arr, i), &d->kids[d->n_kids], err);
            if (d->kids[d->n_kids]) d->n_kids++;
        }
    } else {
        st = parse_kind(j, type, d, err);
    }
    if (st != SA_OK) {
        tok_decoder_free(d);
        return st;
    }
    *out = d;
    return SA_OK;
}

void tok_decoder_free(tok_decoder *d) {
    if (!d) return;
    for (size_t i = 0; i < d->n_kids; i++) tok_decoder_free(d->kids[i]);
    free(d->kids);
    free(d->replacement);
    free(d->pattern);
    free(d->content);
    free(d);
}

/* Append s with every occurrence of pat replaced by rep. */
static int put_replaced(tok_buf *b, const char *s, size_t n, const char *pat, const char *rep) {
    size_t pn = strlen(pat), rn = strlen(rep), i = 0;
    while (pn && i < n) {
        const char *hit = memmem(s + i, n - i, pat, pn);
        if (!hit) break;
        size_t at = (size_t)(hit - s);
        if (tok_buf_put(b, s + i, at - i) || tok_buf_put(b, rep, rn)) return -1;
        i = at + pn;
    }
    return tok_buf_put(b, s + i, n - i);
}

static int byte_token(const char *s, size_t n) {
    if (n != 6 || memcmp(s, "<0x", 3) || s[5] != '>') return -1;
    int v = 0;
    for (int i = 3; i < 5; i++) {
        char c = s[i];
        int d = c >= '0' && c <= '9'   ? c - '0'
                : c >= 'a' && c <= 'f' ? c - 'a' + 10
                : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                       : -1;
        if (d < 0) return -1;
        v = v * 16 + d;
    }
    return v;
}

static int flush_bytes(tok_pieces *out, tok_buf *bytes) {
    if (!bytes->n) return 0;
    int rc;
    if (sa_text_utf8_valid(bytes->s, bytes->n, NULL))
        rc = tok_pieces_add(out, bytes->s, bytes->n, 0);
    else {
        size_t start;
        tok_pieces_begin(out, &start);
        rc = 0;
        for (size_t i = 0; i < bytes->n && !rc; i++) rc = tok_buf_put(&out->buf, "\xEF\xBF\xBD", 3);
        if (!rc) rc = tok_pieces_end(out, start, 0);
    }
    bytes->n = 0;
    return rc;
}

static int byte_fallback(const tok_pieces *in, tok_pieces *out, int *open) {
    tok_buf bytes = {0};
    int rc = 0;
    for (size_t i = 0; i < in->n && !rc; i++) {
        int v = byte_token(tok_piece_str(in, i), in->p[i].len);
        if (v >= 0) {
            char c = (char)v;
            rc = tok_buf_put(&bytes, &c, 1);
        } else {
            rc = flush_bytes(out, &bytes) ||
                 tok_pieces_add(out, tok_piece_str(in, i), in->p[i].len, 0);
        }
    }
    if (bytes.n) *open = 1;
    if (!rc) rc = flush_bytes(out, &bytes);
    tok_buf_free(&bytes);
    return rc;
}

/* The bytes of one piece's byte-level characters (or, when it has others, its own bytes). */
static int put_level_bytes(tok_buf *raw, const unsigned char *s, size_t n) {
    size_t mark = raw->n;
    for (size_t j = 0; j < n;) {
        uint32_t cp;
        size_t bad, k = sa_text_utf8_next(s + j, n - j, &cp, &bad);
        int b = k ? tok_bytelevel_byte(cp) : -1;
        if (b < 0) { /* not all byte-level characters: the token's own bytes */
            raw->n = mark;
            return tok_buf_put(raw, s, n);
        }
        char c = (char)b;
        if (tok_buf_put(raw, &c, 1)) return -1;
        j += k;
    }
    return 0;
}

/* All pieces' bytes as one piece, written in place; only ill-formed UTF-8 needs a second buffer
 * (to be replaced by U+FFFD). */
static int byte_level(const tok_pieces *in, tok_pieces *out, int *open) {
    size_t start;
    tok_pieces_begin(out, &start);
    for (size_t i = 0; i < in->n; i++)
        if (put_level_bytes(&out->buf, (const unsigned char *)tok_piece_str(in, i), in->p[i].len))
            return -1;
    size_t n = out->buf.n - start;
    const char *raw = n ? out->buf.s + start : "";
    if (tok_utf8_open_tail(raw, n)) *open = 1;
    if (!sa_text_utf8_valid(raw, n, NULL)) {
        tok_buf clean = {0};
        int rc = tok_utf8_sanitize(raw, n, &clean);
        out->buf.n = start;
        rc = rc || tok_buf_put(&out->buf, clean.s, clean.n);
        tok_buf_free(&clean);
        if (rc) return -1;
    }
    return tok_pieces_end(out, start, 0);
}

static int strip(const tok_decoder *d, const char *s, size_t n, tok_pieces *out) {
    size_t cl = strlen(d->content), a = 0, b = n;
    for (int i = 0; i < d->start && cl && a + cl <= b && !memcmp(s + a, d->content, cl); i++)
        a += cl;
    for (int i = 0; i < d->stop && cl && b >= a + cl && !memcmp(s + b - cl, d->content, cl); i++)
        b -= cl;
    return tok_pieces_add(out, s + a, b - a, 0);
}

static int one(const tok_decoder *d, const tok_pieces *in, tok_pieces *out, int *open) {
    size_t start;
    switch (d->type) {
    case TOK_DEC_BYTEFALLBACK:
        return byte_fallback(in, out, open);
    case TOK_DEC_BYTELEVEL:
        return byte_level(in, out, open);
    case TOK_DEC_FUSE:
        tok_pieces_begin(out, &start);
        for (size_t i = 0; i < in->n; i++)
            if (tok_buf_put(&out->buf, tok_piece_str(in, i), in->p[i].len)) return -1;
        return tok_pieces_end(out, start, 0);
    default:
        break;
    }
    for (size_t i = 0; i < in->n; i++) {
        const char *s = tok_piece_str(in, i);
        size_t n = in->p[i].len;
        int rc;
        tok_pieces_begin(out, &start);
        switch (d->type) {
        case TOK_DEC_STRIP:
            if (strip(d, s, n, out)) return -1;
            continue;
        case TOK_DEC_REPLACE:
            rc = put_replaced(&out->buf, s, n, d->pattern, d->content);
            break;
        case TOK_DEC_BPE:
            rc = put_replaced(&out->buf, s, n, d->content, i + 1 == in->n ? "" : " ");
            break;
        case TOK_DEC_METASPACE:
            rc = put_replaced(&out->buf, s, n, d->replacement,
                              i == 0 && d->prepend != TOK_PREPEND_NEVER ? "" : " ");
            break;
        default:
            rc = -1;
            break;
        }
        if (rc || tok_pieces_end(out, start, 0)) return -1;
    }
    return 0;
}

int tok_decode_chain(const tok_decoder *d, tok_pieces *io, tok_pieces *tmp, int *open) {
    if (d->type == TOK_DEC_SEQUENCE) {
        for (size_t i = 0; i < d->n_kids; i++)
            if (tok_decode_chain(d->kids[i], io, tmp, open)) return -1;
        return 0;
    }
    tok_pieces_clear(tmp);
    if (one(d, io, tmp, open)) return -1;
    tok_pieces t = *io;
    *io = *tmp;
    *tmp = t;
    return 0;
}
