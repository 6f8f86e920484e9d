/* tok_internal.h: the tokenizer's private data structures, shared by the files of src/tokenizer/.
 *
 * The pipeline of one encode call, as in Hugging Face tokenizers:
 *   raw text -> added-token split (tok_added.c) -> for each non-token section:
 *   normalizer (tok_normalizer.c) -> pre-tokenizer (tok_pretokenizer.c) -> BPE (tok_bpe.c)
 *   -> post-processor (tokenizer.c).
 * Decoding: ids -> token strings -> decoder chain (tok_decoder.c) -> text.
 * Strings in the pipeline are byte buffers (tok_buf) and lists of pieces (tok_pieces), both
 * reused across calls so that encoding does not allocate per word once warmed up. */
#ifndef SA_TOK_INTERNAL_H
#define SA_TOK_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "formats/text.h"
#include "safearith/error.h"
#include "safearith/tokenizer.h"

/* ---- byte buffers and piece lists (tok_buf.c) ---- */
typedef struct tok_buf {
    char *s;
    size_t n, cap;
} tok_buf;

int tok_buf_reserve(tok_buf *b, size_t extra); /* 0 ok, -1 OOM */
int tok_buf_put(tok_buf *b, const void *p, size_t n);
int tok_buf_putc(tok_buf *b, char c);
int tok_buf_put_cp(tok_buf *b, uint32_t cp); /* UTF-8 encode one code point */
void tok_buf_free(tok_buf *b);

/* A list of strings stored back to back in one buffer. `first` marks a piece that starts at
 * offset 0 of the original input (used by Metaspace prepend_scheme "first"). */
typedef struct tok_piece {
    size_t off, len;
    int first;
} tok_piece;

typedef struct tok_pieces {
    tok_buf buf;
    tok_piece *p;
    size_t n, cap;
} tok_pieces;

void tok_pieces_clear(tok_pieces *l);
int tok_pieces_add(tok_pieces *l, const char *s, size_t n, int first);
/* Start a piece whose bytes are then appended to l->buf; finish with tok_pieces_end. */
void tok_pieces_begin(tok_pieces *l, size_t *start);
int tok_pieces_end(tok_pieces *l, size_t start, int first);
void tok_pieces_free(tok_pieces *l);
static inline const char *tok_piece_str(const tok_pieces *l, size_t i) {
    return l->buf.s + l->p[i].off;
}

/* ---- UTF-8 (tok_utf8.c; code points are decoded with sa_text_utf8_next, formats/text.h) ---- */
/* Copy text into out, replacing invalid sequences by U+FFFD. */
int tok_utf8_sanitize(const char *s, size_t n, tok_buf *out);
/* Whether s[0..n) ends inside a character: its last bytes are a proper prefix of a well-formed
 * sequence, which bytes still to come could complete (sanitized now, they are one U+FFFD). */
int tok_utf8_open_tail(const char *s, size_t n);
/* Narrow the range [*a, *b) of s by the code points at its start (when left) and at its end
 * (when right) for which drop(cp) holds; an invalid sequence stops the narrowing. */
void tok_utf8_trim(const char *s, size_t *a, size_t *b, int left, int right,
                   int (*drop)(uint32_t cp));
int tok_is_whitespace(uint32_t cp); /* Unicode White_Space */
int tok_is_numeric(uint32_t cp);    /* general category N* */
int tok_is_punct(uint32_t cp);      /* ASCII punctuation or general category P* */
int tok_is_alnum(uint32_t cp);      /* L*, N*, M* or '_' (regex \w) */

/* ---- hash maps (tok_map.c) ---- */
/* string -> int32; the map keeps copies of its keys, back to back (NUL-terminated) in one
 * arena, so a key pointer stays valid only until the next insertion. */
typedef struct tok_strmap {
    uint64_t *slots; /* (hash high bits << 32) | (index+1 into koff); 0 empty */
    size_t mask;
    char *arena;
    size_t arena_n, arena_cap;
    uint32_t *koff, *klen;
    int32_t *vals;
    size_t n, cap;
} tok_strmap;

static inline const char *tok_strmap_key(const tok_strmap *m, size_t e) {
    return m->arena + m->koff[e];
}

int tok_strmap_init(tok_strmap *m, size_t expect);
int tok_strmap_put(tok_strmap *m, const char *k, size_t n, int32_t v); /* replaces; -1 OOM */
int32_t tok_strmap_get(const tok_strmap *m, const char *k, size_t n);  /* -1 if absent */
void tok_strmap_free(tok_strmap *m);
uint64_t tok_hash(const void *p, size_t n);

/* (id, id) -> (rank, merged id). */
typedef struct tok_pairmap {
    uint64_t *keys; /* (a << 32 | b) + 1, 0 empty */
    uint32_t *rank;
    int32_t *merged;
    size_t mask, n;
} tok_pairmap;

