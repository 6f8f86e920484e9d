/* gguf_export.c: Llama / Mistral / Qwen2 checkpoint -> GGUF for llama.cpp (see gguf_export.h).
 *
 * Three passes, nothing written until the last:
 *   plan     config.json checked for what llama.cpp can run; every checkpoint tensor mapped to its
 *            GGUF name, shape (ne[0] = the row length, so HF's [out, in] is ne = {in, out}),
 *            transform (q/k permutation) and output type; a tensor we do not know is refused.
 *   metadata architecture keys, tokenizer keys (tok_gguf.c), provenance, tensor infos: all in
 *            the writer's memory.
 *   stream   each tensor read from the memory map in groups of rows (a head, for the permuted
 *            ones) to float32, permuted, converted and appended; the file is committed only when
 *            every tensor is in. Memory: three groups of at most 64k values (or one head).
 * Permutation (llama.cpp's converter, LlamaModel.permute): within each of the n heads (n_heads
 * for q, n_kv_heads for k) of hd rows, HF's row j * hd/2 + i (j = 0, 1: the two halves that
 * rotate-half pairs) becomes row 2i + j, the adjacent pairs ggml's normal RoPE rotates. */
#include "core/opts.h"
#include "safearith/gguf_export.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "safearith/dtype.h"
#include "core/fsutil.h"
#include "safearith/gguf.h"
#include "safearith/model.h"
#include "safearith/provenance.h"
#include "safearith/safetensors.h"
#include "safearith/tokenizer.h"
#include "tokenizer/tok_gguf.h"

enum { XF_NONE, XF_PERMUTE };

typedef struct planned {
    char name[64];
    const sa_st_tensor *src; /* NULL: rope_freqs (computed) */
    int xform, heads;
    uint32_t type, n_dims;
    int64_t ne[2];
} planned;

typedef struct plan {
    planned *t;
    int n, cap;
    const char *arch;
    int ctx;
} plan;

int sa_gguf_ftype_parse(const char *name, sa_gguf_ftype *out) {
    static const struct {
        const char *n;
        sa_gguf_ftype t;
    } names[] = {{"f32", SA_GGUF_FT_F32},
                 {"f16", SA_GGUF_FT_F16},
                 {"bf16", SA_GGUF_FT_BF16},
                 {"q8_0", SA_GGUF_FT_Q8_0}};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (!strcasecmp(name, names[i].n)) {
            *out = names[i].t;
            return 0;
        }
    return -1;
}

static uint32_t ggml_of_dtype(sa_dtype d) {
    return d == SA_F16 ? SA_GGML_TYPE_F16 : d == SA_BF16 ? SA_GGML_TYPE_BF16 : SA_GGML_TYPE_F32;
}

/* Output type of a 2-D tensor stored as `d`. */
static uint32_t out_type(sa_gguf_ftype ft, sa_dtype d, int64_t row) {
    switch (ft) {
    case SA_GGUF_FT_F32:
        return SA_GGML_TYPE_F32;
    case SA_GGUF_FT_F16:
        return SA_GGML_TYPE_F16;
    case SA_GGUF_FT_BF16:
        return SA_GGML_TYPE_BF16;
    case SA_GGUF_FT_Q8_0:
        return row % SA_Q8_0_BLOCK ? SA_GGML_TYPE_F16 : SA_GGML_TYPE_Q8_0;
    default:
        return ggml_of_dtype(d);
    }
}

static sa_status add(plan *p, const char *name, const sa_st_tensor *src, int xform, int heads,
                     uint32_t type, uint32_t n_dims, int64_t ne0, int64_t ne1, sa_error *err) {
    if (p->n == p->cap) {
        int cap = p->cap ? 2 * p->cap : 64;
        planned *t = realloc(p->t, (size_t)cap * sizeof *t);
        if (!t) return sa_error_set(err, SA_ENOMEM, "out of memory planning the export");
        p->t = t, p->cap = cap;
    }
    planned *t = &p->t[p->n++];
    snprintf(t->name, sizeof t->name, "%s", name);
    t->src = src, t->xform = xform, t->heads = heads, t->type = type, t->n_dims = n_dims;
    t->ne[0] = ne0, t->ne[1] = ne1;
    return SA_OK;
}

