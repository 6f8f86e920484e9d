/* gguf_write.c: writing a GGUF file, small or model-sized, atomically (see gguf.h).
 *
 * Key/values are serialised as they are added into one growing buffer (metadata is small next to
 * the weights: a 128k-token vocabulary is a few MB). Tensors are declared with their ggml type and
 * shape before anything is written, so that every offset is known when the header goes out: the
 * data blob's layout is the declaration order, each tensor starting at a multiple of the
 * alignment (32). Writing then streams: sa_gguf_writer_open writes the header, key/values and
 * tensor infos into an sa_afile, sa_gguf_writer_write appends the current tensor's bytes in any
 * chunks (padding follows each completed tensor), sa_gguf_writer_commit checks that every tensor
 * is complete and moves the file into place. Small files (control vectors) keep copies of their
 * F32 tensors and are written in one call by sa_gguf_writer_save. Everything is little-endian, as
 * on every machine we build for. */
#include <stdlib.h>
#include <string.h>

#include "safearith/dtype.h"
#include "core/fsutil.h"
#include "safearith/gguf.h"

typedef struct {
    unsigned char *p;
    size_t len, cap;
    int oom;
} bytes;

typedef struct {
    char *name;
    uint32_t type, n_dims;
    int64_t ne[SA_GGUF_MAX_DIMS];
    uint64_t nbytes, offset;
    float *vals; /* sa_gguf_w_tensor_f32's copy; NULL for streamed tensors */
} wtensor;

struct sa_gguf_writer {
    bytes kv;
    uint64_t n_kv;
    wtensor *t;
    size_t n_t, cap_t;
    uint64_t blob; /* data blob size so far (next tensor's offset) */
    int oom;
    /* streaming state */
    sa_afile af;
    int is_open;
    size_t cur;    /* tensor being written */
    uint64_t done; /* its bytes written so far */
    char *path;
};

static void put(bytes *b, const void *src, size_t n) {
    if (b->oom) return;
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n) cap *= 2;
        unsigned char *p = realloc(b->p, cap);
        if (!p) {
            b->oom = 1;
            return;
        }
        b->p = p, b->cap = cap;
    }
    memcpy(b->p + b->len, src, n);
    b->len += n;
}

static void put_u32(bytes *b, uint32_t v) {
    put(b, &v, 4);
}
static void put_u64(bytes *b, uint64_t v) {
    put(b, &v, 8);
}
static void put_str(bytes *b, const char *s) {
    put_u64(b, strlen(s));
    put(b, s, strlen(s));
}

uint64_t sa_ggml_nbytes(uint32_t type, uint32_t n_dims, const int64_t *ne) {
    uint64_t blck, bsize;
    switch (type) {
    case SA_GGML_TYPE_F32:
        blck = 1, bsize = 4;
        break;
    case SA_GGML_TYPE_F16:
    case SA_GGML_TYPE_BF16:
        blck = 1, bsize = 2;
        break;
    case SA_GGML_TYPE_Q8_0:
        blck = SA_Q8_0_BLOCK, bsize = SA_Q8_0_BLOCK_BYTES;
        break;
    default:
        return 0;
    }
    if (n_dims < 1 || n_dims > SA_GGUF_MAX_DIMS || ne[0] <= 0 || (uint64_t)ne[0] % blck) return 0;
    uint64_t n = (uint64_t)ne[0] / blck * bsize;
    for (uint32_t d = 1; d < n_dims; d++) {
        if (ne[d] <= 0 || n > UINT64_MAX / 2 / (uint64_t)ne[d]) return 0;
        n *= (uint64_t)ne[d];
    }
    return n;
}

sa_gguf_writer *sa_gguf_writer_new(void) {
    return calloc(1, sizeof(sa_gguf_writer));
}

void sa_gguf_writer_abort(sa_gguf_writer *w) {
    if (w && w->is_open) sa_afile_abort(&w->af);
    if (w) w->is_open = 0;
}

void sa_gguf_writer_free(sa_gguf_writer *w) {
    if (!w) return;
    sa_gguf_writer_abort(w);
    for (size_t i = 0; i < w->n_t; i++) free(w->t[i].name), free(w->t[i].vals);
    free(w->t);
    free(w->kv.p);
    free(w->path);
    free(w);
}

static sa_status kv_head(sa_gguf_writer *w, const char *key, sa_gguf_type t) {
    put_str(&w->kv, key);
    put_u32(&w->kv, (uint32_t)t);
    w->n_kv++;
    return w->kv.oom ? SA_ENOMEM : SA_OK;
}

static sa_status kv_done(sa_gguf_writer *w) {
    return w->kv.oom ? SA_ENOMEM : SA_OK;
}

