/* fuzz_model.c: model directories against their config.json. The input first picks a small
 * configuration (architecture, widths, heads, kv heads, head_dim, layers, context, sliding
 * window, RoPE scaling, tied embeddings), then, tensor by tensor, keeps each as the config
 * expects or drops, renames, retypes or reshapes it, and may add a stray one. sa_model_load must
 * refuse every mismatch with a message; an accepted model must run: two sequences are fed
 * alternately until the context is full (prefill, then decoding, past any sliding window), and
 * every logit must be finite (the weights are small), with AddressSanitizer watching each read. */
#include <math.h>

#include "fuzz_util.h"
#include "safearith/model.h"

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
static int pick(int lo, int hi) { /* an int in [lo, hi] */
    return lo + (int)(next_byte() % (unsigned)(hi - lo + 1));
}

static int add(spec *s, int n, const char *name, int ndim, long d0, long d1) {
    unsigned b = next_byte(), what = b & 15; /* 0, 7..15: as expected */
    spec t = {.dtype = (b & 0x30) == 0x10   ? "BF16"
                       : (b & 0x30) == 0x20 ? "F16"
                                            : "F32",
              .ndim = ndim,
              .shape = {d0, d1}};
    snprintf(t.name, sizeof t.name, "%s", name);
    if (what == 1) return n; /* dropped */
    if (what == 2) t.name[0] = 'x';
    if (what == 3) t.dtype = "I32";
    if (what == 4) t.shape[(b >> 6) & 1] += 1;
    if (what == 5 && t.shape[(b >> 6) & 1] > 1) t.shape[(b >> 6) & 1] -= 1;
    if (what == 6) t.ndim = ndim == 1 ? 2 : 1, t.shape[1] = 1;
    s[n++] = t;
    return n;
}

static size_t elem_size(const char *dt) {
    return strcmp(dt, "F32") && strcmp(dt, "I32") ? 2 : 4;
}

/* The tensors as a safetensors file: JSON header, then small values (0 or a few 1/64). */
static void write_checkpoint(const spec *s, int n, const char *path) {
    static char header[65536];
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
    for (int i = 0; i < n; i++) { /* 1/64 in the element's dtype at every 7th element */
        size_t es = elem_size(s[i].dtype);
        size_t cnt = (size_t)s[i].shape[0] * (size_t)(s[i].ndim == 2 ? s[i].shape[1] : 1);
        for (size_t e = 0; e < cnt; e++) {
            uint32_t v = 0;
            if (e % 7 == 0)
                v = !strcmp(s[i].dtype, "F32")    ? 0x3C800000u
                    : !strcmp(s[i].dtype, "BF16") ? 0x3C80u
                    : !strcmp(s[i].dtype, "F16")  ? 0x2400u
                                                  : 1u;
            if (fwrite(&v, es, 1, f) != 1) abort();
        }
    }
    if (fclose(f)) abort();
}

typedef struct {
    int arch, vocab, hidden, inter, layers, heads, kv, head_dim, max_pos, window, rope, tied;
} shape_cfg;

static void write_config(const shape_cfg *c) {
    static const char *const archs[] = {"LlamaForCausalLM", "MistralForCausalLM",
                                        "Qwen2ForCausalLM"};
    static const char *const ropes[] = {
        "null", "{\"type\":\"linear\",\"factor\":2.0}",
        ("{\"rope_type\":\"llama3\",\"factor\":8.0,\"low_freq_factor\":1.0,\"high_freq_factor\":"
         "4.0,\"original_max_position_embeddings\":8}")};
    char cfg[1024], window[48] = "";
    if (c->window) snprintf(window, sizeof window, ",\"sliding_window\":%d", c->window);
    snprintf(cfg, sizeof cfg,
             "{\"architectures\":[\"%s\"],\"vocab_size\":%d,\"hidden_size\":%d,"
             "\"intermediate_size\":%d,\"num_hidden_layers\":%d,\"num_attention_heads\":%d,"
             "\"num_key_value_heads\":%d,\"head_dim\":%d,\"max_position_embeddings\":%d,"
             "\"rope_scaling\":%s,\"tie_word_embeddings\":%s%s}",
             archs[c->arch], c->vocab, c->hidden, c->inter, c->layers, c->heads, c->kv, c->head_dim,
             c->max_pos, ropes[c->rope], c->tied ? "true" : "false", window);
    fz_write("model/config.json", (const uint8_t *)cfg, strlen(cfg));
}

