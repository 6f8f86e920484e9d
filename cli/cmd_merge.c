/* cmd_merge.c: `safearith merge RECIPE.yml -o OUT`, task arithmetic / TIES / DARE merges from a
 * mergekit-style YAML recipe. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

#include "arith_cli.h"

#define CMD "merge"

static void usage(void) {
    printf(
        "usage: safearith merge RECIPE.yml -o OUT [options]\n\n"
        "Merge a base model and N models by generalized task arithmetic, reading a mergekit\n"
        "YAML recipe (the subset below), e.g.\n\n"
        "  merge_method: ties            # task_arithmetic | ties | dare_linear | dare_ties\n"
        "  base_model: ./llama-base\n"
        "  models:\n"
        "    - model: ./llama-math\n"
        "      parameters: {weight: 1.0, density: 0.5}\n"
        "    - model: ./llama-code\n"
        "      parameters: {weight: 0.5, density: 0.5}\n"
        "  parameters: {lambda: 1.0, normalize: true}\n"
        "  dtype: bfloat16               # output dtype unless out_dtype is given\n\n"
        "Per tensor, d_i = model_i - base is sparsified (ties: top int(density*n) by magnitude;\n"
        "dare: random keep with probability density, rescaled), weighted, combined (ties and\n"
        "dare_ties elect a sign per entry and keep the agreeing terms), optionally divided by the\n"
        "sum of weights (normalize; default true for ties only), scaled by lambda and added to "
        "the\n"
        "base. Arithmetic is float32. Recipe keys: merge_method, base_model, models[].model,\n"
        "models[].parameters.{weight,density}, parameters.{weight, density, lambda, normalize,\n"
        "rescale, int8_mask}, dtype, out_dtype; safearith extensions: parameters.trim_scope\n"
        "(per_tensor | global: one TIES threshold over the whole model, as the TIES paper) and\n"
        "parameters.rescale_mode (l1, mergekit's default | inverse: 1/density). Any other key is "
        "an\n"
        "error. Relative model paths are resolved against the current directory, then the\n"
        "recipe's directory.\n\n"
        "options:\n"
        "  --seed S             DARE seed (default 0); the mask is keyed by (seed, model index,\n"
        "                       tensor name, element index)\n" ARITH_CLI_HELP
        "  -h, --help           this help\n");
}

typedef struct merge_args {
    const char *recipe;
    uint64_t seed;
} merge_args;

static int own_flag(void *ctx, cli_args *p) {
    merge_args *a = ctx;
    return cli_flag_seed(p, "--seed", &a->seed) || cli_positional(p, &a->recipe, 1);
}

static int run(int argc, char **argv) {
    arith_cli c;
    arith_cli_init(&c);
    merge_args a = {NULL, 0};
    int pr = arith_cli_parse(CMD, &c, argc, argv, own_flag, &a, usage);
    if (pr != CLI_OK) return pr == ARITH_CLI_HELP_SHOWN ? CLI_OK : pr;
    const char *recipe = a.recipe;
    if (!recipe) return cli_usage_error(CMD, "missing RECIPE.yml");
    sa_error err;
    sa_merge_recipe *r;
    if (sa_merge_recipe_load(recipe, &r, &err) != SA_OK) return cli_report(CMD, &err);
    r->seed = a.seed;
    int rc = arith_cli_start(CMD, &c);
    if (rc != CLI_OK) {
        sa_merge_recipe_free(r);
        return rc;
    }
    sa_status s = sa_merge(r, &c.o, &err);
    arith_cli_end(&c);
    cJSON *o = NULL;
    if (s == SA_OK) {
        o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "output", c.o.output);
        cJSON_AddStringToObject(o, "merge_method", sa_merge_method_name(r->method));
        cJSON_AddNumberToObject(o, "models", r->n_models);
    }
    sa_merge_recipe_free(r);
    if (s != SA_OK) return cli_report(CMD, &err);
    arith_cli_print_json(o);
    return CLI_OK;
}

const sa_cli_command sa_cmd_merge = {"merge",
                                     "merge models from a mergekit YAML recipe (TIES, DARE)", run};