int tok_pairmap_init(tok_pairmap *m, size_t expect);
int tok_pairmap_put(tok_pairmap *m, int32_t a, int32_t b, uint32_t rank, int32_t merged);
int tok_pairmap_get(const tok_pairmap *m, int32_t a, int32_t b, uint32_t *rank, int32_t *merged);
void tok_pairmap_free(tok_pairmap *m);

/* ---- JSON fields and strings (tok_json.c) ---- */
struct cJSON;
char *tok_strdup(const char *s); /* malloc'd copy, NULL on OOM */
/* j[key] when it is a string, else NULL (also when j is NULL). */
const char *tok_json_str(const struct cJSON *j, const char *key);
/* j[key] when it is a boolean, else dflt. */
int tok_json_bool(const struct cJSON *j, const char *key, int dflt);

/* ---- normalizers (tok_normalizer.c) ---- */
typedef enum tok_norm_type {
    TOK_NORM_SEQUENCE,
    TOK_NORM_PREPEND,
    TOK_NORM_REPLACE,
    TOK_NORM_NFC,
    TOK_NORM_NFD,
    TOK_NORM_NFKC,
    TOK_NORM_NFKD,
    TOK_NORM_LOWERCASE,
    TOK_NORM_STRIP
} tok_norm_type;

typedef struct tok_normalizer {
    tok_norm_type type;
    char *str;       /* Prepend content; Replace literal pattern (NULL when regex) */
    char *content;   /* Replace content */
    pcre2_code *re;  /* Replace regex */
    int left, right; /* Strip */
    struct tok_normalizer **kids;
    size_t n_kids;
} tok_normalizer;

sa_status tok_normalizer_parse(const struct cJSON *j, tok_normalizer **out, sa_error *err);
void tok_normalizer_free(tok_normalizer *n);
/* Normalise in[0..n) into out (cleared first). */
int tok_normalize(const tok_normalizer *nz, const char *in, size_t n, tok_buf *out, tok_buf *tmp,
                  pcre2_match_data *md);

/* ---- regex helpers (tok_regex.c) ---- */
/* Compile a pattern (UTF-8, Unicode properties; literal: match the text as is) with JIT. */
sa_status tok_regex_compile(const char *pattern, int literal, pcre2_code **out, sa_error *err);
/* Next non-empty match in s[0..n) at or after start: 1 with [*ms, *me), 0 when none. Empty
 * matches are skipped (HF drops empty splits). */
int tok_regex_next(const pcre2_code *re, const char *s, size_t n, size_t start,
                   pcre2_match_data *md, size_t *ms, size_t *me);

/* ---- pre-tokenizers (tok_pretokenizer.c) ---- */
typedef enum tok_pre_type {
    TOK_PRE_SEQUENCE,
    TOK_PRE_METASPACE,
    TOK_PRE_BYTELEVEL,
    TOK_PRE_SPLIT,
    TOK_PRE_DIGITS,
    TOK_PRE_PUNCTUATION,
    TOK_PRE_WHITESPACE,
    TOK_PRE_WHITESPACE_SPLIT
} tok_pre_type;

typedef enum tok_split_behavior {
    TOK_SPLIT_REMOVED,
    TOK_SPLIT_ISOLATED,
    TOK_SPLIT_MERGED_PREV,
    TOK_SPLIT_MERGED_NEXT,
    TOK_SPLIT_CONTIGUOUS
} tok_split_behavior;

typedef enum tok_prepend { TOK_PREPEND_ALWAYS, TOK_PREPEND_FIRST, TOK_PREPEND_NEVER } tok_prepend;

typedef struct tok_pretok {
    tok_pre_type type;
    char *replacement; /* Metaspace (UTF-8 of one char) */
    tok_prepend prepend;
    int split;            /* Metaspace split */
    int add_prefix_space; /* ByteLevel */
    int use_regex;        /* ByteLevel */
    pcre2_code *re;       /* Split / ByteLevel regex / Whitespace */
    char *pattern;        /* Split: the pattern as written in tokenizer.json */
    int literal;          /* Split: pattern is a String (else a Regex) */
    tok_split_behavior behavior;
    int invert;
    int individual_digits;
    struct tok_pretok **kids;
    size_t n_kids;
} tok_pretok;

sa_status tok_pretok_parse(const struct cJSON *j, tok_pretok **out, sa_error *err);
void tok_pretok_free(tok_pretok *p);
/* Pre-tokenise: `io` holds the input pieces and receives the output; tmp is scratch. */
int tok_pretokenize(const tok_pretok *p, tok_pieces *io, tok_pieces *tmp, pcre2_match_data *md);

/* The byte-level alphabet: byte -> code point, and code point -> byte (-1 if none). */
uint32_t tok_bytelevel_char(unsigned char b);
int tok_bytelevel_byte(uint32_t cp);

