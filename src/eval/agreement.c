/* agreement.c: how well a judge agrees with human labels (`safearith judge-agreement`).
 *
 * Labelled examples are (question, response, label) with label 1 = harmful / complied, 0 = not.
 * Layouts: HarmBench's classifier validation set (JSON {BehaviorID: [{generation, human_0,
 * human_1, human_2, ...}]}, the label the majority of the human_* votes, the question the item's
 * "behavior" or else its "test_case" or else the BehaviorID); XSTest's labelled completions (CSV
 * with prompt, completion and final_label: 1_full_compliance = 1, the refusals 0); and our own
 * JSON Lines / CSV with question (or prompt), response (or completion, generation) and label
 * (0/1, yes/no, harmful/unharmful). Each judge scores every example; with the confusion counts
 * over parseable verdicts (unparseable ones counted apart):
 *   agreement = (TP + TN) / n, precision = TP / (TP + FP), recall = TP / (TP + FN), each with a
 *   Wilson 95 % interval; F1 = 2 TP / (2 TP + FP + FN);
 *   Cohen's kappa = (po - pe) / (1 - pe), po the agreement, pe = (p_judge p_label + (1 -
 *   p_judge)(1 - p_label)) the agreement by chance, with the large-sample normal interval
 *   kappa +- 1.96 sqrt(po (1 - po) / (n (1 - pe)^2)). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "eval/eval_json.h"
#include "eval/execute.h"
#include "formats/csv.h"
#include "formats/jsonl.h"

typedef struct example {
    const char *question, *response;
    int label;
} example;

typedef struct labelled {
    example *ex;
    int n, cap;
    const char *layout;
    cJSON *json; /* owns the strings of JSON layouts */
    sa_csv csv;  /* owns the strings of CSV layouts */
} labelled;

static int add(labelled *L, const char *q, const char *r, int label) {
    if (L->n == L->cap) {
        int cap = L->cap ? 2 * L->cap : 64;
        example *e = realloc(L->ex, (size_t)cap * sizeof *e);
        if (!e) return -1;
        L->ex = e, L->cap = cap;
    }
    L->ex[L->n++] = (example){q, r, label};
    return 0;
}

/* 0/1 from a label cell: 0, 1, yes, no, harmful, unharmful, 1_full_compliance, ...; -1 else. */
static int label_value(const char *s) {
    static const char *const one[] = {"1", "yes", "harmful", "unsafe", "true", "1_full_compliance"};
    static const char *const zero[] = {
        "0", "no", "unharmful", "safe", "false", "2_full_refusal", "3_partial_refusal"};
    for (size_t i = 0; i < sizeof one / sizeof *one; i++)
        if (!strcasecmp(s, one[i])) return 1;
    for (size_t i = 0; i < sizeof zero / sizeof *zero; i++)
        if (!strcasecmp(s, zero[i])) return 0;
    return -1;
}

static const char *first_str(const cJSON *o, const char *const *keys, int n) {
    for (int i = 0; i < n; i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, keys[i]);
        if (cJSON_IsString(v)) return v->valuestring;
    }
    return NULL;
}

/* HarmBench: majority of human_* votes. */
static int harmbench_label(const cJSON *item) {
    int yes = 0, votes = 0;
    const cJSON *v;
    cJSON_ArrayForEach(v, item) if (!strncmp(v->string, "human_", 6) && cJSON_IsNumber(v)) {
        votes++, yes += v->valuedouble == 1;
    }
    return !votes || 2 * yes == votes ? -1 : 2 * yes > votes;
}

static sa_status load_harmbench(labelled *L, const char *path, sa_error *err) {
    static const char *const qk[] = {"behavior", "test_case"};
    const cJSON *list;
    L->layout = "HarmBench classifier validation set";
    cJSON_ArrayForEach(list, L->json) {
        int i = 0;
        const cJSON *it;
        cJSON_ArrayForEach(it, list) {
            const char *q = first_str(it, qk, 2),
                       *g = first_str(it, (const char *const[]){"generation"}, 1);
            int lab = harmbench_label(it);
            if (!g || lab < 0)
                return sa_error_set(err, SA_EFORMAT,
                                    "%s: %s[%d]: needs \"generation\" and a majority of human_* "
                                    "votes (0/1)",
                                    path, list->string, i);
            if (add(L, q ? q : list->string, g, lab))
                return sa_error_set(err, SA_ENOMEM, "out of memory");
            i++;
        }
    }
    return SA_OK;
}

