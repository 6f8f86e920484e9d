/* cmd_diff.c: `safearith diff A B`: where and how much B differs from A, per tensor and per
 * decoder layer, as a table or JSON. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arith_cli.h"

#define CMD "diff"

static void usage(void) {
    printf(
        "usage: safearith diff A B [--json] [--by tensor|layer|both] [--threads N]\n\n"
        "Compare two checkpoints with the same tensors (e.g. a base and its fine-tune or edit):\n"
        "for every tensor and every decoder layer, the L2 norm of B - A, that norm relative to\n"
        "||A||, the largest |B - A| and the fraction of entries that changed. Arithmetic\n"
        "tensors are compared in float32; others byte for byte. A or B may be BASE+ADAPTER\n"
        "(a PEFT LoRA adapter applied to BASE).\n\n"
        "options:\n"
        "  --json               one JSON object {tensors, layers, total} on stdout\n"
        "  --by WHAT            tables to print: tensor, layer or both (default both)\n"
        "  --threads N          worker threads (default: all cores)\n"
        "  -h, --help           this help\n");
}

typedef struct agg {
    long layer;
    uint64_t numel, changed;
    double sq_diff, sq_a, max_abs;
} agg;

static void add(agg *g, const sa_diff_tensor *t) {
    g->numel += t->numel;
    g->changed += t->changed;
    if (!isnan(t->norm_diff)) {
        g->sq_diff += t->norm_diff * t->norm_diff;
        g->sq_a += t->norm_a * t->norm_a;
        if (t->max_abs > g->max_abs) g->max_abs = t->max_abs;
    }
}

/* Layers in ascending order, "other" (-1) last; returns count. */
static size_t layers_of(const sa_diff *d, agg **out) {
    long max = -1;
    for (size_t i = 0; i < d->n; i++)
        if (d->tensors[i].layer > max) max = d->tensors[i].layer;
    agg *g = calloc((size_t)(max + 2), sizeof *g);
    if (!g) return 0;
    for (long l = 0; l <= max; l++) g[l].layer = l;
    g[max + 1].layer = -1;
    for (size_t i = 0; i < d->n; i++)
        add(&g[d->tensors[i].layer < 0 ? max + 1 : d->tensors[i].layer], &d->tensors[i]);
    *out = g;
    return (size_t)(max + 2);
}

static double rel(double a, double b) {
    return b > 0 ? a / b : (a > 0 ? INFINITY : 0);
}

static cJSON *json_num(double v) {
    return isfinite(v) ? cJSON_CreateNumber(v) : cJSON_CreateNull();
}

static cJSON *agg_json(const agg *g, const char *name) {
    cJSON *o = cJSON_CreateObject();
    if (name)
        cJSON_AddStringToObject(o, "name", name);
    else
        cJSON_AddItemToObject(
            o, "layer", g->layer >= 0 ? cJSON_CreateNumber((double)g->layer) : cJSON_CreateNull());
    cJSON_AddNumberToObject(o, "numel", (double)g->numel);
    cJSON_AddNumberToObject(o, "changed", (double)g->changed);
    cJSON_AddNumberToObject(o, "changed_fraction",
                            g->numel ? (double)g->changed / (double)g->numel : 0);
    cJSON_AddItemToObject(o, "norm_diff", json_num(sqrt(g->sq_diff)));
    cJSON_AddItemToObject(o, "relative_norm", json_num(rel(sqrt(g->sq_diff), sqrt(g->sq_a))));
    cJSON_AddItemToObject(o, "max_abs_diff", json_num(g->max_abs));
    return o;
}

static agg tensor_agg(const sa_diff_tensor *t) {
    agg g = {t->layer,  t->numel, t->changed, t->norm_diff * t->norm_diff, t->norm_a * t->norm_a,
             t->max_abs};
    return g;
}

