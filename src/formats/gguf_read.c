/* gguf_read.c: parsing a GGUF image with every count, length and offset checked (see gguf.h).
 *
 * A cursor walks the buffer; each read first checks that the bytes are there. Counts that
 * decide an allocation (tensors, key/values, array elements, string lengths) are bounded by the
 * bytes left, since every item takes at least one byte, so a hostile count fails before any
 * large allocation. Values are little-endian; nested arrays are rejected, as ggml does. */
#include "safearith/gguf.h"

#include <stdlib.h>
#include <string.h>

#include "core/fsutil.h"

typedef struct {
    const unsigned char *p;
    size_t len, pos;
    const char *name; /* file name for messages */
    sa_error *err;
} cursor;

static sa_status need(cursor *c, size_t n, const char *what) {
    if (c->len - c->pos < n)
        return sa_error_set(c->err, SA_EFORMAT, "%s: truncated GGUF file (reading %s at byte %zu)",
                            c->name, what, c->pos);
    return SA_OK;
}

static sa_status rd(cursor *c, void *dst, size_t n, const char *what) {
    sa_status st = need(c, n, what);
    if (st) return st;
    memcpy(dst, c->p + c->pos, n);
    c->pos += n;
    return SA_OK;
}

/* A GGUF string: u64 length, bytes, no NUL. Returned NUL-terminated and malloc'd. */
static sa_status rd_str(cursor *c, char **out, const char *what) {
    uint64_t n;
    sa_status st = rd(c, &n, 8, what);
    if (st) return st;
    if (n > c->len - c->pos)
        return sa_error_set(c->err, SA_EFORMAT,
                            "%s: %s has length %llu but only %zu bytes remain (truncated or "
                            "corrupt GGUF)",
                            c->name, what, (unsigned long long)n, c->len - c->pos);
    char *s = malloc(n + 1);
    if (!s) return sa_error_set(c->err, SA_ENOMEM, "%s: out of memory reading %s", c->name, what);
    memcpy(s, c->p + c->pos, n);
    s[n] = '\0';
    c->pos += n;
    *out = s;
    return SA_OK;
}

static size_t scalar_size(sa_gguf_type t) {
    switch (t) {
    case SA_GGUF_UINT8:
    case SA_GGUF_INT8:
    case SA_GGUF_BOOL:
        return 1;
    case SA_GGUF_UINT16:
    case SA_GGUF_INT16:
        return 2;
    case SA_GGUF_UINT32:
    case SA_GGUF_INT32:
    case SA_GGUF_FLOAT32:
        return 4;
    case SA_GGUF_UINT64:
    case SA_GGUF_INT64:
    case SA_GGUF_FLOAT64:
        return 8;
    default:
        return 0;
    }
}

/* Decode one numeric scalar of type t at the cursor into i, u and f. */
static sa_status rd_num(cursor *c, sa_gguf_type t, int64_t *i, uint64_t *u, double *f,
                        const char *what) {
    unsigned char b[8];
    size_t n = scalar_size(t);
    sa_status st = rd(c, b, n, what);
    if (st) return st;
    switch (t) {
    case SA_GGUF_UINT8:
    case SA_GGUF_BOOL:
        *u = b[0], *i = (int64_t)*u, *f = (double)*u;
        break;
    case SA_GGUF_INT8:
        *i = (int8_t)b[0], *u = (uint64_t)*i, *f = (double)*i;
        break;
    case SA_GGUF_UINT16: {
        uint16_t v;
        memcpy(&v, b, 2);
        *u = v, *i = v, *f = v;
    } break;
    case SA_GGUF_INT16: {
        int16_t v;
        memcpy(&v, b, 2);
        *i = v, *u = (uint64_t)v, *f = v;
    } break;
    case SA_GGUF_UINT32: {
        uint32_t v;
        memcpy(&v, b, 4);
        *u = v, *i = v, *f = v;
    } break;
    case SA_GGUF_INT32: {
        int32_t v;
        memcpy(&v, b, 4);
        *i = v, *u = (uint64_t)v, *f = v;
    } break;
    case SA_GGUF_FLOAT32: {
        float v;
        memcpy(&v, b, 4);
        *f = v, *i = (int64_t)0, *u = 0;
    } break;
    case SA_GGUF_UINT64: {
        uint64_t v;
        memcpy(&v, b, 8);
        *u = v, *i = (int64_t)v, *f = (double)v;
    } break;
    case SA_GGUF_INT64: {
        int64_t v;
        memcpy(&v, b, 8);
        *i = v, *u = (uint64_t)v, *f = (double)v;
    } break;
    case SA_GGUF_FLOAT64: {
        double v;
        memcpy(&v, b, 8);
        *f = v, *i = 0, *u = 0;
    } break;
    default:
        break;
    }
    return SA_OK;
}

