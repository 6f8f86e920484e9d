/* fuzz_adapter.c: any adapter_config.json, optionally followed (after a NUL) by the bytes of
 * adapter_model.safetensors, opened as BASE+ADAPTER over a fixed tiny base: refused with a
 * one-line message, or opened with every computed tensor readable (AddressSanitizer checks the
 * reads of the factors and the base). Without a second part, a fixed adapter with linear LoRA,
 * a lora_B bias, a DoRA magnitude and embedding LoRA is used, so the config alone decides. */
#include "fuzz_util.h"
#include "safearith/safetensors.h"

/* A safetensors file of F32 tensors given as {name, rows, cols} (cols 0: 1-D), values i / 7. */
typedef struct fz_t {
    const char *name;
    int rows, cols;
} fz_t;

static void write_st(const char *path, const fz_t *ts, int n) {
    char header[2048];
    size_t at = 0, off = 0;
    at += (size_t)snprintf(header + at, sizeof header - at, "{");
    for (int i = 0; i < n; i++) {
        size_t bytes = (size_t)ts[i].rows * (size_t)(ts[i].cols ? ts[i].cols : 1) * 4;
        char shape[32];
        if (ts[i].cols)
            snprintf(shape, sizeof shape, "[%d,%d]", ts[i].rows, ts[i].cols);
        else
            snprintf(shape, sizeof shape, "[%d]", ts[i].rows);
        at +=
            (size_t)snprintf(header + at, sizeof header - at,
                             "%s\"%s\":{\"dtype\":\"F32\",\"shape\":%s,\"data_offsets\":[%zu,%zu]}",
                             i ? "," : "", ts[i].name, shape, off, off + bytes);
        off += bytes;
    }
    at += (size_t)snprintf(header + at, sizeof header - at, "}");
    FILE *f = fopen(path, "wb");
    uint64_t hl = at;
    if (!f || fwrite(&hl, 8, 1, f) != 1 || fwrite(header, 1, at, f) != at) abort();
    for (size_t i = 0; i < off / 4; i++) {
        float v = (float)(i % 13) / 7.0f - 0.8f;
        if (fwrite(&v, 4, 1, f) != 1) abort();
    }
    if (fclose(f)) abort();
}

static void make_base(void) {
    static const fz_t base[] = {{"model.embed_tokens.weight", 6, 4},
                                {"model.layers.0.self_attn.q_proj.weight", 4, 4},
                                {"model.layers.0.self_attn.q_proj.bias", 4, 0},
                                {"model.layers.0.mlp.down_proj.weight", 4, 8},
                                {"lm_head.weight", 6, 4}};
    static const fz_t adapter[] = {
        {"base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight", 2, 4},
        {"base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight", 4, 2},
        {"base_model.model.model.layers.0.self_attn.q_proj.lora_B.bias", 4, 0},
        {"base_model.model.model.layers.0.mlp.down_proj.lora_A.weight", 2, 8},
        {"base_model.model.model.layers.0.mlp.down_proj.lora_B.weight", 4, 2},
        {"base_model.model.model.embed_tokens.lora_embedding_A", 2, 6},
        {"base_model.model.model.embed_tokens.lora_embedding_B", 4, 2},
        {"base_model.model.lm_head.modules_to_save.default.weight", 6, 4}};
    write_st(fz_path("base/model.safetensors"), base, 5);
    write_st(fz_path("fixed.safetensors"), adapter, 8);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static int ready;
    if (!ready++) make_base();
    const uint8_t *rest;
    size_t rest_n, n = fz_split(data, size, &rest, &rest_n);
    fz_write("adapter/adapter_config.json", data, n);
    char fixed[256], weights[256], model[600];
    fz_path_keep("fixed.safetensors", fixed);
    fz_path_keep("adapter/adapter_model.safetensors", weights);
    if (rest_n || rest > data + n) {
        fz_write("adapter/adapter_model.safetensors", rest, rest_n);
    } else {
        unlink(weights);
        if (symlink(fixed, weights) != 0) abort();
    }
    char b[256];
    snprintf(model, sizeof model, "%s+%s", fz_path_keep("base", b), fz_path("adapter"));
    sa_checkpoint *ck;
    sa_error err;
    if (sa_ckpt_open(model, &ck, &err) != SA_OK) {
        if (!err.msg[0] || strchr(err.msg, '\n')) abort(); /* one line, always */
        return 0;
    }
    float buf[64];
    for (size_t i = 0; i < sa_ckpt_count(ck); i++) {
        const sa_st_tensor *t = sa_ckpt_tensor(ck, i);
        for (uint64_t off = 0; off < t->numel; off += 64) {
            size_t k = t->numel - off < 64 ? (size_t)(t->numel - off) : 64;
            sa_ckpt_read_f32(ck, t, off, k, buf);
            for (size_t j = 0; j < k; j++) fz_consume_float(buf[j]);
        }
    }
    sa_ckpt_close(ck);
    return 0;
}
