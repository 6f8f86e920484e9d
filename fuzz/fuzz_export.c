/* fuzz_export.c: the GGUF export round trip, with the tokenizer as the fuzzed input. The input is
 * tokenizer.json, a NUL, then tokenizer_config.json; they go beside a one-layer checkpoint with
 * the organisms' vocabulary size. sa_gguf_export must either refuse with a message and leave no
 * file, or write a GGUF that sa_gguf_read accepts and that holds what the export promises: 12
 * tensors, the embedding's F32 values unchanged, one token per embedding row, a known tokenizer
 * model and token types 1..6. */
#include "fuzz_util.h"
#include "safearith/gguf.h"
#include "safearith/gguf_export.h"
#include "safearith/safetensors.h"

static char model_dir[256];

/* A one-layer Llama with the organisms' 1024-token vocabulary (hidden 8, 2 heads of 4, one KV
 * head): 66 KB, which the export hashes on every run, every value 1/64. */
static const char config_json[] =
    "{\"architectures\":[\"LlamaForCausalLM\"],\"vocab_size\":1024,\"hidden_size\":8,"
    "\"intermediate_size\":8,\"num_hidden_layers\":1,\"num_attention_heads\":2,"
    "\"num_key_value_heads\":1,\"max_position_embeddings\":64,\"bos_token_id\":1023,"
    "\"eos_token_id\":1023}";

static void write_checkpoint(const char *path) {
    static const struct {
        const char *name;
        long r, c;
    } t[] = {{"model.embed_tokens.weight", 1024, 8},
             {"model.norm.weight", 8, 0},
             {"lm_head.weight", 1024, 8},
             {"model.layers.0.input_layernorm.weight", 8, 0},
             {"model.layers.0.post_attention_layernorm.weight", 8, 0},
             {"model.layers.0.self_attn.q_proj.weight", 8, 8},
             {"model.layers.0.self_attn.k_proj.weight", 4, 8},
             {"model.layers.0.self_attn.v_proj.weight", 4, 8},
             {"model.layers.0.self_attn.o_proj.weight", 8, 8},
             {"model.layers.0.mlp.gate_proj.weight", 8, 8},
             {"model.layers.0.mlp.up_proj.weight", 8, 8},
             {"model.layers.0.mlp.down_proj.weight", 8, 8}};
    char header[4096];
    size_t h = 0, off = 0, n = sizeof t / sizeof t[0];
    h += (size_t)snprintf(header + h, sizeof header - h, "{");
    for (size_t i = 0; i < n; i++) {
        size_t bytes = 4 * (size_t)t[i].r * (size_t)(t[i].c ? t[i].c : 1);
        char shape[32];
        if (t[i].c)
            snprintf(shape, sizeof shape, "%ld,%ld", t[i].r, t[i].c);
        else
            snprintf(shape, sizeof shape, "%ld", t[i].r);
        h += (size_t)snprintf(header + h, sizeof header - h,
                              "%s\"%s\":{\"dtype\":\"F32\",\"shape\":[%s],\"data_offsets\":[%zu,"
                              "%zu]}",
                              i ? "," : "", t[i].name, shape, off, off + bytes);
        off += bytes;
    }
    h += (size_t)snprintf(header + h, sizeof header - h, "}");
    FILE *f = fopen(path, "wb");
    uint64_t hl = h;
    const float v = 1.0f / 64;
    if (!f || fwrite(&hl, 8, 1, f) != 1 || fwrite(header, 1, h, f) != h) abort();
    for (size_t i = 0; i < off / 4; i++)
        if (fwrite(&v, 4, 1, f) != 1) abort();
    if (fclose(f)) abort();
}

static void setup(void) {
    if (model_dir[0]) return;
    FILE *f = fopen(fz_path("model/config.json"), "wb");
    if (!f || fputs(config_json, f) < 0 || fclose(f)) abort();
    write_checkpoint(fz_path("model/model.safetensors"));
    snprintf(model_dir, sizeof model_dir, "%s", fz_path("model"));
}

/* The exported file against the source: any violation aborts (a finding). */
static void check_output(const char *out) {
    sa_gguf g;
    sa_error err;
    if (sa_gguf_read(out, &g, &err) != SA_OK) abort();
    if (g.n_tensors != 12) abort();
    const sa_gguf_kv *tok = sa_gguf_find(&g, "tokenizer.ggml.tokens");
    const sa_gguf_kv *typ = sa_gguf_find(&g, "tokenizer.ggml.token_type");
    const sa_gguf_kv *model = sa_gguf_find(&g, "tokenizer.ggml.model");
    if (!tok || tok->count != 1024 || !typ || typ->count != 1024 || !model) abort();
    if (strcmp(model->str, "gpt2") && strcmp(model->str, "llama")) abort();
    for (uint64_t i = 0; i < typ->count; i++)
        if (typ->arr[i] < 1 || typ->arr[i] > 6) abort();
    sa_checkpoint *ck;
    if (sa_ckpt_open(model_dir, &ck, &err) != SA_OK) abort();
    const sa_st_tensor *src = sa_ckpt_find(ck, "model.embed_tokens.weight");
    int found = 0;
    for (uint64_t i = 0; i < g.n_tensors; i++)
        if (!strcmp(g.tensors[i].name, "token_embd.weight")) {
            found = 1;
            if (g.tensors[i].nbytes != src->nbytes ||
                memcmp(g.tensors[i].data, src->data, src->nbytes))
                abort();
        }
    if (!found) abort();
    sa_ckpt_close(ck);
    sa_gguf_free(&g);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    setup();
    const uint8_t *rest;
    size_t rest_n, n = fz_split(data, size, &rest, &rest_n);
    char tj[256], tc[256], out[256];
    fz_path_keep("model/tokenizer.json", tj);
    fz_path_keep("model/tokenizer_config.json", tc);
    fz_path_keep("out.gguf", out);
    FILE *f = fopen(tj, "wb");
    if (!f || fwrite(data, 1, n, f) != n || fclose(f)) abort();
    unlink(tc);
    if (rest_n) {
        f = fopen(tc, "wb");
        if (!f || fwrite(rest, 1, rest_n, f) != rest_n || fclose(f)) abort();
    }
    unlink(out);
    sa_gguf_export_opts o;
    sa_gguf_export_opts_init(&o);
    o.overwrite = 1;
    sa_error err;
    sa_status st = sa_gguf_export(model_dir, out, &o, NULL, &err);
    if (st == SA_OK)
        check_output(out);
    else if (!err.msg[0] || access(out, F_OK) == 0)
        abort(); /* a refusal says why and leaves nothing */
    return 0;
}
