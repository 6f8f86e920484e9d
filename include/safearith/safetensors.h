/* safetensors.h: reading Hugging Face checkpoints (single or sharded safetensors) in place, and
 * writing them tensor by tensor.
 *
 * Reading. A checkpoint is a model directory (model.safetensors or model.safetensors.index.json
 * plus shards), a single .safetensors file, or an index .json file. Every shard is memory-mapped
 * (or, with SA_CKPT_READ, read into memory) and validated the way the reference implementation does
 * (header size limit, UTF-8 JSON, known dtypes, shape x dtype size == byte span with overflow
 * checks, offsets contiguous from 0 with no gap or overlap, last end == file size, __metadata__ a
 * string map). Tensor data is used where it lies; `aligned` says whether `data` is suitably aligned
 * for its element type (callers that need alignment copy, e.g. with sa_to_f32 which accepts any
 * alignment).
 *
 * BASE+ADAPTER. Wherever a checkpoint path is taken, `BASE+ADAPTER` (mergekit's syntax) opens
 * the model BASE with the Hugging Face PEFT LoRA adapter directory ADAPTER applied
 * (adapter_config.json + adapter_model.safetensors; a pickled adapter_model.bin is refused). The
 * checkpoint then lists BASE's tensors, names, shapes and dtypes, of which:
 *   - those the adapter replaces whole (modules_to_save, trained biases) point into the
 *     adapter's file, like any stored tensor (their dtype is the adapter's);
 *   - those LoRA changes are computed: `data` is NULL, and sa_ckpt_read_f32 gives their values
 *     W + scaling * B A (fan_in_fan_out, embedding LoRA, lora_B biases and DoRA as PEFT merges
 *     them) in float32, any element range at a time, so streaming stays bounded by one chunk.
 * An adapter that does not fit its base (module missing, shapes, rank) fails at open with a
 * message naming the module and the shapes. A path that exists is never split at a '+'.
 *
 * Writing. sa_st_writer writes a checkpoint into an atomic output directory (src/core/fsutil.h):
 * the caller first declares every tensor (name, dtype, shape) in output order, then supplies each
 * tensor's bytes in that same order, possibly in several chunks. The writer shards at a size limit,
 * writes model.safetensors.index.json when there is more than one shard, and records __metadata__.
 * Memory use is one header, never a model. */
#ifndef SAFEARITH_SAFETENSORS_H
#define SAFEARITH_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#include "safearith/dtype.h"
#include "safearith/error.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SA_ST_MAX_DIMS 8

typedef struct sa_st_tensor {
    const char *name;
    sa_dtype dtype;
    int ndim;
    int64_t shape[SA_ST_MAX_DIMS];
    uint64_t numel;
    uint64_t nbytes;
    const void *data; /* points into the shard's memory map; NULL: computed from an adapter */
    int shard;        /* index into the checkpoint's shard list; -1: from an adapter */
    int aligned;      /* data % element size == 0 */
} sa_st_tensor;

typedef struct sa_checkpoint sa_checkpoint;

/* How a checkpoint's shards are held. */
typedef enum sa_ckpt_mode {
    SA_CKPT_MMAP = 0, /* memory-mapped, read-only, sharing the page cache (the default) */
    SA_CKPT_READ = 1  /* read whole into private anonymous memory when opened: costs the
                       * checkpoint's size in RAM and one read, and on some machines is faster
                       * to stream from than the page cache (bench/engine.md) */
} sa_ckpt_mode;

/* Open a checkpoint (directory, .safetensors file, or .index.json). Errors name the file and,
 * where relevant, the tensor. */
sa_status sa_ckpt_open(const char *path, sa_checkpoint **out, sa_error *err);
/* The same, with the shards held as `mode` says. */
sa_status sa_ckpt_open_mode(const char *path, sa_ckpt_mode mode, sa_checkpoint **out,
                            sa_error *err);
void sa_ckpt_close(sa_checkpoint *ck);

/* Tensors in storage order: shard by shard, then by data offset. */
size_t sa_ckpt_count(const sa_checkpoint *ck);
const sa_st_tensor *sa_ckpt_tensor(const sa_checkpoint *ck, size_t i);
/* Lookup by name (hash map); NULL if absent. */
const sa_st_tensor *sa_ckpt_find(const sa_checkpoint *ck, const char *name);

/* The directory holding the checkpoint (for config.json, tokenizer files). */
const char *sa_ckpt_dir(const sa_checkpoint *ck);
/* Shards: count and file paths. */
int sa_ckpt_shard_count(const sa_checkpoint *ck);
const char *sa_ckpt_shard_path(const sa_checkpoint *ck, int shard);
/* __metadata__ of the first shard: value for key, or NULL. */
const char *sa_ckpt_metadata(const sa_checkpoint *ck, const char *key);
size_t sa_ckpt_metadata_count(const sa_checkpoint *ck);
void sa_ckpt_metadata_at(const sa_checkpoint *ck, size_t i, const char **key, const char **value);
/* Sum of all tensors' byte sizes, and of their element counts. */
uint64_t sa_ckpt_total_bytes(const sa_checkpoint *ck);
uint64_t sa_ckpt_total_params(const sa_checkpoint *ck);

