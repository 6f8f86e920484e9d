/* model.c: loading a model directory: config.json, then a view of every weight in the
 * safetensors memory map.
 *
 * Large matrices are used in place in their stored dtype (BF16, F16 or F32); only misaligned
 * tensors are copied (still in their dtype), and the small vectors (norm weights, biases) are
 * widened to float32. Every tensor in the checkpoint must be one the forward pass uses (plus the
 * harmless rotary_emb.inv_freq buffers of old checkpoints): an unexpected tensor such as an
 * o_proj bias is refused by name rather than silently ignored.
 *
 * With BASE+ADAPTER (safetensors.h), a matrix the adapter changes is computed once at load, a
 * block of rows at a time, into memory the model owns, in the base's dtype (rounded once from
 * float32), and the base's pages for it are released: the base stays mapped, only the adapted
 * matrices are held a second time, never the whole model. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/model_internal.h"

static void *own(sa_model *m, void *p) {
    if (!p) return NULL;
    if (m->n_owned == m->cap_owned) {
        int cap = m->cap_owned ? 2 * m->cap_owned : 64;
        void **o = realloc(m->owned, (size_t)cap * sizeof *o);
        if (!o) {
            free(p);
            return NULL;
        }
        m->owned = o;
        m->cap_owned = cap;
    }
    m->owned[m->n_owned++] = p;
    return p;
}

static sa_status find_tensor(sa_model *m, const char *name, int64_t d0, int64_t d1,
                             const sa_st_tensor **out, sa_error *err) {
    const sa_st_tensor *t = sa_ckpt_find(m->ck, name);
    if (!t) return sa_error_set(err, SA_EFORMAT, "%s: tensor '%s' is missing", m->dir, name);
    if (!sa_dtype_is_arith(t->dtype))
        return sa_error_set(err, SA_EUNSUPPORTED, "%s: tensor '%s' has unsupported dtype %s",
                            m->dir, name, sa_dtype_name(t->dtype));
    int ok = d1 ? (t->ndim == 2 && t->shape[0] == d0 && t->shape[1] == d1)
                : (t->ndim == 1 && t->shape[0] == d0);
    if (!ok)
        return sa_error_set(err, SA_EMISMATCH,
                            "%s: tensor '%s' has the wrong shape (expected [%lld%s%lld])", m->dir,
                            name, (long long)d0, d1 ? ", " : "", d1 ? (long long)d1 : 0LL);
    *out = t;
    return SA_OK;
}

#define MATERIALISE_BLOCK ((size_t)1 << 16)

static sa_status check_finite(const sa_model *m, const sa_st_tensor *t, const float *v, size_t n,
                              uint64_t off, sa_error *err) {
    for (size_t i = 0; i < n; i++)
        if (!isfinite(v[i]))
            return sa_error_set(err, SA_EFORMAT,
                                "%s: tensor '%s' is not finite at element %llu with the adapter "
                                "applied",
                                m->dir, t->name, (unsigned long long)(off + i));
    return SA_OK;
}

/* A computed tensor's values rounded once to its dtype, into owned aligned memory. */
static sa_status materialise(sa_model *m, const sa_st_tensor *t, const void **out, sa_error *err) {
    unsigned char *dst = own(m, aligned_alloc(64, (t->nbytes + 63) / 64 * 64));
    float *tmp = malloc(MATERIALISE_BLOCK * sizeof *tmp);
    sa_status st =
        dst && tmp ? SA_OK
                   : sa_error_set(err, SA_ENOMEM, "%s: out of memory applying the adapter to '%s'",
                                  m->dir, t->name);
    size_t es = sa_dtype_bits(t->dtype) / 8;
    for (uint64_t off = 0; st == SA_OK && off < t->numel; off += MATERIALISE_BLOCK) {
        size_t n =
            t->numel - off < MATERIALISE_BLOCK ? (size_t)(t->numel - off) : MATERIALISE_BLOCK;
        sa_ckpt_read_f32(m->ck, t, off, n, tmp);
        st = check_finite(m, t, tmp, n, off, err);
        if (st == SA_OK) sa_from_f32(tmp, dst + off * es, t->dtype, n);
    }
    free(tmp);
    if (st == SA_OK) sa_ckpt_release(m->ck, sa_ckpt_stored(m->ck, t));
    *out = dst;
    return st;
}

static sa_status load_matrix(sa_model *m, const char *name, int rows, int cols, sa_wmat *w,
                             sa_error *err) {
    const sa_st_tensor *t = NULL;
    sa_status st = find_tensor(m, name, rows, cols, &t, err);
    if (st) return st;
    w->dtype = t->dtype;
    w->rows = rows;
    w->cols = cols;
    w->data = t->data;
    if (!t->data) return materialise(m, t, &w->data, err);
    if (!t->aligned) {
        void *copy = own(m, aligned_alloc(64, (t->nbytes + 63) / 64 * 64));
        if (!copy)
            return sa_error_set(err, SA_ENOMEM, "%s: out of memory copying '%s'", m->dir, name);
        memcpy(copy, t->data, t->nbytes);
        w->data = copy;
    }
    return SA_OK;
}

