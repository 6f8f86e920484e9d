/* study.c: a study from start (or resume) to the chosen point's test evaluation (tune.h).
 *
 * Order: the unmodified model on the tuning split (the constraints' base), the recipe's
 * reference point if any, then trials t = (finished trials) .. trials-1, each proposed by
 * search.c from the finished ones, evaluated (trial.c, evaluate.c) and appended to the journal.
 * Then the front, the chosen point, its test-split evaluation beside the base's and the
 * reference's, and the outputs (report.c). Every run directory resumes, so a study killed at any
 * point loses at most the unfinished part of one evaluation. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/opts.h"
#include "core/fsutil.h"
#include "formats/json_build.h"
#include "tune/journal.h"
#include "tune/study.h"
#include "tune/tune_report.h"

int sa_tune_feasible(const sa_tune_recipe *r, const double *obj, const double *base) {
    if (!isnan(r->utility_drop) && obj[SA_OBJ_UTILITY] < base[SA_OBJ_UTILITY] - r->utility_drop)
        return 0;
    if (!isnan(r->over_refusal_rise) &&
        obj[SA_OBJ_OVER_REFUSAL] > base[SA_OBJ_OVER_REFUSAL] + r->over_refusal_rise)
        return 0;
    if (!isnan(r->max_kl) && obj[SA_OBJ_KL] > r->max_kl) return 0;
    return 1;
}

/* Values that go into the journal are rounded to 12 significant digits first: cJSON prints 15
 * digits when they read back within an epsilon, not exactly, and a resumed study must see the
 * very numbers the uninterrupted one used. */
static double round12(double v) {
    char b[40];
    snprintf(b, sizeof b, "%.12g", v);
    return strtod(b, NULL);
}

static void round_point(double *u, int d, sa_tune_point *p) {
    for (int k = 0; k < d; k++) u[k] = round12(u[k]);
    for (int k = 0; k < SA_TUNE_N_OBJ; k++) p->obj[k] = round12(p->obj[k]);
    p->kl_first = round12(p->kl_first);
}

/* A journal line; NULL if a field could not be added (a line short of one is never written). */
static cJSON *trial_json(long t, const double *u, int d, const cJSON *params,
                         const sa_tune_point *p, int pruned, int feasible) {
    sa_jb b = {0};
    cJSON *o = sa_jb_root(&b);
    sa_jb_num(&b, o, "trial", (double)t);
    sa_jb_add(&b, o, "params", cJSON_Duplicate(params, 1));
    cJSON *obj = sa_jb_obj(&b, o, "objectives");
    for (int i = 0; i < SA_TUNE_N_OBJ; i++)
        sa_jb_num(&b, obj, sa_tune_objective_name(i), p->obj[i]);
    sa_jb_num(&b, o, "kl_first", p->kl_first);
    sa_jb_str(&b, o, "split", pruned ? "tune-subset" : "tune");
    sa_jb_bool(&b, o, "pruned", pruned);
    sa_jb_bool(&b, o, "feasible", !pruned && feasible);
    cJSON *n = sa_jb_obj(&b, o, "n");
    for (int i = 0; i < SA_OBJ_KL; i++)
        sa_jb_num(&b, n, sa_tune_objective_name(i), (double)p->n[i]);
    sa_jb_add(&b, o, "u", cJSON_CreateDoubleArray(u, d));
    return sa_jb_done(&b, o);
}

/* The study's table from the journal: unit points, objectives, skip (pruned or infeasible). */
typedef struct table {
    long n;
    double *u;
    double (*obj)[SA_TUNE_N_OBJ];
    unsigned char *skip, *pruned;
} table;

