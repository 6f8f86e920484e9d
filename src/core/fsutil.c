/* fsutil.c: atomic output files and directories, path helpers (see src/core/fsutil.h). */
#include "core/fsutil.h"
#include "core/io.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define TMP_TAG ".safearith-tmp."

char *sa_path_join(const char *a, const char *b) {
    size_t la = strlen(a), lb = strlen(b);
    char *p = malloc(la + lb + 2);
    if (!p) return NULL;
    memcpy(p, a, la);
    size_t n = la;
    if (n > 0 && p[n - 1] != '/') p[n++] = '/';
    memcpy(p + n, b, lb + 1);
    return p;
}

int sa_is_dir(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Directory part of path ("." if none), malloc'd. */
static char *dir_of(const char *path) {
    const char *slash = strrchr(path, '/');
    if (!slash) return strdup(".");
    if (slash == path) return strdup("/");
    return strndup(path, (size_t)(slash - path));
}

static const char *base_of(const char *path) {
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

/* ---- atomic files ---- */

sa_status sa_afile_open(sa_afile *af, const char *path, int overwrite, sa_error *err) {
    memset(af, 0, sizeof *af);
    af->fd = -1;
    af->overwrite = overwrite;
    struct stat st;
    if (!overwrite && lstat(path, &st) == 0)
        return sa_error_set(err, SA_EEXIST, "%s: already exists (refusing to overwrite)", path);
    af->final_path = strdup(path);
    char *dir = dir_of(path);
    if (!af->final_path || !dir) {
        free(dir);
        sa_afile_abort(af);
        return sa_error_set(err, SA_ENOMEM, "out of memory");
    }
#ifdef O_TMPFILE
    af->fd = sa_io_open(dir, O_TMPFILE | O_WRONLY | O_CLOEXEC, 0644);
#endif
    if (af->fd < 0) {
        size_t n = strlen(dir) + strlen(base_of(path)) + 64;
        af->tmp_path = malloc(n);
        if (af->tmp_path) {
            snprintf(af->tmp_path, n, "%s/.%s" TMP_TAG "%ld", dir, base_of(path), (long)getpid());
            af->fd = sa_io_open(af->tmp_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        }
    }
    if (af->fd < 0) {
        sa_status s = sa_error_set(err, SA_EIO, "%s: cannot create: %s", path, strerror(errno));
        free(dir);
        sa_afile_abort(af);
        return s;
    }
    free(dir);
    af->fp = sa_io_stream(af->fd);
    if (!af->fp) {
        sa_afile_abort(af);
        return sa_error_set(err, SA_EIO, "%s: cannot open stream: %s", path, strerror(errno));
    }
    return SA_OK;
}

static sa_status link_tmpfile(sa_afile *af, sa_error *err) {
    char proc[64];
    snprintf(proc, sizeof proc, "/proc/self/fd/%d", af->fd);
    if (af->overwrite) {
        /* link to a unique hidden name, then rename over the destination */
        char *dir = dir_of(af->final_path);
        size_t n = strlen(af->final_path) + 64;
        char *tmp = malloc(n);
        if (!dir || !tmp) {
            free(dir);
            free(tmp);
            return sa_error_set(err, SA_ENOMEM, "out of memory");
        }
        snprintf(tmp, n, "%s/.%s" TMP_TAG "%ld", dir, base_of(af->final_path), (long)getpid());
        free(dir);
        unlink(tmp);
        if (sa_io_linkat(AT_FDCWD, proc, AT_FDCWD, tmp, AT_SYMLINK_FOLLOW) != 0 ||
            sa_io_rename(tmp, af->final_path) != 0) {
            sa_status s = sa_error_set(err, SA_EIO, "%s: cannot move into place: %s",
                                       af->final_path, strerror(errno));
            unlink(tmp);
            free(tmp);
            return s;
        }
        free(tmp);
        return SA_OK;
    }
    if (sa_io_linkat(AT_FDCWD, proc, AT_FDCWD, af->final_path, AT_SYMLINK_FOLLOW) != 0)
        return sa_error_set(err, errno == EEXIST ? SA_EEXIST : SA_EIO,
                            "%s: cannot move into place: %s", af->final_path, strerror(errno));
    return SA_OK;
}

sa_status sa_afile_commit(sa_afile *af, sa_error *err) {
    sa_status s = SA_OK;
    errno = 0;
    /* the error flag remembers a failed write whose bytes stdio dropped, even if later ones
     * succeeded */
    if (fflush(af->fp) != 0 || ferror(af->fp) || sa_io_fsync(af->fd) != 0) {
        s = sa_error_set(err, SA_EIO, "%s: write failed: %s", af->final_path,
                         strerror(errno ? errno : EIO));
    } else if (af->tmp_path) {
        if (!af->overwrite && access(af->final_path, F_OK) == 0)
            s = sa_error_set(err, SA_EEXIST, "%s: appeared while writing; not replaced",
                             af->final_path);
        else if (sa_io_rename(af->tmp_path, af->final_path) != 0)
            s = sa_error_set(err, SA_EIO, "%s: cannot move into place: %s", af->final_path,
                             strerror(errno));
        else {
            free(af->tmp_path);
            af->tmp_path = NULL;
        }
    } else {
        s = link_tmpfile(af, err);
    }
    if (s == SA_OK) {
        char *dir = dir_of(af->final_path);
        if (dir) sa_io_fsync_dir(dir);
        free(dir);
    }
    sa_afile_abort(af);
    return s;
}

void sa_afile_abort(sa_afile *af) {
    if (af->fp)
        fclose(af->fp);
    else if (af->fd >= 0)
        close(af->fd);
    af->fp = NULL;
    af->fd = -1;
    if (af->tmp_path) unlink(af->tmp_path);
    free(af->tmp_path);
    free(af->final_path);
    af->tmp_path = af->final_path = NULL;
}

/* ---- atomic directories ---- */

/* Paths on the stack: removing an abandoned output must work when memory has run out. */
static int remove_tree(const char *path) {
    DIR *d = opendir(path);
    if (!d) return unlink(path);
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        char p[PATH_MAX];
        if (snprintf(p, sizeof p, "%s/%s", path, e->d_name) < (int)sizeof p) remove_tree(p);
    }
    closedir(d);
    return rmdir(path);
}

void sa_outdir_sweep_stale(const char *path) {
    char *dir = dir_of(path);
    if (!dir) return;
    DIR *d = opendir(dir);
    if (!d) {
        free(dir);
        return;
    }
    size_t nb = strlen(base_of(path));
    struct dirent *e;
    while ((e = readdir(d))) {
        const char *n = e->d_name;
        if (n[0] != '.' || strncmp(n + 1, base_of(path), nb) != 0) continue;
        if (strncmp(n + 1 + nb, TMP_TAG, strlen(TMP_TAG)) != 0) continue;
        long pid = strtol(n + 1 + nb + strlen(TMP_TAG), NULL, 10);
        if (pid > 0 && (kill((pid_t)pid, 0) == 0 || errno != ESRCH)) continue; /* alive */
        char *p = sa_path_join(dir, n);
        if (p) remove_tree(p);
        free(p);
    }
    closedir(d);
    free(dir);
}

sa_status sa_outdir_open(sa_outdir *od, const char *path, const char *const *inputs, int n_inputs,
                         int overwrite, sa_error *err) {
    memset(od, 0, sizeof *od);
    od->overwrite = overwrite;
    sa_status s = sa_output_check(path, inputs, n_inputs, overwrite, err);
    if (s != SA_OK) return s;
    char *final = strdup(path);
    if (!final) return sa_error_set(err, SA_ENOMEM, "out of memory");
    for (size_t n = strlen(final); n > 1 && final[n - 1] == '/';) final[--n] = '\0'; /* "out/" */
    path = final;
    sa_outdir_sweep_stale(path);
    char *dir = dir_of(path);
    size_t n = strlen(path) + 64;
    od->final_path = final;
    od->tmp_path = malloc(n);
    if (!dir || !od->final_path || !od->tmp_path) {
        free(dir);
        free(od->tmp_path); /* not a path yet: abort must not remove what it names */
        od->tmp_path = NULL;
        sa_outdir_abort(od);
        return sa_error_set(err, SA_ENOMEM, "out of memory");
    }
    snprintf(od->tmp_path, n, "%s/.%s" TMP_TAG "%ld", dir, base_of(path), (long)getpid());
    free(dir);
    remove_tree(od->tmp_path);
    if (sa_io_mkdir(od->tmp_path, 0755) != 0) {
        s = sa_error_set(err, SA_EIO, "%s: cannot create directory: %s", od->tmp_path,
                         strerror(errno));
        free(od->tmp_path);
        od->tmp_path = NULL;
        sa_outdir_abort(od);
        return s;
    }
    return SA_OK;
}

char *sa_outdir_path(const sa_outdir *od, const char *name) {
    return sa_path_join(od->tmp_path, name);
}

static sa_status fsync_tree_files(const char *dir, sa_error *err) {
    DIR *d = opendir(dir);
    if (!d) return sa_error_set(err, SA_EIO, "%s: cannot list: %s", dir, strerror(errno));
    struct dirent *e;
    sa_status s = SA_OK;
    while (s == SA_OK && (e = readdir(d))) {
        if (e->d_name[0] == '.' && (!e->d_name[1] || !strcmp(e->d_name, ".."))) continue;
        char *p = sa_path_join(dir, e->d_name);
        int fd = p ? open(p, O_RDONLY) : -1;
        if (!p)
            s = sa_error_set(err, SA_ENOMEM, "%s: out of memory", dir);
        else if (fd < 0 || sa_io_fsync(fd) != 0)
            s = sa_error_set(err, SA_EIO, "%s: fsync failed: %s", p, strerror(errno));
        if (fd >= 0) close(fd);
        free(p);
    }
    closedir(d);
    if (s == SA_OK && sa_io_fsync_dir(dir) != 0)
        s = sa_error_set(err, SA_EIO, "%s: fsync failed: %s", dir, strerror(errno));
    return s;
}

/* Replace the old output directory: move it aside, move the new one in, then delete the old one;
 * if the new one cannot move in, the old one goes back. */
static sa_status swap_in(sa_outdir *od, sa_error *err) {
    size_t n = strlen(od->final_path) + 64;
    char *old = malloc(n);
    if (!old) return sa_error_set(err, SA_ENOMEM, "out of memory");
    snprintf(old, n, "%s.old" TMP_TAG "%ld", od->final_path, (long)getpid());
    sa_status s = SA_OK;
    if (sa_io_rename(od->final_path, old) != 0) {
        s = sa_error_set(err, SA_EIO, "%s: cannot replace: %s", od->final_path, strerror(errno));
    } else if (sa_io_rename(od->tmp_path, od->final_path) != 0) {
        s = sa_error_set(err, SA_EIO, "%s: cannot replace: %s", od->final_path, strerror(errno));
        rename(old, od->final_path); /* NOLINT(io-route): undoing, not writing */
    } else {
        remove_tree(old);
    }
    free(old);
    return s;
}

sa_status sa_outdir_commit(sa_outdir *od, sa_error *err) {
    sa_status s = fsync_tree_files(od->tmp_path, err);
    if (s == SA_OK) {
        struct stat st;
        if (lstat(od->final_path, &st) == 0) {
            if (!od->overwrite) {
                s = sa_error_set(err, SA_EEXIST, "%s: appeared while writing; not replaced",
                                 od->final_path);
            } else if (S_ISDIR(st.st_mode)) {
                s = swap_in(od, err);
            } else if (sa_io_rename(od->tmp_path, od->final_path) != 0) {
                s = sa_error_set(err, SA_EIO, "%s: cannot replace: %s", od->final_path,
                                 strerror(errno));
            }
        } else if (sa_io_rename(od->tmp_path, od->final_path) != 0) {
            s = sa_error_set(err, SA_EIO, "%s: cannot move into place: %s", od->final_path,
                             strerror(errno));
        }
    }
    if (s == SA_OK) {
        char *dir = dir_of(od->final_path);
        if (dir) sa_io_fsync_dir(dir);
        free(dir);
        free(od->tmp_path);
        od->tmp_path = NULL;
    }
    sa_outdir_abort(od);
    return s;
}

void sa_outdir_abort(sa_outdir *od) {
    if (od->tmp_path) remove_tree(od->tmp_path);
    free(od->tmp_path);
    free(od->final_path);
    od->tmp_path = od->final_path = NULL;
}

sa_status sa_copy_file(const char *src, const char *dst, sa_error *err) {
    char *data;
    size_t len;
    sa_status s = sa_read_file(src, &data, &len, err);
    if (s != SA_OK) return s;
    FILE *f = sa_io_fopen_write(dst);
    if (!f) {
        free(data);
        return sa_error_set(err, SA_EIO, "%s: cannot create: %s", dst, strerror(errno));
    }
    int bad = fwrite(data, 1, len, f) != len;
    bad |= sa_io_fclose(f) != 0;
    free(data);
    if (bad)
        return sa_error_set(err, SA_EIO, "%s: write failed (copy of %s): %s", dst, src,
                            strerror(errno));
    return SA_OK;
}

sa_status sa_read_file(const char *path, char **data, size_t *len, sa_error *err) {
    *data = NULL;
    *len = 0;
    FILE *f = fopen(path, "rb");
    if (!f) return sa_error_set(err, SA_EIO, "%s: cannot open: %s", path, strerror(errno));
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap + 1);
    while (buf) {
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (n < cap) break;
        char *nb = realloc(buf, cap * 2 + 1);
        if (!nb) {
            free(buf);
            buf = NULL;
            break;
        }
        buf = nb;
        cap *= 2;
    }
    int failed = ferror(f);
    fclose(f);
    if (!buf) return sa_error_set(err, SA_ENOMEM, "%s: out of memory reading file", path);
    if (failed) {
        free(buf);
        return sa_error_set(err, SA_EIO, "%s: read failed", path);
    }
    buf[n] = '\0';
    *data = buf;
    *len = n;
    return SA_OK;
}

int sa_path_split_plus(const char *path, char **left, char **right) {
    struct stat st;
    *left = *right = NULL;
    if (stat(path, &st) == 0) return 0;
    for (const char *p = strchr(path, '+'); p; p = strchr(p + 1, '+')) {
        char *l = strndup(path, (size_t)(p - path));
        if (l && *l && p[1] && stat(l, &st) == 0 && stat(p + 1, &st) == 0) {
            *right = strdup(p + 1);
            if (*right) {
                *left = l;
                return 1;
            }
        }
        free(l);
        if (!l) return 0;
    }
    return 0;
}
