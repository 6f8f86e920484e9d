/* gguf_write.c: building a small GGUF file in memory and writing it atomically (see gguf.h).
 *
 * Key/values are serialised as they are added into one growing buffer; tensors are kept as
 * (name, copied F32 data) until save, which writes the header, the key/values (with
 * general.alignment = 32 first), the tensor infos with offsets rounded up to the alignment,
 * zero padding, and the data. Everything is little-endian, as on every machine we build for. */
#include "safearith/gguf.h"

#include <stdlib.h>
#include <string.h>

#include "core/fsutil.h"

typedef struct {
    unsigned char *p;
    size_t len, cap;
    int oom;
} bytes;

typedef struct {
    char *name;
    float *vals;
    int64_t n;
} wtensor;

struct sa_gguf_writer {
    bytes kv;
    uint64_t n_kv;
    wtensor *t;
    size_t n_t, cap_t;
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

sa_gguf_writer *sa_gguf_writer_new(void) {
    return calloc(1, sizeof(sa_gguf_writer));
}

void sa_gguf_writer_free(sa_gguf_writer *w) {
    if (!w) return;
    for (size_t i = 0; i < w->n_t; i++) free(w->t[i].name), free(w->t[i].vals);
    free(w->t);
    free(w->kv.p);
    free(w);
}

static sa_status kv_head(sa_gguf_writer *w, const char *key, sa_gguf_type t) {
    put_str(&w->kv, key);
    put_u32(&w->kv, (uint32_t)t);
    w->n_kv++;
    return w->kv.oom ? SA_ENOMEM : SA_OK;
}

sa_status sa_gguf_w_str(sa_gguf_writer *w, const char *key, const char *val) {
    kv_head(w, key, SA_GGUF_STRING);
    put_str(&w->kv, val);
    return w->kv.oom ? SA_ENOMEM : SA_OK;
}

sa_status sa_gguf_w_i32(sa_gguf_writer *w, const char *key, int32_t val) {
    kv_head(w, key, SA_GGUF_INT32);
    put(&w->kv, &val, 4);
    return w->kv.oom ? SA_ENOMEM : SA_OK;
}

sa_status sa_gguf_w_u32(sa_gguf_writer *w, const char *key, uint32_t val) {
    kv_head(w, key, SA_GGUF_UINT32);
    put_u32(&w->kv, val);
    return w->kv.oom ? SA_ENOMEM : SA_OK;
}

sa_status sa_gguf_w_u64(sa_gguf_writer *w, const char *key, uint64_t val) {
    kv_head(w, key, SA_GGUF_UINT64);
    put_u64(&w->kv, val);
    return w->kv.oom ? SA_ENOMEM : SA_OK;
}

sa_status sa_gguf_w_f32_array(sa_gguf_writer *w, const char *key, const float *vals, uint64_t n) {
    kv_head(w, key, SA_GGUF_ARRAY);
    put_u32(&w->kv, SA_GGUF_FLOAT32);
    put_u64(&w->kv, n);
    put(&w->kv, vals, n * sizeof *vals);
    return w->kv.oom ? SA_ENOMEM : SA_OK;
}

sa_status sa_gguf_w_tensor_f32(sa_gguf_writer *w, const char *name, const float *vals, int64_t n) {
    if (w->n_t == w->cap_t) {
        size_t cap = w->cap_t ? 2 * w->cap_t : 16;
        wtensor *t = realloc(w->t, cap * sizeof *t);
        if (!t) return SA_ENOMEM;
        w->t = t, w->cap_t = cap;
    }
    wtensor *t = &w->t[w->n_t];
    t->name = strdup(name);
    t->vals = malloc((size_t)n * sizeof *vals);
    t->n = n;
    if (!t->name || !t->vals) {
        free(t->name), free(t->vals);
        return SA_ENOMEM;
    }
    memcpy(t->vals, vals, (size_t)n * sizeof *vals);
    w->n_t++;
    return SA_OK;
}

static uint64_t align_up(uint64_t x) {
    return (x + SA_GGUF_DEFAULT_ALIGNMENT - 1) / SA_GGUF_DEFAULT_ALIGNMENT *
           SA_GGUF_DEFAULT_ALIGNMENT;
}

/* Header + key/values + tensor infos + padding, then the data, into one buffer. */
static void serialise(const sa_gguf_writer *w, bytes *out) {
    put(out, "GGUF", 4);
    put_u32(out, 3);
    put_u64(out, w->n_t);
    put_u64(out, w->n_kv + 1);
    put_str(out, "general.alignment");
    put_u32(out, SA_GGUF_UINT32);
    put_u32(out, SA_GGUF_DEFAULT_ALIGNMENT);
    put(out, w->kv.p, w->kv.len);
    uint64_t off = 0;
    for (size_t i = 0; i < w->n_t; i++) {
        put_str(out, w->t[i].name);
        put_u32(out, 1);
        put_u64(out, (uint64_t)w->t[i].n);
        put_u32(out, SA_GGML_TYPE_F32);
        put_u64(out, off);
        off = align_up(off + (uint64_t)w->t[i].n * 4);
    }
    static const unsigned char zeros[SA_GGUF_DEFAULT_ALIGNMENT];
    put(out, zeros, align_up(out->len) - out->len);
    size_t data_start = out->len;
    for (size_t i = 0; i < w->n_t; i++) {
        put(out, w->t[i].vals, (size_t)w->t[i].n * 4);
        size_t rel = out->len - data_start;
        put(out, zeros, align_up(rel) - rel);
    }
}

sa_status sa_gguf_writer_save(sa_gguf_writer *w, const char *path, int overwrite, sa_error *err) {
    if (w->kv.oom) return sa_error_set(err, SA_ENOMEM, "%s: out of memory building GGUF", path);
    bytes out = {0};
    serialise(w, &out);
    if (out.oom) {
        free(out.p);
        return sa_error_set(err, SA_ENOMEM, "%s: out of memory building GGUF", path);
    }
    sa_afile af;
    sa_status st = sa_afile_open(&af, path, overwrite, err);
    if (!st) {
        if (fwrite(out.p, 1, out.len, af.fp) != out.len) {
            sa_afile_abort(&af);
            st = sa_error_set(err, SA_EIO, "%s: write failed", path);
        } else {
            st = sa_afile_commit(&af, err);
        }
    }
    free(out.p);
    return st;
}
