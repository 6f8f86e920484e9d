/* settings.c: run.json's "settings" (fingerprinted: --resume must match them) and "info".
 *
 * Settings hold everything the rows depend on, in a fixed order: the model (its files with
 * checksums; weights hashed in full up to 512 MiB in all, else size and modification time) or
 * the server (its URL without credentials and the model name it reports), steering vectors with
 * checksums, datasets with checksums and selection, prompting, judges with their sources'
 * checksums, decoding. Info holds what does not change a row: version, label, batch, threads,
 * and a server's concurrency, retries and timeout. Both are built with a sticky-failure builder
 * (formats/json_build.h): a field that cannot be allocated fails the build, so that a fingerprint
 * is never taken over settings with a field missing. */
#include <stdlib.h>
#include <string.h>

#include "safearith/provenance.h"
#include "eval/eval_json.h"
#include "eval/execute.h"
#include "core/fsutil.h"
#include "formats/json_build.h"
#include "formats/jsonl.h"
#include "safearith/kset.h"
#include "safearith/safetensors.h"

/* The identifying files of a directory under key (provenance.h: SHA-256, or size + mtime past
 * the hash limit), sorted by name; an error if they cannot be listed or hashed. */
static sa_status dir_files(sa_jb *jb, cJSON *m, const char *key, const char *dir, sa_error *err) {
    sa_input_files in;
    sa_status st = sa_input_files_scan(dir, &in, err);
    if (st) return st;
    cJSON *files = sa_jb_arr(jb, m, key);
    for (int i = 0; i < in.n; i++) {
        cJSON *e = sa_jb_obj(jb, files, NULL);
        sa_jb_str(jb, e, "file", in.f[i].name);
        sa_jb_num(jb, e, "size", (double)in.f[i].size);
        if (in.f[i].sha256[0])
            sa_jb_str(jb, e, "sha256", in.f[i].sha256);
        else
            sa_jb_num(jb, e, "mtime", (double)in.f[i].mtime);
    }
    sa_input_files_free(&in);
    return SA_OK;
}

/* A model under key: the path and its files (and its adapter's, for BASE+ADAPTER); dir NULL: the
 * fake, {"path": "fake"}. */
static sa_status model_json(sa_jb *jb, cJSON *parent, const char *key, const char *dir,
                            sa_error *err) {
    cJSON *m = sa_jb_obj(jb, parent, key);
    sa_jb_str(jb, m, "path", dir ? dir : "fake");
    char *base = NULL, *adapter = NULL;
    if (!dir) return SA_OK;
    sa_status st = sa_ckpt_path_split(dir, &base, &adapter, err);
    if (!st) st = dir_files(jb, m, "files", base, err);
    if (!st && adapter) st = dir_files(jb, m, "adapter_files", adapter, err);
    free(base), free(adapter);
    return st;
}

/* A server under key: its public URL and the model it reports serving. */
static void server_json(sa_jb *jb, cJSON *parent, const char *key, const char *url,
                        const char *requested, const char *reported) {
    cJSON *m = sa_jb_obj(jb, parent, key);
    char *pub = sa_eval_url_public(url);
    if (!pub) jb->oom = 1;
    sa_jb_str(jb, m, "server", pub ? pub : "");
    free(pub);
    if (requested) sa_jb_str(jb, m, "requested", requested);
    sa_jb_str(jb, m, "served_model", reported ? reported : "");
}

static sa_status add_steer(sa_jb *jb, cJSON *st, const sa_eval_opts *o, sa_error *err) {
    cJSON *steer = sa_jb_arr(jb, st, "steer");
    for (int i = 0; i < o->n_steer; i++) {
        char hex[65] = "";
        sa_status s = sa_sha256_file(o->steer_paths[i], hex, err);
        if (s) return s;
        cJSON *v = sa_jb_obj(jb, steer, NULL);
        sa_jb_str(jb, v, "path", o->steer_paths[i]);
        sa_jb_num(jb, v, "scale", o->steer_scales[i]);
        sa_jb_str(jb, v, "sha256", hex);
    }
    if (o->n_steer && o->steering) sa_jb_str(jb, st, "steering", o->steering);
    return SA_OK;
}

