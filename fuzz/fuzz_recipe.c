/* fuzz_recipe.c: any file loaded as a merge recipe (YAML) fails with an error naming what is
 * wrong, or gives a recipe with a method and at least one model. */
#include "fuzz_util.h"
#include "safearith/arith.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *path = fz_write("recipe.yml", data, size);
    sa_merge_recipe *r;
    sa_error err;
    if (sa_merge_recipe_load(path, &r, &err) != SA_OK) {
        if (!err.msg[0]) abort();
        return 0;
    }
    (void)sa_merge_method_name(r->method);
    sa_merge_recipe_free(r);
    return 0;
}
