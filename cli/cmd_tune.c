/* cmd_tune.c: `safearith tune RECIPE.yml -o TUNE_DIR` and `safearith tune --apply TRIAL`.
 *
 * All the work is in the library (tune.h): this file reads flags, draws the progress bar
 * ("[trial 7/40] stage" with the bar of that step) and prints where the results are. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "flags.h"
#include "safearith/eval.h"
#include "safearith/tune.h"

#define CMD "tune"

static const char usage[] =
    "usage: safearith tune RECIPE.yml -o TUNE_DIR [--trials N] [--resume] [--pick TRIAL]\n"
    "                      [--threads N]\n"
    "       safearith tune --apply TRIAL --study TUNE_DIR [-o MODEL] [--cvec V.gguf]\n"
    "\n"
    "Search realignment settings (HDR top-k and lambda, ICV alpha / position / method, RESTA\n"
    "beta and DARE p) for the Pareto front of ASR, over-refusal, utility and the KL divergence\n"
    "of next-token distributions against the unmodified model, as a recipe describes (see\n"
    "docs/tune.md). Trials run on the recipe's tuning split and are journalled in\n"
    "TUNE_DIR/trials.jsonl; --resume continues a killed study (the same recipe only). At the\n"
    "end TUNE_DIR holds front.json, report.md and three SVG charts, and the chosen point (the\n"
    "lowest ASR under the recipe's constraints, or --pick TRIAL) is evaluated on the test split.\n"
    "--trials N overrides the recipe's search.trials (more trials extend a resumed study).\n"
    "Generation runs on the local engine; the judge may sit behind an OpenAI-compatible server\n"
    "(eval.judge: server:URL..., transport in the recipe's server section), with the API key\n"
    "from SAFEARITH_API_KEY or OPENAI_API_KEY (never written to the study).\n"
    "\n"
    "--apply TRIAL writes trial TRIAL of the study in --study TUNE_DIR: the model (-o MODEL;\n"
    "hdr, resta, hdr+icv) and the ICV control vector (--cvec FILE; icv, hdr+icv), with the\n"
    "--steer flags to use it printed. The model's card (README.md) records the study, the\n"
    "trial and this command.\n";

typedef struct tune_args {
    const char *recipe, *out, *study, *cvec;
    long trials, pick, apply, threads;
    int resume;
} tune_args;

/* 0 to go on, -1 after --help, else the exit code. */
static int parse(int argc, char **argv, tune_args *a) {
    *a = (tune_args){NULL, NULL, NULL, NULL, 0, -1, -1, 0, 0};
    const char *recipe[1] = {NULL};
    cli_args p;
    cli_args_init(&p, CMD, argc, argv);
    while (cli_args_next(&p)) {
        if (cli_flag_help(&p)) return fputs(usage, stdout), -1;
        if (!(cli_flag_on(&p, "--resume", &a->resume) || cli_flag_str(&p, "-o|--output", &a->out) ||
              cli_flag_str(&p, "--study", &a->study) || cli_flag_str(&p, "--cvec", &a->cvec) ||
              cli_flag_long(&p, "--trials", 1, 100000, &a->trials) ||
              cli_flag_long(&p, "--pick", 0, 100000, &a->pick) ||
              cli_flag_long(&p, "--apply", 0, 100000, &a->apply) ||
              cli_flag_long(&p, "--threads", 1, 4096, &a->threads) ||
              cli_positional(&p, recipe, 1)))
            cli_args_unknown(&p);
    }
    if (p.failed) return CLI_USAGE;
    a->recipe = recipe[0];
    return 0;
}

static int apply(const tune_args *a) {
    if (!a->study) return cli_usage_error(CMD, "--apply needs --study TUNE_DIR");
    if (a->recipe) return cli_usage_error(CMD, "--apply takes no recipe (it is in the study)");
    sa_progress prog = cli_progress("tune --apply");
    sa_error err = {0};
    char *note = NULL;
    sa_status st =
        sa_tune_apply(a->study, a->apply, a->out, a->cvec, (int)a->threads, &prog, &note, &err);
    cli_progress_end();
    if (st) return cli_report(CMD, &err);
    if (a->out) printf("model: %s\n", a->out);
    if (note) printf("control vector: %s\n  use it with: %s\n", a->cvec, note);
    free(note);
    return CLI_OK;
}

static int cmd_tune(int argc, char **argv) {
    tune_args a;
    int pr = parse(argc, argv, &a);
    if (pr) return pr < 0 ? CLI_OK : pr;
    if (a.apply >= 0) return apply(&a);
    if (!a.recipe) return cli_usage_error(CMD, "give a RECIPE.yml");
    if (!a.out) return cli_usage_error(CMD, "-o TUNE_DIR is required");
    sa_error err = {0};
    sa_tune_recipe *r = NULL;
    if (sa_tune_recipe_load(a.recipe, &r, &err)) return cli_report(CMD, &err);
    cli_install_interrupt();
    sa_progress prog = cli_progress("tune");
    sa_tune_opts o;
    sa_tune_opts_init(&o);
    o.dir = a.out, o.trials = (int)a.trials, o.resume = a.resume, o.pick = a.pick;
    o.n_threads = (int)a.threads, o.progress = &prog;
    o.api_key = sa_eval_api_key_env(), o.interrupted = cli_interrupted;
    sa_tune_result res;
    sa_status st = sa_tune_run(r, &o, &res, &err);
    cli_progress_end();
    sa_tune_recipe_free(r);
    if (st) return cli_report(CMD, &err);
    printf("%ld trials (%ld stopped early), %ld on the front; ", res.n_trials, res.n_pruned,
           res.n_front);
    if (res.chosen >= 0)
        printf("chosen trial %ld, on the test split: ASR %.1f %%, over-refusal %.1f %%, utility "
               "%.1f %%\n",
               res.chosen, res.chosen_test[SA_OBJ_ASR], res.chosen_test[SA_OBJ_OVER_REFUSAL],
               res.chosen_test[SA_OBJ_UTILITY]);
    else
        printf("no trial meets the constraints\n");
    printf("report: %s/report.md\n", a.out);
    return CLI_OK;
}

const sa_cli_command sa_cmd_tune = {"tune", "search realignment settings: Pareto front, report",
                                    cmd_tune};