static sa_status rd_type(cursor *c, sa_gguf_type *t, const char *key) {
    uint32_t v;
    sa_status st = rd(c, &v, 4, "a value type");
    if (st) return st;
    if (v >= SA_GGUF_TYPE_COUNT)
        return sa_error_set(c->err, SA_EFORMAT, "%s: key '%s' has unknown value type %u", c->name,
                            key, v);
    *t = (sa_gguf_type)v;
    return SA_OK;
}

static sa_status rd_array(cursor *c, sa_gguf_kv *kv) {
    sa_status st = rd_type(c, &kv->elem_type, kv->key);
    if (st) return st;
    if (kv->elem_type == SA_GGUF_ARRAY)
        return sa_error_set(c->err, SA_EFORMAT, "%s: key '%s' is a nested array (not supported)",
                            c->name, kv->key);
    if ((st = rd(c, &kv->count, 8, "an array length"))) return st;
    size_t esz = kv->elem_type == SA_GGUF_STRING ? 8 : scalar_size(kv->elem_type);
    if (kv->count > (c->len - c->pos) / esz)
        return sa_error_set(c->err, SA_EFORMAT,
                            "%s: key '%s' claims %llu array elements, more than the file holds",
                            c->name, kv->key, (unsigned long long)kv->count);
    if (kv->elem_type == SA_GGUF_STRING) {
        kv->strs = calloc(kv->count ? kv->count : 1, sizeof *kv->strs);
        if (!kv->strs) return sa_error_set(c->err, SA_ENOMEM, "%s: out of memory", c->name);
        for (uint64_t j = 0; j < kv->count; j++)
            if ((st = rd_str(c, &kv->strs[j], kv->key))) return st;
        return SA_OK;
    }
    kv->arr = malloc((kv->count ? kv->count : 1) * sizeof *kv->arr);
    if (!kv->arr) return sa_error_set(c->err, SA_ENOMEM, "%s: out of memory", c->name);
    for (uint64_t j = 0; j < kv->count; j++) {
        int64_t i;
        uint64_t u;
        if ((st = rd_num(c, kv->elem_type, &i, &u, &kv->arr[j], kv->key))) return st;
        if (kv->elem_type != SA_GGUF_FLOAT32 && kv->elem_type != SA_GGUF_FLOAT64)
            kv->arr[j] = kv->elem_type == SA_GGUF_INT8 || kv->elem_type == SA_GGUF_INT16 ||
                                 kv->elem_type == SA_GGUF_INT32 || kv->elem_type == SA_GGUF_INT64
                             ? (double)i
                             : (double)u;
    }
    return SA_OK;
}

static sa_status rd_kv(cursor *c, sa_gguf_kv *kv) {
    sa_status st = rd_str(c, &kv->key, "a key");
    if (st) return st;
    if ((st = rd_type(c, &kv->type, kv->key))) return st;
    kv->count = 1;
    if (kv->type == SA_GGUF_STRING) return rd_str(c, &kv->str, kv->key);
    if (kv->type == SA_GGUF_ARRAY) return rd_array(c, kv);
    return rd_num(c, kv->type, &kv->i, &kv->u, &kv->f, kv->key);
}

static uint64_t type_size_known(uint32_t type) {
    switch (type) {
    case 0:
        return 4; /* F32 */
    case 1:
        return 2; /* F16 */
    case 30:
        return 2; /* BF16 */
    default:
        return 0;
    }
}

