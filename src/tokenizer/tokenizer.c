/* tokenizer.c: encode, decode, streaming decode and vocabulary queries of sa_tokenizer.
 *
 * encode: sanitise UTF-8 -> split out added tokens in the raw text -> per text section:
 * normalise, split out normalized added tokens, pre-tokenise, BPE -> wrap in the post-
 * processor's BOS/EOS. decode: ids -> token strings (specials optionally dropped) -> decoder
 * chain -> optional clean_up_tokenization_spaces, as transformers' decode does. */
#include <stdlib.h>
#include <string.h>

#include "tokenizer/tok_internal.h"

void sa_tokens_free(sa_tokens *t) {
    free(t->ids);
    memset(t, 0, sizeof *t);
}

sa_status sa_tokens_push(sa_tokens *t, int32_t id, sa_error *err) {
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 64;
        int32_t *ids = realloc(t->ids, cap * sizeof *ids);
        if (!ids) return sa_error_set(err, SA_ENOMEM, "token list of %zu ids", t->n);
        t->ids = ids;
        t->cap = cap;
    }
    t->ids[t->n++] = id;
    return SA_OK;
}

/* ---- encoding ---- */
static sa_status encode_text(sa_tokenizer *t, const char *s, size_t n, int first, sa_tokens *out,
                             sa_error *err) {
    tok_pieces_clear(&t->pieces);
    if (tok_pieces_add(&t->pieces, s, n, first) ||
        tok_pretokenize(t->pretok, &t->pieces, &t->pieces_tmp, t->md))
        return sa_error_set(err, SA_ENOMEM, "pre-tokenizing %zu bytes", n);
    for (size_t i = 0; i < t->pieces.n; i++) {
        sa_status st =
            tok_bpe_encode(&t->bpe, tok_piece_str(&t->pieces, i), t->pieces.p[i].len, out, err);
        if (st != SA_OK) return st;
    }
    return SA_OK;
}

static sa_status encode_section(sa_tokenizer *t, const char *s, size_t n, int first, unsigned flags,
                                sa_tokens *out, sa_error *err) {
    if (!n) return SA_OK;
    if (tok_normalize(t->normalizer, s, n, &t->norm, &t->norm_tmp, t->md))
        return sa_error_set(err, SA_ENOMEM, "normalizing %zu bytes", n);
    const tok_trie *trie = (flags & SA_TOK_PARSE_SPECIAL) ? t->trie_norm : t->trie_norm_plain;
    if (!trie) return encode_text(t, t->norm.s, t->norm.n, first, out, err);
    if (tok_added_split(trie, t->added, t->norm.s, t->norm.n, &t->sections2))
        return sa_error_set(err, SA_ENOMEM, "added tokens");
    for (size_t i = 0; i < t->sections2.n; i++) {
        tok_section sec = t->sections2.s[i];
        sa_status st = sec.id >= 0 ? sa_tokens_push(out, sec.id, err)
                                   : encode_text(t, t->norm.s + sec.off, sec.len,
                                                 first && sec.off == 0, out, err);
        if (st != SA_OK) return st;
    }
    return SA_OK;
}

sa_status sa_tokenizer_encode(sa_tokenizer *t, const char *text, size_t len, unsigned flags,
                              sa_tokens *out, sa_error *err) {
    if (!text && len) return sa_error_set(err, SA_EINVAL, "encode: NULL text");
    if (tok_utf8_sanitize(text ? text : "", len, &t->sanitized))
        return sa_error_set(err, SA_ENOMEM, "encode: %zu bytes", len);
    const char *s = t->sanitized.s;
    size_t n = t->sanitized.n;
    sa_status st = SA_OK;
    if (flags & SA_TOK_ADD_SPECIAL)
        for (size_t i = 0; i < t->n_pre && st == SA_OK; i++)
            st = sa_tokens_push(out, t->pre_ids[i], err);
    const tok_trie *trie = (flags & SA_TOK_PARSE_SPECIAL) ? t->trie_all : t->trie_nospecial;
    if (st == SA_OK && tok_added_split(trie, t->added, s, n, &t->sections))
        st = sa_error_set(err, SA_ENOMEM, "added tokens");
    for (size_t i = 0; st == SA_OK && i < t->sections.n; i++) {
        tok_section sec = t->sections.s[i];
        /* the text is re-read from `sanitized`, which encode_section does not touch */
        st = sec.id >= 0 ? sa_tokens_push(out, sec.id, err)
                         : encode_section(t, s + sec.off, sec.len, sec.off == 0, flags, out, err);
    }
    if (flags & SA_TOK_ADD_SPECIAL)
        for (size_t i = 0; i < t->n_post && st == SA_OK; i++)
            st = sa_tokens_push(out, t->post_ids[i], err);
    return st;
}

