/* align.c: matching checkpoints tensor by tensor (see stream.h: sa_align).
 *
 * Every checkpoint must hold exactly the layout's tensor names with the same shapes (dtypes may
 * differ: arithmetic is in float32). On a mismatch the message lists the total count and the
 * first few differences, e.g. "3 mismatches: 'x' missing from base; ...", so that a user sees at
 * once whether the wrong model was given or one layer differs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arith/stream.h"

#define SHOW_MAX 4

static void shape_str(const sa_st_tensor *t, char *buf, size_t n) {
    size_t at = (size_t)snprintf(buf, n, "[");
    for (int d = 0; d < t->ndim && at < n; d++)
        at += (size_t)snprintf(buf + at, n - at, "%s%lld", d ? "," : "", (long long)t->shape[d]);
    if (at < n) snprintf(buf + at, n - at, "]");
}

static int same_shape(const sa_st_tensor *a, const sa_st_tensor *b) {
    if (a->ndim != b->ndim) return 0;
    for (int d = 0; d < a->ndim; d++)
        if (a->shape[d] != b->shape[d]) return 0;
    return 1;
}

typedef struct report {
    char text[SA_ERROR_MSG_MAX];
    size_t len;
    int count;
} report;

static void note(report *r, const char *fmt, const char *name, const char *x, const char *y,
                 const char *z) {
    if (r->count++ >= SHOW_MAX || r->len >= sizeof r->text - 1) return;
    if (r->count > 1) r->len += (size_t)snprintf(r->text + r->len, sizeof r->text - r->len, "; ");
    if (r->len < sizeof r->text - 1)
        r->len += (size_t)snprintf(r->text + r->len, sizeof r->text - r->len, fmt, name, x, y, z);
}

static void compare(sa_aligned *a, int k, report *r) {
    const sa_checkpoint *lay = a->ck[0], *ck = a->ck[k];
    for (size_t ti = 0; ti < a->n_tensors; ti++) {
        const sa_st_tensor *t0 = sa_ckpt_tensor(lay, ti);
        const sa_st_tensor *t = sa_ckpt_find(ck, t0->name);
        a->map[ti * (size_t)a->n + (size_t)k] = t;
        char s0[96], s1[96];
        if (!t) {
            note(r, "'%s' missing from %s%s%s", t0->name, a->labels[k], "", "");
        } else if (!same_shape(t0, t)) {
            shape_str(t0, s0, sizeof s0);
            shape_str(t, s1, sizeof s1);
            char where[160];
            snprintf(where, sizeof where, " in %s vs %s in %s", a->labels[0], s1, a->labels[k]);
            note(r, "'%s' has shape %s%s%s", t0->name, s0, where, "");
        }
    }
    for (size_t i = 0; i < sa_ckpt_count(ck); i++) {
        const sa_st_tensor *t = sa_ckpt_tensor(ck, i);
        if (!sa_ckpt_find(lay, t->name))
            note(r, "'%s' in %s is missing from %s%s", t->name, a->labels[k], a->labels[0], "");
    }
}

sa_status sa_align(sa_aligned *a, const sa_checkpoint *const *cks, const char *const *labels, int n,
                   sa_error *err) {
    memset(a, 0, sizeof *a);
    if (n < 1 || n > SA_MAX_INPUTS) return sa_error_set(err, SA_EINVAL, "bad number of models");
    a->n = n;
    for (int k = 0; k < n; k++) {
        a->ck[k] = cks[k];
        a->labels[k] = labels[k];
    }
    a->n_tensors = sa_ckpt_count(cks[0]);
    a->map = calloc(a->n_tensors * (size_t)n + 1, sizeof *a->map);
    if (!a->map) return sa_error_set(err, SA_ENOMEM, "out of memory");
    report r = {{0}, 0, 0};
    for (size_t ti = 0; ti < a->n_tensors; ti++)
        a->map[ti * (size_t)n] = sa_ckpt_tensor(cks[0], ti);
    for (int k = 1; k < n; k++) compare(a, k, &r);
    if (r.count) {
        sa_error_set(err, SA_EMISMATCH, "models do not match (%d mismatch%s%s): %s", r.count,
                     r.count == 1 ? "" : "es", r.count > SHOW_MAX ? ", first ones" : "", r.text);
        sa_aligned_free(a);
        return SA_EMISMATCH;
    }
    return SA_OK;
}

void sa_aligned_free(sa_aligned *a) {
    free(a->map);
    a->map = NULL;
}
