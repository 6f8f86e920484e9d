/* tok_bpe.c: the BPE model of tokenizer.json: vocab, ranked merges, byte fallback, unk.
 *
 * There are no scores: a word (one pre-token) starts as one symbol per character and the
 * adjacent pair with the lowest merge rank is merged first, ties going to the leftmost pair,
 * until no pair has a merge (tokenizers' bpe/word.rs merge_all, with a binary heap over a
 * linked list of symbols). A character missing from the vocabulary becomes its UTF-8 bytes as
 * <0xXX> tokens with byte_fallback, else the unk token (consecutive unks fused with fuse_unk),
 * else nothing. ignore_merges emits a word that is itself in the vocabulary directly. Results
 * for words shorter than 256 bytes are cached (cleared when it holds 65536 words). */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tokenizer/tok_internal.h"

#define CACHE_MAX_WORDS 65536
#define CACHE_MAX_LEN 256

typedef struct sym {
    int32_t id, prev, next;
    int alive;
} sym;

typedef struct merge {
    uint32_t rank;
    int32_t pos, id;
} merge;

struct tok_cache {
    tok_strmap words; /* word -> index into spans */
    uint32_t *span_off, *span_len;
    size_t cap_spans;
    int32_t *ids;
    size_t n_ids, cap_ids;
    /* scratch for merging */
    sym *syms;
    size_t cap_syms;
    merge *heap;
    size_t cap_heap;
    tok_buf chr;
};

/* ---- loading ---- */
/* Ids index arrays (id_to_tok here, added_by_id in tok_load.c), so an id at or above `id_limit`
 * (tok_id_limit) is refused: a 26 KB file with id 2e9 once made the loader allocate gigabytes. */
static sa_status load_vocab(const cJSON *vocab, size_t id_limit, tok_bpe *m, sa_error *err) {
    int n = cJSON_GetArraySize(vocab);
    if (!cJSON_IsObject(vocab))
        return sa_error_set(err, SA_EFORMAT, "model.vocab is not an object");
    if (tok_strmap_init(&m->vocab, (size_t)n)) return sa_error_set(err, SA_ENOMEM, "model.vocab");
    size_t max_id = 0;
    for (const cJSON *e = vocab->child; e; e = e->next) {
        if (!cJSON_IsNumber(e) || e->valuedouble < 0 || e->valuedouble > 2e9)
            return sa_error_set(err, SA_EFORMAT, "model.vocab[\"%.40s\"]: id is not a valid number",
                                e->string);
        if (e->valuedouble >= (double)id_limit)
            return sa_error_set(err, SA_EFORMAT,
                                "model.vocab[\"%.40s\"]: id %.0f is beyond what the file's tokens "
                                "can use (ids below %zu)",
                                e->string, e->valuedouble, id_limit);
        int32_t id = (int32_t)e->valuedouble;
        if (tok_strmap_put(&m->vocab, e->string, strlen(e->string), id))
            return sa_error_set(err, SA_ENOMEM, "model.vocab");
        if ((size_t)id + 1 > max_id) max_id = (size_t)id + 1;
    }
    m->n_ids = max_id;
    m->id_to_tok = calloc(max_id ? max_id : 1, sizeof *m->id_to_tok);
    if (!m->id_to_tok) return sa_error_set(err, SA_ENOMEM, "model.vocab");
    /* the vocab gets no more keys, so pointers into its arena stay valid */
    for (size_t e = 0; e < m->vocab.n; e++)
        m->id_to_tok[m->vocab.vals[e]] = (char *)tok_strmap_key(&m->vocab, e);
    return SA_OK;
}

/* One merge as two strings, from either serialisation. */
static int merge_parts(const cJSON *e, const char **a, size_t *na, const char **b, size_t *nb) {
    if (cJSON_IsArray(e)) {
        const cJSON *x = cJSON_GetArrayItem(e, 0), *y = cJSON_GetArrayItem(e, 1);
        if (cJSON_GetArraySize(e) != 2 || !cJSON_IsString(x) || !cJSON_IsString(y)) return -1;
        *a = x->valuestring, *na = strlen(x->valuestring);
        *b = y->valuestring, *nb = strlen(y->valuestring);
        return 0;
    }
    if (!cJSON_IsString(e)) return -1;
    const char *s = e->valuestring, *sp = strchr(s, ' ');
    if (!sp || strchr(sp + 1, ' ')) return -1;
    *a = s, *na = (size_t)(sp - s);
    *b = sp + 1, *nb = strlen(sp + 1);
    return 0;
}

