/* error.c: filling and prefixing sa_error messages (see include/safearith/error.h). */
#include "safearith/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Messages are one line: a control character that came in with a name from a file (a JSON key
 * holding a raw newline, say) is shown as a space. */
static void one_line(char *s) {
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f) *s = ' ';
}

sa_status sa_error_set(sa_error *err, sa_status code, const char *fmt, ...) {
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
        one_line(err->msg);
        err->code = code;
    }
    return code;
}

sa_status sa_error_prefix(sa_error *err, const char *fmt, ...) {
    if (!err) return SA_EINVAL;
    char prefix[SA_ERROR_MSG_MAX], old[SA_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, err->msg, sizeof old);
    size_t n = strlen(prefix);
    if (n > sizeof err->msg - 3) n = sizeof err->msg - 3;
    memcpy(err->msg, prefix, n);
    memcpy(err->msg + n, ": ", 2);
    size_t rest = sizeof err->msg - n - 3;
    size_t lo = strlen(old);
    if (lo > rest) lo = rest;
    memcpy(err->msg + n + 2, old, lo);
    err->msg[n + 2 + lo] = '\0';
    one_line(err->msg);
    return err->code;
}

void sa_error_clear(sa_error *err) {
    if (!err) return;
    err->code = SA_OK;
    err->msg[0] = '\0';
}

const char *sa_status_name(sa_status code) {
    switch (code) {
    case SA_OK:
        return "ok";
    case SA_EIO:
        return "I/O error";
    case SA_EFORMAT:
        return "format error";
    case SA_EINVAL:
        return "invalid argument";
    case SA_ENOMEM:
        return "out of memory";
    case SA_EMISMATCH:
        return "mismatch";
    case SA_EUNSUPPORTED:
        return "unsupported";
    case SA_EINTR:
        return "interrupted";
    case SA_EEXIST:
        return "refused to overwrite";
    }
    return "unknown error";
}
