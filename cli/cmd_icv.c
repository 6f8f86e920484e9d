/* cmd_icv.c: `safearith icv --model DIR --pairs PAIRS.jsonl -o VEC.gguf`:
 * compute an in-context safety vector (or any control vector from
 * positive/negative texts) and write it in llama.cpp's control-vector GGUF
 * layout.
 *
 * All the work is in the library (sa_icv_compute, steer.h); this file parses
 * flags, loads the model, tokenizer and pairs, shows progress, writes the file
 * atomically and prints a one-line JSON summary. --dump-states writes the
 * pooled hidden states as safetensors for inspection. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "engine_cli.h"
#include "core/fsutil.h"
#include "safearith/safetensors.h"
#include "safearith/steer.h"
#include "safearith/tokenizer.h"

/* --threads and --no-mmap, described at this help text's column */
#define LOAD_USAGE CLI_LOAD_USAGE("       ")

static const char *const usage =
    "usage: safearith icv --model DIR --pairs PAIRS.jsonl -o VEC.gguf "
    "[options]\n"
    "\n"
    "Computes a steering vector from pairs of texts and writes it as a "
    "llama.cpp control vector\n"
    "(direction.N, added to the output of decoder layer N; usable with --steer "
    "and llama.cpp's\n"
    "--control-vector). Directions point from the unsafe (negative) to the "
    "safe (positive) text.\n"
    "\n"
    "PAIRS.jsonl, one object per line:\n"
    "  {\"question\": Q, \"safe\": A1, \"unsafe\": A2}   rendered through "
    "--format or --chat\n"
    "  {\"positive\": T1, \"negative\": T2}           ready texts\n"
    "\n"
    "options:\n"
    "  --format F        demonstration format with {question} and {answer} "
    "(\\n, \\t escapes);\n"
    "                    default \"Question: {question}\\nAnswer: {answer}\" "
    "(the paper's)\n"
    "  --chat            render through the model's chat template instead\n"
    "  --position P      which residual states: last (the paper; default), "
    "mean-last-4 (the\n"
    "                    official code), mean-answer (mean over the answer "
    "tokens; what works\n"
    "                    on small models)\n"
    "  --method M        pca (first principal component, default), mean (mean "
    "difference),\n"
    "                    pca+mean (the official code's sum)\n"
    "  --scope S         per-layer (default) or concat (one PCA over all "
    "layers, the paper's eq. 8)\n"
    "  --layer0          also write direction.0 (llama.cpp refuses to load "
    "it)\n"
    "  --batch N         texts per forward pass (default 8)\n" LOAD_USAGE
    "  --dump-states F   also write the pooled hidden states (states [2*pairs, "
    "layers, hidden],\n"
    "                    even rows safe, odd rows unsafe) and each text's "
    "tokens as safetensors\n"
    "  --overwrite       replace an existing output file\n";

typedef struct {
    const char *model, *pairs, *out, *format, *dump;
    sa_icv_opts o;
    int overwrite;
    cli_load_opts load;
    char *format_buf;
} icv_args;

/* Turn \n, \t and \\ into their characters (shells pass them literally). */
static char *unescape(const char *s) {
    char *out = malloc(strlen(s) + 1), *w = out;
    if (!out) return NULL;
    for (; *s; s++) {
        if (*s == '\\' && (s[1] == 'n' || s[1] == 't' || s[1] == '\\')) {
            s++;
            *w++ = *s == 'n' ? '\n' : *s == 't' ? '\t' : '\\';
        } else {
            *w++ = *s;
        }
    }
    *w = '\0';
    return out;
}

/* A flag whose value is one of a few names (fn returns -1 for others). */
static int enum_flag(cli_args *p, const char *flag, int (*fn)(const char *), const char *choices,
                     int *out) {
    const char *v;
    if (!cli_flag_value(p, flag, &v)) return 0;
    int r = v ? fn(v) : 0;
    if (v && r < 0) return cli_args_fail(p, "%s: expected %s, got '%s'", flag, choices, v);
    if (v) *out = r;
    return 1;
}

