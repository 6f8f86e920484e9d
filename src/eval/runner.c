/* runner.c: the evaluation loop: batches of pending items -> model -> judges -> appended rows.
 *
 * Items are processed dataset by dataset in file order, in batches of cfg->batch prompts, so the
 * backend can generate them together. Items the run directory already holds are skipped, which
 * is all that resume needs. Generation kinds (harmful, benign, QA) produce a response that every
 * judge scores (QA rows are scored by exact match instead); multiple-choice items are scored by
 * the log likelihood of each choice given the question. Each row is self-contained (dataset,
 * index, group, category, verdicts), so the summary depends only on the set of rows. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "eval/eval_json.h"
#include "formats/jsonl.h"
#include "safearith/eval.h"

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static cJSON *row_base(const sa_eval_dataset *ds, int d, const sa_eval_item *it) {
    cJSON *r = cJSON_CreateObject();
    cJSON_AddNumberToObject(r, "ds", d);
    cJSON_AddStringToObject(r, "dataset", ds->name);
    cJSON_AddNumberToObject(r, "i", (double)it->index);
    cJSON_AddStringToObject(r, "group", it->group);
    cJSON_AddStringToObject(r, "kind", sa_eval_kind_name(it->kind));
    if (it->category) cJSON_AddStringToObject(r, "category", it->category);
    cJSON_AddStringToObject(r, "question", it->text);
    return r;
}

/* Exact match after trimming surrounding whitespace. */
static int exact_match(const char *resp, const sa_eval_item *it) {
    while (*resp == ' ' || *resp == '\n' || *resp == '\t' || *resp == '\r') resp++;
    size_t n = strlen(resp);
    while (n && strchr(" \n\t\r", resp[n - 1])) n--;
    for (int a = 0; a < it->n_answers; a++) {
        const char *ans = it->answers[a];
        while (*ans == ' ' || *ans == '\n') ans++;
        size_t m = strlen(ans);
        while (m && strchr(" \n\t\r", ans[m - 1])) m--;
        if (m == n && !memcmp(resp, ans, n)) return 1;
    }
    return 0;
}

/* What the backend reported about a response (servers: finish reason and token counts). */
static void add_gen_info(cJSON *row, const sa_eval_gen_info *gi) {
    if (gi->finish_reason[0]) cJSON_AddStringToObject(row, "finish_reason", gi->finish_reason);
    if (gi->prompt_tokens >= 0)
        cJSON_AddNumberToObject(row, "prompt_tokens", (double)gi->prompt_tokens);
    if (gi->completion_tokens >= 0)
        cJSON_AddNumberToObject(row, "completion_tokens", (double)gi->completion_tokens);
}

/* Generate and judge n items into rows[0..*n_rows). When the backend fails after finishing some
 * responses (a server), the leading finished ones are still judged and returned with the error,
 * so that every finished row is kept; the error names the first item without a response. */
static sa_status gen_batch(const sa_eval_config *cfg, int d, const sa_eval_item *const *items,
                           int n, cJSON **rows, int *n_rows, sa_error *err) {
    const sa_eval_dataset *ds = &cfg->datasets[d];
    char **prompts = calloc((size_t)n, sizeof *prompts), **resp = calloc((size_t)n, sizeof *resp);
    cJSON **judged = calloc((size_t)n, sizeof *judged);
    uint8_t *templated = calloc((size_t)n, 1);
    sa_eval_gen_info *info = calloc((size_t)n, sizeof *info);
    *n_rows = 0;
    sa_status st = (!prompts || !resp || !judged || !templated || !info)
                       ? sa_error_set(err, SA_ENOMEM, "out of memory")
                       : SA_OK;
    for (int i = 0; i < n && !st; i++) {
        templated[i] = cfg->prompting.mode == SA_PROMPT_CHAT;
        info[i] = (sa_eval_gen_info){"", -1, -1};
    }
    for (int i = 0; i < n && !st; i++)
        st = sa_eval_prompt_render(&cfg->prompting, cfg->model, items[i], &prompts[i], err);
    sa_status gen = SA_OK;
    sa_error gen_err = {0};
    if (!st)
        gen = cfg->model->generate(cfg->model->ud, n, (const char *const *)prompts, templated,
                                   &cfg->decoding, resp, info, &gen_err);
    int m = 0; /* leading responses */
    while (!st && m < n && resp[m]) m++;
    if (gen && gen != SA_EINTR) sa_error_prefix(&gen_err, "item %zu", items[m < n ? m : 0]->index);
    for (int i = 0; i < m && !st; i++) {
        resp[i][sa_eval_stop_cut(&cfg->decoding, resp[i])] = 0;
        rows[i] = row_base(ds, d, items[i]);
        cJSON_AddStringToObject(rows[i], "response", resp[i]);
        add_gen_info(rows[i], &info[i]);
        if (items[i]->kind == SA_EVAL_QA) {
            cJSON *a = cJSON_AddArrayToObject(rows[i], "answers");
            for (int k = 0; k < items[i]->n_answers; k++)
                sa_json_attach(a, NULL, cJSON_CreateString(items[i]->answers[k]));
            cJSON_AddNumberToObject(rows[i], "correct", exact_match(resp[i], items[i]));
        } else
            judged[i] = cJSON_AddObjectToObject(rows[i], "judges");
    }
    int judge_it = m && items[0]->kind != SA_EVAL_QA;
    for (int j = 0; j < cfg->n_judges && !st && judge_it; j++)
        st = sa_eval_judge_apply(&cfg->judges[j], m, items, (const char *const *)resp, judged, err);
    if (!st) *n_rows = m;
    if (!st && gen) {
        st = gen;
        if (err) *err = gen_err;
    }
    for (int i = 0; i < n; i++) free(prompts ? prompts[i] : NULL), free(resp ? resp[i] : NULL);
    free(prompts), free(resp), free(judged), free(templated), free(info);
    return st;
}