/* Find HF tensor `hf` with the expected shape ([rows, cols], cols = 0 for 1-D) and plan it. */
static sa_status map_one(plan *p, const sa_checkpoint *ck, const char *hf, const char *gg,
                         int64_t rows, int64_t cols, int xform, int heads, sa_gguf_ftype ft,
                         sa_error *err) {
    const sa_st_tensor *t = sa_ckpt_find(ck, hf);
    if (!t) return sa_error_set(err, SA_EFORMAT, "%s: tensor '%s' is missing", sa_ckpt_dir(ck), hf);
    int want_dims = cols ? 2 : 1;
    if (t->ndim != want_dims || t->shape[0] != rows || (cols && t->shape[1] != cols))
        return sa_error_set(
            err, SA_EMISMATCH, "%s: tensor '%s' has the wrong shape (expected [%lld%s%lld])",
            sa_ckpt_dir(ck), hf, (long long)rows, cols ? ", " : "", cols ? (long long)cols : 0LL);
    if (!sa_dtype_is_arith(t->dtype))
        return sa_error_set(err, SA_EUNSUPPORTED, "%s: tensor '%s' has dtype %s (not F32/F16/BF16)",
                            sa_ckpt_dir(ck), hf, sa_dtype_name(t->dtype));
    if (!cols) return add(p, gg, t, XF_NONE, 0, SA_GGML_TYPE_F32, 1, rows, 1, err);
    return add(p, gg, t, xform, heads, out_type(ft, t->dtype, cols), 2, cols, rows, err);
}

static sa_status check_config(const sa_model_config *c, const char *dir, sa_error *err) {
    if (c->arch == SA_ARCH_QWEN2 && c->head_dim * c->n_heads != c->hidden_size)
        return sa_error_set(err, SA_EUNSUPPORTED,
                            "%s/config.json: head_dim %d x %d heads != hidden_size %d "
                            "(llama.cpp's qwen2 requires equality)",
                            dir, c->head_dim, c->n_heads, c->hidden_size);
    if (c->arch == SA_ARCH_QWEN2 && c->rope_kind == SA_ROPE_LLAMA3)
        return sa_error_set(err, SA_EUNSUPPORTED,
                            "%s/config.json: rope type 'llama3' on Qwen2 (llama.cpp's qwen2 has "
                            "no rope_freqs)",
                            dir);
    return SA_OK;
}

static sa_status plan_layers(plan *p, const sa_checkpoint *ck, const sa_model_config *c,
                             sa_gguf_ftype ft, sa_error *err) {
    int64_t d = c->hidden_size, f = c->intermediate_size;
    int64_t q = (int64_t)c->n_heads * c->head_dim, kv = (int64_t)c->n_kv_heads * c->head_dim;
    int perm = c->arch == SA_ARCH_QWEN2 ? XF_NONE : XF_PERMUTE;
    sa_status st = SA_OK;
    for (int l = 0; !st && l < c->n_layers; l++) {
        const struct {
            const char *hf, *gg;
            int64_t rows, cols;
            int xform, heads;
        } m[] = {
            {"input_layernorm.weight", "attn_norm.weight", d, 0, XF_NONE, 0},
            {"self_attn.q_proj.weight", "attn_q.weight", q, d, perm, c->n_heads},
            {"self_attn.k_proj.weight", "attn_k.weight", kv, d, perm, c->n_kv_heads},
            {"self_attn.v_proj.weight", "attn_v.weight", kv, d, XF_NONE, 0},
            {"self_attn.q_proj.bias", "attn_q.bias", q, 0, XF_NONE, 0},
            {"self_attn.k_proj.bias", "attn_k.bias", kv, 0, XF_NONE, 0},
            {"self_attn.v_proj.bias", "attn_v.bias", kv, 0, XF_NONE, 0},
            {"self_attn.o_proj.weight", "attn_output.weight", d, q, XF_NONE, 0},
            {"post_attention_layernorm.weight", "ffn_norm.weight", d, 0, XF_NONE, 0},
            {"mlp.gate_proj.weight", "ffn_gate.weight", f, d, XF_NONE, 0},
            {"mlp.up_proj.weight", "ffn_up.weight", f, d, XF_NONE, 0},
            {"mlp.down_proj.weight", "ffn_down.weight", d, f, XF_NONE, 0},
        };
        for (size_t i = 0; !st && i < sizeof m / sizeof m[0]; i++) {
            if (strstr(m[i].hf, ".bias") && !c->qkv_bias) continue;
            char hf[128], gg[64];
            snprintf(hf, sizeof hf, "model.layers.%d.%s", l, m[i].hf);
            snprintf(gg, sizeof gg, "blk.%d.%s", l, m[i].gg);
            st = map_one(p, ck, hf, gg, m[i].rows, m[i].cols, m[i].xform, m[i].heads, ft, err);
        }
    }
    return st;
}

