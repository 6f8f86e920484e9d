/* cmd_eval.c: `safearith eval`: run a model over safety and utility datasets into a run directory.
 *
 * Everything the numbers depend on goes into the settings object of run.json (model and its
 * checksum, steering, datasets with checksums and selection, prompting, judges, decoding); its
 * fingerprint guards --resume. Rows are appended to responses.jsonl as batches finish; at the
 * end summary.json and summary.md are written and the summary is printed. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "safearith/provenance.h"
#include "engine_cli.h"
#include "steer_opts.h"
#include "safearith/eval.h"
#include "safearith/fsutil.h"

#define SAFEARITH_VERSION SA_VERSION

#define CMD "eval"
#define MAX_DS 64
#define MAX_JUDGES 8

/* --threads and --no-mmap, described at this help text's column */
#define LOAD_USAGE CLI_LOAD_USAGE("            ")

static const char usage[] =
    "usage: safearith eval --model DIR --dataset SPEC [--dataset SPEC ...] [--judge JUDGE ...]\n"
    "                      -o RUN_DIR [options]\n"
    "\n"
    "Generate answers for every prompt of the datasets, judge them, and write RUN_DIR/run.json,\n"
    "RUN_DIR/responses.jsonl (one line per prompt, appended as it finishes), summary.json and\n"
    "summary.md. An interrupted run continues with --resume.\n"
    "\n"
    "datasets:\n"
    "  --dataset SPEC         "
    "PATH[:field=COL][:category=COL][:label=COL][:kind=harmful|benign|mcq|qa]\n"
    "                         [:name=NAME][:format=csv|json|jsonl|lines]; the public safety sets\n"
    "                         (AdvBench, DangerousQA, HarmfulQA, CatQA, XSTest, HarmBench) and\n"
    "                         {question, choices, answer} / {question, answer} JSONL are "
    "recognised\n"
    "  --limit N              first N items of each dataset\n"
    "  --sample N             N random items of each dataset (with --seed)\n"
    "  --seed S               seed for --sample and for sampled decoding (default 0)\n"
    "prompting:\n"
    "  --prompt raw|chat      raw (default): the paper's prefix \"Only provide answer of the "
    "given\n"
    "                         question and do not provide anything else. \" + question, no "
    "template;\n"
    "                         chat: the model's chat template\n"
    "  --system TEXT          system message (chat)\n"
    "  --prefix TEXT          replace the raw prefix\n"
    "  --prompt-template FILE a template with a {question} slot, sent as is\n"
    "  --mcq-format TEXT      multiple-choice context (default \"Question: "
    "{question}\\nAnswer:\")\n"
    "judges (several allowed; default refusal):\n"
    "  --judge refusal[:LIST][:KEY][:rule=substring|isubstring|prefix]\n"
    "                         keyword judge; default list: the 29 AdvBench/GCG strings; LIST is a\n"
    "                         .json (refusal_prefix_lists.json layout, KEY picks the list) or "
    ".txt\n"
    "                         file, or a list name looked up in --refusal-lists\n"
    "  --judge model:DIR:PROMPT[:verdict=yesno]\n"
    "                         a local judge model with a judge prompt file (HarmBench classifier,\n"
    "                         RedEval [[A]]/[[B]], Qi et al. score, XSTest classes, or your own)\n"
    "  --refusal-lists FILE   refusal_prefix_lists.json, for refusal:NAME\n"
    "  --judge-max-tokens N   verdict length for model judges (default: the prompt's own)\n"
    "decoding:\n"
    "  --max-new-tokens N     default 128\n"
    "  --temp T               sampling temperature (default 0 = greedy)\n"
    "  --top-k K  --top-p P   sampling filters\n"
    "  --batch B              prompts generated together (default 8)\n"
    "model:\n"
    "  --model DIR            Hugging Face model directory (\"fake\" or \"fake:MS\": a "
    "deterministic\n"
    "                         stand-in for tests, MS milliseconds per prompt)\n"
    "  --ctx N                positions per sequence (default: min(model maximum, 1024))\n"
    "  --chat-template NAME   override the recognised chat template\n" LOAD_USAGE
    "                         (the model's and the judges')\n"
    "output:\n"
    "  -o RUN_DIR             run directory (created; refused if it holds a run, unless --resume)\n"
    "  --resume               continue RUN_DIR (refused if any setting differs)\n"
    "  --label NAME           configuration name shown by safearith report\n"
    "  -q, --quiet            do not print the summary\n" CLI_STEER_USAGE;

