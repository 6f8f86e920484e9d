/* tune.h: automatic search of realignment settings with a Pareto front (`safearith tune`).
 *
 * A recipe (YAML) names a method and its inputs (hdr, resta, icv, hdr+icv), a search space
 * (per knob: a range, log-scaled or not, or a list), the datasets with a tuning split and a
 * separate test split, the evaluation settings (prompting, judge, decoding) and optional
 * constraints. A study evaluates trials on the tuning split; each trial gets four objectives:
 *   asr           % of harmful prompts not refused        (down)
 *   over_refusal  % of benign prompts refused              (down)
 *   utility       % of utility prompts answered correctly  (up)
 *   kl            mean KL(P_unmodified || P_trial) of the next-token distributions over the first
 *                 few answer tokens of benign prompts, one forward pass per prompt (down)
 * The non-dominated trials form the front; the chosen point (the lowest ASR under the
 * constraints, or the user's pick) is evaluated once on the test split.
 *
 * TUNE_DIR holds study.json (the recipe's fingerprint), trials.jsonl (one line per finished
 * trial, appended and fdatasync'ed), runs/ (one evaluation run directory per trial and per
 * reference), front.json, report.md with three SVG charts. A killed study resumes from
 * trials.jsonl: proposals are a pure function of the seed and the finished trials, so a resumed
 * study proposes exactly what the uninterrupted one would have. */
#ifndef SAFEARITH_TUNE_H
#define SAFEARITH_TUNE_H

#include <stddef.h>
#include <stdint.h>

#include "safearith/error.h"
#include "safearith/progress.h"

/* ---------------------------------------------------------------- objectives and the front */

enum { SA_OBJ_ASR, SA_OBJ_OVER_REFUSAL, SA_OBJ_UTILITY, SA_OBJ_KL, SA_TUNE_N_OBJ };

/* The objective's name in trials.jsonl ("asr", "over_refusal", "utility", "kl"). */
const char *sa_tune_objective_name(int obj);
/* 1 if a dominates b: no worse in every objective (asr, over_refusal, kl lower; utility higher)
 * and better in at least one. Equal vectors do not dominate each other. */
int sa_tune_dominates(const double a[SA_TUNE_N_OBJ], const double b[SA_TUNE_N_OBJ]);
/* Mark the non-dominated rows of obj[n][SA_TUNE_N_OBJ] (skipping rows with skip[i] != 0, which
 * may be NULL): on_front[i] = 1 or 0. Returns the number on the front. O(n^2 * objectives). */
size_t sa_tune_front(const double (*obj)[SA_TUNE_N_OBJ], size_t n, const unsigned char *skip,
                     unsigned char *on_front);

/* ---------------------------------------------------------------- recipes */

typedef enum sa_tune_method {
    SA_TUNE_HDR,
    SA_TUNE_RESTA,
    SA_TUNE_ICV,
    SA_TUNE_HDR_ICV
} sa_tune_method;
const char *sa_tune_method_name(sa_tune_method m);

typedef enum sa_knob_kind { SA_KNOB_RANGE, SA_KNOB_LOG_RANGE, SA_KNOB_LIST } sa_knob_kind;

typedef struct sa_tune_recipe sa_tune_recipe; /* opaque */

/* Read and check a recipe. Errors are one line naming the file and the key: malformed YAML
 * (with its line), unknown keys and knobs, knobs the method does not use, empty or reversed
 * ranges, empty lists, a test split equal to (or overlapping) the tuning split. Relative paths
 * are taken relative to the recipe's directory. */
sa_status sa_tune_recipe_load(const char *path, sa_tune_recipe **out, sa_error *err);
void sa_tune_recipe_free(sa_tune_recipe *r);
sa_tune_method sa_tune_recipe_method(const sa_tune_recipe *r);
int sa_tune_recipe_n_knobs(const sa_tune_recipe *r);
/* The recipe's fingerprint (SHA-256 of its canonical JSON, paths resolved, plus the checksums
 * of every input file; the JSON form is internal: src/tune/tune_json.h). */
const char *sa_tune_recipe_fingerprint(const sa_tune_recipe *r);

/* ---------------------------------------------------------------- studies */

/* Options start with struct_size and are filled with their defaults by sa_tune_opts_init, which
 * callers call before setting fields (new fields are only ever appended). */
typedef struct sa_tune_opts {
    size_t struct_size; /* set by sa_tune_opts_init */
    const char *dir;    /* TUNE_DIR */
    int trials;         /* total trials; <= 0: the recipe's search.trials */
    int resume;         /* continue a study in dir (refused if the recipe differs) */
    long pick;     /* the trial to evaluate on the test split; < 0: the best under constraints */
    int n_threads; /* <= 0: all cores */
    const sa_progress *progress; /* stage "trial N/T: ..." with done/total of that step */
    /* a server judge (eval.judge: server:URL...): sent as "Authorization: Bearer KEY"; NULL:
     * none. Never written anywhere (sa_eval_api_key_env reads it from the environment) */
    const char *api_key;
    int (*interrupted)(void); /* polled while waiting for a server; non-zero: SA_EINTR */
} sa_tune_opts;

/* Defaults: no directory, the recipe's trial count, no resume, pick -1 (the best under the
 * constraints), all cores, no progress, no API key. */
void sa_tune_opts_init(sa_tune_opts *o);

typedef struct sa_tune_result {
    long n_trials, n_pruned, n_front;
    long chosen;                       /* trial number, or -1 when no trial meets the constraints */
    double chosen_test[SA_TUNE_N_OBJ]; /* the chosen point on the test split */
} sa_tune_result;

/* Run (or resume) a study to opts->trials finished trials, then write front.json and report.md
 * and evaluate the chosen point on the test split. The study can be interrupted at any point
 * (progress returning non-zero gives SA_EINTR; SIGKILL too): finished trials are kept. */
sa_status sa_tune_run(const sa_tune_recipe *r, const sa_tune_opts *o, sa_tune_result *res,
                      sa_error *err);

/* Write a finished study's trial `trial` as a model directory (hdr, resta, hdr+icv: out_model)
 * and its control vector (icv, hdr+icv: out_cvec, applied with --steer out_cvec:ALPHA
 * --steer-mode icv; the alpha is printed into *note). Either output may be NULL if the method
 * does not produce it. The recipe is read back from TUNE_DIR/study.json. */
sa_status sa_tune_apply(const char *tune_dir, long trial, const char *out_model,
                        const char *out_cvec, int n_threads, const sa_progress *progress,
                        char **note, sa_error *err);

#endif
