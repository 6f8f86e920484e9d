/* tune_report.c: front.json, report.md and the three charts of a finished study.
 *
 * The front is taken over every unpruned trial (feasible or not: the user may prefer a point
 * outside the constraints); front.json lists its trials, as in the journal, by ASR. report.md
 * says which split each number comes from: the front and the references on the tuning split,
 * the chosen point's final evaluation on the test split, with McNemar's paired test against
 * its neighbours on the front (tuning split) and against the unmodified model and the
 * reference (test split). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formats/json_build.h"
#include "core/fsutil.h"
#include "safearith/paired.h"
#include "tune/tune_report.h"
#include "tune/tune_svg.h"

static sa_status write_text(const char *dir, const char *name, const char *text, sa_error *err) {
    char *p = sa_path_join(dir, name);
    sa_afile af;
    sa_status st =
        p ? sa_afile_open(&af, p, 1, err) : sa_error_set(err, SA_ENOMEM, "out of memory");
    if (!st) fputs(text, af.fp), st = sa_afile_commit(&af, err);
    free(p);
    return st;
}

static void params_text(sa_sbuf *b, const cJSON *params) {
    const cJSON *v;
    int first = 1;
    cJSON_ArrayForEach(v, params) {
        sa_sbuf_printf(b, "%s%s=", first ? "" : " ", v->string);
        if (cJSON_IsNumber(v))
            sa_sbuf_printf(b, "%g", v->valuedouble);
        else if (cJSON_IsString(v))
            sa_sbuf_printf(b, "%s", v->valuestring);
        first = 0;
    }
}

static void point_row(sa_sbuf *b, const char *name, const char *split, const sa_tune_point *p) {
    sa_sbuf_printf(b, "| %s | %s | %.1f | %.1f | %.1f | %.4f | %.4f |\n", name, split,
                   p->obj[SA_OBJ_ASR], p->obj[SA_OBJ_OVER_REFUSAL], p->obj[SA_OBJ_UTILITY],
                   p->obj[SA_OBJ_KL], p->kl_first);
}

static const char point_head[] =
    "| point | split | ASR % | over-refusal % | utility % | KL | KL first token |\n"
    "|---|---|---|---|---|---|---|\n";

/* Front indices sorted by ASR (then trial number). */
static long *front_order(const cJSON *trials, long *nf) {
    long n = cJSON_GetArraySize(trials);
    double(*obj)[SA_TUNE_N_OBJ] = calloc((size_t)n + 1, sizeof *obj);
    unsigned char *skip = calloc((size_t)n + 1, 1), *on = calloc((size_t)n + 1, 1);
    long *idx = calloc((size_t)n + 1, sizeof *idx);
    *nf = 0;
    if (!obj || !skip || !on || !idx) {
        free(obj), free(skip), free(on), free(idx);
        return NULL;
    }
    for (long i = 0; i < n; i++) {
        const cJSON *t = cJSON_GetArrayItem(trials, (int)i);
        sa_tune_trial_objectives(t, obj[i]);
        skip[i] = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(t, "pruned"));
    }
    sa_tune_front((const double(*)[SA_TUNE_N_OBJ])obj, (size_t)n, skip, on);
    for (long i = 0; i < n; i++)
        if (on[i]) idx[(*nf)++] = i;
    for (long a = 1; a < *nf; a++) /* insertion sort by ASR: the front is small */
        for (long k = a; k > 0 && obj[idx[k]][SA_OBJ_ASR] < obj[idx[k - 1]][SA_OBJ_ASR]; k--) {
            long t = idx[k];
            idx[k] = idx[k - 1], idx[k - 1] = t;
        }
    free(obj), free(skip), free(on);
    return idx;
}

static void front_table(sa_sbuf *b, const sa_tune_report_in *in, const long *idx, long nf) {
    sa_sbuf_printf(b, "| trial | params | ASR %% | over-refusal %% | utility %% | KL | KL first | "
                      "meets constraints |\n|---|---|---|---|---|---|---|---|\n");
    for (long f = 0; f < nf; f++) {
        const cJSON *t = cJSON_GetArrayItem(in->trials, (int)idx[f]);
        double o[SA_TUNE_N_OBJ];
        sa_tune_trial_objectives(t, o);
        sa_sbuf_printf(b, "| %s%ld%s | ", idx[f] == in->chosen ? "**" : "", idx[f],
                       idx[f] == in->chosen ? " (chosen)**" : "");
        params_text(b, cJSON_GetObjectItemCaseSensitive(t, "params"));
        const cJSON *klf = cJSON_GetObjectItemCaseSensitive(t, "kl_first");
        sa_sbuf_printf(b, " | %.1f | %.1f | %.1f | %.4f | %.4f | %s |\n", o[0], o[1], o[2], o[3],
                       cJSON_IsNumber(klf) ? klf->valuedouble : NAN,
                       cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(t, "feasible")) ? "yes"
                                                                                     : "no");
    }
}

