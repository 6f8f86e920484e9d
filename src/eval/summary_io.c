/* summary_io.c: reading a run directory, writing summary.json and summary.md.
 *
 * The Markdown summary is for people: one table of every group and judge with the rate, its
 * Wilson 95 % interval and the unparseable count, then the per-category tables. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eval/rows.h"
#include "eval/strbuf.h"
#include "formats/jsonl.h"
#include "eval/eval_json.h"
#include "safearith/eval.h"
#include "core/fsutil.h"

static double nget(const cJSON *o, const char *k) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsNumber(v) ? v->valuedouble : 0;
}
static const char *sget(const cJSON *o, const char *k) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : "";
}

/* Item i of a JSON array of numbers (0 when missing). */
static double aget(const cJSON *a, int i) {
    const cJSON *v = cJSON_GetArrayItem(a, i);
    return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

static void rate_cells(sa_sbuf *b, const cJSON *m) {
    const cJSON *ci = cJSON_GetObjectItemCaseSensitive(m, "ci95");
    sa_sbuf_printf(b, "%.2f | %.1f–%.1f | %.0f/%.0f", 100 * nget(m, "rate"), 100 * aget(ci, 0),
                   100 * aget(ci, 1), nget(m, "k"), nget(m, "n"));
}

/* The run's settings and the overall means, as a bullet list. */
static void md_header(sa_sbuf *b, const cJSON *summary, const cJSON *run) {
    const cJSON *info = cJSON_GetObjectItemCaseSensitive(run, "info");
    const cJSON *settings = cJSON_GetObjectItemCaseSensitive(run, "settings");
    sa_sbuf_printf(b, "# Evaluation summary\n\n");
    sa_sbuf_printf(b, "- model: `%s`\n",
                   sget(cJSON_GetObjectItemCaseSensitive(settings, "model"), "path"));
    const char *steer = sget(settings, "steer");
    if (steer[0]) sa_sbuf_printf(b, "- steering: `%s`\n", steer);
    sa_sbuf_printf(b, "- prompt: %s\n",
                   sget(cJSON_GetObjectItemCaseSensitive(settings, "prompting"), "mode"));
    const cJSON *decoding = cJSON_GetObjectItemCaseSensitive(settings, "decoding");
    char *dec = cJSON_PrintUnformatted(decoding);
    if (decoding && !dec) b->oom = 1; /* the summary fails rather than lose the line */
    sa_sbuf_printf(b, "- decoding: `%s`\n", dec ? dec : "");
    free(dec);
    sa_sbuf_printf(
        b, "- rows: %.0f%s; fingerprint `%.16s`\n", nget(summary, "rows"),
        cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(summary, "complete")) ? " (INCOMPLETE)" : "",
        sget(summary, "fingerprint"));
    if (info) sa_sbuf_printf(b, "- safearith %s\n", sget(info, "version"));
    const cJSON *ov = cJSON_GetObjectItemCaseSensitive(summary, "overall");
    const char *ovk[3] = {"mean_asr", "mean_over_refusal", "mean_utility"};
    const char *ovn[3] = {"mean ASR", "mean over-refusal", "mean utility"};
    for (int k = 0; k < 3; k++)
        if (cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(ov, ovk[k])))
            sa_sbuf_printf(b, "- %s over groups: %.2f %%\n", ovn[k], 100 * nget(ov, ovk[k]));
}

/* A table row's group and kind cells (names come from file names and judge specs: escaped). */
static void md_group_cells(sa_sbuf *b, const cJSON *g) {
    sa_sbuf_printf(b, "| ");
    sa_sbuf_md(b, sget(g, "group"));
    sa_sbuf_printf(b, " | %s | ", sget(g, "kind"));
}

/* One table row per group and judge (or per utility group). */
static void md_groups(sa_sbuf *b, const cJSON *summary) {
    sa_sbuf_printf(
        b, "\nRates in %%, with Wilson 95 %% intervals; unparseable verdicts are not in the "
           "denominator. ASR = share of harmful prompts answered (judged compliance / "
           "harmful); over-refusal = share of benign prompts refused.\n\n");
    sa_sbuf_printf(
        b, "| group | kind | judge / metric | value | rate | 95 %% CI | k/n | unparseable |\n");
    sa_sbuf_printf(b, "|---|---|---|---|---|---|---|---|\n");
    const cJSON *g;
    cJSON_ArrayForEach(g, cJSON_GetObjectItemCaseSensitive(summary, "groups")) {
        const cJSON *u = cJSON_GetObjectItemCaseSensitive(g, "utility");
        if (u) {
            md_group_cells(b, g);
            sa_sbuf_printf(b, "%s | %.2f | ", sget(u, "metric"), 100 * nget(u, "value"));
            rate_cells(b, u);
            sa_sbuf_printf(b, " | – |\n");
            continue;
        }
        const cJSON *m;
        cJSON_ArrayForEach(m, cJSON_GetObjectItemCaseSensitive(g, "judges")) {
            md_group_cells(b, g);
            sa_sbuf_md(b, sget(m, "judge"));
            sa_sbuf_printf(b, ": %s | %.2f%s | ", sget(m, "metric"), 100 * nget(m, "value"),
                           !strcmp(sget(m, "value_is"), "macro") ? " (macro)" : "");
            rate_cells(b, m);
            sa_sbuf_printf(b, " | %.0f |\n", nget(m, "unparseable"));
        }
    }
}

