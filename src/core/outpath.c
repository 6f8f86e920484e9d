/* outpath.c: the one check that keeps every output away from what a command reads (see
 * sa_output_check in src/core/fsutil.h).
 *
 * Paths are compared after resolution: symlinks and ".." are resolved by realpath for the part
 * of a path that exists; for an output that does not exist yet, the deepest existing ancestor is
 * resolved and the remaining components are appended lexically ("." dropped, ".." removing the
 * previous one). A trailing '/' is ignored. An input that is a file inside a model directory (a
 * directory holding config.json) stands for the whole directory, since writing beside a model's
 * weights changes what a later load of that model sees. A BASE+ADAPTER input (safetensors.h)
 * is checked as its two parts. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/fsutil.h"

/* Append the components of `tail` to the resolved path `out`, handling "." and "..". */
static int append_lexically(char *out, const char *tail) {
    size_t n = strlen(out);
    while (*tail) {
        const char *end = strchr(tail, '/');
        size_t len = end ? (size_t)(end - tail) : strlen(tail);
        if (len == 2 && !strncmp(tail, "..", 2)) {
            char *slash = strrchr(out, '/');
            n = slash && slash != out ? (size_t)(slash - out) : 1;
            out[n] = '\0';
        } else if (len && !(len == 1 && tail[0] == '.')) {
            if (n + len + 2 > PATH_MAX) return -1;
            if (n > 1) out[n++] = '/';
            memcpy(out + n, tail, len);
            n += len;
            out[n] = '\0';
        }
        tail += len + (end != NULL);
    }
    return 0;
}

/* Resolve path (existing or not) into out[PATH_MAX]; -1 if it is too long or nothing resolves. */
static int resolve(const char *path, char *out) {
    char buf[PATH_MAX];
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof buf) return -1;
    memcpy(buf, path, n + 1);
    while (n > 1 && buf[n - 1] == '/') buf[--n] = '\0';
    if (realpath(buf, out)) return 0;
    /* the deepest existing ancestor, then the rest lexically */
    for (size_t i = n; i-- > 1;) {
        if (buf[i] != '/') continue;
        buf[i] = '\0';
        int ok = realpath(buf, out) != NULL;
        buf[i] = '/';
        if (ok) return append_lexically(out, buf + i + 1);
    }
    if (!realpath(buf[0] == '/' ? "/" : ".", out)) return -1;
    return append_lexically(out, buf);
}

/* 1 if resolved path a is b or lies inside b. */
static int inside(const char *a, const char *b) {
    size_t nb = strlen(b);
    if (strncmp(a, b, nb) != 0) return 0;
    return a[nb] == '\0' || a[nb] == '/' || (nb == 1 && b[0] == '/');
}

/* An input file inside a model directory stands for the directory (see the file comment). */
static void widen_to_model_dir(char *resolved) {
    struct stat st;
    if (stat(resolved, &st) != 0 || S_ISDIR(st.st_mode)) return;
    char *slash = strrchr(resolved, '/');
    if (!slash || slash == resolved) return;
    *slash = '\0';
    char *cfg = sa_path_join(resolved, "config.json");
    int model_dir = cfg && stat(cfg, &st) == 0 && S_ISREG(st.st_mode);
    free(cfg);
    if (!model_dir) *slash = '/';
}

int sa_path_within(const char *a, const char *b) {
    char ra[PATH_MAX], rb[PATH_MAX];
    struct stat st;
    if (stat(b, &st) != 0 || resolve(a, ra) != 0 || resolve(b, rb) != 0) return 0;
    return inside(ra, rb);
}

/* The output (resolved: ro) against one existing input path. */
static sa_status check_input(const char *output, const char *ro, const char *input, sa_error *err) {
    char ri[PATH_MAX];
    if (resolve(input, ri) != 0) return SA_OK;
    widen_to_model_dir(ri);
    if (inside(ro, ri))
        return sa_error_set(err, SA_EEXIST,
                            "%s: output is or lies inside input %s (refusing to write into an "
                            "input, with or without --overwrite)",
                            output, input);
    if (inside(ri, ro))
        return sa_error_set(err, SA_EEXIST,
                            "%s: output contains input %s (refusing to replace an input, with or "
                            "without --overwrite)",
                            output, input);
    return SA_OK;
}

sa_status sa_output_check(const char *output, const char *const *inputs, int n_inputs,
                          int overwrite, sa_error *err) {
    char ro[PATH_MAX];
    if (!output || !*output) return sa_error_set(err, SA_EINVAL, "empty output path");
    if (resolve(output, ro) != 0)
        return sa_error_set(err, SA_EINVAL, "%s: cannot resolve the output path", output);
    struct stat st;
    for (int i = 0; i < n_inputs; i++) {
        char *base, *adapter;
        sa_status s = SA_OK;
        if (!inputs[i]) continue;
        if (stat(inputs[i], &st) == 0) {
            s = check_input(output, ro, inputs[i], err);
        } else if (sa_path_split_plus(inputs[i], &base, &adapter)) { /* BASE+ADAPTER: both */
            s = check_input(output, ro, base, err);
            if (s == SA_OK) s = check_input(output, ro, adapter, err);
            free(base);
            free(adapter);
        } /* else: an input that is not there is the reader's error to report, not this one */
        if (s != SA_OK) return s;
    }
    if (!overwrite && lstat(output, &st) == 0)
        return sa_error_set(err, SA_EEXIST, "%s: already exists (refusing to overwrite)", output);
    return SA_OK;
}
