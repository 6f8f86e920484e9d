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
 * Writing. sa_st_writer writes a checkpoint into an sa_outdir (see fsutil.h): the caller first
 * declares every tensor (name, dtype, shape) in output order, then supplies each tensor's bytes
 * in that same order, possibly in several chunks. The writer shards at a size limit, writes
 * model.safetensors.index.json when there is more than one shard, and records __metadata__.
 * Memory use is one header, never a model. */
#ifndef SAFEARITH_SAFETENSORS_H
#define SAFEARITH_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#include "safearith/dtype.h"
#include "safearith/error.h"

#define SA_ST_MAX_DIMS 8

typedef struct sa_st_tensor {
    const char *name;
    sa_dtype dtype;
    int ndim;
    int64_t shape[SA_ST_MAX_DIMS];
    uint64_t numel;
    uint64_t nbytes;
    const void *data; /* points into the shard's memory map */
    int shard;        /* index into the checkpoint's shard list */
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

/* Read tensor i as float32 into dst (numel floats). SA_EUNSUPPORTED, naming the tensor, unless
 * its dtype is F32, F16 or BF16. */
sa_status sa_tensor_read_f32(const sa_st_tensor *t, float *dst, sa_error *err);

/* ---- writing ---- */

typedef struct sa_st_writer sa_st_writer;

typedef struct sa_st_writer_opts {
    uint64_t max_shard_bytes;       /* 0 = one file (model.safetensors) */
    const char *const *metadata_kv; /* NULL-terminated key, value, key, value, ...; may be NULL */
} sa_st_writer_opts;

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

#endif
