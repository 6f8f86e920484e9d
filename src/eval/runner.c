/* runner.c: the evaluation loop: pending items -> model -> judges -> appended rows.
 *
 * The items the run directory does not hold yet (which is all that resume needs) are taken in
 * row order, dataset by dataset in file order, and cut into runs of items scored alike.
 * Generation kinds (harmful, benign, QA) go to the backend as one stream per run: a server keeps
 * `concurrency` requests in flight across the whole run, and rows are appended in item order as
 * soon as the leading responses are in (a backend without streaming generates batches of
 * cfg->batch prompts). Every judge scores each response (QA rows are scored by exact match
 * instead); model judges take whole batches. Multiple-choice items are scored in batches by the
 * log likelihood of each choice given the question. Each row is self-contained (dataset, index,
 * group, category, verdicts), so the summary depends only on the set of rows, and the file's
 * order only on the datasets. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "eval/eval_json.h"
#include "formats/json_build.h"
#include "formats/jsonl.h"
#include "safearith/eval.h"

double sa_eval_now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* The fields every row has. Rows are built with a builder each (b->oom: the row is short of a
 * field), and a row short of one is never appended. */
static cJSON *row_base(sa_jb *b, const sa_eval_dataset *ds, int d, const sa_eval_item *it) {
    cJSON *r = sa_jb_root(b);
    sa_jb_num(b, r, "ds", d);
    sa_jb_str(b, r, "dataset", ds->name);
    sa_jb_num(b, r, "i", (double)it->index);
    sa_jb_str(b, r, "group", it->group);
    sa_jb_str(b, r, "kind", sa_eval_kind_name(it->kind));
    if (it->category) sa_jb_str(b, r, "category", it->category);
    sa_jb_str(b, r, "question", it->text);
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

/* What the backend reported about a response (servers: finish reason and token counts; each
 * only when known). */
static void add_gen_info(sa_jb *b, cJSON *row, const sa_eval_gen_info *gi) {
    if (gi->finish_reason[0]) sa_jb_str(b, row, "finish_reason", gi->finish_reason);
    if (gi->prompt_tokens >= 0) sa_jb_num(b, row, "prompt_tokens", (double)gi->prompt_tokens);
    if (gi->completion_tokens >= 0)
        sa_jb_num(b, row, "completion_tokens", (double)gi->completion_tokens);
}

/* A generated response's row: the base fields, the response and, for QA items, the answers and
 * exact match; for judged items *judged is the (empty) object the judges add their verdicts to.
 * NULL if a field could not be added. */
static cJSON *gen_row(const sa_eval_config *cfg, int d, const sa_eval_item *it, const char *resp,
                      const sa_eval_gen_info *gi, cJSON **judged) {
    sa_jb b = {0};
    cJSON *r = row_base(&b, &cfg->datasets[d], d, it);
    sa_jb_str(&b, r, "response", resp);
    add_gen_info(&b, r, gi);
    if (it->kind == SA_EVAL_QA) {
        cJSON *a = sa_jb_arr(&b, r, "answers");
        for (int k = 0; k < it->n_answers; k++) sa_jb_str(&b, a, NULL, it->answers[k]);
        sa_jb_num(&b, r, "correct", exact_match(resp, it));
    } else
        *judged = sa_jb_obj(&b, r, "judges");
    if (b.oom) *judged = NULL; /* it went with the row */
    return sa_jb_done(&b, r);
}

static sa_status mcq_batch(const sa_eval_config *cfg, const int *ds,
                           const sa_eval_item *const *items, int n, cJSON **rows, sa_error *err) {
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
        sa_jb b = {0};
        cJSON *r = row_base(&b, &cfg->datasets[ds[i]], ds[i], it);
        cJSON *a = sa_jb_arr(&b, r, "logliks");
        for (int j = 0; j < it->n_choices; j++) {
            sa_jb_num(&b, a, NULL, ll[k + j]);
            if (ll[k + j] > ll[k + best]) best = j;
            double lj = ll[k + j] / (double)strlen(cont[k + j]),
                   lb = ll[k + best_norm] / (double)strlen(cont[k + best_norm]);
            if (lj > lb) best_norm = j;
        }
        sa_jb_num(&b, r, "answer", it->answer);
        sa_jb_num(&b, r, "pred", best);
        sa_jb_num(&b, r, "pred_norm", best_norm);
        sa_jb_num(&b, r, "correct", best == it->answer);
        sa_jb_num(&b, r, "correct_norm", best_norm == it->answer);
        rows[i] = sa_jb_done(&b, r); /* NULL: mcq_items stops before it */
    }
    for (int k = 0; k < total; k++) free(ctx ? ctx[k] : NULL), free(cont ? cont[k] : NULL);
    free(ctx), free(cont), free(ll), free(ntok);
    return st;
}

