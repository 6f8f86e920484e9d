/* forward.c: the forward pass over a batch of rows, each appending one token to one sequence.
 *
 * Reads top to bottom like the model (Llama family, transformers' conventions):
 *   x = embed[token]
 *   per layer:  h = x + o_proj(attention(rope(q_proj(n1)), rope(k_proj(n1)), v_proj(n1)))
 *                   with n1 = rmsnorm(x) * w1 (q/k/v biases for Qwen2)
 *               x = h + down_proj(silu(gate_proj(n2)) * up_proj(n2)),  n2 = rmsnorm(h) * w2
 *   logits = lm_head(rmsnorm(x) * w_final)
 * RoPE rotates element i of each head with element i + head_dim/2 (rotate_half). Attention is
 * causal over the row's own sequence (keys at positions <= its position, and > position - window
 * with a sliding window), softmax(q.k / sqrt(head_dim)) in float32, GQA by sharing each KV head
 * across n_heads / n_kv_heads query heads. Hooks (model.h) run at the embedding, MLP output and
 * layer output points. Every row's arithmetic depends only on that row and its sequence's cache. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model/model_internal.h"

#ifdef __AVX2__
#include <immintrin.h>
#endif

/* sum a[i] * b[i] (8 lanes, then a fixed reduction order) */
static float dot(const float *a, const float *b, int n) {
    int i = 0;
    float s = 0;
#ifdef __AVX2__
    __m256 acc = _mm256_setzero_ps();
    for (; i + 8 <= n; i += 8)
        acc = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), acc);
    __m128 h = _mm_add_ps(_mm256_castps256_ps128(acc), _mm256_extractf128_ps(acc, 1));
    h = _mm_add_ps(h, _mm_movehl_ps(h, h));
    s = _mm_cvtss_f32(_mm_add_ss(h, _mm_shuffle_ps(h, h, 1)));
#endif
    for (; i < n; i++) s += a[i] * b[i];
    return s;
}

/* y += w * x */
static void axpy(float *y, float w, const float *x, int n) {
    int i = 0;
#ifdef __AVX2__
    __m256 wv = _mm256_set1_ps(w);
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(y + i,
                         _mm256_fmadd_ps(wv, _mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i)));
#endif
    for (; i < n; i++) y[i] += w * x[i];
}

static void rmsnorm(float *out, const float *x, const float *w, int d, float eps) {
    double ss = 0;
    for (int i = 0; i < d; i++) ss += (double)x[i] * x[i];
    float r = 1.0f / sqrtf((float)(ss / d) + eps);
    for (int i = 0; i < d; i++) out[i] = w[i] * (x[i] * r);
}

static void rmsnorm_rows(float *out, const float *x, const float *w, int n, int d, float eps) {
    for (int i = 0; i < n; i++) rmsnorm(out + (size_t)i * d, x + (size_t)i * d, w, d, eps);
}

static void add_bias(float *y, const float *b, int n, int width) {
    if (!b) return;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < width; j++) y[(size_t)i * width + j] += b[j];
}

/* rotate_half RoPE on n_heads heads of one row at table row (cos, sin). */
static void rope(float *v, int n_heads, int hd, const float *cos, const float *sin) {
    int half = hd / 2;
    for (int h = 0; h < n_heads; h++) {
        float *a = v + (size_t)h * hd, *b = a + half;
        for (int i = 0; i < half; i++) {
            float x1 = a[i], x2 = b[i];
            a[i] = x1 * cos[i] - x2 * sin[i];
            b[i] = x2 * cos[i] + x1 * sin[i];
        }
    }
}

static float *cache_row(const sa_session *s, float *cache, int layer, int seq, int pos) {
    size_t idx = (((size_t)layer * s->opt.n_seq + seq) * s->opt.max_ctx + pos) * s->kv_dim;
    return cache + idx;
}

typedef struct {
    sa_session *s;
    int layer;
} att_job;