static int layer_tensors(spec *s, int n, const shape_cfg *c, int l) {
    char name[64];
    long q = (long)c->heads * c->head_dim, kvd = (long)c->kv * c->head_dim, d = c->hidden;
    static const char *const parts[] = {
        "input_layernorm.weight",  "self_attn.q_proj.weight", "self_attn.k_proj.weight",
        "self_attn.v_proj.weight", "self_attn.q_proj.bias",   "self_attn.k_proj.bias",
        "self_attn.v_proj.bias",   "self_attn.o_proj.weight", "post_attention_layernorm.weight",
        "mlp.gate_proj.weight",    "mlp.up_proj.weight",      "mlp.down_proj.weight"};
    const long dims[][3] = {{1, d, 0}, {2, q, d},        {2, kvd, d},      {2, kvd, d},
                            {1, q, 0}, {1, kvd, 0},      {1, kvd, 0},      {2, d, q},
                            {1, d, 0}, {2, c->inter, d}, {2, c->inter, d}, {2, d, c->inter}};
    for (int p = 0; p < 12; p++) {
        if (p >= 4 && p <= 6 && c->arch != 2) continue; /* q/k/v biases: Qwen2 only */
        snprintf(name, sizeof name, "model.layers.%d.%s", l, parts[p]);
        n = add(s, n, name, (int)dims[p][0], dims[p][1], dims[p][2]);
    }
    return n;
}

/* Two sequences fed alternately to the end of the context; 0 or abort. */
static void run(sa_model *m, const shape_cfg *c) {
    sa_session *ss;
    sa_error err;
    sa_session_opts o;
    sa_session_opts_init(&o);
    o.n_seq = 2, o.max_ctx = c->max_pos, o.max_batch = 4, o.n_threads = 1;
    if (sa_session_create(m, &o, &ss, &err) != SA_OK) return;
    int ctx = sa_session_max_ctx(ss);
    for (int pos = 0; pos < ctx;) {
        int rows = pos == 0 && ctx >= 2 ? 2 : 1; /* a two-token prefill, then decoding */
        int32_t toks[4], seq[4];
        uint8_t want[4];
        for (int r = 0; r < 2 * rows; r++)
            toks[r] = (pos * 5 + r * 3) % c->vocab, seq[r] = r / rows, want[r] = 1;
        if (sa_session_eval(ss, 2 * rows, toks, seq, want, &err) != SA_OK) {
            fprintf(stderr, "eval at %d: %s\n", pos, err.msg);
            abort();
        }
        for (int r = 0; r < 2 * rows; r++)
            for (int v = 0; v < c->vocab; v++)
                if (!isfinite(sa_session_logits(ss, r)[v])) abort();
        pos += rows;
    }
    sa_session_free(ss);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    in = data, in_left = size;
    shape_cfg c = {.arch = pick(0, 2),
                   .vocab = pick(4, 40),
                   .layers = pick(1, 2),
                   .kv = pick(1, 3),
                   .head_dim = 2 * pick(1, 4),
                   .inter = pick(1, 24),
                   .max_pos = pick(1, 24),
                   .rope = pick(0, 2),
                   .tied = pick(0, 1)};
    c.heads = c.kv * pick(1, 3);
    c.hidden = pick(0, 1) ? c.heads * c.head_dim : pick(2, 20); /* head_dim override or not */
    c.window = c.arch == 1 ? pick(0, 6) : 0;
    write_config(&c);
    spec s[64];
    int n = add(s, 0, "model.embed_tokens.weight", 2, c.vocab, c.hidden);
    for (int l = 0; l < c.layers; l++) n = layer_tensors(s, n, &c, l);
    n = add(s, n, "model.norm.weight", 1, c.hidden, 0);
    if (!c.tied) n = add(s, n, "lm_head.weight", 2, c.vocab, c.hidden);
    if (next_byte() == 0xEE) n = add(s, n, "model.layers.9.mlp.up_proj.weight", 2, 1, 1);
    write_checkpoint(s, n, fz_path("model/model.safetensors"));
    sa_model *m;
    sa_error err;
    if (sa_model_load(fz_path("model"), &m, &err) != SA_OK) {
        if (getenv("SA_FUZZ_VERBOSE")) fprintf(stderr, "refused: %s\n", err.msg);
        if (!err.msg[0]) abort();
        return 0;
    }
    run(m, &c);
    sa_model_free(m);
    return 0;
}
