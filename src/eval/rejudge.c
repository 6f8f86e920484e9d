/* rejudge.c: score a finished run's responses again with other judges (`safearith judge`),
 * without generating.
 *
 * The run's own files are never rewritten in place. Verdicts are first appended, a batch at a
 * time with fdatasync, to RUN_DIR/rejudge.partial.jsonl ({"judge", "fp", "ds", "i", "verdict"}
 * per line, fp the judge's settings fingerprint), which is what makes the command resumable:
 * after a crash or Ctrl-C the lines of the same judges are reused and only the missing verdicts
 * are asked for. When every verdict is there, a new responses.jsonl (each row with the new
 * verdicts added under "judges") replaces the old one atomically, run.json gains the judges
 * under "rejudged" (outside the fingerprinted settings, so `eval --resume` still accepts the
 * run), the summary is written again and only then is the partial file removed. A run must be
 * complete (new rows appended later would lack the new columns), and a judge name already in the
 * run is refused unless the partial file is still there and run.json lists the same judge (same
 * settings) under "rejudged": a re-judge stopped after run.json, which running it again finishes.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "eval/eval_json.h"
#include "core/io.h"
#include "eval/execute.h"
#include "eval/rows.h"
#include "eval/strbuf.h"
#include "formats/jsonl.h"
#include "core/fsutil.h"

#define PARTIAL "rejudge.partial.jsonl"

typedef struct rejudge {
    sa_eval_state s;
    char *run_path, *rows_path, *partial_path;
    cJSON *run, *rows; /* run.json, responses.jsonl */
    cJSON *partial;    /* verdicts found in the partial file, one object per judge name */
    char (*fps)[65];   /* per judge: its settings fingerprint */
    int fd;            /* the partial file, O_APPEND */
} rejudge;

static const char *sget(const cJSON *o, const char *k) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static int judged_kind(const cJSON *row) {
    const char *k = sget(row, "kind");
    return k && (!strcmp(k, "harmful") || !strcmp(k, "benign"));
}

static char *row_key(const cJSON *row, char buf[48]) {
    snprintf(buf, 48, "%.0f:%.0f", cJSON_GetObjectItemCaseSensitive(row, "ds")->valuedouble,
             cJSON_GetObjectItemCaseSensitive(row, "i")->valuedouble);
    return buf;
}

/* Is name one of the run's judges (settings.judges or an earlier re-judge)? */
static int run_has_judge(const cJSON *run, const char *name) {
    const cJSON *lists[] = {cJSON_GetObjectItemCaseSensitive(
                                cJSON_GetObjectItemCaseSensitive(run, "settings"), "judges"),
                            cJSON_GetObjectItemCaseSensitive(run, "rejudged")};
    for (int l = 0; l < 2; l++) {
        const cJSON *j;
        cJSON_ArrayForEach(j, lists[l]) if (sget(j, "name") && !strcmp(sget(j, "name"), name)) {
            return 1;
        }
    }
    return 0;
}

static sa_status load_run(rejudge *r, const char *dir, sa_error *err) {
    r->run_path = sa_path_join(dir, "run.json");
    r->rows_path = sa_path_join(dir, "responses.jsonl");
    r->partial_path = sa_path_join(dir, PARTIAL);
    if (!r->run_path || !r->rows_path || !r->partial_path)
        return sa_error_set(err, SA_ENOMEM, "out of memory");
    sa_status st = sa_json_read(r->run_path, &r->run, err);
    if (st) return sa_error_prefix(err, "%s is not a run directory", dir);
    const char *status = sget(r->run, "status");
    if (!status || strcmp(status, "complete"))
        return sa_error_set(err, SA_EINVAL,
                            "%s: the run is %s, not complete: finish it first (eval --resume)", dir,
                            status ? status : "of unknown status");
    size_t *line_of = NULL;
    st = sa_jsonl_read(r->rows_path, 1, &r->rows, &line_of, err);
    if (!st) st = sa_eval_rows_check(r->rows, line_of, r->rows_path, err);
    free(line_of);
    return st;
}

