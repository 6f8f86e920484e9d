/* space.c: the knobs of each method, and a point of the unit cube as a trial's parameters.
 *
 * The search works in [0, 1)^d, one coordinate per searched knob; a range maps linearly (or
 * geometrically for log ranges) onto [lo, hi], a list onto its entries in equal slices. Numbers
 * are rounded to four significant digits, which keeps the journal readable and is far below any
 * effect the knobs have. Knobs the recipe fixes or leaves out take their fixed or default
 * values, so every trial's params name every knob of the method. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formats/json_build.h"
#include "tune/tune_internal.h"

#define HDR_ (1u << SA_TUNE_HDR)
#define RESTA_ (1u << SA_TUNE_RESTA)
#define ICV_ (1u << SA_TUNE_ICV)
#define BOTH_ (1u << SA_TUNE_HDR_ICV)

static const sa_knob_def knob_defs[] = {
    {"top_k", HDR_ | BOTH_, 1, 0, 100, 10, NULL},    {"lambda", HDR_ | BOTH_, 1, 0, 100, 1, NULL},
    {"alpha", ICV_ | BOTH_, 1, 0, 10, 0.1, NULL},    {"position", ICV_ | BOTH_, 0, 0, 0, 0, "last"},
    {"icv_method", ICV_ | BOTH_, 0, 0, 0, 0, "pca"}, {"beta", RESTA_, 1, -10, 10, 0.5, NULL},
    {"dare_p", RESTA_, 1, 0, 0.99, 0, NULL},
};

const sa_knob_def *sa_knob_def_find(const char *name) {
    for (size_t i = 0; i < sizeof knob_defs / sizeof *knob_defs; i++)
        if (!strcmp(knob_defs[i].name, name)) return &knob_defs[i];
    return NULL;
}

const sa_knob_def *sa_knob_def_at(int i) {
    return i >= 0 && (size_t)i < sizeof knob_defs / sizeof *knob_defs ? &knob_defs[i] : NULL;
}

const char *sa_tune_method_name(sa_tune_method m) {
    static const char *const names[] = {"hdr", "resta", "icv", "hdr+icv"};
    return m <= SA_TUNE_HDR_ICV ? names[m] : "?";
}

static double round4(double v) {
    char b[32];
    snprintf(b, sizeof b, "%.4g", v);
    return strtod(b, NULL);
}

cJSON *sa_tune_params_from_unit(const sa_tune_recipe *r, const double *u) {
    sa_jb b = {0};
    cJSON *p = cJSON_Duplicate(r->fixed, 1);
    b.oom = !p;
    for (int i = 0; i < r->n_knobs && !b.oom; i++) {
        const sa_tune_knob *k = &r->knobs[i];
        double x = u[i] < 0 ? 0 : u[i] >= 1 ? 0.999999999 : u[i];
        if (k->kind == SA_KNOB_LIST) {
            int idx = (int)(x * k->n_values);
            if (idx >= k->n_values) idx = k->n_values - 1;
            sa_jb_add(&b, p, k->name, cJSON_Duplicate(cJSON_GetArrayItem(k->values, idx), 1));
        } else {
            double v = k->kind == SA_KNOB_LOG_RANGE
                           ? exp(log(k->lo) + x * (log(k->hi) - log(k->lo)))
                           : k->lo + x * (k->hi - k->lo);
            sa_jb_num(&b, p, k->name, round4(v));
        }
    }
    return sa_jb_done(&b, p); /* a trial never runs short of a knob */
}

double sa_tune_param_num(const cJSON *params, const char *name) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(params, name);
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

const char *sa_tune_param_str(const cJSON *params, const char *name) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(params, name);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}
