/* tokenizer.h: Hugging Face tokenizers (tokenizer.json + tokenizer_config.json), exactly.
 *
 * A model directory's tokenizer.json describes a pipeline: added tokens are matched in the raw text
 * first, the text between them is normalised, pre-tokenised and cut by a BPE model into ids, and a
 * post-processor adds BOS/EOS. Decoding runs the file's decoder chain backwards from ids to text.
 * This module implements that pipeline for BPE tokenizers (Llama-2/Mistral SentencePiece-style,
 * Llama-3/Qwen byte-level, Gemma) and refuses, by name, any component it does not implement.
 *
 *   sa_tokenizer *tok;
 *   sa_tokenizer_load("model-dir", &tok, &err);              // reads both JSON files
 *   sa_tokens t = {0};
 *   sa_tokenizer_encode(tok, text, strlen(text), SA_TOK_DEFAULT, &t, &err);   // like HF encode()
 *   char *s; size_t n;
 *   sa_tokenizer_decode(tok, t.ids, t.n, SA_DECODE_SKIP_SPECIAL, &s, &n, &err); // like HF decode()
 *   sa_tokens_free(&t); free(s); sa_tokenizer_free(tok);
 *
 * Text in is UTF-8; invalid byte sequences are replaced by U+FFFD (one per maximal invalid
 * subpart, as Python's and WHATWG's decoders do) before tokenising. Text out is valid UTF-8.
 * Streaming: sa_tok_stream turns ids into text one at a time and holds back bytes of a character
 * that is not complete yet, so that a multi-byte character split across tokens prints once, whole.
 * Bytes that no later byte can complete print at once, as U+FFFD (Hugging Face's DecodeStream
 * waits while the text ends in U+FFFD, so that junk output decodes in quadratic time; the joined
 * text is the same).
 *
 * Chat templates (second half of this file) are hand-written renderers of the families that
 * matter here, detected from tokenizer_config.json's Jinja `chat_template` by recognising it
 * (no Jinja engine). A rendered conversation already contains BOS where the family's template
 * emits it, so sa_chat_encode never adds a second one.
 *
 * Threads: a sa_tokenizer keeps a word cache that encode updates, so one handle must be used by
 * one thread at a time (load one per thread, or lock around calls). Decoding does not mutate. */
#ifndef SAFEARITH_TOKENIZER_H
#define SAFEARITH_TOKENIZER_H

#include <stddef.h>
#include <stdint.h>

#include "safearith/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sa_tokenizer sa_tokenizer;

/* A growable list of token ids (owned by the caller once filled; free with sa_tokens_free). */
typedef struct sa_tokens {
    int32_t *ids;
    size_t n, cap;
} sa_tokens;

void sa_tokens_free(sa_tokens *t);
/* Append one id (grows the buffer). */
sa_status sa_tokens_push(sa_tokens *t, int32_t id, sa_error *err);

/* ---- loading ---- */

/* Load DIR/tokenizer.json and, when present, DIR/tokenizer_config.json (BOS/EOS/PAD names,
 * add_bos_token/add_eos_token, clean_up_tokenization_spaces, chat_template). */
sa_status sa_tokenizer_load(const char *model_dir, sa_tokenizer **out, sa_error *err);
/* Same from explicit paths; config_json may be NULL. */
sa_status sa_tokenizer_load_files(const char *tokenizer_json, const char *config_json,
                                  sa_tokenizer **out, sa_error *err);
void sa_tokenizer_free(sa_tokenizer *tok);

/* ---- encoding ---- */

enum {
    SA_TOK_ADD_SPECIAL = 1u << 0, /* run the post-processor (BOS/EOS), HF add_special_tokens=True */
    SA_TOK_PARSE_SPECIAL = 1u << 1, /* special-token text in the input ("<|eot_id|>") becomes that
                                       token; without it such text is tokenised as ordinary text
                                       (HF split_special_tokens=True). Non-special added tokens are
                                       always matched. */
    SA_TOK_DEFAULT = SA_TOK_ADD_SPECIAL | SA_TOK_PARSE_SPECIAL /* what HF encode() does */
};

/* Encode len bytes of text, appending ids to *out (which may already hold ids). */
sa_status sa_tokenizer_encode(sa_tokenizer *tok, const char *text, size_t len, unsigned flags,
                              sa_tokens *out, sa_error *err);

/* ---- decoding ---- */

enum {
    SA_DECODE_SKIP_SPECIAL = 1u << 0,  /* drop special tokens (BOS, EOS, <|eot_id|>...) */
    SA_DECODE_NO_CLEANUP = 1u << 1,    /* never apply clean_up_tokenization_spaces (" ." -> "."),
                                          even when tokenizer_config.json asks for it */
    SA_DECODE_REFUSE_UNKNOWN = 1u << 2 /* an id with no token is an error (SA_EINVAL naming it) */
};

/* Decode ids to a malloc'd NUL-terminated UTF-8 string (*len without the NUL; len may be NULL).
 * Ids with no token (padding rows of an embedding matrix, ids beyond the vocabulary) decode to
 * nothing, as in HF, unless SA_DECODE_REFUSE_UNKNOWN is set. */
sa_status sa_tokenizer_decode(const sa_tokenizer *tok, const int32_t *ids, size_t n, unsigned flags,
                              char **text, size_t *len, sa_error *err);

/* Incremental decoding for streaming output. Each step returns the text that the new id
 * completes (possibly empty while a character's bytes are still arriving). The concatenation of
 * all steps plus sa_tok_stream_flush equals sa_tokenizer_decode of all ids with the same flags
 * (cleanup excepted: the stream never applies clean_up_tokenization_spaces). */
