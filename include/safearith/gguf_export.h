/* gguf_export.h: a Hugging Face Llama / Mistral / Qwen2 checkpoint as one GGUF file that
 * llama.cpp (llama-server, llama-cli, Ollama, LM Studio) runs.
 *
 *   sa_gguf_export_opts o = {.type = SA_GGUF_FT_SOURCE};
 *   sa_gguf_export("models/sft", "sft.gguf", &o, &res, &err);
 *
 * What is written, as llama.cpp's own converter (convert_hf_to_gguf.py) does:
 *  - general.architecture "llama" (Llama and Mistral) or "qwen2", the hyper-parameters under
 *    that prefix (context, embedding and feed-forward lengths, block and head counts, head_dim
 *    as key/value length and RoPE dimension, RMS epsilon, RoPE base, linear RoPE scaling, the
 *    llama3 RoPE factors as the F32 tensor rope_freqs.weight), general.file_type and, for Q8_0,
 *    general.quantization_version 2. llama.cpp's "llama" has no sliding window: a Mistral whose
 *    sliding_window is below max_position_embeddings gets context_length = sliding_window, the
 *    longest context in which full attention and the window agree.
 *  - the tokenizer (tokenizer.ggml.*: see src/tokenizer/tok_gguf.c) and the chat template.
 *  - tensors renamed (token_embd, blk.N.attn_q ..., output_norm, output when not tied); q_proj
 *    and k_proj rows of Llama/Mistral permuted from Hugging Face's rotate-half order to the
 *    interleaved pairs llama.cpp rotates (within each head, row j*hd/2 + i moves to 2i + j);
 *    1-D tensors (norms, biases) F32; 2-D tensors in the chosen type (source: each tensor's
 *    stored F32/F16/BF16; Q8_0: rows that are not whole 32-blocks fall back to F16, as the
 *    converter does).
 *  - provenance: general.name, general.tags, general.source.* (see sa_gguf_export_opts).
 * Everything that llama.cpp could not reproduce (architecture, config value, tokenizer
 * component, a pre-tokenizer regex without a llama.cpp name unless opts.pre names one) is
 * refused by name before the output file is created. The weights stream from the memory map a
 * few rows at a time (memory: a few 64k-value buffers, whatever the model's size); the file
 * appears atomically. */
#ifndef SAFEARITH_GGUF_EXPORT_H
#define SAFEARITH_GGUF_EXPORT_H

#include <stdint.h>

#include "safearith/error.h"
#include "safearith/progress.h"

typedef enum sa_gguf_ftype {
    SA_GGUF_FT_SOURCE = 0, /* each 2-D tensor keeps its stored dtype (F32, F16 or BF16) */
    SA_GGUF_FT_F32,
    SA_GGUF_FT_F16,
    SA_GGUF_FT_BF16,
    SA_GGUF_FT_Q8_0
} sa_gguf_ftype;

/* "f32", "f16", "bf16", "q8_0" (case-insensitive); -1 if unknown. */
int sa_gguf_ftype_parse(const char *name, sa_gguf_ftype *out);

/* Options start with struct_size and are filled with their defaults by sa_gguf_export_opts_init,
 * which callers call before setting fields (new fields are only ever appended). */
typedef struct sa_gguf_export_opts {
    size_t struct_size; /* set by sa_gguf_export_opts_init */
    sa_gguf_ftype type;
    const char *pre;             /* tokenizer.ggml.pre to write instead of the detected name (the
                                    caller vouches that llama.cpp's regex for it is the
                                    tokenizer's); NULL: detect, and refuse when there is none */
    const char *command_line;    /* recorded as general.source.command_line; NULL: not recorded */
    int overwrite;               /* replace an existing output file */
    const sa_progress *progress; /* stage "export", bytes of tensor data written */
} sa_gguf_export_opts;

/* Defaults: each tensor's stored type (SA_GGUF_FT_SOURCE), detected pre-tokenizer, no command
 * line, no overwrite, no progress. */
void sa_gguf_export_opts_init(sa_gguf_export_opts *o);

typedef struct sa_gguf_export_result {
    char arch[16];           /* "llama" or "qwen2" */
    char tokenizer_model[8]; /* "gpt2" or "llama" */
    char pre[32];            /* tokenizer.ggml.pre ("" for "llama") */
    int n_tensors;
    int n_f16_fallback; /* Q8_0 only: 2-D tensors written F16 (rows not whole blocks) */
    int context_length;
    uint64_t bytes; /* file size */
} sa_gguf_export_result;

/* Export MODEL (a model directory) to the GGUF file `out`. `out` must not be inside the model
 * directory; an existing `out` is refused unless opts->overwrite. res may be NULL. */
sa_status sa_gguf_export(const char *model, const char *out, const sa_gguf_export_opts *opts,
                         sa_gguf_export_result *res, sa_error *err);

#endif
