/* st_header.h: building safetensors headers and index files for the writers (not public API).
 *
 * A declaration is what a header entry needs: name, dtype, shape, byte size and the shard the
 * tensor goes to. Headers list tensors in the given order with consecutive offsets and are
 * padded with spaces to a multiple of 8 bytes. */
#ifndef SAFEARITH_ST_HEADER_H
#define SAFEARITH_ST_HEADER_H

#include <stdio.h>

#include "safearith/safetensors.h"

typedef struct sa_st_decl {
    char *name; /* owned */
    sa_dtype dtype;
    int ndim;
    int64_t shape[SA_ST_MAX_DIMS];
    uint64_t nbytes;
    int shard;
} sa_st_decl;

/* Check and fill a declaration (copies name). Errors name the tensor. */
sa_status sa_st_decl_init(sa_st_decl *d, const char *name, sa_dtype dtype, int ndim,
                          const int64_t *shape, sa_error *err);

/* Write the 8-byte length and the header for decls[0..n) to fp. meta: NULL-terminated key,
 * value list ("format": "pt" is added unless present). path is for messages. */
sa_status sa_st_header_write(FILE *fp, const char *path, const char *const *meta,
                             const sa_st_decl *decls, size_t n, sa_error *err);

/* Write model.safetensors.index.json (weight_map sorted by name) at path. */
sa_status sa_st_index_write(const char *path, const sa_st_decl *decls, size_t n, int n_shards,
                            sa_error *err);

/* "model.safetensors" for a single shard, else "model-0000i-of-0000n.safetensors". */
void sa_st_shard_file_name(int shard, int n_shards, char *buf, size_t n);

#endif