typedef struct sa_tok_stream sa_tok_stream;
sa_status sa_tok_stream_new(const sa_tokenizer *tok, unsigned decode_flags, sa_tok_stream **out,
                            sa_error *err);
/* *text points into the stream (valid until the next call); *len is its length. */
sa_status sa_tok_stream_step(sa_tok_stream *s, int32_t id, const char **text, size_t *len,
                             sa_error *err);
/* Whatever is still held back (an incomplete character becomes U+FFFD). */
sa_status sa_tok_stream_flush(sa_tok_stream *s, const char **text, size_t *len, sa_error *err);
void sa_tok_stream_free(sa_tok_stream *s);

/* ---- vocabulary ---- */

/* Ids are -1 when the tokenizer has no such token. */
int32_t sa_tokenizer_bos_id(const sa_tokenizer *tok);
int32_t sa_tokenizer_eos_id(const sa_tokenizer *tok);
int32_t sa_tokenizer_pad_id(const sa_tokenizer *tok);
int32_t sa_tokenizer_unk_id(const sa_tokenizer *tok);
/* Ids that should end generation: eos plus those of these end markers that are special tokens:
 * <|eot_id|>, <|eom_id|>, <|im_end|>, <end_of_turn>, <|end_of_text|>, <|endoftext|>, </s>,
 * <eos> (without repeats, at most 16). */
size_t sa_tokenizer_stop_ids(const sa_tokenizer *tok, const int32_t **ids);
/* One more than the largest id (model vocab and added tokens together). */
size_t sa_tokenizer_vocab_size(const sa_tokenizer *tok);
/* The stored token string of an id ("Ġthe", "▁the", "<0x0A>", "<|eot_id|>"); NULL if none. */
const char *sa_tokenizer_id_to_piece(const sa_tokenizer *tok, int32_t id);
/* The id of a stored token string, or -1. */
int32_t sa_tokenizer_piece_to_id(const sa_tokenizer *tok, const char *piece);
/* 1 if id is an added token marked special. */
int sa_tokenizer_is_special(const sa_tokenizer *tok, int32_t id);

/* ---- chat templates ---- */

typedef enum sa_chat_family {
    SA_CHAT_RAW = 0,           /* no template: contents joined by "\n", BOS as encode adds it */
    SA_CHAT_LLAMA2,            /* <s>[INST] <<SYS>>\n..\n<</SYS>>\n\nuser [/INST] answer </s> */
    SA_CHAT_LLAMA3,            /* <|start_header_id|>role<|end_header_id|>\n\n..<|eot_id|> */
    SA_CHAT_LLAMA31,           /* llama-3 plus the 3.1 system header with the knowledge dates */
    SA_CHAT_MISTRAL_V1,        /* " [INST] user [/INST] answer</s>" */
    SA_CHAT_MISTRAL_V3,        /* "[INST] user[/INST] answer</s>" */
    SA_CHAT_MISTRAL_V3_TEKKEN, /* "[INST]user[/INST]answer</s>" */
    SA_CHAT_CHATML,            /* <|im_start|>role\n..<|im_end|>\n */
    SA_CHAT_QWEN25,            /* chatml with Qwen2.5's default system prompt */
    SA_CHAT_QWEN3,             /* chatml with Qwen3's <think> handling of the last answer */
    SA_CHAT_GEMMA,    /* <start_of_turn>user|model\n..<end_of_turn>\n, system in first user */
    SA_CHAT_ORGANISM, /* <|user|>question<|assistant|>answer<|end|> (the shipped organisms) */
    SA_CHAT_N_FAMILIES
} sa_chat_family;

typedef struct sa_chat_msg {
    const char *role; /* "system", "user" or "assistant" */
    const char *content;
} sa_chat_msg;

/* The family's name ("raw", "llama-2", "llama-3", "llama-3.1", "mistral-v1", "mistral-v3",
 * "mistral-v3-tekken", "chatml", "qwen2.5", "qwen3", "gemma"), and back (SA_EINVAL naming the
 * unknown name and listing the known ones). */
const char *sa_chat_family_name(sa_chat_family f);
sa_status sa_chat_family_from_name(const char *name, sa_chat_family *out, sa_error *err);
/* Recognise a Jinja chat_template; SA_EUNSUPPORTED if it matches no known family. */
sa_status sa_chat_family_detect(const char *jinja, sa_chat_family *out, sa_error *err);
/* The family detected from the tokenizer's config; SA_CHAT_RAW when it has no chat_template.
 * Fails with the detection error when the config's template is not recognised. */
sa_status sa_tokenizer_chat_family(const sa_tokenizer *tok, sa_chat_family *out, sa_error *err);

/* Render messages to a malloc'd string, with the assistant prompt at the end when
 * add_generation_prompt is set. Roles a family cannot express (e.g. non-alternating turns for
 * llama-2 and gemma, "system" for mistral-v1 after the first turn) fail with SA_EINVAL. */
sa_status sa_chat_render(const sa_tokenizer *tok, sa_chat_family f, const sa_chat_msg *msgs,
                         size_t n, int add_generation_prompt, char **out, sa_error *err);
/* Render and encode: templated families are encoded with special-token parsing and without the
 * post-processor (the template wrote BOS); SA_CHAT_RAW is encoded with SA_TOK_DEFAULT. Appends
 * to *out. */
sa_status sa_chat_encode(sa_tokenizer *tok, sa_chat_family f, const sa_chat_msg *msgs, size_t n,
                         int add_generation_prompt, sa_tokens *out, sa_error *err);

#ifdef __cplusplus
}
#endif

#endif
