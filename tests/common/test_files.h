/* test_files.h: file helpers the C tests share: count a directory's entries, read an output's
 * model.safetensors whole, write a checkpoint of random F32 tensors. Header-only (static
 * inline), like check.h. */
#ifndef SA_TEST_FILES_H
#define SA_TEST_FILES_H

#include <dirent.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/fsutil.h"
#include "safearith/safetensors.h"

/* Entries of dir other than . and .. (hidden ones included); -1 if it cannot be read. */
static inline int test_dir_entries(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return -1;
    int n = 0;
    for (struct dirent *e; (e = readdir(d));)
        n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
    closedir(d);
    return n;
}

/* DIR/model.safetensors read whole (malloc'd, NULL if unreadable), its length in *len. */
static inline char *test_read_model(const char *dir, size_t *len) {
    char *p = sa_path_join(dir, "model.safetensors"), *data = NULL;
    *len = 0;
    if (p) sa_read_file(p, &data, len, NULL);
    free(p);
    return data;
}

/* DIR/NAME (returned, malloc'd; NULL on failure) as a checkpoint of n F32 matrices of the given
 * names and shapes, uniform in [-1, 1) from a linear congruential generator seeded with seed;
 * coarse: rounded to multiples of 1/64 (many ties). */
static inline char *test_random_ckpt(const char *dir, const char *name, const char *const *names,
                                     const int64_t (*shapes)[2], int n, unsigned seed, int coarse) {
    char *path = sa_path_join(dir, name);
    sa_outdir od;
    sa_st_writer *w = NULL;
    sa_error err;
    int ok = path && sa_outdir_open(&od, path, NULL, 0, 0, &err) == SA_OK;
    ok = ok && sa_st_writer_create(od.tmp_path, NULL, &w, &err) == SA_OK;
    for (int t = 0; ok && t < n; t++)
        ok = sa_st_writer_declare(w, names[t], SA_F32, 2, shapes[t], &err) == SA_OK;
    for (int t = 0; ok && t < n; t++) {
        size_t count = (size_t)(shapes[t][0] * shapes[t][1]);
        float *v = malloc(count * sizeof *v);
        for (size_t i = 0; v && i < count; i++) {
            seed = seed * 1664525u + 1013904223u;
            float x = (float)(int)(seed >> 9) / 4194304.0f - 1.0f;
            v[i] = coarse ? roundf(x * 64) / 64 : x;
        }
        ok = v && sa_st_writer_write(w, v, count * sizeof *v, &err) == SA_OK;
        free(v);
    }
    ok = ok && sa_st_writer_finish(w, &err) == SA_OK;
    sa_st_writer_free(w);
    ok = ok && sa_outdir_commit(&od, &err) == SA_OK;
    if (!ok) free(path);
    return ok ? path : NULL;
}

#endif
