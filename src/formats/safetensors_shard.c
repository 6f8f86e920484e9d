/* safetensors_shard.c: memory-map (or read into memory) one .safetensors file and validate it the
 * way the reference implementation does, appending its tensors to a checkpoint.
 *
 * Checks, each with its own message: file at least 8 bytes; header length <= 100 MB and inside
 * the file; header valid UTF-8 without NUL and a JSON object (space padding on either side is
 * fine); every entry exactly {dtype, shape, data_offsets} with a known dtype, non-negative
 * integer dims and offsets; element count and byte size computed with overflow checks and a
 * whole number of bytes equal to the offset span; after sorting by offset, the spans start at 0
 * and follow each other without gap or overlap, and the last one ends exactly at end of file;
 * __metadata__ is null or a string -> string map. Duplicate names are caught by the name table. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "formats/jsonl.h"
#include "formats/safetensors_internal.h"
#include "formats/text.h"

#define MAX_JSON_INT 9007199254740992.0 /* 2^53: larger values are not exact in cJSON */

/* Transparent huge pages for the weights, where the kernel offers them (THP "madvise" mode): a
 * 2 MiB page needs one TLB entry instead of 512, and decoding reads every weight once per token,
 * so with 4 KiB pages it walks the page tables for every 4 KiB it reads (bench/engine.md measured
 * the difference). For a map, the page cache then reads the file in 2 MiB folios when it is not
 * cached yet, and a file cached in 2 MiB folios is mapped with 2 MiB pages. Advice only: a kernel
 * without THP, or one that refuses, leaves 4 KiB pages and the same data. */
static void advise_huge(void *m, size_t size) {
#ifdef MADV_HUGEPAGE
    (void)madvise(m, size, MADV_HUGEPAGE);
#else
    (void)m;
    (void)size;
#endif
}

/* SA_CKPT_READ: the whole file in private anonymous memory (huge pages where available),
 * read-only once filled, released with munmap like a map. */
static sa_status read_whole(sa_st_shard *sh, int fd, sa_error *err) {
    size_t size = (size_t)sh->size;
    void *m = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED)
        return sa_error_set(err, SA_ENOMEM, "%s: cannot allocate %zu bytes to read it into memory",
                            sh->path, size);
    advise_huge(m, size); /* before the pages are touched: read() then fills huge pages */
    size_t got = 0;
    while (got < size) {
        size_t want = size - got < (1u << 30) ? size - got : (1u << 30);
        ssize_t r = read(fd, (char *)m + got, want);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) {
            sa_status s =
                r < 0 ? sa_error_set(err, SA_EIO, "%s: cannot read: %s", sh->path, strerror(errno))
                      : sa_error_set(err, SA_EIO,
                                     "%s: file shrank while being read (%zu of %zu "
                                     "bytes)",
                                     sh->path, got, size);
            munmap(m, size);
            return s;
        }
        got += (size_t)r;
    }
    mprotect(m, size, PROT_READ);
    sh->map = m;
    return SA_OK;
}

