/* tok_pretokenizer.c: tokenizer.json "pre_tokenizer" components: they cut normalised text into
 * the pieces that the BPE model encodes one at a time.
 *
 * Supported: Sequence, Metaspace (replacement, prepend_scheme always/first/never, split),
 * ByteLevel (add_prefix_space, use_regex with the GPT-2 pattern; trim_offsets only affects
 * offsets), Split (String or Regex pattern; behaviours Removed, Isolated, MergedWithPrevious,
 * MergedWithNext, Contiguous; invert), Digits, Punctuation, Whitespace and WhitespaceSplit.
 * Splitting follows tokenizers' NormalizedString::split: the text is covered by alternating
 * match / non-match segments, the behaviour decides how they are grouped, empty pieces go. */
#include <cjson/cJSON.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "tokenizer/tok_internal.h"

#define GPT2_PATTERN                                                                               \
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+"

/* ---- byte-level alphabet ---- */
static uint32_t byte_char[256];
static int byte_of_char[324]; /* code points < 0x144 */
static pthread_once_t alphabet_once = PTHREAD_ONCE_INIT;

static void fill_alphabet(void) {
    uint32_t extra = 0;
    for (int i = 0; i < 324; i++) byte_of_char[i] = -1;
    for (int b = 0; b < 256; b++) {
        int keep = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE);
        byte_char[b] = keep ? (uint32_t)b : 256 + extra++;
        byte_of_char[byte_char[b]] = b;
    }
}

/* Built once, safely when tokenizers are loaded from several threads. */
static void build_alphabet(void) {
    pthread_once(&alphabet_once, fill_alphabet);
}

uint32_t tok_bytelevel_char(unsigned char b) {
    build_alphabet();
    return byte_char[b];
}

int tok_bytelevel_byte(uint32_t cp) {
    build_alphabet();
    return cp < 324 ? byte_of_char[cp] : -1;
}

/* ---- parsing ---- */
static sa_status parse_behavior(const char *b, tok_split_behavior *out, sa_error *err) {
    static const char *names[] = {"Removed", "Isolated", "MergedWithPrevious", "MergedWithNext",
                                  "Contiguous"};
    for (int i = 0; i < 5; i++)
        if (b && !strcmp(b, names[i])) {
            *out = (tok_split_behavior)i;
            return SA_OK;
        }
    return sa_error_set(err, SA_EUNSUPPORTED,
                        "pre_tokenizer split behavior \"%s\" is not supported",
                        b ? b : "(missing)");
}

sa_status tok_prepend_parse(const cJSON *j, tok_prepend *out, sa_error *err) {
    const char *s = tok_json_str(j, "prepend_scheme");
    if (!s) {
        *out = tok_json_bool(j, "add_prefix_space", 1) ? TOK_PREPEND_ALWAYS : TOK_PREPEND_NEVER;
        return SA_OK;
    }
    if (!strcmp(s, "always"))
        *out = TOK_PREPEND_ALWAYS;
    else if (!strcmp(s, "first"))
        *out = TOK_PREPEND_FIRST;
    else if (!strcmp(s, "never"))
        *out = TOK_PREPEND_NEVER;
    else
        return sa_error_set(err, SA_EUNSUPPORTED,
                            "Metaspace prepend_scheme \"%s\" is not supported", s);
    return SA_OK;
}

static sa_status parse_metaspace(const cJSON *j, tok_pretok *p, sa_error *err) {
    const char *r = tok_json_str(j, "replacement");
    p->replacement = tok_strdup(r ? r : "\xE2\x96\x81");
    if (!p->replacement) return sa_error_set(err, SA_ENOMEM, "Metaspace");
    p->split = tok_json_bool(j, "split", 1);
    return tok_prepend_parse(j, &p->prepend, err);
}

static sa_status parse_split(const cJSON *j, tok_pretok *p, sa_error *err) {
    const cJSON *pat = cJSON_GetObjectItemCaseSensitive(j, "pattern");
    const char *lit = tok_json_str(pat, "String"), *rx = tok_json_str(pat, "Regex");
    if (!lit && !rx) return sa_error_set(err, SA_EFORMAT, "pre_tokenizer Split: no pattern");
    p->invert = tok_json_bool(j, "invert", 0);
    p->literal = lit != NULL;
    if (!(p->pattern = tok_strdup(lit ? lit : rx)))
        return sa_error_set(err, SA_ENOMEM, "pre_tokenizer Split");
    sa_status st = parse_behavior(tok_json_str(j, "behavior"), &p->behavior, err);
    if (st != SA_OK) return st;
    return tok_regex_compile(lit ? lit : rx, lit != NULL, &p->re, err);
}

