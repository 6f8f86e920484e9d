/* rows.c: the well-formedness check of responses.jsonl rows (rows.h). */
#include "eval/rows.h"

#include <math.h>
#include <string.h>

static int is_index(const cJSON *v, double max) {
    return cJSON_IsNumber(v) && v->valuedouble >= 0 && v->valuedouble <= max &&
           v->valuedouble == floor(v->valuedouble);
}

static int is_string_or_absent(const cJSON *o, const char *k) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return !v || cJSON_IsString(v);
}

static int is_number_or_absent(const cJSON *o, const char *k) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return !v || cJSON_IsNumber(v);
}

static const char *judges_problem(const cJSON *js) {
    if (!js) return NULL;
    if (!cJSON_IsObject(js)) return "\"judges\" is not an object";
    const cJSON *v;
    cJSON_ArrayForEach(v, js) {
        const cJSON *f = cJSON_GetObjectItemCaseSensitive(v, "flag");
        if (!cJSON_IsNumber(f) ||
            (f->valuedouble != -1 && f->valuedouble != 0 && f->valuedouble != 1))
            return "a verdict in \"judges\" has no \"flag\" of -1, 0 or 1";
    }
    return NULL;
}

const char *sa_eval_row_problem(const cJSON *r) {
    static const char *const kinds[] = {"harmful", "benign", "mcq", "qa"};
    if (!cJSON_IsObject(r)) return "not a JSON object";
    if (!is_index(cJSON_GetObjectItemCaseSensitive(r, "ds"), SA_EVAL_MAX_DS))
        return "\"ds\" is not a dataset index";
    if (!is_index(cJSON_GetObjectItemCaseSensitive(r, "i"), SA_EVAL_MAX_ITEM))
        return "\"i\" is not an item index";
    if (!cJSON_IsString(cJSON_GetObjectItemCaseSensitive(r, "dataset")))
        return "no \"dataset\" string";
    if (!cJSON_IsString(cJSON_GetObjectItemCaseSensitive(r, "group"))) return "no \"group\" string";
    const cJSON *kind = cJSON_GetObjectItemCaseSensitive(r, "kind");
    int known = 0;
    for (int k = 0; k < 4 && cJSON_IsString(kind); k++)
        known |= !strcmp(kind->valuestring, kinds[k]);
    if (!known) return "\"kind\" is not harmful, benign, mcq or qa";
    if (!is_string_or_absent(r, "category")) return "\"category\" is not a string";
    if (!is_number_or_absent(r, "correct") || !is_number_or_absent(r, "correct_norm"))
        return "\"correct\" is not a number";
    return judges_problem(cJSON_GetObjectItemCaseSensitive(r, "judges"));
}

sa_status sa_eval_rows_check(const cJSON *rows, const size_t *line_of, const char *path,
                             sa_error *err) {
    size_t i = 0;
    const cJSON *r;
    cJSON_ArrayForEach(r, rows) {
        const char *why = sa_eval_row_problem(r);
        if (why)
            return sa_error_set(err, SA_EFORMAT, "%s:%zu: %s", path, line_of ? line_of[i] : i + 1,
                                why);
        i++;
    }
    return SA_OK;
}