/* 0 to go on, 1 after --help, -1 after an error. */
static int parse_args(const char *cmd, int argc, char **argv, icv_args *a) {
    int pos = (int)a->o.position, method = (int)a->o.method, scope = (int)a->o.scope;
    cli_args p;
    cli_args_init(&p, cmd, argc, argv);
    while (cli_args_next(&p)) {
        if (cli_flag_help(&p)) return fputs(usage, stdout), 1;
        if (!(cli_load_flag(&p, &a->load) || cli_flag_str(&p, "--model", &a->model) ||
              cli_flag_str(&p, "--pairs", &a->pairs) || cli_flag_str(&p, "-o|--output", &a->out) ||
              cli_flag_str(&p, "--format", &a->format) ||
              cli_flag_str(&p, "--dump-states", &a->dump) ||
              cli_flag_on(&p, "--chat", &a->o.chat) || cli_flag_on(&p, "--layer0", &a->o.layer0) ||
              cli_flag_on(&p, "--overwrite", &a->overwrite) ||
              enum_flag(&p, "--position", sa_icv_position_parse, "last, mean-last-4 or mean-answer",
                        &pos) ||
              enum_flag(&p, "--method", sa_icv_method_parse, "pca, mean or pca+mean", &method) ||
              enum_flag(&p, "--scope", sa_icv_scope_parse, "per-layer or concat", &scope) ||
              cli_flag_int(&p, "--batch", 1, 4096, &a->o.batch)))
            cli_args_unknown(&p);
    }
    if (p.failed) return -1;
    a->o.position = (sa_icv_position)pos;
    a->o.method = (sa_icv_method)method;
    a->o.scope = (sa_icv_scope)scope;
    a->o.n_threads = (int)a->load.threads;
    a->o.precision = a->load.precision;
    if (!a->model || !a->pairs || !a->out)
        return cli_usage_error(cmd, "--model, --pairs and -o are required"), -1;
    if (a->format && a->o.chat)
        return cli_usage_error(cmd, "--format and --chat exclude each other"), -1;
    if (a->format) {
        if (!(a->format_buf = unescape(a->format))) return cli_error(cmd, "out of memory"), -1;
        a->o.format = a->format_buf;
        sa_error err = {0};
        if (sa_format_check(a->o.format, &err)) return cli_usage_error(cmd, "%s", err.msg), -1;
    }
    return 0;
}

/* states [n_texts, L, d] and tokens.i / select.i per text. */
static int dump_states(const char *cmd, const char *path, const float *states,
                       const sa_icv_text *texts, int nt, int L, int d, int overwrite) {
    size_t nten = 1 + 2 * (size_t)nt;
    sa_st_f32_tensor *t = calloc(nten, sizeof *t);
    char(*names)[40] = calloc(nten, sizeof *names);
    float **bufs = calloc(nten, sizeof *bufs);
    int rc = CLI_FAIL;
    if (!t || !names || !bufs) goto done;
    t[0] = (sa_st_f32_tensor){"states", 3, {nt, L, d}, states};
    for (int i = 0; i < nt; i++) {
        float *ids = malloc((size_t)texts[i].n * sizeof *ids), *sel = malloc(4 * sizeof *sel);
        bufs[1 + 2 * i] = ids, bufs[2 + 2 * i] = sel;
        if (!ids || !sel) goto done;
        for (int k = 0; k < texts[i].n; k++) ids[k] = (float)texts[i].ids[k];
        sel[0] = (float)texts[i].sel_begin, sel[1] = (float)texts[i].sel_end;
        sel[2] = (float)texts[i].ans_begin, sel[3] = (float)texts[i].ans_end;
        snprintf(names[1 + 2 * i], sizeof names[0], "tokens.%d", i);
        snprintf(names[2 + 2 * i], sizeof names[0], "select.%d", i);
        t[1 + 2 * i] = (sa_st_f32_tensor){names[1 + 2 * i], 1, {texts[i].n}, ids};
        t[2 + 2 * i] = (sa_st_f32_tensor){names[2 + 2 * i], 1, {4}, sel};
    }
    sa_error err = {0};
    const char *meta[] = {"producer", "safearith icv", NULL};
    rc =
        sa_st_write_f32_file(path, t, nten, meta, overwrite, &err) ? cli_report(cmd, &err) : CLI_OK;
done:
    if (rc && !t) rc = cli_error(cmd, "out of memory");
    for (size_t i = 0; bufs && i < nten; i++) free(bufs[i]);
    free(bufs), free(names), free(t);
    return rc;
}

