/* judge_cli.h: the judging flags shared by `safearith judge` and `safearith judge-agreement`:
 * --judge (repeatable), --refusal-lists, --judge-max-tokens, --batch, the server transport
 * (--concurrency, --retries, --timeout, --insecure; key from SAFEARITH_API_KEY or
 * OPENAI_API_KEY) and the model-loading flags (--threads, --no-mmap), mapped onto sa_eval_opts. */
#ifndef SA_JUDGE_CLI_H
#define SA_JUDGE_CLI_H

#include "engine_cli.h"
#include "safearith/eval.h"

#define CLI_JUDGE_MAX 8

typedef struct cli_judge_opts {
    sa_eval_opts e;
    const char *judges[CLI_JUDGE_MAX];
    long batch, judge_max_tokens, concurrency, retries;
    cli_load_opts load;
} cli_judge_opts;

#define CLI_JUDGE_USAGE                                                                            \
    "  --judge J              refusal[:LIST...], model:DIR:PROMPT[:verdict=V] or\n"                \
    "                         server:URL[:PROMPT][:model=NAME][:verdict=V][:measure=refusal]\n"    \
    "                         (see safearith eval --help); several allowed; :name=NAME names it\n" \
    "  --refusal-lists FILE   refusal_prefix_lists.json, for refusal:NAME\n"                       \
    "  --judge-max-tokens N   verdict length for model judges (default: the prompt's own)\n"       \
    "  --batch B              responses judged together (default 8; servers: 16 x concurrency)\n"  \
    "  --concurrency N        requests in flight to a server judge (default 4)\n"                  \
    "  --retries N            retries per request (default 5)\n"                                   \
    "  --timeout S            seconds per request attempt (default 600)\n"                         \
    "  --insecure             no TLS certificate checks (local test servers only)\n"               \
    "  --threads N            threads of a local judge model (default: all cores)\n"               \
    "  --no-mmap              read a local judge's weights into memory\n"

void cli_judge_init(cli_judge_opts *o);
/* A flag reader (flags.h) for the flags above into o. */
int cli_judge_flag(cli_args *p, cli_judge_opts *o);
/* Fill o->e from the flags (call once parsing is done). */
void cli_judge_finish(cli_judge_opts *o);

#endif
