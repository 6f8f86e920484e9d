/* safetensors_index.c: sharded checkpoints through model.safetensors.index.json.
 *
 * The index is {"metadata": {...}, "weight_map": {tensor: shard file}}. Every distinct shard is
 * opened and validated on its own (in file-name order, which is storage order for HF's
 * model-0000i-of-0000n names); then the index and the shards must agree exactly: each listed
 * tensor is stored in the shard the index names, and every stored tensor is listed once.
 * Shard names must stay inside the checkpoint's directory. */
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "formats/safetensors_internal.h"
#include "formats/jsonl.h"
#include "core/fsutil.h"

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int shard_name_ok(const char *s) {
    if (!*s || s[0] == '/') return 0;
    for (const char *p = s; *p;) {
        const char *slash = strchr(p, '/');
        size_t n = slash ? (size_t)(slash - p) : strlen(p);
        if ((n == 2 && !strncmp(p, "..", 2)) || n == 0) return 0;
        p += n + (slash ? 1 : 0);
    }
    return 1;
}

static sa_status load_weight_map(const char *path, const char *text, size_t len, cJSON **root,
                                 const cJSON **wm, sa_error *err) {
    sa_status st = sa_json_parse(text, len, path, root, err); /* UTF-8, no NUL, line numbers */
    if (st != SA_OK) return st;
    if (!cJSON_IsObject(*root))
        return sa_error_set(err, SA_EFORMAT, "%s: index is not a JSON object", path);
    *wm = cJSON_GetObjectItemCaseSensitive(*root, "weight_map");
    if (!cJSON_IsObject(*wm))
        return sa_error_set(err, SA_EFORMAT, "%s: index has no weight_map object", path);
    if (!(*wm)->child) return sa_error_set(err, SA_EFORMAT, "%s: index weight_map is empty", path);
    for (const cJSON *e = (*wm)->child; e; e = e->next) {
        if (!cJSON_IsString(e))
            return sa_error_set(err, SA_EFORMAT, "%s: weight_map entry '%s' is not a string", path,
                                e->string);
        if (!shard_name_ok(e->valuestring))
            return sa_error_set(err, SA_EFORMAT,
                                "%s: weight_map entry '%s' names shard '%s' outside the "
                                "checkpoint directory",
                                path, e->string, e->valuestring);
    }
    return SA_OK;
}

/* Distinct shard names, sorted; returns count or -1 on OOM. */
static int distinct_shards(const cJSON *wm, const char ***out) {
    int n = cJSON_GetArraySize(wm), k = 0;
    const char **names = malloc((size_t)n * sizeof *names);
    if (!names) return -1;
    for (const cJSON *e = wm->child; e; e = e->next) names[k++] = e->valuestring;
    qsort(names, (size_t)n, sizeof *names, cmp_str);
    k = 0;
    for (int i = 0; i < n; i++)
        if (k == 0 || strcmp(names[k - 1], names[i])) names[k++] = names[i];
    *out = names;
    return k;
}

static sa_status open_shards(sa_checkpoint *ck, const char **names, int n, sa_error *err) {
    ck->shards = calloc((size_t)n, sizeof *ck->shards);
    if (!ck->shards) return sa_error_set(err, SA_ENOMEM, "out of memory");
    for (int i = 0; i < n; i++) {
        ck->n_shards = i + 1;
        ck->shards[i].path = sa_path_join(ck->dir, names[i]);
        if (!ck->shards[i].path) return sa_error_set(err, SA_ENOMEM, "out of memory");
        sa_status s = sa_st_parse_shard(ck, i, i == 0, err);
        if (s != SA_OK) return s;
    }
    return SA_OK;
}

static const char *base_name(const char *p) {
    const char *s = strrchr(p, '/');
    return s ? s + 1 : p;
}

/* Index and shards agree: listed tensors present in the named shard, all tensors listed once. */
static sa_status cross_check(sa_checkpoint *ck, const char *path, const cJSON *wm,
                             const char **names, sa_error *err) {
    char *seen = calloc(ck->n_tensors + 1, 1);
    if (!seen) return sa_error_set(err, SA_ENOMEM, "out of memory");
    sa_status s = SA_OK;
    for (const cJSON *e = wm->child; e && s == SA_OK; e = e->next) {
        const sa_st_tensor *t = sa_ckpt_find(ck, e->string);
        if (!t)
            s = sa_error_set(err, SA_EFORMAT,
                             "%s: tensor '%s' is listed in the index but not stored in shard %s",
                             path, e->string, e->valuestring);
        else if (strcmp(names[t->shard], e->valuestring))
            s = sa_error_set(err, SA_EFORMAT,
                             "%s: tensor '%s' is listed under shard %s but stored in %s", path,
                             e->string, e->valuestring, names[t->shard]);
        else if (seen[t - ck->tensors]++)
            s = sa_error_set(err, SA_EFORMAT, "%s: tensor '%s' is listed twice in the index", path,
                             e->string);
    }
    for (size_t i = 0; i < ck->n_tensors && s == SA_OK; i++)
        if (!seen[i])
            s = sa_error_set(err, SA_EFORMAT,
                             "%s: tensor '%s' is stored in shard %s but not listed in the index",
                             path, ck->tensors[i].name,
                             base_name(ck->shards[ck->tensors[i].shard].path));
    free(seen);
    return s;
}

sa_status sa_st_open_index(sa_checkpoint *ck, const char *index_path, sa_error *err) {
    char *text;
    size_t len;
    sa_status s = sa_read_file(index_path, &text, &len, err);
    if (s != SA_OK) return s;
    cJSON *root = NULL;
    const cJSON *wm = NULL;
    const char **names = NULL;
    s = load_weight_map(index_path, text, len, &root, &wm, err);
    int n = s == SA_OK ? distinct_shards(wm, &names) : 0;
    if (n < 0) s = sa_error_set(err, SA_ENOMEM, "out of memory");
    if (s == SA_OK) s = open_shards(ck, names, n, err);
    if (s == SA_OK) s = sa_st_build_table(ck, err);
    if (s == SA_OK) s = cross_check(ck, index_path, wm, names, err);
    free(names);
    cJSON_Delete(root);
    free(text);
    return s;
}
