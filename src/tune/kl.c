/* kl.c: KL divergence of next-token distributions against the unmodified model (see kl.h). */
#include "tune/kl.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "formats/json_build.h"

/* log-softmax of n logits into out (double). */
static void log_softmax(const float *x, int n, double *out) {
    double mx = -INFINITY, sum = 0;
    for (int i = 0; i < n; i++) mx = x[i] > mx ? x[i] : mx;
    for (int i = 0; i < n; i++) sum += exp((double)x[i] - mx);
    double lse = mx + log(sum);
    for (int i = 0; i < n; i++) out[i] = (double)x[i] - lse;
}

static int argmax(const float *x, int n) {
    int b = 0;
    for (int i = 1; i < n; i++)
        if (x[i] > x[b]) b = i;
    return b;
}

static int is_eos(const sa_model_config *c, int id) {
    for (int i = 0; i < c->n_eos; i++)
        if (c->eos_token_ids[i] == id) return 1;
    return 0;
}

/* One forward pass over ids[0..len) of a fresh sequence; logits wanted from row `from` on. */
static sa_status run_rows(sa_session *s, const int32_t *ids, int len, int from, sa_error *err) {
    int32_t *seq = calloc((size_t)len, sizeof *seq);
    uint8_t *want = calloc((size_t)len, 1);
    if (!seq || !want) return free(seq), free(want), sa_error_set(err, SA_ENOMEM, "out of memory");
    for (int i = from; i < len; i++) want[i] = 1;
    sa_session_reset(s, 0);
    sa_status st = sa_session_eval(s, len, ids, seq, want, err);
    free(seq), free(want);
    return st;
}

/* Greedy answer of up to n_tok tokens after prompt k (ids grows to prompt + answer). */
static sa_status reference_answer(sa_tune_kl *k, int i, sa_session *s, const sa_model_config *c,
                                  int n_tok, sa_error *err) {
    int P = k->n_prompt[i], A = 0;
    sa_status st = SA_OK;
    while (!st && A < n_tok) {
        st = run_rows(s, k->ids[i], P + A, P + A - 1, err);
        if (st) break;
        int next = argmax(sa_session_logits(s, P + A - 1), c->vocab_size);
        k->ids[i][P + A++] = next;
        if (is_eos(c, next)) break;
    }
    k->n_answer[i] = A;
    return st;
}

static sa_status open_session(const char *dir, int max_ctx, int n_threads, sa_model **m,
                              sa_session **s, sa_error *err) {
    *s = NULL;
    sa_status st = sa_model_load(dir, m, err);
    sa_session_opts so;
    sa_session_opts_init(&so);
    so.max_ctx = max_ctx, so.max_batch = max_ctx, so.n_threads = n_threads;
    if (!st) st = sa_session_create(*m, &so, s, err);
    return st;
}

static sa_status tokenize_prompts(sa_tune_kl *k, const char *ref, const char *const *prompts,
                                  int n_tok, int *max_len, sa_error *err) {
    sa_tokenizer *tok = NULL;
    sa_status st = sa_tokenizer_load(ref, &tok, err);
    *max_len = 0;
    for (int i = 0; !st && i < k->n; i++) {
        sa_tokens t = {0};
        st = sa_tokenizer_encode(tok, prompts[i], strlen(prompts[i]), SA_TOK_DEFAULT, &t, err);
        if (!st && !(k->ids[i] = malloc((t.n + (size_t)n_tok) * sizeof(int32_t))))
            st = sa_error_set(err, SA_ENOMEM, "out of memory");
        if (!st) memcpy(k->ids[i], t.ids, t.n * sizeof(int32_t));
        k->n_prompt[i] = (int)t.n;
        if (!st && !t.n) st = sa_error_set(err, SA_EINVAL, "KL prompt %d has no tokens", i);
        if ((int)t.n + n_tok > *max_len) *max_len = (int)t.n + n_tok;
        sa_tokens_free(&t);
    }
    sa_tokenizer_free(tok);
    return st;
}