static void print_json(const sa_diff *d, const agg *layers, size_t nl, const agg *total) {
    cJSON *root = cJSON_CreateObject();
    cJSON *ts = cJSON_AddArrayToObject(root, "tensors");
    for (size_t i = 0; i < d->n; i++) {
        agg g = tensor_agg(&d->tensors[i]);
        cJSON *o = agg_json(&g, d->tensors[i].name);
        cJSON_AddItemToObject(o, "layer",
                              d->tensors[i].layer >= 0
                                  ? cJSON_CreateNumber((double)d->tensors[i].layer)
                                  : cJSON_CreateNull());
        cJSON_AddItemToArray(ts, o);
    }
    cJSON *ls = cJSON_AddArrayToObject(root, "layers");
    for (size_t i = 0; i < nl; i++)
        if (layers[i].numel) cJSON_AddItemToArray(ls, agg_json(&layers[i], NULL));
    cJSON_AddItemToObject(root, "total", agg_json(total, "total"));
    arith_cli_print_json(root);
}

static void row(const char *name, const agg *g) {
    printf("%-52s %12llu %8.3f%% %12.5g %10.3g %12.5g\n", name, (unsigned long long)g->numel,
           g->numel ? 100.0 * (double)g->changed / (double)g->numel : 0.0, sqrt(g->sq_diff),
           rel(sqrt(g->sq_diff), sqrt(g->sq_a)), g->max_abs);
}

static void header(const char *first) {
    printf("%-52s %12s %9s %12s %10s %12s\n", first, "params", "changed", "||B-A||", "relative",
           "max|B-A|");
}

static void print_tables(const sa_diff *d, const agg *layers, size_t nl, const agg *total,
                         int by_tensor, int by_layer) {
    if (by_layer) {
        header("layer");
        for (size_t i = 0; i < nl; i++) {
            char name[32];
            if (!layers[i].numel) continue;
            if (layers[i].layer >= 0)
                snprintf(name, sizeof name, "%ld", layers[i].layer);
            else
                snprintf(name, sizeof name, "(not in a layer)");
            row(name, &layers[i]);
        }
        printf("\n");
    }
    if (by_tensor) {
        header("tensor");
        for (size_t i = 0; i < d->n; i++) {
            agg g = tensor_agg(&d->tensors[i]);
            row(d->tensors[i].name, &g);
        }
        printf("\n");
    }
    row("total", total);
}

static int report(const sa_diff *d, int json, int by_tensor, int by_layer) {
    agg *layers = NULL;
    size_t nl = layers_of(d, &layers);
    if (!layers) return cli_error(CMD, "out of memory");
    agg total = {-1, 0, 0, 0, 0, 0};
    for (size_t i = 0; i < d->n; i++) add(&total, &d->tensors[i]);
    if (json)
        print_json(d, layers, nl, &total);
    else
        print_tables(d, layers, nl, &total, by_tensor, by_layer);
    free(layers);
    return CLI_OK;
}

static int run(int argc, char **argv) {
    const char *a = NULL, *b = NULL;
    int json = 0, by_tensor = 1, by_layer = 1;
    long threads = 0;
    const char *pos[2] = {NULL, NULL}, *by = NULL;
    cli_args p;
    cli_args_init(&p, CMD, argc, argv);
    while (cli_args_next(&p)) {
        if (cli_flag_help(&p)) return usage(), CLI_OK;
        if (!(cli_flag_on(&p, "--json", &json) ||
              cli_flag_long(&p, "--threads", 1, 4096, &threads) || cli_flag_str(&p, "--by", &by) ||
              cli_positional(&p, pos, 2)))
            cli_args_unknown(&p);
    }
    if (p.failed) return CLI_USAGE;
    a = pos[0], b = pos[1];
    if (by) {
        by_tensor = !strcmp(by, "tensor") || !strcmp(by, "both");
        by_layer = !strcmp(by, "layer") || !strcmp(by, "both");
        if (!by_tensor && !by_layer)
            return cli_usage_error(CMD, "--by: expected tensor, layer or both, got '%s'", by);
    }
    if (!b) return cli_usage_error(CMD, "expected two models A and B");
    sa_pool *pool = sa_pool_create((int)threads);
    if (!pool) return cli_error(CMD, "cannot start threads");
    sa_progress prog = cli_progress(CMD);
    sa_diff d;
    sa_error err;
    sa_status s = sa_diff_run(a, b, pool, &prog, &d, &err);
    cli_progress_end();
    sa_pool_destroy(pool);
    if (s != SA_OK) return cli_report(CMD, &err);
    int rc = report(&d, json, by_tensor, by_layer);
    sa_diff_free(&d);
    return rc;
}

const sa_cli_command sa_cmd_diff = {"diff",
                                    "per-tensor and per-layer differences between two models", run};
