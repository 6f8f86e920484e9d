/* st_header.c: safetensors header and index emission shared by the checkpoint writer and
 * sa_st_write_f32_file (see st_header.h). JSON is produced by hand with proper string escaping,
 * so integers of any size print exactly. */
#include "formats/st_header.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/io.h"
#include "formats/safetensors_internal.h"
#include "formats/text.h"

void sa_st_shard_file_name(int shard, int n_shards, char *buf, size_t n) {
    if (n_shards <= 1)
        snprintf(buf, n, "model.safetensors");
    else
        snprintf(buf, n, "model-%05d-of-%05d.safetensors", shard + 1, n_shards);
}

sa_status sa_st_decl_init(sa_st_decl *d, const char *name, sa_dtype dtype, int ndim,
                          const int64_t *shape, sa_error *err) {
    memset(d, 0, sizeof *d);
    if (!name || !*name || !strcmp(name, "__metadata__") ||
        !sa_text_utf8_valid(name, strlen(name), NULL))
        return sa_error_set(err, SA_EINVAL, "tensor name '%s' is not allowed", name ? name : "");
    if ((unsigned)dtype >= SA_DTYPE_COUNT)
        return sa_error_set(err, SA_EINVAL, "tensor '%s': invalid dtype", name);
    if (ndim < 0 || ndim > SA_ST_MAX_DIMS)
        return sa_error_set(err, SA_EINVAL, "tensor '%s': %d dimensions (0..%d allowed)", name,
                            ndim, SA_ST_MAX_DIMS);
    uint64_t numel = 1;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] < 0 || __builtin_mul_overflow(numel, (uint64_t)shape[i], &numel))
            return sa_error_set(err, SA_EINVAL, "tensor '%s': bad shape", name);
        d->shape[i] = shape[i];
    }
    uint64_t bits;
    if (__builtin_mul_overflow(numel, (uint64_t)sa_dtype_bits(dtype), &bits) || bits % 8)
        return sa_error_set(err, SA_EINVAL, "tensor '%s': size is not a whole number of bytes",
                            name);
    d->nbytes = bits / 8;
    d->dtype = dtype;
    d->ndim = ndim;
    d->name = strdup(name);
    if (!d->name) return sa_error_set(err, SA_ENOMEM, "out of memory");
    return SA_OK;
}

static int add_meta(sa_strbuf *b, const char *const *meta) {
    int has_format = 0, rc = 0;
    for (size_t i = 0; meta && meta[i] && meta[i + 1]; i += 2)
        if (!strcmp(meta[i], "format")) has_format = 1;
    rc |= sa_strbuf_add(b, "\"__metadata__\":{", 16);
    int first = 1;
    if (!has_format) {
        rc |= sa_strbuf_add(b, "\"format\":\"pt\"", 13);
        first = 0;
    }
    for (size_t i = 0; meta && meta[i] && meta[i + 1]; i += 2) {
        if (!first) rc |= sa_strbuf_add(b, ",", 1);
        first = 0;
        rc |= sa_strbuf_json_string(b, meta[i]);
        rc |= sa_strbuf_add(b, ":", 1);
        rc |= sa_strbuf_json_string(b, meta[i + 1]);
    }
    return rc | sa_strbuf_add(b, "}", 1);
}

static int add_entry(sa_strbuf *b, const sa_st_decl *d, uint64_t off) {
    int rc = sa_strbuf_add(b, ",", 1);
    rc |= sa_strbuf_json_string(b, d->name);
    rc |= sa_strbuf_printf(b, ":{\"dtype\":\"%s\",\"shape\":[", sa_dtype_name(d->dtype));
    for (int k = 0; k < d->ndim; k++)
        rc |= sa_strbuf_printf(b, "%s%lld", k ? "," : "", (long long)d->shape[k]);
    rc |= sa_strbuf_printf(b, "],\"data_offsets\":[%llu,%llu]}", (unsigned long long)off,
                           (unsigned long long)(off + d->nbytes));
    return rc;
}

sa_status sa_st_header_write(FILE *fp, const char *path, const char *const *meta,
                             const sa_st_decl *decls, size_t n, sa_error *err) {
    sa_strbuf b = {0};
    int rc = sa_strbuf_add(&b, "{", 1) | add_meta(&b, meta);
    uint64_t off = 0;
    for (size_t i = 0; i < n; i++) {
        rc |= add_entry(&b, &decls[i], off);
        off += decls[i].nbytes;
    }
    rc |= sa_strbuf_add(&b, "}", 1);
    while (!rc && b.len % 8) rc |= sa_strbuf_add(&b, " ", 1);
    if (rc) {
        free(b.data);
        return sa_error_set(err, SA_ENOMEM, "out of memory");
    }
    unsigned char len8[8];
    for (int i = 0; i < 8; i++) len8[i] = (unsigned char)((uint64_t)b.len >> (8 * i));
    int bad = fwrite(len8, 1, 8, fp) != 8 || fwrite(b.data, 1, b.len, fp) != b.len;
    free(b.data);
    if (bad) return sa_error_set(err, SA_EIO, "%s: write failed: %s", path, strerror(errno));
    return SA_OK;
}

static int cmp_decl_name(const void *a, const void *b) {
    return strcmp((*(const sa_st_decl *const *)a)->name, (*(const sa_st_decl *const *)b)->name);
}

sa_status sa_st_index_write(const char *path, const sa_st_decl *decls, size_t n, int n_shards,
                            sa_error *err) {
    const sa_st_decl **order = malloc((n + 1) * sizeof *order);
    if (!order) return sa_error_set(err, SA_ENOMEM, "out of memory");
    uint64_t total = 0;
    for (size_t i = 0; i < n; i++) {
        order[i] = &decls[i];
        total += decls[i].nbytes;
    }
    qsort(order, n, sizeof *order, cmp_decl_name);
    sa_strbuf b = {0};
    int rc = sa_strbuf_printf(&b,
                              "{\n  \"metadata\": {\n    \"total_size\": %llu\n  },\n"
                              "  \"weight_map\": {",
                              (unsigned long long)total);
    for (size_t i = 0; i < n; i++) {
        char shard[64];
        sa_st_shard_file_name(order[i]->shard, n_shards, shard, sizeof shard);
        rc |= sa_strbuf_add(&b, i ? ",\n    " : "\n    ", i ? 6 : 5);
        rc |= sa_strbuf_json_string(&b, order[i]->name);
        rc |= sa_strbuf_printf(&b, ": \"%s\"", shard);
    }
    rc |= sa_strbuf_add(&b, "\n  }\n}\n", 7);
    free(order);
    if (rc) {
        free(b.data);
        return sa_error_set(err, SA_ENOMEM, "out of memory");
    }
    FILE *f = sa_io_fopen_write(path);
    int bad = !f || fwrite(b.data, 1, b.len, f) != b.len;
    if (f) bad |= sa_io_fclose(f) != 0;
    free(b.data);
    if (bad) return sa_error_set(err, SA_EIO, "%s: write failed: %s", path, strerror(errno));
    return SA_OK;
}
