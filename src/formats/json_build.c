/* json_build.c: the one add of the sticky-failure JSON builder (json_build.h). */
#include "formats/json_build.h"

#include "formats/jsonl.h"

cJSON *sa_jb_add(sa_jb *b, cJSON *parent, const char *key, cJSON *item) {
    if (sa_json_attach(parent, key, item)) return item;
    b->oom = 1;
    return NULL;
}