sa_status tok_pretok_parse(const cJSON *j, tok_pretok **out, sa_error *err) {
    *out = NULL;
    if (!j || cJSON_IsNull(j)) return SA_OK;
    const char *type = tok_json_str(j, "type");
    if (!type) return sa_error_set(err, SA_EFORMAT, "pre_tokenizer without a \"type\"");
    tok_pretok *p = calloc(1, sizeof *p);
    if (!p) return sa_error_set(err, SA_ENOMEM, "pre_tokenizer");
    sa_status st = SA_OK;
    if (!strcmp(type, "Sequence")) {
        p->type = TOK_PRE_SEQUENCE;
        const cJSON *arr = cJSON_GetObjectItemCaseSensitive(j, "pretokenizers");
        int k = cJSON_GetArraySize(arr);
        p->kids = calloc(k ? (size_t)k : 1, sizeof *p->kids);
        if (!p->kids) st = sa_error_set(err, SA_ENOMEM, "pre_tokenizer Sequence");
        for (int i = 0; st == SA_OK && i < k; i++) {
            st = tok_pretok_parse(cJSON_GetArrayItem(arr, i), &p->kids[p->n_kids], err);
            if (p->kids[p->n_kids]) p->n_kids++;
        }
    } else if (!strcmp(type, "Metaspace")) {
        p->type = TOK_PRE_METASPACE;
        st = parse_metaspace(j, p, err);
    } else if (!strcmp(type, "ByteLevel")) {
        p->type = TOK_PRE_BYTELEVEL;
        p->add_prefix_space = tok_json_bool(j, "add_prefix_space", 1);
        p->use_regex = tok_json_bool(j, "use_regex", 1);
        if (p->use_regex) st = tok_regex_compile(GPT2_PATTERN, 0, &p->re, err);
    } else if (!strcmp(type, "Split")) {
        p->type = TOK_PRE_SPLIT;
        st = parse_split(j, p, err);
    } else if (!strcmp(type, "Digits")) {
        p->type = TOK_PRE_DIGITS;
        p->individual_digits = tok_json_bool(j, "individual_digits", 0);
    } else if (!strcmp(type, "Punctuation")) {
        p->type = TOK_PRE_PUNCTUATION;
        const char *b = tok_json_str(j, "behavior");
        p->behavior = TOK_SPLIT_ISOLATED;
        if (b) st = parse_behavior(b, &p->behavior, err);
    } else if (!strcmp(type, "Whitespace")) {
        p->type = TOK_PRE_WHITESPACE;
        st = tok_regex_compile("\\w+|[^\\w\\s]+", 0, &p->re, err);
    } else if (!strcmp(type, "WhitespaceSplit")) {
        p->type = TOK_PRE_WHITESPACE_SPLIT;
    } else {
        st = sa_error_set(err, SA_EUNSUPPORTED, "pre_tokenizer type \"%s\" is not supported", type);
    }
    if (st != SA_OK) {
        tok_pretok_free(p);
        return st;
    }
    *out = p;
    return SA_OK;
}

void tok_pretok_free(tok_pretok *p) {
    if (!p) return;
    for (size_t i = 0; i < p->n_kids; i++) tok_pretok_free(p->kids[i]);
    free(p->kids);
    free(p->replacement);
    free(p->pattern);
    if (p->re) pcre2_code_free(p->re);
    free(p);
}

/* ---- splitting ---- */
typedef struct seg {
    size_t a, b;
    int m;
} seg;

typedef struct segs {
    seg *s;
    size_t n, cap;
} segs;

static int seg_add(segs *v, size_t a, size_t b, int m) {
    if (a == b && !m) return 0;
    if (v->n == v->cap) {
        size_t cap = v->cap ? v->cap * 2 : 64;
        seg *s = realloc(v->s, cap * sizeof *s);
        if (!s) return -1;
        v->s = s;
        v->cap = cap;
    }
    v->s[v->n++] = (seg){a, b, m};
    return 0;
}

/* Matches of a regex (or literal) as segments covering s[0..n). */
static int find_regex(const pcre2_code *re, const char *s, size_t n, pcre2_match_data *md,
                      segs *v) {
    size_t at = 0, ms, me;
    while (tok_regex_next(re, s, n, at, md, &ms, &me)) {
        if (seg_add(v, at, ms, 0) || seg_add(v, ms, me, 1)) return -1;
        at = me;
    }
    return seg_add(v, at, n, 0);
}