/* Verdicts of an interrupted re-judge by the same judges (same name and fingerprint). */
static sa_status load_partial(rejudge *r, sa_error *err) {
    sa_jb jb = {0}; /* a verdict that cannot be kept would be judged again; say so instead */
    r->partial = sa_jb_root(&jb);
    for (int j = 0; j < r->s.n_judges; j++) sa_jb_obj(&jb, r->partial, r->s.judges[j].name);
    char *text = NULL;
    size_t len = 0;
    if (access(r->partial_path, F_OK) == 0) {
        sa_status st = sa_read_file(r->partial_path, &text, &len, err);
        if (st) return st;
        while (len && text[len - 1] != '\n') len--; /* a torn last line */
        if (sa_io_truncate(r->partial_path, (off_t)len) != 0)
            return free(text), sa_error_set(err, SA_EIO, "%s: cannot cut the torn last line: %s",
                                            r->partial_path, strerror(errno));
        for (char *line = text, *nl; line < text + len && !jb.oom; line = nl + 1) {
            nl = memchr(line, '\n', (size_t)(text + len - line));
            cJSON *o = cJSON_ParseWithLength(line, (size_t)(nl - line));
            if (!o && sa_json_syntax_ok(line, (size_t)(nl - line))) jb.oom = 1;
            const char *jn = sget(o, "judge"), *fp = sget(o, "fp"), *key = sget(o, "key");
            cJSON *v = cJSON_GetObjectItemCaseSensitive(o, "verdict");
            for (int j = 0; j < r->s.n_judges && jn && fp && key && cJSON_IsObject(v); j++)
                if (!strcmp(jn, r->s.judges[j].name) && !strcmp(fp, r->fps[j])) {
                    cJSON *slot = cJSON_GetObjectItemCaseSensitive(r->partial, jn);
                    cJSON_DeleteItemFromObjectCaseSensitive(slot, key);
                    sa_jb_add(&jb, slot, key, cJSON_DetachItemFromObject(o, "verdict"));
                }
            cJSON_Delete(o);
        }
        free(text);
    }
    if (jb.oom) return sa_error_set(err, SA_ENOMEM, "%s: out of memory", r->partial_path);
    r->fd = sa_io_open(r->partial_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0666);
    if (r->fd < 0)
        return sa_error_set(err, SA_EIO, "%s: cannot open: %s", r->partial_path, strerror(errno));
    return SA_OK;
}

/* Judge rows[0..n) with judge j, appending the verdicts to the partial file. */
static sa_status judge_batch(rejudge *r, int j, const cJSON *const *rows, int n, sa_error *err) {
    sa_eval_item *items = calloc((size_t)n, sizeof *items);
    const sa_eval_item **ip = calloc((size_t)n, sizeof *ip);
    const char **resp = calloc((size_t)n, sizeof *resp);
    cJSON **judged = calloc((size_t)n, sizeof *judged);
    sa_status st =
        (!items || !ip || !resp || !judged) ? sa_error_set(err, SA_ENOMEM, "out of memory") : SA_OK;
    for (int i = 0; i < n && !st; i++) {
        const char *q = sget(rows[i], "question"), *a = sget(rows[i], "response");
        items[i].text = (char *)(q ? q : ""), items[i].kind = SA_EVAL_HARMFUL;
        ip[i] = &items[i], resp[i] = a ? a : "", judged[i] = cJSON_CreateObject();
    }
    sa_eval_judge *jd = &r->s.judges[j];
    if (!st) st = sa_eval_judge_apply(jd, n, ip, resp, judged, err);
    cJSON *slot = cJSON_GetObjectItemCaseSensitive(r->partial, jd->name);
    sa_sbuf out = {0};
    sa_jb jb = {0};
    for (int i = 0; i < n && !st && !jb.oom; i++) {
        char key[48];
        cJSON *line = sa_jb_root(&jb), *v = cJSON_DetachItemFromObject(judged[i], jd->name);
        sa_jb_str(&jb, line, "judge", jd->name);
        sa_jb_str(&jb, line, "fp", r->fps[j]);
        sa_jb_str(&jb, line, "key", row_key(rows[i], key));
        sa_jb_add(&jb, line, "verdict", v);
        char *t = jb.oom ? NULL : cJSON_PrintUnformatted(line);
        if (t) sa_sbuf_printf(&out, "%s\n", t);
        out.oom |= !t;
        free(t);
        if (!jb.oom) sa_jb_add(&jb, slot, key, cJSON_Duplicate(v, 1));
        cJSON_Delete(line);
    }
    if (!st && (out.oom || jb.oom)) st = sa_error_set(err, SA_ENOMEM, "out of memory");
    if (!st && out.n) st = sa_io_append_lines(r->fd, r->partial_path, out.s, out.n, err);
    free(out.s);
    for (int i = 0; i < n; i++) cJSON_Delete(judged ? judged[i] : NULL);
    free(items), free(ip), free(resp), free(judged);
    return st;
}

