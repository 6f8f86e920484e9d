/* filter.h: choosing tensors by name for an operation (internal).
 *
 * --include/--exclude are PCRE2 patterns searched anywhere in the tensor name (like Python's
 * re.search); --layers A-B keeps tensors of decoder layers A..B (0-based, inclusive), the layer
 * being the number after a "layers.", "h." or "blocks." path component; a tensor outside every
 * layer (embeddings, final norm, lm_head) is then not selected. */
#ifndef SAFEARITH_ARITH_FILTER_H
#define SAFEARITH_ARITH_FILTER_H

#include "safearith/error.h"

typedef struct sa_tensor_filter {
    void *include, *exclude; /* pcre2_code *, or NULL */
    void *match;             /* pcre2_match_data * */
    long layer_lo, layer_hi; /* -1: no layer restriction */
} sa_tensor_filter;

sa_status sa_filter_init(sa_tensor_filter *f, const char *include, const char *exclude,
                         long layer_lo, long layer_hi, sa_error *err);
void sa_filter_free(sa_tensor_filter *f);
int sa_filter_match(const sa_tensor_filter *f, const char *name);
/* The decoder layer a tensor belongs to, or -1. */
long sa_layer_index(const char *name);

#endif
