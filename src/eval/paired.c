/* paired.c: McNemar's exact test between two runs over the same prompts (see paired.h).
 *
 * Each run's rows become (key, metric, outcome) records, key = dataset, item index and group;
 * the records of A are sorted by key and every record of B looks up its partner. The binomial
 * tail is summed in log space (lgamma), so b + c in the millions stays finite and exact to
 * double precision. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eval/rows.h"
#include "eval/strbuf.h"
#include "formats/jsonl.h"
#include "core/fsutil.h"
#include "safearith/paired.h"

double sa_mcnemar_exact(long b, long c) {
    long n = b + c, k = b < c ? b : c;
    if (n <= 0) return 1.0;
    double tail = 0, ln2 = log(2.0);
    for (long i = 0; i <= k; i++)
        tail += exp(lgamma((double)n + 1) - lgamma((double)i + 1) - lgamma((double)(n - i) + 1) -
                    (double)n * ln2);
    double p = 2 * tail;
    return p > 1 ? 1.0 : p;
}

const char *sa_paired_metric_name(sa_paired_metric m) {
    static const char *names[] = {"asr", "over_refusal", "utility"};
    return m < SA_PAIRED_N ? names[m] : "?";
}

typedef struct outcome {
    char *key;
    int metric; /* sa_paired_metric */
    int yes;
} outcome;

/* The metric and outcome of one row; 0 if the row has none (unparseable verdict, other judge). */
static int row_outcome(const cJSON *row, const char *judge, int *metric, int *yes) {
    const char *kind = cJSON_GetObjectItemCaseSensitive(row, "kind")->valuestring;
    if (!strcmp(kind, "mcq") || !strcmp(kind, "qa")) {
        const cJSON *c = cJSON_GetObjectItemCaseSensitive(row, "correct");
        if (!cJSON_IsNumber(c)) return 0;
        *metric = SA_PAIRED_UTILITY, *yes = c->valuedouble != 0;
        return 1;
    }
    const cJSON *js = cJSON_GetObjectItemCaseSensitive(row, "judges");
    const cJSON *v =
        judge ? cJSON_GetObjectItemCaseSensitive(js, judge) : cJSON_GetArrayItem(js, 0);
    const cJSON *flag = cJSON_GetObjectItemCaseSensitive(v, "flag");
    if (!cJSON_IsNumber(flag) || flag->valueint < 0) return 0;
    int harmful = !strcmp(kind, "harmful");
    *metric = harmful ? SA_PAIRED_ASR : SA_PAIRED_OVER_REFUSAL;
    *yes = harmful ? flag->valueint == 1 : flag->valueint == 0;
    return 1;
}

static int cmp_outcome(const void *a, const void *b) {
    return strcmp(((const outcome *)a)->key, ((const outcome *)b)->key);
}

static void free_outcomes(outcome *o, size_t n) {
    for (size_t i = 0; o && i < n; i++) free(o[i].key);
    free(o);
}

/* Read RUN/responses.jsonl into outcome records sorted by key. */
static sa_status load_outcomes(const char *dir, const char *judge, outcome **out, size_t *n_out,
                               sa_error *err) {
    *out = NULL, *n_out = 0;
    char *path = sa_path_join(dir, "responses.jsonl");
    cJSON *rows = NULL;
    size_t *line_of = NULL;
    sa_status st = path ? sa_jsonl_read(path, 0, &rows, &line_of, err)
                        : sa_error_set(err, SA_ENOMEM, "out of memory");
    if (!st) st = sa_eval_rows_check(rows, line_of, path, err);
    size_t n = st ? 0 : (size_t)cJSON_GetArraySize(rows), k = 0;
    outcome *o = st ? NULL : calloc(n + 1, sizeof *o);
    if (!st && !o) st = sa_error_set(err, SA_ENOMEM, "out of memory");
    const cJSON *row;
    const cJSON *src = st ? NULL : rows;
    cJSON_ArrayForEach(row, src) {
        int metric, yes;
        if (!row_outcome(row, judge, &metric, &yes)) continue;
        char key[512];
        snprintf(key, sizeof key, "%s\x1f%.0f\x1f%s",
                 cJSON_GetObjectItemCaseSensitive(row, "dataset")->valuestring,
                 cJSON_GetObjectItemCaseSensitive(row, "i")->valuedouble,
                 cJSON_GetObjectItemCaseSensitive(row, "group")->valuestring);
        o[k] = (outcome){strdup(key), metric, yes};
        if (!o[k++].key) st = sa_error_set(err, SA_ENOMEM, "out of memory");
        if (st) break;
    }
    cJSON_Delete(rows), free(line_of), free(path);
    if (st) return free_outcomes(o, k), st;
    qsort(o, k, sizeof *o, cmp_outcome);
    *out = o, *n_out = k;
    return SA_OK;
}