/* Every judged row still without a verdict from each judge, in batches. */
static sa_status judge_all(rejudge *r, const sa_progress *prog, sa_error *err) {
    int n = cJSON_GetArraySize(r->rows), B = r->s.batch;
    const cJSON **batch = calloc((size_t)B, sizeof *batch);
    if (!batch) return sa_error_set(err, SA_ENOMEM, "out of memory");
    uint64_t total = 0, done = 0;
    char key[48];
    for (int j = 0; j < r->s.n_judges; j++) {
        const cJSON *slot = cJSON_GetObjectItemCaseSensitive(r->partial, r->s.judges[j].name), *x;
        cJSON_ArrayForEach(x, r->rows) total +=
            judged_kind(x) && !cJSON_GetObjectItemCaseSensitive(slot, row_key(x, key));
    }
    sa_status st = SA_OK;
    if (sa_progress_report(prog, "judging", 0, total))
        st = sa_error_set(err, SA_EINTR, "interrupted");
    for (int j = 0; j < r->s.n_judges && !st; j++) {
        const cJSON *slot = cJSON_GetObjectItemCaseSensitive(r->partial, r->s.judges[j].name);
        int k = 0;
        for (int i = 0; i <= n && !st; i++) {
            const cJSON *row = i < n ? cJSON_GetArrayItem(r->rows, i) : NULL;
            if (row && judged_kind(row) &&
                !cJSON_GetObjectItemCaseSensitive(slot, row_key(row, key)))
                batch[k++] = row;
            if (k == B || (!row && k)) {
                st = judge_batch(r, j, batch, k, err);
                done += (uint64_t)k, k = 0;
                if (!st && sa_progress_report(prog, r->s.judges[j].name, done, total))
                    st = sa_error_set(err, SA_EINTR, "interrupted");
            }
        }
    }
    free(batch);
    return st;
}

/* The new responses.jsonl (each row with the new verdicts) and run.json, both atomically. */
static sa_status commit(rejudge *r, sa_error *err) {
    cJSON *row;
    char key[48];
    sa_jb jb = {0};
    cJSON_ArrayForEach(row, r->rows) {
        if (!judged_kind(row)) continue;
        cJSON *js = cJSON_GetObjectItemCaseSensitive(row, "judges");
        if (!js) js = sa_jb_obj(&jb, row, "judges");
        for (int j = 0; j < r->s.n_judges; j++) {
            const char *name = r->s.judges[j].name;
            cJSON *v = cJSON_GetObjectItemCaseSensitive(
                cJSON_GetObjectItemCaseSensitive(r->partial, name), row_key(row, key));
            cJSON_DeleteItemFromObjectCaseSensitive(js, name);
            if (v) sa_jb_add(&jb, js, name, cJSON_Duplicate(v, 1));
        }
    }
    if (jb.oom) return sa_error_set(err, SA_ENOMEM, "out of memory");
    sa_afile af;
    sa_status st = sa_afile_open(&af, r->rows_path, 1, err);
    cJSON_ArrayForEach(row, r->rows) {
        char *t = st ? NULL : cJSON_PrintUnformatted(row);
        if (!st && !t) st = sa_error_set(err, SA_ENOMEM, "out of memory");
        if (t) fputs(t, af.fp), fputc('\n', af.fp);
        free(t);
    }
    if (!st)
        st = sa_afile_commit(&af, err);
    else
        sa_afile_abort(&af);
    if (st) return st;
    cJSON *rj = cJSON_GetObjectItemCaseSensitive(r->run, "rejudged");
    if (!rj) rj = sa_jb_arr(&jb, r->run, "rejudged");
    for (int j = 0; j < r->s.n_judges && !jb.oom; j++)
        if (!run_has_judge(r->run, r->s.judges[j].name)) {
            cJSON *one;
            if ((st = sa_eval_judge_settings(&r->s, j, &one, err))) return st;
            sa_jb_add(&jb, rj, NULL, one);
        }
    if (jb.oom) return sa_error_set(err, SA_ENOMEM, "out of memory");
    char *text = cJSON_Print(r->run);
    if (!text) return sa_error_set(err, SA_ENOMEM, "out of memory");
    if (!(st = sa_afile_open(&af, r->run_path, 1, err))) {
        fputs(text, af.fp), fputc('\n', af.fp);
        st = sa_afile_commit(&af, err);
    }
    free(text);
    return st;
}

