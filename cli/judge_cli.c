/* judge_cli.c: the judging flags of `judge` and `judge-agreement` (judge_cli.h). */
#include "judge_cli.h"

#include <string.h>

#include "cli.h"

void cli_judge_init(cli_judge_opts *o) {
    memset(o, 0, sizeof *o);
    sa_eval_opts_init(&o->e);
    o->concurrency = o->e.server.concurrency, o->retries = o->e.server.retries;
}

/* A flag with a value: 1 parsed, 0 not ours, -1 bad value (reported). */
static int value_flag(const char *cmd, cli_judge_opts *o, const char *a, const char *v) {
    if (!strcmp(a, "--judge")) {
        if (o->e.n_judges == CLI_JUDGE_MAX)
            return cli_usage_error(cmd, "at most %d --judge", CLI_JUDGE_MAX), -1;
        o->judges[o->e.n_judges++] = v;
    } else if (!strcmp(a, "--refusal-lists"))
        o->e.refusal_lists = v;
    else if (!strcmp(a, "--judge-max-tokens"))
        return cli_parse_long(cmd, a, v, 1, 1 << 20, &o->judge_max_tokens) ? -1 : 1;
    else if (!strcmp(a, "--batch"))
        return cli_parse_long(cmd, a, v, 1, 4096, &o->batch) ? -1 : 1;
    else if (!strcmp(a, "--concurrency"))
        return cli_parse_long(cmd, a, v, 1, 1024, &o->concurrency) ? -1 : 1;
    else if (!strcmp(a, "--retries"))
        return cli_parse_long(cmd, a, v, 0, 100, &o->retries) ? -1 : 1;
    else if (!strcmp(a, "--timeout"))
        return cli_parse_double(cmd, a, v, 0.001, 86400, &o->e.server.timeout_s) ? -1 : 1;
    else
        return 0;
    return 1;
}

int cli_judge_flag(const char *cmd, cli_judge_opts *o, int argc, char **argv, int *i) {
    const char *a = argv[*i];
    int h = cli_load_flag(cmd, &o->load, argc, argv, i);
    if (h) return h;
    if (!strcmp(a, "--insecure")) return o->e.server.insecure = 1, 1;
    static const char *const with_value[] = {"--judge",  "--refusal-lists", "--judge-max-tokens",
                                             "--batch",  "--concurrency",   "--retries",
                                             "--timeout"};
    int known = 0;
    for (size_t k = 0; k < sizeof with_value / sizeof *with_value; k++)
        known |= !strcmp(a, with_value[k]);
    if (!known) return 0;
    if (*i + 1 >= argc) return cli_usage_error(cmd, "%s needs a value", a), -1;
    return value_flag(cmd, o, a, argv[++*i]);
}

void cli_judge_finish(cli_judge_opts *o) {
    sa_eval_opts *e = &o->e;
    e->judges = o->judges;
    e->batch = (int)o->batch, e->judge_max_tokens = (int)o->judge_max_tokens;
    e->threads = (int)o->load.threads, e->weights = o->load.weights;
    e->precision = o->load.precision;
    e->server.concurrency = (int)o->concurrency, e->server.retries = (int)o->retries;
    e->server.api_key = sa_eval_api_key_env();
    e->server.interrupted = cli_interrupted;
    e->interrupted = cli_interrupted;
}