static sa_status load_vector(sa_model *m, const char *name, int n, float **out, sa_error *err) {
    const sa_st_tensor *t = NULL;
    sa_status st = find_tensor(m, name, n, 0, &t, err);
    if (st) return st;
    float *v = own(m, malloc((size_t)n * sizeof *v));
    if (!v) return sa_error_set(err, SA_ENOMEM, "%s: out of memory reading '%s'", m->dir, name);
    sa_ckpt_read_f32(m->ck, t, 0, (size_t)n, v);
    *out = v;
    return SA_OK;
}

static sa_status load_layer(sa_model *m, int l, sa_error *err) {
    const sa_model_config *c = &m->cfg;
    sa_layer_weights *L = &m->layers[l];
    int d = c->hidden_size, qd = c->n_heads * c->head_dim, kvd = c->n_kv_heads * c->head_dim;
    char n[160];
    sa_status st;
#define NAME(s) (snprintf(n, sizeof n, "model.layers.%d.%s", l, s), n)
    if ((st = load_vector(m, NAME("input_layernorm.weight"), d, &L->attn_norm, err)) ||
        (st = load_vector(m, NAME("post_attention_layernorm.weight"), d, &L->mlp_norm, err)) ||
        (st = load_matrix(m, NAME("self_attn.q_proj.weight"), qd, d, &L->wq, err)) ||
        (st = load_matrix(m, NAME("self_attn.k_proj.weight"), kvd, d, &L->wk, err)) ||
        (st = load_matrix(m, NAME("self_attn.v_proj.weight"), kvd, d, &L->wv, err)) ||
        (st = load_matrix(m, NAME("self_attn.o_proj.weight"), d, qd, &L->wo, err)) ||
        (st = load_matrix(m, NAME("mlp.gate_proj.weight"), c->intermediate_size, d, &L->wg, err)) ||
        (st = load_matrix(m, NAME("mlp.up_proj.weight"), c->intermediate_size, d, &L->wu, err)) ||
        (st = load_matrix(m, NAME("mlp.down_proj.weight"), d, c->intermediate_size, &L->wd, err)))
        return st;
    if (c->qkv_bias && ((st = load_vector(m, NAME("self_attn.q_proj.bias"), qd, &L->bq, err)) ||
                        (st = load_vector(m, NAME("self_attn.k_proj.bias"), kvd, &L->bk, err)) ||
                        (st = load_vector(m, NAME("self_attn.v_proj.bias"), kvd, &L->bv, err))))
        return st;
#undef NAME
    return SA_OK;
}

/* Is `name` a tensor this model's forward pass reads? */
static int expected_tensor(const sa_model_config *c, const char *name) {
    static const char *const per_layer[] = {
        "input_layernorm.weight",  "post_attention_layernorm.weight",
        "self_attn.q_proj.weight", "self_attn.k_proj.weight",
        "self_attn.v_proj.weight", "self_attn.o_proj.weight",
        "mlp.gate_proj.weight",    "mlp.up_proj.weight",
        "mlp.down_proj.weight"};
    static const char *const biases[] = {"self_attn.q_proj.bias", "self_attn.k_proj.bias",
                                         "self_attn.v_proj.bias"};
    if (!strcmp(name, "model.embed_tokens.weight") || !strcmp(name, "model.norm.weight")) return 1;
    if (!strcmp(name, "lm_head.weight")) return 1;
    int l, off = 0;
    if (sscanf(name, "model.layers.%d.%n", &l, &off) != 1 || off == 0 || l < 0 || l >= c->n_layers)
        return 0;
    const char *rest = name + off;
    if (!strcmp(rest, "self_attn.rotary_emb.inv_freq")) return 1;
    for (size_t i = 0; i < sizeof per_layer / sizeof per_layer[0]; i++)
        if (!strcmp(rest, per_layer[i])) return 1;
    for (size_t i = 0; c->qkv_bias && i < 3; i++)
        if (!strcmp(rest, biases[i])) return 1;
    return 0;
}

/* 1 + the highest N of the checkpoint's model.layers.N tensors (0 if none). */
static int layers_in_weights(const sa_model *m) {
    int n = 0;
    for (size_t i = 0; i < sa_ckpt_count(m->ck); i++) {
        int l, off = 0;
        if (sscanf(sa_ckpt_tensor(m->ck, i)->name, "model.layers.%d.%n", &l, &off) == 1 && off &&
            l >= n)
            n = l + 1;
    }
    return n;
}

