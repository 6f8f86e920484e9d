/* settings.c: run.json's "settings" (fingerprinted: --resume must match them) and "info".
 *
 * Settings hold everything the rows depend on, in a fixed order: the model (its files with
 * checksums; weights hashed in full up to 512 MiB in all, else size and modification time) or
 * the server (its URL without credentials and the model name it reports), steering vectors with
 * checksums, datasets with checksums and selection, prompting, judges with their sources'
 * checksums, decoding. Info holds what does not change a row: version, label, batch, threads,
 * and a server's concurrency, retries and timeout. */
#include <stdlib.h>
#include <string.h>

#include "safearith/provenance.h"
#include "eval/eval_json.h"
#include "eval/execute.h"
#include "core/fsutil.h"
#include "formats/jsonl.h"
#include "safearith/kset.h"
#include "safearith/safetensors.h"

/* The identifying files of a directory (provenance.h: SHA-256, or size + mtime past the hash
 * limit), sorted by name. */
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

/* A model: the path and its files (and its adapter's, for BASE+ADAPTER); dir NULL: the fake,
 * {"path": "fake"}. */
static cJSON *model_json(const char *dir, sa_error *err) {
    cJSON *m = cJSON_CreateObject();
    cJSON_AddStringToObject(m, "path", dir ? dir : "fake");
    char *base = NULL, *adapter = NULL;
    if (!dir || sa_ckpt_path_split(dir, &base, &adapter, NULL) != SA_OK) return m;
    cJSON_AddItemToObject(m, "files", dir_files(base, err));
    if (adapter) cJSON_AddItemToObject(m, "adapter_files", dir_files(adapter, err));
    free(base), free(adapter);
    return m;
}

/* A server: its public URL and the model it reports serving. */
static cJSON *server_json(const char *url, const char *requested, const char *reported) {
    cJSON *m = cJSON_CreateObject();
    char *pub = sa_eval_url_public(url);
    cJSON_AddStringToObject(m, "server", pub ? pub : "");
    free(pub);
    if (requested) cJSON_AddStringToObject(m, "requested", requested);
    cJSON_AddStringToObject(m, "served_model", reported ? reported : "");
    return m;
}

static void add_steer(cJSON *st, const sa_eval_opts *o) {
    cJSON *steer = cJSON_AddArrayToObject(st, "steer");
    for (int i = 0; i < o->n_steer; i++) {
        cJSON *v = cJSON_CreateObject();
        char hex[65] = "";
        sa_sha256_file(o->steer_paths[i], hex, NULL);
        cJSON_AddStringToObject(v, "path", o->steer_paths[i]);
        cJSON_AddNumberToObject(v, "scale", o->steer_scales[i]);
        cJSON_AddStringToObject(v, "sha256", hex);
        cJSON_AddItemToArray(steer, v);
    }
    if (o->n_steer && o->steering) cJSON_AddStringToObject(st, "steering", o->steering);
}

static void add_datasets(cJSON *st, const sa_eval_state *s) {
    cJSON *ds = cJSON_AddArrayToObject(st, "datasets");
    for (int i = 0; i < s->n_ds; i++) {
        cJSON *d = sa_eval_dataset_spec_json(&s->specs[i]);
        cJSON_AddStringToObject(d, "name", s->ds[i].name);
        cJSON_AddStringToObject(d, "sha256", s->ds[i].sha256);
        cJSON_AddStringToObject(d, "layout", s->ds[i].layout ? s->ds[i].layout : "");
        cJSON_AddNumberToObject(d, "n_source", (double)s->ds[i].n_source);
        cJSON_AddNumberToObject(d, "n_items", (double)s->ds[i].n_items);
        if (s->ds[i].lang && !s->specs[i].lang) cJSON_AddStringToObject(d, "lang", s->ds[i].lang);
        cJSON_AddItemToArray(ds, d);
    }
}

static void add_prompting(cJSON *st, const sa_eval_state *s) {
    const sa_eval_opts *o = s->o;
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
                            o->mcq_format ? o->mcq_format : "Question: {question}\nAnswer:");
}

