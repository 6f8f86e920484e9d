/* json_build.h: building cJSON trees with one allocation check at the end.
 *
 * cJSON reports a failed allocation by returning NULL from each call, and an unchecked add drops
 * its field silently (a summary without its fingerprint, a settings record short of a judge). A
 * builder records every failure in a sticky flag instead: a function that builds JSON reads as a
 * list of fields and checks `oom` once before anything is written or compared. A NULL parent
 * (its own creation failed) fails the add too, so intermediate objects need no checks. */
#ifndef SAFEARITH_FORMATS_JSON_BUILD_H
#define SAFEARITH_FORMATS_JSON_BUILD_H

#include <cjson/cJSON.h>

typedef struct sa_jb {
    int oom; /* an allocation failed: the tree is incomplete */
} sa_jb;

/* Attach item to parent under key (an object), or at its end (key NULL: an array). Returns item,
 * or NULL after freeing it and setting b->oom. */
cJSON *sa_jb_add(sa_jb *b, cJSON *parent, const char *key, cJSON *item);

static inline cJSON *sa_jb_num(sa_jb *b, cJSON *parent, const char *key, double v) {
    return sa_jb_add(b, parent, key, cJSON_CreateNumber(v));
}
static inline cJSON *sa_jb_str(sa_jb *b, cJSON *parent, const char *key, const char *s) {
    return sa_jb_add(b, parent, key, cJSON_CreateString(s));
}
static inline cJSON *sa_jb_bool(sa_jb *b, cJSON *parent, const char *key, int v) {
    return sa_jb_add(b, parent, key, cJSON_CreateBool(v));
}
static inline cJSON *sa_jb_null(sa_jb *b, cJSON *parent, const char *key) {
    return sa_jb_add(b, parent, key, cJSON_CreateNull());
}
static inline cJSON *sa_jb_obj(sa_jb *b, cJSON *parent, const char *key) {
    return sa_jb_add(b, parent, key, cJSON_CreateObject());
}
static inline cJSON *sa_jb_arr(sa_jb *b, cJSON *parent, const char *key) {
    return sa_jb_add(b, parent, key, cJSON_CreateArray());
}
/* A new root object (NULL and b->oom set if it cannot be allocated). */
static inline cJSON *sa_jb_root(sa_jb *b) {
    cJSON *o = cJSON_CreateObject();
    if (!o) b->oom = 1;
    return o;
}

/* A finished tree: root, or NULL (root freed) when an add failed. For records that are used
 * whole or not at all. */
cJSON *sa_jb_done(const sa_jb *b, cJSON *root);
/* The unformatted text of a finished tree, or NULL when an add failed (or printing did); frees
 * root either way. For records that are written whole or not at all. */
char *sa_jb_print(const sa_jb *b, cJSON *root);

#endif
