/* model.h: running Hugging Face Llama-family checkpoints (Llama, Mistral, Qwen2) on the CPU.
 *
 * The API in one screen:
 *
 *   sa_model    a loaded model directory: config.json parsed into sa_model_config, weights used
 *               in place from the safetensors memory map in their stored dtype (BF16/F16/F32)
 *               (or from a private copy of the files, sa_model_load_mode).
 *               Read-only after loading; several sessions may share one model.
 *   sa_session  the mutable state for up to n_seq independent sequences: a KV cache of max_ctx
 *               positions per sequence, scratch buffers (allocated once), a thread pool, and the
 *               logits of the last evaluated batch.
 *
 *   sa_session_eval(s, n, tokens, seq_ids, want_logits)
 *               runs one forward pass over n rows. Row i appends tokens[i] to sequence
 *               seq_ids[i] at that sequence's next position, so one call can be a prefill
 *               (many rows of one sequence), a batched decode (one row for each of several
 *               sequences) or any mix. Rows of the same sequence must be in order. Logits are
 *               computed for the rows with want_logits[i] != 0 (all rows if want_logits is
 *               NULL) and read with sa_session_logits(s, i).
 *   sa_generate prefills a set of prompts (one per sequence) and decodes them together with
 *               per-sequence sampling (greedy, temperature, top-k, top-p, seed), stopping each
 *               sequence at a stop id (EOS by default), when the token callback asks (that is
 *               where stop strings are checked, after detokenising), or at max_tokens.
 *
 * Steering and inspection. sa_session_set_hook installs a callback called at chosen points of
 * the forward pass with a block of rows it may read or modify in place:
 *   SA_HOOK_EMBED      the embedding output (hidden.0), layer = -1;
 *   SA_HOOK_MLP_OUT    layer l's MLP output (down_proj result) before it is added to the
 *                      residual stream;
 *   SA_HOOK_LAYER_OUT  the residual stream after decoder layer l (hidden.(l+1)); for the last
 *                      layer this is before the final norm. Changes carry into later layers.
 * Each call gets the layer index, the rows (n_rows x dim floats, contiguous), and for every
 * row its sequence id, position and token. The mask chooses the points (and layer_lo..hi the
 * layers) at which the hook runs, so a NULL hook or an empty mask costs one branch per layer.
 * Results never depend on the thread count; batched and unbatched runs of the same sequences
 * give the same numbers (each row's arithmetic is independent of the other rows).
 *
 * Errors name the file, field or tensor at fault; unsupported architectures or config values
 * are refused by name. */
#ifndef SAFEARITH_MODEL_H
#define SAFEARITH_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "safearith/dtype.h"
#include "safearith/error.h"
#include "safearith/kset.h"
#include "safearith/safetensors.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SA_MAX_EOS 8

typedef enum sa_arch { SA_ARCH_LLAMA, SA_ARCH_MISTRAL, SA_ARCH_QWEN2 } sa_arch;
typedef enum sa_rope_kind { SA_ROPE_DEFAULT, SA_ROPE_LINEAR, SA_ROPE_LLAMA3 } sa_rope_kind;

typedef struct sa_model_config {
    sa_arch arch;
    char arch_name[64]; /* as in config.json "architectures"[0] */
    int vocab_size;
    int hidden_size;       /* d */
    int intermediate_size; /* MLP width */
    int n_layers;
    int n_heads;
    int n_kv_heads;
    int head_dim;
    float rms_norm_eps;
    int max_position_embeddings;
    int tie_word_embeddings;
    int qkv_bias;       /* Qwen2 (or attention_bias) */
    int sliding_window; /* 0 = full causal attention; else keys k with q - window < k <= q */
    /* RoPE */
    double rope_theta;
    sa_rope_kind rope_kind;
    double rope_factor;             /* linear and llama3 */
    double rope_low_freq_factor;    /* llama3 */
    double rope_high_freq_factor;   /* llama3 */
    int rope_original_max_position; /* llama3 */
    /* special tokens (-1 = none) */
    int bos_token_id;
    int n_eos;
    int eos_token_ids[SA_MAX_EOS];
    sa_dtype weight_dtype; /* dtype of the linear weights (BF16, F16 or F32) */
} sa_model_config;

typedef struct sa_model sa_model;
typedef struct sa_session sa_session;

