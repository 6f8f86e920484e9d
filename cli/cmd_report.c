/* cmd_report.c: `safearith report RUN_DIR... [-o report.md]`: runs side by side, plus an SVG plot.
 *
 * Rows are configurations (run directories, named by their --label or directory name), columns
 * the dataset groups; next to report.md goes report.svg, ASR against utility, one point per run.
 * Without -o the Markdown goes to stdout and no chart is written unless --svg names one. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "flags.h"
#include "safearith/eval.h"

#define CMD "report"

static const char usage[] =
    "usage: safearith report RUN_DIR [RUN_DIR ...] [-o report.md] [--svg chart.svg] [--judge "
    "NAME]\n"
    "                        [--overwrite]\n"
    "\n"
    "Put evaluation runs side by side: one row per run (its --label, or the directory name), one\n"
    "column per dataset group (ASR for harmful sets, over-refusal for benign ones, accuracy or\n"
    "exact match for utility sets, with 95 % intervals), plus mean ASR and mean utility. With -o,\n"
    "an SVG scatter plot of mean ASR against mean utility is written beside it (report.svg for\n"
    "report.md) unless --svg names another file. Cells use each run's first judge, or the judge\n"
    "named by --judge (a --judge spec or name= given to safearith eval). An existing report or\n"
    "chart is replaced only with --overwrite; neither may lie inside a run directory.\n";

static int cmd_report(int argc, char **argv) {
    const char *out = NULL, *svg = NULL, *judge = NULL;
    int overwrite = 0;
    const char **dirs = calloc((size_t)argc, sizeof *dirs);
    int n = 0;
    if (!dirs) return cli_error(CMD, "out of memory");
    cli_args p;
    cli_args_init(&p, CMD, argc, argv);
    while (cli_args_next(&p)) {
        if (cli_flag_help(&p)) return fputs(usage, stdout), free(dirs), CLI_OK;
        if (cli_flag_str(&p, "-o|--output", &out) || cli_flag_str(&p, "--svg", &svg) ||
            cli_flag_str(&p, "--judge", &judge) || cli_flag_on(&p, "--overwrite", &overwrite))
            continue;
        if (p.arg[0] == '-')
            cli_args_unknown(&p);
        else
            dirs[n++] = p.arg;
    }
    if (p.failed) return free(dirs), CLI_USAGE;
    if (!n) {
        free(dirs);
        return cli_usage_error(CMD, "give at least one RUN_DIR");
    }
    char *svg_auto = NULL;
    if (out && !svg) {
        size_t l = strlen(out);
        svg_auto = malloc(l + 5);
        if (svg_auto) {
            memcpy(svg_auto, out, l + 1);
            if (l > 3 && !strcmp(out + l - 3, ".md")) svg_auto[l - 3] = 0;
            strcat(svg_auto, ".svg");
        }
        svg = svg_auto;
    }
    sa_error err = {0};
    char *md = NULL;
    sa_status st = sa_eval_report(n, dirs, judge, out, svg, overwrite, out ? NULL : &md, &err);
    free(dirs), free(svg_auto);
    if (st) return cli_report(CMD, &err);
    if (md) fputs(md, stdout);
    free(md);
    return CLI_OK;
}

const sa_cli_command sa_cmd_report = {
    "report", "compare evaluation runs: table and ASR-utility chart", cmd_report};
