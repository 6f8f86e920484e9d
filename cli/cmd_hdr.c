/* cmd_hdr.c: `safearith hdr`, Harm Direction Removal (Safety Arithmetic, step 1). */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

#include "arith_cli.h"

#define CMD "hdr"

static void usage(void) {
    printf("usage: safearith hdr --target T --base B --harmful H -o OUT [options]\n\n"
           "Harm Direction Removal: OUT = T - lambda * trim_k(H - B). tau = H - B is the harm\n"
           "vector (H: the base fine-tuned on harmful data); trim_k keeps its top-k %% entries by\n"
           "magnitude (|tau| >= t, t the (d - int(d*k/100))-th smallest |tau| over the d selected\n"
           "entries, ties kept), exactly, over the whole model by default. H may also be a task\n"
           "vector stored by `safearith task-vector` (then --base is not given).\n\n"
           "options:\n"
           "  --target DIR         model to make safer (base, fine-tuned or edited)\n"
           "  --base DIR           the aligned base model\n"
           "  --harmful DIR        base fine-tuned on harmful data, or a stored task vector\n"
           "  --top-k K            percent of tau entries kept (default 10)\n"
           "  --lambda L           scale of the removed direction (default 3)\n"
           "  --select S           global (default: one threshold over every selected entry, as\n"
           "                       the paper) or per-tensor\n"
           "  --no-trim            keep all of tau (the paper's Task Vector baseline)\n"
           "  --layers A-B         confine tau and the top-k to decoder layers A..B (0-based,\n"
           "                       inclusive; the edited-model setting); tau is zero elsewhere\n"
           "  --include RE         confine tau to tensors whose name matches RE\n"
           "  --exclude RE         leave out tensors whose name matches RE\n"
           "  --notebook-edited-bug  reproduce the official edited-model notebook: outside the\n"
           "                       selection subtract the dense, untrimmed tau (not the "
           "paper)\n" ARITH_CLI_HELP "  -h, --help           this help\n\n"
           "Prints a JSON summary (selected and kept parameters, threshold) on success.\n");
}

typedef struct hdr_args {
    const char *target, *base, *harmful;
    sa_hdr_opts h;
} hdr_args;

/* One command-specific flag; returns 1 consumed, 0 unknown, -1 error. */
static int own_flag(void *ctx, int argc, char **argv, int *i) {
    hdr_args *a = ctx;
    int m, r;
    const char *v;
    if ((r = arith_cli_str(CMD, "--target", argc, argv, i, &a->target)) ||
        (r = arith_cli_str(CMD, "--base", argc, argv, i, &a->base)) ||
        (r = arith_cli_str(CMD, "--harmful", argc, argv, i, &a->harmful)) ||
        (r = arith_cli_str(CMD, "--include", argc, argv, i, &a->h.include)) ||
        (r = arith_cli_str(CMD, "--exclude", argc, argv, i, &a->h.exclude)))
        return r;
    if ((v = arith_cli_value(CMD, "--top-k", argc, argv, i, &m)) || m)
        return v && !cli_parse_double(CMD, "--top-k", v, 0, 100, &a->h.top_k) ? 1 : -1;
    if ((v = arith_cli_value(CMD, "--lambda", argc, argv, i, &m)) || m)
        return v && !cli_parse_double(CMD, "--lambda", v, -1e6, 1e6, &a->h.lambda) ? 1 : -1;
    if ((v = arith_cli_value(CMD, "--select", argc, argv, i, &m)) || m) {
        if (!v) return -1;
        if (!strcmp(v, "global"))
            a->h.scope = SA_SELECT_GLOBAL;
        else if (!strcmp(v, "per-tensor"))
            a->h.scope = SA_SELECT_PER_TENSOR;
        else
            return cli_usage_error(CMD, "--select: expected global or per-tensor, got '%s'", v), -1;
        return 1;
    }
    if ((v = arith_cli_value(CMD, "--layers", argc, argv, i, &m)) || m)
        return v && !cli_parse_range(CMD, "--layers", v, &a->h.layer_lo, &a->h.layer_hi) ? 1 : -1;
    if (!strcmp(argv[*i], "--no-trim")) return a->h.trim = 0, 1;
    if (!strcmp(argv[*i], "--notebook-edited-bug")) return a->h.notebook_edited_bug = 1, 1;
    return 0;
}

static void print_result(const char *out, const sa_hdr_result *r, const sa_hdr_opts *h) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "output", out);
    cJSON_AddBoolToObject(o, "harmful_is_task_vector", r->harmful_is_task_vector);
    cJSON_AddNumberToObject(o, "selected_tensors", (double)r->selected_tensors);
    cJSON_AddNumberToObject(o, "selected_params", (double)r->selected_params);
    cJSON_AddNumberToObject(o, "kept_params", (double)r->kept_params);
    if (h->trim && h->scope == SA_SELECT_GLOBAL)
        cJSON_AddNumberToObject(o, "threshold", (double)r->threshold);
    arith_cli_print_json(o);
}

static int run(int argc, char **argv) {
    arith_cli c;
    arith_cli_init(&c);
    hdr_args a = {0};
    a.h = (sa_hdr_opts){10, 3, SA_SELECT_GLOBAL, 1, -1, -1, NULL, NULL, 0, NULL};
    int pr = arith_cli_parse(CMD, &c, argc, argv, own_flag, &a, usage);
    if (pr != CLI_OK) return pr == ARITH_CLI_HELP_SHOWN ? CLI_OK : pr;
    if (!a.target || !a.harmful) return cli_usage_error(CMD, "--target and --harmful are required");
    int tv = sa_is_task_vector(a.harmful);
    if (!a.base && !tv)
        return cli_usage_error(CMD, "--base is required unless --harmful is a stored task vector");
    if (a.base && tv)
        return cli_usage_error(CMD, "--harmful %s is a stored task vector; do not give --base",
                               a.harmful);
    if (a.h.notebook_edited_bug && a.h.layer_lo < 0 && !a.h.include && !a.h.exclude)
        return cli_usage_error(CMD, "--notebook-edited-bug needs --layers, --include or --exclude");
    int rc = arith_cli_start(CMD, &c);
    if (rc != CLI_OK) return rc;
    sa_error err;
    sa_hdr_result res;
    sa_status s = sa_hdr(a.target, a.base, a.harmful, &a.h, &c.o, &res, &err);
    arith_cli_end(&c);
    if (s != SA_OK) return cli_report(CMD, &err);
    print_result(c.o.output, &res, &a.h);
    return CLI_OK;
}

const sa_cli_command sa_cmd_hdr = {"hdr", "Harm Direction Removal: T - lambda * top-k(H - B)", run};
