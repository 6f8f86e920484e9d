/* cmd_icv_info.c: `safearith icv-info VEC.gguf`: what a control vector holds.
 *
 * Prints the metadata (architecture, model hint, layer count, safearith's method, position,
 * scope, pair count) and one line per direction with its norm (and the mean difference's norm
 * where recorded); --json prints the same as one JSON object for programs. Reads llama.cpp's
 * and repeng's files as well as ours. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "flags.h"
#include "safearith/gguf.h"

static const char *usage =
    "usage: safearith icv-info [--json] VEC.gguf\n"
    "\n"
    "Show a control vector (GGUF, as written by `safearith icv`, llama.cpp's cvector-generator\n"
    "or repeng): metadata and the norm of every direction.N (added to the output of decoder\n"
    "layer N).\n"
    "\n"
    "  --json   print one JSON object instead of text\n";

static void print_text(const char *path, const sa_cvec *cv) {
    int n = 0;
    for (int l = 0; l < cv->n_layers; l++) n += cv->has[l] != 0;
    printf("file:        %s\n", path);
    printf("model hint:  %s\n", cv->model_hint ? cv->model_hint : "(none)");
    if (cv->layer_count >= 0)
        printf("layer_count: %lld\n", (long long)cv->layer_count);
    else
        printf("layer_count: (absent)\n");
    printf("n_embd:      %d\n", cv->n_embd);
    printf("directions:  %d\n", n);
    if (cv->method) printf("method:      %s\n", cv->method);
    if (cv->position) printf("position:    %s\n", cv->position);
    if (cv->scope) printf("scope:       %s\n", cv->scope);
    if (cv->direction) printf("direction:   %s\n", cv->direction);
    if (cv->n_pairs >= 0) printf("pairs:       %lld\n", (long long)cv->n_pairs);
    printf("%-7s %12s%s\n", "layer", "norm", cv->mean_norms ? "   mean-diff norm" : "");
    for (int l = 0; l < cv->n_layers; l++) {
        if (!cv->has[l]) continue;
        printf("%-7d %12.6g", l, sa_cvec_norm(cv, l));
        if (cv->mean_norms) printf("   %14.6g", cv->mean_norms[l]);
        printf("\n");
    }
}

static void add_str(cJSON *o, const char *k, const char *v) {
    if (v)
        cJSON_AddStringToObject(o, k, v);
    else
        cJSON_AddNullToObject(o, k);
}

static int print_json(const char *path, const sa_cvec *cv) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "file", path);
    add_str(o, "model_hint", cv->model_hint);
    if (cv->layer_count >= 0)
        cJSON_AddNumberToObject(o, "layer_count", (double)cv->layer_count);
    else
        cJSON_AddNullToObject(o, "layer_count");
    cJSON_AddNumberToObject(o, "n_embd", cv->n_embd);
    add_str(o, "method", cv->method);
    add_str(o, "position", cv->position);
    add_str(o, "scope", cv->scope);
    add_str(o, "direction", cv->direction);
    if (cv->n_pairs >= 0)
        cJSON_AddNumberToObject(o, "pairs", (double)cv->n_pairs);
    else
        cJSON_AddNullToObject(o, "pairs");
    cJSON *layers = cJSON_AddArrayToObject(o, "layers");
    for (int l = 0; l < cv->n_layers; l++) {
        if (!cv->has[l]) continue;
        cJSON *e = cJSON_CreateObject();
        cJSON_AddNumberToObject(e, "layer", l);
        cJSON_AddNumberToObject(e, "norm", sa_cvec_norm(cv, l));
        if (cv->mean_norms) cJSON_AddNumberToObject(e, "mean_diff_norm", cv->mean_norms[l]);
        cJSON_AddItemToArray(layers, e);
    }
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (!s) return -1;
    printf("%s\n", s);
    free(s);
    return 0;
}

static int run(int argc, char **argv) {
    const char *cmd = "icv-info", *path = NULL;
    int json = 0;
    cli_args p;
    cli_args_init(&p, cmd, argc, argv);
    while (cli_args_next(&p)) {
        if (cli_flag_help(&p)) return fputs(usage, stdout), CLI_OK;
        if (path && p.arg[0] != '-')
            cli_args_fail(&p, "only one VEC.gguf expected (got '%s' and '%s')", path, p.arg);
        else if (!(cli_flag_on(&p, "--json", &json) || cli_positional(&p, &path, 1)))
            cli_args_unknown(&p);
    }
    if (p.failed) return CLI_USAGE;
    if (!path) return cli_usage_error(cmd, "missing VEC.gguf");
    sa_cvec cv;
    sa_error err = {0};
    if (sa_cvec_read(path, 0, &cv, &err)) return cli_report(cmd, &err);
    int rc = CLI_OK;
    if (json) {
        if (print_json(path, &cv)) rc = cli_error(cmd, "out of memory");
    } else {
        print_text(path, &cv);
    }
    sa_cvec_free(&cv);
    return rc;
}

const sa_cli_command sa_cmd_icv_info = {"icv-info", "show a control vector's metadata and norms",
                                        run};
