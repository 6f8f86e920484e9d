/* sampler.c: choosing the next token from logits: greedy, or temperature with top-k and top-p.
 *
 * Deterministic by construction: candidates are ordered by probability and then by id, and the
 * random draw comes from a per-sequence xorshift64* generator seeded by splitmix64, so the same
 * logits, options and seed give the same token on every machine and thread count. Top-p avoids
 * sorting the whole vocabulary by first dropping tokens whose probability is below
 * (1 - p) / (n - 1), which can never be needed to reach mass p (llama2.c's trick). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "safearith/model.h"

void sa_rng_seed(sa_rng *r, uint64_t seed) {
    uint64_t z = seed + 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    r->state = z ? z : 0x2545F4914F6CDD1Dull;
}

float sa_rng_uniform(sa_rng *r) {
    uint64_t x = r->state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    r->state = x;
    return (float)((x * 0x2545F4914F6CDD1Dull) >> 40) / 16777216.0f;
}

size_t sa_sample_scratch_bytes(int n) {
    return (size_t)n * (sizeof(float) + sizeof(int));
}

static int argmax(const float *v, int n) {
    int best = 0;
    for (int i = 1; i < n; i++)
        if (v[i] > v[best]) best = i;
    return best;
}

/* Sort key: higher probability first, then lower id. */
static int by_prob(const void *a, const void *b, void *probs) {
    const float *sort_probs = probs;
    int i = *(const int *)a, j = *(const int *)b;
    if (sort_probs[i] != sort_probs[j]) return sort_probs[i] > sort_probs[j] ? -1 : 1;
    return (i > j) - (i < j);
}

static void sort_candidates(int *idx, int m, const float *p) {
    /* insertion sort: m is small after the top-k / top-p filters; deterministic either way */
    if (m > 64) {
        qsort_r(idx, (size_t)m, sizeof *idx, by_prob, (void *)p);
        return;
    }
    for (int a = 1; a < m; a++) {
        int v = idx[a], b = a - 1;
        while (b >= 0 && (p[idx[b]] < p[v] || (p[idx[b]] == p[v] && idx[b] > v))) {
            idx[b + 1] = idx[b];
            b--;
        }
        idx[b + 1] = v;
    }
}

/* Keep the k most probable ids (sorted) in idx; returns k. */
static int top_k(const float *p, int n, int k, int *idx) {
    int m = 0;
    for (int i = 0; i < n; i++) {
        if (m == k && !(p[i] > p[idx[m - 1]])) continue;
        int b = m < k ? m++ : m - 1;
        while (b > 0 && p[idx[b - 1]] < p[i]) {
            idx[b] = idx[b - 1];
            b--;
        }
        idx[b] = i;
    }
    return m;
}

static int sample_with(const float *logits, int n, const sa_sampling *opt, sa_rng *rng, float *p,
                       int *idx) {
    float mx = logits[argmax(logits, n)], sum = 0;
    for (int i = 0; i < n; i++) {
        p[i] = expf((logits[i] - mx) / opt->temperature);
        sum += p[i];
    }
    for (int i = 0; i < n; i++) p[i] /= sum;
    int m;
    if (opt->top_k > 0 && opt->top_k < n) {
        m = top_k(p, n, opt->top_k, idx);
    } else {
        float cut = (opt->top_p > 0 && opt->top_p < 1) ? (1.0f - opt->top_p) / (float)(n - 1) : -1;
        m = 0;
        for (int i = 0; i < n; i++)
            if (p[i] >= cut) idx[m++] = i;
        if (cut >= 0) sort_candidates(idx, m, p);
    }
    if (opt->top_p > 0 && opt->top_p < 1) {
        float cum = 0;
        int keep = m;
        for (int i = 0; i < m; i++) {
            cum += p[idx[i]];
            if (cum >= opt->top_p) {
                keep = i + 1;
                break;
            }
        }
        m = keep;
    }
    float total = 0;
    for (int i = 0; i < m; i++) total += p[idx[i]];
    float r = sa_rng_uniform(rng) * total, acc = 0;
    for (int i = 0; i < m; i++) {
        acc += p[idx[i]];
        if (r < acc) return idx[i];
    }
    return idx[m - 1];
}

/* 1 if no token can be chosen: a NaN or +inf logit, or every logit -inf. */
static int unusable(const float *logits, int n) {
    int any = 0;
    for (int i = 0; i < n; i++) {
        if (isnan(logits[i]) || logits[i] == INFINITY) return 1;
        any |= logits[i] != -INFINITY;
    }
    return !any;
}

sa_sampling sa_sampling_default(void) {
    return (sa_sampling){.temperature = 0.8f, .top_k = 40, .top_p = 0.95f, .seed = 0};
}

int sa_sample(const float *logits, int n, const sa_sampling *opt, sa_rng *rng, void *scratch) {
    if (unusable(logits, n)) return -2;
    if (!(opt->temperature > 0) || n == 1) return argmax(logits, n);
    void *buf = scratch ? scratch : malloc(sa_sample_scratch_bytes(n));
    if (!buf) return -1;
    float *p = buf;
    int *idx = (int *)(p + n);
    int tok = sample_with(logits, n, opt, rng, p, idx);
    if (!scratch) free(buf);
    return tok;
}