/* Parse a config.json text (the path is used in error messages only): valid UTF-8 holding one
 * JSON object and nothing after it; errors name the path and, for malformed text, the line. */
sa_status sa_model_config_parse(const char *json_text, const char *path, sa_model_config *cfg,
                                sa_error *err);
/* Read and parse DIR/config.json, with the checks of every text file (UTF-8, no NUL byte). */
sa_status sa_model_config_load(const char *dir, sa_model_config *cfg, sa_error *err);

/* Load a model directory (config.json + model.safetensors or sharded with an index). */
sa_status sa_model_load(const char *dir, sa_model **out, sa_error *err);
/* The same, with the weights memory-mapped (SA_CKPT_MMAP, what sa_model_load does) or read
 * into private memory (SA_CKPT_READ: the model's size in RAM, faster decoding where reading the
 * page cache is slower than anonymous memory, as on the machine of bench/engine.md). */
sa_status sa_model_load_mode(const char *dir, sa_ckpt_mode mode, sa_model **out, sa_error *err);
void sa_model_free(sa_model *m);
const sa_model_config *sa_model_get_config(const sa_model *m);
const char *sa_model_dir(const sa_model *m);
/* Bytes of weights one decode step reads (all linear weights + norms + one embedding row). */
uint64_t sa_model_bytes_per_token(const sa_model *m);

/* ---- sessions ---- */

/* Options structs (sa_session_opts, sa_gen_opts) start with struct_size and are filled with their
 * defaults by their init function, which callers must call before setting fields: new fields are
 * only ever appended, so programs built against older headers keep working. */
typedef struct sa_session_opts {
    size_t struct_size;     /* set by sa_session_opts_init */
    int n_seq;              /* number of independent sequences (>= 1) */
    int max_ctx;            /* positions per sequence; 0 = min(max_position_embeddings, 4096) */
    int max_batch;          /* most rows per sa_session_eval call; 0 = 512 */
    int n_threads;          /* <= 0: all cores */
    sa_kset kset;           /* kernel set; SA_KSET_AUTO (0): SAFEARITH_ISA, else the CPU's best */
    sa_precision precision; /* activations of BF16-weight products; 0: SA_PRECISION_F32 */
} sa_session_opts;

/* Defaults: one sequence, max_ctx 0, max_batch 0, all cores, kernel set SA_KSET_AUTO, precision
 * SA_PRECISION_F32. */
void sa_session_opts_init(sa_session_opts *o);

/* Fails with one line for a kernel set the CPU lacks (safearith/kset.h) or SA_PRECISION_BF16
 * without the avx512bf16 set. */
sa_status sa_session_create(sa_model *m, const sa_session_opts *opts, sa_session **out,
                            sa_error *err);
/* The kernel set and precision the session runs with (what run records should name). */
sa_kset sa_session_kset(const sa_session *s);
sa_precision sa_session_precision(const sa_session *s);
void sa_session_free(sa_session *s);
const sa_model *sa_session_model(const sa_session *s);
int sa_session_n_seq(const sa_session *s);
int sa_session_max_ctx(const sa_session *s);
int sa_session_max_batch(const sa_session *s);
/* Forget sequence seq's history (seq = -1: all sequences). */
void sa_session_reset(sa_session *s, int seq);
/* Keep only the first len positions of sequence seq (no-op if it holds fewer). */
void sa_session_truncate(sa_session *s, int seq, int len);
/* Number of positions sequence seq holds. */
int sa_session_seq_len(const sa_session *s, int seq);

/* One forward pass over n rows (see the comment at the top). Fails, leaving every sequence's
 * length as it was, if a token is out of range, a sequence would exceed max_ctx, n exceeds
 * max_batch, or the hook returns an error. */
sa_status sa_session_eval(sa_session *s, int n, const int32_t *tokens, const int32_t *seq_ids,
                          const uint8_t *want_logits, sa_error *err);
/* Logits (vocab_size floats) of row i of the last eval; NULL if that row's logits were not
 * requested. Valid until the next eval. */
const float *sa_session_logits(const sa_session *s, int i);

/* ---- hooks (steering and inspection) ---- */

enum {
    SA_HOOK_EMBED = 1,
    SA_HOOK_MLP_OUT = 2,
    SA_HOOK_LAYER_OUT = 4,
};