typedef struct progress_state {
    const sa_progress *prog;
    uint64_t done, total;
    double t0;
    char stage[160];
} progress_state;

static int report(progress_state *ps, const char *name) {
    double el = sa_eval_now_s() - ps->t0, rate = el > 0 ? (double)ps->done / el : 0;
    snprintf(ps->stage, sizeof ps->stage, "%s %.2f prompts/s", name, rate);
    return sa_progress_report(ps->prog, ps->stage, ps->done, ps->total);
}

/* One stream of generation items: responses arrive in item order, rows are committed behind. */
typedef struct gen_run {
    const sa_eval_config *cfg;
    sa_eval_rundir *rd;
    progress_state *ps;
    const sa_eval_item *const *items;
    const int *ds; /* each item's dataset */
    char **resp;
    sa_eval_gen_info *info;
    int n;
    int ready;     /* responses 0 .. ready-1 are in (those below committed are consumed) */
    int committed; /* rows appended */
    int group;     /* rows judged together: the batch for model judges, else whatever is ready */
    int broken;    /* a commit failed: nothing more is appended */
} gen_run;

/* Build, judge and append m rows (g->committed onward), consuming their responses. A row that
 * cannot be built whole stops the run; the rows before it are still judged and appended (none of
 * the group when a verdict could not be added: the judge fails). */
static sa_status commit(gen_run *g, int m, sa_error *err) {
    const sa_eval_config *cfg = g->cfg;
    int at = g->committed;
    const sa_eval_item *const *items = g->items + at;
    const int *ds = g->ds + at;
    char **resp = g->resp + at;
    cJSON **rows = calloc((size_t)m, sizeof *rows), **judged = calloc((size_t)m, sizeof *judged);
    sa_status st = (!rows || !judged) ? sa_error_set(err, SA_ENOMEM, "out of memory") : SA_OK;
    int whole = 0; /* rows 0 .. whole-1 were built with every field */
    for (int i = 0; i < m && !st; i++) {
        resp[i][sa_eval_stop_cut(&cfg->decoding, resp[i])] = 0;
        if (whole == i &&
            (rows[i] = gen_row(cfg, ds[i], items[i], resp[i], &g->info[at + i], &judged[i])))
            whole++;
    }
    for (int j = 0; j < cfg->n_judges && !st && whole && items[0]->kind != SA_EVAL_QA; j++)
        st = sa_eval_judge_apply(&cfg->judges[j], whole, items, (const char *const *)resp, judged,
                                 err);
    int kept = st ? 0 : whole; /* only whole rows are appended */
    if (!st && kept < m) st = sa_error_set(err, SA_ENOMEM, "out of memory (building a row)");
    sa_error append_err = {0};
    sa_status ast = kept ? sa_eval_rundir_append(g->rd, kept, rows, &append_err) : SA_OK;
    if (ast && !st) {
        st = ast;
        if (err) *err = append_err;
    }
    for (int i = 0; i < m; i++) {
        free(resp[i]), resp[i] = NULL;
        if (rows) cJSON_Delete(rows[i]);
    }
    free(rows), free(judged);
    if (!st) g->committed += m; /* else it names the group in the message */
    g->ps->done += (uint64_t)(ast ? 0 : kept);
    if (!st && report(g->ps, cfg->datasets[ds[m - 1]].name))
        st = sa_error_set(err, SA_EINTR, "interrupted");
    g->broken = st != SA_OK;
    return st;
}

/* Commit the ready responses, in whole groups unless `all`. */
static sa_status commit_ready(gen_run *g, int all, sa_error *err) {
    sa_status st = SA_OK;
    while (!st && g->ready - g->committed >= (all ? 1 : g->group)) {
        int m = g->ready - g->committed;
        if (g->group > 1 && m > g->group) m = g->group;
        st = commit(g, m, err);
    }
    return st;
}

