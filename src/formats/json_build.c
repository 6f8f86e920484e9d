/* json_build.c: the sticky-failure JSON builder's add and print (json_build.h). */
#include "formats/json_build.h"

#include "formats/jsonl.h"

cJSON *sa_jb_add(sa_jb *b, cJSON *parent, const char *key, cJSON *item) {
    if (sa_json_attach(parent, key, item)) return item;
    b->oom = 1;
    return NULL;
}

char *sa_jb_print(const sa_jb *b, cJSON *root) {
    char *s = b->oom || !root ? NULL : cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    return s;
}

cJSON *sa_jb_done(const sa_jb *b, cJSON *root) {
    if (!b->oom) return root;
    cJSON_Delete(root);
    return NULL;
}
