/* tune_internal.h: the recipe's contents and the pieces a study is built from (internal). */
#ifndef SA_TUNE_INTERNAL_H
#define SA_TUNE_INTERNAL_H

#include <math.h>
#include <stdint.h>

#include "safearith/eval.h"
#include "safearith/steer.h"
#include "safearith/tune.h"
#include "tune/tune_json.h"

#define SA_TUNE_MAX_KNOBS 8
#define SA_TUNE_MAX_DS 32

struct sa_tune_recipe {
    char *path;
    cJSON *json; /* canonical: paths resolved, defaults filled in */
    char fingerprint[65];
    sa_tune_method method;
    /* inputs (NULL when the method does not use them) */
    const char *target, *base, *harmful;   /* hdr; target is also icv's model */
    const char *sft, *aligned, *unaligned; /* resta */
    const char *pairs, *icv_format;        /* icv */
    sa_steer_mode steer_mode;
    sa_steer_site steer_at;
    int icv_on_trial; /* hdr+icv: the ICV computed on each trial's HDR model (icv_model: trial) */
    /* the search space: searched knobs, then fixed values for the method's other knobs */
    sa_tune_knob knobs[SA_TUNE_MAX_KNOBS];
    int n_knobs;
    cJSON *fixed; /* object: knob -> value */
    /* datasets: spec strings (paths resolved) and how each split selects its items */
    const char *tune_specs[SA_TUNE_MAX_DS], *test_specs[SA_TUNE_MAX_DS];
    int n_tune, n_test;
    double split_fraction; /* > 0: one file list split per item into tune / test */
    uint64_t split_seed;
    /* evaluation */
    const char *prompt_template, *judge;
    sa_eval_server_opts server; /* a server judge's transport (no url, model or key here) */
    int max_new_tokens, batch;
    int kl_prompts, kl_tokens;
    double utility_drop, over_refusal_rise, max_kl; /* NAN: no constraint */
    int trials, initial;
    uint64_t seed;
    double early_fraction; /* 0: no early stop */
    cJSON *reference;      /* params of a reference point, or NULL */
};

/* The knobs safearith knows: which methods use them, their bounds and defaults (space.c). */
typedef struct sa_knob_def {
    const char *name;
    unsigned methods; /* bit (1 << sa_tune_method) per method that uses it */
    int numeric;      /* 0: a name (position, icv_method) */
    double lo, hi;    /* allowed values of numeric knobs */
    double def_num;
    const char *def_str;
} sa_knob_def;
const sa_knob_def *sa_knob_def_find(const char *name);
const sa_knob_def *sa_knob_def_at(int i); /* NULL past the last */

/* Params of a trial: an object with every knob of the method (NULL when out of memory). u[i] in
 * [0, 1) per searched knob. */
cJSON *sa_tune_params_from_unit(const sa_tune_recipe *r, const double *u);
/* The knob value (numbers) or -1 / NAN when absent. */
double sa_tune_param_num(const cJSON *params, const char *name);
const char *sa_tune_param_str(const cJSON *params, const char *name);

/* The split's dataset specs; fraction and which half (split_fraction > 0). */
typedef struct sa_tune_split {
    const char *name; /* "tune" or "test" */
    sa_eval_dataset ds[SA_TUNE_MAX_DS];
    sa_eval_dataset_spec specs[SA_TUNE_MAX_DS];
    int n;
} sa_tune_split;
sa_status sa_tune_split_load(const sa_tune_recipe *r, int test, sa_tune_split *out, sa_error *err);
void sa_tune_split_free(sa_tune_split *s);

/* The next proposal of a study (search.c): trial number t (0-based), the finished trials'
 * unit points u[t][n_knobs] and objectives, pruned/infeasible marks. Writes u_out. */
void sa_tune_propose(const sa_tune_recipe *r, long t, const double *u_done,
                     const double (*obj)[SA_TUNE_N_OBJ], const unsigned char *skip, long n_done,
                     double *u_out);
/* Scrambled Halton point `index` in [0,1)^d with digit permutations drawn from seed. */
void sa_halton_scrambled(uint64_t seed, uint64_t index, int d, double *out);

#endif
