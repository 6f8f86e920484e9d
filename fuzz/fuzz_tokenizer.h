/* fuzz_tokenizer.h: the fixed tokenizer of the targets that fuzz text through one (tokenize,
 * chat): SA_FUZZ_TOKENIZER names a model directory, the organisms' base model by default. */
#ifndef SA_FUZZ_TOKENIZER_H
#define SA_FUZZ_TOKENIZER_H

#include <stdio.h>
#include <stdlib.h>

#include "safearith/tokenizer.h"

/* Load it or end the process with a message naming the target. */
static inline sa_tokenizer *fz_load_tokenizer(const char *target) {
    const char *env = getenv("SA_FUZZ_TOKENIZER");
    const char *dir = env ? env : SA_FUZZ_MODELS "/base";
    sa_tokenizer *t;
    sa_error err;
    if (sa_tokenizer_load(dir, &t, &err) != SA_OK) {
        fprintf(stderr, "%s: %s\n", target, err.msg);
        exit(1);
    }
    return t;
}

#endif
