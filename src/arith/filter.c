/* filter.c: tensor selection by regular expression and decoder-layer range (see filter.h). */
#define PCRE2_CODE_UNIT_WIDTH 8
#include "arith/filter.h"

#include <ctype.h>
#include <pcre2.h>
#include <stdlib.h>
#include <string.h>

static sa_status compile(const char *flag, const char *re, void **out, sa_error *err) {
    *out = NULL;
    if (!re) return SA_OK;
    int code;
    PCRE2_SIZE at;
    pcre2_code *c =
        pcre2_compile((PCRE2_SPTR)re, PCRE2_ZERO_TERMINATED, PCRE2_UTF, &code, &at, NULL);
    if (!c) {
        PCRE2_UCHAR msg[256];
        pcre2_get_error_message(code, msg, sizeof msg);
        return sa_error_set(err, SA_EINVAL, "%s '%s': %s at offset %zu", flag, re, (char *)msg,
                            (size_t)at);
    }
    *out = c;
    return SA_OK;
}

sa_status sa_filter_init(sa_tensor_filter *f, const char *include, const char *exclude,
                         long layer_lo, long layer_hi, sa_error *err) {
    memset(f, 0, sizeof *f);
    f->layer_lo = layer_lo;
    f->layer_hi = layer_hi;
    sa_status s = compile("--include", include, &f->include, err);
    if (s == SA_OK) s = compile("--exclude", exclude, &f->exclude, err);
    if (s == SA_OK && !(f->match = pcre2_match_data_create(4, NULL)))
        s = sa_error_set(err, SA_ENOMEM, "out of memory");
    if (s != SA_OK) sa_filter_free(f);
    return s;
}

void sa_filter_free(sa_tensor_filter *f) {
    pcre2_code_free(f->include);
    pcre2_code_free(f->exclude);
    pcre2_match_data_free(f->match);
    memset(f, 0, sizeof *f);
}

static int found(void *code, void *md, const char *name) {
    return pcre2_match(code, (PCRE2_SPTR)name, strlen(name), 0, 0, md, NULL) >= 0;
}

long sa_layer_index(const char *name) {
    static const char *const keys[] = {"layers.", "h.", "blocks."};
    for (const char *p = name; *p; p++) {
        if (p != name && p[-1] != '.') continue;
        for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) {
            size_t n = strlen(keys[k]);
            if (strncmp(p, keys[k], n) || !isdigit((unsigned char)p[n])) continue;
            char *end;
            long v = strtol(p + n, &end, 10);
            if (*end == '.' || *end == '\0') return v;
        }
    }
    return -1;
}

int sa_filter_match(const sa_tensor_filter *f, const char *name) {
    if (f->layer_lo >= 0) {
        long l = sa_layer_index(name);
        if (l < f->layer_lo || l > f->layer_hi) return 0;
    }
    if (f->include && !found(f->include, f->match, name)) return 0;
    if (f->exclude && found(f->exclude, f->match, name)) return 0;
    return 1;
}