typedef struct sa_hook_rows {
    int point; /* one SA_HOOK_* value */
    int layer; /* decoder layer 0..L-1; -1 for SA_HOOK_EMBED */
    int n_rows;
    int dim;     /* hidden_size */
    float *rows; /* n_rows x dim, modifiable */
    const int32_t *seq_ids;
    const int32_t *positions;
    const int32_t *tokens;
} sa_hook_rows;

/* Return SA_OK, or an error (filled into err) to abort the eval. */
typedef sa_status (*sa_hook_fn)(void *ud, const sa_hook_rows *rows, sa_error *err);

typedef struct sa_hook {
    sa_hook_fn fn; /* NULL: no hook */
    void *ud;
    int mask;     /* OR of SA_HOOK_* */
    int layer_lo; /* layers lo..hi inclusive get MLP_OUT/LAYER_OUT calls; hi < 0 = last layer */
    int layer_hi;
} sa_hook;

void sa_session_set_hook(sa_session *s, const sa_hook *hook);

/* ---- sampling and generation ---- */

typedef struct sa_sampling {
    float temperature; /* <= 0: greedy (argmax, lowest id on ties) */
    int top_k;         /* <= 0: off */
    float top_p;       /* >= 1 or <= 0: off */
    uint64_t seed;     /* every sequence starts its generator from this seed */
} sa_sampling;

/* The defaults of generate and chat: temperature 0.8, top-k 40, top-p 0.95, seed 0. */
sa_sampling sa_sampling_default(void);

/* A sampler's state for one sequence (xorshift64* generator). */
typedef struct sa_rng {
    uint64_t state;
} sa_rng;
void sa_rng_seed(sa_rng *r, uint64_t seed);
/* Uniform in [0, 1). */
float sa_rng_uniform(sa_rng *r);

/* Pick a token from logits (n = vocab). scratch: n floats + n ints of workspace, or NULL to
 * allocate (then returns -1 on allocation failure). Returns -2 when the logits hold a NaN or +inf
 * or are all -inf (a model whose weights are not finite): no token is chosen then. Same logits,
 * options and rng state give the same token. */
int sa_sample(const float *logits, int n, const sa_sampling *opt, sa_rng *rng, void *scratch);
/* Bytes of scratch sa_sample needs for vocabulary size n. */
size_t sa_sample_scratch_bytes(int n);

/* Called for every generated token (before it is fed back). Return non-zero to stop this
 * sequence after this token (e.g. a stop string matched); the token is kept. */
typedef int (*sa_token_fn)(void *ud, int seq, int32_t token);

typedef struct sa_gen_opts {
    size_t struct_size; /* set by sa_gen_opts_init */
    sa_sampling sampling;
    int max_tokens;          /* per sequence */
    const int32_t *stop_ids; /* NULL: the model's EOS ids */
    int n_stop_ids;
    int keep_stop; /* 1: a matched stop id is reported to on_token and counted */
    sa_token_fn on_token;
    void *ud;
} sa_gen_opts;

/* Defaults: sa_sampling_default(), 128 tokens, the model's EOS ids, no callback. */
void sa_gen_opts_init(sa_gen_opts *o);

/* The ids that end a reply, the one rule of every command and the evaluation engine: the
 * model's EOS ids (config.json, generation_config.json) followed by the tokenizer's stop ids
 * (EOS and end-of-turn markers such as <|eot_id|>; tok may be NULL), without repeats and only
 * ids inside the vocabulary. Writes at most SA_MAX_STOP_IDS ids; returns their count. */
#define SA_MAX_STOP_IDS (2 * SA_MAX_EOS)
struct sa_tokenizer;
int sa_model_stop_ids(const sa_model *m, const struct sa_tokenizer *tok, int32_t *ids);

/* Generate for n sequences (n <= n_seq of the session; sequence i uses seq id i, which is reset
 * first). prompts[i] has prompt_lens[i] >= 1 tokens. If out_tokens is not NULL, out_tokens[i]
 * must hold max_tokens ids and out_lens[i] receives the count. Prompts are prefilled in chunks
 * of max_batch rows; decoding runs all unfinished sequences in one batch per step. */
sa_status sa_generate(sa_session *s, int n, const int32_t *const *prompts, const int *prompt_lens,
                      const sa_gen_opts *opts, int32_t **out_tokens, int *out_lens, sa_error *err);

#ifdef __cplusplus
}
#endif

#endif
