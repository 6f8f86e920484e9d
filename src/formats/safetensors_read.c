/* safetensors_read.c: opening a checkpoint (directory, single file or index), the name table,
 * accessors, float32 reads and page-cache advice (see include/safearith/safetensors.h).
 *
 * Tensor data is never copied at open: every shard is mapped read-only and tensors point into
 * the maps. Streaming commands call sa_ckpt_prefetch before and sa_ckpt_release after touching
 * a tensor so that resident memory stays bounded on models larger than RAM. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "formats/adapter.h"
#include "formats/safetensors_internal.h"
#include "core/fsutil.h"

static uint64_t hash_name(const char *s) {
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

sa_status sa_st_build_table(sa_checkpoint *ck, sa_error *err) {
    size_t size = 16;
    while (size < 2 * ck->n_tensors + 1) size *= 2;
    free(ck->table);
    ck->table = calloc(size, sizeof *ck->table);
    if (!ck->table) return sa_error_set(err, SA_ENOMEM, "out of memory");
    ck->table_size = size;
    for (size_t i = 0; i < ck->n_tensors; i++) {
        const char *name = ck->tensors[i].name;
        size_t slot = hash_name(name) & (size - 1);
        while (ck->table[slot]) {
            const sa_st_tensor *o = &ck->tensors[ck->table[slot] - 1];
            if (!strcmp(o->name, name))
                return sa_error_set(err, SA_EFORMAT, "%s: duplicate tensor name '%s'",
                                    ck->shards[ck->tensors[i].shard].path, name);
            slot = (slot + 1) & (size - 1);
        }
        ck->table[slot] = i + 1;
    }
    return SA_OK;
}

const sa_st_tensor *sa_ckpt_find(const sa_checkpoint *ck, const char *name) {
    if (!ck->table_size) return NULL;
    size_t slot = hash_name(name) & (ck->table_size - 1);
    while (ck->table[slot]) {
        const sa_st_tensor *t = &ck->tensors[ck->table[slot] - 1];
        if (!strcmp(t->name, name)) return t;
        slot = (slot + 1) & (ck->table_size - 1);
    }
    return NULL;
}

static char *dir_name(const char *path) {
    const char *slash = strrchr(path, '/');
    if (!slash) return strdup(".");
    if (slash == path) return strdup("/");
    return strndup(path, (size_t)(slash - path));
}

static int ends_with(const char *s, const char *suffix) {
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && !strcmp(s + a - b, suffix);
}

static sa_status open_single(sa_checkpoint *ck, const char *file, sa_error *err) {
    ck->shards = calloc(1, sizeof *ck->shards);
    if (!ck->shards || !(ck->shards[0].path = strdup(file)))
        return sa_error_set(err, SA_ENOMEM, "out of memory");
    ck->n_shards = 1;
    sa_status s = sa_st_parse_shard(ck, 0, 1, err);
    return s == SA_OK ? sa_st_build_table(ck, err) : s;
}

/* A directory with adapter_config.json and no model weights. */
static int is_adapter_dir(const char *path) {
    static const char *const names[] = {"adapter_config.json", "model.safetensors",
                                        "model.safetensors.index.json"};
    int has[3] = {0, 0, 0};
    for (int i = 0; i < 3; i++) {
        char *p = sa_path_join(path, names[i]);
        struct stat st;
        has[i] = p && stat(p, &st) == 0;
        free(p);
    }
    return has[0] && !has[1] && !has[2];
}

static sa_status open_dir(sa_checkpoint *ck, const char *path, sa_error *err) {
    char *idx = sa_path_join(path, "model.safetensors.index.json");
    char *one = sa_path_join(path, "model.safetensors");
    sa_status s;
    struct stat st;
    if (!idx || !one)
        s = sa_error_set(err, SA_ENOMEM, "out of memory");
    else if (stat(idx, &st) == 0)
        s = sa_st_open_index(ck, idx, err);
    else if (stat(one, &st) == 0)
        s = open_single(ck, one, err);
    else
        s = sa_error_set(err, SA_EIO,
                         "%s: no model.safetensors or model.safetensors.index.json in directory",
                         path);
    free(idx);
    free(one);
    return s;
}

sa_status sa_ckpt_open(const char *path, sa_checkpoint **out, sa_error *err) {
    return sa_ckpt_open_mode(path, SA_CKPT_MMAP, out, err);
}

