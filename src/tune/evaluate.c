/* evaluate.c: a trial's objectives on one split (see study.h: sa_tune_evaluate).
 *
 * ASR, over-refusal and utility are pooled over every prompt of their kind in the split
 * (harmful, benign, mcq/qa), in percent; a kind the split lacks scores 0, which leaves
 * dominance to the other objectives. KL comes from kl.c (0 for the unmodified model). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "eval/eval_json.h"
#include "core/io.h"
#include "core/fsutil.h"
#include "safearith/paired.h"
#include "tune/study.h"

/* The settings of a trial's run directory; NULL if memory runs out. */
static cJSON *run_settings(sa_tune_ctx *c, const cJSON *params, const sa_tune_split *sp,
                           const char *model_dir) {
    sa_jb jb = {0};
    cJSON *s = sa_jb_root(&jb);
    cJSON *m = sa_jb_obj(&jb, s, "model");
    sa_jb_str(&jb, m, "path", model_dir);
    cJSON *t = sa_jb_obj(&jb, s, "tune");
    sa_jb_str(&jb, t, "fingerprint", c->r->fingerprint);
    sa_jb_str(&jb, t, "split", sp->name);
    sa_jb_add(&jb, t, "params", params ? cJSON_Duplicate(params, 1) : cJSON_CreateNull());
    cJSON *ds = sa_jb_arr(&jb, s, "datasets");
    for (int i = 0; i < sp->n; i++) {
        cJSON *d = sa_eval_dataset_spec_json(&jb, ds, &sp->specs[i]);
        sa_jb_str(&jb, d, "sha256", sp->ds[i].sha256);
        sa_jb_num(&jb, d, "n_items", (double)sp->ds[i].n_items);
    }
    cJSON *j = sa_jb_obj(&jb, sa_jb_arr(&jb, s, "judges"), NULL);
    sa_jb_str(&jb, j, "name", c->judge.name);
    sa_jb_str(&jb, j, "spec", c->judge.spec);
    sa_jb_str(&jb, j, "measures", "compliance");
    sa_jb_str(&jb, j, "sha256", c->judge.source_sha256 ? c->judge.source_sha256 : "");
    cJSON *p = sa_jb_obj(&jb, s, "prompting");
    sa_jb_str(&jb, p, "mode", c->templ ? "template" : "raw");
    if (c->templ) sa_jb_str(&jb, p, "template", c->templ);
    cJSON *dec = sa_jb_obj(&jb, s, "decoding");
    sa_jb_str(&jb, dec, "mode", "greedy");
    sa_jb_num(&jb, dec, "max_new_tokens", c->r->max_new_tokens);
    if (!jb.oom) return s;
    cJSON_Delete(s);
    return NULL;
}

/* Objectives (but KL) from a run directory's rows. */
static sa_status rates(sa_tune_ctx *c, const char *run, sa_tune_point *p, long yes_out[3],
                       sa_error *err) {
    long yes[SA_PAIRED_N], n[SA_PAIRED_N];
    sa_status st = sa_eval_rates(run, c->judge.name, yes, n, err);
    for (int m = 0; !st && m < SA_PAIRED_N; m++) { /* metric m is objective m */
        p->obj[m] = n[m] ? 100.0 * (double)yes[m] / (double)n[m] : 0;
        p->n[m] = n[m];
        if (yes_out) yes_out[m] = yes[m];
    }
    return st;
}

/* 1 if a subset's counts already rule the trial out (95 % Wilson bound beyond a constraint). */
static int ruled_out(const sa_tune_recipe *r, const sa_tune_point *sub, const long yes[3],
                     const sa_tune_point *base) {
    if (!isnan(r->utility_drop) && sub->n[SA_OBJ_UTILITY]) {
        sa_interval u = sa_wilson(yes[SA_OBJ_UTILITY], sub->n[SA_OBJ_UTILITY], SA_Z95);
        if (100 * u.hi < base->obj[SA_OBJ_UTILITY] - r->utility_drop) return 1;
    }
    if (!isnan(r->over_refusal_rise) && sub->n[SA_OBJ_OVER_REFUSAL]) {
        sa_interval o = sa_wilson(yes[SA_OBJ_OVER_REFUSAL], sub->n[SA_OBJ_OVER_REFUSAL], SA_Z95);
        if (100 * o.lo > base->obj[SA_OBJ_OVER_REFUSAL] + r->over_refusal_rise) return 1;
    }
    return 0;
}

typedef struct eval_job {
    sa_tune_ctx *c;
    const sa_tune_split *sp;
    sa_eval_backend be;
    sa_eval_rundir rd;
} eval_job;

/* Items of a dataset of n that a subset of fraction frac evaluates. */
static size_t subset_size(size_t n, double frac) {
    size_t k = (size_t)ceil(frac * (double)n);
    return k < 1 ? 1 : k > n ? n : k;
}

