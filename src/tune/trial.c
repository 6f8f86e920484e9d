/* trial.c: one trial: its model and steering from the params, then KL and the evaluation.
 *
 * A trial's weights are written by the library's own operations (sa_hdr with the threshold the
 * study's sa_hdr_topk found for its k, or sa_resta) into TUNE_DIR/work/, evaluated, and removed;
 * its steering plan scales an ICV direction: for hdr+icv computed on the trial's HDR model (as
 * the paper and the README's HDR+ICV rows do; one ICV pass per trial), else (icv, or hdr+icv with
 * icv_model: unmodified) computed once per (position, method) on the unmodified model. The KL
 * is measured first (one forward pass per prompt), then the tuning split is generated and
 * judged into TUNE_DIR/runs/NAME, a crash-safe evaluation run directory (eval.h), so a study
 * killed in the middle of a trial resumes that trial's rows instead of redoing them. With early
 * stopping a fraction of every dataset is evaluated first, and the trial stops there when the
 * Wilson interval of that subset already puts it outside a constraint. */
#define _XOPEN_SOURCE 700
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/fsutil.h"
#include "safearith/paired.h"
#include "tune/study.h"

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *f) {
    (void)sb, (void)flag, (void)f;
    return remove(path);
}

/* Remove a directory this study wrote (work models). */
void sa_tune_remove_tree(const char *path) {
    if (sa_is_dir(path)) nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static int icv_slot(const cJSON *params) {
    int pos = sa_icv_position_parse(sa_tune_param_str(params, "position"));
    int met = sa_icv_method_parse(sa_tune_param_str(params, "icv_method"));
    return pos < 0 || met < 0 ? -1 : pos * 3 + met;
}

/* The ICV direction of params' (position, method) computed on model_dir into *out. */
static sa_status icv_compute(sa_tune_ctx *c, const cJSON *params, const char *model_dir,
                             sa_cvec *out, sa_error *err) {
    const sa_tune_recipe *r = c->r;
    sa_icv_opts o;
    sa_icv_opts_init(&o);
    o.method = (sa_icv_method)sa_icv_method_parse(sa_tune_param_str(params, "icv_method"));
    o.scope = SA_ICV_PER_LAYER;
    o.position = (sa_icv_position)sa_icv_position_parse(sa_tune_param_str(params, "position"));
    o.format = r->icv_format, o.batch = 8, o.n_threads = c->n_threads;
    sa_model *m = NULL;
    sa_tokenizer *tok = NULL;
    sa_pairs pairs = {0};
    sa_status st = sa_pairs_read(r->pairs, &pairs, err);
    if (!st) st = sa_model_load(model_dir, &m, err);
    if (!st) st = sa_tokenizer_load(model_dir, &tok, err);
    if (!st) st = sa_icv_compute(m, tok, &pairs, r->pairs, &o, out, NULL, NULL, &c->progress, err);
    sa_pairs_free(&pairs), sa_tokenizer_free(tok), sa_model_free(m);
    return st;
}

sa_status sa_tune_icv(sa_tune_ctx *c, const cJSON *params, const char *model_dir, sa_cvec *own,
                      const sa_cvec **cv, sa_error *err) {
    int slot = icv_slot(params);
    if (slot < 0 || slot >= SA_TUNE_MAX_ICV)
        return sa_error_set(err, SA_EINVAL, "trial params: bad position or icv_method");
    if (c->r->icv_on_trial) {
        *cv = own;
        return icv_compute(c, params, model_dir, own, err);
    }
    *cv = &c->icv[slot];
    if (c->icv_done[slot]) return SA_OK;
    sa_status st = icv_compute(c, params, c->model_in, &c->icv[slot], err);
    c->icv_done[slot] = st == SA_OK;
    return st;
}

static sa_status build_weights(sa_tune_ctx *c, const cJSON *params, const char *out, int overwrite,
                               sa_error *err) {
    const sa_tune_recipe *r = c->r;
    sa_arith_opts ao;
    sa_arith_opts_init(&ao);
    ao.output = out, ao.overwrite = overwrite, ao.max_shard_bytes = 0, ao.pool = c->pool;
    ao.progress = &c->progress, ao.command_line = c->command_line;
    if (r->method == SA_TUNE_RESTA) {
        sa_resta_opts ro;
        sa_resta_opts_init(&ro);
        ro.beta = sa_tune_param_num(params, "beta"),
        ro.dare_p = sa_tune_param_num(params, "dare_p");
        ro.seed = r->seed;
        return sa_resta(r->sft, r->aligned, r->unaligned, &ro, &ao, err);
    }
    double k = sa_tune_param_num(params, "top_k");
    uint64_t thr;
    sa_status st = sa_hdr_topk_threshold(c->topk, k, &thr, err);
    sa_hdr_opts h;
    sa_hdr_opts_init(&h);
    h.top_k = k, h.lambda = sa_tune_param_num(params, "lambda"), h.threshold_bits = &thr;
    sa_hdr_result res;
    return st ? st : sa_hdr(r->target, r->base, r->harmful, &h, &ao, &res, err);
}

sa_status sa_tune_build(sa_tune_ctx *c, const cJSON *params, const char *out_model, int overwrite,
                        const char **model_dir, sa_steer *plan, int *has_plan, sa_error *err) {
    const sa_tune_recipe *r = c->r;
    *has_plan = 0;
    *model_dir = c->model_in;
    sa_status st = SA_OK;
    if (params && r->method != SA_TUNE_ICV && out_model) {
        st = build_weights(c, params, out_model, overwrite, err);
        *model_dir = out_model;
    }
    double alpha = params ? sa_tune_param_num(params, "alpha") : NAN;
    if (st || !(r->method == SA_TUNE_ICV || r->method == SA_TUNE_HDR_ICV) || !params || alpha == 0)
        return st;
    const sa_cvec *cv;
    sa_cvec own = {0};
    sa_model_config mc;
    st = sa_tune_icv(c, params, *model_dir, &own, &cv, err);
    if (!st) st = sa_model_config_load(*model_dir, &mc, err);
    if (!st) st = sa_steer_init(plan, mc.n_layers, mc.hidden_size, r->steer_mode, r->steer_at, err);
    if (!st) {
        *has_plan = 1;
        st = sa_steer_add_cvec(plan, cv, (float)alpha, "icv", err);
    }
    sa_cvec_free(&own);
    return st;
}