static sa_status map_file(sa_st_shard *sh, sa_ckpt_mode mode, sa_error *err) {
    int fd = open(sh->path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return sa_error_set(err, SA_EIO, "%s: cannot open: %s", sh->path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        close(fd);
        return sa_error_set(err, SA_EIO, "%s: cannot stat: %s", sh->path, strerror(errno));
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return sa_error_set(err, SA_EIO, "%s: not a regular file", sh->path);
    }
    sh->size = (uint64_t)st.st_size;
    if (sh->size < 8) {
        close(fd);
        return sa_error_set(err, SA_EFORMAT,
                            "%s: file is %llu bytes, too small for the 8-byte header length",
                            sh->path, (unsigned long long)sh->size);
    }
    if (mode == SA_CKPT_READ) {
        sa_status s = read_whole(sh, fd, err);
        close(fd);
        return s;
    }
    void *m = mmap(NULL, (size_t)sh->size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (m == MAP_FAILED)
        return sa_error_set(err, SA_EIO, "%s: cannot mmap: %s", sh->path, strerror(errno));
    advise_huge(m, (size_t)sh->size);
    sh->map = m;
    return SA_OK;
}

/* A JSON number that is a non-negative integer below 2^53. */
static int json_u64(const cJSON *j, uint64_t *out) {
    if (!cJSON_IsNumber(j)) return 0;
    double v = j->valuedouble;
    if (!(v >= 0 && v < MAX_JSON_INT) || v != (double)(uint64_t)v) return 0;
    *out = (uint64_t)v;
    return 1;
}

static sa_status parse_meta(sa_checkpoint *ck, const char *path, const cJSON *m, int keep,
                            sa_error *err) {
    if (cJSON_IsNull(m)) return SA_OK;
    if (!cJSON_IsObject(m))
        return sa_error_set(err, SA_EFORMAT, "%s: __metadata__ is not a string-to-string map",
                            path);
    size_t n = 0;
    for (const cJSON *e = m->child; e; e = e->next) {
        if (!cJSON_IsString(e))
            return sa_error_set(err, SA_EFORMAT, "%s: __metadata__ value of '%s' is not a string",
                                path, e->string);
        n++;
    }
    if (!keep) return SA_OK;
    ck->meta = calloc(2 * n + 1, sizeof *ck->meta);
    if (!ck->meta) return sa_error_set(err, SA_ENOMEM, "out of memory");
    for (const cJSON *e = m->child; e; e = e->next) {
        char *k = strdup(e->string), *v = strdup(e->valuestring);
        ck->meta[2 * ck->n_meta] = k;
        ck->meta[2 * ck->n_meta + 1] = v;
        ck->n_meta++;
        if (!k || !v) return sa_error_set(err, SA_ENOMEM, "out of memory");
    }
    return SA_OK;
}

static sa_status parse_shape(const char *path, const char *name, const cJSON *shape,
                             sa_st_tensor *t, sa_error *err) {
    if (!cJSON_IsArray(shape))
        return sa_error_set(err, SA_EFORMAT, "%s: tensor '%s': shape is missing or not an array",
                            path, name);
    int nd = cJSON_GetArraySize(shape);
    if (nd > SA_ST_MAX_DIMS)
        return sa_error_set(err, SA_EUNSUPPORTED, "%s: tensor '%s': %d dimensions (at most %d)",
                            path, name, nd, SA_ST_MAX_DIMS);
    t->ndim = nd;
    uint64_t numel = 1;
    int i = 0;
    for (const cJSON *d = shape->child; d; d = d->next, i++) {
        uint64_t v;
        if (!json_u64(d, &v))
            return sa_error_set(err, SA_EFORMAT,
                                "%s: tensor '%s': shape[%d] is not a non-negative integer", path,
                                name, i);
        t->shape[i] = (int64_t)v;
        if (__builtin_mul_overflow(numel, v, &numel))
            return sa_error_set(err, SA_EFORMAT, "%s: tensor '%s': element count overflows", path,
                                name);
    }
    t->numel = numel;
    return SA_OK;
}

static sa_status parse_offsets(const char *path, const char *name, const cJSON *off, uint64_t *b,
                               uint64_t *e, sa_error *err) {
    if (!cJSON_IsArray(off) || cJSON_GetArraySize(off) != 2 || !json_u64(off->child, b) ||
        !json_u64(off->child->next, e))
        return sa_error_set(err, SA_EFORMAT,
                            "%s: tensor '%s': data_offsets must be [begin, end] non-negative "
                            "integers",
                            path, name);
    if (*e < *b)
        return sa_error_set(err, SA_EFORMAT, "%s: tensor '%s': data_offsets end %llu < begin %llu",
                            path, name, (unsigned long long)*e, (unsigned long long)*b);
    return SA_OK;
}

/* Fill t (name owned by caller until success) from one header entry, with its offsets in begin and
 * end. */
static sa_status parse_entry(const char *path, const cJSON *j, sa_st_tensor *t, uint64_t *begin,
                             uint64_t *end, sa_error *err) {
    const char *name = j->string;
    if (!cJSON_IsObject(j))
        return sa_error_set(err, SA_EFORMAT, "%s: tensor '%s': entry is not an object", path, name);
    for (const cJSON *k = j->child; k; k = k->next)
        if (strcmp(k->string, "dtype") && strcmp(k->string, "shape") &&
            strcmp(k->string, "data_offsets"))
            return sa_error_set(err, SA_EFORMAT, "%s: tensor '%s': unexpected key '%s'", path, name,
                                k->string);
    const cJSON *dt = cJSON_GetObjectItemCaseSensitive(j, "dtype");
    if (!cJSON_IsString(dt))
        return sa_error_set(err, SA_EFORMAT, "%s: tensor '%s': dtype is missing or not a string",
                            path, name);
    if (sa_dtype_parse(dt->valuestring, &t->dtype) != 0)
        return sa_error_set(err, SA_EFORMAT, "%s: tensor '%s': unknown dtype '%s'", path, name,
                            dt->valuestring);
    sa_status s = parse_shape(path, name, cJSON_GetObjectItemCaseSensitive(j, "shape"), t, err);
    if (s != SA_OK) return s;
    s = parse_offsets(path, name, cJSON_GetObjectItemCaseSensitive(j, "data_offsets"), begin, end,
                      err);
    if (s != SA_OK) return s;
    uint64_t bits;
    if (__builtin_mul_overflow(t->numel, (uint64_t)sa_dtype_bits(t->dtype), &bits))
        return sa_error_set(err, SA_EFORMAT, "%s: tensor '%s': byte size overflows", path, name);
    if (bits % 8)
        return sa_error_set(err, SA_EFORMAT,
                            "%s: tensor '%s': %llu elements of %s do not fill whole bytes", path,
                            name, (unsigned long long)t->numel, sa_dtype_name(t->dtype));
    t->nbytes = bits / 8;
    if (*end - *begin != t->nbytes)
        return sa_error_set(err, SA_EFORMAT,
                            "%s: tensor '%s': data_offsets span %llu bytes but shape and dtype "
                            "need %llu",
                            path, name, (unsigned long long)(*end - *begin),
                            (unsigned long long)t->nbytes);
    return SA_OK;
}

typedef struct entry {
    uint64_t begin, end;
    sa_st_tensor t;
} entry;

static int cmp_entry(const void *a, const void *b) {
    const entry *x = a, *y = b;
    if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
    if (x->end != y->end) return x->end < y->end ? -1 : 1;
    return 0;
}

/* Offsets contiguous from 0 and ending at end of file. */
static sa_status check_layout(const sa_st_shard *sh, entry *es, size_t n, sa_error *err) {
    qsort(es, n, sizeof *es, cmp_entry);
    uint64_t at = 0;
    for (size_t i = 0; i < n; i++) {
        if (es[i].begin > at)
            return sa_error_set(err, SA_EFORMAT,
                                "%s: tensor '%s': gap before its data (begins at %llu, previous "
                                "data ends at %llu)",
                                sh->path, es[i].t.name, (unsigned long long)es[i].begin,
                                (unsigned long long)at);
        if (es[i].begin < at)
            return sa_error_set(err, SA_EFORMAT,
                                "%s: tensor '%s': data overlaps the previous tensor (begins at "
                                "%llu, previous data ends at %llu)",
                                sh->path, es[i].t.name, (unsigned long long)es[i].begin,
                                (unsigned long long)at);
        at = es[i].end;
    }
    uint64_t want = sh->size - sh->data_start;
    if (at != want)
        return sa_error_set(err, SA_EFORMAT,
                            "%s: tensor data ends at byte %llu of the data buffer, but the file "
                            "holds %llu data bytes",
                            sh->path, (unsigned long long)at, (unsigned long long)want);
    return SA_OK;
}

static sa_status append_tensors(sa_checkpoint *ck, int shard, entry *es, size_t n, sa_error *err) {
    if (ck->n_tensors + n > ck->cap_tensors) {
        size_t cap = ck->cap_tensors ? ck->cap_tensors : 64;
        while (cap < ck->n_tensors + n) cap *= 2;
        sa_st_tensor *nt = realloc(ck->tensors, cap * sizeof *nt);
        if (!nt) return sa_error_set(err, SA_ENOMEM, "out of memory");
        ck->tensors = nt;
        ck->cap_tensors = cap;
    }
    const sa_st_shard *sh = &ck->shards[shard];
    for (size_t i = 0; i < n; i++) {
        sa_st_tensor *t = &ck->tensors[ck->n_tensors++];
        *t = es[i].t;
        es[i].t.name = NULL; /* now owned by ck */
        t->data = sh->map + sh->data_start + es[i].begin;
        t->shard = shard;
        unsigned eb = sa_dtype_bits(t->dtype) / 8;
        t->aligned = eb <= 1 || (uintptr_t)t->data % eb == 0;
        ck->total_bytes += t->nbytes;
        ck->total_params += t->numel;
    }
    return SA_OK;
}

/* Header bytes -> JSON object, with the text checks. */
static sa_status parse_header(const sa_st_shard *sh, cJSON **root, sa_error *err) {
    const char *h = (const char *)sh->map + 8;
    size_t n = (size_t)(sh->data_start - 8);
    if (memchr(h, 0, n))
        return sa_error_set(err, SA_EFORMAT, "%s: header contains a NUL byte", sh->path);
    size_t bad;
    if (!sa_text_utf8_valid(h, n, &bad))
        return sa_error_set(err, SA_EFORMAT, "%s: header is not valid UTF-8 (byte %zu)", sh->path,
                            bad);
    const char *end = NULL;
    *root = cJSON_ParseWithLengthOpts(h, n, &end, 0);
    if (!*root && sa_json_syntax_ok(h, n))
        return sa_error_set(err, SA_ENOMEM, "%s: header: out of memory", sh->path);
    if (!*root) {
        const char *at = cJSON_GetErrorPtr();
        long pos = at && at >= h && at <= h + n ? (long)(at - h) : -1;
        return sa_error_set(err, SA_EFORMAT, "%s: header is not valid JSON (error near byte %ld)",
                            sh->path, pos);
    }
    for (const char *p = end; p && p < h + n; p++)
        if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r')
            return sa_error_set(err, SA_EFORMAT,
                                "%s: header has non-whitespace bytes after the JSON object (byte "
                                "%ld)",
                                sh->path, (long)(p - h));
    if (!cJSON_IsObject(*root))
        return sa_error_set(err, SA_EFORMAT, "%s: header is not a JSON object", sh->path);
    return SA_OK;
}

static sa_status parse_entries(sa_checkpoint *ck, int shard, const cJSON *root, int keep_meta,
                               entry *es, size_t *n, sa_error *err) {
    const char *path = ck->shards[shard].path;
    int seen_meta = 0;
    for (const cJSON *j = root->child; j; j = j->next) {
        if (!strcmp(j->string, "__metadata__")) {
            if (seen_meta++)
                return sa_error_set(err, SA_EFORMAT, "%s: __metadata__ appears twice", path);
            sa_status s = parse_meta(ck, path, j, keep_meta, err);
            if (s != SA_OK) return s;
            continue;
        }
        entry *e = &es[*n];
        memset(e, 0, sizeof *e);
        sa_status s = parse_entry(path, j, &e->t, &e->begin, &e->end, err);
        if (s != SA_OK) return s;
        e->t.name = strdup(j->string);
        if (!e->t.name) return sa_error_set(err, SA_ENOMEM, "out of memory");
        (*n)++;
    }
    return SA_OK;
}

sa_status sa_st_parse_shard(sa_checkpoint *ck, int shard, int keep_meta, sa_error *err) {
    sa_st_shard *sh = &ck->shards[shard];
    sa_status s = map_file(sh, ck->mode, err);
    if (s != SA_OK) return s;
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--) hlen = (hlen << 8) | sh->map[i];
    if (hlen > SA_ST_MAX_HEADER)
        return sa_error_set(err, SA_EFORMAT, "%s: header length %llu exceeds the limit of %llu",
                            sh->path, (unsigned long long)hlen, SA_ST_MAX_HEADER);
    if (hlen > sh->size - 8)
        return sa_error_set(err, SA_EFORMAT,
                            "%s: header length %llu runs past the end of the file (%llu bytes)",
                            sh->path, (unsigned long long)hlen, (unsigned long long)sh->size);
    sh->data_start = 8 + hlen;
    cJSON *root = NULL;
    s = parse_header(sh, &root, err);
    size_t cap = root ? (size_t)cJSON_GetArraySize(root) : 0, n = 0;
    entry *es = s == SA_OK ? calloc(cap + 1, sizeof *es) : NULL;
    if (s == SA_OK && !es) s = sa_error_set(err, SA_ENOMEM, "out of memory");
    if (s == SA_OK) s = parse_entries(ck, shard, root, keep_meta, es, &n, err);
    if (s == SA_OK) s = check_layout(sh, es, n, err);
    if (s == SA_OK) s = append_tensors(ck, shard, es, n, err);
    for (size_t i = 0; es && i < n; i++) free((char *)es[i].t.name);
    free(es);
    cJSON_Delete(root);
    return s;
}