sa_status sa_gguf_w_str(sa_gguf_writer *w, const char *key, const char *val) {
    kv_head(w, key, SA_GGUF_STRING);
    put_str(&w->kv, val);
    return kv_done(w);
}

sa_status sa_gguf_w_i32(sa_gguf_writer *w, const char *key, int32_t val) {
    kv_head(w, key, SA_GGUF_INT32);
    put(&w->kv, &val, 4);
    return kv_done(w);
}

sa_status sa_gguf_w_u32(sa_gguf_writer *w, const char *key, uint32_t val) {
    kv_head(w, key, SA_GGUF_UINT32);
    put_u32(&w->kv, val);
    return kv_done(w);
}

sa_status sa_gguf_w_u64(sa_gguf_writer *w, const char *key, uint64_t val) {
    kv_head(w, key, SA_GGUF_UINT64);
    put_u64(&w->kv, val);
    return kv_done(w);
}

sa_status sa_gguf_w_f32(sa_gguf_writer *w, const char *key, float val) {
    kv_head(w, key, SA_GGUF_FLOAT32);
    put(&w->kv, &val, 4);
    return kv_done(w);
}

sa_status sa_gguf_w_bool(sa_gguf_writer *w, const char *key, int val) {
    kv_head(w, key, SA_GGUF_BOOL);
    unsigned char b = val != 0;
    put(&w->kv, &b, 1);
    return kv_done(w);
}

sa_status sa_gguf_w_f32_array(sa_gguf_writer *w, const char *key, const float *vals, uint64_t n) {
    kv_head(w, key, SA_GGUF_ARRAY);
    put_u32(&w->kv, SA_GGUF_FLOAT32);
    put_u64(&w->kv, n);
    put(&w->kv, vals, n * sizeof *vals);
    return kv_done(w);
}

sa_status sa_gguf_w_i32_array(sa_gguf_writer *w, const char *key, const int32_t *vals, uint64_t n) {
    kv_head(w, key, SA_GGUF_ARRAY);
    put_u32(&w->kv, SA_GGUF_INT32);
    put_u64(&w->kv, n);
    put(&w->kv, vals, n * sizeof *vals);
    return kv_done(w);
}

sa_status sa_gguf_w_str_array(sa_gguf_writer *w, const char *key, const char *const *vals,
                              uint64_t n) {
    kv_head(w, key, SA_GGUF_ARRAY);
    put_u32(&w->kv, SA_GGUF_STRING);
    put_u64(&w->kv, n);
    for (uint64_t i = 0; i < n; i++) put_str(&w->kv, vals[i]);
    return kv_done(w);
}

static uint64_t align_up(uint64_t x) {
    return (x + SA_GGUF_DEFAULT_ALIGNMENT - 1) / SA_GGUF_DEFAULT_ALIGNMENT *
           SA_GGUF_DEFAULT_ALIGNMENT;
}

sa_status sa_gguf_w_tensor(sa_gguf_writer *w, const char *name, uint32_t type, uint32_t n_dims,
                           const int64_t *ne, sa_error *err) {
    if (w->is_open)
        return sa_error_set(err, SA_EINVAL, "GGUF tensor '%s' declared after writing began", name);
    uint64_t nbytes = sa_ggml_nbytes(type, n_dims, ne);
    if (!nbytes)
        return sa_error_set(err, SA_EINVAL,
                            "GGUF tensor '%s': ggml type %u with row length %lld is not writable",
                            name, type, (long long)ne[0]);
    if (w->n_t == w->cap_t) {
        size_t cap = w->cap_t ? 2 * w->cap_t : 16;
        wtensor *t = realloc(w->t, cap * sizeof *t);
        if (!t) return sa_error_set(err, SA_ENOMEM, "out of memory declaring tensor '%s'", name);
        w->t = t, w->cap_t = cap;
    }
    wtensor *t = &w->t[w->n_t];
    memset(t, 0, sizeof *t);
    if (!(t->name = strdup(name)))
        return sa_error_set(err, SA_ENOMEM, "out of memory declaring tensor '%s'", name);
    t->type = type, t->n_dims = n_dims;
    for (int d = 0; d < SA_GGUF_MAX_DIMS; d++) t->ne[d] = (uint32_t)d < n_dims ? ne[d] : 1;
    t->nbytes = nbytes;
    t->offset = w->blob;
    w->blob = align_up(w->blob + nbytes);
    w->n_t++;
    return SA_OK;
}

sa_status sa_gguf_w_tensor_f32(sa_gguf_writer *w, const char *name, const float *vals, int64_t n) {
    sa_error err;
    sa_status st = sa_gguf_w_tensor(w, name, SA_GGML_TYPE_F32, 1, &n, &err);
    if (st) return st;
    wtensor *t = &w->t[w->n_t - 1];
    if (!(t->vals = malloc((size_t)n * sizeof *vals))) {
        w->oom = 1;
        return SA_ENOMEM;
    }
    memcpy(t->vals, vals, (size_t)n * sizeof *vals);
    return SA_OK;
}