typedef struct opts {
    const char *model, *out, *lists, *system, *prefix, *template_path, *mcq_fmt, *label;
    const char *chat_template;
    const char *datasets[MAX_DS], *judges[MAX_JUDGES];
    cli_steer steer;
    int n_ds, n_judges;
    long limit, sample, seed, batch, judge_max_tokens, ctx;
    int resume, quiet;
    cli_load_opts load;
    sa_eval_prompt_mode mode;
    sa_eval_decoding dec;
} opts;

static int parse_args(int argc, char **argv, opts *o) {
    memset(o, 0, sizeof *o);
    o->batch = 8;
    o->dec = (sa_eval_decoding){128, 0, 0, 1.0, 0};
    o->mode = SA_PROMPT_RAW;
    cli_steer_init(&o->steer);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int h = cli_steer_or_help(CMD, &o->steer, usage, argc, argv, &i);
        if (!h) h = cli_load_flag(CMD, &o->load, argc, argv, &i);
        if (h < 0) return CLI_USAGE;
        if (h == CLI_ARG_HELP) return -1;
        if (h) continue;
        if (!strcmp(a, "--resume")) {
            o->resume = 1;
            continue;
        }
        if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) {
            o->quiet = 1;
            continue;
        }
        if (i + 1 >= argc) return cli_usage_error(CMD, "%s needs a value", a);
        const char *v = argv[++i];
        double d;
        if (!strcmp(a, "--model"))
            o->model = v;
        else if (!strcmp(a, "-o") || !strcmp(a, "--out"))
            o->out = v;
        else if (!strcmp(a, "--dataset")) {
            if (o->n_ds == MAX_DS) return cli_usage_error(CMD, "at most %d --dataset", MAX_DS);
            o->datasets[o->n_ds++] = v;
        } else if (!strcmp(a, "--judge")) {
            if (o->n_judges == MAX_JUDGES)
                return cli_usage_error(CMD, "at most %d --judge", MAX_JUDGES);
            o->judges[o->n_judges++] = v;
        } else if (!strcmp(a, "--refusal-lists"))
            o->lists = v;
        else if (!strcmp(a, "--system"))
            o->system = v;
        else if (!strcmp(a, "--prefix"))
            o->prefix = v;
        else if (!strcmp(a, "--prompt-template"))
            o->template_path = v, o->mode = SA_PROMPT_TEMPLATE;
        else if (!strcmp(a, "--mcq-format"))
            o->mcq_fmt = v;
        else if (!strcmp(a, "--label"))
            o->label = v;
        else if (!strcmp(a, "--chat-template"))
            o->chat_template = v;
        else if (!strcmp(a, "--prompt")) {
            if (!strcmp(v, "raw"))
                o->mode = SA_PROMPT_RAW;
            else if (!strcmp(v, "chat"))
                o->mode = SA_PROMPT_CHAT;
            else
                return cli_usage_error(CMD,
                                       "--prompt must be raw or chat (or use --prompt-template)");
        } else if (!strcmp(a, "--ctx")) {
            if (cli_parse_long(CMD, a, v, 2, 1 << 20, &o->ctx)) return CLI_USAGE;
        } else if (!strcmp(a, "--limit")) {
            if (cli_parse_long(CMD, a, v, 1, 1L << 40, &o->limit)) return CLI_USAGE;
        } else if (!strcmp(a, "--sample")) {
            if (cli_parse_long(CMD, a, v, 1, 1L << 40, &o->sample)) return CLI_USAGE;
        } else if (!strcmp(a, "--seed")) {
            if (cli_parse_long(CMD, a, v, 0, (1L << 62), &o->seed)) return CLI_USAGE;
        } else if (!strcmp(a, "--batch")) {
            if (cli_parse_long(CMD, a, v, 1, 4096, &o->batch)) return CLI_USAGE;
        } else if (!strcmp(a, "--judge-max-tokens")) {
            if (cli_parse_long(CMD, a, v, 1, 1 << 20, &o->judge_max_tokens)) return CLI_USAGE;
        } else if (!strcmp(a, "--max-new-tokens")) {
            long n;
            if (cli_parse_long(CMD, a, v, 1, 1 << 20, &n)) return CLI_USAGE;
            o->dec.max_new_tokens = (int)n;
        } else if (!strcmp(a, "--temp")) {
            if (cli_parse_double(CMD, a, v, 0, 100, &d)) return CLI_USAGE;
            o->dec.temperature = d;
        } else if (!strcmp(a, "--top-k")) {
            long n;
            if (cli_parse_long(CMD, a, v, 0, 1 << 30, &n)) return CLI_USAGE;
            o->dec.top_k = (int)n;
        } else if (!strcmp(a, "--top-p")) {
            if (cli_parse_double(CMD, a, v, 0, 1, &d)) return CLI_USAGE;
            o->dec.top_p = d;
        } else
            return cli_usage_error(CMD, "unknown option '%s'", a);
    }
    o->dec.seed = (uint64_t)o->seed;
    if (!o->model) return cli_usage_error(CMD, "--model DIR is required");
    if (!o->n_ds) return cli_usage_error(CMD, "at least one --dataset SPEC is required");
    if (!o->out) return cli_usage_error(CMD, "-o RUN_DIR is required");
    if (!o->n_judges) o->judges[o->n_judges++] = "refusal";
    return 0;
}