/* Open a plain checkpoint (directory, .safetensors file or index). */
static sa_status open_plain(const char *path, sa_ckpt_mode mode, sa_checkpoint **out,
                            sa_error *err) {
    *out = NULL;
    struct stat st;
    if (stat(path, &st) != 0)
        return sa_error_set(err, SA_EIO, "%s: cannot open: %s", path, strerror(errno));
    sa_checkpoint *ck = calloc(1, sizeof *ck);
    if (!ck) return sa_error_set(err, SA_ENOMEM, "out of memory");
    ck->mode = mode;
    int is_dir = S_ISDIR(st.st_mode);
    ck->dir = is_dir ? strdup(path) : dir_name(path);
    sa_status s;
    if (!ck->dir)
        s = sa_error_set(err, SA_ENOMEM, "out of memory");
    else if (is_dir)
        s = open_dir(ck, path, err);
    else if (ends_with(path, ".json"))
        s = sa_st_open_index(ck, path, err);
    else
        s = open_single(ck, path, err);
    if (s != SA_OK) {
        sa_ckpt_close(ck);
        return s;
    }
    *out = ck;
    return SA_OK;
}

static int exists(const char *p) {
    struct stat st;
    return stat(p, &st) == 0;
}

sa_status sa_ckpt_path_split(const char *path, char **base, char **adapter, sa_error *err) {
    *base = *adapter = NULL;
    if (is_adapter_dir(path))
        return sa_error_set(err, SA_EINVAL,
                            "%s is a LoRA adapter, not a model: name its base model as BASE+%s",
                            path, path);
    if (sa_path_split_plus(path, base, adapter)) return SA_OK;
    if (exists(path) || !strchr(path, '+')) {
        *base = strdup(path);
        return *base ? SA_OK : sa_error_set(err, SA_ENOMEM, "out of memory");
    }
    return sa_error_set(err, SA_EIO,
                        "%s: cannot open: no such file or directory, and no '+' in it splits it "
                        "into an existing BASE+ADAPTER",
                        path);
}

sa_status sa_ckpt_open_mode(const char *path, sa_ckpt_mode mode, sa_checkpoint **out,
                            sa_error *err) {
    *out = NULL;
    char *base, *adapter;
    sa_status s = sa_ckpt_path_split(path, &base, &adapter, err);
    if (s == SA_OK) s = open_plain(base, mode, out, err);
    if (s == SA_OK && adapter) {
        s = sa_adapter_bind(*out, adapter, err);
        if (s != SA_OK) {
            sa_ckpt_close(*out);
            *out = NULL;
        }
    }
    free(base);
    free(adapter);
    return s;
}

void sa_ckpt_close(sa_checkpoint *ck) {
    if (!ck) return;
    for (int i = 0; i < ck->n_shards; i++) {
        if (ck->shards[i].map) munmap((void *)ck->shards[i].map, (size_t)ck->shards[i].size);
        free(ck->shards[i].path);
    }
    for (size_t i = 0; i < ck->n_tensors; i++) free((char *)ck->tensors[i].name);
    for (size_t i = 0; i < 2 * ck->n_meta; i++) free(ck->meta[i]);
    free(ck->meta);
    free(ck->shards);
    free(ck->tensors);
    free(ck->table);
    free(ck->dir);
    sa_adapter_free(ck->adapter);
    free(ck->adapter_dir);
    free(ck->computed);
    free(ck);
}

size_t sa_ckpt_count(const sa_checkpoint *ck) {
    return ck->n_tensors;
}
const sa_st_tensor *sa_ckpt_tensor(const sa_checkpoint *ck, size_t i) {
    return i < ck->n_tensors ? &ck->tensors[i] : NULL;
}
const char *sa_ckpt_dir(const sa_checkpoint *ck) {
    return ck->dir;
}
int sa_ckpt_shard_count(const sa_checkpoint *ck) {
    return ck->n_shards;
}
const char *sa_ckpt_shard_path(const sa_checkpoint *ck, int shard) {
    return shard >= 0 && shard < ck->n_shards ? ck->shards[shard].path : NULL;
}
uint64_t sa_ckpt_total_bytes(const sa_checkpoint *ck) {
    return ck->total_bytes;
}
uint64_t sa_ckpt_total_params(const sa_checkpoint *ck) {
    return ck->total_params;
}
size_t sa_ckpt_metadata_count(const sa_checkpoint *ck) {
    return ck->n_meta;
}

const char *sa_ckpt_metadata(const sa_checkpoint *ck, const char *key) {
    for (size_t i = 0; i < ck->n_meta; i++)
        if (!strcmp(ck->meta[2 * i], key)) return ck->meta[2 * i + 1];
    return NULL;
}

