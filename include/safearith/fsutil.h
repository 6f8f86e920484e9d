/* fsutil.h: atomic creation of output files and directories, and small path helpers.
 *
 * Outputs appear whole or not at all. A file is written into an unnamed temporary (O_TMPFILE)
 * in the destination's directory, fsynced and linked into place, so that even SIGKILL leaves
 * nothing behind; where O_TMPFILE is unavailable a hidden named temporary is used instead and
 * removed on failure. Directories are built as a hidden sibling ".NAME.safearith-tmp.PID",
 * fsynced and renamed into place; sa_outdir_sweep_stale removes siblings left by dead processes. */
#ifndef SAFEARITH_FSUTIL_H
#define SAFEARITH_FSUTIL_H

#include <stdio.h>

#include "safearith/error.h"

/* ---- atomic files ---- */
typedef struct sa_afile {
    FILE *fp;         /* write through this */
    char *final_path; /* destination */
    char *tmp_path;   /* named temporary, or NULL for O_TMPFILE */
    int fd;
    int overwrite;
} sa_afile;

/* Start writing `path`. With overwrite == 0 an existing destination is refused (SA_EEXIST). */
sa_status sa_afile_open(sa_afile *af, const char *path, int overwrite, sa_error *err);
/* Flush, fsync and move into place; the sa_afile is released either way. */
sa_status sa_afile_commit(sa_afile *af, sa_error *err);
/* Drop everything written; safe to call after a failed commit or twice. */
void sa_afile_abort(sa_afile *af);

/* ---- atomic directories ---- */
typedef struct sa_outdir {
    char *final_path;
    char *tmp_path; /* write files inside this directory */
    int overwrite;
} sa_outdir;

/* Prepare an output directory. Refuses (SA_EEXIST) if `path` exists and overwrite == 0, and if
 * `path` is, contains or lies inside any of the n_inputs input paths (files or directories). */
sa_status sa_outdir_open(sa_outdir *od, const char *path, const char *const *inputs, int n_inputs,
                         int overwrite, sa_error *err);
/* fsync every file and the directory, then rename into place (replacing an old one if allowed). */
sa_status sa_outdir_commit(sa_outdir *od, sa_error *err);
/* Remove the temporary directory and everything in it. */
void sa_outdir_abort(sa_outdir *od);
/* Path of `name` inside the temporary directory (malloc'd; NULL on OOM). */
char *sa_outdir_path(const sa_outdir *od, const char *name);
/* Remove hidden temporaries beside `path` whose creating process is gone. */
void sa_outdir_sweep_stale(const char *path);

/* ---- helpers ---- */
/* Join two path parts with '/'; malloc'd. */
char *sa_path_join(const char *a, const char *b);
/* 1 if path exists and is a directory, 0 otherwise. */
int sa_is_dir(const char *path);
/* 1 if a exists and is the same file or directory as b, or lies inside directory b. */
int sa_path_within(const char *a, const char *b);
/* Copy a file (used for config/tokenizer files); err names both paths. */
sa_status sa_copy_file(const char *src, const char *dst, sa_error *err);
/* Read a whole file into a NUL-terminated malloc'd buffer. */
sa_status sa_read_file(const char *path, char **data, size_t *len, sa_error *err);

#endif