/* Evaluate the first `frac` of every dataset (1: all) into the open run directory. */
static sa_status run_part(eval_job *j, double frac, sa_error *err) {
    sa_eval_dataset ds[SA_TUNE_MAX_DS];
    for (int i = 0; i < j->sp->n; i++) {
        ds[i] = j->sp->ds[i];
        ds[i].n_items = subset_size(ds[i].n_items, frac);
    }
    const sa_tune_recipe *r = j->c->r;
    sa_eval_config cfg = {
        ds,
        j->sp->n,
        {j->c->templ ? SA_PROMPT_TEMPLATE : SA_PROMPT_RAW, NULL, j->c->templ, NULL},
        {.max_new_tokens = r->max_new_tokens, .top_p = 1.0},
        &j->c->judge,
        1,
        &j->be,
        r->batch,
        NULL};
    return sa_eval_run(&cfg, &j->rd, &j->c->progress, err);
}

static sa_status generate_and_judge(eval_job *j, const char *run, const sa_hook *hook,
                                    const char *model_dir, const cJSON *params, double early,
                                    const sa_tune_point *base, sa_tune_point *out, int *pruned,
                                    sa_error *err) {
    sa_tune_ctx *c = j->c;
    sa_eval_engine_opts eo = {
        .n_threads = c->n_threads, .n_seq = c->r->batch, .hook = hook, .weights = SA_CKPT_MMAP};
    sa_status st = sa_eval_backend_engine(model_dir, &eo, &j->be, err);
    if (st) return st;
    cJSON *settings = run_settings(c, params, j->sp, model_dir);
    st = settings ? sa_eval_rundir_open(run, settings, NULL, 1, &j->rd, err)
                  : sa_error_set(err, SA_ENOMEM, "trial settings: out of memory");
    /* Rows past the subset mean that an earlier, killed attempt already decided to go on: the
     * subset's verdict is only taken while the run holds nothing else. */
    size_t subset = 0;
    for (int i = 0; i < j->sp->n; i++) subset += subset_size(j->sp->ds[i].n_items, early);
    if (!st && early > 0 && base && j->rd.n_done <= subset) {
        long yes[3];
        st = run_part(j, early, err);
        if (!st) st = rates(c, run, out, yes, err);
        if (!st && ruled_out(c->r, out, yes, base)) *pruned = 1;
        if (!st && !*pruned) { /* reopen: the run directory learns the subset's rows */
            sa_eval_rundir_close(&j->rd);
            st = sa_eval_rundir_open(run, settings, NULL, 1, &j->rd, err);
        }
    }
    cJSON_Delete(settings);
    if (!st && !*pruned) st = run_part(j, 1.0, err);
    if (!st) st = sa_eval_rundir_set_status(&j->rd, *pruned ? "pruned" : "complete", NULL, err);
    if (!st && !*pruned) st = rates(c, run, out, NULL, err);
    if (j->rd.dir) sa_eval_rundir_close(&j->rd);
    if (j->be.destroy) j->be.destroy(j->be.ud);
    if (!st && !*pruned) st = sa_eval_summarize(run, err);
    return st;
}

sa_status sa_tune_evaluate(sa_tune_ctx *c, const cJSON *params, int test, const char *name,
                           double early, const sa_tune_point *base, sa_tune_point *out, int *pruned,
                           sa_error *err) {
    memset(out, 0, sizeof *out);
    *pruned = 0;
    sa_status st = sa_tune_ctx_split(c, test, err);
    if (st) return st;
    char *runs = sa_path_join(c->dir, "runs"), *run = runs ? sa_path_join(runs, name) : NULL;
    char *work = sa_path_join(c->dir, "work");
    if (!run || !work) st = sa_error_set(err, SA_ENOMEM, "out of memory");
    if (!st && sa_io_mkdir(runs, 0777) != 0 && errno != EEXIST)
        st = sa_error_set(err, SA_EIO, "%s: cannot create: %s", runs, strerror(errno));
    if (!st) sa_tune_remove_tree(work);
    const char *model_dir = NULL;
    sa_steer plan = {0};
    int has_plan = 0;
    if (!st) st = sa_tune_build(c, params, work, 0, &model_dir, &plan, &has_plan, err);
    sa_steer_chain chain;
    sa_hook hook = {0};
    if (has_plan) sa_steer_hook(&plan, NULL, &chain, &hook);
    if (!st && params) {
        st = sa_tune_kl_measure(&c->kl, model_dir, has_plan ? &hook : NULL, c->n_threads,
                                &out->kl_first, &out->obj[SA_OBJ_KL], err);
        if (!st && !isnan(c->r->max_kl) && out->obj[SA_OBJ_KL] > c->r->max_kl) *pruned = 1;
    }
    if (!st && !*pruned) {
        eval_job j = {c, &c->split[test], {0}, {0}};
        st = generate_and_judge(&j, run, has_plan ? &hook : NULL, model_dir, params, early, base,
                                out, pruned, err);
    }
    if (has_plan) sa_steer_free(&plan);
    if (work) sa_tune_remove_tree(work);
    free(runs), free(run), free(work);
    return st;
}
