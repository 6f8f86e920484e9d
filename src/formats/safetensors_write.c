/* safetensors_write.c: the streaming checkpoint writer (see include/safearith/safetensors.h).
 *
 * Tensors are declared first, so that shard membership and every header are known before the
 * first data byte: each shard file is then written front to back (length, header, data) in one
 * pass and memory use is the declarations only. Shards are filled greedily in declaration order
 * up to max_shard_bytes (a bigger tensor gets a shard of its own). Headers are padded with spaces
 * to a multiple of 8 bytes, as the reference writer does, so the data buffer starts 8-aligned.
 * The host is assumed little-endian, like the format. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/opts.h"
#include "core/io.h"
#include "formats/safetensors_internal.h"
#include "formats/st_header.h"
#include "core/fsutil.h"

struct sa_st_writer {
    char *dir;
    uint64_t max_shard_bytes;
    char **meta; /* NULL-terminated key, value list (copied) */
    sa_st_decl *decls;
    size_t n, cap;
    int planned, n_shards, open_shard;
    size_t cur;       /* tensor receiving bytes */
    uint64_t written; /* bytes of decls[cur] written so far */
    FILE *fp;
    int failed;
};

static char **copy_kv(const char *const *kv) {
    size_t n = 0;
    while (kv && kv[n] && kv[n + 1]) n += 2;
    char **out = calloc(n + 1, sizeof *out);
    if (!out) return NULL;
    for (size_t i = 0; i < n; i++) {
        if (!(out[i] = strdup(kv[i]))) {
            for (size_t j = 0; j < i; j++) free(out[j]);
            free(out);
            return NULL;
        }
    }
    return out;
}

void sa_st_writer_opts_init(sa_st_writer_opts *o) {
    *o = (sa_st_writer_opts){.struct_size = sizeof *o};
}

sa_status sa_st_writer_create(const char *dir, const sa_st_writer_opts *opts_in, sa_st_writer **out,
                              sa_error *err) {
    *out = NULL;
    sa_st_writer_opts oc; /* NULL: the defaults */
    sa_st_writer_opts_init(&oc);
    sa_status s0 =
        opts_in ? sa_opts_take(&oc, sizeof oc, opts_in, "sa_st_writer_opts", err) : SA_OK;
    if (s0) return s0;
    const sa_st_writer_opts *opts = &oc;
    sa_st_writer *w = calloc(1, sizeof *w);
    if (!w) return sa_error_set(err, SA_ENOMEM, "out of memory");
    w->dir = strdup(dir);
    w->meta = copy_kv(opts ? opts->metadata_kv : NULL);
    w->max_shard_bytes = opts ? opts->max_shard_bytes : 0;
    w->open_shard = -1;
    if (!w->dir || !w->meta) {
        sa_st_writer_free(w);
        return sa_error_set(err, SA_ENOMEM, "out of memory");
    }
    *out = w;
    return SA_OK;
}

sa_status sa_st_writer_declare(sa_st_writer *w, const char *name, sa_dtype dtype, int ndim,
                               const int64_t *shape, sa_error *err) {
    if (w->planned)
        return sa_error_set(err, SA_EINVAL, "tensor '%s': declared after writing started", name);
    for (size_t i = 0; i < w->n; i++)
        if (!strcmp(w->decls[i].name, name))
            return sa_error_set(err, SA_EINVAL, "tensor '%s': declared twice", name);
    if (w->n == w->cap) {
        size_t cap = w->cap ? 2 * w->cap : 64;
        sa_st_decl *d = realloc(w->decls, cap * sizeof *d);
        if (!d) return sa_error_set(err, SA_ENOMEM, "out of memory");
        w->decls = d;
        w->cap = cap;
    }
    sa_st_decl *d = &w->decls[w->n];
    sa_status s = sa_st_decl_init(d, name, dtype, ndim, shape, err);
    if (s == SA_OK) w->n++;
    return s;
}

static void plan_shards(sa_st_writer *w) {
    uint64_t size = 0;
    int shard = 0;
    for (size_t i = 0; i < w->n; i++) {
        if (w->max_shard_bytes && size > 0 && size + w->decls[i].nbytes > w->max_shard_bytes) {
            shard++;
            size = 0;
        }
        w->decls[i].shard = shard;
        size += w->decls[i].nbytes;
    }
    w->n_shards = shard + 1;
    w->planned = 1;
}

static void shard_name(const sa_st_writer *w, int shard, char *buf, size_t n) {
    sa_st_shard_file_name(shard, w->n_shards, buf, n);
}

