/* context.c: what a study loads once (see study.h): datasets, judge, prompt template, the harm
 * vector's magnitude histogram and the KL reference. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/fsutil.h"
#include "tune/study.h"

/* The study's progress: "[trial 3/40] stage", handed to the caller's function. */
static int prefixed(void *ud, const char *stage, uint64_t done, uint64_t total) {
    sa_tune_ctx *c = ud;
    char s[256];
    snprintf(s, sizeof s, "%s%s", c->stage_prefix, stage ? stage : "");
    return sa_progress_report(c->user_progress, s, done, total);
}

sa_status sa_tune_ctx_split(sa_tune_ctx *c, int test, sa_error *err) {
    if (c->split_loaded[test]) return SA_OK;
    sa_status st = sa_tune_split_load(c->r, test, &c->split[test], err);
    c->split_loaded[test] = st == SA_OK;
    return st;
}

/* The judge: a keyword list, a local judge model, or a server (the recipe's transport, the
 * caller's API key). The recipe checked that it says refused / complied. */
static sa_status open_judge(sa_tune_ctx *c, const sa_tune_opts *o, sa_error *err) {
    char *jdir = NULL;
    sa_status st = sa_eval_judge_parse(c->r->judge, NULL, &c->judge, &jdir, err);
    if (st) return sa_error_prefix(err, "%s: eval.judge", c->r->path);
    c->judge_open = 1;
    if (c->judge.server_url) {
        sa_eval_server_opts so = c->r->server;
        so.url = c->judge.server_url, so.model = c->judge.server_model;
        so.api_key = o->api_key, so.interrupted = o->interrupted;
        char *reported = NULL;
        st = sa_eval_backend_server(&so, &c->judge.backend, &reported, err);
        free(reported);
    } else if (c->judge.is_model) {
        sa_eval_engine_opts eo = {.n_threads = c->n_threads, .n_seq = 8, .weights = SA_CKPT_MMAP};
        st = sa_eval_backend_engine(jdir, &eo, &c->judge.backend, err);
    }
    free(jdir);
    return st;
}

/* TUNE_DIR/kl_prompts.json: the token ids every trial's KL reads (prompt + reference answer). */
static sa_status write_kl_prompts(sa_tune_ctx *c, sa_error *err) {
    cJSON *j = sa_tune_kl_json(&c->kl);
    char *text = j ? cJSON_PrintUnformatted(j) : NULL,
         *path = sa_path_join(c->dir, "kl_prompts.json");
    cJSON_Delete(j);
    sa_afile af;
    sa_status st = text && path ? sa_afile_open(&af, path, 1, err)
                                : sa_error_set(err, SA_ENOMEM, "out of memory");
    if (!st) fprintf(af.fp, "%s\n", text), st = sa_afile_commit(&af, err);
    free(text), free(path);
    return st;
}

/* The first kl.prompts benign prompts of the tuning split, rendered as the evaluation does. */
static sa_status open_kl(sa_tune_ctx *c, sa_error *err) {
    const sa_tune_split *sp = &c->split[0];
    char **texts = calloc((size_t)c->r->kl_prompts + 1, sizeof *texts);
    if (!texts) return sa_error_set(err, SA_ENOMEM, "out of memory");
    sa_eval_prompting pr = {c->templ ? SA_PROMPT_TEMPLATE : SA_PROMPT_RAW, NULL, c->templ, NULL};
    int n = 0;
    sa_status st = SA_OK;
    for (int d = 0; !st && d < sp->n; d++)
        for (size_t i = 0; !st && i < sp->ds[d].n_items && n < c->r->kl_prompts; i++)
            if (sp->ds[d].items[i].kind == SA_EVAL_BENIGN)
                st = sa_eval_prompt_render(&pr, NULL, &sp->ds[d].items[i], &texts[n++], err);
    if (!st && !n)
        st = sa_error_set(err, SA_EINVAL,
                          "%s: datasets: the tuning split has no benign prompt for the KL",
                          c->r->path);
    if (!st) {
        snprintf(c->stage_prefix, sizeof c->stage_prefix, "[KL reference] ");
        st = sa_tune_kl_init(&c->kl, c->model_in, (const char *const *)texts, n, c->r->kl_tokens,
                             c->n_threads, err);
    }
    for (int i = 0; i < n; i++) free(texts[i]);
    free(texts);
    return st ? st : write_kl_prompts(c, err);
}

sa_status sa_tune_ctx_open(sa_tune_ctx *c, const sa_tune_recipe *r, const sa_tune_opts *o,
                           sa_error *err) {
    memset(c, 0, sizeof *c);
    c->r = r;
    c->dir = o->dir;
    c->n_threads = o->n_threads;
    c->user_progress = o->progress;
    c->progress = (sa_progress){prefixed, c};
    c->model_in = r->method == SA_TUNE_RESTA ? r->sft : r->target;
    c->pool = sa_pool_create(o->n_threads);
    if (!c->pool) return sa_error_set(err, SA_ENOMEM, "cannot start the thread pool");
    size_t len;
    sa_status st =
        r->prompt_template ? sa_read_file(r->prompt_template, &c->templ, &len, err) : SA_OK;
    if (!st) st = open_judge(c, o, err);
    if (!st) st = sa_tune_ctx_split(c, 0, err);
    if (!st) st = open_kl(c, err);
    if (!st && (r->method == SA_TUNE_HDR || r->method == SA_TUNE_HDR_ICV)) {
        snprintf(c->stage_prefix, sizeof c->stage_prefix, "[harm vector] ");
        st = sa_hdr_topk_open(r->target, r->base, r->harmful, c->pool, &c->progress, &c->topk, err);
    }
    return st;
}

void sa_tune_ctx_close(sa_tune_ctx *c) {
    for (int i = 0; i < SA_TUNE_MAX_ICV; i++)
        if (c->icv_done[i]) sa_cvec_free(&c->icv[i]);
    sa_tune_kl_free(&c->kl);
    for (int s = 0; s < 2; s++)
        if (c->split_loaded[s]) sa_tune_split_free(&c->split[s]);
    if (c->judge_open) sa_eval_judge_free(&c->judge);
    sa_hdr_topk_free(c->topk);
    if (c->pool) sa_pool_destroy(c->pool);
    free(c->templ);
    memset(c, 0, sizeof *c);
}