/* Every checkpoint tensor must be one we planned (or one the converter drops). */
static sa_status check_unmapped(const plan *p, const sa_checkpoint *ck, sa_error *err) {
    for (size_t i = 0; i < sa_ckpt_count(ck); i++) {
        const sa_st_tensor *t = sa_ckpt_tensor(ck, i);
        int used = 0;
        for (int k = 0; k < p->n && !used; k++) used = p->t[k].src == t;
        if (used || strstr(t->name, "rotary_emb.inv_freq")) continue;
        if (!strcmp(t->name, "lm_head.weight")) continue; /* tied: the embedding is the head */
        return sa_error_set(err, SA_EUNSUPPORTED,
                            "%s: tensor '%s' has no place in llama.cpp's %s (not exported)",
                            sa_ckpt_dir(ck), t->name, p->arch);
    }
    return SA_OK;
}

static sa_status make_plan(plan *p, const sa_checkpoint *ck, const sa_model_config *c,
                           sa_gguf_ftype ft, sa_error *err) {
    p->arch = c->arch == SA_ARCH_QWEN2 ? "qwen2" : "llama";
    sa_status st = check_config(c, sa_ckpt_dir(ck), err);
    if (!st && c->rope_kind == SA_ROPE_LLAMA3)
        st = add(p, "rope_freqs.weight", NULL, XF_NONE, 0, SA_GGML_TYPE_F32, 1, c->head_dim / 2, 1,
                 err);
    if (!st)
        st = map_one(p, ck, "model.embed_tokens.weight", "token_embd.weight", c->vocab_size,
                     c->hidden_size, XF_NONE, 0, ft, err);
    if (!st) st = plan_layers(p, ck, c, ft, err);
    if (!st)
        st = map_one(p, ck, "model.norm.weight", "output_norm.weight", c->hidden_size, 0, XF_NONE,
                     0, ft, err);
    if (!st && !c->tie_word_embeddings)
        st = map_one(p, ck, "lm_head.weight", "output.weight", c->vocab_size, c->hidden_size,
                     XF_NONE, 0, ft, err);
    return st ? st : check_unmapped(p, ck, err);
}

/* llama.cpp's llama_ftype: that of the type most 2-D tensors have (0 ALL_F32, 1 MOSTLY_F16,
 * 7 MOSTLY_Q8_0, 32 MOSTLY_BF16). */
static uint32_t file_type(const plan *p) {
    int n[4] = {0}; /* F32, F16, BF16, Q8_0 */
    for (int i = 0; i < p->n; i++)
        if (p->t[i].n_dims == 2)
            n[p->t[i].type == SA_GGML_TYPE_F16    ? 1
              : p->t[i].type == SA_GGML_TYPE_BF16 ? 2
              : p->t[i].type == SA_GGML_TYPE_Q8_0 ? 3
                                                  : 0]++;
    int best = 0;
    for (int k = 1; k < 4; k++)
        if (n[k] > n[best]) best = k;
    static const uint32_t code[4] = {0, 1, 32, 7};
    return code[best];
}

