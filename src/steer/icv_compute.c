/* icv_compute.c: pooled hidden states of the demonstrations, and the ICV from them (steer.h).
 *
 * Texts are run through the engine `batch` at a time, each in its own sequence, all their rows
 * in as few eval calls as max_batch allows, with no logits. A read-only hook on every decoder
 * layer's output adds each row that falls in its text's selected range into a double-precision
 * sum; the mean is written once the batch is done. The states are the same numbers `safearith
 * logits` dumps as hidden.(l+1), since both come from the same hook point. */
#include <stdlib.h>
#include <string.h>

#include "core/opts.h"
#include "safearith/steer.h"

typedef struct {
    const sa_icv_text *texts; /* this batch's texts, indexed by sequence id */
    int L, d;
    double *sum; /* [batch][L][d] */
} pool_ctx;

static sa_status pool_hook(void *ud, const sa_hook_rows *r, sa_error *err) {
    (void)err;
    pool_ctx *c = ud;
    for (int i = 0; i < r->n_rows; i++) {
        const sa_icv_text *t = &c->texts[r->seq_ids[i]];
        int p = r->positions[i];
        if (p < t->sel_begin || p >= t->sel_end) continue;
        double *acc = c->sum + ((size_t)r->seq_ids[i] * c->L + r->layer) * c->d;
        const float *row = r->rows + (size_t)i * r->dim;
        for (int k = 0; k < c->d; k++) acc[k] += row[k];
    }
    return SA_OK;
}

/* Run texts [0, n) (n <= session sequences) and pool into out[n][L][d]. */
static sa_status run_batch(sa_session *s, pool_ctx *c, int n, int max_batch, float *out,
                           sa_error *err) {
    size_t rows = 0;
    for (int i = 0; i < n; i++) rows += (size_t)c->texts[i].n;
    int32_t *tok = malloc(rows * sizeof *tok), *seq = malloc(rows * sizeof *seq);
    uint8_t *want = calloc(rows, 1);
    if (!tok || !seq || !want) {
        free(tok), free(seq), free(want);
        return sa_error_set(err, SA_ENOMEM, "icv: out of memory");
    }
    size_t k = 0;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < c->texts[i].n; j++) tok[k] = c->texts[i].ids[j], seq[k++] = i;
    memset(c->sum, 0, (size_t)n * c->L * c->d * sizeof *c->sum);
    sa_session_reset(s, -1);
    sa_status st = SA_OK;
    for (size_t at = 0; at < rows && !st; at += (size_t)max_batch) {
        int m = rows - at < (size_t)max_batch ? (int)(rows - at) : max_batch;
        st = sa_session_eval(s, m, tok + at, seq + at, want + at, err);
    }
    for (int i = 0; i < n && !st; i++) {
        double inv = 1.0 / (c->texts[i].sel_end - c->texts[i].sel_begin);
        for (size_t e = 0; e < (size_t)c->L * c->d; e++)
            out[(size_t)i * c->L * c->d + e] = (float)(c->sum[(size_t)i * c->L * c->d + e] * inv);
    }
    free(tok), free(seq), free(want);
    return st;
}

sa_status sa_icv_hidden(sa_model *m, const sa_icv_text *texts, int n_texts, int batch,
                        int n_threads, sa_precision precision, float *out, const sa_progress *prog,
                        sa_error *err) {
    const sa_model_config *cfg = sa_model_get_config(m);
    int L = cfg->n_layers, d = cfg->hidden_size, max_len = 1;
    if (batch <= 0) batch = 8;
    if (batch > n_texts) batch = n_texts;
    for (int i = 0; i < n_texts; i++) max_len = texts[i].n > max_len ? texts[i].n : max_len;
    sa_session_opts so;
    sa_session_opts_init(&so);
    so.n_seq = batch, so.max_ctx = max_len, so.max_batch = 512, so.n_threads = n_threads;
    so.precision = precision;
    sa_session *s = NULL;
    sa_status st = sa_session_create(m, &so, &s, err);
    if (st) return st;
    pool_ctx c = {texts, L, d, calloc((size_t)batch * L * d, sizeof(double))};
    if (!c.sum) st = sa_error_set(err, SA_ENOMEM, "icv: out of memory");
    sa_hook h = {pool_hook, &c, SA_HOOK_LAYER_OUT, 0, -1};
    sa_session_set_hook(s, &h);
    for (int at = 0; at < n_texts && !st; at += batch) {
        if (sa_progress_report(prog, "hidden states", (uint64_t)at, (uint64_t)n_texts)) {
            st = sa_error_set(err, SA_EINTR, "interrupted");
            break;
        }
        int n = n_texts - at < batch ? n_texts - at : batch;
        c.texts = texts + at;
        st = run_batch(s, &c, n, sa_session_max_batch(s), out + (size_t)at * L * d, err);
    }
    if (!st) sa_progress_report(prog, "hidden states", (uint64_t)n_texts, (uint64_t)n_texts);
    free(c.sum);
    sa_session_free(s);
    return st;
}

