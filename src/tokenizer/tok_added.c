/* tok_added.c: finding added tokens (specials such as <|eot_id|>, and user-added words) in text.
 *
 * As in tokenizers' added_vocabulary.rs, matching is leftmost-longest over all contents (an
 * Aho-Corasick automaton there, a byte trie walked from each position here: the contents are
 * few and short) and a match is then checked and widened: single_word rejects a match glued to
 * a word character on either side; lstrip / rstrip swallow the whitespace to the left / right.
 * The text between matches is returned as text sections for the normaliser and BPE. */
#include <stdlib.h>
#include <string.h>

#include "tokenizer/tok_internal.h"

typedef struct node {
    int32_t child, sibling; /* first child, next sibling (-1 none) */
    int32_t tok;            /* index of the added token ending here, -1 none */
    unsigned char byte;
} node;

struct tok_trie {
    node *nodes;
    size_t n, cap;
    int32_t root_child[256];
};

static int32_t new_node(tok_trie *t, unsigned char b) {
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 256;
        node *nn = realloc(t->nodes, cap * sizeof *nn);
        if (!nn) return -1;
        t->nodes = nn;
        t->cap = cap;
    }
    t->nodes[t->n] = (node){-1, -1, -1, b};
    return (int32_t)t->n++;
}

static int32_t child(const tok_trie *t, int32_t at, unsigned char b) {
    if (at < 0) return t->root_child[b];
    for (int32_t c = t->nodes[at].child; c >= 0; c = t->nodes[c].sibling)
        if (t->nodes[c].byte == b) return c;
    return -1;
}

static int insert(tok_trie *t, const char *s, size_t n, int32_t tok) {
    int32_t at = -1;
    for (size_t i = 0; i < n; i++) {
        unsigned char b = (unsigned char)s[i];
        int32_t c = child(t, at, b);
        if (c < 0) {
            if ((c = new_node(t, b)) < 0) return -1;
            if (at < 0)
                t->root_child[b] = c;
            else {
                t->nodes[c].sibling = t->nodes[at].child;
                t->nodes[at].child = c;
            }
        }
        at = c;
    }
    if (at >= 0 && t->nodes[at].tok < 0)
        t->nodes[at].tok = tok; /* first content wins on duplicates */
    return 0;
}

tok_trie *tok_trie_build(const tok_added *toks, size_t n, const char *const *patterns,
                         int (*keep)(const tok_added *, void *), void *ud) {
    tok_trie *t = calloc(1, sizeof *t);
    if (!t) return NULL;
    for (int b = 0; b < 256; b++) t->root_child[b] = -1;
    for (size_t i = 0; i < n; i++) {
        if (keep && !keep(&toks[i], ud)) continue;
        const char *p = patterns && patterns[i] ? patterns[i] : toks[i].content;
        if (!*p) continue;
        if (insert(t, p, strlen(p), (int32_t)i)) {
            tok_trie_free(t);
            return NULL;
        }
    }
    return t;
}

void tok_trie_free(tok_trie *t) {
    if (!t) return;
    free(t->nodes);
    free(t);
}

/* Longest match starting at s[i]: token index or -1; *end receives its end. */
static int32_t longest_at(const tok_trie *t, const char *s, size_t n, size_t i, size_t *end) {
    int32_t at = -1, best = -1;
    for (size_t j = i; j < n; j++) {
        at = child(t, at, (unsigned char)s[j]);
        if (at < 0) break;
        if (t->nodes[at].tok >= 0) {
            best = t->nodes[at].tok;
            *end = j + 1;
        }
    }
    return best;
}

static uint32_t last_char(const char *s, size_t end) {
    size_t b = end;
    if (!b) return 0;
    b--;
    while (b > 0 && ((unsigned char)s[b] & 0xC0) == 0x80) b--;
    uint32_t cp;
    size_t bad;
    return sa_text_utf8_next((const unsigned char *)s + b, end - b, &cp, &bad) ? cp : 0;
}

static uint32_t first_char(const char *s, size_t n, size_t at) {
    uint32_t cp;
    size_t bad;
    return at < n && sa_text_utf8_next((const unsigned char *)s + at, n - at, &cp, &bad) ? cp : 0;
}

static int push(tok_sections *o, int32_t id, size_t off, size_t len) {
    if (o->n == o->cap) {
        size_t cap = o->cap ? o->cap * 2 : 16;
        tok_section *s = realloc(o->s, cap * sizeof *s);
        if (!s) return -1;
        o->s = s;
        o->cap = cap;
    }
    o->s[o->n++] = (tok_section){id, off, len};
    return 0;
}

static size_t space_before(const char *s, size_t start) {
    while (start > 0) {
        size_t b = start - 1;
        while (b > 0 && ((unsigned char)s[b] & 0xC0) == 0x80) b--;
        if (!tok_is_whitespace(last_char(s, start))) break;
        start = b;
    }
    return start;
}

static size_t space_after(const char *s, size_t n, size_t stop) {
    while (stop < n) {
        uint32_t cp;
        size_t bad, k = sa_text_utf8_next((const unsigned char *)s + stop, n - stop, &cp, &bad);
        if (!k || !tok_is_whitespace(cp)) break;
        stop += k;
    }
    return stop;
}

int tok_added_split(const tok_trie *t, const tok_added *toks, const char *s, size_t n,
                    tok_sections *out) {
    out->n = 0;
    size_t done = 0; /* end of the last emitted section */
    for (size_t i = 0; t && i < n;) {
        if (t->root_child[(unsigned char)s[i]] < 0) {
            i++;
            continue;
        }
        size_t stop = 0;
        int32_t k = longest_at(t, s, n, i, &stop);
        if (k < 0) {
            i++;
            continue;
        }
        const tok_added *a = &toks[k];
        size_t start = i;
        i = stop;
        if (a->single_word && ((start > 0 && tok_is_alnum(last_char(s, start))) ||
                               (stop < n && tok_is_alnum(first_char(s, n, stop)))))
            continue;
        if (a->lstrip) {
            size_t ns = space_before(s, start);
            start = ns > done ? ns : done;
        }
        if (a->rstrip) stop = space_after(s, n, stop);
        if (start > done && push(out, -1, done, start - done)) return -1;
        if (push(out, a->id, start, stop - start)) return -1;
        done = i = stop;
    }
    if (n > done || n == 0) return push(out, -1, done, n - done);
    return 0;
}