static sa_status load_merges(const cJSON *merges, tok_bpe *m, sa_error *err) {
    int n = cJSON_GetArraySize(merges);
    if (merges && !cJSON_IsArray(merges))
        return sa_error_set(err, SA_EFORMAT, "model.merges is not a list");
    if (tok_pairmap_init(&m->merges, (size_t)n))
        return sa_error_set(err, SA_ENOMEM, "model.merges");
    size_t plen = m->cont_prefix ? strlen(m->cont_prefix) : 0;
    tok_buf joined = {0};
    uint32_t rank = 0;
    sa_status st = SA_OK;
    for (const cJSON *e = merges ? merges->child : NULL; e && st == SA_OK; e = e->next) {
        const char *a, *b;
        size_t na, nb;
        if (cJSON_IsString(e) && !strncmp(e->valuestring, "#version", 8)) continue;
        if (merge_parts(e, &a, &na, &b, &nb)) {
            st = sa_error_set(err, SA_EFORMAT, "model.merges[%u]: not \"a b\" or [a, b]", rank);
            break;
        }
        int32_t ia = tok_strmap_get(&m->vocab, a, na), ib = tok_strmap_get(&m->vocab, b, nb);
        size_t skip = (plen && nb >= plen && !memcmp(b, m->cont_prefix, plen)) ? plen : 0;
        joined.n = 0;
        if (tok_buf_put(&joined, a, na) || tok_buf_put(&joined, b + skip, nb - skip)) {
            st = sa_error_set(err, SA_ENOMEM, "model.merges");
            break;
        }
        int32_t im = tok_strmap_get(&m->vocab, joined.s, joined.n);
        if (ia < 0 || ib < 0 || im < 0) {
            st = sa_error_set(err, SA_EFORMAT,
                              "model.merges[%u]: token \"%.40s\" is not in the vocab", rank,
                              ia < 0   ? a
                              : ib < 0 ? b
                                       : joined.s);
            break;
        }
        if (tok_pairmap_put(&m->merges, ia, ib, rank, im))
            st = sa_error_set(err, SA_ENOMEM, "model.merges");
        rank++;
    }
    tok_buf_free(&joined);
    return st;
}

sa_status tok_bpe_parse(const cJSON *j, size_t id_limit, tok_bpe *m, sa_error *err) {
    memset(m, 0, sizeof *m);
    m->unk_id = -1;
    const char *type = tok_json_str(j, "type");
    if (type && strcmp(type, "BPE"))
        return sa_error_set(err, SA_EUNSUPPORTED, "model type \"%s\" is not supported (only BPE)",
                            type);
    if (!type && !cJSON_GetObjectItemCaseSensitive(j, "merges"))
        return sa_error_set(err, SA_EUNSUPPORTED,
                            "model without a type and merges is not supported");
    const cJSON *drop = cJSON_GetObjectItemCaseSensitive(j, "dropout");
    if (cJSON_IsNumber(drop) && drop->valuedouble > 0)
        return sa_error_set(err, SA_EUNSUPPORTED,
                            "model.dropout %g is not supported (encoding would be random)",
                            drop->valuedouble);
    m->byte_fallback = tok_json_bool(j, "byte_fallback", 0);
    m->fuse_unk = tok_json_bool(j, "fuse_unk", 0);
    m->ignore_merges = tok_json_bool(j, "ignore_merges", 0);
    const char *p = tok_json_str(j, "continuing_subword_prefix"),
               *s = tok_json_str(j, "end_of_word_suffix");
    if (p && *p) m->cont_prefix = tok_strdup(p);
    if (s && *s) m->eow_suffix = tok_strdup(s);
    sa_status st = load_vocab(cJSON_GetObjectItemCaseSensitive(j, "vocab"), id_limit, m, err);
    if (st == SA_OK) st = load_merges(cJSON_GetObjectItemCaseSensitive(j, "merges"), m, err);
    if (st != SA_OK) return st;
    const char *unk = tok_json_str(j, "unk_token");
    if (unk) {
        m->unk_id = tok_strmap_get(&m->vocab, unk, strlen(unk));
        if (m->unk_id < 0)
            return sa_error_set(err, SA_EFORMAT, "model.unk_token \"%.40s\" is not in the vocab",
                                unk);
    }
    for (int b = 0; b < 256; b++) {
        char name[8];
        snprintf(name, sizeof name, "<0x%02X>", b);
        m->byte_ids[b] = tok_strmap_get(&m->vocab, name, 6);
    }
    m->cache = calloc(1, sizeof *m->cache);
    if (!m->cache || tok_strmap_init(&m->cache->words, 1024))
        return sa_error_set(err, SA_ENOMEM, "BPE cache");
    return SA_OK;
}