/* ---- BPE model (tok_bpe.c) ---- */
typedef struct tok_cache tok_cache;

typedef struct tok_bpe {
    tok_strmap vocab; /* model vocab: token -> id */
    char **id_to_tok; /* by id, NULL for holes; size n_ids */
    size_t n_ids;
    tok_pairmap merges;
    int32_t unk_id; /* -1 if none */
    int byte_fallback, fuse_unk, ignore_merges;
    char *cont_prefix, *eow_suffix; /* NULL when absent or empty */
    int32_t byte_ids[256];          /* <0xXX> ids, -1 if missing */
    tok_cache *cache;
} tok_bpe;

/* Ids must lie below `id_limit` (tok_load.c: tok_id_limit). */
sa_status tok_bpe_parse(const struct cJSON *j, size_t id_limit, tok_bpe *m, sa_error *err);
void tok_bpe_free(tok_bpe *m);
/* Encode one pre-token, appending ids. */
sa_status tok_bpe_encode(tok_bpe *m, const char *s, size_t n, sa_tokens *out, sa_error *err);

/* ---- added tokens (tok_added.c) ---- */
typedef struct tok_added {
    int32_t id;
    char *content;
    size_t len;
    int special, lstrip, rstrip, single_word, normalized;
} tok_added;

typedef struct tok_trie tok_trie;
/* A leftmost-longest matcher over a set of added tokens. */
tok_trie *tok_trie_build(const tok_added *toks, size_t n, const char *const *patterns,
                         int (*keep)(const tok_added *, void *), void *ud);
void tok_trie_free(tok_trie *t);

/* One section of input after the added-token split: an added token id, or a text range. */
typedef struct tok_section {
    int32_t id; /* -1 for text */
    size_t off, len;
} tok_section;

typedef struct tok_sections {
    tok_section *s;
    size_t n, cap;
} tok_sections;

/* Split s[0..n) by matches of trie, honouring single_word/lstrip/rstrip as HF does. */
int tok_added_split(const tok_trie *t, const tok_added *toks, const char *s, size_t n,
                    tok_sections *out);

/* ---- decoders (tok_decoder.c) ---- */
typedef enum tok_dec_type {
    TOK_DEC_SEQUENCE,
    TOK_DEC_BYTELEVEL,
    TOK_DEC_METASPACE,
    TOK_DEC_BYTEFALLBACK,
    TOK_DEC_FUSE,
    TOK_DEC_STRIP,
    TOK_DEC_REPLACE,
    TOK_DEC_BPE
} tok_dec_type;

typedef struct tok_decoder {
    tok_dec_type type;
    char *replacement; /* Metaspace */
    tok_prepend prepend;
    char *pattern, *content; /* Replace (literal), Strip content (one char), BPE suffix */
    int start, stop;         /* Strip */
    struct tok_decoder **kids;
    size_t n_kids;
} tok_decoder;

sa_status tok_decoder_parse(const struct cJSON *j, tok_decoder **out, sa_error *err);
void tok_decoder_free(tok_decoder *d);
/* Run the chain on the token list (in place through tmp). *open becomes 1 (it is never cleared)
 * when the text's end could still change with more tokens: a ByteFallback run of byte tokens
 * that has not ended (decoded as a whole), or ByteLevel bytes that end inside a character. */
int tok_decode_chain(const tok_decoder *d, tok_pieces *io, tok_pieces *tmp, int *open);

/* ---- the tokenizer ---- */
sa_status tok_prepend_parse(const struct cJSON *j, tok_prepend *out, sa_error *err);
struct sa_tokenizer {
    tok_normalizer *normalizer;
    tok_pretok *pretok;
    tok_bpe bpe;
    tok_decoder *decoder;

    tok_added *added;
    size_t n_added;
    tok_strmap added_map;      /* content -> index in added */
    int32_t *added_by_id;      /* id -> index in added, -1; size n_vocab */
    tok_trie *trie_all;        /* non-normalized added tokens, raw text */
    tok_trie *trie_nospecial;  /* same without the special ones */
    tok_trie *trie_norm;       /* normalized added tokens, matched on normalized text */
    tok_trie *trie_norm_plain; /* same without the special ones */
    char **norm_patterns;      /* normalised contents for trie_norm, by added index */

    /* post-processor: ids before and after the sequence */
    int32_t *pre_ids, *post_ids;
    size_t n_pre, n_post;

    size_t n_vocab;
    int32_t bos_id, eos_id, pad_id, unk_id;
    int32_t stop_ids[16];
    size_t n_stop;
    int cleanup;
    char *chat_template;
    int llama3_always_gen; /* the template emits the assistant header unconditionally */

    /* scratch reused across encode calls */
    tok_buf sanitized, norm, norm_tmp;
    tok_pieces pieces, pieces_tmp;
    tok_sections sections, sections2;
    pcre2_match_data *md;
};

#endif
