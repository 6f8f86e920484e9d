/* report.c: several runs side by side, and a scatter plot of ASR against utility.
 *
 * The table has the shape of the paper's tables: one row per configuration (run directory),
 * one column per dataset group, each cell the group's headline value in % (ASR for harmful
 * groups, macro-averaged over categories where the set has them; over-refusal for benign
 * groups; accuracy / exact match for utility groups) from the run's first judge, with its 95 %
 * interval. Two summary columns follow: mean ASR over harmful groups and mean utility. The SVG
 * plots one point per run at (mean utility, mean ASR): down and to the right is better. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "eval/strbuf.h"
#include "formats/jsonl.h"
#include "eval/eval_json.h"
#include "safearith/eval.h"
#include "core/fsutil.h"
#include "safearith/paired.h"

typedef struct run_info {
    char *label;
    cJSON *run, *summary;
    double asr, util; /* NAN when the run has no such group */
} run_info;

static const char *sget(const cJSON *o, const char *k) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}
static double nget(const cJSON *o, const char *k) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

/* The metric object a cell shows: utility, or judge's (NULL if the run lacks it; judge NULL: the
 * run's first). */
static const cJSON *headline(const cJSON *g, const char *judge) {
    const cJSON *u = cJSON_GetObjectItemCaseSensitive(g, "utility");
    const cJSON *js = cJSON_GetObjectItemCaseSensitive(g, "judges");
    if (u || !judge) return u ? u : cJSON_GetArrayItem(js, 0);
    const cJSON *m;
    cJSON_ArrayForEach(m, js) if (sget(m, "judge") && !strcmp(sget(m, "judge"), judge)) return m;
    return NULL;
}

static sa_status load_run(const char *dir, const char *judge, run_info *ri, sa_error *err) {
    memset(ri, 0, sizeof *ri);
    char *rp = sa_path_join(dir, "run.json"), *sp = sa_path_join(dir, "summary.json");
    sa_status st = !rp || !sp ? sa_error_set(err, SA_ENOMEM, "%s: out of memory", dir)
                              : sa_json_read(rp, &ri->run, err);
    if (!st) {
        if (access(sp, F_OK) == 0)
            st = sa_json_read(sp, &ri->summary, err);
        else
            st = sa_error_set(err, SA_EFORMAT,
                              "%s: no summary.json (the run did not finish; "
                              "finish it with safearith eval --resume)",
                              dir);
    }
    free(rp), free(sp);
    if (st) return st;
    const char *label = sget(cJSON_GetObjectItemCaseSensitive(ri->run, "info"), "label");
    if (!label || !label[0]) {
        const char *b = strrchr(dir, '/');
        while (b && !b[1] && b > dir) { /* trailing slash */
            const char *p = b - 1;
            while (p > dir && *p != '/') p--;
            b = p;
        }
        label = b && *b == '/' ? b + 1 : dir;
    }
    ri->label = strdup(label);
    if (!ri->label) return sa_error_set(err, SA_ENOMEM, "%s: out of memory", dir);
    size_t l = strlen(ri->label);
    if (l && ri->label[l - 1] == '/') ri->label[l - 1] = 0;
    double sa = 0, su = 0;
    int na = 0, nu = 0;
    const cJSON *g;
    cJSON_ArrayForEach(g, cJSON_GetObjectItemCaseSensitive(ri->summary, "groups")) {
        const char *kind = sget(g, "kind");
        const cJSON *h = headline(g, judge);
        double v = h ? nget(h, "value") : NAN;
        if (isnan(v) || !kind) continue;
        if (!strcmp(kind, "harmful"))
            sa += v, na++;
        else if (!strcmp(kind, "mcq") || !strcmp(kind, "qa"))
            su += v, nu++;
    }
    ri->asr = na ? sa / na : NAN;
    ri->util = nu ? su / nu : NAN;
    return SA_OK;
}

static void cell(sa_sbuf *b, double v) {
    if (isnan(v))
        sa_sbuf_printf(b, " – |");
    else
        sa_sbuf_printf(b, " %.1f |", 100 * v);
}