static sa_status table_load(table *tb, const cJSON *trials, int d, long cap, sa_error *err) {
    tb->n = 0;
    tb->u = calloc((size_t)cap * (size_t)(d ? d : 1) + 1, sizeof *tb->u);
    tb->obj = calloc((size_t)cap + 1, sizeof *tb->obj);
    tb->skip = calloc((size_t)cap + 1, 1), tb->pruned = calloc((size_t)cap + 1, 1);
    if (!tb->u || !tb->obj || !tb->skip || !tb->pruned)
        return sa_error_set(err, SA_ENOMEM, "out of memory");
    const cJSON *t;
    cJSON_ArrayForEach(t, trials) {
        if (tb->n >= cap) break;
        const cJSON *o = cJSON_GetObjectItemCaseSensitive(t, "objectives");
        const cJSON *u = cJSON_GetObjectItemCaseSensitive(t, "u");
        if (cJSON_GetArraySize(u) != d)
            return sa_error_set(err, SA_EFORMAT,
                                "trials.jsonl: trial %ld has %d coordinates, the recipe %d knobs",
                                tb->n, cJSON_GetArraySize(u), d);
        for (int k = 0; k < d; k++) tb->u[tb->n * d + k] = cJSON_GetArrayItem(u, k)->valuedouble;
        for (int k = 0; k < SA_TUNE_N_OBJ; k++) {
            const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, sa_tune_objective_name(k));
            tb->obj[tb->n][k] = cJSON_IsNumber(v) ? v->valuedouble : NAN;
        }
        tb->pruned[tb->n] = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(t, "pruned"));
        tb->skip[tb->n] =
            tb->pruned[tb->n] || !cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(t, "feasible"));
        tb->n++;
    }
    return SA_OK;
}

static void table_free(table *tb) {
    free(tb->u), free(tb->obj), free(tb->skip), free(tb->pruned);
}

static void set_stage(sa_tune_ctx *c, const char *what, long t, long total) {
    if (t >= 0)
        snprintf(c->stage_prefix, sizeof c->stage_prefix, "[trial %ld/%ld] ", t + 1, total);
    else
        snprintf(c->stage_prefix, sizeof c->stage_prefix, "[%s] ", what ? what : "");
}

static sa_status run_trials(sa_tune_ctx *c, sa_tune_journal *j, long total,
                            const sa_tune_point *base, sa_error *err) {
    const sa_tune_recipe *r = c->r;
    int d = r->n_knobs;
    table tb = {0};
    sa_status st = table_load(&tb, j->trials, d, total + 1, err);
    for (long t = tb.n; !st && t < total; t++) {
        double u[SA_TUNE_MAX_KNOBS];
        sa_tune_point p;
        sa_tune_propose(r, t, tb.u, (const double(*)[SA_TUNE_N_OBJ])tb.obj, tb.skip, tb.n, u);
        round_point(u, d, &(sa_tune_point){0});
        cJSON *params = sa_tune_params_from_unit(r, u);
        char name[32];
        snprintf(name, sizeof name, "trial-%04ld", t);
        set_stage(c, NULL, t, total);
        int pruned = 0;
        st = params
                 ? sa_tune_evaluate(c, params, 0, name, r->early_fraction, base, &p, &pruned, err)
                 : sa_error_set(err, SA_ENOMEM, "out of memory");
        if (!st) round_point(u, 0, &p);
        int feasible = !st && sa_tune_feasible(r, p.obj, base->obj);
        cJSON *line = st ? NULL : trial_json(t, u, d, params, &p, pruned, feasible);
        if (!st && !line) st = sa_error_set(err, SA_ENOMEM, "out of memory");
        if (!st) st = sa_tune_journal_append(j, line, err);
        if (!st) {
            memcpy(tb.u + t * d, u, (size_t)d * sizeof *u);
            memcpy(tb.obj[t], p.obj, sizeof p.obj);
            tb.pruned[t] = (unsigned char)pruned, tb.skip[t] = (unsigned char)(pruned || !feasible);
            tb.n = t + 1;
        }
        cJSON_Delete(line), cJSON_Delete(params);
        if (!st && sa_progress_report(c->user_progress, "study", (uint64_t)t + 1, (uint64_t)total))
            st = sa_error_set(err, SA_EINTR, "interrupted");
    }
    table_free(&tb);
    return st;
}

/* Index of the chosen trial: pick, else the feasible front trial with the lowest ASR (ties:
 * over-refusal, utility, KL, then the earlier trial). -1 if none. */
static long choose(const cJSON *trials, long pick, sa_error *err, sa_status *st) {
    *st = SA_OK;
    long n = cJSON_GetArraySize(trials), best = -1;
    if (pick >= 0) {
        const cJSON *t = cJSON_GetArrayItem(trials, (int)pick);
        if (pick >= n || cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(t, "pruned")))
            *st = sa_error_set(err, SA_EINVAL, "--pick %ld: not a finished, unpruned trial", pick);
        return pick;
    }
    double bo[SA_TUNE_N_OBJ];
    for (long i = 0; i < n; i++) {
        const cJSON *t = cJSON_GetArrayItem(trials, (int)i);
        if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(t, "feasible"))) continue;
        double o[SA_TUNE_N_OBJ];
        sa_tune_trial_objectives(t, o);
        int better = best < 0;
        for (int k = 0; k < SA_TUNE_N_OBJ && !better; k++) {
            double a = k == SA_OBJ_UTILITY ? -o[k] : o[k], b = k == SA_OBJ_UTILITY ? -bo[k] : bo[k];
            if (a != b) {
                better = a < b;
                break;
            }
        }
        if (better) best = i, memcpy(bo, o, sizeof bo);
    }
    return best;
}