/* A judge that run.json lists under "rejudged" with the same settings while the partial file is
 * still there: the re-judge that added it stopped after run.json (writing the summary, say), and
 * running it again finishes it. The partial file is removed only after the summary. */
static int unfinished(const rejudge *r, int j) {
    if (access(r->partial_path, F_OK) != 0) return 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(r->run, "rejudged")) {
        char fp[65];
        if (sa_eval_fingerprint(e, fp, NULL) == SA_OK && !strcmp(fp, r->fps[j])) return 1;
    }
    return 0;
}

/* Judge names new to the run, or the same judges as an interrupted re-judge's. */
static sa_status check_names(rejudge *r, sa_error *err) {
    for (int j = 0; j < r->s.n_judges; j++) {
        const sa_eval_judge *jd = &r->s.judges[j];
        cJSON *one;
        sa_status st = sa_eval_judge_settings(&r->s, j, &one, err);
        if (st) return st;
        st = sa_eval_fingerprint(one, r->fps[j], err);
        cJSON_Delete(one);
        if (st) return st;
        if (run_has_judge(r->run, jd->name) && !unfinished(r, j))
            return sa_error_set(err, SA_EEXIST,
                                "--judge %s: the run already has a judge named '%s' (add "
                                ":name=NAME)",
                                jd->spec, jd->name);
    }
    return SA_OK;
}

/* The datasets' declared languages, from run.json (for the keyword judges' check). */
static int run_languages(const cJSON *run, sa_eval_lang_use *langs, int max) {
    const cJSON *ds = cJSON_GetObjectItemCaseSensitive(
                    cJSON_GetObjectItemCaseSensitive(run, "settings"), "datasets"),
                *d;
    int n = 0;
    cJSON_ArrayForEach(d, ds) if (n < max && sget(d, "lang") && sget(d, "name")) {
        langs[n++] = (sa_eval_lang_use){sget(d, "name"), sget(d, "lang")};
    }
    return n;
}

sa_status sa_eval_rejudge_json(const sa_eval_opts *o, const sa_progress *prog, cJSON **summary_out,
                               sa_error *err) {
    if (summary_out) *summary_out = NULL;
    if (o->size != sizeof *o)
        return sa_error_set(err, SA_EINVAL, "sa_eval_opts not set up by sa_eval_opts_init");
    if (!o->out || !o->n_judges)
        return sa_error_set(err, SA_EINVAL, "a run directory and at least one --judge are needed");
    rejudge r = {.s = {.o = o, .batch = o->batch > 0 ? o->batch : 8}, .fd = -1};
    if (o->batch <= 0 && o->server.concurrency > 0) r.s.batch = 16 * o->server.concurrency;
    sa_eval_lang_use langs[64];
    sa_status st = load_run(&r, o->out, err);
    if (!st) st = sa_eval_judges_open(&r.s, langs, run_languages(r.run, langs, 64), err);
    if (!st && !(r.fps = calloc((size_t)r.s.n_judges, sizeof *r.fps)))
        st = sa_error_set(err, SA_ENOMEM, "out of memory");
    if (!st) st = check_names(&r, err);
    if (!st) st = load_partial(&r, err);
    if (!st) st = judge_all(&r, prog, err);
    if (!st) st = commit(&r, err);
    if (!st) st = sa_eval_summarize_json(o->out, summary_out, err);
    if (!st && unlink(r.partial_path) != 0) {
        st = sa_error_set(err, SA_EIO, "%s: cannot remove: %s", r.partial_path, strerror(errno));
        if (summary_out) cJSON_Delete(*summary_out), *summary_out = NULL;
    }
    if (r.fd >= 0) close(r.fd);
    sa_eval_state_free(&r.s);
    cJSON_Delete(r.run), cJSON_Delete(r.rows), cJSON_Delete(r.partial);
    free(r.run_path), free(r.rows_path), free(r.partial_path), free(r.fps);
    return st;
}

sa_status sa_eval_rejudge(const sa_eval_opts *o, const sa_progress *prog, sa_error *err) {
    return sa_eval_rejudge_json(o, prog, NULL, err);
}
