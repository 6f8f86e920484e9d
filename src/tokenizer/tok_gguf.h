/* tok_gguf.h: a loaded tokenizer as llama.cpp's GGUF vocabulary (tokenizer.ggml.*). */
#ifndef SA_TOK_GGUF_H
#define SA_TOK_GGUF_H

#include <stdint.h>

#include "safearith/error.h"
#include "safearith/gguf.h"
#include "safearith/tokenizer.h"

typedef struct tok_gguf_opts {
    const char *where; /* the model directory, for messages */
    int vocab_size;    /* rows of the embedding: tokens written (holes padded as UNUSED) */
    int32_t cfg_bos;   /* config.json's bos_token_id, used when the tokenizer names none */
    int32_t cfg_eos;   /* config.json's first eos_token_id, likewise */
    const char *pre;   /* tokenizer.ggml.pre to write instead of the detected one, or NULL */
} tok_gguf_opts;

/* What tok_gguf_plan found (for messages and reports). */
typedef struct tok_gguf_info {
    const char *model; /* "gpt2" (byte-level BPE) or "llama" (SentencePiece-style) */
    const char *pre;   /* the pre-tokenizer name written (gpt2 only), else NULL */
} tok_gguf_info;

/* Check that llama.cpp can reproduce the tokenizer and add every tokenizer.* key to w: model,
 * pre, tokens, token_type, scores (llama) or merges (gpt2), special ids, add_bos/add_eos,
 * add_space_prefix (llama) and chat_template. Refuses by name (SA_EUNSUPPORTED) a component
 * llama.cpp has no equivalent for, a pre-tokenizer regex it has no name for (unless o->pre), a
 * --pre name it does not know, and a vocabulary larger than vocab_size. */
sa_status tok_gguf_write(const sa_tokenizer *t, const tok_gguf_opts *o, sa_gguf_writer *w,
                         tok_gguf_info *info, sa_error *err);

#endif
