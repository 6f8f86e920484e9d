/* execute.c: one whole evaluation run from its options (sa_eval_execute): the defaults, the
 * checks, the choice of backend, loading, the run directory, the run and the summary.
 *
 * The backend is chosen explicitly: a model directory runs on our engine, an API base URL on a
 * server, and only the exact name "fake" (or "fake:MS") selects the test stand-in, so that a
 * directory whose name merely starts with "fake" is never mistaken for it. Inputs are all loaded
 * and checked before the run directory is touched: datasets (two with one name are refused),
 * judges (a keyword judge refuses a dataset that declares a language its list is not for:
 * Chinese is never scored with English keywords), the prompt template, then the model. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eval/eval_json.h"
#include "eval/execute.h"
#include "core/fsutil.h"

void sa_eval_opts_init(sa_eval_opts *o) {
    memset(o, 0, sizeof *o);
    o->size = sizeof *o;
    o->backend = SA_EVAL_BACKEND_ENGINE;
    o->mode = SA_PROMPT_RAW;
    o->decoding = (sa_eval_decoding){.max_new_tokens = 128, .top_p = 1.0};
    o->server = (sa_eval_server_opts){NULL, NULL, NULL, 4, 5, 600, 0, NULL};
}

sa_status sa_eval_opts_set_model(sa_eval_opts *o, const char *model, sa_error *err) {
    const char *ms = !strncmp(model, "fake:", 5) ? model + 5 : NULL;
    if (strcmp(model, "fake") && !(ms && *ms && strspn(ms, "0123456789") == strlen(ms))) {
        o->backend = SA_EVAL_BACKEND_ENGINE, o->model = model;
        return SA_OK;
    }
    if (sa_is_dir(model))
        return sa_error_set(err, SA_EINVAL,
                            "--model %s: the name of the test stand-in, and also a directory: "
                            "write ./%s for the directory",
                            model, model);
    o->backend = SA_EVAL_BACKEND_FAKE, o->model = NULL;
    o->fake_delay_ms = ms ? atoi(ms) : 0;
    return SA_OK;
}

const char *sa_eval_api_key_env(void) {
    const char *k = getenv("SAFEARITH_API_KEY");
    if (!k || !*k) k = getenv("OPENAI_API_KEY");
    return k && *k ? k : NULL;
}

void sa_eval_state_free(sa_eval_state *s) {
    for (int i = 0; i < s->n_ds; i++)
        sa_eval_dataset_free(&s->ds[i]), sa_eval_dataset_spec_free(&s->specs[i]);
    for (int i = 0; i < s->n_judges; i++) {
        sa_eval_judge_free(&s->judges[i]);
        free(s->judge_models ? s->judge_models[i] : NULL);
    }
    if (s->model.destroy) s->model.destroy(s->model.ud);
    free(s->ds), free(s->specs), free(s->judges), free(s->judge_models);
    free(s->server_model), free(s->templ);
}

static sa_status load_datasets(sa_eval_state *s, sa_error *err) {
    const sa_eval_opts *o = s->o;
    for (int i = 0; i < o->n_datasets; i++) {
        s->n_ds = i + 1;
        sa_status st;
        if ((st = sa_eval_dataset_spec_parse(o->datasets[i], &s->specs[i], err)) ||
            (st = sa_eval_dataset_load(&s->specs[i], &s->ds[i], err)) ||
            (st = sa_eval_dataset_select(&s->ds[i], o->limit, o->sample, o->seed, err)))
            return st;
        if (o->backend == SA_EVAL_BACKEND_SERVER)
            for (size_t k = 0; k < s->ds[i].n_items; k++)
                if (s->ds[i].items[k].kind == SA_EVAL_MCQ)
                    return sa_error_set(err, SA_EUNSUPPORTED,
                                        "--dataset %s: multiple-choice items need log "
                                        "likelihoods, which a server does not give (use --model)",
                                        o->datasets[i]);
        for (int j = 0; j < i; j++)
            if (!strcmp(s->ds[i].name, s->ds[j].name))
                return sa_error_set(err, SA_EINVAL,
                                    "--dataset %s: two datasets named '%s' (add :name=NAME)",
                                    o->datasets[i], s->ds[i].name);
    }
    return SA_OK;
}

/* A keyword list only scores text in its own language. */
static sa_status check_languages(const sa_eval_judge *j, const sa_eval_lang_use *langs, int n,
                                 sa_error *err) {
    for (int d = 0; d < n && !j->is_model; d++)
        if (strcmp(langs[d].lang, j->lang))
            return sa_error_set(err, SA_EINVAL,
                                "--judge %s: dataset '%s' is in language '%s' and the keyword "
                                "list is for '%s': judge it with a model judge (model:... or "
                                "server:...) or a '%s' list (refusal:LIST:lang=%s)",
                                j->spec, langs[d].dataset, langs[d].lang, j->lang, langs[d].lang,
                                langs[d].lang);
    return SA_OK;
}