static sa_status arch_keys(sa_gguf_writer *w, const plan *p, const sa_model_config *c,
                           sa_gguf_ftype ft) {
    char k[96];
    int st = 0;
#define KEY(suffix) (snprintf(k, sizeof k, "%s.%s", p->arch, suffix), k)
    st |= sa_gguf_w_str(w, "general.architecture", p->arch);
    st |= sa_gguf_w_str(w, "general.type", "model");
    st |= sa_gguf_w_u32(w, "general.file_type", file_type(p));
    if (ft == SA_GGUF_FT_Q8_0) st |= sa_gguf_w_u32(w, "general.quantization_version", 2);
    st |= sa_gguf_w_u32(w, KEY("vocab_size"), (uint32_t)c->vocab_size);
    st |= sa_gguf_w_u32(w, KEY("context_length"), (uint32_t)p->ctx);
    st |= sa_gguf_w_u32(w, KEY("embedding_length"), (uint32_t)c->hidden_size);
    st |= sa_gguf_w_u32(w, KEY("block_count"), (uint32_t)c->n_layers);
    st |= sa_gguf_w_u32(w, KEY("feed_forward_length"), (uint32_t)c->intermediate_size);
    st |= sa_gguf_w_u32(w, KEY("attention.head_count"), (uint32_t)c->n_heads);
    st |= sa_gguf_w_u32(w, KEY("attention.head_count_kv"), (uint32_t)c->n_kv_heads);
    st |= sa_gguf_w_u32(w, KEY("attention.key_length"), (uint32_t)c->head_dim);
    st |= sa_gguf_w_u32(w, KEY("attention.value_length"), (uint32_t)c->head_dim);
    st |= sa_gguf_w_u32(w, KEY("rope.dimension_count"), (uint32_t)c->head_dim);
    st |= sa_gguf_w_f32(w, KEY("rope.freq_base"), (float)c->rope_theta);
    st |= sa_gguf_w_f32(w, KEY("attention.layer_norm_rms_epsilon"), c->rms_norm_eps);
    if (c->rope_kind == SA_ROPE_LINEAR) {
        st |= sa_gguf_w_str(w, KEY("rope.scaling.type"), "linear");
        st |= sa_gguf_w_f32(w, KEY("rope.scaling.factor"), (float)c->rope_factor);
    }
#undef KEY
    return st ? SA_ENOMEM : SA_OK;
}

/* llama3 RoPE: the per-frequency divisor, as transformers' _compute_llama3_parameters. */
static void llama3_factors(const sa_model_config *c, float *out) {
    int half = c->head_dim / 2;
    double lo_wave = c->rope_original_max_position / c->rope_low_freq_factor;
    double hi_wave = c->rope_original_max_position / c->rope_high_freq_factor;
    for (int i = 0; i < half; i++) {
        double freq = 1.0 / pow(c->rope_theta, (double)(2 * i) / c->head_dim);
        double wave = 2 * M_PI / freq;
        if (wave < hi_wave)
            out[i] = 1.0f;
        else if (wave > lo_wave)
            out[i] = (float)c->rope_factor;
        else {
            double s = (c->rope_original_max_position / wave - c->rope_low_freq_factor) /
                       (c->rope_high_freq_factor - c->rope_low_freq_factor);
            out[i] = (float)(1.0 / ((1 - s) / c->rope_factor + s));
        }
    }
}

/* Within one head of hd rows: HF row j * hd/2 + i -> row 2i + j. */
static void permute_head(const float *src, float *dst, int64_t hd, int64_t cols) {
    int64_t half = hd / 2;
    for (int64_t j = 0; j < 2; j++)
        for (int64_t i = 0; i < half; i++)
            memcpy(dst + (2 * i + j) * cols, src + (j * half + i) * cols,
                   (size_t)cols * sizeof *dst);
}