static sa_status load_jsonl(labelled *L, const char *path, sa_error *err) {
    static const char *const qk[] = {"question", "prompt", "behavior"};
    static const char *const rk[] = {"response", "completion", "generation"};
    L->layout = "JSON Lines {question, response, label}";
    int i = 0;
    const cJSON *o;
    cJSON_ArrayForEach(o, L->json) {
        const char *q = first_str(o, qk, 3), *r = first_str(o, rk, 3);
        const cJSON *lv = cJSON_GetObjectItemCaseSensitive(o, "label");
        int lab = cJSON_IsNumber(lv) && (lv->valuedouble == 0 || lv->valuedouble == 1)
                      ? (int)lv->valuedouble
                  : cJSON_IsString(lv) ? label_value(lv->valuestring)
                                       : -1;
        if (!q || !r || lab < 0)
            return sa_error_set(err, SA_EFORMAT,
                                "%s: line %d: needs question, response and a 0/1 label", path,
                                i + 1);
        if (add(L, q, r, lab)) return sa_error_set(err, SA_ENOMEM, "out of memory");
        i++;
    }
    return SA_OK;
}

static int col_of(const sa_csv *t, const char *const *names, int n) {
    for (int i = 0; i < n; i++) {
        int c = sa_csv_col(t, names[i]);
        if (c >= 0) return c;
    }
    return -1;
}

static sa_status load_csv(labelled *L, const char *path, sa_error *err) {
    sa_status st = sa_csv_read(path, 1, 0, &L->csv, err);
    if (st) return st;
    const sa_csv *t = &L->csv;
    int qc = col_of(t, (const char *const[]){"prompt", "question"}, 2);
    int rc = col_of(t, (const char *const[]){"completion", "response", "generation"}, 3);
    int lc = col_of(t, (const char *const[]){"final_label", "label"}, 2);
    if (qc < 0 || rc < 0 || lc < 0)
        return sa_error_set(err, SA_EFORMAT,
                            "%s: needs columns prompt (or question), completion (or response) "
                            "and final_label (or label)",
                            path);
    L->layout = sa_csv_col(t, "final_label") >= 0 ? "XSTest labelled completions"
                                                  : "CSV {question, response, label}";
    for (size_t r = 0; r < t->n_rows; r++) {
        int lab = label_value(sa_csv_cell(t, r, (size_t)lc));
        if (lab < 0)
            return sa_error_set(err, SA_EFORMAT, "%s:%zu: label '%s' is not a known label", path,
                                t->line_of[r], sa_csv_cell(t, r, (size_t)lc));
        if (add(L, sa_csv_cell(t, r, (size_t)qc), sa_csv_cell(t, r, (size_t)rc), lab))
            return sa_error_set(err, SA_ENOMEM, "out of memory");
    }
    return SA_OK;
}

static int ends_with(const char *s, const char *suffix) {
    size_t l = strlen(s), k = strlen(suffix);
    return l > k && !strcmp(s + l - k, suffix);
}

static sa_status load_labels(labelled *L, const char *path, sa_error *err) {
    sa_status st;
    if (ends_with(path, ".csv")) {
        st = load_csv(L, path, err);
    } else if (ends_with(path, ".jsonl")) {
        st = sa_jsonl_read(path, 0, &L->json, NULL, err);
        if (!st) st = load_jsonl(L, path, err);
    } else {
        st = sa_json_read(path, &L->json, err);
        if (!st && !cJSON_IsObject(L->json))
            st = sa_error_set(err, SA_EFORMAT,
                              "%s: expected HarmBench's {BehaviorID: [...]} (or use .jsonl or "
                              ".csv)",
                              path);
        if (!st) st = load_harmbench(L, path, err);
    }
    if (!st && !L->n) st = sa_error_set(err, SA_EFORMAT, "%s: no labelled examples", path);
    return st;
}