/* ---- decoding ---- */
static int cleanup(tok_buf *in, tok_buf *tmp) {
    static const char *pairs[][2] = {{" .", "."},     {" ?", "?"},     {" !", "!"},   {" ,", ","},
                                     {" ' ", "'"},    {" n't", "n't"}, {" 'm", "'m"}, {" 's", "'s"},
                                     {" 've", "'ve"}, {" 're", "'re"}};
    for (size_t p = 0; p < sizeof pairs / sizeof *pairs; p++) {
        size_t pn = strlen(pairs[p][0]), i = 0;
        tmp->n = 0;
        while (i < in->n) {
            const char *hit = memmem(in->s + i, in->n - i, pairs[p][0], pn);
            if (!hit) break;
            size_t at = (size_t)(hit - in->s);
            if (tok_buf_put(tmp, in->s + i, at - i) ||
                tok_buf_put(tmp, pairs[p][1], strlen(pairs[p][1])))
                return -1;
            i = at + pn;
        }
        if (tok_buf_put(tmp, in->s + i, in->n - i)) return -1;
        tok_buf t = *in;
        *in = *tmp;
        *tmp = t;
    }
    return 0;
}

/* The piece an id contributes to a decode with these flags, or NULL (no token, or skipped). */
static const char *decoded_piece(const sa_tokenizer *t, int32_t id, unsigned flags) {
    const char *p = sa_tokenizer_id_to_piece(t, id);
    return p && !((flags & SA_DECODE_SKIP_SPECIAL) && sa_tokenizer_is_special(t, id)) ? p : NULL;
}

/* Piece lists a decode works in; a stream keeps them between steps so that steady-state decoding
 * allocates nothing. */
typedef struct decode_scratch {
    tok_pieces toks, tmp;
    int open; /* the decoder's: the text's end could still change (tok_decode_chain) */
} decode_scratch;

static void decode_scratch_free(decode_scratch *sc) {
    tok_pieces_free(&sc->toks);
    tok_pieces_free(&sc->tmp);
}

static sa_status decode_into(const sa_tokenizer *t, const int32_t *ids, size_t n, unsigned flags,
                             decode_scratch *sc, tok_buf *outb, sa_error *err) {
    tok_pieces *toks = &sc->toks;
    int rc = 0;
    tok_pieces_clear(toks);
    sc->open = 0;
    for (size_t i = 0; i < n && (flags & SA_DECODE_REFUSE_UNKNOWN); i++)
        if (!sa_tokenizer_id_to_piece(t, ids[i]))
            return sa_error_set(err, SA_EINVAL,
                                "id %d (position %zu) is not a token of this tokenizer "
                                "(vocabulary 0..%zu)",
                                (int)ids[i], i, sa_tokenizer_vocab_size(t) - 1);
    for (size_t i = 0; i < n && !rc; i++) {
        const char *p = decoded_piece(t, ids[i], flags);
        if (!p) continue;
        rc = tok_pieces_add(toks, p, strlen(p), 0);
    }
    if (!rc && t->decoder) rc = tok_decode_chain(t->decoder, toks, &sc->tmp, &sc->open);
    outb->n = 0;
    for (size_t i = 0; i < toks->n && !rc; i++) {
        if (!t->decoder && i && tok_buf_putc(outb, ' ')) rc = -1;
        if (!rc) rc = tok_buf_put(outb, tok_piece_str(toks, i), toks->p[i].len);
    }
    if (!rc) rc = tok_buf_put(outb, "", 0);
    if (!rc && t->cleanup && !(flags & SA_DECODE_NO_CLEANUP)) {
        tok_buf ctmp = {0};
        rc = cleanup(outb, &ctmp);
        tok_buf_free(&ctmp);
    }
    return rc ? sa_error_set(err, SA_ENOMEM, "decoding %zu ids", n) : SA_OK;
}

sa_status sa_tokenizer_decode(const sa_tokenizer *t, const int32_t *ids, size_t n, unsigned flags,
                              char **text, size_t *len, sa_error *err) {
    tok_buf b = {0};
    decode_scratch sc = {0};
    sa_status st = decode_into(t, ids, n, flags, &sc, &b, err);
    decode_scratch_free(&sc);
    if (st != SA_OK) {
        tok_buf_free(&b);
        return st;
    }
    *text = b.s;
    if (len) *len = b.n;
    return SA_OK;
}

/* ---- streaming ---- */
struct sa_tok_stream {
    const sa_tokenizer *tok;
    unsigned flags;
    sa_tokens ids;     /* context ids followed by ids not yet printed */
    size_t n_context;  /* leading ids already printed, kept as context */
    tok_buf prefix;    /* decode of the context ids */
    tok_buf text, out; /* scratch: decode of all ids; what a step returns */
    decode_scratch scratch;
};