void sa_tune_trial_objectives(const cJSON *trial, double o[SA_TUNE_N_OBJ]) {
    const cJSON *obj = cJSON_GetObjectItemCaseSensitive(trial, "objectives");
    for (int k = 0; k < SA_TUNE_N_OBJ; k++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, sa_tune_objective_name(k));
        o[k] = cJSON_IsNumber(v) ? v->valuedouble : NAN;
    }
}

static sa_status final_evals(sa_tune_ctx *c, sa_tune_report_in *in, sa_error *err) {
    const sa_tune_recipe *r = c->r;
    int pruned;
    set_stage(c, "test split: unmodified", -1, 0);
    sa_status st = sa_tune_evaluate(c, NULL, 1, "test-base", 0, NULL, &in->base_test, &pruned, err);
    if (!st && r->reference) {
        set_stage(c, "test split: reference", -1, 0);
        st = sa_tune_evaluate(c, r->reference, 1, "test-reference", 0, NULL, &in->ref_test, &pruned,
                              err);
    }
    if (!st && in->chosen >= 0) {
        const cJSON *params = cJSON_GetObjectItemCaseSensitive(
            cJSON_GetArrayItem(in->trials, (int)in->chosen), "params");
        char name[40];
        snprintf(name, sizeof name, "test-trial-%04ld", in->chosen);
        set_stage(c, "test split: chosen", -1, 0);
        st = sa_tune_evaluate(c, params, 1, name, 0, NULL, &in->chosen_test, &pruned, err);
    }
    return st;
}

void sa_tune_opts_init(sa_tune_opts *o) {
    *o = (sa_tune_opts){.struct_size = sizeof *o, .pick = -1};
}

sa_status sa_tune_run(const sa_tune_recipe *r, const sa_tune_opts *o_in, sa_tune_result *res,
                      sa_error *err) {
    memset(res, 0, sizeof *res);
    res->chosen = -1;
    sa_tune_opts oc;
    sa_tune_opts_init(&oc);
    if (sa_opts_take(&oc, sizeof oc, o_in, "sa_tune_opts", err)) return SA_EINVAL;
    const sa_tune_opts *o = &oc;
    long total = o->trials > 0 ? o->trials : r->trials;
    sa_tune_journal j;
    sa_status st = sa_tune_journal_open(&j, r, o->dir, o->resume, err);
    if (st) return st;
    sa_tune_ctx c;
    st = sa_tune_ctx_open(&c, r, o, err);
    if (st && j.started) { /* wrong inputs (an empty split, a missing model): no study is left */
        char *kl = sa_path_join(o->dir, "kl_prompts.json");
        if (kl) unlink(kl);
        free(kl);
        sa_tune_ctx_close(&c);
        sa_tune_journal_discard(&j, o->dir);
        return st;
    }
    sa_tune_report_in in = {0};
    in.r = r, in.dir = o->dir, in.judge = c.judge.name;
    int pruned;
    if (!st) set_stage(&c, "unmodified model", -1, 0);
    if (!st) st = sa_tune_evaluate(&c, NULL, 0, "tune-base", 0, NULL, &in.base, &pruned, err);
    if (!st && r->reference) {
        set_stage(&c, "reference", -1, 0);
        st =
            sa_tune_evaluate(&c, r->reference, 0, "tune-reference", 0, NULL, &in.ref, &pruned, err);
    }
    if (!st) st = run_trials(&c, &j, total, &in.base, err);
    in.trials = j.trials;
    if (!st) in.chosen = choose(j.trials, o->pick, err, &st);
    if (!st) st = final_evals(&c, &in, err);
    in.hdr_passes = c.topk ? sa_hdr_topk_passes(c.topk) : 0;
    if (!st) st = sa_tune_write_outputs(&in, res, err);
    if (!st) {
        res->chosen = in.chosen;
        memcpy(res->chosen_test, in.chosen_test.obj, sizeof res->chosen_test);
    }
    sa_tune_ctx_close(&c);
    sa_tune_journal_close(&j);
    return st;
}
