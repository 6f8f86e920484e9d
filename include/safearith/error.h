/* error.h: how every fallible libsafearith call reports failure.
 *
 * A call returns an sa_status (SA_OK on success) and, on failure, fills the caller's sa_error with
 * the same code and a one-line message naming the file, tensor, field or flag at fault. The
 * library never prints and never exits; the CLI decides what to show and which exit code to use.
 * A NULL sa_error pointer is allowed: the code is still returned, the message is dropped. A
 * message is always one line: control characters in it (from names read in files) become spaces. */
#ifndef SAFEARITH_ERROR_H
#define SAFEARITH_ERROR_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum sa_status {
    SA_OK = 0,
    SA_EIO,          /* open/read/write/rename/fsync/mmap failed */
    SA_EFORMAT,      /* malformed input file (safetensors, JSON, GGUF, YAML, CSV, ...) */
    SA_EINVAL,       /* bad argument or option value */
    SA_ENOMEM,       /* allocation failed */
    SA_EMISMATCH,    /* models or tensors that should match do not (names, shapes, dims) */
    SA_EUNSUPPORTED, /* valid input that this version does not handle (named in the message) */
    SA_EINTR,        /* interrupted by a signal or a callback asking to stop */
    SA_EEXIST        /* refusing to overwrite or write into something that must be kept */
} sa_status;

#define SA_ERROR_MSG_MAX 512

typedef struct sa_error {
    sa_status code;
    char msg[SA_ERROR_MSG_MAX];
} sa_error;

/* Fill err (if not NULL) with code and a printf-style message; returns code so that callers can
 * write `return sa_error_set(err, SA_EFORMAT, "%s: bad header", path);`. */
sa_status sa_error_set(sa_error *err, sa_status code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prefix an existing message with context ("while reading X: ..."); returns err->code. */
sa_status sa_error_prefix(sa_error *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Reset err to SA_OK with an empty message. */
void sa_error_clear(sa_error *err);

/* A short constant name for a status ("I/O error", "format error", ...). */
const char *sa_status_name(sa_status code);

#ifdef __cplusplus
}
#endif

#endif