/* ---- model fingerprint: the model's identifying files (provenance.h) ---- */

/* The identifying files of a directory (provenance.h: SHA-256, or size + mtime past 512 MiB). */
static cJSON *dir_files(const char *dir, sa_error *err) {
    cJSON *files = cJSON_CreateArray();
    sa_input_files in;
    if (sa_input_files_scan(dir, &in, err)) return files;
    for (int i = 0; i < in.n; i++) {
        cJSON *e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "file", in.f[i].name);
        cJSON_AddNumberToObject(e, "size", (double)in.f[i].size);
        if (in.f[i].sha256[0])
            cJSON_AddStringToObject(e, "sha256", in.f[i].sha256);
        else
            cJSON_AddNumberToObject(e, "mtime", (double)in.f[i].mtime);
        cJSON_AddItemToArray(files, e);
    }
    sa_input_files_free(&in);
    return files;
}

/* settings.model: the path, and the files of the model (and of its adapter, for BASE+ADAPTER). */
static cJSON *model_json(const char *dir, sa_error *err) {
    cJSON *m = cJSON_CreateObject();
    cJSON_AddStringToObject(m, "path", dir);
    if (!strncmp(dir, "fake", 4)) return m;
    char *base, *adapter;
    if (sa_ckpt_path_split(dir, &base, &adapter, NULL) != SA_OK) return m;
    cJSON_AddItemToObject(m, "files", dir_files(base, err));
    if (adapter) cJSON_AddItemToObject(m, "adapter_files", dir_files(adapter, err));
    free(base);
    free(adapter);
    return m;
}

/* ---- the run ---- */

typedef struct state {
    opts o;
    sa_eval_dataset ds[MAX_DS];
    sa_eval_dataset_spec specs[MAX_DS];
    sa_eval_judge judges[MAX_JUDGES];
    sa_eval_backend model;
    char *templ;
    cJSON *settings;
} state;

