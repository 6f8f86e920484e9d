/* cmd_task_vector.c: `safearith task-vector --base B --model M -o OUT` (tau = M - B). */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

#include "arith_cli.h"

#define CMD "task-vector"

static void usage(void) {
    printf("usage: safearith task-vector --base BASE --model MODEL -o OUT [options]\n\n"
           "Store the task vector tau = MODEL - BASE as a checkpoint (same tensor names and\n"
           "shapes; arithmetic in float32). Its __metadata__ marks it as a task vector, so it can\n"
           "be given to `safearith hdr --harmful` in place of a harmful model.\n\n"
           "options:\n"
           "  --base DIR           the base model\n"
           "  --model DIR          the fine-tuned model\n" ARITH_CLI_HELP
           "  -h, --help           this help\n");
}

typedef struct tv_args {
    const char *base, *model;
} tv_args;

static int own_flag(void *ctx, cli_args *p) {
    tv_args *a = ctx;
    return cli_flag_str(p, "--base", &a->base) || cli_flag_str(p, "--model", &a->model);
}

static int run(int argc, char **argv) {
    arith_cli c;
    arith_cli_init(&c);
    tv_args a = {NULL, NULL};
    int pr = arith_cli_parse(CMD, &c, argc, argv, own_flag, &a, usage);
    if (pr != CLI_OK) return pr == ARITH_CLI_HELP_SHOWN ? CLI_OK : pr;
    const char *base = a.base, *model = a.model;
    if (!base || !model) return cli_usage_error(CMD, "--base and --model are required");
    int rc = arith_cli_start(CMD, &c);
    if (rc != CLI_OK) return rc;
    sa_error err;
    sa_status s = sa_task_vector(model, base, &c.o, &err);
    arith_cli_end(&c);
    if (s != SA_OK) return cli_report(CMD, &err);
    cJSON *out = cJSON_CreateObject();
    cJSON_AddStringToObject(out, "output", c.o.output);
    arith_cli_print_json(out);
    return CLI_OK;
}

const sa_cli_command sa_cmd_task_vector = {"task-vector",
                                           "store tau = MODEL - BASE as a checkpoint", run};