/* Header, key/values (general.alignment first), tensor infos and the padding before the data. */
static void serialise_header(const sa_gguf_writer *w, bytes *out) {
    put(out, "GGUF", 4);
    put_u32(out, 3);
    put_u64(out, w->n_t);
    put_u64(out, w->n_kv + 1);
    put_str(out, "general.alignment");
    put_u32(out, SA_GGUF_UINT32);
    put_u32(out, SA_GGUF_DEFAULT_ALIGNMENT);
    put(out, w->kv.p, w->kv.len);
    for (size_t i = 0; i < w->n_t; i++) {
        const wtensor *t = &w->t[i];
        put_str(out, t->name);
        put_u32(out, t->n_dims);
        for (uint32_t d = 0; d < t->n_dims; d++) put_u64(out, (uint64_t)t->ne[d]);
        put_u32(out, t->type);
        put_u64(out, t->offset);
    }
    static const unsigned char zeros[SA_GGUF_DEFAULT_ALIGNMENT];
    put(out, zeros, align_up(out->len) - out->len);
}

static sa_status write_raw(sa_gguf_writer *w, const void *p, size_t n, sa_error *err) {
    if (n && fwrite(p, 1, n, w->af.fp) != n) {
        sa_gguf_writer_abort(w);
        return sa_error_set(err, SA_EIO, "%s: write failed", w->path);
    }
    return SA_OK;
}

sa_status sa_gguf_writer_open(sa_gguf_writer *w, const char *path, int overwrite, sa_error *err) {
    if (w->kv.oom || w->oom)
        return sa_error_set(err, SA_ENOMEM, "%s: out of memory building GGUF", path);
    if (w->is_open) return sa_error_set(err, SA_EINVAL, "%s: GGUF writer already open", path);
    free(w->path);
    if (!(w->path = strdup(path))) return sa_error_set(err, SA_ENOMEM, "%s: out of memory", path);
    bytes hdr = {0};
    serialise_header(w, &hdr);
    if (hdr.oom) {
        free(hdr.p);
        return sa_error_set(err, SA_ENOMEM, "%s: out of memory building GGUF", path);
    }
    sa_status st = sa_afile_open(&w->af, path, overwrite, err);
    if (!st) {
        w->is_open = 1, w->cur = 0, w->done = 0;
        st = write_raw(w, hdr.p, hdr.len, err);
    }
    free(hdr.p);
    return st;
}

sa_status sa_gguf_writer_write(sa_gguf_writer *w, const void *data, size_t n, sa_error *err) {
    static const unsigned char zeros[SA_GGUF_DEFAULT_ALIGNMENT];
    const unsigned char *p = data;
    while (n) {
        if (!w->is_open || w->cur >= w->n_t) {
            sa_gguf_writer_abort(w);
            return sa_error_set(err, SA_EINVAL, "%s: more tensor data than declared",
                                w->path ? w->path : "GGUF");
        }
        wtensor *t = &w->t[w->cur];
        uint64_t left = t->nbytes - w->done;
        size_t k = n < left ? n : (size_t)left;
        sa_status st = write_raw(w, p, k, err);
        if (st) return st;
        p += k, n -= k, w->done += k;
        if (w->done == t->nbytes) {
            uint64_t end = t->offset + t->nbytes;
            if ((st = write_raw(w, zeros, align_up(end) - end, err))) return st;
            w->cur++, w->done = 0;
        }
    }
    return SA_OK;
}

sa_status sa_gguf_writer_commit(sa_gguf_writer *w, sa_error *err) {
    if (!w->is_open) return sa_error_set(err, SA_EINVAL, "GGUF writer is not open");
    if (w->cur != w->n_t) {
        const char *name = w->t[w->cur].name;
        sa_gguf_writer_abort(w);
        return sa_error_set(err, SA_EINVAL, "%s: tensor '%s' was not written", w->path, name);
    }
    w->is_open = 0;
    return sa_afile_commit(&w->af, err);
}

sa_status sa_gguf_writer_save(sa_gguf_writer *w, const char *path, int overwrite, sa_error *err) {
    for (size_t i = 0; i < w->n_t; i++)
        if (!w->t[i].vals)
            return sa_error_set(err, SA_EINVAL, "%s: tensor '%s' has no data (stream it instead)",
                                path, w->t[i].name);
    sa_status st = sa_gguf_writer_open(w, path, overwrite, err);
    for (size_t i = 0; !st && i < w->n_t; i++)
        st = sa_gguf_writer_write(w, w->t[i].vals, (size_t)w->t[i].nbytes, err);
    return st ? st : sa_gguf_writer_commit(w, err);
}