/* The backend of a model or server judge. */
static sa_status open_judge_backend(sa_eval_state *s, int i, sa_error *err) {
    const sa_eval_opts *o = s->o;
    sa_eval_judge *j = &s->judges[i];
    if (j->server_url) {
        sa_eval_server_opts so = o->server;
        so.url = j->server_url, so.model = j->server_model;
        return sa_eval_backend_server(&so, &j->backend, &s->judge_models[i], err);
    }
    sa_eval_opts fake;
    sa_eval_opts_init(&fake);
    sa_status st = sa_eval_opts_set_model(&fake, j->model_dir, err);
    if (st) return st;
    if (fake.backend == SA_EVAL_BACKEND_FAKE)
        return sa_eval_backend_fake(fake.fake_delay_ms, &j->backend, err);
    sa_eval_engine_opts eo = {.n_threads = o->threads,
                              .n_seq = o->batch > 0 ? o->batch : 8,
                              .interrupted = o->interrupted,
                              .weights = o->weights,
                              .precision = o->precision};
    return sa_eval_backend_engine(j->model_dir, &eo, &j->backend, err);
}

sa_status sa_eval_judges_open(sa_eval_state *s, const sa_eval_lang_use *langs, int n_langs,
                              sa_error *err) {
    const sa_eval_opts *o = s->o;
    static const char *const dflt[] = {"refusal"};
    const char *const *specs = o->n_judges ? o->judges : dflt;
    int n = o->n_judges ? o->n_judges : 1;
    s->judges = calloc((size_t)n, sizeof *s->judges);
    s->judge_models = calloc((size_t)n, sizeof *s->judge_models);
    if (!s->judges || !s->judge_models) return sa_error_set(err, SA_ENOMEM, "out of memory");
    for (int i = 0; i < n; i++) {
        sa_status st = sa_eval_judge_parse(specs[i], o->refusal_lists, &s->judges[i], NULL, err);
        if (st) return st;
        s->n_judges = i + 1;
        for (int k = 0; k < i; k++)
            if (!strcmp(s->judges[k].name, s->judges[i].name))
                return sa_error_set(err, SA_EINVAL,
                                    "--judge %s: two judges named '%s' (add :name=NAME)", specs[i],
                                    s->judges[i].name);
        if ((st = check_languages(&s->judges[i], langs, n_langs, err))) return st;
        if (!s->judges[i].is_model) continue;
        if (o->judge_max_tokens) s->judges[i].prompt.max_new_tokens = o->judge_max_tokens;
        if ((st = open_judge_backend(s, i, err))) return st;
    }
    return SA_OK;
}