static const char *model_hint(const sa_model_config *cfg) {
    switch (cfg->arch) {
    case SA_ARCH_MISTRAL:
        return "mistral";
    case SA_ARCH_QWEN2:
        return "qwen2";
    default:
        return "llama";
    }
}

/* Differences positive - negative over layers [first, L) and the vector from them. */
static sa_status build_vector(const float *states, size_t n_pairs, int L, int d, int first,
                              const sa_icv_opts *o, sa_cvec *out, sa_error *err) {
    int nl = L - first;
    float *diffs = malloc(n_pairs * (size_t)nl * d * sizeof *diffs);
    float *dir = malloc((size_t)nl * d * sizeof *dir), *mn = malloc((size_t)L * sizeof *mn);
    sa_status st = (!diffs || !dir || !mn) ? sa_error_set(err, SA_ENOMEM, "icv: out of memory")
                                           : sa_cvec_alloc(out, L, d, err);
    for (size_t i = 0; i < n_pairs && !st; i++)
        for (size_t e = 0; e < (size_t)nl * d; e++) {
            size_t off = (size_t)first * d + e;
            diffs[i * nl * d + e] =
                states[(2 * i) * L * d + off] - states[(2 * i + 1) * L * d + off];
        }
    if (!st) {
        memset(mn, 0, (size_t)L * sizeof *mn);
        st = sa_icv_from_diffs(diffs, (int)n_pairs, nl, d, o->method, o->scope, dir, mn + first,
                               err);
    }
    if (!st) {
        memcpy(out->dir + (size_t)first * d, dir, (size_t)nl * d * sizeof *dir);
        for (int l = first; l < L; l++) out->has[l] = 1;
        out->mean_norms = mn;
        mn = NULL;
    }
    free(diffs), free(dir), free(mn);
    return st;
}

static sa_status set_meta(sa_cvec *cv, const sa_model_config *cfg, const sa_icv_opts *o,
                          const sa_pairs *pairs, sa_error *err) {
    cv->model_hint = strdup(model_hint(cfg));
    cv->method = strdup(sa_icv_method_name(o->method));
    cv->position = strdup(sa_icv_position_name(o->position));
    cv->scope = strdup(sa_icv_scope_name(o->scope));
    cv->direction = strdup(pairs->qa ? "safe-unsafe" : "positive-negative");
    cv->n_pairs = (int64_t)pairs->n;
    if (!cv->model_hint || !cv->method || !cv->position || !cv->scope || !cv->direction)
        return sa_error_set(err, SA_ENOMEM, "icv: out of memory");
    return SA_OK;
}

sa_status sa_icv_compute(sa_model *m, sa_tokenizer *tok, const sa_pairs *pairs,
                         const char *pairs_name, const sa_icv_opts *o_in, sa_cvec *out,
                         float **states_out, sa_icv_text **texts_out, const sa_progress *prog,
                         sa_error *err) {
    sa_icv_opts oc;
    sa_icv_opts_init(&oc);
    memset(out, 0, sizeof *out);
    sa_status s0 = sa_opts_take(&oc, sizeof oc, o_in, "sa_icv_opts", err);
    if (s0) return s0;
    const sa_icv_opts *o = &oc;
    const sa_model_config *cfg = sa_model_get_config(m);
    int L = cfg->n_layers, d = cfg->hidden_size, first = o->layer0 ? 0 : 1;
    if (L - first < 1)
        return sa_error_set(err, SA_EINVAL,
                            "icv: the model has %d layer(s); layer 0 is only used with --layer0",
                            L);
    if (o->method != SA_ICV_MEAN && pairs->n < 2)
        return sa_error_set(err, SA_EINVAL,
                            "%s: PCA needs at least 2 pairs (got %zu); use --method mean",
                            pairs_name, pairs->n);
    sa_icv_text *texts = NULL;
    size_t nt = 2 * pairs->n;
    int ctx = cfg->max_position_embeddings > 0 ? cfg->max_position_embeddings : 4096;
    sa_status st = sa_icv_prepare(tok, pairs, o, ctx, pairs_name, &texts, err);
    if (st) return st;
    float *states = malloc(nt * (size_t)L * d * sizeof *states);
    if (!states) st = sa_error_set(err, SA_ENOMEM, "icv: out of memory for %zu hidden states", nt);
    if (!st)
        st = sa_icv_hidden(m, texts, (int)nt, o->batch, o->n_threads, o->precision, states, prog,
                           err);
    if (!st) st = build_vector(states, pairs->n, L, d, first, o, out, err);
    if (!st) st = set_meta(out, cfg, o, pairs, err);
    if (st) sa_cvec_free(out);
    if (!st && states_out) *states_out = states, states = NULL;
    if (!st && texts_out) *texts_out = texts, texts = NULL;
    free(states);
    sa_icv_texts_free(texts, nt);
    return st;
}