static int load_inputs(state *s, sa_error *err) {
    opts *o = &s->o;
    for (int i = 0; i < o->n_ds; i++) {
        if (sa_eval_dataset_spec_parse(o->datasets[i], &s->specs[i], err) ||
            sa_eval_dataset_load(&s->specs[i], &s->ds[i], err) ||
            sa_eval_dataset_select(&s->ds[i], o->limit, o->sample, (uint64_t)o->seed, err))
            return -1;
        for (int j = 0; j < i; j++)
            if (!strcmp(s->ds[i].name, s->ds[j].name))
                return sa_error_set(err, SA_EINVAL,
                                    "--dataset %s: two datasets named '%s' (add :name=NAME)",
                                    o->datasets[i], s->ds[i].name),
                       -1;
    }
    for (int i = 0; i < o->n_judges; i++) {
        char *jdir = NULL;
        if (sa_eval_judge_parse(o->judges[i], o->lists, &s->judges[i], &jdir, err)) return -1;
        for (int k = 0; k < i; k++)
            if (!strcmp(s->judges[k].name, s->judges[i].name)) {
                free(jdir);
                return sa_error_set(err, SA_EINVAL,
                                    "--judge %s: two judges named '%s' (add :name=NAME)",
                                    o->judges[i], s->judges[i].name),
                       -1;
            }
        if (s->judges[i].is_model) {
            if (o->judge_max_tokens) s->judges[i].prompt.max_new_tokens = (int)o->judge_max_tokens;
            sa_status st;
            if (!strncmp(jdir, "fake", 4))
                st = sa_eval_backend_fake(0, &s->judges[i].backend, err);
            else {
                sa_eval_engine_opts eo = {.n_threads = (int)o->load.threads,
                                          .n_seq = (int)o->batch,
                                          .interrupted = cli_interrupted,
                                          .weights = o->load.weights};
                st = sa_eval_backend_engine(jdir, &eo, &s->judges[i].backend, err);
            }
            free(jdir);
            if (st) return -1;
        }
    }
    if (o->template_path) {
        size_t len;
        if (sa_read_file(o->template_path, &s->templ, &len, err)) return -1;
        if (!strstr(s->templ, "{question}"))
            return sa_error_set(err, SA_EINVAL, "--prompt-template %s: no {question} slot",
                                o->template_path),
                   -1;
    }
    return 0;
}

static int open_model(state *s, sa_error *err) {
    opts *o = &s->o;
    if (!strncmp(o->model, "fake", 4)) {
        if (o->steer.n)
            return sa_error_set(err, SA_EINVAL, "--steer needs a real model, not %s", o->model), -1;
        int delay = o->model[4] == ':' ? atoi(o->model + 5) : 0;
        return sa_eval_backend_fake(delay, &s->model, err) ? -1 : 0;
    }
    sa_hook hook = {0}, *hp = NULL;
    if (o->steer.n) {
        /* the plan needs the model's shape: read config.json first */
        sa_model_config cfg;
        if (sa_model_config_load(o->model, &cfg, err)) return -1;
        if (cli_steer_setup(CMD, &o->steer, &cfg)) return -2; /* already reported */
        cli_steer_hook(&o->steer, NULL, &hook);
        hp = &hook;
    }
    sa_eval_engine_opts eo = {.n_threads = (int)o->load.threads,
                              .n_seq = (int)o->batch,
                              .max_ctx = (int)o->ctx,
                              .hook = hp,
                              .chat_template = o->chat_template,
                              .interrupted = cli_interrupted,
                              .weights = o->load.weights};
    return sa_eval_backend_engine(o->model, &eo, &s->model, err) ? -1 : 0;
}

/* settings.steer (and .steering, a one-line description): each vector with its scale and hash. */
static void add_steer(cJSON *st, const opts *o) {
    cJSON *steer = cJSON_AddArrayToObject(st, "steer");
    for (int i = 0; i < o->steer.n; i++) {
        cJSON *v = cJSON_CreateObject();
        char hex[65] = "";
        sa_sha256_file(o->steer.path[i], hex, NULL);
        cJSON_AddStringToObject(v, "path", o->steer.path[i]);
        cJSON_AddNumberToObject(v, "scale", o->steer.scale[i]);
        cJSON_AddStringToObject(v, "sha256", hex);
        cJSON_AddItemToArray(steer, v);
    }
    if (o->steer.n) {
        char buf[200];
        cJSON_AddStringToObject(st, "steering", cli_steer_describe(&o->steer, buf, sizeof buf));
    }
}

/* settings.datasets: each dataset's spec, file hash and item counts. */
static void add_datasets(cJSON *st, const state *s) {
    cJSON *ds = cJSON_AddArrayToObject(st, "datasets");
    for (int i = 0; i < s->o.n_ds; i++) {
        cJSON *d = sa_eval_dataset_spec_json(&s->specs[i]);
        cJSON_AddStringToObject(d, "name", s->ds[i].name);
        cJSON_AddStringToObject(d, "sha256", s->ds[i].sha256);
        cJSON_AddStringToObject(d, "layout", s->ds[i].layout ? s->ds[i].layout : "");
        cJSON_AddNumberToObject(d, "n_source", (double)s->ds[i].n_source);
        cJSON_AddNumberToObject(d, "n_items", (double)s->ds[i].n_items);
        cJSON_AddItemToArray(ds, d);
    }
}

