/* kl.h: how far a trial's next-token distributions move from the unmodified model's (internal).
 *
 * For each of n benign prompts the unmodified model's greedy answer is decoded once, up to
 * n_tok tokens (fewer when it ends). A trial model then reads prompt + answer in ONE forward
 * pass, and at each answer position j (the row that predicts answer token j) we take
 *     KL_j = sum_v p_ref(v) * (log p_ref(v) - log p_trial(v))
 * with both distributions the softmax of that row's logits, in double precision. kl_first is
 * the mean of KL_0 over prompts, kl the mean of KL_j over every prompt and position. Both
 * models read the same tokens (the reference's answer), so the numbers compare distributions,
 * not generations. */
#ifndef SA_TUNE_KL_H
#define SA_TUNE_KL_H

#include "safearith/model.h"
#include <cjson/cJSON.h>

#include "safearith/tokenizer.h"

typedef struct sa_tune_kl {
    int n; /* prompts */
    int vocab;
    int32_t **ids;  /* [n]: prompt tokens then the reference answer's tokens */
    int *n_prompt;  /* prompt tokens */
    int *n_answer;  /* answer positions scored (>= 1) */
    double *ref_lp; /* reference log-probabilities, [sum n_answer][vocab] */
} sa_tune_kl;

/* Tokenize the n prompt texts with the reference model's tokenizer, decode its greedy answers
 * and keep its log-probabilities. */
sa_status sa_tune_kl_init(sa_tune_kl *k, const char *ref_model, const char *const *prompts, int n,
                          int n_tok, int n_threads, sa_error *err);
/* KL of model_dir (with an optional hook: steering) against the reference. */
sa_status sa_tune_kl_measure(const sa_tune_kl *k, const char *model_dir, const sa_hook *hook,
                             int n_threads, double *kl_first, double *kl_mean, sa_error *err);
/* The token ids as JSON [{"ids": [...], "prompt_tokens": P, "answer_tokens": A}] (for tests);
 * NULL when out of memory. */
cJSON *sa_tune_kl_json(const sa_tune_kl *k);
void sa_tune_kl_free(sa_tune_kl *k);

#endif
