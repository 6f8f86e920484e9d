/* judge_cli.c: the judging flags of `judge` and `judge-agreement` (judge_cli.h). */
#include "judge_cli.h"

#include <string.h>

#include "cli.h"

void cli_judge_init(cli_judge_opts *o) {
    memset(o, 0, sizeof *o);
    sa_eval_opts_init(&o->e);
    o->concurrency = o->e.server.concurrency, o->retries = o->e.server.retries;
}

int cli_judge_flag(cli_args *p, cli_judge_opts *o) {
    return cli_load_flag(p, &o->load) || cli_flag_on(p, "--insecure", &o->e.server.insecure) ||
           cli_flag_list(p, "--judge", o->judges, &o->e.n_judges, CLI_JUDGE_MAX) ||
           cli_flag_str(p, "--refusal-lists", &o->e.refusal_lists) ||
           cli_flag_long(p, "--judge-max-tokens", 1, 1 << 20, &o->judge_max_tokens) ||
           cli_flag_long(p, "--batch", 1, 4096, &o->batch) ||
           cli_flag_long(p, "--concurrency", 1, 1024, &o->concurrency) ||
           cli_flag_long(p, "--retries", 0, 100, &o->retries) ||
           cli_flag_double(p, "--timeout", 0.001, 86400, &o->e.server.timeout_s);
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