static sa_status rd_tensor_info(cursor *c, sa_gguf_tensor *t) {
    sa_status st = rd_str(c, &t->name, "a tensor name");
    if (st) return st;
    if ((st = rd(c, &t->n_dims, 4, "a tensor's dimension count"))) return st;
    if (t->n_dims == 0 || t->n_dims > SA_GGUF_MAX_DIMS)
        return sa_error_set(c->err, SA_EFORMAT, "%s: tensor '%s' has %u dimensions (1..%d allowed)",
                            c->name, t->name, t->n_dims, SA_GGUF_MAX_DIMS);
    for (int d = 0; d < SA_GGUF_MAX_DIMS; d++) t->ne[d] = 1;
    for (uint32_t d = 0; d < t->n_dims; d++) {
        if ((st = rd(c, &t->ne[d], 8, "a tensor dimension"))) return st;
        if (t->ne[d] < 0)
            return sa_error_set(c->err, SA_EFORMAT, "%s: tensor '%s' has negative dimension %lld",
                                c->name, t->name, (long long)t->ne[d]);
    }
    if ((st = rd(c, &t->type, 4, "a tensor type"))) return st;
    return rd(c, &t->offset, 8, "a tensor offset");
}

/* Check tensor t's bytes lie in the data blob [data_start, len). */
static sa_status place_tensor(cursor *c, sa_gguf_tensor *t, size_t data_start, uint32_t align) {
    if (t->offset % align)
        return sa_error_set(c->err, SA_EFORMAT,
                            "%s: tensor '%s' offset %llu is not a multiple of the alignment %u",
                            c->name, t->name, (unsigned long long)t->offset, align);
    uint64_t esz = type_size_known(t->type);
    if (!esz) return SA_OK;
    uint64_t n = 1, avail = c->len - data_start;
    for (int d = 0; d < SA_GGUF_MAX_DIMS; d++) {
        uint64_t e = (uint64_t)t->ne[d];
        if (e && n > avail / e) {
            n = UINT64_MAX;
            break;
        }
        n *= e;
    }
    if (n == UINT64_MAX || n > avail / esz || t->offset > avail || n * esz > avail - t->offset)
        return sa_error_set(c->err, SA_EFORMAT,
                            "%s: tensor '%s' data (offset %llu) runs past the end of the file "
                            "(truncated or corrupt)",
                            c->name, t->name, (unsigned long long)t->offset);
    t->nbytes = n * esz;
    t->data = c->p + data_start + t->offset;
    return SA_OK;
}

static sa_status parse_header(cursor *c, sa_gguf *g) {
    char magic[4];
    sa_status st = rd(c, magic, 4, "the magic");
    if (st) return st;
    if (memcmp(magic, "GGUF", 4))
        return sa_error_set(c->err, SA_EFORMAT, "%s: not a GGUF file (bad magic)", c->name);
    if ((st = rd(c, &g->version, 4, "the version"))) return st;
    if (g->version != 2 && g->version != 3)
        return sa_error_set(c->err, SA_EFORMAT, "%s: GGUF version %u is not supported (2 or 3)",
                            c->name, g->version);
    int64_t nt, nkv;
    if ((st = rd(c, &nt, 8, "the tensor count")) || (st = rd(c, &nkv, 8, "the key/value count")))
        return st;
    /* A tensor info takes at least 8+4+8+4+8 bytes, a key/value at least 8+4+1. */
    size_t left = c->len - c->pos;
    if (nt < 0 || (uint64_t)nt > left / 32)
        return sa_error_set(c->err, SA_EFORMAT,
                            "%s: tensor count %lld is impossible for a %zu-byte file", c->name,
                            (long long)nt, c->len);
    if (nkv < 0 || (uint64_t)nkv > left / 13)
        return sa_error_set(c->err, SA_EFORMAT,
                            "%s: key/value count %lld is impossible for a %zu-byte file", c->name,
                            (long long)nkv, c->len);
    g->n_tensors = (uint64_t)nt;
    g->n_kv = (uint64_t)nkv;
    g->kv = calloc(g->n_kv ? g->n_kv : 1, sizeof *g->kv);
    g->tensors = calloc(g->n_tensors ? g->n_tensors : 1, sizeof *g->tensors);
    if (!g->kv || !g->tensors) return sa_error_set(c->err, SA_ENOMEM, "%s: out of memory", c->name);
    return SA_OK;
}

static sa_status read_alignment(cursor *c, sa_gguf *g) {
    g->alignment = SA_GGUF_DEFAULT_ALIGNMENT;
    const sa_gguf_kv *a = sa_gguf_find(g, "general.alignment");
    if (!a) return SA_OK;
    if (a->type != SA_GGUF_UINT32 || a->u == 0 || (a->u & (a->u - 1)))
        return sa_error_set(c->err, SA_EFORMAT,
                            "%s: general.alignment must be a UINT32 power of two", c->name);
    g->alignment = (uint32_t)a->u;
    return SA_OK;
}

