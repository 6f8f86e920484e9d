/* session.c: a session's state: the per-sequence KV cache, the RoPE tables, the batch buffers
 * (all allocated once, sized by n_seq, max_ctx and max_batch) and the thread pool.
 *
 * The RoPE tables follow transformers' float32 arithmetic: inv_freq = 1 / theta^(2i/d), adjusted
 * for linear or llama3 scaling, angle = position * inv_freq in float32, then cos and sin. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/opts.h"
#include "model/model_internal.h"

static void llama3_adjust(const sa_model_config *c, float *inv_freq, int half) {
    double lo_wl = c->rope_original_max_position / c->rope_low_freq_factor;
    double hi_wl = c->rope_original_max_position / c->rope_high_freq_factor;
    for (int i = 0; i < half; i++) {
        float f = inv_freq[i];
        float wl = (float)(2.0 * M_PI) / f;
        float scaled = wl > lo_wl ? f / (float)c->rope_factor : f;
        if (!(wl < hi_wl) && !(wl > lo_wl)) {
            float s = (float)((c->rope_original_max_position / wl - c->rope_low_freq_factor) /
                              (c->rope_high_freq_factor - c->rope_low_freq_factor));
            scaled = (1.0f - s) * scaled / (float)c->rope_factor + s * scaled;
        }
        inv_freq[i] = scaled;
    }
}

static int rope_tables(sa_session *s) {
    const sa_model_config *c = &s->m->cfg;
    int half = c->head_dim / 2, ctx = s->opt.max_ctx;
    float *inv = malloc((size_t)half * sizeof *inv);
    s->rope_cos = malloc((size_t)ctx * half * sizeof(float));
    s->rope_sin = malloc((size_t)ctx * half * sizeof(float));
    if (!inv || !s->rope_cos || !s->rope_sin) {
        free(inv);
        return -1;
    }
    for (int i = 0; i < half; i++) {
        float e = (float)(2 * i) / (float)c->head_dim;
        inv[i] = 1.0f / powf((float)c->rope_theta, e);
        if (c->rope_kind == SA_ROPE_LINEAR) inv[i] /= (float)c->rope_factor;
    }
    if (c->rope_kind == SA_ROPE_LLAMA3) llama3_adjust(c, inv, half);
    for (int p = 0; p < ctx; p++)
        for (int i = 0; i < half; i++) {
            float a = (float)p * inv[i];
            s->rope_cos[(size_t)p * half + i] = cosf(a);
            s->rope_sin[(size_t)p * half + i] = sinf(a);
        }
    free(inv);
    return 0;
}

static float *falloc(size_t n) {
    return aligned_alloc(64, ((n * sizeof(float) + 63) / 64) * 64);
}

static int alloc_buffers(sa_session *s) {
    const sa_model_config *c = &s->m->cfg;
    size_t B = (size_t)s->opt.max_batch, d = (size_t)c->hidden_size;
    size_t qd = (size_t)c->n_heads * c->head_dim, ffn = (size_t)c->intermediate_size;
    s->kv_dim = (size_t)c->n_kv_heads * c->head_dim;
    size_t cache = (size_t)c->n_layers * s->opt.n_seq * s->opt.max_ctx * s->kv_dim;
    s->kcache = falloc(cache);
    s->vcache = falloc(cache);
    s->x = falloc(B * d);
    s->xb = falloc(B * (d > qd ? d : qd));
    s->q = falloc(B * qd);
    s->k = falloc(B * s->kv_dim);
    s->v = falloc(B * s->kv_dim);
    s->att = falloc(B * qd);
    s->hb = falloc(B * ffn);
    s->hb2 = falloc(B * ffn);
    s->xsel = falloc(B * d);
    s->scores = falloc((size_t)sa_pool_size(s->pool) * s->opt.max_ctx);
    s->pos = malloc(B * sizeof *s->pos);
    s->seq = malloc(B * sizeof *s->seq);
    s->tok = malloc(B * sizeof *s->tok);
    s->logit_row = malloc(B * sizeof *s->logit_row);
    s->seq_len = calloc((size_t)s->opt.n_seq, sizeof *s->seq_len);
    return (s->kcache && s->vcache && s->x && s->xb && s->q && s->k && s->v && s->att && s->hb &&
            s->hb2 && s->xsel && s->scores && s->pos && s->seq && s->tok && s->logit_row &&
            s->seq_len)
               ? 0
               : -1;
}

void sa_session_opts_init(sa_session_opts *o) {
    *o = (sa_session_opts){.struct_size = sizeof *o, .n_seq = 1};
}

sa_status sa_session_create(sa_model *m, const sa_session_opts *opts, sa_session **out,
                            sa_error *err) {
    *out = NULL;
    sa_session_opts o;
    sa_session_opts_init(&o);
    sa_status s0 = sa_opts_take(&o, sizeof o, opts, "sa_session_opts", err);
    if (s0) return s0;
    const sa_model_config *c = &m->cfg;
    if (o.n_seq < 1) return sa_error_set(err, SA_EINVAL, "session: n_seq must be >= 1");
    if (o.max_ctx <= 0)
        o.max_ctx = c->max_position_embeddings < 4096 ? c->max_position_embeddings : 4096;
    if (o.max_batch <= 0) o.max_batch = 512;
    if (o.max_ctx < 1 || o.max_batch < 1)
        return sa_error_set(err, SA_EINVAL, "session: max_ctx and max_batch must be >= 1");
    sa_status st = sa_kset_choose(o.kset, &o.kset, err);
    if (st) return st;
    if (o.precision == SA_PRECISION_BF16 && o.kset != SA_KSET_AVX512BF16)
        return sa_error_set(err, SA_EUNSUPPORTED,
                            "precision bf16 needs the avx512bf16 kernel set (running %s)",
                            sa_kset_name(o.kset));
    sa_session *s = calloc(1, sizeof *s);
    if (!s) return sa_error_set(err, SA_ENOMEM, "session: out of memory");
    s->m = m;
    s->opt = o;
    s->pool = sa_pool_create(o.n_threads);
    int widest = c->intermediate_size > c->hidden_size ? c->intermediate_size : c->hidden_size;
    if (c->n_heads * c->head_dim > widest) widest = c->n_heads * c->head_dim;
    if (!s->pool || sa_mm_ctx_init(&s->mm, s->pool, widest, o.kset, o.precision) ||
        alloc_buffers(s) || rope_tables(s)) {
        sa_session_free(s);
        return sa_error_set(err, SA_ENOMEM,
                            "session: out of memory (KV cache for %d sequences x %d positions)",
                            o.n_seq, o.max_ctx);
    }
    *out = s;
    return SA_OK;
}

void sa_session_free(sa_session *s) {
    if (!s) return;
    if (s->mm.tiles) sa_mm_ctx_free(&s->mm);
    sa_pool_destroy(s->pool);
    void *bufs[] = {s->kcache, s->vcache,    s->x,       s->xb,       s->q,        s->k,     s->v,
                    s->att,    s->hb,        s->hb2,     s->xsel,     s->scores,   s->pos,   s->seq,
                    s->tok,    s->logit_row, s->seq_len, s->rope_cos, s->rope_sin, s->logits};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) free(bufs[i]);
    free(s);
}

sa_kset sa_session_kset(const sa_session *s) {
    return s->opt.kset;
}
sa_precision sa_session_precision(const sa_session *s) {
    return s->opt.precision;
}

const sa_model *sa_session_model(const sa_session *s) {
    return s->m;
}
int sa_session_n_seq(const sa_session *s) {
    return s->opt.n_seq;
}
int sa_session_max_ctx(const sa_session *s) {
    return s->opt.max_ctx;
}
int sa_session_max_batch(const sa_session *s) {
    return s->opt.max_batch;
}

void sa_session_reset(sa_session *s, int seq) {
    if (seq < 0) {
        memset(s->seq_len, 0, (size_t)s->opt.n_seq * sizeof *s->seq_len);
    } else if (seq < s->opt.n_seq) {
        s->seq_len[seq] = 0;
    }
}

void sa_session_truncate(sa_session *s, int seq, int len) {
    if (seq >= 0 && seq < s->opt.n_seq && len >= 0 && len < s->seq_len[seq]) s->seq_len[seq] = len;
}

int sa_session_seq_len(const sa_session *s, int seq) {
    return (seq >= 0 && seq < s->opt.n_seq) ? s->seq_len[seq] : 0;
}

void sa_session_set_hook(sa_session *s, const sa_hook *hook) {
    if (hook)
        s->hook = *hook;
    else
        memset(&s->hook, 0, sizeof s->hook);
}

const float *sa_session_logits(const sa_session *s, int i) {
    if (i < 0 || i >= s->last_n || s->logit_row[i] < 0) return NULL;
    return s->logits + (size_t)s->logit_row[i] * s->m->cfg.vocab_size;
}