static sa_status mcq_batch(const sa_eval_config *cfg, int d, const sa_eval_item *const *items,
                           int n, cJSON **rows, sa_error *err) {
    const sa_eval_dataset *ds = &cfg->datasets[d];
    int total = 0;
    for (int i = 0; i < n; i++) total += items[i]->n_choices;
    char **ctx = calloc((size_t)total, sizeof *ctx), **cont = calloc((size_t)total, sizeof *cont);
    double *ll = calloc((size_t)total, sizeof *ll);
    int *ntok = calloc((size_t)total, sizeof *ntok);
    sa_status st =
        (!ctx || !cont || !ll || !ntok) ? sa_error_set(err, SA_ENOMEM, "out of memory") : SA_OK;
    if (!st && !cfg->model->loglik)
        st = sa_error_set(err, SA_EUNSUPPORTED,
                          "multiple-choice items need log likelihoods, which this backend does "
                          "not give (use a local model)");
    const char *fmt = cfg->mcq_fmt ? cfg->mcq_fmt : "Question: {question}\nAnswer:";
    for (int i = 0, k = 0; i < n && !st; i++) {
        const char *names[] = {"question"};
        const char *vals[] = {items[i]->text};
        char *c = sa_eval_subst(fmt, 1, names, vals);
        for (int j = 0; j < items[i]->n_choices && c; j++, k++) {
            ctx[k] = strdup(c);
            size_t l = strlen(items[i]->choices[j]) + 2;
            if ((cont[k] = malloc(l))) snprintf(cont[k], l, " %s", items[i]->choices[j]);
            if (!ctx[k] || !cont[k]) st = sa_error_set(err, SA_ENOMEM, "out of memory");
        }
        if (!c) st = sa_error_set(err, SA_ENOMEM, "out of memory");
        free(c);
    }
    if (!st)
        st = cfg->model->loglik(cfg->model->ud, total, (const char *const *)ctx,
                                (const char *const *)cont, ll, ntok, err);
    for (int i = 0, k = 0; i < n && !st; k += items[i]->n_choices, i++) {
        const sa_eval_item *it = items[i];
        int best = 0, best_norm = 0;
        cJSON *r = rows[i] = row_base(ds, d, it);
        cJSON *a = cJSON_AddArrayToObject(r, "logliks");
        for (int j = 0; j < it->n_choices; j++) {
            sa_json_attach(a, NULL, cJSON_CreateNumber(ll[k + j]));
            if (ll[k + j] > ll[k + best]) best = j;
            double lj = ll[k + j] / (double)strlen(cont[k + j]),
                   lb = ll[k + best_norm] / (double)strlen(cont[k + best_norm]);
            if (lj > lb) best_norm = j;
        }
        cJSON_AddNumberToObject(r, "answer", it->answer);
        cJSON_AddNumberToObject(r, "pred", best);
        cJSON_AddNumberToObject(r, "pred_norm", best_norm);
        cJSON_AddNumberToObject(r, "correct", best == it->answer);
        cJSON_AddNumberToObject(r, "correct_norm", best_norm == it->answer);
    }
    for (int k = 0; k < total; k++) free(ctx ? ctx[k] : NULL), free(cont ? cont[k] : NULL);
    free(ctx), free(cont), free(ll), free(ntok);
    return st;
}

/* Whether a row holds every field its kind writes: cJSON drops a field whose allocation fails,
 * and a row must never be appended short of one. */