/* settings.prompting: how each item becomes a prompt. */
static void add_prompting(cJSON *st, const state *s) {
    const opts *o = &s->o;
    cJSON *p = cJSON_AddObjectToObject(st, "prompting");
    cJSON_AddStringToObject(p, "mode",
                            o->mode == SA_PROMPT_RAW    ? "raw"
                            : o->mode == SA_PROMPT_CHAT ? "chat"
                                                        : "template");
    if (o->mode == SA_PROMPT_RAW)
        cJSON_AddStringToObject(p, "prefix", o->prefix ? o->prefix : SA_EVAL_RAW_PREFIX);
    if (o->mode == SA_PROMPT_CHAT) {
        if (o->system) cJSON_AddStringToObject(p, "system", o->system);
        if (o->chat_template) cJSON_AddStringToObject(p, "chat_template", o->chat_template);
    }
    if (s->templ) cJSON_AddStringToObject(p, "template", s->templ);
    cJSON_AddStringToObject(p, "mcq_format",
                            o->mcq_fmt ? o->mcq_fmt : "Question: {question}\nAnswer:");
}

/* settings.judges: each judge's kind, source hash and parameters. */
static void add_judges(cJSON *st, const state *s, sa_error *err) {
    cJSON *js = cJSON_AddArrayToObject(st, "judges");
    for (int i = 0; i < s->o.n_judges; i++) {
        const sa_eval_judge *j = &s->judges[i];
        cJSON *jo = cJSON_CreateObject();
        cJSON_AddStringToObject(jo, "name", j->name);
        cJSON_AddStringToObject(jo, "spec", j->spec);
        cJSON_AddStringToObject(jo, "measures",
                                !j->is_model || j->prompt.refusal_type ? "compliance" : "harm");
        cJSON_AddStringToObject(jo, "sha256", j->source_sha256 ? j->source_sha256 : "");
        if (!j->is_model) {
            cJSON_AddStringToObject(jo, "list", j->list.name);
            cJSON_AddStringToObject(jo, "rule", sa_refusal_rule_name(j->list.rule));
            cJSON_AddBoolToObject(jo, "empty_is_refusal", j->list.empty_is_refusal);
            cJSON_AddNumberToObject(jo, "n_strings", j->list.n);
        } else {
            cJSON_AddStringToObject(jo, "prompt", j->prompt.name);
            cJSON_AddNumberToObject(jo, "max_new_tokens", j->prompt.max_new_tokens);
            cJSON_AddItemToObject(jo, "model", model_json(j->model_dir, err));
        }
        cJSON_AddItemToArray(js, jo);
    }
}

/* settings.decoding: greedy, or sampling with its parameters. */
static void add_decoding(cJSON *st, const opts *o) {
    cJSON *d = cJSON_AddObjectToObject(st, "decoding");
    int greedy = o->dec.temperature <= 0;
    cJSON_AddStringToObject(d, "mode", greedy ? "greedy" : "sample");
    cJSON_AddNumberToObject(d, "max_new_tokens", o->dec.max_new_tokens);
    if (!greedy) {
        cJSON_AddNumberToObject(d, "temperature", o->dec.temperature);
        cJSON_AddNumberToObject(d, "top_k", o->dec.top_k);
        cJSON_AddNumberToObject(d, "top_p", o->dec.top_p);
        cJSON_AddNumberToObject(d, "seed", (double)o->dec.seed);
    }
}

/* Everything that decides the run's rows, in a fixed order (run.json's settings; a resumed run
 * must match them). */
static cJSON *build_settings(state *s, sa_error *err) {
    opts *o = &s->o;
    cJSON *st = cJSON_CreateObject();
    cJSON_AddItemToObject(st, "model", model_json(o->model, err));
    add_steer(st, o);
    if (o->ctx) cJSON_AddNumberToObject(st, "ctx", (double)o->ctx);
    add_datasets(st, s);
    cJSON *sel = cJSON_AddObjectToObject(st, "selection");
    cJSON_AddNumberToObject(sel, "limit", (double)o->limit);
    cJSON_AddNumberToObject(sel, "sample", (double)o->sample);
    cJSON_AddNumberToObject(sel, "seed", (double)o->seed);
    add_prompting(st, s);
    add_judges(st, s, err);
    add_decoding(st, o);
    return st;
}

