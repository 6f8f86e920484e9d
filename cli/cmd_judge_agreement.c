/* cmd_judge_agreement.c: `safearith judge-agreement --labels FILE --judge J ...`: how well
 * judges agree with human labels (sa_eval_agreement); prints the report as JSON. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(usage, stdout);
            return CLI_OK;
        }
        int h = cli_judge_flag(CMD, &o, argc, argv, &i);
        if (h < 0) return CLI_USAGE;
        if (h) continue;
        if (!strcmp(a, "--labels")) {
            if (i + 1 >= argc) return cli_usage_error(CMD, "--labels needs a value");
            labels = argv[++i];
        } else
            return cli_usage_error(CMD, "unknown option '%s'", a);
    }
    if (!labels) return cli_usage_error(CMD, "--labels FILE is required");
    if (!o.e.n_judges) return cli_usage_error(CMD, "at least one --judge is required");
    cli_judge_finish(&o);
    sa_error err = {0};
    sa_progress prog = cli_progress("judge-agreement");
    cJSON *report = NULL;
    sa_status st = sa_eval_agreement(&o.e, labels, &prog, &report, &err);
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
