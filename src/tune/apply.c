/* apply.c: write one trial of a finished study as a model and a control vector (tune.h:
 * sa_tune_apply). The recipe comes back from TUNE_DIR/study.json and the trial's params from
 * trials.jsonl; the weights are made by the same code the trial ran (trial.c), so the written
 * model is the one that was evaluated, bit for bit. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formats/jsonl.h"
#include "core/fsutil.h"
#include "core/shell_words.h"
#include "tune/journal.h"
#include "tune/study.h"

static sa_status find_trial(const char *dir, long trial, cJSON **params, sa_error *err) {
    char *path = sa_path_join(dir, "trials.jsonl");
    cJSON *rows = NULL;
    sa_status st = path ? sa_jsonl_read(path, 1, &rows, NULL, err)
                        : sa_error_set(err, SA_ENOMEM, "out of memory");
    const cJSON *t, *all = st ? NULL : rows;
    *params = NULL;
    const cJSON *found = NULL;
    cJSON_ArrayForEach(t, all) {
        const cJSON *n = cJSON_GetObjectItemCaseSensitive(t, "trial");
        if (cJSON_IsNumber(n) && n->valuedouble == (double)trial)
            found = cJSON_GetObjectItemCaseSensitive(t, "params");
    }
    if (!st && !cJSON_IsObject(found))
        st = sa_error_set(err, SA_EINVAL, "%s: no trial %ld", path, trial);
    if (!st && !(*params = cJSON_Duplicate(found, 1)))
        st = sa_error_set(err, SA_ENOMEM, "out of memory");
    cJSON_Delete(rows), free(path);
    return st;
}

static sa_status apply_trial(sa_tune_ctx *c, const cJSON *params, const char *out_model,
                             const char *out_cvec, char **note, sa_error *err) {
    const sa_tune_recipe *r = c->r;
    int weights = r->method != SA_TUNE_ICV,
        icv = r->method == SA_TUNE_ICV || r->method == SA_TUNE_HDR_ICV;
    if (weights && !out_model)
        return sa_error_set(err, SA_EINVAL, "method %s writes a model: give -o MODEL",
                            sa_tune_method_name(r->method));
    if (!weights && out_model)
        return sa_error_set(err, SA_EINVAL, "method icv writes no model (only --cvec)");
    if (icv && !out_cvec)
        return sa_error_set(err, SA_EINVAL, "method %s writes a control vector: give --cvec FILE",
                            sa_tune_method_name(r->method));
    sa_status st = SA_OK;
    if (weights && (r->method == SA_TUNE_HDR || r->method == SA_TUNE_HDR_ICV))
        st = sa_hdr_topk_open(r->target, r->base, r->harmful, c->pool, &c->progress, &c->topk, err);
    const char *model_dir = c->model_in;
    sa_steer plan = {0};
    int has_plan = 0;
    if (!st && weights)
        st = sa_tune_build(c, params, out_model, 0, &model_dir, &plan, &has_plan, err);
    if (has_plan) sa_steer_free(&plan);
    const sa_cvec *cv = NULL;
    sa_cvec own = {0};
    if (!st && icv) st = sa_tune_icv(c, params, model_dir, &own, &cv, err);
    const char *inputs[] = {r->target, r->base, r->harmful, r->pairs, out_model};
    if (!st && icv) st = sa_output_check(out_cvec, inputs, 5, 0, err);
    if (!st && icv) st = sa_cvec_write(out_cvec, cv, 0, err);
    if (!st && icv && note) {
        char b[512];
        snprintf(b, sizeof b, "--steer %s:%g --steer-mode %s --steer-at %s", out_cvec,
                 sa_tune_param_num(params, "alpha"), sa_steer_mode_name(r->steer_mode),
                 r->steer_at == SA_STEER_AT_MLP ? "mlp" : "residual");
        *note = strdup(b);
    }
    sa_cvec_free(&own);
    return st;
}

/* The CLI command that writes the same outputs, for the model card: the study and the trial. */
static char *apply_command(const char *tune_dir, long trial, const char *out_model,
                           const char *out_cvec) {
    char n[24];
    snprintf(n, sizeof n, "%ld", trial);
    const char *w[9] = {"tune", "--apply", n, "--study", tune_dir};
    int k = 5;
    if (out_model) w[k++] = "-o", w[k++] = out_model;
    if (out_cvec) w[k++] = "--cvec", w[k++] = out_cvec;
    return sa_shell_command("safearith", k, w);
}

sa_status sa_tune_apply(const char *tune_dir, long trial, const char *out_model,
                        const char *out_cvec, int n_threads, const sa_progress *progress,
                        char **note, sa_error *err) {
    if (note) *note = NULL;
    cJSON *study = NULL, *params = NULL;
    sa_tune_recipe *r = NULL;
    sa_status st = sa_tune_study_read(tune_dir, &study, err);
    if (!st) {
        const cJSON *rp = cJSON_GetObjectItemCaseSensitive(study, "recipe_path");
        cJSON *recipe = cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(study, "recipe"), 1);
        st = recipe ? sa_tune_recipe_from_json(
                          recipe, cJSON_IsString(rp) ? rp->valuestring : "study.json", &r, err)
                    : sa_error_set(err, SA_ENOMEM, "out of memory");
    }
    if (!st) st = find_trial(tune_dir, trial, &params, err);
    sa_tune_ctx c = {0};
    char *command = NULL;
    if (!st && !(command = apply_command(tune_dir, trial, out_model, out_cvec)))
        st = sa_error_set(err, SA_ENOMEM, "out of memory");
    c.command_line = command;
    if (!st) {
        c.r = r, c.dir = tune_dir, c.n_threads = n_threads, c.user_progress = progress;
        c.progress = (sa_progress){progress ? progress->fn : NULL, progress ? progress->ud : NULL};
        c.model_in = r->method == SA_TUNE_RESTA ? r->sft : r->target;
        c.pool = sa_pool_create(n_threads);
        if (!c.pool) st = sa_error_set(err, SA_ENOMEM, "cannot start the thread pool");
    }
    if (!st) st = apply_trial(&c, params, out_model, out_cvec, note, err);
    for (int i = 0; i < SA_TUNE_MAX_ICV; i++)
        if (c.icv_done[i]) sa_cvec_free(&c.icv[i]);
    sa_hdr_topk_free(c.topk);
    if (c.pool) sa_pool_destroy(c.pool);
    cJSON_Delete(study), cJSON_Delete(params);
    sa_tune_recipe_free(r);
    free(command);
    return st;
}
