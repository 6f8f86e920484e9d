/* execute.h: what one evaluation run holds once its inputs are loaded (internal to src/eval),
 * shared by execute.c (loading, backends, the run) and settings.c (run.json's settings). */
#ifndef SA_EVAL_EXECUTE_H
#define SA_EVAL_EXECUTE_H

#include "eval/eval_json.h"
#include "safearith/eval.h"

typedef struct sa_eval_state {
    const sa_eval_opts *o;
    sa_eval_dataset *ds;
    sa_eval_dataset_spec *specs;
    int n_ds;
    sa_eval_judge *judges;
    int n_judges;
    char **judge_models; /* per judge: the model name its server reports, or NULL */
    sa_eval_backend model;
    char *server_model; /* SERVER: the model name the server reports */
    char *templ;        /* --prompt-template's text */
    int batch;          /* prompts per generation call, defaults applied */
} sa_eval_state;

/* A dataset that keyword judges must be able to read: its name and declared language. */
typedef struct sa_eval_lang_use {
    const char *dataset, *lang;
} sa_eval_lang_use;

/* Parse s->o's judges (none: "refusal"), refuse keyword judges whose language differs from a
 * dataset's in langs, and open the backends of model and server judges. */
sa_status sa_eval_judges_open(sa_eval_state *s, const sa_eval_lang_use *langs, int n_langs,
                              sa_error *err);
/* Free what a state holds (not the state itself). */
void sa_eval_state_free(sa_eval_state *s);

/* run.json's settings: everything that decides the rows (the fingerprint covers it). These fail
 * (*out NULL) when a file cannot be hashed or memory runs out: never a record with a field
 * missing. */
sa_status sa_eval_settings_build(const sa_eval_state *s, cJSON **out, sa_error *err);
/* One judge's entry of settings.judges (kind, source checksum, model or server). */
sa_status sa_eval_judge_settings(const sa_eval_state *s, int i, cJSON **out, sa_error *err);
/* run.json's info: recorded, not fingerprinted (version, label, batch, threads, transport). */
sa_status sa_eval_info_build(const sa_eval_state *s, cJSON **out, sa_error *err);

#endif
