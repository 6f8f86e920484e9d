/* engine_cli.h: helpers shared by the model-running commands (logits, generate, chat, bench):
 * token-list flags and loading a model with a one-line error. */
#ifndef SA_ENGINE_CLI_H
#define SA_ENGINE_CLI_H

#include <stdint.h>

#include "safearith/model.h"

/* Parse "1,2,3" into a malloc'd array; prints an error naming the flag and returns non-zero on
 * a malformed list. */
int cli_parse_token_list(const char *cmd, const char *flag, const char *val, int32_t **out, int *n);
/* Load a model directory, printing "safearith CMD: ..." on failure; returns NULL then. */
sa_model *cli_load_model(const char *cmd, const char *dir);

/* Tokenize text with the model directory's tokenizer (adding BOS/EOS as the tokenizer's
 * post-processor does when add_special is non-zero); prints an error and returns non-zero on
 * failure. *out is malloc'd. */
int cli_encode_text(const char *cmd, const char *model_dir, const char *text, int add_special,
                    int32_t **out, int *n);

/* Render a one-turn chat (optional system message) with the model's chat template and tokenize
 * it (the template supplies BOS). */
int cli_encode_chat(const char *cmd, const char *model_dir, const char *system, const char *user,
                    int32_t **out, int *n);

/* Streaming generated tokens to stdout: as ids ("12 7 99"), or as text decoded incrementally
 * with the model's tokenizer, watching the text for stop strings. */
typedef struct cli_stream {
    const char *cmd;
    int print_ids, count;
    const char *const *stop;
    int n_stop;
    char *text; /* everything generated so far (text mode), for stop strings */
    size_t len, cap;
    void *tok; /* tokenizer state (text mode) */
} cli_stream;

int cli_stream_init(const char *cmd, cli_stream *st, const sa_model *m, int print_ids,
                    const char *const *stop, int n_stop);
/* Print one token; returns non-zero when a stop string has appeared. */
int cli_stream_token(cli_stream *st, int32_t token);
/* Flush, end the line and free. */
void cli_stream_end(cli_stream *st);

#endif
