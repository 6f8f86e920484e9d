/* study.h: the state a study keeps across its trials (internal to src/tune).
 *
 * Expensive things are made once here and reused by every trial: the harm vector's magnitude
 * histogram (sa_hdr_topk), the ICV directions per (position, method) pair, the reference
 * distributions for the KL, the loaded datasets of both splits and the judge. */
#ifndef SA_TUNE_STUDY_H
#define SA_TUNE_STUDY_H

#include "safearith/arith.h"
#include "safearith/gguf.h"
#include "tune/kl.h"
#include "tune/tune_internal.h"

#define SA_TUNE_MAX_ICV 9 /* 3 positions x 3 methods */

typedef struct sa_tune_point {
    double obj[SA_TUNE_N_OBJ];
    double kl_first;
    long n[SA_TUNE_N_OBJ]; /* prompts behind asr, over_refusal, utility */
} sa_tune_point;

typedef struct sa_tune_ctx {
    const sa_tune_recipe *r;
    const char *dir;
    int n_threads;
    sa_pool *pool;
    const sa_progress *user_progress;
    sa_progress progress; /* prefixes the stage with the study's position */
    char stage_prefix[96];
    sa_hdr_topk *topk;
    sa_cvec icv[SA_TUNE_MAX_ICV];
    int icv_done[SA_TUNE_MAX_ICV];
    sa_tune_kl kl;
    sa_tune_split split[2]; /* tune, test */
    int split_loaded[2];
    sa_eval_judge judge;
    int judge_open;
    char *templ;              /* prompt template text, or NULL (raw prompting) */
    const char *model_in;     /* the unmodified model */
    const char *command_line; /* model cards of --apply record it (NULL: not recorded) */
} sa_tune_ctx;

sa_status sa_tune_ctx_open(sa_tune_ctx *c, const sa_tune_recipe *r, const sa_tune_opts *o,
                           sa_error *err);
void sa_tune_ctx_close(sa_tune_ctx *c);
sa_status sa_tune_ctx_split(sa_tune_ctx *c, int test, sa_error *err);

/* Evaluate params (NULL: the unmodified model) on a split into TUNE_DIR/runs/name; with
 * early (0..1) first a subset of that fraction of every dataset, and *pruned set when the
 * subset already violates a constraint against base (NULL: no early stop). */
sa_status sa_tune_evaluate(sa_tune_ctx *c, const cJSON *params, int test, const char *name,
                           double early, const sa_tune_point *base, sa_tune_point *out, int *pruned,
                           sa_error *err);

/* The trial's model directory and steering plan: writes out_model (hdr / resta) and fills
 * *plan (icv) when the method has them; *model_dir is out_model or the unmodified model. */
sa_status sa_tune_build(sa_tune_ctx *c, const cJSON *params, const char *out_model, int overwrite,
                        const char **model_dir, sa_steer *plan, int *has_plan, sa_error *err);
/* Remove a directory tree the study wrote (TUNE_DIR/work). */
void sa_tune_remove_tree(const char *path);
/* The ICV direction for params' (position, method): with r->icv_on_trial computed on model_dir
 * (the trial's model) into *own, which the caller frees with sa_cvec_free (also on failure;
 * it starts zeroed); else computed once per (position, method) on the unmodified model and
 * kept in c. *cv points at the one to use. */
sa_status sa_tune_icv(sa_tune_ctx *c, const cJSON *params, const char *model_dir, sa_cvec *own,
                      const sa_cvec **cv, sa_error *err);

#endif
