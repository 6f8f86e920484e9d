/* safetensors_f32file.c: sa_st_write_f32_file, a one-call atomic writer for small float32
 * outputs (logits, vectors) that are already in memory. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "formats/st_header.h"
#include "core/fsutil.h"

static sa_status write_all(sa_afile *af, const char *path, const sa_st_f32_tensor *tensors,
                           size_t n, const char *const *meta, sa_error *err) {
    sa_st_decl *decls = calloc(n + 1, sizeof *decls);
    if (!decls) return sa_error_set(err, SA_ENOMEM, "out of memory");
    sa_status s = SA_OK;
    size_t made = 0;
    for (; made < n && s == SA_OK; made++) {
        s = sa_st_decl_init(&decls[made], tensors[made].name, SA_F32, tensors[made].ndim,
                            tensors[made].shape, err);
        for (size_t j = 0; s == SA_OK && j < made; j++)
            if (!strcmp(decls[j].name, decls[made].name))
                s = sa_error_set(err, SA_EINVAL, "%s: tensor '%s' given twice", path,
                                 decls[made].name);
    }
    if (s == SA_OK) s = sa_st_header_write(af->fp, path, meta, decls, n, err);
    for (size_t i = 0; s == SA_OK && i < n; i++) {
        size_t bytes = (size_t)decls[i].nbytes;
        if (bytes && fwrite(tensors[i].data, 1, bytes, af->fp) != bytes)
            s = sa_error_set(err, SA_EIO, "%s: write failed: %s", path, strerror(errno));
    }
    for (size_t i = 0; i < made; i++) free(decls[i].name);
    free(decls);
    return s;
}

sa_status sa_st_write_f32_file(const char *path, const sa_st_f32_tensor *tensors, size_t n,
                               const char *const *metadata_kv, int overwrite, sa_error *err) {
    sa_afile af;
    sa_status s = sa_afile_open(&af, path, overwrite, err);
    if (s != SA_OK) return s;
    s = write_all(&af, path, tensors, n, metadata_kv, err);
    if (s != SA_OK) {
        sa_afile_abort(&af);
        return s;
    }
    return sa_afile_commit(&af, err);
}