/* Each character satisfying pred is a one-character match. */
static int find_chars(int (*pred)(uint32_t), const char *s, size_t n, segs *v) {
    const unsigned char *u = (const unsigned char *)s;
    size_t at = 0;
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        size_t bad, k = sa_text_utf8_next(u + i, n - i, &cp, &bad);
        if (!k) k = bad, cp = 0xFFFD;
        if (pred(cp)) {
            if (seg_add(v, at, i, 0) || seg_add(v, i, i + k, 1)) return -1;
            at = i + k;
        }
        i += k;
    }
    return seg_add(v, at, n, 0);
}

/* Group segments by behaviour (in place) and emit the non-empty kept pieces. */
static int emit_split(segs *v, tok_split_behavior beh, int invert, const char *s, int first,
                      tok_pieces *out) {
    size_t w = 0;
    int prev_match = 0;
    if (invert)
        for (size_t i = 0; i < v->n; i++) v->s[i].m = !v->s[i].m;
    if (beh == TOK_SPLIT_MERGED_NEXT) {
        /* walk backwards, merging a match into the piece after it */
        size_t n = v->n;
        seg *tmp = v->s;
        size_t k = n;
        for (size_t ii = n; ii-- > 0;) {
            seg g = tmp[ii];
            if (g.m && !prev_match && k < n)
                tmp[k].a = g.a;
            else
                tmp[--k] = (seg){g.a, g.b, 0};
            prev_match = g.m;
        }
        memmove(tmp, tmp + k, (n - k) * sizeof *tmp);
        v->n = n - k;
        beh = TOK_SPLIT_ISOLATED;
    }
    for (size_t i = 0; i < v->n; i++) {
        seg g = v->s[i];
        switch (beh) {
        case TOK_SPLIT_REMOVED:
        case TOK_SPLIT_ISOLATED:
            v->s[w++] = g;
            break;
        case TOK_SPLIT_CONTIGUOUS:
            if (g.m && prev_match && w)
                v->s[w - 1].b = g.b;
            else
                v->s[w++] = g;
            break;
        case TOK_SPLIT_MERGED_PREV:
            if (g.m && !prev_match && w)
                v->s[w - 1].b = g.b, v->s[w - 1].m = 0;
            else
                v->s[w++] = (seg){g.a, g.b, 0};
            break;
        default:
            break;
        }
        prev_match = g.m;
    }
    for (size_t i = 0; i < w; i++) {
        seg g = v->s[i];
        if (g.b == g.a || (beh == TOK_SPLIT_REMOVED && g.m)) continue;
        if (tok_pieces_add(out, s + g.a, g.b - g.a, first && g.a == 0)) return -1;
    }
    return 0;
}

/* Fast path for Isolated splitting by a regex, the byte-level tokenizers' hot loop. */
static int split_isolated(const pcre2_code *re, const char *s, size_t n, int first,
                          pcre2_match_data *md, tok_pieces *out) {
    size_t at = 0, ms, me;
    while (tok_regex_next(re, s, n, at, md, &ms, &me)) {
        if (ms > at && tok_pieces_add(out, s + at, ms - at, first && at == 0)) return -1;
        if (tok_pieces_add(out, s + ms, me - ms, first && ms == 0)) return -1;
        at = me;
    }
    if (n > at && tok_pieces_add(out, s + at, n - at, first && at == 0)) return -1;
    return 0;
}

static int bytelevel_map(const char *s, size_t n, int first, tok_pieces *out) {
    size_t start;
    tok_pieces_begin(out, &start);
    if (tok_buf_reserve(&out->buf, 2 * n)) return -1;
    build_alphabet();
    for (size_t i = 0; i < n; i++)
        if (tok_buf_put_cp(&out->buf, byte_char[(unsigned char)s[i]])) return -1;
    return tok_pieces_end(out, start, first);
}

