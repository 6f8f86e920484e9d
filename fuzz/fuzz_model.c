/* fuzz_model.c: a model directory whose tensors do not match its config.json is refused with an
 * error, never run. The input drives a tiny Llama or Qwen2 checkpoint: each byte, in turn, keeps
 * a tensor as its config expects or drops it, renames it, changes its dtype, or stretches or
 * shrinks one of its dimensions, and can add a stray tensor. When sa_model_load accepts the
 * result, a forward pass over three tokens and their logits must run inside the buffers
 * (AddressSanitizer watches every read). */
#include "fuzz_util.h"
#include "safearith/model.h"

#define D 8  /* hidden */
#define F 16 /* MLP width */
#define V 16 /* vocab */
#define HD 4 /* head_dim: 2 heads, 1 kv head */

typedef struct {
    char name[64];
    const char *dtype;
    int ndim;
    long shape[2];
} spec;

static const uint8_t *in;
static size_t in_left;
static unsigned next_byte(void) {
    return in_left ? (in_left--, *in++) : 0;
}

static int add(spec *s, int n, const char *name, int ndim, long d0, long d1) {
    unsigned b = next_byte(), what = b & 7;
    spec t = {.dtype = "F32", .ndim = ndim, .shape = {d0, d1}};
    snprintf(t.name, sizeof t.name, "%s", name);
    if (what == 1) return n; /* dropped */
    if (what == 2) t.name[0] = 'x';
    if (what == 3) t.dtype = (b & 8) ? "BF16" : (b & 16) ? "F16" : "I32";
    if (what == 4) t.shape[(b >> 3) & 1] += 1 + ((b >> 4) & 3);
    if (what == 5 && t.shape[(b >> 3) & 1] > 1) t.shape[(b >> 3) & 1] -= 1;
    if (what == 6) t.ndim = ndim == 1 ? 2 : 1, t.shape[1] = t.ndim == 2 ? 1 : 0;
    s[n++] = t;
    return n;
}

static size_t elem_size(const char *dt) {
    return strcmp(dt, "F32") && strcmp(dt, "I32") ? 2 : 4;
}

/* The tensors as a safetensors file: JSON header, then zero-filled data with a few ones. */
static void write_checkpoint(const spec *s, int n, const char *path) {
    char header[16384];
    size_t h = 0, off = 0;
    h += (size_t)snprintf(header + h, sizeof header - h, "{");
    for (int i = 0; i < n; i++) {
        size_t bytes = elem_size(s[i].dtype) * (size_t)s[i].shape[0] *
                       (size_t)(s[i].ndim == 2 ? s[i].shape[1] : 1);
        char shape[48];
        if (s[i].ndim == 2)
            snprintf(shape, sizeof shape, "%ld,%ld", s[i].shape[0], s[i].shape[1]);
        else
            snprintf(shape, sizeof shape, "%ld", s[i].shape[0]);
        h += (size_t)snprintf(
            header + h, sizeof header - h,
            "%s\"%s\":{\"dtype\":\"%s\",\"shape\":[%s],\"data_offsets\":[%zu,%zu]}", i ? "," : "",
            s[i].name, s[i].dtype, shape, off, off + bytes);
        off += bytes;
    }
    h += (size_t)snprintf(header + h, sizeof header - h, "}");
    while (h % 8) header[h++] = ' ';
    FILE *f = fopen(path, "wb");
    uint64_t hl = h;
    if (!f || fwrite(&hl, 8, 1, f) != 1 || fwrite(header, 1, h, f) != h) abort();
    for (size_t i = 0; i < off; i++) fputc(i % 37 == 0 ? 1 : 0, f);
    if (fclose(f)) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    in = data, in_left = size;
    unsigned flags = next_byte();
    int qwen = flags & 1, tied = (flags >> 1) & 1;
    char cfg[1024];
    snprintf(cfg, sizeof cfg,
             "{\"architectures\":[\"%s\"],\"vocab_size\":%d,\"hidden_size\":%d,"
             "\"intermediate_size\":%d,\"num_hidden_layers\":1,\"num_attention_heads\":2,"
             "\"num_key_value_heads\":1,\"head_dim\":%d,\"max_position_embeddings\":16,"
             "\"tie_word_embeddings\":%s}",
             qwen ? "Qwen2ForCausalLM" : "LlamaForCausalLM", V, D, F, HD, tied ? "true" : "false");
    fz_write("model/config.json", (const uint8_t *)cfg, strlen(cfg));
    spec s[32];
    int n = 0;
    n = add(s, n, "model.embed_tokens.weight", 2, V, D);
    n = add(s, n, "model.layers.0.input_layernorm.weight", 1, D, 0);
    n = add(s, n, "model.layers.0.self_attn.q_proj.weight", 2, 2 * HD, D);
    n = add(s, n, "model.layers.0.self_attn.k_proj.weight", 2, HD, D);
    n = add(s, n, "model.layers.0.self_attn.v_proj.weight", 2, HD, D);
    if (qwen) {
        n = add(s, n, "model.layers.0.self_attn.q_proj.bias", 1, 2 * HD, 0);
        n = add(s, n, "model.layers.0.self_attn.k_proj.bias", 1, HD, 0);
        n = add(s, n, "model.layers.0.self_attn.v_proj.bias", 1, HD, 0);
    }
    n = add(s, n, "model.layers.0.self_attn.o_proj.weight", 2, D, 2 * HD);
    n = add(s, n, "model.layers.0.post_attention_layernorm.weight", 1, D, 0);
    n = add(s, n, "model.layers.0.mlp.gate_proj.weight", 2, F, D);
    n = add(s, n, "model.layers.0.mlp.up_proj.weight", 2, F, D);
    n = add(s, n, "model.layers.0.mlp.down_proj.weight", 2, D, F);
    n = add(s, n, "model.norm.weight", 1, D, 0);
    if (!tied) n = add(s, n, "lm_head.weight", 2, V, D);
    if (next_byte() & 1) n = add(s, n, "model.layers.1.mlp.up_proj.weight", 2, F, D);
    write_checkpoint(s, n, fz_path("model/model.safetensors"));
    sa_model *m;
    sa_error err;
    if (sa_model_load(fz_path("model"), &m, &err) != SA_OK) {
        if (getenv("SA_FUZZ_VERBOSE")) fprintf(stderr, "refused: %s\n", err.msg);
        if (!err.msg[0]) abort();
        return 0;
    }
    sa_session *ss;
    sa_session_opts o = {.n_seq = 1, .n_threads = 1};
    if (sa_session_create(m, &o, &ss, &err) == SA_OK) {
        int32_t toks[3] = {0, V - 1, 3}, seq[3] = {0, 0, 0};
        uint8_t want[3] = {1, 1, 1};
        if (sa_session_eval(ss, 3, toks, seq, want, &err) != SA_OK) abort();
        for (int i = 0; i < V; i++) fz_consume_float(sa_session_logits(ss, 2)[i]);
        sa_session_free(ss);
    }
    sa_model_free(m);
    return 0;
}