static sa_status charts(const sa_tune_report_in *in, const long *idx, long nf, sa_error *err) {
    long n = cJSON_GetArraySize(in->trials);
    sa_svg_point *p = calloc((size_t)n + 4, sizeof *p);
    char(*labels)[24] = calloc((size_t)n + 1, sizeof *labels);
    if (!p || !labels) return free(p), free(labels), sa_error_set(err, SA_ENOMEM, "out of memory");
    static const int ys[3] = {SA_OBJ_UTILITY, SA_OBJ_OVER_REFUSAL, SA_OBJ_KL};
    static const char *const names[3] = {"front-asr-utility.svg", "front-asr-over-refusal.svg",
                                         "front-asr-kl.svg"};
    static const char *const ylab[3] = {"utility % (up is better)",
                                        "over-refusal % (down is better)",
                                        "KL vs the unmodified model (down is better)"};
    sa_status st = SA_OK;
    for (int c = 0; c < 3 && !st; c++) {
        int k = 0;
        for (long i = 0; i < n; i++) {
            const cJSON *t = cJSON_GetArrayItem(in->trials, (int)i);
            if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(t, "pruned"))) continue;
            double o[SA_TUNE_N_OBJ];
            sa_tune_trial_objectives(t, o);
            int on = 0;
            for (long f = 0; f < nf; f++) on |= idx[f] == i;
            snprintf(labels[i], sizeof labels[i], "trial %ld", i);
            p[k++] = (sa_svg_point){o[SA_OBJ_ASR], o[ys[c]], on, labels[i]};
            if (i == in->chosen) p[k++] = (sa_svg_point){o[SA_OBJ_ASR], o[ys[c]], 2, "chosen"};
        }
        p[k++] = (sa_svg_point){in->base.obj[SA_OBJ_ASR], in->base.obj[ys[c]], 3, "unmodified"};
        if (in->r->reference)
            p[k++] = (sa_svg_point){in->ref.obj[SA_OBJ_ASR], in->ref.obj[ys[c]], 4, "reference"};
        sa_sbuf b = {0};
        char title[96];
        snprintf(title, sizeof title, "ASR against %s (tuning split)",
                 sa_tune_objective_name(ys[c]));
        sa_tune_svg(&b, title, "ASR % (left is better)", ylab[c], p, k);
        st = b.oom ? sa_error_set(err, SA_ENOMEM, "out of memory")
                   : write_text(in->dir, names[c], b.s, err);
        free(b.s);
    }
    free(p), free(labels);
    return st;
}

static char *run_path(const sa_tune_report_in *in, const char *name) {
    char *runs = sa_path_join(in->dir, "runs"), *p = runs ? sa_path_join(runs, name) : NULL;
    free(runs);
    return p;
}

/* McNemar: the chosen trial against its neighbours on the front (tuning split) and against the
 * unmodified model and the reference (test split). */
static sa_status paired(sa_sbuf *b, const sa_tune_report_in *in, const long *idx, long nf,
                        sa_error *err) {
    char name[4][40], *dirs[4] = {0}, *text = NULL;
    const char *labels[4];
    int n = 0;
    long pos = -1;
    for (long f = 0; f < nf; f++)
        if (idx[f] == in->chosen) pos = f;
    long nb[3] = {in->chosen, pos > 0 ? idx[pos - 1] : -1,
                  pos >= 0 && pos + 1 < nf ? idx[pos + 1] : -1};
    for (int i = 0; i < 3; i++) {
        if (nb[i] < 0) continue;
        snprintf(name[n], sizeof name[n], "trial-%04ld", nb[i]);
        labels[n] = name[n];
        dirs[n] = run_path(in, name[n]);
        n++;
    }
    if (in->r->reference) labels[n] = "reference", dirs[n++] = run_path(in, "tune-reference");
    sa_status st = SA_OK;
    if (n > 1) {
        st = sa_eval_paired_markdown(n, (const char *const *)dirs, labels, in->judge, &text, err);
        if (!st)
            sa_sbuf_printf(b,
                           "\nAgainst its neighbours on the front and the reference (tuning "
                           "split):\n%s",
                           text);
        free(text), text = NULL;
    }
    for (int i = 0; i < 4; i++) free(dirs[i]), dirs[i] = NULL;
    snprintf(name[0], sizeof name[0], "test-trial-%04ld", in->chosen);
    const char *tl[3] = {"chosen", "unmodified", "reference"};
    dirs[0] = run_path(in, name[0]), dirs[1] = run_path(in, "test-base");
    dirs[2] = run_path(in, "test-reference");
    if (!st)
        st = sa_eval_paired_markdown(in->r->reference ? 3 : 2, (const char *const *)dirs, tl,
                                     in->judge, &text, err);
    if (!st)
        sa_sbuf_printf(b, "\nOn the test split (rate of the chosen point → the other's):\n%s",
                       text);
    free(text);
    for (int i = 0; i < 3; i++) free(dirs[i]);
    return st;
}