/* One (row, head): softmax(q.K^T / sqrt(hd)) . V over the row's visible positions. */
static void attention_task(void *ctx, size_t task, int worker) {
    att_job *j = ctx;
    sa_session *s = j->s;
    const sa_model_config *c = &s->m->cfg;
    int hd = c->head_dim, nh = c->n_heads;
    int row = (int)(task / nh), h = (int)(task % nh);
    int kvh = h / (nh / c->n_kv_heads), pos = s->pos[row], seq = s->seq[row];
    int start =
        c->sliding_window > 0 && pos - c->sliding_window + 1 > 0 ? pos - c->sliding_window + 1 : 0;
    const float *q = s->q + (size_t)row * nh * hd + (size_t)h * hd;
    float *sc = s->scores + (size_t)worker * s->opt.max_ctx;
    float scale = 1.0f / sqrtf((float)hd), mx = -INFINITY;
    for (int p = start; p <= pos; p++) {
        const float *k = cache_row(s, s->kcache, j->layer, seq, p) + (size_t)kvh * hd;
        sc[p] = dot(q, k, hd) * scale;
        if (sc[p] > mx) mx = sc[p];
    }
    float sum = 0;
    for (int p = start; p <= pos; p++) {
        sc[p] = expf(sc[p] - mx);
        sum += sc[p];
    }
    float *out = s->att + (size_t)row * nh * hd + (size_t)h * hd;
    memset(out, 0, (size_t)hd * sizeof *out);
    for (int p = start; p <= pos; p++) {
        const float *v = cache_row(s, s->vcache, j->layer, seq, p) + (size_t)kvh * hd;
        axpy(out, sc[p] / sum, v, hd);
    }
}

static int hook_wants(const sa_session *s, int point, int layer) {
    const sa_hook *h = &s->hook;
    if (!h->fn || !(h->mask & point)) return 0;
    if (point == SA_HOOK_EMBED) return 1;
    int hi = h->layer_hi < 0 ? s->m->cfg.n_layers - 1 : h->layer_hi;
    return layer >= h->layer_lo && layer <= hi;
}

static sa_status run_hook(sa_session *s, int point, int layer, float *rows, int n, sa_error *err) {
    sa_hook_rows r = {point, layer, n, s->m->cfg.hidden_size, rows, s->seq, s->pos, s->tok};
    sa_status st = s->hook.fn(s->hook.ud, &r, err);
    if (st && err && err->code == SA_OK) sa_error_set(err, st, "hook failed at layer %d", layer);
    return st;
}

static void attention_block(sa_session *s, int l, int n) {
    const sa_model_config *c = &s->m->cfg;
    const sa_layer_weights *L = &s->m->layers[l];
    int d = c->hidden_size, hd = c->head_dim, half = hd / 2;
    size_t qd = (size_t)c->n_heads * hd, kvd = s->kv_dim;
    rmsnorm_rows(s->xb, s->x, L->attn_norm, n, d, c->rms_norm_eps);
    const sa_wmat *qkv[3] = {&L->wq, &L->wk, &L->wv};
    float *qkv_out[3] = {s->q, s->k, s->v};
    sa_matmul_multi(&s->mm, 3, qkv, s->xb, n, qkv_out);
    add_bias(s->q, L->bq, n, (int)qd);
    add_bias(s->k, L->bk, n, (int)kvd);
    add_bias(s->v, L->bv, n, (int)kvd);
    for (int i = 0; i < n; i++) {
        const float *cs = s->rope_cos + (size_t)s->pos[i] * half,
                    *sn = s->rope_sin + (size_t)s->pos[i] * half;
        rope(s->q + i * qd, c->n_heads, hd, cs, sn);
        rope(s->k + i * kvd, c->n_kv_heads, hd, cs, sn);
        memcpy(cache_row(s, s->kcache, l, s->seq[i], s->pos[i]), s->k + i * kvd,
               kvd * sizeof(float));
        memcpy(cache_row(s, s->vcache, l, s->seq[i], s->pos[i]), s->v + i * kvd,
               kvd * sizeof(float));
    }
    att_job j = {s, l};
    sa_pool_run(s->pool, (size_t)n * c->n_heads, attention_task, &j);
    sa_matmul(&s->mm, &L->wo, s->att, n, s->xb);
    for (size_t i = 0; i < (size_t)n * d; i++) s->x[i] += s->xb[i];
}

static sa_status mlp_block(sa_session *s, int l, int n, sa_error *err) {
    const sa_model_config *c = &s->m->cfg;
    const sa_layer_weights *L = &s->m->layers[l];
    int d = c->hidden_size;
    size_t nf = (size_t)n * c->intermediate_size;
    rmsnorm_rows(s->xb, s->x, L->mlp_norm, n, d, c->rms_norm_eps);
    const sa_wmat *gate_up[2] = {&L->wg, &L->wu};
    float *gate_up_out[2] = {s->hb, s->hb2};
    sa_matmul_multi(&s->mm, 2, gate_up, s->xb, n, gate_up_out);
    for (size_t i = 0; i < nf; i++) {
        float g = s->hb[i];
        s->hb[i] = g / (1.0f + expf(-g)) * s->hb2[i];
    }
    sa_matmul(&s->mm, &L->wd, s->hb, n, s->xb);
    if (hook_wants(s, SA_HOOK_MLP_OUT, l)) {
        sa_status st = run_hook(s, SA_HOOK_MLP_OUT, l, s->xb, n, err);
        if (st) return st;
    }
    for (size_t i = 0; i < (size_t)n * d; i++) s->x[i] += s->xb[i];
    if (hook_wants(s, SA_HOOK_LAYER_OUT, l)) return run_hook(s, SA_HOOK_LAYER_OUT, l, s->x, n, err);
    return SA_OK;
}