/* Convert n floats to type `type` into out; -1 if a value is or becomes non-finite. */
static int convert(const float *x, uint32_t type, void *out, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (!isfinite(x[i])) return -1;
    if (type == SA_GGML_TYPE_Q8_0) return sa_q8_0_quantize(x, out, n);
    if (type == SA_GGML_TYPE_F32) {
        memcpy(out, x, n * sizeof *x);
        return 0;
    }
    sa_dtype dt = type == SA_GGML_TYPE_F16 ? SA_F16 : SA_BF16;
    sa_from_f32(x, out, dt, n);
    const uint16_t *h = out;
    for (size_t i = 0; i < n; i++) /* overflow to Inf (F16 above 65504) */
        if (!isfinite(dt == SA_F16 ? sa_f16_to_f32(h[i]) : sa_bf16_to_f32(h[i]))) return -1;
    return 0;
}

/* Rows are converted and written a group at a time: one head of a permuted tensor, else about
 * CHUNK values of whole rows; memory is three groups, never a tensor. */
#define CHUNK 65536

typedef struct stream_bufs {
    float *x, *y;
    void *out;
} stream_bufs;

static int64_t group_rows(const planned *t) {
    if (t->xform == XF_PERMUTE) return t->ne[1] / t->heads;
    int64_t r = CHUNK / t->ne[0];
    return r < 1 ? 1 : r > t->ne[1] ? t->ne[1] : r;
}

/* Rows [r0, r0 + n) of the source as float32: the one place the export reads weights (stored,
 * or computed from a LoRA adapter for BASE+ADAPTER: sa_ckpt_read_f32). */
static void read_rows(const sa_checkpoint *ck, const sa_st_tensor *t, int64_t cols, int64_t r0,
                      int64_t n, float *dst) {
    sa_ckpt_read_f32(ck, t, (uint64_t)(r0 * cols), (size_t)(n * cols), dst);
}

static sa_status stream_one(sa_gguf_writer *w, const sa_checkpoint *ck, const sa_model_config *c,
                            const planned *t, stream_bufs *bf, sa_error *err) {
    int64_t cols = t->ne[0], rows = t->ne[1], g = group_rows(t);
    sa_status st = SA_OK;
    for (int64_t r0 = 0; !st && r0 < rows; r0 += g) {
        int64_t n = rows - r0 < g ? rows - r0 : g;
        float *x = bf->x;
        if (!t->src)
            llama3_factors(c, x);
        else
            read_rows(ck, t->src, cols, r0, n, x);
        if (t->xform == XF_PERMUTE) {
            permute_head(x, bf->y, n, cols);
            x = bf->y;
        }
        if (convert(x, t->type, bf->out, (size_t)(n * cols)))
            return sa_error_set(err, SA_EINVAL,
                                "%s: tensor '%s' has a non-finite value, or one that overflows "
                                "the output type",
                                sa_ckpt_dir(ck), t->src ? t->src->name : t->name);
        int64_t ne[2] = {cols, n};
        st = sa_gguf_writer_write(w, bf->out, (size_t)sa_ggml_nbytes(t->type, 2, ne), err);
    }
    if (t->src) sa_ckpt_release(ck, sa_ckpt_stored(ck, t->src));
    return st;
}

static sa_status stream_all(sa_gguf_writer *w, const sa_checkpoint *ck, const sa_model_config *c,
                            const plan *p, const sa_progress *prog, sa_error *err) {
    size_t most = 1;
    uint64_t total = 0, done = 0;
    for (int i = 0; i < p->n; i++) {
        size_t n = (size_t)(group_rows(&p->t[i]) * p->t[i].ne[0]);
        if (n > most) most = n;
        total += (uint64_t)p->t[i].ne[0] * (uint64_t)p->t[i].ne[1];
    }
    stream_bufs bf = {malloc(most * 4), malloc(most * 4), malloc(most * 4)};
    sa_status st = bf.x && bf.y && bf.out
                       ? SA_OK
                       : sa_error_set(err, SA_ENOMEM, "out of memory (%zu values)", most);
    for (int i = 0; !st && i < p->n; i++) {
        st = stream_one(w, ck, c, &p->t[i], &bf, err);
        done += (uint64_t)p->t[i].ne[0] * (uint64_t)p->t[i].ne[1];
        if (!st && sa_progress_report(prog, "export", done, total))
            st = sa_error_set(err, SA_EINTR, "interrupted");
    }
    free(bf.x), free(bf.y), free(bf.out);
    return st;
}