static int cmp_key(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorting keeps this O(n log n) even for a file with very many keys. */
static sa_status check_duplicate_keys(cursor *c, const sa_gguf *g) {
    if (g->n_kv < 2) return SA_OK;
    char **keys = malloc(g->n_kv * sizeof *keys);
    if (!keys) return sa_error_set(c->err, SA_ENOMEM, "%s: out of memory", c->name);
    for (uint64_t k = 0; k < g->n_kv; k++) keys[k] = g->kv[k].key;
    qsort(keys, g->n_kv, sizeof *keys, cmp_key);
    sa_status st = SA_OK;
    for (uint64_t k = 1; k < g->n_kv && !st; k++)
        if (!strcmp(keys[k], keys[k - 1]))
            st = sa_error_set(c->err, SA_EFORMAT, "%s: duplicate key '%s'", c->name, keys[k]);
    free(keys);
    return st;
}

static sa_status parse(cursor *c, sa_gguf *g) {
    sa_status st = parse_header(c, g);
    if (st) return st;
    for (uint64_t k = 0; k < g->n_kv; k++)
        if ((st = rd_kv(c, &g->kv[k]))) return st;
    if ((st = check_duplicate_keys(c, g))) return st;
    if ((st = read_alignment(c, g))) return st;
    for (uint64_t t = 0; t < g->n_tensors; t++)
        if ((st = rd_tensor_info(c, &g->tensors[t]))) return st;
    size_t data_start = (c->pos + g->alignment - 1) / g->alignment * g->alignment;
    if (g->n_tensors && data_start > c->len)
        return sa_error_set(c->err, SA_EFORMAT, "%s: truncated GGUF file (no tensor data)",
                            c->name);
    for (uint64_t t = 0; t < g->n_tensors; t++)
        if ((st = place_tensor(c, &g->tensors[t], data_start, g->alignment))) return st;
    return SA_OK;
}

sa_status sa_gguf_parse(const void *buf, size_t len, const char *name, sa_gguf *g, sa_error *err) {
    memset(g, 0, sizeof *g);
    g->buf = malloc(len ? len : 1);
    if (!g->buf) return sa_error_set(err, SA_ENOMEM, "%s: out of memory", name);
    memcpy(g->buf, buf, len);
    g->len = len;
    cursor c = {g->buf, len, 0, name, err};
    sa_status st = parse(&c, g);
    if (st) sa_gguf_free(g);
    return st;
}

sa_status sa_gguf_read(const char *path, sa_gguf *g, sa_error *err) {
    char *data;
    size_t len;
    memset(g, 0, sizeof *g);
    sa_status st = sa_read_file(path, &data, &len, err);
    if (st) return st;
    st = sa_gguf_parse(data, len, path, g, err);
    free(data);
    return st;
}

void sa_gguf_free(sa_gguf *g) {
    if (!g) return;
    for (uint64_t k = 0; g->kv && k < g->n_kv; k++) {
        sa_gguf_kv *kv = &g->kv[k];
        free(kv->key);
        free(kv->str);
        free(kv->arr);
        if (kv->strs)
            for (uint64_t j = 0; j < kv->count; j++) free(kv->strs[j]);
        free(kv->strs);
    }
    for (uint64_t t = 0; g->tensors && t < g->n_tensors; t++) free(g->tensors[t].name);
    free(g->kv);
    free(g->tensors);
    free(g->buf);
    memset(g, 0, sizeof *g);
}

const sa_gguf_kv *sa_gguf_find(const sa_gguf *g, const char *key) {
    for (uint64_t k = 0; k < g->n_kv; k++)
        if (g->kv[k].key && !strcmp(g->kv[k].key, key)) return &g->kv[k];
    return NULL;
}

const char *sa_gguf_type_name(sa_gguf_type t) {
    static const char *names[] = {"UINT8",  "INT8",    "UINT16", "INT16",  "UINT32",
                                  "INT32",  "FLOAT32", "BOOL",   "STRING", "ARRAY",
                                  "UINT64", "INT64",   "FLOAT64"};
    return (unsigned)t < SA_GGUF_TYPE_COUNT ? names[t] : "unknown";
}