static void cache_free(tok_cache *c) {
    if (!c) return;
    tok_strmap_free(&c->words);
    free(c->span_off);
    free(c->span_len);
    free(c->ids);
    free(c->syms);
    free(c->heap);
    tok_buf_free(&c->chr);
    free(c);
}

void tok_bpe_free(tok_bpe *m) {
    tok_strmap_free(&m->vocab);
    tok_pairmap_free(&m->merges);
    free(m->id_to_tok);
    free(m->cont_prefix);
    free(m->eow_suffix);
    cache_free(m->cache);
    memset(m, 0, sizeof *m);
}

/* ---- the word cache ---- */
static int cache_get(const tok_cache *c, const char *s, size_t n, sa_tokens *out, sa_error *err) {
    int32_t e = tok_strmap_get(&c->words, s, n);
    if (e < 0) return 0;
    for (uint32_t i = 0; i < c->span_len[e]; i++)
        if (sa_tokens_push(out, c->ids[c->span_off[e] + i], err)) return -1;
    return 1;
}

static void cache_put(tok_cache *c, const char *s, size_t n, const int32_t *ids, size_t k) {
    if (c->words.n >= CACHE_MAX_WORDS) {
        tok_strmap_free(&c->words);
        if (tok_strmap_init(&c->words, 1024)) return;
        c->n_ids = 0;
    }
    size_t e = c->words.n;
    if (c->n_ids + k > c->cap_ids) {
        size_t cap = c->cap_ids ? c->cap_ids * 2 : 4096;
        while (cap < c->n_ids + k) cap *= 2;
        int32_t *ids2 = realloc(c->ids, cap * sizeof *ids2);
        if (!ids2) return;
        c->ids = ids2;
        c->cap_ids = cap;
    }
    if (e + 1 > c->cap_spans) {
        size_t cap = c->cap_spans ? c->cap_spans * 2 : 1024;
        uint32_t *o = realloc(c->span_off, cap * sizeof *o);
        if (!o) return;
        c->span_off = o;
        uint32_t *l = realloc(c->span_len, cap * sizeof *l);
        if (!l) return;
        c->span_len = l;
        c->cap_spans = cap;
    }
    if (tok_strmap_put(&c->words, s, n, (int32_t)e)) return;
    if (k) memcpy(c->ids + c->n_ids, ids, k * sizeof *ids);
    c->span_off[e] = (uint32_t)c->n_ids;
    c->span_len[e] = (uint32_t)k;
    c->n_ids += k;
}

/* ---- merging ---- */
static int merge_less(merge a, merge b) {
    return a.rank < b.rank || (a.rank == b.rank && a.pos < b.pos);
}

static void heap_push(tok_cache *c, size_t *n, merge m) {
    size_t i = (*n)++;
    c->heap[i] = m;
    while (i && merge_less(c->heap[i], c->heap[(i - 1) / 2])) {
        merge t = c->heap[i];
        c->heap[i] = c->heap[(i - 1) / 2];
        c->heap[(i - 1) / 2] = t;
        i = (i - 1) / 2;
    }
}

static merge heap_pop(tok_cache *c, size_t *n) {
    merge top = c->heap[0];
    c->heap[0] = c->heap[--*n];
    for (size_t i = 0;;) {
        size_t l = 2 * i + 1, r = l + 1, s = i;
        if (l < *n && merge_less(c->heap[l], c->heap[s])) s = l;
        if (r < *n && merge_less(c->heap[r], c->heap[s])) s = r;
        if (s == i) break;
        merge t = c->heap[i];
        c->heap[i] = c->heap[s];
        c->heap[s] = t;
        i = s;
    }
    return top;
}

static void try_pair(const tok_bpe *m, tok_cache *c, size_t *nh, int32_t pos) {
    const sym *a = &c->syms[pos];
    if (a->next < 0) return;
    uint32_t rank;
    int32_t id;
    if (tok_pairmap_get(&m->merges, a->id, c->syms[a->next].id, &rank, &id))
        heap_push(c, nh, (merge){rank, pos, id});
}

static void merge_all(const tok_bpe *m, tok_cache *c, size_t ns) {
    size_t nh = 0;
    for (size_t i = 0; i + 1 < ns; i++) try_pair(m, c, &nh, (int32_t)i);
    while (nh) {
        merge top = heap_pop(c, &nh);
        sym *a = &c->syms[top.pos];
        if (!a->alive || a->next < 0) continue;
        sym *b = &c->syms[a->next];
        uint32_t rank;
        int32_t id;
        if (!tok_pairmap_get(&m->merges, a->id, b->id, &rank, &id) || id != top.id ||
            rank != top.rank)
            continue;
        a->id = id;
        b->alive = 0;
        a->next = b->next;
        if (b->next >= 0) c->syms[b->next].prev = top.pos;
        if (a->prev >= 0) try_pair(m, c, &nh, a->prev);
        try_pair(m, c, &nh, top.pos);
    }
}

