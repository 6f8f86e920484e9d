/* cmd_judge_agreement.c: `safearith judge-agreement --labels FILE --judge J ...`: how well
 * judges agree with human labels (sa_eval_agreement); prints the report as JSON. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eval/eval_json.h"
#include "cli.h"
#include "judge_cli.h"

#define CMD "judge-agreement"

static const char usage[] =
    "usage: safearith judge-agreement --labels FILE --judge J [--judge J ...] [options]\n"
    "\n"
    "Run judges over labelled (question, response, label) examples and print, per judge, the\n"
    "confusion counts, agreement, precision and recall (Wilson 95 % intervals), F1 and Cohen's\n"
    "kappa (normal 95 % interval) as JSON. Unparseable verdicts are counted apart.\n"
    "\n"
    "  --labels FILE          HarmBench's classifier validation set (JSON {BehaviorID: [{...,\n"
    "                         generation, human_0, human_1, human_2}]}, majority vote), XSTest's\n"
    "                         labelled completions (CSV prompt, completion, final_label), or\n"
    "                         JSONL / CSV with question, response and a 0/1 "
    "label\n" CLI_JUDGE_USAGE;

static int run(int argc, char **argv) {
    cli_judge_opts o;
    cli_judge_init(&o);
    const char *labels = NULL;
    cli_args p;
    cli_args_init(&p, CMD, argc, argv);
    while (cli_args_next(&p)) {
        if (cli_flag_help(&p)) return fputs(usage, stdout), CLI_OK;
        if (!(cli_judge_flag(&p, &o) || cli_flag_str(&p, "--labels", &labels)))
            cli_args_unknown(&p);
    }
    if (p.failed) return CLI_USAGE;
    if (!labels) return cli_usage_error(CMD, "--labels FILE is required");
    if (!o.e.n_judges) return cli_usage_error(CMD, "at least one --judge is required");
    cli_judge_finish(&o);
    sa_error err = {0};
    sa_progress prog = cli_progress("judge-agreement");
    cJSON *report = NULL;
    sa_status st = sa_eval_agreement_json(&o.e, labels, &prog, &report, &err);
    cli_progress_end();
    if (st == SA_EINTR) return cli_error(CMD, "interrupted");
    if (st) return cli_report(CMD, &err);
    char *text = cJSON_Print(report);
    cJSON_Delete(report);
    if (!text) return cli_error(CMD, "out of memory");
    puts(text);
    free(text);
    return CLI_OK;
}

const sa_cli_command sa_cmd_judge_agreement = {
    "judge-agreement", "measure judges against human labels (agreement, kappa, F1)", run};