static sa_status open_model(sa_eval_state *s, sa_error *err) {
    const sa_eval_opts *o = s->o;
    if (o->n_steer && o->backend != SA_EVAL_BACKEND_ENGINE)
        return sa_error_set(err, SA_EINVAL,
                            "--steer needs a local model (a server applies control vectors at its "
                            "start-up, e.g. llama-server --control-vector-scaled)");
    switch (o->backend) {
    case SA_EVAL_BACKEND_FAKE:
        return sa_eval_backend_fake(o->fake_delay_ms, &s->model, err);
    case SA_EVAL_BACKEND_SERVER:
        return sa_eval_backend_server(&o->server, &s->model, &s->server_model, err);
    case SA_EVAL_BACKEND_ENGINE:
        break;
    }
    if (!o->model)
        return sa_error_set(err, SA_EINVAL, "no model: give --model DIR or --server URL");
    sa_eval_engine_opts eo = {.n_threads = o->threads,
                              .n_seq = o->batch > 0 ? o->batch : 8,
                              .max_ctx = o->ctx,
                              .hook = o->hook,
                              .chat_template = o->chat_template,
                              .interrupted = o->interrupted,
                              .weights = o->weights,
                              .precision = o->precision};
    return sa_eval_backend_engine(o->model, &eo, &s->model, err);
}

static sa_status check_opts(const sa_eval_opts *o, sa_error *err) {
    if (o->size != sizeof *o)
        return sa_error_set(err, SA_EINVAL, "sa_eval_opts not set up by sa_eval_opts_init");
    if (!o->n_datasets) return sa_error_set(err, SA_EINVAL, "at least one --dataset is required");
    if (!o->out) return sa_error_set(err, SA_EINVAL, "-o RUN_DIR is required");
    if (o->decoding.max_new_tokens < 1)
        return sa_error_set(err, SA_EINVAL, "--max-new-tokens must be at least 1");
    if (o->decoding.n_stop < 0 || (o->decoding.n_stop && !o->decoding.stop))
        return sa_error_set(err, SA_EINVAL, "decoding.stop: %d stop strings and no array",
                            o->decoding.n_stop);
    for (int i = 0; i < o->decoding.n_stop; i++)
        if (!o->decoding.stop[i] || !*o->decoding.stop[i])
            return sa_error_set(err, SA_EINVAL, "--stop needs a non-empty string");
    if (o->backend == SA_EVAL_BACKEND_SERVER && o->mode == SA_PROMPT_CHAT && o->chat_template)
        return sa_error_set(err, SA_EINVAL,
                            "--chat-template: a server applies its own model's chat template");
    return SA_OK;
}

/* The run directory may not be, lie inside or contain anything the run reads (an existing run
 * directory is refused or resumed by sa_eval_rundir_open, hence overwrite 1 here). */
static sa_status check_output(const sa_eval_state *s, sa_error *err) {
    const sa_eval_opts *o = s->o;
    int cap = 3 + o->n_steer + s->n_ds + s->n_judges, n = 0;
    const char **in = calloc((size_t)cap, sizeof *in);
    if (!in) return sa_error_set(err, SA_ENOMEM, "out of memory");
    in[n++] = o->backend == SA_EVAL_BACKEND_ENGINE ? o->model : NULL;
    for (int i = 0; i < o->n_steer; i++) in[n++] = o->steer_paths[i];
    for (int i = 0; i < s->n_ds; i++) in[n++] = s->specs[i].path;
    for (int i = 0; i < s->n_judges; i++) in[n++] = s->judges[i].model_dir;
    in[n++] = o->refusal_lists;
    in[n++] = o->template_path;
    sa_status st = sa_output_check(o->out, in, n, 1, err);
    free(in);
    return st;
}

