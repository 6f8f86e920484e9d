/* cmd_judge.c: `safearith judge RUN_DIR --judge J ...`: judge a finished run's responses again
 * with other judges, without generating (sa_eval_rejudge), and print the updated summary. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eval/eval_json.h"
#include "cli.h"
#include "judge_cli.h"
#include "core/fsutil.h"

#define CMD "judge"

static const char usage[] =
    "usage: safearith judge RUN_DIR --judge J [--judge J ...] [options]\n"
    "\n"
    "Score a complete run's responses again with more judges, without generating. Each judge's\n"
    "verdicts become a new column of every harmful / benign row; responses.jsonl is replaced\n"
    "atomically (never edited in place), run.json lists the judges under \"rejudged\", and\n"
    "summary.json / summary.md are written again. Interrupted, it continues where it stopped\n"
    "when run again with the same judges.\n"
    "\n" CLI_JUDGE_USAGE "  -q, --quiet            do not print the summary\n";

static int run(int argc, char **argv) {
    cli_judge_opts o;
    cli_judge_init(&o);
    int quiet = 0;
    const char *run_dir[1] = {NULL};
    cli_args p;
    cli_args_init(&p, CMD, argc, argv);
    while (cli_args_next(&p)) {
        if (cli_flag_help(&p)) return fputs(usage, stdout), CLI_OK;
        if (!(cli_judge_flag(&p, &o) || cli_flag_on(&p, "-q|--quiet", &quiet) ||
              cli_positional(&p, run_dir, 1)))
            cli_args_unknown(&p);
    }
    if (p.failed) return CLI_USAGE;
    o.e.out = run_dir[0];
    if (!o.e.out) return cli_usage_error(CMD, "missing RUN_DIR");
    if (!o.e.n_judges) return cli_usage_error(CMD, "at least one --judge is required");
    cli_judge_finish(&o);
    sa_error err = {0};
    sa_progress prog = cli_progress("judge");
    cJSON *summary = NULL;
    sa_status st = sa_eval_rejudge_json(&o.e, &prog, &summary, &err);
    cli_progress_end();
    cJSON_Delete(summary);
    if (st == SA_EINTR)
        return cli_error(CMD, "interrupted; run the same command again to continue");
    if (st) return cli_report(CMD, &err);
    if (!quiet) {
        char *rp = sa_path_join(o.e.out, "summary.md"), *md = NULL;
        size_t len;
        if (rp && !sa_read_file(rp, &md, &len, NULL)) fputs(md, stdout);
        free(md), free(rp);
    }
    return CLI_OK;
}

const sa_cli_command sa_cmd_judge = {"judge", "judge an existing run's responses with more judges",
                                     run};