static int metaspace(const tok_pretok *p, const char *s, size_t n, int first, tok_pieces *out,
                     segs *v, pcre2_match_data *md) {
    size_t rl = strlen(p->replacement), start;
    tok_pieces_begin(out, &start);
    int has = n >= 1 && (n >= rl && !memcmp(s, p->replacement, rl));
    int prepend = p->prepend == TOK_PREPEND_ALWAYS || (p->prepend == TOK_PREPEND_FIRST && first);
    /* a leading space becomes the replacement, so it counts as "already starts with it" */
    if (n && s[0] == ' ') has = 1;
    if (prepend && !has && tok_buf_put(&out->buf, p->replacement, rl)) return -1;
    for (size_t i = 0; i < n; i++) {
        int rc = s[i] == ' ' ? tok_buf_put(&out->buf, p->replacement, rl)
                             : tok_buf_putc(&out->buf, s[i]);
        if (rc) return -1;
    }
    if (!p->split) return out->buf.n > start ? tok_pieces_end(out, start, first) : 0;
    /* split on the replacement, merged with the next piece: re-read what we just wrote */
    size_t len = out->buf.n - start;
    char *copy = malloc(len + 1);
    if (!copy) return -1;
    memcpy(copy, out->buf.s + start, len);
    out->buf.n = start;
    v->n = 0;
    size_t at = 0;
    int rc = 0;
    for (size_t i = 0; i + rl <= len && !rc;) {
        if (!memcmp(copy + i, p->replacement, rl)) {
            rc = seg_add(v, at, i, 0) || seg_add(v, i, i + rl, 1);
            at = i + rl;
            i += rl;
        } else {
            i++;
        }
    }
    if (!rc)
        rc = seg_add(v, at, len, 0) || emit_split(v, TOK_SPLIT_MERGED_NEXT, 0, copy, first, out);
    (void)md;
    free(copy);
    return rc;
}

static int one(const tok_pretok *p, const char *s, size_t n, int first, tok_pieces *out, segs *v,
               pcre2_match_data *md, tok_buf *scratch) {
    v->n = 0;
    switch (p->type) {
    case TOK_PRE_SPLIT:
        if (p->behavior == TOK_SPLIT_ISOLATED && !p->invert)
            return split_isolated(p->re, s, n, first, md, out);
        return find_regex(p->re, s, n, md, v) ||
               emit_split(v, p->behavior, p->invert, s, first, out);
    case TOK_PRE_DIGITS:
        return find_chars(tok_is_numeric, s, n, v) ||
               emit_split(v, p->individual_digits ? TOK_SPLIT_ISOLATED : TOK_SPLIT_CONTIGUOUS, 0, s,
                          first, out);
    case TOK_PRE_PUNCTUATION:
        return find_chars(tok_is_punct, s, n, v) || emit_split(v, p->behavior, 0, s, first, out);
    case TOK_PRE_WHITESPACE:
        return find_regex(p->re, s, n, md, v) || emit_split(v, TOK_SPLIT_REMOVED, 1, s, first, out);
    case TOK_PRE_WHITESPACE_SPLIT:
        return find_chars(tok_is_whitespace, s, n, v) ||
               emit_split(v, TOK_SPLIT_REMOVED, 0, s, first, out);
    case TOK_PRE_METASPACE:
        return metaspace(p, s, n, first, out, v, md);
    case TOK_PRE_BYTELEVEL: {
        const char *t = s;
        if (p->add_prefix_space && (n == 0 || s[0] != ' ')) {
            scratch->n = 0;
            if (tok_buf_putc(scratch, ' ') || tok_buf_put(scratch, s, n)) return -1;
            t = scratch->s;
            n = scratch->n;
        }
        if (!p->use_regex) return bytelevel_map(t, n, first, out);
        size_t at = 0, ms, me;
        while (tok_regex_next(p->re, t, n, at, md, &ms, &me)) {
            if (ms > at && bytelevel_map(t + at, ms - at, first && at == 0, out)) return -1;
            if (bytelevel_map(t + ms, me - ms, first && ms == 0, out)) return -1;
            at = me;
        }
        return n > at ? bytelevel_map(t + at, n - at, first && at == 0, out) : 0;
    }
    default:
        return -1;
    }
}

static int run(const tok_pretok *p, tok_pieces *io, tok_pieces *tmp, segs *v, pcre2_match_data *md,
               tok_buf *scratch) {
    if (p->type == TOK_PRE_SEQUENCE) {
        for (size_t i = 0; i < p->n_kids; i++)
            if (run(p->kids[i], io, tmp, v, md, scratch)) return -1;
        return 0;
    }
    tok_pieces_clear(tmp);
    for (size_t i = 0; i < io->n; i++)
        if (one(p, tok_piece_str(io, i), io->p[i].len, io->p[i].first, tmp, v, md, scratch))
            return -1;
    tok_pieces t = *io;
    *io = *tmp;
    *tmp = t;
    return 0;
}

int tok_pretokenize(const tok_pretok *p, tok_pieces *io, tok_pieces *tmp, pcre2_match_data *md) {
    if (!p) return 0;
    segs v = {0};
    tok_buf scratch = {0};
    int rc = run(p, io, tmp, &v, md, &scratch);
    free(v.s);
    tok_buf_free(&scratch);
    return rc;
}
