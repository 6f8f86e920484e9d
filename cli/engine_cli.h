/* engine_cli.h: helpers shared by the model-running commands (logits, generate, chat, bench,
 * eval, icv): the model-loading flags, token-list flags, loading a model and its tokenizer with
 * one-line errors, encoding prompts (plain or through the chat template), and streaming
 * generated tokens as text or ids with stop strings. */
#ifndef SA_ENGINE_CLI_H
#define SA_ENGINE_CLI_H

#include <stddef.h>
#include <stdint.h>

#include "flags.h"
#include "safearith/model.h"
#include "safearith/tokenizer.h"

/* The model-loading flags of every model-running command: --threads N, --no-mmap and
 * --precision P.
 * Zero-initialised it is the default: all cores, weights memory-mapped. */
typedef struct cli_load_opts {
    sa_ckpt_mode weights;   /* SA_CKPT_READ with --no-mmap */
    long threads;           /* 1..1024; 0 = all cores */
    sa_precision precision; /* --precision f32|bf16 (default f32) */
} cli_load_opts;

/* Their --help lines. PAD is the spaces after "--threads N" up to the command's description
 * column, e.g. CLI_LOAD_USAGE("   ") for descriptions starting in column 17. */
#define CLI_LOAD_USAGE(pad)                                                                        \
    "  --threads N" pad "threads (default: all cores)\n"                                           \
    "  --no-mmap  " pad "read the weights into memory instead of mapping the files\n"              \
    "  --precision" pad "P = f32 (default) or bf16: BF16 activations for BF16 weights\n"           \
    "  (the model may be BASE+ADAPTER: a PEFT LoRA adapter applied in memory, docs/arith.md)\n"

/* A flag reader (flags.h) for --no-mmap, --threads and --precision into o. */
int cli_load_flag(cli_args *p, cli_load_opts *o);

/* The decoding flags, one vocabulary for generate, chat and eval: --max-tokens (alias
 * --max-new-tokens), --temp, --top-k, --top-p, --seed, and --stop (up to 16; generate and chat). */
typedef struct cli_decode_opts {
    const char *stop[16];
    int n_stop, allow_stop;
    long max_tokens;
    int top_k;
    double temp, top_p; /* as typed (eval records them in run.json) */
    uint64_t seed;
} cli_decode_opts;

#define CLI_DECODE_MAX_TOKENS (1 << 20)

/* The library's sampling defaults (sa_sampling_default) with the command's max_tokens;
 * allow_stop: whether --stop is one of the command's flags. */
cli_decode_opts cli_decode_defaults(long max_tokens, int allow_stop);
/* A flag reader (flags.h) for the decoding flags into d. */
int cli_decode_flag(cli_args *p, cli_decode_opts *d);
/* d's sampling options for the library. */
sa_sampling cli_decode_sampling(const cli_decode_opts *d);

/* Parse "1,2,3" into a malloc'd array; prints an error naming the flag and returns non-zero on
 * a malformed list. */
int cli_parse_token_list(const char *cmd, const char *flag, const char *val, int32_t **out, int *n);
/* Load a model directory with its weights held as `weights` says (cli_load_opts.weights), printing
 * "safearith CMD: ..." on failure; returns NULL then. */
sa_model *cli_load_model(const char *cmd, const char *dir, sa_ckpt_mode weights);
/* Load DIR's tokenizer, printing the error on failure; returns NULL then. */
sa_tokenizer *cli_load_tokenizer(const char *cmd, const char *dir);

/* Tokenize text (with BOS/EOS as the tokenizer's post-processor adds them when add_special);
 * prints an error and returns non-zero on failure. *out is malloc'd. */
int cli_encode_text(const char *cmd, sa_tokenizer *tok, const char *text, int add_special,
                    int32_t **out, int *n);
/* Render msgs with the model's chat template (plus the assistant prompt) and tokenize. */
int cli_encode_chat(const char *cmd, sa_tokenizer *tok, const sa_chat_msg *msgs, size_t n_msgs,
                    int32_t **out, int *n);

/* Streaming generated tokens to stdout: as ids ("12 7 99"), or as text decoded incrementally,
 * holding back text that might be the start of a stop string. */
typedef struct cli_stream {
    const char *cmd;
    int print_ids, count, stopped;
    const char *const *stop;
    int n_stop;
    size_t hold; /* longest stop string - 1 */
    char *text;  /* everything decoded so far (text mode) */
    size_t len, cap, printed;
    sa_tok_stream *ts;
    int failed;
} cli_stream;

/* tok may be NULL only with print_ids. */
int cli_stream_init(const char *cmd, cli_stream *st, sa_tokenizer *tok, int print_ids,
                    const char *const *stop, int n_stop);
/* Print one token; returns non-zero when a stop string has appeared (text up to it is printed). */
int cli_stream_token(cli_stream *st, int32_t token);
/* Print what is held back (unless a stop string ended the text), end the line, free. With
 * newline == 0 no line end is added. Returns non-zero if decoding failed. */
int cli_stream_end(cli_stream *st, int newline);

#endif
