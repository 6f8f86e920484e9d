/* steer.h: in-context safety vectors (ICV) and activation steering.
 *
 * Computing a vector (Safety Arithmetic section 3.3, eqs. 5-8). For each pair of texts
 * (positive = safe answer, negative = unsafe answer to the same question) the residual stream
 * after every decoder layer is taken at one position (last token, mean of the last 4, or mean
 * over the answer tokens); the differences positive - negative give, per layer or over the
 * concatenation of all layers, either the first principal component of the centred
 * differences (sign: the mean difference projects positively), the mean difference, or their
 * sum (the official code). Stored directions always point from negative to positive
 * ("safe - unsafe").
 *
 * Steering at inference. A steering plan holds one prepared step w_l per layer (built from one
 * or more control vectors, each with its scale) and is applied to rows of activations:
 *   add       x += w_l,           w_l = sum_i scale_i * v_i,l          (llama.cpp semantics)
 *   icv       x = |x| * normalize(x/|x| + w_l),  w_l = sum_i scale_i * v_i,l/|v_i,l| (paper)
 *   icv-code  s = 1 + max(0, cos(x, -w_l)); x = |x| * normalize(x/|x| + 0.1 * s * w_l)
 *             (the official notebooks: a negative step on their unsafe - safe direction is a
 *             positive step on ours; gate s in [1, 2]; hard-coded 0.1 factor)
 * at the output of decoder layer l (site RESIDUAL) or of its MLP (site MLP). Rows with |x| = 0
 * are left unchanged by icv and icv-code. */
#ifndef SAFEARITH_STEER_H
#define SAFEARITH_STEER_H

#include <stddef.h>
#include <stdint.h>

#include "safearith/error.h"
#include "safearith/gguf.h"
#include "safearith/model.h"
#include "safearith/progress.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- principal component ---- */

/* First principal component of the n x dim row-major data X (rows centred internally, in
 * double precision), as a unit vector in pc[dim]. Exact: the top eigenvector of the n x n Gram
 * matrix (or dim x dim covariance when dim < n) from LAPACK's dsyevr, mapped back. Sign: the
 * column mean of X (before centring) projects positively; if it projects to zero, the largest
 * |component| is made positive. Deterministic. Needs n >= 2 and non-zero variance. If
 * explained is not NULL it receives the fraction of variance along pc. */
sa_status sa_pca_first(const float *X, int n, int64_t dim, double *pc, double *explained,
                       sa_error *err);

/* ---- ICV from differences ---- */

typedef enum { SA_ICV_PCA, SA_ICV_MEAN, SA_ICV_PCA_MEAN } sa_icv_method;
typedef enum { SA_ICV_PER_LAYER, SA_ICV_CONCAT } sa_icv_scope;
typedef enum { SA_POS_LAST, SA_POS_MEAN_LAST4, SA_POS_MEAN_ANSWER } sa_icv_position;

const char *sa_icv_method_name(sa_icv_method m);
const char *sa_icv_scope_name(sa_icv_scope s);
const char *sa_icv_position_name(sa_icv_position p);
/* Parse a name; -1 if unknown. */
int sa_icv_method_parse(const char *s);
int sa_icv_scope_parse(const char *s);
int sa_icv_position_parse(const char *s);

/* diffs: n_pairs x n_layers x n_embd (positive - negative) per pair. Writes out[n_layers x
 * n_embd]: PCA: unit PC1 per layer (per-layer scope) or the layer's segment of the unit PC1 of
 * the concatenation (concat scope); MEAN: the mean difference; PCA_MEAN: PC1 + mean. mean_norms
 * (may be NULL) receives |mean difference| per layer. */
sa_status sa_icv_from_diffs(const float *diffs, int n_pairs, int n_layers, int n_embd,
                            sa_icv_method method, sa_icv_scope scope, float *out, float *mean_norms,
                            sa_error *err);

/* ---- steering ---- */

typedef enum { SA_STEER_ADD, SA_STEER_ICV, SA_STEER_ICV_CODE } sa_steer_mode;
typedef enum { SA_STEER_AT_MLP, SA_STEER_AT_RESIDUAL } sa_steer_site;

const char *sa_steer_mode_name(sa_steer_mode m);
int sa_steer_mode_parse(const char *s); /* -1 if unknown */
/* The official code's hard-coded factor in icv-code. */
#define SA_ICV_CODE_FACTOR 0.1f

/* One row, in place. w is the prepared step (see above); n the row width. */
void sa_steer_add_row(float *x, const float *w, int n);
void sa_steer_icv_row(float *x, const float *w, int n);
void sa_steer_icv_code_row(float *x, const float *w, int n);

typedef struct sa_steer {
    sa_steer_mode mode;
    sa_steer_site site;
    int n_layers, n_embd;
    float *w;              /* [n_layers][n_embd] prepared steps */
    unsigned char *active; /* active[l]: layer l is steered */
} sa_steer;

/* An empty plan (no layer active) for a model of n_layers x n_embd. */
sa_status sa_steer_init(sa_steer *s, int n_layers, int n_embd, sa_steer_mode mode,
                        sa_steer_site site, sa_error *err);
void sa_steer_free(sa_steer *s);
/* Add a control vector at `scale` (rows the vector lacks are skipped; zero rows too). Errors if
 * its width differs from the model's or it has a direction for a layer the model lacks, and if
 * the scale (a double rounded to float by the caller: 1e300 becomes inf) or a scaled row is not
 * finite. `name` is used in messages. */
sa_status sa_steer_add_cvec(sa_steer *s, const sa_cvec *cv, float scale, const char *name,
                            sa_error *err);