/* *rows: one "NAME size=N sha256=H" (or "mtime=T") string per identifying file of dir, *n of
 * them. */
static sa_status file_rows(const char *dir, char ***rows, int *n, sa_error *err) {
    sa_input_files in;
    *rows = NULL, *n = 0;
    sa_status st = sa_input_files_scan(dir, &in, err);
    if (st) return st;
    char **r = calloc((size_t)in.n + 1, sizeof *r);
    int bad = !r;
    for (int i = 0; !bad && i < in.n; i++) {
        size_t len = strlen(in.f[i].name) + 128;
        if (!(r[i] = malloc(len)))
            bad = 1;
        else if (in.f[i].sha256[0])
            snprintf(r[i], len, "%s size=%llu sha256=%s", in.f[i].name,
                     (unsigned long long)in.f[i].size, in.f[i].sha256);
        else
            snprintf(r[i], len, "%s size=%llu mtime=%lld", in.f[i].name,
                     (unsigned long long)in.f[i].size, (long long)in.f[i].mtime);
    }
    for (int i = 0; bad && r && i < in.n; i++) free(r[i]);
    if (bad) free(r);
    if (!bad) *rows = r, *n = in.n;
    sa_input_files_free(&in);
    return bad ? sa_error_set(err, SA_ENOMEM, "out of memory") : SA_OK;
}

static void free_rows(char **rows, int n) {
    for (int i = 0; rows && i < n; i++) free(rows[i]);
    free(rows);
}

/* general.name, general.tags and general.source.*: the input path, its files (provenance.h;
 * a BASE+ADAPTER input: the base's, and the adapter's in general.source.adapter_files), the
 * command line and the safearith version. */
static sa_status provenance(sa_gguf_writer *w, const char *model, const sa_checkpoint *ck,
                            const char *cmdline, sa_error *err) {
    const char *dir = sa_ckpt_dir(ck), *adapter = sa_ckpt_adapter_dir(ck);
    int n = 0, na = 0;
    char **rows, **arows = NULL;
    sa_status st = file_rows(dir, &rows, &n, err);
    if (!st && adapter) st = file_rows(adapter, &arows, &na, err);
    if (st) {
        free_rows(rows, n);
        return st;
    }
    const char *base = strrchr(dir, '/');
    base = base && base[1] ? base + 1 : dir;
    static const char *const tags[] = {"safearith", "gguf-export"};
    int bad =
        sa_gguf_w_str(w, "general.name", base) || sa_gguf_w_str_array(w, "general.tags", tags, 2) ||
        sa_gguf_w_str(w, "general.source.path", model) ||
        sa_gguf_w_str_array(w, "general.source.files", (const char *const *)rows, (uint64_t)n) ||
        (arows && sa_gguf_w_str_array(w, "general.source.adapter_files", (const char *const *)arows,
                                      (uint64_t)na)) ||
        sa_gguf_w_str(w, "general.source.safearith_version", SA_VERSION) ||
        (cmdline && sa_gguf_w_str(w, "general.source.command_line", cmdline));
    free_rows(rows, n);
    free_rows(arows, na);
    return bad ? sa_error_set(err, SA_ENOMEM, "out of memory") : SA_OK;
}