void sa_ckpt_metadata_at(const sa_checkpoint *ck, size_t i, const char **key, const char **value) {
    *key = i < ck->n_meta ? ck->meta[2 * i] : NULL;
    *value = i < ck->n_meta ? ck->meta[2 * i + 1] : NULL;
}

/* Release margin: the kernel maps pages around a faulting address (fault-around, large page
 * cache folios), so pages just outside a released range can stay mapped; dropping this much on
 * either side keeps resident memory independent of the number of tensors and batches. */
#define RELEASE_MARGIN ((uintptr_t)2 << 20)

static void advise(const sa_checkpoint *ck, const sa_st_tensor *t, int advice, uintptr_t margin) {
    /* shards read into memory are the only copy: MADV_DONTNEED would zero them */
    if (ck->mode == SA_CKPT_READ || !t || !t->data) return;
    if (!t || !t->nbytes || t->shard < 0 || t->shard >= ck->n_shards) return;
    const sa_st_shard *sh = &ck->shards[t->shard];
    uintptr_t lo = (uintptr_t)sh->map, hi = lo + (uintptr_t)sh->size;
    uintptr_t a = (uintptr_t)t->data, b = a + (uintptr_t)t->nbytes;
    a = a - lo > margin ? a - margin : lo;
    b = hi - b > margin ? b + margin : hi;
    uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    a &= ~(page - 1);
    madvise((void *)a, b - a, advice);
}

void sa_ckpt_prefetch(const sa_checkpoint *ck, const sa_st_tensor *t) {
    advise(ck, t, MADV_WILLNEED, 0);
}

void sa_ckpt_release(const sa_checkpoint *ck, const sa_st_tensor *t) {
    advise(ck, t, MADV_DONTNEED, RELEASE_MARGIN);
}

sa_status sa_tensor_read_f32(const sa_st_tensor *t, float *dst, sa_error *err) {
    if (!t->data)
        return sa_error_set(
            err, SA_EINVAL,
            "tensor '%s' is computed from an adapter: read it with sa_ckpt_read_f32", t->name);
    if (!sa_dtype_is_arith(t->dtype))
        return sa_error_set(err, SA_EUNSUPPORTED,
                            "tensor '%s': dtype %s is not supported for arithmetic (F32, F16, "
                            "BF16 only)",
                            t->name, sa_dtype_name(t->dtype));
    sa_to_f32(t->data, t->dtype, dst, (size_t)t->numel);
    return SA_OK;
}

/* ---- BASE+ADAPTER ---- */

const char *sa_ckpt_adapter_dir(const sa_checkpoint *ck) {
    return ck->adapter_dir;
}

size_t sa_ckpt_computed_count(const sa_checkpoint *ck) {
    size_t n = 0;
    for (size_t i = 0; ck->computed && i < ck->n_tensors; i++) n += ck->computed[i] != NULL;
    return n;
}

static const sa_lora_target *target_of(const sa_checkpoint *ck, const sa_st_tensor *t) {
    if (!ck->computed || t < ck->tensors || t >= ck->tensors + ck->n_tensors) return NULL;
    return ck->computed[t - ck->tensors];
}

void sa_ckpt_read_f32(const sa_checkpoint *ck, const sa_st_tensor *t, uint64_t offset, size_t n,
                      float *dst) {
    const sa_lora_target *lt = t->data ? NULL : target_of(ck, t);
    if (lt)
        sa_adapter_read(lt, offset, n, dst);
    else
        sa_to_f32((const unsigned char *)t->data + offset * (sa_dtype_bits(t->dtype) / 8), t->dtype,
                  dst, n);
}

int sa_ckpt_read_delta_f32(const sa_checkpoint *ck, const sa_st_tensor *t, uint64_t offset,
                           size_t n, float *dst) {
    const sa_lora_target *lt = t->data ? NULL : target_of(ck, t);
    if (!lt || lt->magnitude) return 0;
    sa_adapter_read_delta(lt, offset, n, dst);
    return 1;
}

const sa_st_tensor *sa_ckpt_stored(const sa_checkpoint *ck, const sa_st_tensor *t) {
    const sa_lora_target *lt = t->data ? NULL : target_of(ck, t);
    return lt ? &lt->base : t;
}

int sa_ckpt_same_files(const sa_checkpoint *a, const sa_checkpoint *b) {
    if (a->n_shards != b->n_shards) return 0;
    for (int i = 0; i < a->n_shards; i++) {
        struct stat sa_, sb;
        if (stat(a->shards[i].path, &sa_) != 0 || stat(b->shards[i].path, &sb) != 0 ||
            sa_.st_dev != sb.st_dev || sa_.st_ino != sb.st_ino)
            return 0;
    }
    return 1;
}
