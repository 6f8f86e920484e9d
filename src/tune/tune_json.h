/* tune_json.h (internal): the JSON-level pieces of tune.h. A recipe's knobs and its canonical
 * JSON form hold cJSON values, and the public headers expose no third-party type, so these
 * live here; src/tune, its tests and the fuzz target include this header. */
#ifndef SA_TUNE_JSON_H
#define SA_TUNE_JSON_H

#include <cjson/cJSON.h>

#include "safearith/tune.h"

typedef struct sa_tune_knob {
    const char *name; /* top_k, lambda, alpha, beta, dare_p, position, method */
    sa_knob_kind kind;
    double lo, hi; /* ranges (lo < hi; lo > 0 for log ranges) */
    cJSON *values; /* lists: an array of numbers (numeric knobs) or strings (position, method) */
    int n_values;
} sa_tune_knob;

/* The same from a recipe's JSON form (YAML's data model; what sa_tune_recipe_json returns and
 * study.json keeps). Takes ownership of json; path names it in messages. */
sa_status sa_tune_recipe_from_json(cJSON *json, const char *path, sa_tune_recipe **out,
                                   sa_error *err);
const sa_tune_knob *sa_tune_recipe_knob(const sa_tune_recipe *r, int i);
const cJSON *sa_tune_recipe_json(const sa_tune_recipe *r);

#endif