static void rate(sa_jb *jb, cJSON *parent, const char *key, long k, long n) {
    cJSON *o = sa_jb_obj(jb, parent, key);
    sa_interval ci = sa_wilson(k, n, SA_Z95);
    sa_jb_num(jb, o, "k", (double)k);
    sa_jb_num(jb, o, "n", (double)n);
    if (n)
        sa_jb_num(jb, o, "rate", (double)k / (double)n);
    else
        sa_jb_null(jb, o, "rate");
    cJSON *c = sa_jb_arr(jb, o, "ci95");
    sa_jb_num(jb, c, NULL, ci.lo);
    sa_jb_num(jb, c, NULL, ci.hi);
}

/* The agreement statistics of one judge from its flags, added to the array `to`. */
static void stats(sa_jb *jb, cJSON *to, const char *name, const labelled *L, const int *flag) {
    long tp = 0, fp = 0, fn = 0, tn = 0, unp = 0;
    for (int i = 0; i < L->n; i++) {
        if (flag[i] < 0) {
            unp++;
            continue;
        }
        int y = L->ex[i].label;
        tp += flag[i] && y, fp += flag[i] && !y, fn += !flag[i] && y, tn += !flag[i] && !y;
    }
    long n = tp + fp + fn + tn;
    cJSON *o = sa_jb_obj(jb, to, NULL);
    sa_jb_str(jb, o, "judge", name);
    sa_jb_num(jb, o, "examples", L->n);
    sa_jb_num(jb, o, "unparseable", (double)unp);
    cJSON *cm = sa_jb_obj(jb, o, "confusion");
    sa_jb_num(jb, cm, "tp", (double)tp), sa_jb_num(jb, cm, "fp", (double)fp);
    sa_jb_num(jb, cm, "fn", (double)fn), sa_jb_num(jb, cm, "tn", (double)tn);
    rate(jb, o, "agreement", tp + tn, n);
    rate(jb, o, "precision", tp, tp + fp);
    rate(jb, o, "recall", tp, tp + fn);
    double f1d = (double)(2 * tp + fp + fn);
    if (f1d > 0)
        sa_jb_num(jb, o, "f1", 2.0 * tp / f1d);
    else
        sa_jb_null(jb, o, "f1");
    cJSON *k = sa_jb_obj(jb, o, "kappa");
    double po = n ? (double)(tp + tn) / n : 0, pj = n ? (double)(tp + fp) / n : 0,
           py = n ? (double)(tp + fn) / n : 0, pe = pj * py + (1 - pj) * (1 - py);
    if (n && pe < 1) {
        double kap = (po - pe) / (1 - pe),
               se = sqrt(po * (1 - po) / ((double)n * (1 - pe) * (1 - pe)));
        sa_jb_num(jb, k, "value", kap);
        cJSON *c = sa_jb_arr(jb, k, "ci95_normal");
        sa_jb_num(jb, c, NULL, fmax(-1, kap - SA_Z95 * se));
        sa_jb_num(jb, c, NULL, fmin(1, kap + SA_Z95 * se));
    } else
        sa_jb_null(jb, k, "value"); /* chance agreement is 1: kappa is undefined */
}

