/* eval_json.h (internal): the JSON-level pieces of the evaluation harness (eval.h): dataset specs
 * as JSON, judges writing their verdicts into result rows, run directories (run.json with the
 * settings and their fingerprint, the append-only responses.jsonl) and summaries as JSON objects.
 *
 * They are internal because their values are cJSON objects: the public headers expose no
 * third-party type. The CLI, the tests and the fuzz targets include this header. */
#ifndef SAFEARITH_EVAL_JSON_H
#define SAFEARITH_EVAL_JSON_H

#include <cjson/cJSON.h>

#include "formats/json_build.h"
#include "safearith/eval.h"

/* Describe a spec as JSON (for run.json and the fingerprint): an object added to the array `to`. */
cJSON *sa_eval_dataset_spec_json(sa_jb *jb, cJSON *to, const sa_eval_dataset_spec *s);

/* Judge n responses; results are cJSON objects {"flag": 1|0|-1, "label": ...[, "raw": ...]}
 * added to rows[i] under judge->name in the object "judges". */
sa_status sa_eval_judge_apply(sa_eval_judge *j, int n, const sa_eval_item *const *items,
                              const char *const *responses, cJSON *const *judged, sa_error *err);

struct sa_eval_rundir {
    char *dir;
    char *responses_path;
    int fd;     /* responses.jsonl, O_APPEND */
    cJSON *run; /* run.json contents */
    /* rows already present (resume): sorted keys ds << 40 | index */
    uint64_t *done;
    size_t n_done;
    size_t unsynced;  /* rows appended since the last fdatasync */
    double synced_at; /* when that was (sa_eval_now_s) */
};

/* Create RUN_DIR (refused if it exists and holds a run, unless resume) or reopen it with
 * resume. `settings` is the object whose fingerprint must match on resume; `info` extra
 * non-fingerprinted fields for run.json (version, threads, ...). With resume, a truncated last
 * line of responses.jsonl (a crash mid-write) is cut off; a different fingerprint is refused
 * naming the first differing setting. */
sa_status sa_eval_rundir_open(const char *dir, const cJSON *settings, const cJSON *info, int resume,
                              sa_eval_rundir *rd, sa_error *err);
/* 1 if dataset ds, item index has a row already. */
int sa_eval_rundir_has(const sa_eval_rundir *rd, int ds, size_t index);
/* Append rows, one line each (a failed append is cut off the file again; a SIGKILL leaves at
 * most one incomplete last line), then fdatasync when the last one is SA_EVAL_SYNC_S seconds
 * ago or SA_EVAL_SYNC_ROWS rows are not synced yet: one fdatasync per group, not per call. */
sa_status sa_eval_rundir_append(sa_eval_rundir *rd, int n, cJSON *const *rows, sa_error *err);
#define SA_EVAL_SYNC_S 0.5
#define SA_EVAL_SYNC_ROWS 1024
/* fdatasync the rows appended since the last one (none: nothing to do). set_status does it
 * first, so run.json never says more than the rows on disk. */
sa_status sa_eval_rundir_sync(sa_eval_rundir *rd, sa_error *err);
/* Monotonic seconds (runner.c). */
double sa_eval_now_s(void);
/* Update run.json atomically with `status` ("running", "complete") and extra fields. */
sa_status sa_eval_rundir_set_status(sa_eval_rundir *rd, const char *status, const cJSON *extra,
                                    sa_error *err);
void sa_eval_rundir_close(sa_eval_rundir *rd);

/* sa_eval_execute, sa_eval_rejudge and sa_eval_agreement handing their result objects (the
 * summary, the agreement report) to the caller; an out pointer may be NULL. */
sa_status sa_eval_execute_json(const sa_eval_opts *o, const sa_progress *prog, cJSON **summary_out,
                               sa_error *err);
sa_status sa_eval_rejudge_json(const sa_eval_opts *o, const sa_progress *prog, cJSON **summary_out,
                               sa_error *err);
sa_status sa_eval_agreement_json(const sa_eval_opts *o, const char *labels_path,
                                 const sa_progress *prog, cJSON **report, sa_error *err);

/* Split a server judge's spec "server:URL[:part...]" in place (s is modified) into tok[0] =
 * "server", tok[1] = the URL (which keeps its colons: it ends at the first ':' after its host
 * and port) and the remaining ':'-separated parts; returns the number of tokens (at most max). */
int sa_eval_judge_server_split(char *s, char **tok, int max);

/* What a verdict says beyond its flag (Llama Guard's categories, WildGuard's three answers),
 * added to the verdict object (nothing for other judges). */
void sa_judge_details(sa_jb *jb, cJSON *verdict, const sa_judge_prompt *jp, const char *output);

/* Canonical fingerprint of a JSON value (sha256 of its unformatted text); SA_ENOMEM (hex "")
 * when the text cannot be made. */
sa_status sa_eval_fingerprint(const cJSON *v, char hex[65], sa_error *err);

/* sa_eval_summarize, also handing the summary object to the caller (if summary_out is not
 * NULL). */
sa_status sa_eval_summarize_json(const char *run_dir, cJSON **summary_out, sa_error *err);
/* Compute the summary object from rows (any order) and the run's settings; NULL if a row lacks
 * what a summary needs (sa_eval_summarize names the row and the field). */
cJSON *sa_eval_summary_build(const cJSON *rows, const cJSON *run);
/* Render a summary as Markdown (malloc'd). */
char *sa_eval_summary_markdown(const cJSON *summary, const cJSON *run);

#endif