/* A section per group and judge that has rates by category. */
static void md_categories(sa_sbuf *b, const cJSON *summary) {
    const cJSON *g;
    cJSON_ArrayForEach(g, cJSON_GetObjectItemCaseSensitive(summary, "groups")) {
        const cJSON *m;
        cJSON_ArrayForEach(m, cJSON_GetObjectItemCaseSensitive(g, "judges")) {
            const cJSON *bc = cJSON_GetObjectItemCaseSensitive(m, "by_category");
            if (!bc) continue;
            const cJSON *mo = cJSON_GetObjectItemCaseSensitive(m, "macro");
            sa_sbuf_printf(b, "\n## ");
            sa_sbuf_md(b, sget(g, "group"));
            sa_sbuf_printf(b, ", %s by category (", sget(m, "metric"));
            sa_sbuf_md(b, sget(m, "judge"));
            sa_sbuf_printf(b, ")\n\n");
            if (mo)
                sa_sbuf_printf(b, "Macro average over %.0f categories: %.2f %%.\n\n",
                               nget(mo, "n_categories"), 100 * nget(mo, "rate"));
            sa_sbuf_printf(
                b, "| category | rate | 95 %% CI | k/n | unparseable |\n|---|---|---|---|---|\n");
            const cJSON *c;
            cJSON_ArrayForEach(c, bc) {
                sa_sbuf_printf(b, "| ");
                sa_sbuf_md(b, sget(c, "category"));
                sa_sbuf_printf(b, " | ");
                rate_cells(b, c);
                sa_sbuf_printf(b, " | %.0f |\n", nget(c, "unparseable"));
            }
        }
    }
}

char *sa_eval_summary_markdown(const cJSON *summary, const cJSON *run) {
    sa_sbuf b = {0};
    md_header(&b, summary, run);
    md_groups(&b, summary);
    md_categories(&b, summary);
    if (b.oom) {
        free(b.s);
        return NULL;
    }
    return b.s;
}

static sa_status write_text(const char *dir, const char *name, const char *text, sa_error *err) {
    char *path = sa_path_join(dir, name);
    sa_afile af;
    sa_status st =
        path ? sa_afile_open(&af, path, 1, err) : sa_error_set(err, SA_ENOMEM, "out of memory");
    if (!st) {
        fputs(text, af.fp);
        st = sa_afile_commit(&af, err);
    }
    free(path);
    return st;
}

/* Rows the run's datasets hold in all (n_items of each; a value out of range counts as -1, so
 * that the run is never called complete on its strength). */
static double expected_rows(const cJSON *run) {
    const cJSON *ds = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(run, "settings"), "datasets");
    double n = 0;
    const cJSON *d;
    cJSON_ArrayForEach(d, ds) {
        double k = nget(d, "n_items");
        n += k >= 0 && k == floor(k) ? k : -1;
    }
    return n;
}

/* RUN_DIR/run.json and the checked rows of RUN_DIR/responses.jsonl. */
static sa_status load_run_rows(const char *run_dir, cJSON **run, cJSON **rows, sa_error *err) {
    char *rp = sa_path_join(run_dir, "run.json"), *pp = sa_path_join(run_dir, "responses.jsonl");
    size_t *line_of = NULL;
    *run = *rows = NULL;
    sa_status st = rp && pp ? SA_OK : sa_error_set(err, SA_ENOMEM, "out of memory");
    if (!st) st = sa_json_read(rp, run, err);
    if (!st) st = sa_jsonl_read(pp, 1, rows, &line_of, err);
    if (!st) st = sa_eval_rows_check(*rows, line_of, pp, err);
    free(rp), free(pp), free(line_of);
    if (st) {
        cJSON_Delete(*run), cJSON_Delete(*rows);
        *run = *rows = NULL;
    }
    return st;
}

/* text + "\n" (malloc'd; NULL when out of memory), freeing text. */
static char *with_newline(char *text) {
    size_t l = text ? strlen(text) : 0;
    char *t = text ? realloc(text, l + 2) : NULL;
    if (!t) {
        free(text);
        return NULL;
    }
    t[l] = '\n', t[l + 1] = 0;
    return t;
}

sa_status sa_eval_summarize_json(const char *run_dir, cJSON **summary_out, sa_error *err) {
    if (summary_out) *summary_out = NULL;
    cJSON *run, *rows;
    sa_status st = load_run_rows(run_dir, &run, &rows, err);
    if (st) return st;
    cJSON *s = sa_eval_summary_build(rows, run);
    if (!cJSON_AddBoolToObject(s, "complete", expected_rows(run) == cJSON_GetArraySize(rows)))
        cJSON_Delete(s), s = NULL;
    char *json = s ? with_newline(cJSON_Print(s)) : NULL,
         *md = s ? sa_eval_summary_markdown(s, run) : NULL;
    st = (!json || !md) ? sa_error_set(err, SA_ENOMEM, "out of memory") : SA_OK;
    if (!st) st = write_text(run_dir, "summary.json", json, err);
    if (!st) st = write_text(run_dir, "summary.md", md, err);
    free(json), free(md);
    cJSON_Delete(rows), cJSON_Delete(run);
    if (!st && summary_out)
        *summary_out = s;
    else
        cJSON_Delete(s);
    return st;
}

sa_status sa_eval_summarize(const char *run_dir, sa_error *err) {
    return sa_eval_summarize_json(run_dir, NULL, err);
}
