/* test_files.h: file helpers the C tests share: count a directory's entries, read an output's
 * model.safetensors whole. Header-only (static inline), like check.h. */
#ifndef SA_TEST_FILES_H
#define SA_TEST_FILES_H

#include <dirent.h>
#include <stdlib.h>
#include <string.h>

#include "core/fsutil.h"

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

#endif