static sa_status load_weights(sa_model *m, sa_error *err) {
    const sa_model_config *c = &m->cfg;
    for (size_t i = 0; i < sa_ckpt_count(m->ck); i++) {
        const char *name = sa_ckpt_tensor(m->ck, i)->name;
        if (!expected_tensor(c, name))
            return sa_error_set(err, SA_EUNSUPPORTED, "%s: unexpected tensor '%s' for %s", m->dir,
                                name, c->arch_name);
    }
    sa_status st =
        load_matrix(m, "model.embed_tokens.weight", c->vocab_size, c->hidden_size, &m->embed, err);
    if (st || (st = load_vector(m, "model.norm.weight", c->hidden_size, &m->final_norm, err)))
        return st;
    if (sa_ckpt_find(m->ck, "lm_head.weight")) {
        st = load_matrix(m, "lm_head.weight", c->vocab_size, c->hidden_size, &m->lm_head, err);
        if (st) return st;
    } else if (c->tie_word_embeddings) {
        m->lm_head = m->embed;
    } else {
        return sa_error_set(err, SA_EFORMAT,
                            "%s: tensor 'lm_head.weight' is missing (tie_word_embeddings is false)",
                            m->dir);
    }
    /* refused before the per-layer array it would size (num_hidden_layers 1e9: gigabytes) */
    if (c->n_layers > layers_in_weights(m))
        return sa_error_set(
            err, SA_EFORMAT,
            "%s/config.json: num_hidden_layers is %d but the weights hold %d layers", m->dir,
            c->n_layers, layers_in_weights(m));
    m->layers = own(m, calloc((size_t)c->n_layers, sizeof *m->layers));
    if (!m->layers) return sa_error_set(err, SA_ENOMEM, "%s: out of memory", m->dir);
    for (int l = 0; l < c->n_layers; l++)
        if ((st = load_layer(m, l, err))) return st;
    m->cfg.weight_dtype = m->layers[0].wq.dtype;
    return SA_OK;
}

static sa_status check_special(const sa_model *m, sa_error *err) {
    const sa_model_config *c = &m->cfg;
    if (c->bos_token_id >= c->vocab_size)
        return sa_error_set(err, SA_EFORMAT, "%s/config.json: bos_token_id %d >= vocab_size",
                            m->dir, c->bos_token_id);
    for (int i = 0; i < c->n_eos; i++)
        if (c->eos_token_ids[i] >= c->vocab_size)
            return sa_error_set(err, SA_EFORMAT, "%s/config.json: eos_token_id %d >= vocab_size",
                                m->dir, c->eos_token_ids[i]);
    return SA_OK;
}

sa_status sa_model_load(const char *dir, sa_model **out, sa_error *err) {
    return sa_model_load_mode(dir, SA_CKPT_MMAP, out, err);
}

sa_status sa_model_load_mode(const char *dir, sa_ckpt_mode mode, sa_model **out, sa_error *err) {
    *out = NULL;
    sa_model *m = calloc(1, sizeof *m);
    if (!m || !(m->dir = strdup(dir))) {
        free(m);
        return sa_error_set(err, SA_ENOMEM, "%s: out of memory", dir);
    }
    sa_status st = sa_model_config_load(dir, &m->cfg, err);
    if (!st) st = sa_ckpt_open_mode(dir, mode, &m->ck, err);
    if (!st) st = load_weights(m, err);
    if (!st) st = check_special(m, err);
    if (st) {
        sa_model_free(m);
        return st;
    }
    *out = m;
    return SA_OK;
}

void sa_model_free(sa_model *m) {
    if (!m) return;
    for (int i = 0; i < m->n_owned; i++) free(m->owned[i]);
    free(m->owned);
    sa_ckpt_close(m->ck);
    free(m->dir);
    free(m);
}

const sa_model_config *sa_model_get_config(const sa_model *m) {
    return &m->cfg;
}
const char *sa_model_dir(const sa_model *m) {
    return m->dir;
}

static uint64_t wbytes(const sa_wmat *w) {
    return (uint64_t)w->rows * (uint64_t)w->cols * (w->dtype == SA_F32 ? 4u : 2u);
}

uint64_t sa_model_bytes_per_token(const sa_model *m) {
    uint64_t b =
        wbytes(&m->lm_head) + (uint64_t)m->cfg.hidden_size * (m->embed.dtype == SA_F32 ? 4 : 2);
    for (int l = 0; l < m->cfg.n_layers; l++) {
        const sa_layer_weights *L = &m->layers[l];
        b += wbytes(&L->wq) + wbytes(&L->wk) + wbytes(&L->wv) + wbytes(&L->wo) + wbytes(&L->wg) +
             wbytes(&L->wu) + wbytes(&L->wd);
    }
    return b;
}