sa_status sa_tok_stream_new(const sa_tokenizer *tok, unsigned decode_flags, sa_tok_stream **out,
                            sa_error *err) {
    *out = calloc(1, sizeof **out);
    if (!*out) return sa_error_set(err, SA_ENOMEM, "decode stream");
    (*out)->tok = tok;
    (*out)->flags = decode_flags | SA_DECODE_NO_CLEANUP;
    return SA_OK;
}

/* Emit what the pending ids add to the context's text (when complete or forced). */
static sa_status stream_emit(sa_tok_stream *s, int force, const char **text, size_t *len,
                             sa_error *err) {
    s->out.n = 0;
    tok_buf_put(&s->out, "", 0);
    *text = s->out.s ? s->out.s : "";
    *len = 0;
    sa_status st = decode_into(s->tok, s->ids.ids, s->ids.n, s->flags, &s->scratch, &s->text, err);
    if (st != SA_OK) return st;
    /* held back while the decoder says that the end may still change: bytes of a character not
     * complete yet, or a run of byte tokens (Hugging Face's ByteFallback decodes a run as a whole,
     * and a run that is not UTF-8 becomes one U+FFFD per byte, valid bytes included) */
    if (s->text.n <= s->prefix.n || (!force && s->scratch.open)) return SA_OK;
    if (memcmp(s->text.s, s->prefix.s ? s->prefix.s : "", s->prefix.n))
        return sa_error_set(err, SA_EINVAL, "decode stream: the decoder rewrote earlier text");
    if (tok_buf_put(&s->out, s->text.s + s->prefix.n, s->text.n - s->prefix.n))
        return sa_error_set(err, SA_ENOMEM, "decode stream");
    /* the ids just printed become the context of the next step */
    size_t drop = s->n_context;
    memmove(s->ids.ids, s->ids.ids + drop, (s->ids.n - drop) * sizeof *s->ids.ids);
    s->ids.n -= drop;
    s->n_context = s->ids.n;
    st = decode_into(s->tok, s->ids.ids, s->ids.n, s->flags, &s->scratch, &s->prefix, err);
    *text = s->out.s;
    *len = s->out.n;
    return st;
}

sa_status sa_tok_stream_step(sa_tok_stream *s, int32_t id, const char **text, size_t *len,
                             sa_error *err) {
    sa_status st = sa_tokens_push(&s->ids, id, err);
    if (st != SA_OK) return st;
    return stream_emit(s, 0, text, len, err);
}

sa_status sa_tok_stream_flush(sa_tok_stream *s, const char **text, size_t *len, sa_error *err) {
    return stream_emit(s, 1, text, len, err);
}

void sa_tok_stream_free(sa_tok_stream *s) {
    if (!s) return;
    sa_tokens_free(&s->ids);
    tok_buf_free(&s->prefix);
    tok_buf_free(&s->text);
    tok_buf_free(&s->out);
    decode_scratch_free(&s->scratch);
    free(s);
}

/* ---- vocabulary ---- */
int32_t sa_tokenizer_bos_id(const sa_tokenizer *t) {
    return t->bos_id;
}
int32_t sa_tokenizer_eos_id(const sa_tokenizer *t) {
    return t->eos_id;
}
int32_t sa_tokenizer_pad_id(const sa_tokenizer *t) {
    return t->pad_id;
}
int32_t sa_tokenizer_unk_id(const sa_tokenizer *t) {
    return t->unk_id;
}
size_t sa_tokenizer_vocab_size(const sa_tokenizer *t) {
    return t->n_vocab;
}

size_t sa_tokenizer_stop_ids(const sa_tokenizer *t, const int32_t **ids) {
    *ids = t->stop_ids;
    return t->n_stop;
}

const char *sa_tokenizer_id_to_piece(const sa_tokenizer *t, int32_t id) {
    if (id < 0 || (size_t)id >= t->n_vocab) return NULL;
    if (t->added_by_id[id] >= 0) return t->added[t->added_by_id[id]].content;
    return (size_t)id < t->bpe.n_ids ? t->bpe.id_to_tok[id] : NULL;
}

int32_t sa_tokenizer_piece_to_id(const sa_tokenizer *t, const char *piece) {
    size_t n = strlen(piece);
    int32_t k = tok_strmap_get(&t->added_map, piece, n);
    if (k >= 0) return t->added[k].id;
    return tok_strmap_get(&t->bpe.vocab, piece, n);
}

int sa_tokenizer_is_special(const sa_tokenizer *t, int32_t id) {
    if (id < 0 || (size_t)id >= t->n_vocab || t->added_by_id[id] < 0) return 0;
    return t->added[t->added_by_id[id]].special;
}