static sa_status metadata(sa_gguf_writer *w, const char *model, const sa_checkpoint *ck,
                          const sa_model_config *c, plan *p, const sa_gguf_export_opts *o,
                          sa_gguf_export_result *res, sa_error *err) {
    const char *dir = sa_ckpt_dir(ck);
    p->ctx = c->max_position_embeddings;
    if (c->arch == SA_ARCH_MISTRAL && c->sliding_window > 0 && c->sliding_window < p->ctx)
        p->ctx = c->sliding_window;
    if (arch_keys(w, p, c, o->type)) return sa_error_set(err, SA_ENOMEM, "out of memory");
    sa_status st = provenance(w, model, ck, o->command_line, err);
    if (st) return st;
    sa_tokenizer *tok = NULL;
    if ((st = sa_tokenizer_load(dir, &tok, err))) return st;
    tok_gguf_opts to = {dir, c->vocab_size, c->bos_token_id, c->n_eos ? c->eos_token_ids[0] : -1,
                        o->pre};
    tok_gguf_info info;
    st = tok_gguf_write(tok, &to, w, &info, err);
    sa_tokenizer_free(tok);
    if (st) return st;
    snprintf(res->tokenizer_model, sizeof res->tokenizer_model, "%s", info.model);
    snprintf(res->pre, sizeof res->pre, "%s", info.pre ? info.pre : "");
    for (int i = 0; !st && i < p->n; i++)
        st = sa_gguf_w_tensor(w, p->t[i].name, p->t[i].type, p->t[i].n_dims, p->t[i].ne, err);
    return st;
}

/* The output is checked against the input before anything else (fsutil.h's rule for every
 * output), and may not be a directory. */
static sa_status check_output(const char *model, const char *out, int overwrite, sa_error *err) {
    sa_status st = sa_output_check(out, &model, 1, overwrite, err);
    struct stat sb;
    if (!st && lstat(out, &sb) == 0 && S_ISDIR(sb.st_mode))
        st = sa_error_set(err, SA_EEXIST, "%s: is a directory", out);
    return st;
}

void sa_gguf_export_opts_init(sa_gguf_export_opts *o) {
    *o = (sa_gguf_export_opts){.struct_size = sizeof *o, .type = SA_GGUF_FT_SOURCE};
}

sa_status sa_gguf_export(const char *model, const char *out, const sa_gguf_export_opts *opts,
                         sa_gguf_export_result *res, sa_error *err) {
    sa_gguf_export_result local;
    if (!res) res = &local;
    memset(res, 0, sizeof *res);
    sa_gguf_export_opts o;
    sa_gguf_export_opts_init(&o);
    if (opts && sa_opts_take(&o, sizeof o, opts, "sa_gguf_export_opts", err)) return SA_EINVAL;
    sa_checkpoint *ck = NULL;
    sa_model_config c;
    plan p = {0};
    sa_gguf_writer *w = NULL;
    sa_status st = check_output(model, out, o.overwrite, err);
    if (!st) st = sa_ckpt_open(model, &ck, err);
    if (!st) st = sa_model_config_load(sa_ckpt_dir(ck), &c, err);
    if (!st) st = make_plan(&p, ck, &c, o.type, err);
    if (!st && !(w = sa_gguf_writer_new())) st = sa_error_set(err, SA_ENOMEM, "out of memory");
    if (!st) st = metadata(w, model, ck, &c, &p, &o, res, err);
    if (!st) st = sa_gguf_writer_open(w, out, o.overwrite, err);
    if (!st) st = stream_all(w, ck, &c, &p, o.progress, err);
    if (!st) st = sa_gguf_writer_commit(w, err);
    if (!st) {
        struct stat sb;
        snprintf(res->arch, sizeof res->arch, "%s", p.arch);
        res->n_tensors = p.n;
        res->context_length = p.ctx;
        for (int i = 0; i < p.n; i++)
            res->n_f16_fallback +=
                o.type == SA_GGUF_FT_Q8_0 && p.t[i].n_dims == 2 && p.t[i].type == SA_GGML_TYPE_F16;
        res->bytes = stat(out, &sb) == 0 ? (uint64_t)sb.st_size : 0;
    }
    sa_gguf_writer_free(w); /* abandons the file after a failure */
    free(p.t);
    sa_ckpt_close(ck);
    return st;
}
