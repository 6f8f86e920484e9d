/* provenance.c: the identifying files of a model directory, with checksums (see provenance.h). */
#include "safearith/provenance.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/fsutil.h"

static int wanted_file(const char *n) {
    size_t l = strlen(n);
    return (l > 12 && !strcmp(n + l - 12, ".safetensors")) || !strcmp(n, "config.json") ||
           !strcmp(n, "tokenizer.json") || !strcmp(n, "tokenizer_config.json") ||
           !strcmp(n, "model.safetensors.index.json") || !strcmp(n, "adapter_config.json");
}

static int cmp_name(const void *a, const void *b) {
    return strcmp(((const sa_input_file *)a)->name, ((const sa_input_file *)b)->name);
}

void sa_input_files_free(sa_input_files *files) {
    for (int i = 0; files && i < files->n; i++) free(files->f[i].name);
    if (files) free(files->f), files->f = NULL, files->n = 0;
}

/* Names and stat() of the wanted files; the total size in *total. */
static sa_status list_files(const char *dir, sa_input_files *out, uint64_t *total, sa_error *err) {
    DIR *d = opendir(dir);
    if (!d) return SA_OK;
    out->f = calloc(SA_PROVENANCE_MAX_FILES, sizeof *out->f);
    sa_status st = out->f ? SA_OK : sa_error_set(err, SA_ENOMEM, "%s: out of memory", dir);
    for (struct dirent *e; !st && (e = readdir(d)) && out->n < SA_PROVENANCE_MAX_FILES;) {
        if (!wanted_file(e->d_name)) continue;
        char *p = sa_path_join(dir, e->d_name);
        struct stat sb;
        if (!p) /* not a file to leave out of the record */
            st = sa_error_set(err, SA_ENOMEM, "%s: out of memory", dir);
        else if (stat(p, &sb) == 0 && S_ISREG(sb.st_mode)) {
            sa_input_file *f = &out->f[out->n];
            if (!(f->name = strdup(e->d_name))) st = sa_error_set(err, SA_ENOMEM, "out of memory");
            f->size = (uint64_t)sb.st_size, f->mtime = (int64_t)sb.st_mtime;
            *total += f->size;
            out->n += f->name != NULL;
        }
        free(p);
    }
    closedir(d);
    return st;
}

sa_status sa_input_files_scan(const char *dir, sa_input_files *out, sa_error *err) {
    out->f = NULL, out->n = 0;
    uint64_t total = 0;
    sa_status st = list_files(dir, out, &total, err);
    if (out->n) qsort(out->f, (size_t)out->n, sizeof *out->f, cmp_name);
    for (int i = 0; !st && i < out->n && total <= SA_PROVENANCE_HASH_LIMIT; i++) {
        char *p = sa_path_join(dir, out->f[i].name);
        st = p ? sa_sha256_file(p, out->f[i].sha256, err)
               : sa_error_set(err, SA_ENOMEM, "out of memory");
        free(p);
    }
    if (st) sa_input_files_free(out);
    return st;
}