static void summary(const char *out, const sa_cvec *cv) {
    int n = 0, first = -1, last = -1;
    for (int l = 0; l < cv->n_layers; l++)
        if (cv->has[l]) n++, last = l, first = first < 0 ? l : first;
    printf("{\"output\":\"%s\",\"pairs\":%lld,\"method\":\"%s\",\"position\":\"%"
           "s\",\"scope\":\"%s\","
           "\"layers\":%d,\"first_layer\":%d,\"last_layer\":%d,\"n_embd\":%d}\n",
           out, (long long)cv->n_pairs, cv->method, cv->position, cv->scope, n, first, last,
           cv->n_embd);
}

static int compute(const char *cmd, icv_args *a) {
    sa_error err = {0};
    sa_pairs pairs = {0};
    sa_model *m = NULL;
    sa_tokenizer *tok = NULL;
    sa_cvec cv = {0};
    float *states = NULL;
    sa_icv_text *texts = NULL;
    int rc = CLI_FAIL;
    if (sa_pairs_read(a->pairs, &pairs, &err) ||
        sa_model_load_mode(a->model, a->load.weights, &m, &err) ||
        sa_tokenizer_load(a->model, &tok, &err)) {
        rc = cli_report(cmd, &err);
        goto done;
    }
    sa_progress prog = cli_progress("icv");
    sa_status st = sa_icv_compute(m, tok, &pairs, a->pairs, &a->o, &cv, a->dump ? &states : NULL,
                                  a->dump ? &texts : NULL, &prog, &err);
    cli_progress_end();
    if (st) {
        rc = cli_report(cmd, &err);
        goto done;
    }
    const sa_model_config *cfg = sa_model_get_config(m);
    if (a->dump && (rc = dump_states(cmd, a->dump, states, texts, (int)(2 * pairs.n), cfg->n_layers,
                                     cfg->hidden_size, a->overwrite)))
        goto done;
    if (sa_cvec_write(a->out, &cv, a->overwrite, &err)) {
        rc = cli_report(cmd, &err);
        goto done;
    }
    summary(a->out, &cv);
    rc = CLI_OK;
done:
    sa_icv_texts_free(texts, 2 * pairs.n);
    free(states);
    sa_cvec_free(&cv);
    sa_pairs_free(&pairs);
    sa_tokenizer_free(tok);
    sa_model_free(m);
    return rc;
}

/* Before any work: neither output may touch an input or the other output. */
static int check_outputs(const char *cmd, const icv_args *a) {
    const char *inputs[] = {a->model, a->pairs, a->dump, a->out};
    sa_error err = {0};
    if (a->dump && !strcmp(a->dump, a->out))
        return cli_error(cmd, "%s: -o and --dump-states name the same file", a->out);
    if (sa_output_check(a->out, inputs, a->dump ? 3 : 2, a->overwrite, &err) ||
        (a->dump && sa_output_check(a->dump, (const char *[]){a->model, a->pairs, a->out}, 3,
                                    a->overwrite, &err)))
        return cli_report(cmd, &err);
    return CLI_OK;
}

static int run(int argc, char **argv) {
    const char *cmd = "icv";
    icv_args a = {0};
    sa_icv_opts_init(&a.o);
    int r = parse_args(cmd, argc, argv, &a);
    if (r) {
        free(a.format_buf);
        return r > 0 ? CLI_OK : CLI_USAGE;
    }
    int rc = check_outputs(cmd, &a);
    if (!rc) rc = compute(cmd, &a);
    free(a.format_buf);
    return rc;
}

const sa_cli_command sa_cmd_icv = {
    "icv", "compute an in-context safety vector (control vector GGUF)", run};
