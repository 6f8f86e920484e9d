/* fuzz_tune_recipe.c: any file loaded as a tune recipe (YAML) fails with an error naming what is
 * wrong, or gives a recipe whose canonical JSON, read again as a recipe (what study.json and
 * --apply rely on), has the same fingerprint. "@M@" in the input stands for the shipped
 * models directory, so that seeds can name real inputs. */
#include "fuzz_util.h"
#include "safearith/tune.h"
#include "tune/tune_json.h"

static char *expand(const uint8_t *data, size_t size, size_t *len) {
    const char *m = SA_FUZZ_MODELS;
    size_t ml = strlen(m), n = 0;
    char *out = malloc(size * ml + 1);
    if (!out) abort();
    for (size_t i = 0; i < size; i++) {
        if (i + 3 <= size && !memcmp(data + i, "@M@", 3)) {
            memcpy(out + n, m, ml), n += ml, i += 2;
            continue;
        }
        out[n++] = (char)data[i];
    }
    *len = n;
    return out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    size_t len;
    char *text = expand(data, size, &len);
    const char *path = fz_write("recipe.yml", (const uint8_t *)text, len);
    free(text);
    sa_tune_recipe *r;
    sa_error err;
    if (sa_tune_recipe_load(path, &r, &err) != SA_OK) {
        if (!err.msg[0]) abort();
        return 0;
    }
    if (sa_tune_recipe_n_knobs(r) < 1 || strlen(sa_tune_recipe_fingerprint(r)) != 64) abort();
    (void)sa_tune_method_name(sa_tune_recipe_method(r));
    sa_tune_recipe *r2;
    cJSON *copy = cJSON_Duplicate(sa_tune_recipe_json(r), 1);
    if (!copy || sa_tune_recipe_from_json(copy, path, &r2, &err) != SA_OK) abort();
    if (strcmp(sa_tune_recipe_fingerprint(r), sa_tune_recipe_fingerprint(r2))) abort();
    sa_tune_recipe_free(r2);
    sa_tune_recipe_free(r);
    return 0;
}
