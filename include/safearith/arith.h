/* arith.h: weight-space arithmetic on Hugging Face checkpoints: task vectors, Harm Direction
 * Removal (Safety Arithmetic), RESTA, and mergekit-style task-arithmetic merges, plus the
 * per-tensor difference report behind `safearith diff`.
 *
 * Every operation streams: inputs are memory-mapped and visited tensor by tensor in chunks on
 * the thread pool, arithmetic is float32 (BF16/F16 widened exactly), and results are narrowed
 * with round-to-nearest-even to the target's dtype or opts->out_dtype. Output is a complete
 * checkpoint directory that appears atomically (sa_outdir): sharded safetensors with an index,
 * the target's non-weight files (config, tokenizer, chat template) copied, and __metadata__
 * recording the operation and its parameters. Inputs must match tensor for tensor (names and
 * shapes); otherwise SA_EMISMATCH lists the first mismatches. Tensors whose dtype is not
 * F32/F16/BF16 (e.g. integer buffers) are copied from the target unchanged by hdr, resta and
 * merge; task_vector refuses them. Results do not depend on the thread count. */
#ifndef SAFEARITH_ARITH_H
#define SAFEARITH_ARITH_H

#include <stdint.h>

#include "safearith/error.h"
#include "safearith/progress.h"
#include "safearith/threads.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Options structs (sa_arith_opts, sa_hdr_opts, sa_resta_opts) start with struct_size and are
 * filled with their defaults by their init function, which every caller must call before setting
 * fields: new fields are only ever appended, so a program built against an older header keeps
 * working with a newer library (fields it does not know keep their defaults). */

/* What every checkpoint-producing operation needs. */
typedef struct sa_arith_opts {
    size_t struct_size; /* set by sa_arith_opts_init */
    const char *output; /* output directory (must not exist unless overwrite) */
    int overwrite;
    int out_dtype;            /* sa_dtype (F32/F16/BF16) or -1: each tensor keeps the target's */
    uint64_t max_shard_bytes; /* 0: one model.safetensors */
    sa_pool *pool;            /* NULL: single-threaded */
    const sa_progress *progress;
    /* The model card (README.md, Hugging Face form; see src/arith/card.c) every output gets:
     * the command line it records (NULL: "not recorded"), or none at all with no_model_card. */
    const char *command_line;
    int no_model_card;
} sa_arith_opts;

/* Defaults: no output, no overwrite, each tensor keeps its dtype, SA_DEFAULT_SHARD_BYTES,
 * single-threaded, no progress. */
void sa_arith_opts_init(sa_arith_opts *o);

/* Default shard size of outputs (as transformers' save_pretrained): 5 GB. */
#define SA_DEFAULT_SHARD_BYTES 5000000000ull

/* tau = model - base, stored as a checkpoint whose __metadata__ marks it as a task vector
 * (safearith_op = task_vector), so that hdr --harmful accepts it in place of a model. */
sa_status sa_task_vector(const char *model, const char *base, const sa_arith_opts *o,
                         sa_error *err);

/* 1 if the checkpoint at path is a stored task vector (by its __metadata__). */
int sa_is_task_vector(const char *path);

typedef enum sa_select_scope { SA_SELECT_GLOBAL, SA_SELECT_PER_TENSOR } sa_select_scope;

typedef struct sa_hdr_opts {
    size_t struct_size;             /* set by sa_hdr_opts_init */
    double top_k;                   /* percent of entries of tau kept (largest |tau|), 0..100 */
    double lambda;                  /* out = target - lambda * trim(tau) */
    sa_select_scope scope;          /* one threshold over all selected entries, or one per tensor */
    int trim;                       /* 0: no trimming (the paper's Task Vector baseline) */
    long layer_lo, layer_hi;        /* decoder layers (0-based, inclusive) or -1, -1: all tensors */
    const char *include, *exclude;  /* regexes on tensor names, or NULL */
    int notebook_edited_bug;        /* reproduce the official edited-model notebook: tensors outside
                                       the selection get the dense, untrimmed tau subtracted */
    const uint64_t *threshold_bits; /* NULL, or a global threshold from sa_hdr_topk_threshold
                                       for this top_k, used instead of selecting again (needs
                                       global scope and no layers / include / exclude) */
} sa_hdr_opts;

/* Defaults (the paper's): top_k 10, lambda 3, global selection, trimming on, all layers. */
void sa_hdr_opts_init(sa_hdr_opts *h);

typedef struct sa_hdr_result {
    uint64_t selected_tensors, selected_params; /* where tau is non-zero before trimming */
    uint64_t kept_params;                       /* entries of trim(tau) kept */
    float threshold;                            /* |tau| >= threshold kept (global scope) */
    int harmful_is_task_vector;
} sa_hdr_result;

/* The checks sa_hdr makes before opening any model, for callers that want them separately (the
 * CLI reports them as usage errors): options in range (top_k in [0, 100], finite lambda, a layer
 * range lo <= hi), base given exactly when harmful is not a stored task vector, and
 * notebook_edited_bug only with a selection (layers, include or exclude). Messages name the CLI
 * flags. */
sa_status sa_hdr_check(const char *target, const char *base, const char *harmful,
                       const sa_hdr_opts *h, sa_error *err);