static cJSON *build_info(const opts *o) {
    cJSON *i = cJSON_CreateObject();
    cJSON_AddStringToObject(i, "version", SAFEARITH_VERSION);
    if (o->label) cJSON_AddStringToObject(i, "label", o->label);
    cJSON_AddNumberToObject(i, "batch", (double)o->batch);
    cJSON_AddNumberToObject(i, "threads", (double)o->load.threads);
    return i;
}

static void cleanup(state *s) {
    for (int i = 0; i < s->o.n_ds; i++)
        sa_eval_dataset_free(&s->ds[i]), sa_eval_dataset_spec_free(&s->specs[i]);
    for (int i = 0; i < s->o.n_judges; i++) sa_eval_judge_free(&s->judges[i]);
    if (s->model.destroy) s->model.destroy(s->model.ud);
    free(s->templ);
    cJSON_Delete(s->settings);
    cli_steer_free(&s->o.steer);
}

/* The run directory may not be, lie inside or contain anything the run reads (an existing run
 * directory is refused or resumed by sa_eval_rundir_open). */
static int check_output(state *s, sa_error *err) {
    const opts *o = &s->o;
    const char *inputs[CLI_STEER_MAX + 1 + MAX_DS + MAX_JUDGES + 2];
    int n = cli_steer_inputs(&o->steer, o->model, inputs);
    for (int i = 0; i < o->n_ds; i++) inputs[n++] = s->specs[i].path;
    for (int i = 0; i < o->n_judges; i++) inputs[n++] = s->judges[i].model_dir;
    inputs[n++] = o->lists;
    inputs[n++] = o->template_path;
    return sa_output_check(o->out, inputs, n, 1, err) ? -1 : 0;
}

static int run_eval(state *s) {
    sa_error err = {0};
    opts *o = &s->o;
    if (load_inputs(s, &err) || check_output(s, &err)) return cli_report(CMD, &err);
    int mr = open_model(s, &err);
    if (mr == -2) return CLI_FAIL;
    if (mr) return cli_report(CMD, &err);
    s->settings = build_settings(s, &err);
    cJSON *info = build_info(o);
    sa_eval_rundir rd;
    sa_status st = sa_eval_rundir_open(o->out, s->settings, info, o->resume, &rd, &err);
    cJSON_Delete(info);
    if (st) return cli_report(CMD, &err);
    sa_eval_config cfg = {s->ds,     o->n_ds,       {o->mode, o->system, s->templ, o->prefix},
                          o->dec,    s->judges,     o->n_judges,
                          &s->model, (int)o->batch, o->mcq_fmt};
    sa_progress prog = cli_progress("eval");
    st = sa_eval_run(&cfg, &rd, &prog, &err);
    cli_progress_end();
    if (st) {
        sa_eval_rundir_set_status(&rd, st == SA_EINTR ? "interrupted" : "failed", NULL, NULL);
        sa_eval_rundir_close(&rd);
        if (st == SA_EINTR)
            return cli_error(CMD,
                             "interrupted; rows so far are in %s/responses.jsonl (continue with "
                             "--resume)",
                             o->out);
        return cli_report(CMD, &err);
    }
    st = sa_eval_rundir_set_status(&rd, "complete", NULL, &err);
    sa_eval_rundir_close(&rd);
    cJSON *summary = NULL;
    if (!st) st = sa_eval_summarize(o->out, &summary, &err);
    if (st) return cli_report(CMD, &err);
    if (!o->quiet) {
        char *rp = sa_path_join(o->out, "summary.md");
        char *md = NULL;
        size_t len;
        if (rp && !sa_read_file(rp, &md, &len, NULL)) fputs(md, stdout);
        free(md), free(rp);
    }
    cJSON_Delete(summary);
    return CLI_OK;
}

static int cmd_eval(int argc, char **argv) {
    state *s = calloc(1, sizeof *s);
    if (!s) return cli_error(CMD, "out of memory");
    int rc = parse_args(argc, argv, &s->o);
    if (rc) {
        cli_steer_free(&s->o.steer);
        free(s);
        return rc < 0 ? CLI_OK : rc;
    }
    rc = run_eval(s);
    cleanup(s);
    free(s);
    return rc;
}

const sa_cli_command sa_cmd_eval = {
    "eval", "evaluate ASR, over-refusal and utility into a run directory", cmd_eval};