/* sa_eval_gen_stream.deliver: responses from .. from + count - 1 are in. */
static sa_status on_ready(void *ctx, int from, int count, sa_error *err) {
    gen_run *g = ctx;
    g->ready = from + count;
    return commit_ready(g, 0, err);
}

/* generate_stream for a backend without one: generate() on successive batches. */
static sa_status stream_in_batches(const sa_eval_backend *be, sa_eval_gen_stream *job, int batch,
                                   sa_error *err) {
    job->failed = -1;
    for (int at = 0; at < job->n; at += batch) {
        int n = job->n - at < batch ? job->n - at : batch;
        sa_status st =
            be->generate(be->ud, n, job->prompts + at, job->templated ? job->templated + at : NULL,
                         job->dec, job->out + at, job->info ? job->info + at : NULL, err);
        if (!st) st = job->deliver(job->ctx, at, n, err);
        if (st) return st;
    }
    return SA_OK;
}

/* After the stream: keep the responses that continue the delivered ones (a failed stream), and
 * commit what is left. *from_gen: the error, if any, is the generation's. */
static sa_status finish_stream(gen_run *g, sa_status gen, sa_error *gen_err, int *from_gen,
                               sa_error *err) {
    *from_gen = 0;
    if (g->broken) { /* a commit failed inside the stream: gen is its error */
        if (err) *err = *gen_err;
        return gen;
    }
    while (g->ready < g->n && g->resp[g->ready]) g->ready++;
    sa_status st = commit_ready(g, 1, err);
    if (st && !(st == SA_EINTR && gen)) return st;
    if (gen && err) *err = *gen_err;
    *from_gen = gen != SA_OK;
    return gen;
}

/* Generate and judge n items of one scoring kind (judged or QA) as one stream: the backend keeps
 * busy across all of them while rows are appended in item order as soon as they are complete. */
static sa_status gen_items(const sa_eval_config *cfg, sa_eval_rundir *rd, progress_state *ps,
                           const sa_eval_item *const *items, const int *ds, int n, sa_error *err) {
    int B = cfg->batch > 0 ? cfg->batch : 1, model_judge = 0;
    for (int j = 0; j < cfg->n_judges; j++) model_judge |= cfg->judges[j].is_model;
    char **prompts = calloc((size_t)n, sizeof *prompts), **resp = calloc((size_t)n, sizeof *resp);
    uint8_t *templated = calloc((size_t)n, 1);
    sa_eval_gen_info *info = calloc((size_t)n, sizeof *info);
    sa_status st = (!prompts || !resp || !templated || !info)
                       ? sa_error_set(err, SA_ENOMEM, "out of memory")
                       : SA_OK;
    for (int i = 0; i < n && !st; i++) {
        templated[i] = cfg->prompting.mode == SA_PROMPT_CHAT;
        info[i] = (sa_eval_gen_info){"", -1, -1};
        st = sa_eval_prompt_render(&cfg->prompting, cfg->model, items[i], &prompts[i], err);
    }
    gen_run g = {cfg, rd, ps, items, ds, resp, info, n, 0, 0, 1, 0};
    if (model_judge && items[0]->kind != SA_EVAL_QA) g.group = B;
    sa_eval_gen_stream job = {
        n, (const char *const *)prompts, templated, &cfg->decoding, resp, info, B, on_ready, &g,
        -1};
    sa_error gen_err = {0};
    int from_gen = 0;
    if (!st) {
        const sa_eval_backend *be = cfg->model;
        sa_status gen = be->generate_stream ? be->generate_stream(be->ud, &job, &gen_err)
                                            : stream_in_batches(be, &job, B, &gen_err);
        st = finish_stream(&g, gen, &gen_err, &from_gen, err);
    }
    if (st && st != SA_EINTR && n) {
        int at = !from_gen ? g.committed : job.failed >= 0 ? job.failed : g.ready;
        at = at < n ? at : n - 1;
        if (from_gen) sa_error_prefix(err, "item %zu", items[at]->index);
        sa_error_prefix(err, "%s", cfg->datasets[ds[at]].name);
    }
    for (int i = 0; i < n; i++) free(prompts ? prompts[i] : NULL), free(resp ? resp[i] : NULL);
    free(prompts), free(resp), free(templated), free(info);
    return st;
}