static void markdown(sa_sbuf *b, run_info *ri, int n, const char **cols, int nc,
                     const char *judge) {
    sa_sbuf_printf(b, "# Evaluation report\n\nValues in %%; 95 %% Wilson intervals in brackets. "
                      "Harmful groups: ASR (lower is better; macro average over categories "
                      "where marked ᵐ). Benign groups: over-refusal (lower is better). "
                      "Utility groups: accuracy / exact match (higher is better).\n\n"
                      "| configuration |");
    for (int c = 0; c < nc; c++) {
        sa_sbuf_printf(b, " ");
        sa_sbuf_md(b, cols[c]);
        sa_sbuf_printf(b, " |");
    }
    sa_sbuf_printf(b, " mean ASR | mean utility |\n|---|");
    for (int c = 0; c < nc + 2; c++) sa_sbuf_printf(b, "---|");
    sa_sbuf_printf(b, "\n");
    for (int r = 0; r < n; r++) {
        sa_sbuf_printf(b, "| ");
        sa_sbuf_md(b, ri[r].label);
        sa_sbuf_printf(b, " |");
        for (int c = 0; c < nc; c++) {
            const cJSON *g, *found = NULL;
            cJSON_ArrayForEach(
                g, cJSON_GetObjectItemCaseSensitive(
                       ri[r].summary, "groups")) if (!found && sget(g, "group") &&
                                                     !strcmp(sget(g, "group"), cols[c])) found = g;
            const cJSON *m = found ? headline(found, judge) : NULL;
            if (!m) {
                sa_sbuf_printf(b, " – |");
                continue;
            }
            int macro = sget(m, "value_is") && !strcmp(sget(m, "value_is"), "macro");
            const cJSON *src = macro ? cJSON_GetObjectItemCaseSensitive(m, "macro") : m;
            const cJSON *ci = cJSON_GetObjectItemCaseSensitive(src, macro ? "ci95_normal" : "ci95");
            sa_sbuf_printf(b, " %.1f%s", 100 * nget(m, "value"), macro ? "ᵐ" : "");
            if (cJSON_GetArraySize(ci) == 2)
                sa_sbuf_printf(b, " [%.1f–%.1f]", 100 * cJSON_GetArrayItem(ci, 0)->valuedouble,
                               100 * cJSON_GetArrayItem(ci, 1)->valuedouble);
            sa_sbuf_printf(b, " |");
        }
        cell(b, ri[r].asr);
        cell(b, ri[r].util);
        sa_sbuf_printf(b, "\n");
    }
    if (judge) {
        sa_sbuf_printf(b, "\nJudge: `");
        sa_sbuf_md(b, judge);
        sa_sbuf_printf(b, "` (– where a run lacks it).\n");
        return;
    }
    sa_sbuf_printf(b, "\nJudges (each run's first):");
    for (int r = 0; r < n; r++) {
        const cJSON *j =
            cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(ri[r].summary, "judges"), 0);
        sa_sbuf_printf(b, "%s ", r ? ";" : "");
        sa_sbuf_md(b, ri[r].label);
        sa_sbuf_printf(b, ": `%s`", j && cJSON_IsString(j) ? j->valuestring : "none");
    }
    sa_sbuf_printf(b, ".\n");
}

/* Axis range covering the values, padded, on multiples of `step`, within [0, 100]. */
static void axis_range(const double *v, int n, double *lo, double *hi, double *step) {
    double a = 100, z = 0;
    for (int i = 0; i < n; i++)
        if (!isnan(v[i])) a = fmin(a, 100 * v[i]), z = fmax(z, 100 * v[i]);
    if (a > z) a = 0, z = 100;
    double span = fmax(z - a, 10);
    *step = span > 50 ? 20 : span > 20 ? 10 : 5;
    *lo = fmax(0, floor((a - span * 0.1) / *step) * *step);
    *hi = fmin(100, ceil((z + span * 0.1) / *step) * *step);
    if (*hi <= *lo) *hi = *lo + *step;
}