/* Harm Direction Removal: out = target - lambda * trim_k(harmful - base). With base == NULL,
 * harmful must be a stored task vector (tau itself). Runs sa_hdr_check, and refuses a layer range
 * beyond the target's decoder layers (naming the range and the layer count), before writing. */
sa_status sa_hdr(const char *target, const char *base, const char *harmful, const sa_hdr_opts *h,
                 const sa_arith_opts *o, sa_hdr_result *res, sa_error *err);

/* The harm vector's magnitude histogram, taken once, serving any number of top-k values (one
 * threshold per k; a new k costs at most one more pass over tau, none when its rank falls into a
 * histogram bin already refined). For studies that try many k and lambda (tune.h). */
typedef struct sa_hdr_topk sa_hdr_topk;
sa_status sa_hdr_topk_open(const char *target, const char *base, const char *harmful, sa_pool *pool,
                           const sa_progress *progress, sa_hdr_topk **out, sa_error *err);
/* The threshold sa_hdr would find for top_k percent (global scope, every tensor). */
sa_status sa_hdr_topk_threshold(sa_hdr_topk *t, double top_k, uint64_t *threshold_bits,
                                sa_error *err);
/* Passes over tau so far (1 for the histogram, then one per newly refined bin). */
int sa_hdr_topk_passes(const sa_hdr_topk *t);
void sa_hdr_topk_free(sa_hdr_topk *t);

typedef enum sa_rescale { SA_RESCALE_INVERSE, SA_RESCALE_L1, SA_RESCALE_NONE } sa_rescale;

typedef struct sa_resta_opts {
    size_t struct_size; /* set by sa_resta_opts_init */
    double beta;        /* weight of the safety vector aligned - unaligned */
    double dare_p;      /* DARE drop rate on sft - aligned; 0: no DARE */
    uint64_t seed;
    sa_rescale rescale; /* inverse: 1/(1-p); l1: ||d||_1 / ||mask*d||_1 per tensor */
} sa_resta_opts;

/* Defaults: beta 1, no DARE, seed 0, inverse rescaling. */
void sa_resta_opts_init(sa_resta_opts *r);

/* RESTA: out = sft + beta * (aligned - unaligned); with DARE (dare_p > 0):
 * out = aligned + DARE_p(sft - aligned) + beta * (aligned - unaligned). */
sa_status sa_resta(const char *sft, const char *aligned, const char *unaligned,
                   const sa_resta_opts *r, const sa_arith_opts *o, sa_error *err);

/* ---- merge recipes (mergekit YAML subset) ---- */

typedef enum sa_merge_method {
    SA_MERGE_TASK_ARITHMETIC,
    SA_MERGE_TIES,
    SA_MERGE_DARE_LINEAR,
    SA_MERGE_DARE_TIES
} sa_merge_method;

typedef struct sa_merge_model {
    char *path;
    double weight;  /* default 1 */
    double density; /* default 1 */
} sa_merge_model;

typedef struct sa_merge_recipe {
    sa_merge_method method;
    char *base;
    sa_merge_model *models; /* the base model itself, if listed, is left out */
    int n_models;
    double lambda;              /* default 1 */
    int normalize;              /* default: 1 for ties, else 0 */
    int rescale;                /* DARE rescaling on/off (default on) */
    sa_rescale rescale_mode;    /* default l1 (mergekit since 2025); inverse = 1/density */
    sa_select_scope trim_scope; /* TIES trimming per tensor (mergekit) or global (TIES paper) */
    uint64_t seed;
    int out_dtype; /* sa_dtype or -1 (from out_dtype, else dtype, else the base's) */
    char *path;    /* the recipe file (an input the output must keep away from), or NULL */
} sa_merge_recipe;

/* Parse a recipe; unsupported keys or values are SA_EUNSUPPORTED naming the key. Relative model
 * paths are taken relative to the current directory, else to the recipe's directory. */
sa_status sa_merge_recipe_load(const char *path, sa_merge_recipe **out, sa_error *err);
void sa_merge_recipe_free(sa_merge_recipe *r);
const char *sa_merge_method_name(sa_merge_method m);

/* Run a recipe. o->out_dtype, if set, overrides the recipe's. */
sa_status sa_merge(const sa_merge_recipe *r, const sa_arith_opts *o, sa_error *err);

/* ---- diff ---- */

typedef struct sa_diff_tensor {
    const char *name; /* points into the checkpoint (valid until sa_diff_free) */
    long layer;       /* decoder layer or -1 */
    uint64_t numel, changed;
    double norm_diff, norm_a; /* L2 norms of B - A and of A */
    double max_abs;           /* max |B - A| */
} sa_diff_tensor;

typedef struct sa_diff {
    sa_diff_tensor *tensors;
    size_t n;
    void *internal;
} sa_diff;

/* Per-tensor statistics of B - A (arithmetic tensors; others compared bytewise). */
sa_status sa_diff_run(const char *a, const char *b, sa_pool *pool, const sa_progress *progress,
                      sa_diff *out, sa_error *err);
void sa_diff_free(sa_diff *d);

#ifdef __cplusplus
}
#endif

#endif
