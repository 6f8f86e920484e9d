/* recipe_space.c: the `space` and `reference` sections of a tune recipe.
 *
 * Each knob of `space` is a mapping {range: [lo, hi], log: bool}, a list of values, or one value
 * (fixed); knobs the recipe leaves out take their defaults (space.c), so a trial's params always
 * name every knob of the method. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tune/recipe_read.h"

static sa_status parse_knob(rctx *c, cJSON *v, const char *name) {
    sa_tune_recipe *r = c->r;
    char where[64];
    snprintf(where, sizeof where, "space.%s", name);
    const sa_knob_def *d = sa_knob_def_find(name);
    if (!d)
        return sa_rc_bad(c, where,
                         "unknown knob (top_k, lambda, alpha, position, icv_method, beta, dare_p)");
    if (!(d->methods & (1u << r->method))) return sa_rc_bad(c, where, "not a knob of this method");
    if (cJSON_IsObject(v)) {
        static const char *const keys[] = {"range", "log", NULL};
        sa_status st = sa_rc_check_keys(c, v, where, keys);
        const cJSON *rg = cJSON_GetObjectItemCaseSensitive(v, "range");
        const cJSON *lg = cJSON_GetObjectItemCaseSensitive(v, "log");
        if (st) return st;
        if (!d->numeric) return sa_rc_bad(c, where, "a named knob takes a list, not a range");
        if (!cJSON_IsArray(rg) || cJSON_GetArraySize(rg) != 2 ||
            !cJSON_IsNumber(cJSON_GetArrayItem(rg, 0)) ||
            !cJSON_IsNumber(cJSON_GetArrayItem(rg, 1)))
            return sa_rc_bad(c, where, "range: expected [low, high]");
        if (lg && !cJSON_IsBool(lg)) return sa_rc_bad(c, where, "log: expected true or false");
        double lo = cJSON_GetArrayItem(rg, 0)->valuedouble,
               hi = cJSON_GetArrayItem(rg, 1)->valuedouble;
        if (!(lo < hi)) return sa_rc_bad(c, where, "empty range (low must be below high)");
        if (lo < d->lo || hi > d->hi)
            return sa_rc_bad(c, where, "range outside the knob's allowed values");
        int log = cJSON_IsTrue(lg);
        if (log && lo <= 0) return sa_rc_bad(c, where, "a log range needs low > 0");
        r->knobs[r->n_knobs++] =
            (sa_tune_knob){d->name, log ? SA_KNOB_LOG_RANGE : SA_KNOB_RANGE, lo, hi, NULL, 0};
        return SA_OK;
    }
    cJSON *list = v;
    int single = !cJSON_IsArray(v);
    if (single) list = NULL;
    int n = single ? 1 : cJSON_GetArraySize(v);
    if (n == 0) return sa_rc_bad(c, where, "empty list");
    for (int i = 0; i < n; i++) {
        const cJSON *x = single ? v : cJSON_GetArrayItem(v, i);
        int ok = d->numeric
                     ? cJSON_IsNumber(x) && x->valuedouble >= d->lo && x->valuedouble <= d->hi
                     : cJSON_IsString(x);
        if (ok && !d->numeric)
            ok = !strcmp(d->name, "position") ? sa_icv_position_parse(x->valuestring) >= 0
                                              : sa_icv_method_parse(x->valuestring) >= 0;
        if (!ok)
            return sa_rc_bad(
                c, where, d->numeric ? "value outside the knob's allowed values" : "unknown name");
    }
    if (single) {
        sa_jb_add(&c->jb, r->fixed, d->name, cJSON_Duplicate(v, 1));
        return SA_OK;
    }
    r->knobs[r->n_knobs++] = (sa_tune_knob){d->name, SA_KNOB_LIST, 0, 0, list, n};
    return SA_OK;
}

sa_status sa_rc_parse_space(rctx *c, cJSON *space) {
    sa_tune_recipe *r = c->r;
    if (!cJSON_IsObject(space))
        return sa_rc_bad(c, "space", space ? "expected a mapping" : "missing");
    cJSON *it;
    sa_status st = SA_OK;
    cJSON_ArrayForEach(it, space) {
        if (r->n_knobs >= SA_TUNE_MAX_KNOBS) return sa_rc_bad(c, "space", "too many knobs");
        if ((st = parse_knob(c, it, it->string))) return st;
    }
    if (!r->n_knobs) return sa_rc_bad(c, "space", "no knob to search (give a range or a list)");
    for (int i = 0; sa_knob_def_at(i); i++) { /* the method's other knobs at their defaults */
        const sa_knob_def *d = sa_knob_def_at(i);
        if (!(d->methods & (1u << r->method)) || cJSON_GetObjectItemCaseSensitive(space, d->name))
            continue;
        sa_jb_add(&c->jb, r->fixed, d->name,
                  d->numeric ? cJSON_CreateNumber(d->def_num) : cJSON_CreateString(d->def_str));
    }
    return SA_OK;
}

sa_status sa_rc_parse_reference(rctx *c, cJSON *ref) {
    sa_tune_recipe *r = c->r;
    if (!ref) return SA_OK;
    if (!cJSON_IsObject(ref)) return sa_rc_bad(c, "reference", "expected a mapping of knob values");
    r->reference = cJSON_Duplicate(r->fixed, 1);
    for (int i = 0; i < r->n_knobs; i++) {
        const sa_tune_knob *k = &r->knobs[i];
        cJSON *v = cJSON_GetArrayItem(k->values, 0);
        sa_jb_add(&c->jb, r->reference, k->name,
                  k->kind == SA_KNOB_LIST ? cJSON_Duplicate(v, 1) : cJSON_CreateNumber(k->lo));
    }
    cJSON *it;
    cJSON_ArrayForEach(it, ref) {
        char where[80];
        snprintf(where, sizeof where, "reference.%s", it->string);
        const sa_knob_def *d = sa_knob_def_find(it->string);
        if (!d || !(d->methods & (1u << r->method)))
            return sa_rc_bad(c, where, "not a knob of this method");
        if (d->numeric ? !cJSON_IsNumber(it) || it->valuedouble < d->lo || it->valuedouble > d->hi
                       : !cJSON_IsString(it))
            return sa_rc_bad(c, where, "bad value");
        cJSON *copy = cJSON_Duplicate(it, 1);
        if (!copy || !cJSON_ReplaceItemInObject(r->reference, it->string, copy))
            return cJSON_Delete(copy), sa_error_set(c->err, SA_ENOMEM, "out of memory");
    }
    return SA_OK;
}
