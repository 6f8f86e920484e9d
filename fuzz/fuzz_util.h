/* fuzz_util.h: what the libFuzzer targets of fuzz/ share: a private temporary directory per
 * process (removed at exit) and writing the fuzz input to a named file in it, for the library
 * calls that take paths. The directory lies in $SA_FUZZ_TMP, else in /dev/shm where that is a
 * writable directory (memory: a disk's journal, discards and fsyncs made the targets that write
 * files 10x slower), else in /tmp. Each target is one translation unit, so the state below is
 * per target. */
#ifndef SA_FUZZ_UTIL_H
#define SA_FUZZ_UTIL_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char fz_dir[64];
static char fz_path_buf[256];

static inline void fz_cleanup(void) {
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", fz_dir);
    if (fz_dir[0] && system(cmd) != 0) fprintf(stderr, "fuzz: could not remove %s\n", fz_dir);
}

/* DIR/name in the process's temporary directory (created on first use). */
static inline const char *fz_path(const char *name) {
    if (!fz_dir[0]) {
        const char *base = getenv("SA_FUZZ_TMP");
        if (!base || !*base) base = access("/dev/shm", W_OK | X_OK) == 0 ? "/dev/shm" : "/tmp";
        snprintf(fz_dir, sizeof fz_dir, "%.40s/sa-fuzz-XXXXXX", base);
        if (!mkdtemp(fz_dir)) abort();
        atexit(fz_cleanup);
    }
    snprintf(fz_path_buf, sizeof fz_path_buf, "%s/%s", fz_dir, name);
    char *slash = strchr(fz_path_buf + strlen(fz_dir) + 1, '/');
    if (slash) { /* one level of subdirectory, e.g. "model/config.json" */
        *slash = 0;
        mkdir(fz_path_buf, 0700);
        *slash = '/';
    }
    return fz_path_buf;
}

/* fz_path(name) copied into out (fz_path's own buffer is reused by its next call). */
static inline const char *fz_path_keep(const char *name, char out[256]) {
    snprintf(out, 256, "%s", fz_path(name));
    return out;
}

/* Split an input of two files at its first NUL: returns the first part's length; *rest and
 * *rest_n are the bytes after the NUL (none when there is no NUL). */
static inline size_t fz_split(const uint8_t *data, size_t size, const uint8_t **rest,
                              size_t *rest_n) {
    const uint8_t *nul = memchr(data, 0, size);
    size_t n = nul ? (size_t)(nul - data) : size;
    *rest = nul ? nul + 1 : data + size;
    *rest_n = nul ? size - n - 1 : 0;
    return n;
}

/* Write the input to DIR/name and return the path. */
static inline const char *fz_write(const char *name, const uint8_t *data, size_t size) {
    const char *p = fz_path(name);
    FILE *f = fopen(p, "wb");
    if (!f || (size && fwrite(data, 1, size, f) != size) || fclose(f)) abort();
    return p;
}

/* The input as a NUL-terminated string (malloc'd). */
static inline char *fz_text(const uint8_t *data, size_t size) {
    char *s = malloc(size + 1);
    if (!s) abort();
    memcpy(s, data, size);
    s[size] = 0;
    return s;
}

/* Keep a value computed from the data the target reads, so that the reads are not optimised
 * away (AddressSanitizer checks each of them). */
static volatile unsigned fz_sink;
static inline void fz_consume(unsigned v) {
    fz_sink ^= v;
}
static inline void fz_consume_float(float f) {
    unsigned v;
    memcpy(&v, &f, sizeof v);
    fz_consume(v);
}

#endif
