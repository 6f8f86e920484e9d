/* safetensors_internal.h: what the safetensors reader's files share (not public API).
 *
 * A checkpoint owns its shards (each memory-mapped whole) and one flat array of tensors in
 * storage order, plus an open-addressing name -> index table. Tensor names are owned by the
 * checkpoint. The shard parser (safetensors_shard.c) appends one shard's tensors; the index
 * reader (safetensors_index.c) checks them against model.safetensors.index.json. */
#ifndef SAFEARITH_SAFETENSORS_INTERNAL_H
#define SAFEARITH_SAFETENSORS_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "safearith/safetensors.h"

/* The reference implementation's header size limit. */
#define SA_ST_MAX_HEADER 100000000ull

typedef struct sa_st_shard {
    char *path;
    const uint8_t *map;
    uint64_t size;
    uint64_t data_start; /* 8 + header length */
} sa_st_shard;

struct sa_checkpoint {
    char *dir;
    sa_ckpt_mode mode;
    sa_st_shard *shards;
    int n_shards;
    sa_st_tensor *tensors;
    size_t n_tensors, cap_tensors;
    size_t *table; /* hash slots: index + 1, 0 = empty */
    size_t table_size;
    char **meta; /* key, value, key, value, ... */
    size_t n_meta;
    uint64_t total_bytes, total_params;
    /* BASE+ADAPTER (adapter.h): the bound adapter, its directory, and per tensor the LoRA
     * target that computes it (NULL for stored tensors); all NULL for a plain checkpoint */
    struct sa_adapter *adapter;
    char *adapter_dir;
    const struct sa_lora_target **computed;
};

/* Map and validate one shard file, appending its tensors (sorted by offset) to ck, and its
 * __metadata__ to ck->meta when `keep_meta`. ck->shards[shard] must have its path set. */
sa_status sa_st_parse_shard(sa_checkpoint *ck, int shard, int keep_meta, sa_error *err);

/* Open the checkpoint described by an index json file (path), sharing ck. */
sa_status sa_st_open_index(sa_checkpoint *ck, const char *index_path, sa_error *err);

/* Build the name table over ck->tensors; SA_EFORMAT on a duplicate name. */
sa_status sa_st_build_table(sa_checkpoint *ck, sa_error *err);

/* Append s to a growing buffer, JSON-escaped and quoted. Returns 0, or -1 on OOM. */
typedef struct sa_strbuf {
    char *data;
    size_t len, cap;
} sa_strbuf;
int sa_strbuf_add(sa_strbuf *b, const char *s, size_t n);
int sa_strbuf_printf(sa_strbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int sa_strbuf_json_string(sa_strbuf *b, const char *s);

#endif
