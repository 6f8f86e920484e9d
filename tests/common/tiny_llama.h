/* tiny_llama.h: write a small random-weight Llama checkpoint (config.json + model.safetensors,
 * F32) for the C tests and benchmarks that need a model on disk (header-only).
 *
 * Weights are deterministic for a seed: norm weights 1 + 0.1 u, the embedding emb_scale * u,
 * every other matrix mat_scale * u, with u uniform in [-1, 1). An untied model also gets an
 * lm_head like the embedding. */
#ifndef SA_TESTS_TINY_LLAMA_H
#define SA_TESTS_TINY_LLAMA_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "safearith/safetensors.h"

typedef struct tiny_llama {
    int vocab, hidden, ff, layers, heads, kv_heads;
    int max_pos, bos, eos, tied;
    uint64_t seed;
    float emb_scale, mat_scale;
} tiny_llama;

static inline float tiny_llama_u(uint64_t *s) {
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    return (float)((*s >> 40) / 8388608.0 - 1.0);
}

static inline int tiny_llama_config(const char *dir, const tiny_llama *m) {
    char path[1024];
    snprintf(path, sizeof path, "%s/config.json", dir);
    FILE *f = fopen(path, "w");
    if (!f) return -1;
    fprintf(f,
            "{\"architectures\":[\"LlamaForCausalLM\"],\"model_type\":\"llama\",\"vocab_size\":%d,"
            "\"hidden_size\":%d,\"intermediate_size\":%d,\"num_hidden_layers\":%d,"
            "\"num_attention_heads\":%d,\"num_key_value_heads\":%d,\"rms_norm_eps\":1e-5,"
            "\"max_position_embeddings\":%d,\"rope_theta\":10000.0,\"bos_token_id\":%d,"
            "\"eos_token_id\":%d,\"tie_word_embeddings\":%s}\n",
            m->vocab, m->hidden, m->ff, m->layers, m->heads, m->kv_heads, m->max_pos, m->bos,
            m->eos, m->tied ? "true" : "false");
    return fclose(f) ? -1 : 0;
}

/* Writes the checkpoint into the existing directory dir; returns 0, or -1 (message in err). */
static inline int tiny_llama_write(const char *dir, const tiny_llama *m, sa_error *err) {
    if (tiny_llama_config(dir, m)) return sa_error_set(err, SA_EIO, "%s: cannot write", dir), -1;
    int d = m->hidden, kv = m->kv_heads * (m->hidden / m->heads);
    static const char *mats[] = {"self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj",
                                 "self_attn.o_proj", "mlp.gate_proj",    "mlp.up_proj",
                                 "mlp.down_proj"};
    int shape[7][2] = {{d, d}, {kv, d}, {kv, d}, {d, d}, {m->ff, d}, {m->ff, d}, {d, m->ff}};
    int n = 3 + 9 * m->layers;
    sa_st_f32_tensor *t = calloc((size_t)n, sizeof *t);
    char(*names)[64] = calloc((size_t)n, sizeof *names);
    uint64_t s = m->seed;
    int k = 0, rc = t && names ? 0 : -1;
    for (int i = -3; rc == 0 && i < 9 * m->layers; i++) {
        int l = i < 0 ? 0 : i / 9, j = i < 0 ? 0 : i % 9, rows, cols;
        float scale = m->mat_scale;
        if (i == -3 || (i == -1 && !m->tied)) {
            snprintf(names[k], 64, "%s", i == -3 ? "model.embed_tokens.weight" : "lm_head.weight");
            rows = m->vocab, cols = d, scale = m->emb_scale;
        } else if (i == -1) {
            continue;
        } else if (i == -2) {
            snprintf(names[k], 64, "model.norm.weight");
            rows = d, cols = 0;
        } else if (j < 2) {
            snprintf(names[k], 64, "model.layers.%d.%s", l,
                     j == 0 ? "input_layernorm.weight" : "post_attention_layernorm.weight");
            rows = d, cols = 0;
        } else {
            snprintf(names[k], 64, "model.layers.%d.%s.weight", l, mats[j - 2]);
            rows = shape[j - 2][0], cols = shape[j - 2][1];
        }
        size_t cnt = (size_t)rows * (size_t)(cols ? cols : 1);
        float *buf = malloc(cnt * sizeof *buf);
        if (!buf) {
            rc = -1;
            break;
        }
        for (size_t e = 0; e < cnt; e++)
            buf[e] = cols ? scale * tiny_llama_u(&s) : 1.0f + 0.1f * tiny_llama_u(&s);
        t[k] = (sa_st_f32_tensor){names[k], cols ? 2 : 1, {rows, cols}, buf};
        k++;
    }
    char path[1024];
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    if (rc == 0 && sa_st_write_f32_file(path, t, (size_t)k, NULL, 1, err) != SA_OK)
        rc = -1;
    else if (rc)
        sa_error_set(err, SA_ENOMEM, "out of memory");
    for (int i = 0; i < k; i++) free((void *)t[i].data);
    free(t);
    free(names);
    return rc;
}

#endif