/* Check the batch and assign each row its position; nothing is modified on failure. */
static sa_status prepare(sa_session *s, int n, const int32_t *tokens, const int32_t *seq_ids,
                         sa_error *err) {
    const sa_model_config *c = &s->m->cfg;
    if (n < 1 || n > s->opt.max_batch)
        return sa_error_set(err, SA_EINVAL, "eval: %d rows (must be 1..%d)", n, s->opt.max_batch);
    for (int i = 0; i < n; i++) {
        int sq = seq_ids ? seq_ids[i] : 0;
        if (sq < 0 || sq >= s->opt.n_seq)
            return sa_error_set(err, SA_EINVAL, "eval: row %d: sequence id %d out of range", i, sq);
        if (tokens[i] < 0 || tokens[i] >= c->vocab_size)
            return sa_error_set(err, SA_EINVAL,
                                "token %d out of range: not in the model's vocabulary (0..%d)",
                                tokens[i], c->vocab_size - 1);
        s->seq[i] = sq;
        s->tok[i] = tokens[i];
    }
    for (int i = 0; i < n; i++) {
        int p = s->seq_len[s->seq[i]];
        for (int j = 0; j < i; j++) p += s->seq[j] == s->seq[i];
        if (p >= s->opt.max_ctx)
            return sa_error_set(err, SA_EINVAL,
                                "eval: sequence %d would exceed the context of %d positions",
                                s->seq[i], s->opt.max_ctx);
        s->pos[i] = p;
    }
    return SA_OK;
}

static sa_status compute_logits(sa_session *s, int n, const uint8_t *want, sa_error *err) {
    const sa_model_config *c = &s->m->cfg;
    int d = c->hidden_size, k = 0;
    for (int i = 0; i < n; i++) {
        s->logit_row[i] = (!want || want[i]) ? k : -1;
        if (s->logit_row[i] >= 0)
            rmsnorm(s->xsel + (size_t)k++ * d, s->x + (size_t)i * d, s->m->final_norm, d,
                    c->rms_norm_eps);
    }
    if (k == 0) return SA_OK;
    if ((size_t)k > s->logits_rows_cap) {
        float *l = realloc(s->logits, (size_t)k * c->vocab_size * sizeof(float));
        if (!l) return sa_error_set(err, SA_ENOMEM, "eval: out of memory for %d rows of logits", k);
        s->logits = l;
        s->logits_rows_cap = (size_t)k;
    }
    sa_matmul(&s->mm, &s->m->lm_head, s->xsel, k, s->logits);
    return SA_OK;
}

sa_status sa_session_eval(sa_session *s, int n, const int32_t *tokens, const int32_t *seq_ids,
                          const uint8_t *want_logits, sa_error *err) {
    const sa_model_config *c = &s->m->cfg;
    s->last_n = 0;
    sa_status st = prepare(s, n, tokens, seq_ids, err);
    if (st) return st;
    int d = c->hidden_size;
    for (int i = 0; i < n; i++) {
        const unsigned char *row = (const unsigned char *)s->m->embed.data +
                                   (size_t)s->tok[i] * d * (s->m->embed.dtype == SA_F32 ? 4 : 2);
        sa_to_f32(row, s->m->embed.dtype, s->x + (size_t)i * d, (size_t)d);
    }
    if (hook_wants(s, SA_HOOK_EMBED, -1) && (st = run_hook(s, SA_HOOK_EMBED, -1, s->x, n, err)))
        return st;
    for (int l = 0; l < c->n_layers; l++) {
        attention_block(s, l, n);
        if ((st = mlp_block(s, l, n, err))) return st;
    }
    if ((st = compute_logits(s, n, want_logits, err))) return st;
    for (int i = 0; i < n; i++)
        if (s->pos[i] + 1 > s->seq_len[s->seq[i]]) s->seq_len[s->seq[i]] = s->pos[i] + 1;
    s->last_n = n;
    return SA_OK;
}