sa_status sa_tune_kl_init(sa_tune_kl *k, const char *ref, const char *const *prompts, int n,
                          int n_tok, int n_threads, sa_error *err) {
    memset(k, 0, sizeof *k);
    k->n = n;
    k->ids = calloc((size_t)n + 1, sizeof *k->ids);
    k->n_prompt = calloc((size_t)n + 1, sizeof *k->n_prompt);
    k->n_answer = calloc((size_t)n + 1, sizeof *k->n_answer);
    if (!k->ids || !k->n_prompt || !k->n_answer)
        return sa_error_set(err, SA_ENOMEM, "out of memory");
    int max_len;
    sa_status st = tokenize_prompts(k, ref, prompts, n_tok, &max_len, err);
    sa_model *m = NULL;
    sa_session *s = NULL;
    if (!st) st = open_session(ref, max_len, n_threads, &m, &s, err);
    const sa_model_config *c = m ? sa_model_get_config(m) : NULL;
    for (int i = 0; !st && i < n; i++) st = reference_answer(k, i, s, c, n_tok, err);
    size_t rows = 0;
    for (int i = 0; i < n; i++) rows += (size_t)k->n_answer[i];
    if (!st) k->vocab = c->vocab_size;
    if (!st && !(k->ref_lp = malloc(rows * (size_t)k->vocab * sizeof *k->ref_lp)))
        st = sa_error_set(err, SA_ENOMEM, "out of memory");
    for (int i = 0, row = 0; !st && i < n; i++) {
        int P = k->n_prompt[i], A = k->n_answer[i];
        st = run_rows(s, k->ids[i], P + A - 1, P - 1, err);
        for (int j = 0; !st && j < A; j++, row++)
            log_softmax(sa_session_logits(s, P - 1 + j), k->vocab,
                        k->ref_lp + (size_t)row * (size_t)k->vocab);
    }
    sa_session_free(s);
    sa_model_free(m);
    return st;
}

sa_status sa_tune_kl_measure(const sa_tune_kl *k, const char *model_dir, const sa_hook *hook,
                             int n_threads, double *kl_first, double *kl_mean, sa_error *err) {
    int max_len = 0;
    for (int i = 0; i < k->n; i++)
        if (k->n_prompt[i] + k->n_answer[i] > max_len) max_len = k->n_prompt[i] + k->n_answer[i];
    sa_model *m = NULL;
    sa_session *s = NULL;
    sa_status st = open_session(model_dir, max_len, n_threads, &m, &s, err);
    if (!st && sa_model_get_config(m)->vocab_size != k->vocab)
        st = sa_error_set(err, SA_EMISMATCH, "%s: vocabulary %d, the reference has %d", model_dir,
                          sa_model_get_config(m)->vocab_size, k->vocab);
    if (!st && hook) sa_session_set_hook(s, hook);
    double *lp = st ? NULL : malloc((size_t)k->vocab * sizeof *lp), first = 0, all = 0;
    if (!st && !lp) st = sa_error_set(err, SA_ENOMEM, "out of memory");
    long n_all = 0;
    for (int i = 0, row = 0; !st && i < k->n; i++) {
        int P = k->n_prompt[i], A = k->n_answer[i];
        st = run_rows(s, k->ids[i], P + A - 1, P - 1, err);
        for (int j = 0; !st && j < A; j++, row++) {
            log_softmax(sa_session_logits(s, P - 1 + j), k->vocab, lp);
            const double *ref = k->ref_lp + (size_t)row * (size_t)k->vocab;
            double kl = 0;
            for (int v = 0; v < k->vocab; v++) kl += exp(ref[v]) * (ref[v] - lp[v]);
            if (!isfinite(kl))
                st = sa_error_set(err, SA_EINVAL, "%s: KL is not finite on KL prompt %d", model_dir,
                                  i);
            all += kl, n_all++;
            if (j == 0) first += kl;
        }
    }
    free(lp);
    sa_session_free(s);
    sa_model_free(m);
    if (st) return st;
    *kl_first = k->n ? first / k->n : 0;
    *kl_mean = n_all ? all / (double)n_all : 0;
    return SA_OK;
}

cJSON *sa_tune_kl_json(const sa_tune_kl *k) {
    sa_jb b = {0};
    cJSON *a = cJSON_CreateArray();
    b.oom = !a;
    for (int i = 0; i < k->n && !b.oom; i++) {
        cJSON *o = sa_jb_obj(&b, a, NULL);
        sa_jb_add(&b, o, "ids", cJSON_CreateIntArray(k->ids[i], k->n_prompt[i] + k->n_answer[i]));
        sa_jb_num(&b, o, "prompt_tokens", k->n_prompt[i]);
        sa_jb_num(&b, o, "answer_tokens", k->n_answer[i]);
    }
    return sa_jb_done(&b, a);
}

void sa_tune_kl_free(sa_tune_kl *k) {
    for (int i = 0; k->ids && i < k->n; i++) free(k->ids[i]);
    free(k->ids), free(k->n_prompt), free(k->n_answer), free(k->ref_lp);
    memset(k, 0, sizeof *k);
}