static void add_datasets(sa_jb *jb, cJSON *st, const sa_eval_state *s) {
    cJSON *ds = sa_jb_arr(jb, st, "datasets");
    for (int i = 0; i < s->n_ds; i++) {
        cJSON *d = sa_eval_dataset_spec_json(jb, ds, &s->specs[i]);
        sa_jb_str(jb, d, "name", s->ds[i].name);
        sa_jb_str(jb, d, "sha256", s->ds[i].sha256);
        sa_jb_str(jb, d, "layout", s->ds[i].layout ? s->ds[i].layout : "");
        sa_jb_num(jb, d, "n_source", (double)s->ds[i].n_source);
        sa_jb_num(jb, d, "n_items", (double)s->ds[i].n_items);
        if (s->ds[i].lang && !s->specs[i].lang) sa_jb_str(jb, d, "lang", s->ds[i].lang);
    }
}

static void add_prompting(sa_jb *jb, cJSON *st, const sa_eval_state *s) {
    const sa_eval_opts *o = s->o;
    cJSON *p = sa_jb_obj(jb, st, "prompting");
    sa_jb_str(jb, p, "mode",
              o->mode == SA_PROMPT_RAW    ? "raw"
              : o->mode == SA_PROMPT_CHAT ? "chat"
                                          : "template");
    if (o->mode == SA_PROMPT_RAW)
        sa_jb_str(jb, p, "prefix", o->prefix ? o->prefix : SA_EVAL_RAW_PREFIX);
    if (o->mode == SA_PROMPT_CHAT) {
        if (o->system) sa_jb_str(jb, p, "system", o->system);
        if (o->chat_template) sa_jb_str(jb, p, "chat_template", o->chat_template);
    }
    if (s->templ) sa_jb_str(jb, p, "template", s->templ);
    sa_jb_str(jb, p, "mcq_format", o->mcq_format ? o->mcq_format : "Question: {question}\nAnswer:");
}

/* Judge i's entry, added to the array `to`. */
static sa_status add_judge(sa_jb *jb, cJSON *to, const sa_eval_state *s, int i, sa_error *err) {
    const sa_eval_judge *j = &s->judges[i];
    cJSON *jo = sa_jb_obj(jb, to, NULL);
    sa_jb_str(jb, jo, "name", j->name);
    sa_jb_str(jb, jo, "spec", j->spec);
    sa_jb_str(jb, jo, "measures", !j->is_model || j->prompt.refusal_type ? "compliance" : "harm");
    sa_jb_str(jb, jo, "sha256", j->source_sha256 ? j->source_sha256 : "");
    if (!j->is_model) {
        sa_jb_str(jb, jo, "list", j->list.name);
        sa_jb_str(jb, jo, "rule", sa_refusal_rule_name(j->list.rule));
        sa_jb_bool(jb, jo, "empty_is_refusal", j->list.empty_is_refusal);
        sa_jb_num(jb, jo, "n_strings", j->list.n);
        if (j->lang && strcmp(j->lang, "en")) sa_jb_str(jb, jo, "lang", j->lang);
        return SA_OK;
    }
    sa_jb_str(jb, jo, "prompt", j->prompt.name);
    sa_jb_num(jb, jo, "max_new_tokens", j->prompt.max_new_tokens);
    if (j->server_url) {
        server_json(jb, jo, "model", j->server_url, j->server_model, s->judge_models[i]);
        return SA_OK;
    }
    return model_json(jb, jo, "model", j->model_dir, err);
}

/* *out = the finished tree, or NULL and an error (SA_ENOMEM when the builder failed). */
static sa_status finish(sa_jb *jb, cJSON *root, sa_status st, cJSON **out, sa_error *err) {
    *out = NULL;
    if (!st && jb->oom) st = sa_error_set(err, SA_ENOMEM, "run settings: out of memory");
    if (st)
        cJSON_Delete(root);
    else
        *out = root;
    return st;
}

sa_status sa_eval_judge_settings(const sa_eval_state *s, int i, cJSON **out, sa_error *err) {
    sa_jb jb = {0};
    cJSON *arr = cJSON_CreateArray();
    if (!arr) jb.oom = 1;
    sa_status st = add_judge(&jb, arr, s, i, err);
    cJSON *one = arr ? cJSON_DetachItemFromArray(arr, 0) : NULL;
    cJSON_Delete(arr);
    if (!one) jb.oom = 1;
    return finish(&jb, one, st, out, err);
}