static sa_status close_shard(sa_st_writer *w, sa_error *err) {
    if (!w->fp) return SA_OK;
    int bad = sa_io_fclose(w->fp) != 0;
    w->fp = NULL;
    if (bad) {
        char name[64];
        shard_name(w, w->open_shard, name, sizeof name);
        return sa_error_set(err, SA_EIO, "%s/%s: write failed: %s", w->dir, name, strerror(errno));
    }
    return SA_OK;
}

/* Open shards up to and including `shard`, writing their headers. */
static sa_status open_through(sa_st_writer *w, int shard, sa_error *err) {
    while (w->open_shard < shard) {
        sa_status s = close_shard(w, err);
        if (s != SA_OK) return s;
        int k = ++w->open_shard;
        char name[64];
        shard_name(w, k, name, sizeof name);
        char *path = sa_path_join(w->dir, name);
        if (!path) return sa_error_set(err, SA_ENOMEM, "out of memory");
        w->fp = sa_io_fopen_write(path);
        if (!w->fp) {
            s = sa_error_set(err, SA_EIO, "%s: cannot create: %s", path, strerror(errno));
            free(path);
            return s;
        }
        size_t first = 0;
        while (first < w->n && w->decls[first].shard < k) first++;
        size_t last = first;
        while (last < w->n && w->decls[last].shard == k) last++;
        s = sa_st_header_write(w->fp, path, (const char *const *)w->meta, w->decls + first,
                               last - first, err);
        free(path);
        if (s != SA_OK) return s;
    }
    return SA_OK;
}

static void skip_complete(sa_st_writer *w) {
    while (w->cur < w->n && w->written == w->decls[w->cur].nbytes) {
        w->cur++;
        w->written = 0;
    }
}

sa_status sa_st_writer_write(sa_st_writer *w, const void *data, size_t nbytes, sa_error *err) {
    if (w->failed) return sa_error_set(err, SA_EINVAL, "%s: writer already failed", w->dir);
    if (!w->planned) plan_shards(w);
    const unsigned char *p = data;
    while (nbytes > 0) {
        skip_complete(w);
        if (w->cur == w->n) {
            w->failed = 1;
            return sa_error_set(err, SA_EINVAL, "%s: more bytes written than declared", w->dir);
        }
        const sa_st_decl *d = &w->decls[w->cur];
        sa_status s = open_through(w, d->shard, err);
        if (s != SA_OK) {
            w->failed = 1;
            return s;
        }
        uint64_t left = d->nbytes - w->written;
        size_t take = nbytes < left ? nbytes : (size_t)left;
        if (fwrite(p, 1, take, w->fp) != take) {
            w->failed = 1;
            return sa_error_set(err, SA_EIO, "%s: tensor '%s': write failed: %s", w->dir, d->name,
                                strerror(errno));
        }
        w->written += take;
        p += take;
        nbytes -= take;
    }
    return SA_OK;
}

static sa_status write_index(sa_st_writer *w, sa_error *err) {
    char *path = sa_path_join(w->dir, "model.safetensors.index.json");
    if (!path) return sa_error_set(err, SA_ENOMEM, "out of memory");
    sa_status s = sa_st_index_write(path, w->decls, w->n, w->n_shards, err);
    free(path);
    return s;
}

sa_status sa_st_writer_finish(sa_st_writer *w, sa_error *err) {
    if (w->failed) return sa_error_set(err, SA_EINVAL, "%s: writer already failed", w->dir);
    if (!w->planned) plan_shards(w);
    skip_complete(w);
    sa_status s = SA_OK;
    if (w->cur < w->n)
        s = sa_error_set(err, SA_EINVAL, "tensor '%s': only %llu of %llu bytes written",
                         w->decls[w->cur].name, (unsigned long long)w->written,
                         (unsigned long long)w->decls[w->cur].nbytes);
    if (s == SA_OK) s = open_through(w, w->n_shards - 1, err);
    if (s == SA_OK) s = close_shard(w, err);
    if (s == SA_OK && w->n_shards > 1) s = write_index(w, err);
    if (s != SA_OK) w->failed = 1;
    return s;
}

void sa_st_writer_free(sa_st_writer *w) {
    if (!w) return;
    if (w->fp) fclose(w->fp);
    for (size_t i = 0; i < w->n; i++) free(w->decls[i].name);
    for (size_t i = 0; w->meta && w->meta[i]; i++) free(w->meta[i]);
    free(w->meta);
    free(w->decls);
    free(w->dir);
    free(w);
}