static int row_whole(const cJSON *r, const sa_eval_item *it, int n_judges) {
    static const char *const base[] = {"ds", "dataset", "i", "group", "kind", "question"};
    static const char *const gen[] = {"response", "judges"}, *const qa[] = {"response", "answers",
                                                                            "correct"};
    static const char *const mcq[] = {"logliks",   "answer",  "pred",
                                      "pred_norm", "correct", "correct_norm"};
    const char *const *more = it->kind == SA_EVAL_MCQ ? mcq : it->kind == SA_EVAL_QA ? qa : gen;
    size_t n_more = it->kind == SA_EVAL_MCQ ? 6 : it->kind == SA_EVAL_QA ? 3 : 2;
    if (!r || (it->category && !cJSON_HasObjectItem(r, "category"))) return 0;
    for (size_t k = 0; k < 6; k++)
        if (!cJSON_HasObjectItem(r, base[k])) return 0;
    for (size_t k = 0; k < n_more; k++)
        if (!cJSON_HasObjectItem(r, more[k])) return 0;
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(r, it->kind == SA_EVAL_MCQ  ? "logliks"
                                                            : it->kind == SA_EVAL_QA ? "answers"
                                                                                     : "judges");
    int want = it->kind == SA_EVAL_MCQ  ? it->n_choices
               : it->kind == SA_EVAL_QA ? it->n_answers
                                        : n_judges;
    if (cJSON_GetArraySize(list) != want) return 0;
    for (const cJSON *v = it->kind == SA_EVAL_MCQ || it->kind == SA_EVAL_QA ? NULL : list->child; v;
         v = v->next)
        if (!cJSON_HasObjectItem(v, "flag") || !cJSON_HasObjectItem(v, "label")) return 0;
    return 1;
}

typedef struct progress_state {
    const sa_progress *prog;
    uint64_t done, total;
    double t0;
    char stage[160];
} progress_state;

static int report(progress_state *ps, const char *name) {
    double el = now_s() - ps->t0, rate = el > 0 ? (double)ps->done / el : 0;
    snprintf(ps->stage, sizeof ps->stage, "%s %.2f prompts/s", name, rate);
    return sa_progress_report(ps->prog, ps->stage, ps->done, ps->total);
}

sa_status sa_eval_run(const sa_eval_config *cfg, sa_eval_rundir *rd, const sa_progress *prog,
                      sa_error *err) {
    progress_state ps = {prog, 0, 0, now_s(), ""};
    for (int d = 0; d < cfg->n_datasets; d++)
        for (size_t i = 0; i < cfg->datasets[d].n_items; i++)
            ps.total += !sa_eval_rundir_has(rd, d, cfg->datasets[d].items[i].index);
    int B = cfg->batch > 0 ? cfg->batch : 1;
    const sa_eval_item **batch = calloc((size_t)B, sizeof *batch);
    cJSON **rows = calloc((size_t)B, sizeof *rows);
    if (!batch || !rows) {
        free(batch), free(rows);
        return sa_error_set(err, SA_ENOMEM, "out of memory");
    }
    sa_status st = SA_OK;
    if (report(&ps, "starting")) st = sa_error_set(err, SA_EINTR, "interrupted");
    for (int d = 0; d < cfg->n_datasets && !st; d++) {
        const sa_eval_dataset *ds = &cfg->datasets[d];
        size_t i = 0;
        while (i < ds->n_items && !st) {
            int n = 0;
            sa_eval_kind kind = SA_EVAL_AUTO;
            /* A batch holds pending items of one scoring kind (MCQ / QA / judged). */
            for (; i < ds->n_items && n < B; i++) {
                const sa_eval_item *it = &ds->items[i];
                if (sa_eval_rundir_has(rd, d, it->index)) continue;
                sa_eval_kind k = it->kind == SA_EVAL_BENIGN ? SA_EVAL_HARMFUL : it->kind;
                if (n && k != kind) break;
                kind = k;
                batch[n++] = it;
            }
            if (!n) continue;
            memset(rows, 0, (size_t)B * sizeof *rows);
            int kept = n;
            st = kind == SA_EVAL_MCQ ? mcq_batch(cfg, d, batch, n, rows, err)
                                     : gen_batch(cfg, d, batch, n, rows, &kept, err);
            for (int k = 0; k < kept; k++) /* only whole rows are appended */
                if (!row_whole(rows[k], batch[k], cfg->n_judges)) {
                    kept = k;
                    if (!st) st = sa_error_set(err, SA_ENOMEM, "out of memory (building a row)");
                }
            sa_error append_err = {0};
            sa_status ast = (!st || kept < n) && kept
                                ? sa_eval_rundir_append(rd, kept, rows, &append_err)
                                : SA_OK;
            if (ast && !st) {
                st = ast;
                if (err) *err = append_err;
            }
            for (int k = 0; k < n; k++) cJSON_Delete(rows[k]);
            ps.done += (uint64_t)kept;
            if (!st && report(&ps, ds->name)) st = sa_error_set(err, SA_EINTR, "interrupted");
            if (st && st != SA_EINTR) sa_error_prefix(err, "%s", ds->name);
        }
    }
    free(batch), free(rows);
    return st;
}
