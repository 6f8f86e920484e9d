/* cmd_resta.c: `safearith resta`, restoring safety with a safety vector (RESTA), optionally
 * with DARE on the fine-tuning delta. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arith_cli.h"

#define CMD "resta"

static void usage(void) {
    printf(
        "usage: safearith resta --model SFT --aligned A --unaligned U -o OUT [options]\n\n"
        "RESTA: OUT = SFT + beta * (A - U), where A is the aligned model SFT was fine-tuned\n"
        "from and U is A fine-tuned to be unaligned (A - U is the safety vector). With --dare P:\n"
        "OUT = A + DARE_P(SFT - A) + beta * (A - U): each entry of the fine-tuning delta is\n"
        "dropped with probability P and the rest rescaled. DARE's randomness is counter-based\n"
        "(seed, tensor name, element index): identical for any --threads or sharding.\n\n"
        "options:\n"
        "  --model DIR          the fine-tuned (compromised) model\n"
        "  --aligned DIR        the aligned model it was fine-tuned from\n"
        "  --unaligned DIR      the aligned model fine-tuned on harmful data\n"
        "  --beta B             weight of the safety vector (default 1)\n"
        "  --dare P             DARE drop rate in [0, 1) on SFT - A (default: no DARE)\n"
        "  --seed S             DARE seed (default 0)\n"
        "  --rescale R          inverse (divide by 1 - P, DARE paper; default), l1 (per tensor,\n"
        "                       ||delta||_1 / ||kept||_1, as mergekit since 2025) or "
        "none\n" ARITH_CLI_HELP "  -h, --help           this help\n");
}

typedef struct resta_args {
    const char *sft, *aligned, *unaligned;
    sa_resta_opts r;
} resta_args;

static int own_flag(void *ctx, cli_args *p) {
    resta_args *a = ctx;
    const char *v;
    if (cli_flag_str(p, "--model", &a->sft) || cli_flag_str(p, "--aligned", &a->aligned) ||
        cli_flag_str(p, "--unaligned", &a->unaligned) ||
        cli_flag_double(p, "--beta", -1e6, 1e6, &a->r.beta) ||
        cli_flag_double(p, "--dare", 0, 0.999999, &a->r.dare_p) ||
        cli_flag_seed(p, "--seed", &a->r.seed))
        return 1;
    if (!cli_flag_value(p, "--rescale", &v)) return 0;
    if (!v) return 1;
    if (!strcmp(v, "inverse"))
        a->r.rescale = SA_RESCALE_INVERSE;
    else if (!strcmp(v, "l1"))
        a->r.rescale = SA_RESCALE_L1;
    else if (!strcmp(v, "none"))
        a->r.rescale = SA_RESCALE_NONE;
    else
        cli_args_fail(p, "--rescale: expected inverse, l1 or none, got '%s'", v);
    return 1;
}

static int run(int argc, char **argv) {
    arith_cli c;
    arith_cli_init(&c);
    resta_args a = {0};
    sa_resta_opts_init(&a.r);
    int pr = arith_cli_parse(CMD, &c, argc, argv, own_flag, &a, usage);
    if (pr != CLI_OK) return pr == ARITH_CLI_HELP_SHOWN ? CLI_OK : pr;
    if (!a.sft || !a.aligned || !a.unaligned)
        return cli_usage_error(CMD, "--model, --aligned and --unaligned are required");
    int rc = arith_cli_start(CMD, &c);
    if (rc != CLI_OK) return rc;
    sa_error err;
    sa_status s = sa_resta(a.sft, a.aligned, a.unaligned, &a.r, &c.o, &err);
    arith_cli_end(&c);
    if (s != SA_OK) return cli_report(CMD, &err);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "output", c.o.output);
    arith_cli_print_json(o);
    return CLI_OK;
}

const sa_cli_command sa_cmd_resta = {"resta",
                                     "RESTA: SFT + beta * (aligned - unaligned), with DARE", run};