static void svg(sa_sbuf *b, run_info *ri, int n) {
    const double W = 720, H = 480, L = 70, R = 30, T = 50, B = 60;
    double *x = malloc((size_t)n * sizeof *x), *y = malloc((size_t)n * sizeof *y);
    if (!x || !y) {
        free(x), free(y);
        b->oom = 1;
        return;
    }
    int plotted = 0;
    for (int i = 0; i < n; i++) {
        x[i] = ri[i].util, y[i] = ri[i].asr;
        plotted += !isnan(x[i]) && !isnan(y[i]);
    }
    double x0, x1, xs, y0, y1, ys;
    axis_range(x, n, &x0, &x1, &xs);
    axis_range(y, n, &y0, &y1, &ys);
    sa_sbuf_printf(b,
                   "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" "
                   "viewBox=\"0 0 %.0f %.0f\" font-family=\"sans-serif\" font-size=\"12\">\n",
                   W, H, W, H);
    sa_sbuf_printf(b, "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n");
    sa_sbuf_printf(b,
                   "<text x=\"%.0f\" y=\"28\" font-size=\"16\" text-anchor=\"middle\">Attack "
                   "success rate vs utility (one point per run)</text>\n",
                   W / 2);
#define PX(v) (L + ((v)-x0) / (x1 - x0) * (W - L - R))
#define PY(v) (H - B - ((v)-y0) / (y1 - y0) * (H - T - B))
    for (double v = x0; v <= x1 + 1e-9; v += xs)
        sa_sbuf_printf(b,
                       "<line x1=\"%.1f\" y1=\"%.0f\" x2=\"%.1f\" y2=\"%.0f\" stroke=\"#ddd\"/>"
                       "<text x=\"%.1f\" y=\"%.0f\" text-anchor=\"middle\">%.0f</text>\n",
                       PX(v), T, PX(v), H - B, PX(v), H - B + 18, v);
    for (double v = y0; v <= y1 + 1e-9; v += ys)
        sa_sbuf_printf(b,
                       "<line x1=\"%.0f\" y1=\"%.1f\" x2=\"%.0f\" y2=\"%.1f\" stroke=\"#ddd\"/>"
                       "<text x=\"%.0f\" y=\"%.1f\" text-anchor=\"end\">%.0f</text>\n",
                       L, PY(v), W - R, PY(v), L - 8, PY(v) + 4, v);
    sa_sbuf_printf(b,
                   "<rect x=\"%.0f\" y=\"%.0f\" width=\"%.0f\" height=\"%.0f\" fill=\"none\" "
                   "stroke=\"black\"/>\n",
                   L, T, W - L - R, H - T - B);
    sa_sbuf_printf(b,
                   "<text x=\"%.0f\" y=\"%.0f\" text-anchor=\"middle\">mean utility (%%, higher "
                   "is better)</text>\n",
                   L + (W - L - R) / 2, H - 18);
    sa_sbuf_printf(b,
                   "<text transform=\"translate(20 %.0f) rotate(-90)\" text-anchor=\"middle\">"
                   "mean ASR (%%, lower is better)</text>\n",
                   T + (H - T - B) / 2);
    static const char *colors[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd",
                                   "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};
    for (int i = 0; i < n; i++) {
        if (isnan(x[i]) || isnan(y[i])) continue;
        double px = PX(100 * x[i]), py = PY(100 * y[i]);
        sa_sbuf_printf(b, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"5\" fill=\"%s\"><title>", px, py,
                       colors[i % 10]);
        sa_sbuf_xml(b, ri[i].label);
        sa_sbuf_printf(b, ": utility %.1f %%, ASR %.1f %%</title></circle>\n", 100 * x[i],
                       100 * y[i]);
        sa_sbuf_printf(b, "<text x=\"%.1f\" y=\"%.1f\" fill=\"%s\"%s>",
                       px + (px > W - 160 ? -8 : 8), py - 8, colors[i % 10],
                       px > W - 160 ? " text-anchor=\"end\"" : "");
        sa_sbuf_xml(b, ri[i].label);
        sa_sbuf_printf(b, "</text>\n");
    }
#undef PX
#undef PY
    if (plotted < n)
        sa_sbuf_printf(b,
                       "<text x=\"%.0f\" y=\"%.0f\" fill=\"#a00\">%d run(s) without a utility "
                       "or harmful dataset are not plotted</text>\n",
                       L + 8, T + 18, n - plotted);
    sa_sbuf_printf(b, "</svg>\n");
    free(x), free(y);
}

static sa_status write_atomic(const char *path, const char *text, int overwrite, sa_error *err) {
    sa_afile af;
    sa_status st = sa_afile_open(&af, path, overwrite, err);
    if (st) return st;
    fputs(text, af.fp);
    return sa_afile_commit(&af, err);
}

/* Each output kept away from the run directories and from the other output. */
static sa_status check_outputs(int n, const char *const *dirs, const char *md_path,
                               const char *svg_path, int overwrite, sa_error *err) {
    const char **inputs = calloc((size_t)n + 1, sizeof *inputs);
    if (!inputs) return sa_error_set(err, SA_ENOMEM, "out of memory");
    memcpy(inputs, dirs, (size_t)n * sizeof *inputs);
    sa_status st = SA_OK;
    if (md_path && svg_path && !strcmp(md_path, svg_path))
        st = sa_error_set(err, SA_EINVAL, "%s: the report and its chart name the same file",
                          md_path);
    if (!st && md_path) {
        inputs[n] = svg_path;
        st = sa_output_check(md_path, inputs, n + 1, overwrite, err);
    }
    if (!st && svg_path) {
        inputs[n] = md_path;
        st = sa_output_check(svg_path, inputs, n + 1, overwrite, err);
    }
    free(inputs);
    return st;
}

/* With two runs or more: McNemar's test of each against the first (paired.h). */
static sa_status paired_section(sa_sbuf *md, const run_info *ri, int n, const char *const *dirs,
                                const char *judge, sa_error *err) {
    if (n < 2) return SA_OK;
    const char **labels = calloc((size_t)n, sizeof *labels);
    if (!labels) return sa_error_set(err, SA_ENOMEM, "out of memory");
    for (int i = 0; i < n; i++) labels[i] = ri[i].label;
    char *text = NULL;
    sa_status st = sa_eval_paired_markdown(n, dirs, labels, judge, &text, err);
    if (!st) sa_sbuf_printf(md, "%s", text);
    free(text), free(labels);
    return st;
}

sa_status sa_eval_report(int n, const char *const *dirs, const char *judge, const char *md_path,
                         const char *svg_path, int overwrite, char **md_out, sa_error *err) {
    if (md_out) *md_out = NULL;
    sa_status st = check_outputs(n, dirs, md_path, svg_path, overwrite, err);
    if (st) return st;
    run_info *ri = calloc((size_t)n, sizeof *ri);
    const char **cols = calloc(64 * (size_t)n + 1, sizeof *cols);
    st = (!ri || !cols) ? sa_error_set(err, SA_ENOMEM, "out of memory") : SA_OK;
    int nc = 0;
    for (int i = 0; i < n && !st; i++) {
        st = load_run(dirs[i], judge, &ri[i], err);
        const cJSON *g;
        if (st) break;
        cJSON_ArrayForEach(g, cJSON_GetObjectItemCaseSensitive(ri[i].summary, "groups")) {
            const char *name = sget(g, "group");
            int seen = !name || nc >= 64 * n;
            for (int c = 0; c < nc && !seen; c++) seen = !strcmp(cols[c], name);
            if (!seen) cols[nc++] = name;
        }
    }
    sa_sbuf md = {0}, sv = {0};
    if (!st) {
        markdown(&md, ri, n, cols, nc, judge);
        st = paired_section(&md, ri, n, dirs, judge, err);
        if (!st && svg_path) {
            svg(&sv, ri, n);
            const char *base = strrchr(svg_path, '/');
            sa_sbuf_printf(&md, "\n![ASR vs utility](%s)\n", base ? base + 1 : svg_path);
        }
        if (md.oom || sv.oom) st = sa_error_set(err, SA_ENOMEM, "out of memory");
    }
    /* the two files appear together: an SVG this call created goes if the Markdown fails */
    int svg_new = svg_path && access(svg_path, F_OK) != 0;
    if (!st && svg_path) st = write_atomic(svg_path, sv.s, overwrite, err);
    if (!st && md_path) {
        st = write_atomic(md_path, md.s, overwrite, err);
        if (st && svg_new) unlink(svg_path);
    }
    if (!st && md_out) *md_out = md.s, md.s = NULL;
    free(md.s), free(sv.s);
    for (int i = 0; i < n && ri; i++)
        free(ri[i].label), cJSON_Delete(ri[i].run), cJSON_Delete(ri[i].summary);
    free(ri), free(cols);
    return st;
}