/* Room for n symbols and the at most 3n merges a word can push. */
static int reserve_scratch(tok_cache *c, size_t n) {
    if (n > c->cap_syms) {
        size_t cap = n * 2;
        sym *s = realloc(c->syms, cap * sizeof *s);
        if (!s) return -1;
        c->syms = s;
        c->cap_syms = cap;
        merge *h = realloc(c->heap, 3 * cap * sizeof *h);
        if (!h) return -1;
        c->heap = h;
        c->cap_heap = 3 * cap;
    }
    return 0;
}

static void add_sym(tok_cache *c, size_t *ns, int32_t id) {
    sym *s = &c->syms[*ns];
    s->id = id;
    s->prev = *ns ? (int32_t)*ns - 1 : -1;
    s->next = -1;
    s->alive = 1;
    if (*ns) c->syms[*ns - 1].next = (int32_t)*ns;
    (*ns)++;
}

/* Initial symbols for s[0..n): one per character, or fallback bytes, or unk. */
static int initial_symbols(const tok_bpe *m, tok_cache *c, const char *s, size_t n, size_t *ns) {
    const unsigned char *u = (const unsigned char *)s;
    int last_unk = 0;
    *ns = 0;
    size_t extra =
        (m->cont_prefix ? strlen(m->cont_prefix) : 0) + (m->eow_suffix ? strlen(m->eow_suffix) : 0);
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        size_t bad, k = sa_text_utf8_next(u + i, n - i, &cp, &bad);
        if (!k) k = bad;
        c->chr.n = 0;
        if (tok_buf_reserve(&c->chr, k + extra)) return -1;
        if (i > 0 && m->cont_prefix) tok_buf_put(&c->chr, m->cont_prefix, strlen(m->cont_prefix));
        tok_buf_put(&c->chr, s + i, k);
        if (i + k == n && m->eow_suffix) tok_buf_put(&c->chr, m->eow_suffix, strlen(m->eow_suffix));
        i += k;
        int32_t id = tok_strmap_get(&m->vocab, c->chr.s, c->chr.n);
        if (id >= 0) {
            add_sym(c, ns, id);
            last_unk = 0;
            continue;
        }
        if (m->byte_fallback) {
            int all = 1;
            for (size_t b = 0; b < c->chr.n; b++)
                all &= m->byte_ids[(unsigned char)c->chr.s[b]] >= 0;
            if (all) {
                for (size_t b = 0; b < c->chr.n; b++)
                    add_sym(c, ns, m->byte_ids[(unsigned char)c->chr.s[b]]);
                last_unk = 0;
                continue;
            }
        }
        if (m->unk_id >= 0) {
            if (!(m->fuse_unk && last_unk)) add_sym(c, ns, m->unk_id);
            last_unk = 1;
        }
    }
    return 0;
}

sa_status tok_bpe_encode(tok_bpe *m, const char *s, size_t n, sa_tokens *out, sa_error *err) {
    if (!n) return SA_OK;
    if (m->ignore_merges) {
        int32_t id = tok_strmap_get(&m->vocab, s, n);
        if (id >= 0) return sa_tokens_push(out, id, err);
    }
    tok_cache *c = m->cache;
    if (n < CACHE_MAX_LEN) {
        int hit = cache_get(c, s, n, out, err);
        if (hit < 0) return err ? err->code : SA_ENOMEM;
        if (hit) return SA_OK;
    }
    size_t ns, extra = (m->cont_prefix ? strlen(m->cont_prefix) : 0) +
                       (m->eow_suffix ? strlen(m->eow_suffix) : 0);
    if (reserve_scratch(c, n * (1 + extra) + 4) || initial_symbols(m, c, s, n, &ns))
        return sa_error_set(err, SA_ENOMEM, "BPE: out of memory on a %zu-byte word", n);
    merge_all(m, c, ns);
    size_t first = out->n;
    for (int32_t i = ns ? 0 : -1; i >= 0; i = c->syms[i].next) {
        sa_status st = sa_tokens_push(out, c->syms[i].id, err);
        if (st != SA_OK) return st;
    }
    /* a word can give no ids at all (characters outside a vocabulary without unk or byte
     * fallback are dropped, as in Hugging Face's BPE): out->ids may still be NULL */
    if (n < CACHE_MAX_LEN)
        cache_put(c, s, n, out->n > first ? out->ids + first : NULL, out->n - first);
    return SA_OK;
}