static void constraints_text(sa_sbuf *b, const sa_tune_recipe *r) {
    sa_sbuf_printf(b, "Constraints (against the unmodified model on the tuning split):");
    int any = 0;
    if (!isnan(r->utility_drop))
        sa_sbuf_printf(b, " utility drop ≤ %g points;", r->utility_drop), any = 1;
    if (!isnan(r->over_refusal_rise))
        sa_sbuf_printf(b, " over-refusal ≤ unmodified + %g points;", r->over_refusal_rise), any = 1;
    if (!isnan(r->max_kl)) sa_sbuf_printf(b, " KL ≤ %g;", r->max_kl), any = 1;
    sa_sbuf_printf(b, "%s\n\n", any ? "" : " none.");
}

static sa_status report_md(sa_sbuf *b, const sa_tune_report_in *in, const long *idx, long nf,
                           sa_error *err) {
    const sa_tune_recipe *r = in->r;
    long n = cJSON_GetArraySize(in->trials), pruned = 0;
    const cJSON *t;
    cJSON_ArrayForEach(t, in->trials) pruned +=
        cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(t, "pruned"));
    sa_sbuf_printf(b,
                   "# Tune study: %s\n\nRecipe `%s` (fingerprint %.16s), judge `%s`. %ld trials "
                   "(%ld stopped early on a %.0f %% subset), seed %llu: %d space-filling "
                   "(scrambled Halton), then steps from the front (docs/tune.md).\n\n",
                   sa_tune_method_name(r->method), r->path, r->fingerprint, in->judge, n, pruned,
                   r->early_fraction * 100, (unsigned long long)r->seed, r->initial);
    sa_sbuf_printf(b,
                   "Percent for ASR, over-refusal and utility (pooled over the split's prompts of "
                   "each kind); KL: mean KL(unmodified ‖ trial) over the first %d answer tokens of "
                   "%d benign prompts of the tuning split (KL first: the first token only).\n\n",
                   r->kl_tokens, r->kl_prompts);
    if (in->hdr_passes)
        sa_sbuf_printf(b,
                       "HDR thresholds for every k of this run came from %d pass%s over the harm "
                       "vector (one histogram, refined per bin).\n\n",
                       in->hdr_passes, in->hdr_passes > 1 ? "es" : "");
    constraints_text(b, r);
    sa_sbuf_printf(b, "%s", point_head);
    point_row(b, "unmodified", "tune", &in->base);
    if (r->reference) {
        sa_sbuf rb = {0};
        params_text(&rb, r->reference);
        char label[300];
        snprintf(label, sizeof label, "reference (%s)", rb.s ? rb.s : "");
        free(rb.s);
        point_row(b, label, "tune", &in->ref);
    }
    sa_sbuf_printf(b, "\n## Front (tuning split): %ld of %ld unpruned trials\n\n", nf, n - pruned);
    front_table(b, in, idx, nf);
    sa_sbuf_printf(b, "\n![ASR vs utility](front-asr-utility.svg)\n![ASR vs over-refusal]"
                      "(front-asr-over-refusal.svg)\n![ASR vs KL](front-asr-kl.svg)\n");
    if (in->chosen < 0) {
        sa_sbuf_printf(b,
                       "\n## Chosen point\n\nNo trial meets the constraints; none was evaluated on "
                       "the test split (pick one with --pick TRIAL).\n");
        return SA_OK;
    }
    sa_sbuf_printf(b, "\n## Chosen point: trial %ld\n\n", in->chosen);
    params_text(b, cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(in->trials, (int)in->chosen),
                                                    "params"));
    sa_sbuf_printf(b,
                   "\n\nFinal evaluation on the **test split** (never used for tuning; KL still on "
                   "the tuning split's KL prompts):\n\n%s",
                   point_head);
    point_row(b, "unmodified", "test", &in->base_test);
    if (r->reference) point_row(b, "reference", "test", &in->ref_test);
    point_row(b, "chosen", "test", &in->chosen_test);
    return paired(b, in, idx, nf, err);
}

sa_status sa_tune_write_outputs(const sa_tune_report_in *in, sa_tune_result *res, sa_error *err) {
    long nf = 0;
    long *idx = front_order(in->trials, &nf);
    if (!idx) return sa_error_set(err, SA_ENOMEM, "out of memory");
    sa_jb b = {0}; /* front.json never short of a trial */
    cJSON *front = cJSON_CreateArray();
    b.oom = !front;
    for (long f = 0; f < nf; f++)
        sa_jb_add(&b, front, NULL, cJSON_Duplicate(cJSON_GetArrayItem(in->trials, (int)idx[f]), 1));
    char *ftext = b.oom ? NULL : cJSON_Print(front);
    cJSON_Delete(front);
    sa_sbuf md = {0};
    sa_status st = ftext ? write_text(in->dir, "front.json", ftext, err)
                         : sa_error_set(err, SA_ENOMEM, "out of memory");
    if (!st) st = charts(in, idx, nf, err);
    if (!st) st = report_md(&md, in, idx, nf, err);
    if (!st && md.oom) st = sa_error_set(err, SA_ENOMEM, "out of memory");
    if (!st) st = write_text(in->dir, "report.md", md.s, err);
    res->n_trials = cJSON_GetArraySize(in->trials);
    res->n_front = nf;
    const cJSON *t;
    cJSON_ArrayForEach(t, in->trials) res->n_pruned +=
        cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(t, "pruned"));
    free(ftext), free(md.s), free(idx);
    return st;
}
