/* card.h: the model card (README.md) of an output checkpoint (internal; see card.c). */
#ifndef SAFEARITH_ARITH_CARD_H
#define SAFEARITH_ARITH_CARD_H

#include "safearith/error.h"

typedef struct sa_card_info {
    const char *output;        /* the output directory's final path (its name is the title) */
    const char *op;            /* "hdr", "resta", "merge", "task_vector" */
    const char *params_json;   /* the operation's parameters, a JSON object */
    const char *base_model;    /* the model whose non-weight files the output carries */
    const char *const *inputs; /* input paths, each listed with its identifying files */
    int n_inputs;
    const char *command_line; /* as the caller ran it, or NULL */
} sa_card_info;

/* Write dir/README.md (moving a README.md already there aside, see card.c). */
sa_status sa_card_write(const char *dir, const sa_card_info *c, sa_error *err);

#endif