/* Load everything; nothing is written yet. */
static sa_status load_all(sa_eval_state *s, sa_error *err) {
    const sa_eval_opts *o = s->o;
    s->ds = calloc((size_t)o->n_datasets, sizeof *s->ds);
    s->specs = calloc((size_t)o->n_datasets, sizeof *s->specs);
    if (!s->ds || !s->specs) return sa_error_set(err, SA_ENOMEM, "out of memory");
    sa_status st = load_datasets(s, err);
    sa_eval_lang_use *langs = calloc((size_t)s->n_ds + 1, sizeof *langs);
    int n_langs = 0;
    if (!langs) return sa_error_set(err, SA_ENOMEM, "out of memory");
    for (int d = 0; d < s->n_ds && !st; d++) {
        int judged = 0;
        for (size_t k = 0; k < s->ds[d].n_items && !judged; k++)
            judged = s->ds[d].items[k].kind == SA_EVAL_HARMFUL ||
                     s->ds[d].items[k].kind == SA_EVAL_BENIGN;
        if (judged && s->ds[d].lang)
            langs[n_langs++] = (sa_eval_lang_use){s->ds[d].name, s->ds[d].lang};
    }
    if (!st) st = sa_eval_judges_open(s, langs, n_langs, err);
    free(langs);
    if (st) return st;
    if (o->mode == SA_PROMPT_TEMPLATE || o->template_path) {
        size_t len;
        if (!o->template_path)
            return sa_error_set(err, SA_EINVAL, "template prompting needs --prompt-template");
        if ((st = sa_read_file(o->template_path, &s->templ, &len, err))) return st;
        if (!strstr(s->templ, "{question}"))
            return sa_error_set(err, SA_EINVAL, "--prompt-template %s: no {question} slot",
                                o->template_path);
    }
    if ((st = check_output(s, err))) return st;
    return open_model(s, err);
}

static sa_status run_all(sa_eval_state *s, const sa_progress *prog, cJSON **summary,
                         sa_error *err) {
    const sa_eval_opts *o = s->o;
    cJSON *settings = NULL, *info = NULL;
    sa_eval_rundir rd;
    sa_status st = sa_eval_settings_build(s, &settings, err);
    if (!st) st = sa_eval_info_build(s, &info, err);
    if (!st) st = sa_eval_rundir_open(o->out, settings, info, o->resume, &rd, err);
    cJSON_Delete(settings), cJSON_Delete(info);
    if (st) return st;
    sa_eval_decoding dec = o->decoding;
    dec.seed = o->seed;
    sa_eval_config cfg = {
        s->ds,
        s->n_ds,
        {o->template_path ? SA_PROMPT_TEMPLATE : o->mode, o->system, s->templ, o->prefix},
        dec,
        s->judges,
        s->n_judges,
        &s->model,
        s->batch,
        o->mcq_format};
    st = sa_eval_run(&cfg, &rd, prog, err);
    if (st) {
        sa_eval_rundir_set_status(&rd, st == SA_EINTR ? "interrupted" : "failed", NULL, NULL);
        sa_eval_rundir_close(&rd);
        return st;
    }
    st = sa_eval_rundir_set_status(&rd, "complete", NULL, err);
    sa_eval_rundir_close(&rd);
    return st ? st : sa_eval_summarize_json(o->out, summary, err);
}

sa_status sa_eval_execute_json(const sa_eval_opts *o, const sa_progress *prog, cJSON **summary_out,
                               sa_error *err) {
    if (summary_out) *summary_out = NULL;
    sa_status st = check_opts(o, err);
    if (st) return st;
    sa_eval_state s = {.o = o, .batch = o->batch > 0 ? o->batch : 8};
    if (o->batch <= 0 && o->backend == SA_EVAL_BACKEND_SERVER) {
        int c = o->server.concurrency > 0 ? o->server.concurrency : 4;
        s.batch = c * 16 < 256 ? c * 16 : 256;
    }
    st = load_all(&s, err);
    if (!st) st = run_all(&s, prog, summary_out, err);
    sa_eval_state_free(&s);
    return st;
}

sa_status sa_eval_execute(const sa_eval_opts *o, const sa_progress *prog, sa_error *err) {
    return sa_eval_execute_json(o, prog, NULL, err);
}