cJSON *sa_eval_judge_settings(const sa_eval_state *s, int i, sa_error *err) {
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
        if (j->lang && strcmp(j->lang, "en")) cJSON_AddStringToObject(jo, "lang", j->lang);
    } else {
        cJSON_AddStringToObject(jo, "prompt", j->prompt.name);
        cJSON_AddNumberToObject(jo, "max_new_tokens", j->prompt.max_new_tokens);
        cJSON_AddItemToObject(jo, "model",
                              j->server_url
                                  ? server_json(j->server_url, j->server_model, s->judge_models[i])
                                  : model_json(j->model_dir, err));
    }
    return jo;
}

static void add_decoding(cJSON *st, const sa_eval_decoding *dec) {
    cJSON *d = cJSON_AddObjectToObject(st, "decoding");
    int greedy = dec->temperature <= 0;
    cJSON_AddStringToObject(d, "mode", greedy ? "greedy" : "sample");
    cJSON_AddNumberToObject(d, "max_new_tokens", dec->max_new_tokens);
    if (!greedy) {
        cJSON_AddNumberToObject(d, "temperature", dec->temperature);
        cJSON_AddNumberToObject(d, "top_k", dec->top_k);
        cJSON_AddNumberToObject(d, "top_p", dec->top_p);
        sa_json_attach(d, "seed", sa_json_u64(dec->seed));
    }
    if (dec->n_stop > 0) { /* absent when none: runs without stop strings keep their settings */
        cJSON *stop = cJSON_AddArrayToObject(d, "stop");
        for (int i = 0; i < dec->n_stop; i++)
            sa_json_attach(stop, NULL, cJSON_CreateString(dec->stop[i]));
    }
}

cJSON *sa_eval_settings_build(const sa_eval_state *s, sa_error *err) {
    const sa_eval_opts *o = s->o;
    cJSON *st = cJSON_CreateObject();
    cJSON_AddItemToObject(
        st, "model",
        o->backend == SA_EVAL_BACKEND_SERVER
            ? server_json(o->server.url, o->server.model, s->server_model)
            : model_json(o->backend == SA_EVAL_BACKEND_FAKE ? NULL : o->model, err));
    add_steer(st, o);
    if (o->ctx) cJSON_AddNumberToObject(st, "ctx", (double)o->ctx);
    add_datasets(st, s);
    cJSON *sel = cJSON_AddObjectToObject(st, "selection");
    cJSON_AddNumberToObject(sel, "limit", (double)o->limit);
    cJSON_AddNumberToObject(sel, "sample", (double)o->sample);
    sa_json_attach(sel, "seed", sa_json_u64(o->seed));
    add_prompting(st, s);
    cJSON *js = cJSON_AddArrayToObject(st, "judges");
    for (int i = 0; i < s->n_judges; i++)
        cJSON_AddItemToArray(js, sa_eval_judge_settings(s, i, err));
    sa_eval_decoding dec = o->decoding;
    dec.seed = o->seed;
    add_decoding(st, &dec);
    /* bf16 changes the outputs (f32, the default, is left out: earlier runs keep their settings) */
    if (o->backend == SA_EVAL_BACKEND_ENGINE && o->precision == SA_PRECISION_BF16)
        cJSON_AddStringToObject(st, "precision", "bf16");
    return st;
}

cJSON *sa_eval_info_build(const sa_eval_state *s) {
    const sa_eval_opts *o = s->o;
    cJSON *i = cJSON_CreateObject();
    cJSON_AddStringToObject(i, "version", o->version ? o->version : "");
    if (o->label) cJSON_AddStringToObject(i, "label", o->label);
    cJSON_AddNumberToObject(i, "batch", (double)s->batch);
    cJSON_AddNumberToObject(i, "threads", (double)o->threads);
    /* the kernel set the engine's sessions choose (the same call), and the precision */
    sa_kset k;
    if (!sa_kset_choose(SA_KSET_AUTO, &k, NULL))
        cJSON_AddStringToObject(i, "kernels", sa_kset_name(k));
    cJSON_AddStringToObject(i, "precision", sa_precision_name(o->precision));
    if (o->backend == SA_EVAL_BACKEND_SERVER) {
        cJSON *t = cJSON_AddObjectToObject(i, "transport");
        cJSON_AddNumberToObject(t, "concurrency", o->server.concurrency);
        cJSON_AddNumberToObject(t, "retries", o->server.retries);
        cJSON_AddNumberToObject(t, "timeout_s", o->server.timeout_s);
        cJSON_AddBoolToObject(t, "insecure", o->server.insecure);
        cJSON_AddBoolToObject(t, "api_key", o->server.api_key != NULL);
    }
    return i;
}
