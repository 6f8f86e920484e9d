/* recipe_read.c: checked accessors of a tune recipe's JSON tree (see recipe_read.h). */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/fsutil.h"
#include "tune/recipe_read.h"

sa_status sa_rc_bad(rctx *c, const char *key, const char *what) {
    return sa_error_set(c->err, SA_EFORMAT, "%s: %s: %s", c->path, key, what);
}

sa_status sa_rc_check_keys(rctx *c, const cJSON *obj, const char *where,
                           const char *const *allowed) {
    if (!cJSON_IsObject(obj)) return sa_rc_bad(c, where, "expected a mapping");
    const cJSON *it;
    cJSON_ArrayForEach(it, obj) {
        int ok = 0;
        for (int i = 0; allowed[i] && !ok; i++) ok = !strcmp(allowed[i], it->string);
        if (!ok) {
            char key[160];
            snprintf(key, sizeof key, "%s%s%s", where, *where ? "." : "", it->string);
            return sa_rc_bad(c, key, "unknown key");
        }
    }
    return SA_OK;
}

/* A path as given if it exists, else relative to the recipe's directory. */
char *sa_rc_resolve(rctx *c, const char *p) {
    struct stat st;
    char *j = NULL, *real;
    if (p[0] != '/' && stat(p, &st) != 0 && c->dir && !(j = sa_path_join(c->dir, p)))
        return NULL; /* out of memory (not "does not exist") */
    real = realpath(j && stat(j, &st) == 0 ? j : p, NULL); /* absolute: --apply from anywhere */
    free(j);
    return real ? real : strdup(p);
}

/* Resolve the string at obj[key] in place ("path part" = before the first ':' when spec). */
sa_status sa_rc_resolve_item(rctx *c, cJSON *item, const char *where, int spec, int must_exist) {
    if (!cJSON_IsString(item) || !item->valuestring[0])
        return sa_rc_bad(c, where, "expected a path");
    const char *s = item->valuestring, *colon = spec ? strchr(s, ':') : NULL;
    char *head = colon ? strndup(s, (size_t)(colon - s)) : strdup(s);
    char *res = head ? sa_rc_resolve(c, head) : NULL;
    size_t need = (res ? strlen(res) : 0) + (colon ? strlen(colon) : 0) + 1;
    char *full = res ? malloc(need) : NULL;
    if (full) snprintf(full, need, "%s%s", res, colon ? colon : "");
    struct stat st;
    char msg[160] = "";
    if (res && must_exist && stat(res, &st) != 0)
        snprintf(msg, sizeof msg, "'%s' does not exist", s);
    else if (res && must_exist && spec && S_ISDIR(st.st_mode))
        snprintf(msg, sizeof msg, "'%s' is a directory, not a dataset file", s);
    free(head), free(res);
    if (!full) return sa_error_set(c->err, SA_ENOMEM, "out of memory");
    int set = cJSON_SetValuestring(item, full) != NULL; /* frees s */
    free(full);
    if (!set) return sa_error_set(c->err, SA_ENOMEM, "out of memory");
    if (msg[0]) return sa_rc_bad(c, where, msg);
    return SA_OK;
}

sa_status sa_rc_get_int(rctx *c, cJSON *obj, const char *key, const char *where, int lo, int hi,
                        int def, int *out) {
    cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!v) {
        *out = def;
        sa_jb_add(&c->jb, obj, key, cJSON_CreateNumber(def));
        return SA_OK;
    }
    char msg[96];
    snprintf(msg, sizeof msg, "expected an integer in [%d, %d]", lo, hi);
    /* range before the conversion, which is undefined beyond int */
    if (!cJSON_IsNumber(v) || !(v->valuedouble >= lo && v->valuedouble <= hi) ||
        v->valuedouble != (double)(int)v->valuedouble)
        return sa_rc_bad(c, where, msg);
    *out = (int)v->valuedouble;
    return SA_OK;
}

sa_status sa_rc_get_num(rctx *c, cJSON *obj, const char *key, const char *where, double lo,
                        double hi, double def, double *out) {
    cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!v) {
        *out = def;
        if (!isnan(def)) sa_jb_add(&c->jb, obj, key, cJSON_CreateNumber(def));
        return SA_OK;
    }
    char msg[96];
    snprintf(msg, sizeof msg, "expected a number in [%g, %g]", lo, hi);
    if (!cJSON_IsNumber(v) || !(v->valuedouble >= lo && v->valuedouble <= hi))
        return sa_rc_bad(c, where, msg);
    *out = v->valuedouble;
    return SA_OK;
}

sa_status sa_rc_get_bool(rctx *c, cJSON *obj, const char *key, const char *where, int def,
                         int *out) {
    cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!v) {
        *out = def;
        sa_jb_add(&c->jb, obj, key, cJSON_CreateBool(def));
        return SA_OK;
    }
    if (!cJSON_IsBool(v)) return sa_rc_bad(c, where, "expected true or false");
    *out = cJSON_IsTrue(v);
    return SA_OK;
}

const char *sa_rc_get_str(cJSON *obj, const char *key) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}