/* Keep only layers lo..hi (inclusive) active. */
void sa_steer_limit_layers(sa_steer *s, int lo, int hi);
/* Number of active layers. */
int sa_steer_active_count(const sa_steer *s);
/* Steer n_rows rows (stride floats apart) of layer `layer` at `site`; a no-op when the plan
 * is NULL, the layer inactive, or the site is not the plan's. Safe to call from several
 * threads on disjoint rows. */
void sa_steer_apply(const sa_steer *s, int layer, sa_steer_site site, float *x, int n_rows,
                    size_t stride);

/* An engine hook (model.h) that steers by a plan, then calls an inner hook (for capture, e.g.
 * `logits`' hidden-state dump, which thus sees the steered residual stream, as llama.cpp's
 * l_out does). The chain struct holds the state and must outlive the session's use of *out.
 * plan may be NULL (then *out is the inner hook alone); inner may be NULL. */
typedef struct sa_steer_chain {
    const sa_steer *plan;
    sa_hook inner;
} sa_steer_chain;
void sa_steer_hook(const sa_steer *plan, const sa_hook *inner, sa_steer_chain *chain, sa_hook *out);

/* ---- pairs files ---- */

/* One JSONL line: {"question","safe","unsafe"} (question may be absent in neither) or
 * {"positive","negative"} (ready texts). positive = safe, negative = unsafe. */
typedef struct sa_pair {
    size_t line;    /* 1-based line in the pairs file, for messages */
    char *question; /* NULL for positive/negative pairs */
    char *positive;
    char *negative;
} sa_pair;

typedef struct sa_pairs {
    sa_pair *items;
    size_t n;
    int qa; /* 1: question/safe/unsafe pairs; 0: positive/negative */
} sa_pairs;

/* Parse a pairs file. Errors name the file and line: not JSON, not an object, missing or
 * non-string fields, empty texts, mixing the two kinds, an empty file. */
sa_status sa_pairs_read(const char *path, sa_pairs *out, sa_error *err);
sa_status sa_pairs_parse(const char *text, size_t len, const char *name, sa_pairs *out,
                         sa_error *err);
void sa_pairs_free(sa_pairs *p);

/* The default demonstration format (the paper's). */
#define SA_ICV_DEFAULT_FORMAT "Question: {question}\nAnswer: {answer}"
/* Check a format: exactly one {answer}, any number of {question}, "{{" and "}}" for braces,
 * no other {field}. */
sa_status sa_format_check(const char *fmt, sa_error *err);
/* Render question and answer through fmt into a malloc'd string; *ans_begin and *ans_end receive
 * the byte range of the answer in it. */
sa_status sa_format_render(const char *fmt, const char *question, const char *answer, char **out,
                           size_t *ans_begin, size_t *ans_end, sa_error *err);

/* ---- ICV from a model (needs the engine and the tokenizer) ---- */

typedef struct sa_tokenizer sa_tokenizer;

/* One rendered demonstration: token ids and the rows [sel_begin, sel_end) whose residual
 * states are averaged (the last token, the last 4, or the answer tokens). */
typedef struct sa_icv_text {
    int32_t *ids;
    int n;
    int ans_begin, ans_end; /* answer tokens (whole text for positive/negative pairs) */
    int sel_begin, sel_end;
} sa_icv_text;

/* Growable (see arith.h): start with sa_icv_opts_init, then set fields. */
typedef struct sa_icv_opts {
    size_t struct_size; /* set by sa_icv_opts_init */
    sa_icv_method method;
    sa_icv_scope scope;
    sa_icv_position position;
    const char *format;     /* demonstration format; NULL = SA_ICV_DEFAULT_FORMAT */
    int chat;               /* render question/answer through the tokenizer's chat template */
    int layer0;             /* also produce direction.0 (llama.cpp refuses to load it) */
    int batch;              /* texts per forward pass; <= 0: 8 */
    int n_threads;          /* <= 0: all cores */
    sa_precision precision; /* activations of BF16-weight products (model.h); 0: f32 */
} sa_icv_opts;

/* Defaults (the paper's): PCA per layer over the last token, the paper's format, batch 8, all
 * cores. */
void sa_icv_opts_init(sa_icv_opts *o);

/* Render and tokenize every pair into 2 * n texts (2i = positive/safe, 2i+1 = negative/unsafe)
 * and choose the rows to average. Errors name the pairs file line: a text longer than max_ctx
 * tokens, an answer that the template does not keep verbatim, an empty answer span. */
sa_status sa_icv_prepare(sa_tokenizer *tok, const sa_pairs *pairs, const sa_icv_opts *o,
                         int max_ctx, const char *pairs_name, sa_icv_text **texts, sa_error *err);
void sa_icv_texts_free(sa_icv_text *texts, size_t n);

/* The residual stream after every decoder layer, averaged over each text's selected rows:
 * out[n_texts][n_layers][hidden] (the `logits` command's hidden.(l+1), pooled). Batched:
 * opts->batch texts per forward pass. */
sa_status sa_icv_hidden(sa_model *m, const sa_icv_text *texts, int n_texts, int batch,
                        int n_threads, sa_precision precision, float *out, const sa_progress *prog,
                        sa_error *err);

/* The whole pipeline: prepare, hidden states, differences positive - negative over layers
 * (1..L-1, or 0..L-1 with layer0), directions by method and scope, metadata. If states is not
 * NULL it receives the pooled hidden states (malloc'd, n_texts x L x d) and *texts the texts
 * (free with sa_icv_texts_free), for inspection. */
sa_status sa_icv_compute(sa_model *m, sa_tokenizer *tok, const sa_pairs *pairs,
                         const char *pairs_name, const sa_icv_opts *o, sa_cvec *out, float **states,
                         sa_icv_text **texts, const sa_progress *prog, sa_error *err);

#ifdef __cplusplus
}
#endif

#endif
