/* tok_normalizer.c: tokenizer.json "normalizer" components, applied to each section of input
 * text between added tokens before pre-tokenisation.
 *
 * Supported: Sequence, Prepend, Replace (string or regex pattern), NFC/NFD/NFKC/NFKD (utf8proc),
 * Lowercase (Unicode full lowercase: U+0130 and final sigma included) and Strip. Anything else
 * (BertNormalizer, Precompiled, StripAccents, ...) is refused by name when loading. */
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "tokenizer/tok_internal.h"

static sa_status parse_replace(const cJSON *j, tok_normalizer *n, sa_error *err) {
    const cJSON *pat = cJSON_GetObjectItemCaseSensitive(j, "pattern");
    const char *content = tok_json_str(j, "content");
    const char *lit = tok_json_str(pat, "String"), *rx = tok_json_str(pat, "Regex");
    if (!content || (!lit && !rx))
        return sa_error_set(err, SA_EFORMAT, "normalizer Replace: needs pattern and content");
    n->content = tok_strdup(content);
    if (lit) {
        n->str = tok_strdup(lit);
        return n->str && n->content ? SA_OK : sa_error_set(err, SA_ENOMEM, "normalizer Replace");
    }
    return tok_regex_compile(rx, 0, &n->re, err);
}

sa_status tok_normalizer_parse(const cJSON *j, tok_normalizer **out, sa_error *err) {
    *out = NULL;
    if (!j || cJSON_IsNull(j)) return SA_OK;
    const char *type = tok_json_str(j, "type");
    if (!type) return sa_error_set(err, SA_EFORMAT, "normalizer without a \"type\"");
    tok_normalizer *n = calloc(1, sizeof *n);
    if (!n) return sa_error_set(err, SA_ENOMEM, "normalizer");
    sa_status st = SA_OK;
    if (!strcmp(type, "Sequence")) {
        n->type = TOK_NORM_SEQUENCE;
        const cJSON *arr = cJSON_GetObjectItemCaseSensitive(j, "normalizers");
        int k = cJSON_GetArraySize(arr);
        n->kids = calloc(k ? (size_t)k : 1, sizeof *n->kids);
        if (!n->kids) st = sa_error_set(err, SA_ENOMEM, "normalizer Sequence");
        for (int i = 0; st == SA_OK && i < k; i++) {
            st = tok_normalizer_parse(cJSON_GetArrayItem(arr, i), &n->kids[n->n_kids], err);
            if (n->kids[n->n_kids]) n->n_kids++;
        }
    } else if (!strcmp(type, "Prepend")) {
        n->type = TOK_NORM_PREPEND;
        const char *p = tok_json_str(j, "prepend");
        if (!p)
            st = sa_error_set(err, SA_EFORMAT, "normalizer Prepend: no \"prepend\"");
        else
            n->str = tok_strdup(p);
    } else if (!strcmp(type, "Replace")) {
        n->type = TOK_NORM_REPLACE;
        st = parse_replace(j, n, err);
    } else if (!strcmp(type, "NFC"))
        n->type = TOK_NORM_NFC;
    else if (!strcmp(type, "NFD"))
        n->type = TOK_NORM_NFD;
    else if (!strcmp(type, "NFKC"))
        n->type = TOK_NORM_NFKC;
    else if (!strcmp(type, "NFKD"))
        n->type = TOK_NORM_NFKD;
    else if (!strcmp(type, "Lowercase"))
        n->type = TOK_NORM_LOWERCASE;
    else if (!strcmp(type, "Strip")) {
        n->type = TOK_NORM_STRIP;
        n->left = tok_json_bool(j, "strip_left", 1);
        n->right = tok_json_bool(j, "strip_right", 1);
    } else {
        st = sa_error_set(err, SA_EUNSUPPORTED, "normalizer type \"%s\" is not supported", type);
    }
    if (st != SA_OK) {
        tok_normalizer_free(n);
        return st;
    }
    *out = n;
    return SA_OK;
}

void tok_normalizer_free(tok_normalizer *n) {
    if (!n) return;
    for (size_t i = 0; i < n->n_kids; i++) tok_normalizer_free(n->kids[i]);
    free(n->kids);
    free(n->str);
    free(n->content);
    if (n->re) pcre2_code_free(n->re);
    free(n);
}

static int replace_literal(const char *pat, const char *content, const tok_buf *in, tok_buf *out) {
    size_t pn = strlen(pat), cn = strlen(content);
    out->n = 0;
    if (tok_buf_reserve(out, in->n)) return -1;
    if (!pn) return tok_buf_put(out, in->s, in->n);
    size_t i = 0;
    while (i < in->n) {
        const char *hit = pn <= in->n - i ? memmem(in->s + i, in->n - i, pat, pn) : NULL;
        if (!hit) break;
        size_t at = (size_t)(hit - in->s);
        if (tok_buf_put(out, in->s + i, at - i) || tok_buf_put(out, content, cn)) return -1;
        i = at + pn;
    }
    return tok_buf_put(out, in->s + i, in->n - i);
}