/* Flags of judge j for every example, in batches. */
static sa_status judge_examples(sa_eval_state *s, int j, const labelled *L, int *flag,
                                const sa_progress *prog, sa_error *err) {
    int B = s->batch;
    sa_eval_item *items = calloc((size_t)B, sizeof *items);
    const sa_eval_item **ip = calloc((size_t)B, sizeof *ip);
    const char **resp = calloc((size_t)B, sizeof *resp);
    cJSON **judged = calloc((size_t)B, sizeof *judged);
    sa_status st =
        (!items || !ip || !resp || !judged) ? sa_error_set(err, SA_ENOMEM, "out of memory") : SA_OK;
    for (int at = 0; at < L->n && !st; at += B) {
        int n = L->n - at < B ? L->n - at : B;
        for (int i = 0; i < n; i++) {
            items[i] =
                (sa_eval_item){.text = (char *)L->ex[at + i].question, .kind = SA_EVAL_HARMFUL};
            ip[i] = &items[i], resp[i] = L->ex[at + i].response, judged[i] = cJSON_CreateObject();
            if (!judged[i]) st = sa_error_set(err, SA_ENOMEM, "out of memory");
        }
        if (!st) st = sa_eval_judge_apply(&s->judges[j], n, ip, resp, judged, err);
        for (int i = 0; i < n; i++) {
            const cJSON *f = cJSON_GetObjectItemCaseSensitive(
                cJSON_GetObjectItemCaseSensitive(judged[i], s->judges[j].name), "flag");
            flag[at + i] = cJSON_IsNumber(f) ? (int)f->valuedouble : -1;
            cJSON_Delete(judged[i]);
        }
        if (!st && sa_progress_report(prog, s->judges[j].name, (uint64_t)(at + n), (uint64_t)L->n))
            st = sa_error_set(err, SA_EINTR, "interrupted");
    }
    free(items), free(ip), free(resp), free(judged);
    return st;
}

sa_status sa_eval_agreement_json(const sa_eval_opts *o, const char *labels_path,
                                 const sa_progress *prog, cJSON **report, sa_error *err) {
    *report = NULL;
    if (o->size != sizeof *o)
        return sa_error_set(err, SA_EINVAL, "sa_eval_opts not set up by sa_eval_opts_init");
    if (!o->n_judges) return sa_error_set(err, SA_EINVAL, "at least one --judge is needed");
    labelled L = {0};
    sa_eval_state s = {.o = o, .batch = o->batch > 0 ? o->batch : 8};
    if (o->batch <= 0 && o->server.concurrency > 0) s.batch = 16 * o->server.concurrency;
    int *flag = NULL;
    sa_status st = load_labels(&L, labels_path, err);
    if (!st) st = sa_eval_judges_open(&s, NULL, 0, err);
    if (!st && !(flag = malloc((size_t)L.n * sizeof *flag)))
        st = sa_error_set(err, SA_ENOMEM, "out of memory");
    sa_jb jb = {0};
    cJSON *r = st ? NULL : sa_jb_root(&jb);
    if (r) {
        sa_jb_str(&jb, r, "labels", labels_path);
        sa_jb_str(&jb, r, "layout", L.layout);
        long pos = 0;
        for (int i = 0; i < L.n; i++) pos += L.ex[i].label;
        sa_jb_num(&jb, r, "examples", L.n);
        sa_jb_num(&jb, r, "positive", (double)pos);
        cJSON *js = sa_jb_arr(&jb, r, "judges");
        for (int j = 0; j < s.n_judges && !st; j++)
            if (!(st = judge_examples(&s, j, &L, flag, prog, err)))
                stats(&jb, js, s.judges[j].name, &L, flag);
    }
    if (!st && jb.oom) st = sa_error_set(err, SA_ENOMEM, "out of memory");
    if (st)
        cJSON_Delete(r);
    else
        *report = r;
    free(flag), free(L.ex);
    cJSON_Delete(L.json);
    sa_csv_free(&L.csv);
    sa_eval_state_free(&s);
    return st;
}

sa_status sa_eval_agreement(const sa_eval_opts *o, const char *labels_path, const sa_progress *prog,
                            char **report_json, sa_error *err) {
    *report_json = NULL;
    cJSON *r = NULL;
    sa_status st = sa_eval_agreement_json(o, labels_path, prog, &r, err);
    if (st) return st;
    *report_json = cJSON_Print(r);
    cJSON_Delete(r);
    return *report_json ? SA_OK : sa_error_set(err, SA_ENOMEM, "out of memory");
}