/* Score n multiple-choice items in batches of the configured size. */
static sa_status mcq_items(const sa_eval_config *cfg, sa_eval_rundir *rd, progress_state *ps,
                           const sa_eval_item *const *items, const int *ds, int n, sa_error *err) {
    int B = cfg->batch > 0 ? cfg->batch : 1;
    cJSON **rows = calloc((size_t)B, sizeof *rows);
    sa_status st = rows ? SA_OK : sa_error_set(err, SA_ENOMEM, "out of memory");
    for (int at = 0; at < n && !st; at += B) {
        int m = n - at < B ? n - at : B, kept = 0;
        memset(rows, 0, (size_t)B * sizeof *rows);
        st = mcq_batch(cfg, ds + at, items + at, m, rows, err);
        while (!st && kept < m && rows[kept]) kept++;
        if (!st && kept < m) st = sa_error_set(err, SA_ENOMEM, "out of memory (building a row)");
        sa_error append_err = {0};
        sa_status ast = kept ? sa_eval_rundir_append(rd, kept, rows, &append_err) : SA_OK;
        if (ast && !st) {
            st = ast;
            if (err) *err = append_err;
        }
        for (int k = 0; k < m; k++) cJSON_Delete(rows[k]);
        ps->done += (uint64_t)(ast ? 0 : kept);
        const char *name = cfg->datasets[ds[at + m - 1]].name;
        if (!st && report(ps, name)) st = sa_error_set(err, SA_EINTR, "interrupted");
        if (st && st != SA_EINTR)
            sa_error_prefix(err, "%s", cfg->datasets[ds[at + (kept < m ? kept : m - 1)]].name);
    }
    free(rows);
    return st;
}

/* What an item is scored by: a judge (harmful and benign), exact match (QA) or choices (MCQ). */
static sa_eval_kind scoring(const sa_eval_item *it) {
    return it->kind == SA_EVAL_BENIGN ? SA_EVAL_HARMFUL : it->kind;
}

sa_status sa_eval_run(const sa_eval_config *cfg, sa_eval_rundir *rd, const sa_progress *prog,
                      sa_error *err) {
    progress_state ps = {prog, 0, 0, sa_eval_now_s(), ""};
    for (int d = 0; d < cfg->n_datasets; d++)
        for (size_t i = 0; i < cfg->datasets[d].n_items; i++)
            ps.total += !sa_eval_rundir_has(rd, d, cfg->datasets[d].items[i].index);
    /* the pending items in row order: dataset by dataset, each in file order */
    const sa_eval_item **items = calloc((size_t)ps.total + 1, sizeof *items);
    int *ds = calloc((size_t)ps.total + 1, sizeof *ds);
    sa_status st = (!items || !ds) ? sa_error_set(err, SA_ENOMEM, "out of memory") : SA_OK;
    size_t n = 0;
    for (int d = 0; d < cfg->n_datasets && !st; d++)
        for (size_t i = 0; i < cfg->datasets[d].n_items; i++)
            if (!sa_eval_rundir_has(rd, d, cfg->datasets[d].items[i].index))
                items[n] = &cfg->datasets[d].items[i], ds[n++] = d;
    if (!st && report(&ps, "starting")) st = sa_error_set(err, SA_EINTR, "interrupted");
    /* runs of consecutive items scored alike, each one stream (across datasets) */
    for (size_t at = 0, end; at < n && !st; at = end) {
        for (end = at + 1; end < n && end - at < (1u << 30); end++)
            if (scoring(items[end]) != scoring(items[at])) break;
        st = scoring(items[at]) == SA_EVAL_MCQ
                 ? mcq_items(cfg, rd, &ps, items + at, ds + at, (int)(end - at), err)
                 : gen_items(cfg, rd, &ps, items + at, ds + at, (int)(end - at), err);
    }
    free(items), free(ds);
    sa_error sync_err = {0}; /* the rows appended are durable before the run says anything */
    sa_status sst = sa_eval_rundir_sync(rd, &sync_err);
    if (sst && (!st || st == SA_EINTR)) {
        st = sst;
        if (err) *err = sync_err;
    }
    return st;
}