static int replace_regex(const pcre2_code *re, const char *content, const tok_buf *in, tok_buf *out,
                         pcre2_match_data *md) {
    out->n = 0;
    if (tok_buf_reserve(out, in->n)) return -1;
    size_t i = 0, ms, me;
    while (tok_regex_next(re, in->s, in->n, i, md, &ms, &me)) {
        if (tok_buf_put(out, in->s + i, ms - i) || tok_buf_put(out, content, strlen(content)))
            return -1;
        i = me;
    }
    return tok_buf_put(out, in->s + i, in->n - i);
}

static int unicode_form(int type, const tok_buf *in, tok_buf *out) {
    utf8proc_option_t opt = UTF8PROC_STABLE;
    if (type == TOK_NORM_NFC)
        opt |= UTF8PROC_COMPOSE;
    else if (type == TOK_NORM_NFD)
        opt |= UTF8PROC_DECOMPOSE;
    else if (type == TOK_NORM_NFKC)
        opt |= UTF8PROC_COMPOSE | UTF8PROC_COMPAT;
    else
        opt |= UTF8PROC_DECOMPOSE | UTF8PROC_COMPAT;
    out->n = 0;
    if (!in->n) return tok_buf_put(out, "", 0);
    utf8proc_uint8_t *res = NULL;
    utf8proc_ssize_t r =
        utf8proc_map((const utf8proc_uint8_t *)in->s, (utf8proc_ssize_t)in->n, &res, opt);
    if (r < 0) return -1;
    int rc = tok_buf_put(out, res, (size_t)r);
    free(res);
    return rc;
}

/* Σ lowercases to final ς after a letter when no letter follows (Unicode Final_Sigma, simplified
 * to letters as the cased characters). */
static int is_letter(uint32_t c) {
    utf8proc_category_t k = utf8proc_category((utf8proc_int32_t)c);
    return k >= UTF8PROC_CATEGORY_LU && k <= UTF8PROC_CATEGORY_LO;
}

static int lowercase(const tok_buf *in, tok_buf *out) {
    out->n = 0;
    if (tok_buf_reserve(out, in->n)) return -1;
    const unsigned char *u = (const unsigned char *)in->s;
    uint32_t prev = 0;
    for (size_t i = 0; i < in->n;) {
        uint32_t cp, next = 0;
        size_t bad, k = sa_text_utf8_next(u + i, in->n - i, &cp, &bad);
        if (!k) return -1;
        if (i + k < in->n && !sa_text_utf8_next(u + i + k, in->n - i - k, &next, &bad)) next = 0;
        int rc;
        if (cp == 0x130)
            rc = tok_buf_put(out, "i\xCC\x87", 3);
        else if (cp == 0x3A3 && is_letter(prev) && !is_letter(next))
            rc = tok_buf_put_cp(out, 0x3C2);
        else
            rc = tok_buf_put_cp(out, (uint32_t)utf8proc_tolower((utf8proc_int32_t)cp));
        if (rc) return -1;
        prev = cp;
        i += k;
    }
    return 0;
}

static int strip(int left, int right, const tok_buf *in, tok_buf *out) {
    size_t a = 0, b = in->n;
    tok_utf8_trim(in->s, &a, &b, left, right, tok_is_whitespace);
    out->n = 0;
    return tok_buf_put(out, in->s + a, b - a);
}

/* Apply nz to `cur` (in place, through tmp). */
static int apply(const tok_normalizer *nz, tok_buf *cur, tok_buf *tmp, pcre2_match_data *md) {
    int rc = 0;
    switch (nz->type) {
    case TOK_NORM_SEQUENCE:
        for (size_t i = 0; i < nz->n_kids && !rc; i++) rc = apply(nz->kids[i], cur, tmp, md);
        return rc;
    case TOK_NORM_PREPEND:
        if (!cur->n) return 0;
        tmp->n = 0;
        rc = tok_buf_put(tmp, nz->str, strlen(nz->str)) || tok_buf_put(tmp, cur->s, cur->n);
        break;
    case TOK_NORM_REPLACE:
        rc = nz->re ? replace_regex(nz->re, nz->content, cur, tmp, md)
                    : replace_literal(nz->str, nz->content, cur, tmp);
        break;
    case TOK_NORM_LOWERCASE:
        rc = lowercase(cur, tmp);
        break;
    case TOK_NORM_STRIP:
        rc = strip(nz->left, nz->right, cur, tmp);
        break;
    default:
        rc = unicode_form(nz->type, cur, tmp);
        break;
    }
    if (rc) return -1;
    tok_buf t = *cur;
    *cur = *tmp;
    *tmp = t;
    return 0;
}

int tok_normalize(const tok_normalizer *nz, const char *in, size_t n, tok_buf *out, tok_buf *tmp,
                  pcre2_match_data *md) {
    out->n = 0;
    if (tok_buf_put(out, in, n)) return -1;
    return nz ? apply(nz, out, tmp, md) : 0;
}