static void add_decoding(sa_jb *jb, cJSON *st, const sa_eval_decoding *dec) {
    cJSON *d = sa_jb_obj(jb, st, "decoding");
    int greedy = dec->temperature <= 0;
    sa_jb_str(jb, d, "mode", greedy ? "greedy" : "sample");
    sa_jb_num(jb, d, "max_new_tokens", dec->max_new_tokens);
    if (!greedy) {
        sa_jb_num(jb, d, "temperature", dec->temperature);
        sa_jb_num(jb, d, "top_k", dec->top_k);
        sa_jb_num(jb, d, "top_p", dec->top_p);
        sa_jb_add(jb, d, "seed", sa_json_u64(dec->seed));
    }
    if (dec->n_stop > 0) { /* absent when none: runs without stop strings keep their settings */
        cJSON *stop = sa_jb_arr(jb, d, "stop");
        for (int i = 0; i < dec->n_stop; i++) sa_jb_str(jb, stop, NULL, dec->stop[i]);
    }
}

sa_status sa_eval_settings_build(const sa_eval_state *s, cJSON **out, sa_error *err) {
    const sa_eval_opts *o = s->o;
    sa_jb jb = {0};
    cJSON *root = sa_jb_root(&jb);
    sa_status st = SA_OK;
    if (o->backend == SA_EVAL_BACKEND_SERVER)
        server_json(&jb, root, "model", o->server.url, o->server.model, s->server_model);
    else
        st = model_json(&jb, root, "model", o->backend == SA_EVAL_BACKEND_FAKE ? NULL : o->model,
                        err);
    if (!st) st = add_steer(&jb, root, o, err);
    if (o->ctx) sa_jb_num(&jb, root, "ctx", (double)o->ctx);
    add_datasets(&jb, root, s);
    cJSON *sel = sa_jb_obj(&jb, root, "selection");
    sa_jb_num(&jb, sel, "limit", (double)o->limit);
    sa_jb_num(&jb, sel, "sample", (double)o->sample);
    sa_jb_add(&jb, sel, "seed", sa_json_u64(o->seed));
    add_prompting(&jb, root, s);
    cJSON *js = sa_jb_arr(&jb, root, "judges");
    for (int i = 0; !st && i < s->n_judges; i++) st = add_judge(&jb, js, s, i, err);
    sa_eval_decoding dec = o->decoding;
    dec.seed = o->seed;
    add_decoding(&jb, root, &dec);
    /* bf16 changes the outputs (f32, the default, is left out: earlier runs keep their settings) */
    if (o->backend == SA_EVAL_BACKEND_ENGINE && o->precision == SA_PRECISION_BF16)
        sa_jb_str(&jb, root, "precision", "bf16");
    return finish(&jb, root, st, out, err);
}

sa_status sa_eval_info_build(const sa_eval_state *s, cJSON **out, sa_error *err) {
    const sa_eval_opts *o = s->o;
    sa_jb jb = {0};
    cJSON *i = sa_jb_root(&jb);
    sa_jb_str(&jb, i, "version", o->version ? o->version : "");
    if (o->label) sa_jb_str(&jb, i, "label", o->label);
    sa_jb_num(&jb, i, "batch", (double)s->batch);
    sa_jb_num(&jb, i, "threads", (double)o->threads);
    /* the kernel set the engine's sessions choose (the same call), and the precision */
    sa_kset k;
    if (!sa_kset_choose(SA_KSET_AUTO, &k, NULL)) sa_jb_str(&jb, i, "kernels", sa_kset_name(k));
    sa_jb_str(&jb, i, "precision", sa_precision_name(o->precision));
    if (o->backend == SA_EVAL_BACKEND_SERVER) {
        cJSON *t = sa_jb_obj(&jb, i, "transport");
        sa_jb_num(&jb, t, "concurrency", o->server.concurrency);
        sa_jb_num(&jb, t, "retries", o->server.retries);
        sa_jb_num(&jb, t, "timeout_s", o->server.timeout_s);
        sa_jb_bool(&jb, t, "insecure", o->server.insecure);
        sa_jb_bool(&jb, t, "api_key", o->server.api_key != NULL);
    }
    return finish(&jb, i, SA_OK, out, err);
}
