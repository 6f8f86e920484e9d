/* model_internal.h: the engine's private structures: the weights view of a loaded model and a
 * session's buffers and KV cache, shared by the files of src/model/. */
#ifndef SA_MODEL_INTERNAL_H
#define SA_MODEL_INTERNAL_H

#include "safearith/model.h"
#include "safearith/safetensors.h"
#include "safearith/threads.h"
#include "tensor/matmul.h"

typedef struct sa_layer_weights {
    float *attn_norm, *mlp_norm; /* [d], widened copies (small) */
    sa_wmat wq, wk, wv, wo;      /* [nh*hd, d], [nkv*hd, d] x2, [d, nh*hd] */
    float *bq, *bk, *bv;         /* Qwen2 biases (widened), else NULL */
    sa_wmat wg, wu, wd;          /* [ffn, d] x2, [d, ffn] */
} sa_layer_weights;

struct sa_model {
    char *dir;
    sa_checkpoint *ck;
    sa_model_config cfg;
    sa_wmat embed;   /* [vocab, d] */
    sa_wmat lm_head; /* [vocab, d]; the embedding when tied */
    float *final_norm;
    sa_layer_weights *layers;
    void **owned; /* copies of misaligned tensors and widened small vectors */
    int n_owned, cap_owned;
};

struct sa_session {
    sa_model *m;
    sa_session_opts opt;
    sa_pool *pool;
    sa_mm_ctx mm;
    sa_hook hook;
    /* per-sequence state */
    int *seq_len;
    /* KV cache: [layer][seq][max_ctx][kv_dim] for K and for V */
    float *kcache, *vcache;
    size_t kv_dim;
    /* RoPE tables [max_ctx][head_dim/2] */
    float *rope_cos, *rope_sin;
    /* batch buffers, max_batch rows each */
    float *x, *xb, *q, *k, *v, *att, *hb, *hb2;
    int32_t *pos, *seq, *tok;
    float *scores; /* [n_threads][max_ctx] */
    /* logits of the last eval */
    float *logits;
    size_t logits_rows_cap;
    int *logit_row; /* [max_batch]: index into logits, or -1 */
    float *xsel;    /* [max_batch][d] final-norm rows that want logits */
    int last_n;
};

#endif
