/* steer_opts.h: the steering flags shared by every model-running command (generate, chat,
 * logits, eval): --steer VEC.gguf[:SCALE] (repeatable, summed per layer), --steer-layers A-B,
 * --steer-mode add|icv|icv-code, --steer-at mlp|residual.
 *
 * Use in a command:
 *     cli_steer st; cli_steer_init(&st);
 *     in the flag loop:  cli_steer_flag(&p, &st) || ... (flags.h)
 *     after loading:     if (cli_steer_setup(cmd, &st, sa_model_get_config(m))) -> fail
 *     after the session: sa_hook h; cli_steer_hook(&st, inner_or_NULL, &h);
 *                        sa_session_set_hook(s, &h);
 *     at the end:        cli_steer_free(&st);
 * and print CLI_STEER_USAGE in --help. Without --steer everything is a no-op. */
#ifndef SA_CLI_STEER_OPTS_H
#define SA_CLI_STEER_OPTS_H

#include "flags.h"
#include "safearith/model.h"
#include "safearith/steer.h"

#define CLI_STEER_MAX 16

typedef struct cli_steer {
    int n;
    const char *path[CLI_STEER_MAX]; /* points into argv (or a copy when a scale was given) */
    char *owned[CLI_STEER_MAX];
    double scale[CLI_STEER_MAX];
    int mode;    /* sa_steer_mode, or -1 = default (add) */
    int site;    /* sa_steer_site, or -1 = default by mode */
    long lo, hi; /* --steer-layers; lo = -1 when not given */
    int enabled; /* set by cli_steer_setup when at least one layer is steered */
    sa_steer plan;
    sa_steer_chain chain;
} cli_steer;

#define CLI_STEER_USAGE                                                                            \
    "steering (any number of vectors, summed per layer):\n"                                        \
    "  --steer VEC.gguf[:SCALE]   control vector (llama.cpp/repeng/safearith GGUF), scale 1\n"     \
    "                             by default (a decimal number); direction.N acts on decoder\n"    \
    "                             layer N; a path containing ':' must exist\n"                     \
    "  --steer-mode add|icv|icv-code\n"                                                            \
    "                             add: h += SCALE*v (llama.cpp; default)\n"                        \
    "                             icv: m' = |m|*normalize(m/|m| + SCALE*v/|v|) (paper, "           \
    "alpha=SCALE)\n"                                                                               \
    "                             icv-code: the official notebooks' rule (gate, 0.1 factor)\n"     \
    "  --steer-at mlp|residual    where: the MLP output (default for icv, icv-code) or the\n"      \
    "                             decoder layer's output (default for add)\n"                      \
    "  --steer-layers A-B         only layers A..B (inclusive, 0-based)\n"

void cli_steer_init(cli_steer *st);
/* A flag reader (flags.h) for the steering flags. */
int cli_steer_flag(cli_args *p, cli_steer *st);
/* Load the vectors and build the plan for a model. Returns 0, or prints "safearith CMD: ..."
 * and returns the exit code: CLI_FAIL for an unreadable or malformed file, an n_embd mismatch
 * or a direction beyond the model's layers; CLI_USAGE for --steer-layers out of range or
 * --steer-mode/--steer-at/--steer-layers without any --steer. */
int cli_steer_setup(const char *cmd, cli_steer *st, const sa_model_config *cfg);
/* The hook to install: steering chained before `inner` (may be NULL). Valid while st lives. */
void cli_steer_hook(cli_steer *st, const sa_hook *inner, sa_hook *out);
/* A one-line description ("add x1 on layers 1-3 at residual"), for logs; "" when disabled. */
const char *cli_steer_describe(const cli_steer *st, char *buf, int size);
void cli_steer_free(cli_steer *st);
/* Fill inputs[] (room for CLI_STEER_MAX + 1) with `model` and the --steer files; returns the count,
 * for sa_output_check. */
int cli_steer_inputs(const cli_steer *st, const char *model, const char **inputs);

#endif
