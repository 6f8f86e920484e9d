/* stop_ids.c: which token ids end a reply (sa_model_stop_ids, model.h).
 *
 * The model's EOS ids come first (a model may list several, e.g. Llama 3.1's <|end_of_text|>,
 * <|eom_id|> and <|eot_id|>), then the tokenizer's end markers that the model config may not list
 * (chat templates end turns with them). Ids outside the vocabulary are dropped: sampling can
 * never produce them. */
#include "safearith/model.h"
#include "safearith/tokenizer.h"

static int add_id(int32_t *ids, int n, int32_t id, int vocab) {
    if (id < 0 || id >= vocab || n == SA_MAX_STOP_IDS) return n;
    for (int j = 0; j < n; j++)
        if (ids[j] == id) return n;
    ids[n] = id;
    return n + 1;
}

int sa_model_stop_ids(const sa_model *m, const sa_tokenizer *tok, int32_t *ids) {
    const sa_model_config *c = sa_model_get_config(m);
    int n = 0;
    for (int i = 0; i < c->n_eos; i++) n = add_id(ids, n, c->eos_token_ids[i], c->vocab_size);
    const int32_t *extra = NULL;
    size_t ne = tok ? sa_tokenizer_stop_ids(tok, &extra) : 0;
    for (size_t i = 0; i < ne; i++) n = add_id(ids, n, extra[i], c->vocab_size);
    return n;
}
