/* adapter.h: LoRA adapters (Hugging Face PEFT directories) applied to a base checkpoint, for the
 * safetensors reader's BASE+ADAPTER paths (internal; see include/safearith/safetensors.h).
 *
 * Opening BASE+ADAPTER opens BASE as usual, then binds the adapter to it: every tensor of the
 * base that the adapter changes is rewritten in place in the checkpoint's tensor table.
 *   - a replacement (modules_to_save, trained biases saved whole) points into the adapter's own
 *     memory map, like any stored tensor;
 *   - a LoRA-adapted weight or bias becomes a computed tensor (data == NULL) whose values
 *     sa_adapter_read computes from the base bytes and the adapter's factors on demand, any
 *     element range at a time, so that memory stays bounded by what the caller asks for.
 * The math, with s = lora_alpha / r (lora_alpha / sqrt(r) with use_rslora; r and alpha per
 * module from rank_pattern / alpha_pattern), A = lora_A [r, in], B = lora_B [out, r]:
 *   linear        W'[o, i] = W[o, i] + s * sum_k B[o, k] A[k, i]
 *   fan_in_fan_out W'[i, o] = W[i, o] + s * sum_k B[o, k] A[k, i]    (W stored [in, out])
 *   embedding     E'[v, d] = E[v, d] + s * sum_k B[d, k] A[k, v]    (lora_embedding_A [r, vocab])
 *   lora_B.bias   b'[o]    = b[o] + s * lb[o]
 *   DoRA          W'[o, :] = m[o] / ||W[o, :] + D[o, :]|| * (W[o, :] + D[o, :]), D the delta above
 * The sum over k runs in double (products of two floats are exact there), the delta is rounded
 * once to float32, added to the float32 base value, and the caller rounds once more to its output
 * dtype. */
#ifndef SAFEARITH_FORMATS_ADAPTER_H
#define SAFEARITH_FORMATS_ADAPTER_H

#include <cjson/cJSON.h>

#include "safearith/safetensors.h"

typedef enum sa_lora_kind {
    SA_LORA_LINEAR,    /* W + s B A */
    SA_LORA_TRANSPOSE, /* W + s (B A)^T: fan_in_fan_out weights and embeddings */
    SA_LORA_BIAS       /* b + s lb */
} sa_lora_kind;

/* One computed tensor of the bound checkpoint. */
typedef struct sa_lora_target {
    sa_lora_kind kind;
    sa_st_tensor base;             /* the base tensor as stored (data in the base's map) */
    const sa_st_tensor *a, *b;     /* lora_A [r, in], lora_B [out, r] (b: lora_B.bias for BIAS) */
    const sa_st_tensor *magnitude; /* DoRA: [out], or NULL */
    int rank;
    double scaling;
    int64_t rows, cols; /* of the stored tensor (cols = 1 for a bias) */
} sa_lora_target;

/* adapter_config.json, as far as it changes the merged weights. */
typedef struct sa_lora_config {
    int r;
    double alpha;
    int use_rslora, use_dora, fan_in_fan_out;
    cJSON *rank_pattern, *alpha_pattern; /* objects (owned by root), or NULL */
    cJSON *root;
} sa_lora_config;

/* Parse adapter_config.json text (path names it in messages). Every key is either handled,
 * known not to change the merged weights, or refused by name. */
sa_status sa_lora_config_parse(const char *text, size_t len, const char *path, sa_lora_config *c,
                               sa_error *err);
void sa_lora_config_free(sa_lora_config *c);
/* r and alpha of module `name` (rank_pattern / alpha_pattern keys are regular expressions
 * matched against the end of the module name at a dot boundary, the first matching key in file
 * order winning, as PEFT does). */
sa_status sa_lora_config_module(const sa_lora_config *c, const char *name, int *r, double *alpha,
                                sa_error *err);

typedef struct sa_adapter sa_adapter;

/* Open the adapter directory `dir` and bind it to the open base checkpoint ck (see above). On
 * failure ck is left partly rewritten: the caller closes it. */
sa_status sa_adapter_bind(sa_checkpoint *ck, const char *dir, sa_error *err);
void sa_adapter_free(sa_adapter *ad);

/* Values of elements [off, off + n) of computed tensor target, as float32. */
void sa_adapter_read(const sa_lora_target *t, uint64_t off, size_t n, float *dst);
/* The same for the adapter's contribution alone (W' - W before rounding); only for targets
 * without DoRA. */
void sa_adapter_read_delta(const sa_lora_target *t, uint64_t off, size_t n, float *dst);

#endif
