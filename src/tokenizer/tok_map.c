/* tok_map.c: the two hash maps behind the tokenizer: token string -> id (vocabularies, the word
 * cache's keys) and (left id, right id) -> (merge rank, merged id) for BPE.
 *
 * Both are open-addressing tables with linear probing, sized to a power of two at least twice
 * the number of entries, so a lookup is one hash and usually one probe. */
#include <stdlib.h>
#include <string.h>

#include "tokenizer/tok_internal.h"

uint64_t tok_hash(const void *p, size_t n) {
    const unsigned char *s = p;
    uint64_t h = 0x9E3779B97F4A7C15ull ^ (n * 0xC2B2AE3D27D4EB4Full);
    while (n >= 8) {
        uint64_t v;
        memcpy(&v, s, 8);
        h = (h ^ (v * 0x87C37B91114253D5ull)) * 0x4CF5AD432745937Full;
        h ^= h >> 29;
        s += 8;
        n -= 8;
    }
    uint64_t v = 0;
    memcpy(&v, s, n);
    h = (h ^ (v * 0x87C37B91114253D5ull)) * 0x4CF5AD432745937Full;
    h ^= h >> 32;
    h *= 0xD6E8FEB86659FD93ull;
    h ^= h >> 32;
    return h;
}

static size_t table_size(size_t expect) {
    size_t s = 16;
    while (s < expect * 2 + 2) s *= 2;
    return s;
}

int tok_strmap_init(tok_strmap *m, size_t expect) {
    memset(m, 0, sizeof *m);
    size_t s = table_size(expect);
    m->slots = calloc(s, sizeof *m->slots);
    m->cap = expect > 8 ? expect : 8;
    m->koff = malloc(m->cap * sizeof *m->koff);
    m->klen = malloc(m->cap * sizeof *m->klen);
    m->vals = malloc(m->cap * sizeof *m->vals);
    m->arena_cap = m->cap * 8;
    m->arena = malloc(m->arena_cap);
    m->mask = s - 1;
    return (m->slots && m->koff && m->klen && m->vals && m->arena) ? 0 : -1;
}

/* Slots hold the entry index and the upper hash bits, so that a probe touches the key only
 * when the hashes agree. */
#define TAG(h) ((h)&0xFFFFFFFF00000000ull)

static size_t find_slot(const tok_strmap *m, const char *k, size_t n, uint64_t h) {
    size_t i = (size_t)h & m->mask;
    for (;;) {
        uint64_t s = m->slots[i];
        if (!s) return i;
        if (TAG(s) == TAG(h)) {
            uint32_t e = (uint32_t)s - 1;
            if (m->klen[e] == n && memcmp(m->arena + m->koff[e], k, n) == 0) return i;
        }
        i = (i + 1) & m->mask;
    }
}

static int rehash(tok_strmap *m) {
    size_t s = (m->mask + 1) * 2;
    uint64_t *slots = calloc(s, sizeof *slots);
    if (!slots) return -1;
    free(m->slots);
    m->slots = slots;
    m->mask = s - 1;
    for (size_t e = 0; e < m->n; e++) {
        uint64_t h = tok_hash(m->arena + m->koff[e], m->klen[e]);
        size_t i = (size_t)h & m->mask;
        while (m->slots[i]) i = (i + 1) & m->mask;
        m->slots[i] = TAG(h) | (uint32_t)(e + 1);
    }
    return 0;
}

int tok_strmap_put(tok_strmap *m, const char *k, size_t n, int32_t v) {
    uint64_t h = tok_hash(k, n);
    size_t i = find_slot(m, k, n, h);
    if (m->slots[i]) {
        m->vals[(uint32_t)m->slots[i] - 1] = v;
        return 0;
    }
    if (m->n == m->cap) {
        size_t cap = m->cap * 2;
        uint32_t *koff = realloc(m->koff, cap * sizeof *koff);
        if (!koff) return -1;
        m->koff = koff;
        uint32_t *klen = realloc(m->klen, cap * sizeof *klen);
        if (!klen) return -1;
        m->klen = klen;
        int32_t *vals = realloc(m->vals, cap * sizeof *vals);
        if (!vals) return -1;
        m->vals = vals;
        m->cap = cap;
    }
    if (m->arena_n + n + 1 > m->arena_cap) {
        size_t cap = m->arena_cap * 2;
        while (cap < m->arena_n + n + 1) cap *= 2;
        if (cap > UINT32_MAX) return -1;
        char *a = realloc(m->arena, cap);
        if (!a) return -1;
        m->arena = a;
        m->arena_cap = cap;
    }
    memcpy(m->arena + m->arena_n, k, n);
    m->arena[m->arena_n + n] = 0;
    m->koff[m->n] = (uint32_t)m->arena_n;
    m->arena_n += n + 1;
    m->klen[m->n] = (uint32_t)n;
    m->vals[m->n] = v;
    m->slots[i] = TAG(h) | (uint32_t)++m->n;
    if (m->n * 2 > m->mask) return rehash(m);
    return 0;
}

int32_t tok_strmap_get(const tok_strmap *m, const char *k, size_t n) {
    if (!m->slots) return -1;
    size_t i = find_slot(m, k, n, tok_hash(k, n));
    return m->slots[i] ? m->vals[(uint32_t)m->slots[i] - 1] : -1;
}

void tok_strmap_free(tok_strmap *m) {
    free(m->arena);
    free(m->koff);
    free(m->klen);
    free(m->vals);
    free(m->slots);
    memset(m, 0, sizeof *m);
}

static uint64_t pair_key(int32_t a, int32_t b) {
    return (((uint64_t)(uint32_t)a << 32) | (uint32_t)b) + 1;
}

static size_t pair_slot(const tok_pairmap *m, uint64_t key) {
    size_t i = (size_t)((key * 0x9E3779B97F4A7C15ull) >> 17) & m->mask;
    while (m->keys[i] && m->keys[i] != key) i = (i + 1) & m->mask;
    return i;
}

int tok_pairmap_init(tok_pairmap *m, size_t expect) {
    memset(m, 0, sizeof *m);
    size_t s = table_size(expect);
    m->keys = calloc(s, sizeof *m->keys);
    m->rank = malloc(s * sizeof *m->rank);
    m->merged = malloc(s * sizeof *m->merged);
    m->mask = s - 1;
    return (m->keys && m->rank && m->merged) ? 0 : -1;
}

/* A repeated pair takes the later entry, as HF's (and transformers.js's) map building does. */
int tok_pairmap_put(tok_pairmap *m, int32_t a, int32_t b, uint32_t rank, int32_t merged) {
    uint64_t key = pair_key(a, b);
    size_t i = pair_slot(m, key);
    if (!m->keys[i]) {
        if ((m->n + 1) * 2 > m->mask) return -1; /* sized at init; never grows */
        m->n++;
    }
    m->keys[i] = key;
    m->rank[i] = rank;
    m->merged[i] = merged;
    return 0;
}

int tok_pairmap_get(const tok_pairmap *m, int32_t a, int32_t b, uint32_t *rank, int32_t *merged) {
    size_t i = pair_slot(m, pair_key(a, b));
    if (!m->keys[i]) return 0;
    *rank = m->rank[i];
    *merged = m->merged[i];
    return 1;
}

void tok_pairmap_free(tok_pairmap *m) {
    free(m->keys);
    free(m->rank);
    free(m->merged);
    memset(m, 0, sizeof *m);
}