/* Advise the kernel that tensors are about to be / no longer are needed (madvise WILLNEED /
 * DONTNEED), so streaming passes over models larger than RAM keep a bounded page cache. `t` may
 * also describe part of a tensor (same shard, data and nbytes narrowed). Release also unmaps up
 * to 2 MiB of the shard on either side, which the kernel maps ahead of faults; this is always
 * safe (the data stays in the page cache; a later access just faults it in again). Both do
 * nothing on a checkpoint opened with SA_CKPT_READ. */
void sa_ckpt_prefetch(const sa_checkpoint *ck, const sa_st_tensor *t);
void sa_ckpt_release(const sa_checkpoint *ck, const sa_st_tensor *t);

/* ---- BASE+ADAPTER ---- */

/* Split a checkpoint path into the base and the adapter directory (*adapter NULL for a plain
 * path; both malloc'd). A path that exists, or has no '+', is plain; otherwise the first '+'
 * whose two sides both exist splits it, and none is an error. */
sa_status sa_ckpt_path_split(const char *path, char **base, char **adapter, sa_error *err);
/* The adapter directory of a BASE+ADAPTER checkpoint, or NULL. */
const char *sa_ckpt_adapter_dir(const sa_checkpoint *ck);
/* How many tensors are computed from the adapter (data == NULL). */
size_t sa_ckpt_computed_count(const sa_checkpoint *ck);
/* Elements [offset, offset + n) of tensor t of ck (F32, F16 or BF16, or computed) as float32.
 * Safe to call from several threads at once. */
void sa_ckpt_read_f32(const sa_checkpoint *ck, const sa_st_tensor *t, uint64_t offset, size_t n,
                      float *dst);
/* For a computed tensor that is its base plus a delta (every LoRA but DoRA): write elements
 * [offset, offset + n) of the delta scaling * B A alone, as float32, and return 1; else 0. */
int sa_ckpt_read_delta_f32(const sa_checkpoint *ck, const sa_st_tensor *t, uint64_t offset,
                           size_t n, float *dst);
/* The stored tensor whose bytes t's values come from: t itself, or for a computed tensor the
 * base tensor it changes (same shape, element for element): for sa_ckpt_prefetch/release. */
const sa_st_tensor *sa_ckpt_stored(const sa_checkpoint *ck, const sa_st_tensor *t);
/* 1 if a and b are backed by the same shard files (same devices and inodes), e.g. BASE+ADAPTER
 * and BASE. */
int sa_ckpt_same_files(const sa_checkpoint *a, const sa_checkpoint *b);

/* Read tensor i as float32 into dst (numel floats). SA_EUNSUPPORTED, naming the tensor, unless
 * its dtype is F32, F16 or BF16. */
sa_status sa_tensor_read_f32(const sa_st_tensor *t, float *dst, sa_error *err);

/* ---- writing ---- */

typedef struct sa_st_writer sa_st_writer;

/* Growable: starts with struct_size, filled by sa_st_writer_opts_init (see arith.h). */
typedef struct sa_st_writer_opts {
    size_t struct_size;             /* set by sa_st_writer_opts_init */
    uint64_t max_shard_bytes;       /* 0 = one file (model.safetensors) */
    const char *const *metadata_kv; /* NULL-terminated key, value, key, value, ...; may be NULL */
} sa_st_writer_opts;

/* Defaults: one file, no metadata. */
void sa_st_writer_opts_init(sa_st_writer_opts *o);

/* Start a checkpoint inside directory `dir` (typically sa_outdir.tmp_path). */
sa_status sa_st_writer_create(const char *dir, const sa_st_writer_opts *opts, sa_st_writer **out,
                              sa_error *err);
/* Declare the next tensor. All declarations come before the first write. */
sa_status sa_st_writer_declare(sa_st_writer *w, const char *name, sa_dtype dtype, int ndim,
                               const int64_t *shape, sa_error *err);
/* Append bytes of the current tensor (tensors in declaration order; chunks may be any size; a
 * tensor is complete when its nbytes have been written). */
sa_status sa_st_writer_write(sa_st_writer *w, const void *data, size_t nbytes, sa_error *err);
/* Check every tensor was fully written, finish shards and the index file. */
sa_status sa_st_writer_finish(sa_st_writer *w, sa_error *err);
/* Free the writer (after finish, or to abandon; files are left to the sa_outdir to remove). */
void sa_st_writer_free(sa_st_writer *w);

/* Convenience for small single-file outputs (e.g. `logits`): write n named float32 tensors to
 * `path` atomically. */
typedef struct sa_st_f32_tensor {
    const char *name;
    int ndim;
    int64_t shape[SA_ST_MAX_DIMS];
    const float *data;
} sa_st_f32_tensor;
sa_status sa_st_write_f32_file(const char *path, const sa_st_f32_tensor *tensors, size_t n,
                               const char *const *metadata_kv, int overwrite, sa_error *err);

#ifdef __cplusplus
}
#endif

#endif
