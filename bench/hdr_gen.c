/* hdr_gen.c: generate a TinyLlama-1.1B-shaped BF16 triple (base, harmful, target) for the HDR
 * benchmark (bench/hdr.md).
 *
 *   hdr_gen OUTDIR [LAYERS] [SHARD_BYTES]
 *
 * Shapes follow TinyLlama-1.1B (vocab 32000, hidden 2048, MLP 5632, 32 heads / 4 KV heads, 22
 * layers by default; LAYERS changes the depth to make a second model size). Weights are
 * pseudo-random: base ~ roughly N(0, 0.02), harmful = base + a heavy-tailed delta, target =
 * base + a small delta, so that tau = harmful - base has a realistic magnitude spread. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/fsutil.h"
#include "safearith/safetensors.h"

#define VOCAB 32000
#define HIDDEN 2048
#define FFN 5632
#define KV 256

typedef struct shape {
    char name[96];
    int ndim;
    int64_t dims[2];
} shape;

static int shapes_of(int layers, shape *s) {
    int n = 0;
    s[n++] = (shape){"model.embed_tokens.weight", 2, {VOCAB, HIDDEN}};
    for (int l = 0; l < layers; l++) {
        const char *names[] = {"self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj",
                               "self_attn.o_proj", "mlp.gate_proj",    "mlp.up_proj",
                               "mlp.down_proj"};
        int64_t dims[][2] = {{HIDDEN, HIDDEN}, {KV, HIDDEN},  {KV, HIDDEN}, {HIDDEN, HIDDEN},
                             {FFN, HIDDEN},    {FFN, HIDDEN}, {HIDDEN, FFN}};
        for (int k = 0; k < 7; k++) {
            s[n] = (shape){"", 2, {dims[k][0], dims[k][1]}};
            snprintf(s[n++].name, sizeof s[0].name, "model.layers.%d.%s.weight", l, names[k]);
        }
        s[n] = (shape){"", 1, {HIDDEN, 0}};
        snprintf(s[n++].name, sizeof s[0].name, "model.layers.%d.input_layernorm.weight", l);
        s[n] = (shape){"", 1, {HIDDEN, 0}};
        snprintf(s[n++].name, sizeof s[0].name, "model.layers.%d.post_attention_layernorm.weight",
                 l);
    }
    s[n++] = (shape){"model.norm.weight", 1, {HIDDEN, 0}};
    s[n++] = (shape){"lm_head.weight", 2, {VOCAB, HIDDEN}};
    return n;
}

static inline uint64_t next(uint64_t *x) {
    *x ^= *x << 13, *x ^= *x >> 7, *x ^= *x << 17;
    return *x;
}

/* uniform in (-1, 1) */
static inline float unif(uint64_t *x) {
    return (float)(int32_t)(next(x) >> 32) * (1.0f / 2147483648.0f);
}

static int write_model(const char *dir, const shape *s, int n, int which, uint64_t shard) {
    sa_outdir od;
    sa_st_writer *w;
    sa_error err;
    sa_st_writer_opts o;
    sa_st_writer_opts_init(&o);
    o.max_shard_bytes = shard;
    if (sa_outdir_open(&od, dir, NULL, 0, 1, &err) ||
        sa_st_writer_create(od.tmp_path, &o, &w, &err))
        return fprintf(stderr, "%s\n", err.msg), 1;
    for (int t = 0; t < n; t++)
        sa_st_writer_declare(w, s[t].name, SA_BF16, s[t].ndim, s[t].dims, &err);
    enum { CH = 1 << 20 };
    float *f = malloc(CH * sizeof *f);
    uint16_t *b = malloc(CH * sizeof *b);
    for (int t = 0; t < n; t++) {
        uint64_t numel = (uint64_t)s[t].dims[0] * (uint64_t)(s[t].ndim == 2 ? s[t].dims[1] : 1);
        uint64_t base_rng = 0x9e3779b97f4a7c15ull * (uint64_t)(t + 1),
                 d_rng = base_rng ^ (0xabcdefull * (uint64_t)(which + 1));
        for (uint64_t at = 0; at < numel; at += CH) {
            size_t m = numel - at < CH ? (size_t)(numel - at) : CH;
            for (size_t i = 0; i < m; i++) {
                float v = (unif(&base_rng) + unif(&base_rng)) * 0.02f;
                if (which == 1) {
                    float u = unif(&d_rng);
                    v += u * u * u * 0.004f;
                }
                if (which == 2) v += unif(&d_rng) * 0.0005f;
                f[i] = v;
            }
            sa_from_f32(f, b, SA_BF16, m);
            if (sa_st_writer_write(w, b, m * 2, &err)) return fprintf(stderr, "%s\n", err.msg), 1;
        }
    }
    free(f);
    free(b);
    if (sa_st_writer_finish(w, &err) || sa_outdir_commit(&od, &err))
        return fprintf(stderr, "%s\n", err.msg), 1;
    sa_st_writer_free(w);
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: hdr_gen OUTDIR [LAYERS] [SHARD_BYTES]\n");
        return 2;
    }
    int layers = argc > 2 ? atoi(argv[2]) : 22;
    uint64_t shard = argc > 3 ? strtoull(argv[3], NULL, 10) : 2000000000ull;
    shape *s = calloc((size_t)(9 * layers + 3), sizeof *s);
    int n = shapes_of(layers, s);
    const char *names[] = {"base", "harmful", "target"};
    for (int k = 0; k < 3; k++) {
        char *dir = sa_path_join(argv[1], names[k]);
        if (write_model(dir, s, n, k, shard)) return 1;
        free(dir);
    }
    free(s);
    return 0;
}