sa_status sa_eval_paired(const char *run_a, const char *run_b, const char *judge,
                         sa_paired out[SA_PAIRED_N], sa_error *err) {
    memset(out, 0, SA_PAIRED_N * sizeof *out);
    outcome *a = NULL, *b = NULL;
    size_t na = 0, nb = 0;
    sa_status st = load_outcomes(run_a, judge, &a, &na, err);
    if (!st) st = load_outcomes(run_b, judge, &b, &nb, err);
    for (size_t i = 0; !st && i < nb; i++) {
        outcome *pa = bsearch(&b[i], a, na, sizeof *a, cmp_outcome);
        if (!pa || pa->metric != b[i].metric) continue;
        sa_paired *p = &out[b[i].metric];
        p->n++;
        p->yes_a += pa->yes, p->yes_b += b[i].yes;
        p->b += pa->yes && !b[i].yes;
        p->c += !pa->yes && b[i].yes;
    }
    for (int m = 0; m < SA_PAIRED_N; m++) {
        sa_paired *p = &out[m];
        p->rate_a = p->n ? 100.0 * (double)p->yes_a / (double)p->n : NAN;
        p->rate_b = p->n ? 100.0 * (double)p->yes_b / (double)p->n : NAN;
        p->p = sa_mcnemar_exact(p->b, p->c);
    }
    free_outcomes(a, na), free_outcomes(b, nb);
    return st;
}

/* "12.4 → 10.1 (−2.3)" style cells, or "–" without paired rows. */
static void paired_cell(sa_sbuf *b, const sa_paired *p) {
    if (!p->n) {
        sa_sbuf_printf(b, " – |");
        return;
    }
    sa_sbuf_printf(b, " %.1f → %.1f (%+.1f), %ld/%ld, p = %.3g |", p->rate_a, p->rate_b,
                   p->rate_b - p->rate_a, p->b, p->c, p->p);
}

sa_status sa_eval_paired_markdown(int n, const char *const *dirs, const char *const *labels,
                                  const char *judge, char **md, sa_error *err) {
    *md = NULL;
    sa_sbuf b = {0};
    const char *base = labels ? labels[0] : dirs[0];
    sa_sbuf_printf(&b,
                   "\nPaired against %s (same prompts; rate A → B (difference in points), "
                   "discordant prompts b/c, McNemar's exact p):\n\n",
                   base);
    sa_sbuf_printf(&b, "| run | ASR | over-refusal | utility |\n|---|---|---|---|\n");
    sa_status st = SA_OK;
    for (int i = 1; i < n && !st; i++) {
        sa_paired p[SA_PAIRED_N];
        st = sa_eval_paired(dirs[0], dirs[i], judge, p, err);
        if (st) break;
        sa_sbuf_printf(&b, "| ");
        sa_sbuf_md(&b, labels ? labels[i] : dirs[i]);
        sa_sbuf_printf(&b, " |");
        for (int m = 0; m < SA_PAIRED_N; m++) paired_cell(&b, &p[m]);
        sa_sbuf_printf(&b, "\n");
    }
    if (!st && b.oom) st = sa_error_set(err, SA_ENOMEM, "out of memory");
    if (st) return free(b.s), st;
    *md = b.s;
    return SA_OK;
}

sa_status sa_eval_rates(const char *run, const char *judge, long yes[SA_PAIRED_N],
                        long n[SA_PAIRED_N], sa_error *err) {
    outcome *o = NULL;
    size_t k = 0;
    memset(yes, 0, SA_PAIRED_N * sizeof *yes), memset(n, 0, SA_PAIRED_N * sizeof *n);
    sa_status st = load_outcomes(run, judge, &o, &k, err);
    for (size_t i = 0; !st && i < k; i++) n[o[i].metric]++, yes[o[i].metric] += o[i].yes;
    free_outcomes(o, k);
    return st;
}
