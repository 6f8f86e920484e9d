/* fsutil.h (internal): atomic creation of output files and directories, and small path helpers.
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

#ifdef __cplusplus
extern "C" {
#endif

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

/* Prepare an output directory: sa_output_check(path, inputs, n_inputs, overwrite) first, then
 * the hidden temporary beside it. A trailing '/' in path is ignored. */
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

/* ---- outputs never touch inputs ---- */
/* The check every command runs on every output path before any work. Refuses (SA_EEXIST, one
 * line naming both paths) an output that is, lies inside, or contains any of the n_inputs inputs
 * (NULL entries and inputs that do not exist are skipped), with or without overwrite; with
 * overwrite == 0 also an output that exists. Symlinks and ".." are resolved; an output that does
 * not exist yet is resolved through its deepest existing ancestor; a trailing '/' is ignored. An
 * input that is a file inside a model directory (one holding config.json) counts as the whole
 * directory; a BASE+ADAPTER input counts as both. Pass a command's other outputs as inputs to keep
 * two outputs apart. */
sa_status sa_output_check(const char *output, const char *const *inputs, int n_inputs,
                          int overwrite, sa_error *err);

/* ---- helpers ---- */
/* Join two path parts with '/'; malloc'd. */
char *sa_path_join(const char *a, const char *b);
/* 1 if path exists and is a directory, 0 otherwise. */
int sa_is_dir(const char *path);
/* BASE+ADAPTER (safetensors.h): if `path` does not exist and a '+' in it has an existing path on
 * both sides, return 1 with the parts at the first such '+' (malloc'd); else 0. */
int sa_path_split_plus(const char *path, char **left, char **right);
/* 1 if b exists and a (existing or not, resolved as in sa_output_check) is b or lies inside b. */
int sa_path_within(const char *a, const char *b);
/* Copy a file (used for config/tokenizer files); err names both paths. */
sa_status sa_copy_file(const char *src, const char *dst, sa_error *err);
/* Read a whole file into a NUL-terminated malloc'd buffer. */
sa_status sa_read_file(const char *path, char **data, size_t *len, sa_error *err);

#ifdef __cplusplus
}
#endif

#endif
