/* split.c: the tuning and test splits of a recipe's datasets.
 *
 * Either two lists of dataset specs (never sharing a file: the recipe refuses that), or one
 * list whose every item goes to the tuning split with probability tune_fraction, decided by a
 * hash of (seed, dataset name, item index): the same item always lands in the same split,
 * whatever else the file holds, and no item is in both. */
#include <stdlib.h>
#include <string.h>

#include "tune/tune_internal.h"

static uint64_t mix(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* 1 if item `index` of dataset `name` is in the tuning split. */
static int in_tune(const sa_tune_recipe *r, const char *name, size_t index) {
    uint64_t h = mix(r->split_seed + 0x9e3779b97f4a7c15ull);
    for (const char *p = name; *p; p++) h = mix(h ^ (unsigned char)*p);
    h = mix(h ^ (uint64_t)index);
    return (double)(h >> 11) * (1.0 / 9007199254740992.0) < r->split_fraction;
}

sa_status sa_tune_split_load(const sa_tune_recipe *r, int test, sa_tune_split *out, sa_error *err) {
    memset(out, 0, sizeof *out);
    out->name = test ? "test" : "tune";
    int n = test ? r->n_test : r->n_tune;
    const char *const *specs = test ? r->test_specs : r->tune_specs;
    sa_status st = SA_OK;
    for (int i = 0; i < n && !st; i++) {
        st = sa_eval_dataset_spec_parse(specs[i], &out->specs[i], err);
        if (st) break;
        st = sa_eval_dataset_load(&out->specs[i], &out->ds[i], err);
        out->n = i + 1;
        if (st || r->split_fraction <= 0) continue;
        sa_eval_dataset *ds = &out->ds[i];
        unsigned char *keep = malloc(ds->n_items + 1);
        if (!keep) {
            st = sa_error_set(err, SA_ENOMEM, "out of memory");
            break;
        }
        for (size_t k = 0; k < ds->n_items; k++)
            keep[k] = in_tune(r, ds->name, ds->items[k].index) != test;
        sa_eval_dataset_keep(ds, keep);
        free(keep);
        if (!ds->n_items)
            st = sa_error_set(err, SA_EINVAL, "%s: no item falls into the %s split", ds->path,
                              out->name);
    }
    if (st) sa_tune_split_free(out);
    return st;
}

void sa_tune_split_free(sa_tune_split *s) {
    for (int i = 0; i < s->n; i++) {
        sa_eval_dataset_free(&s->ds[i]);
        sa_eval_dataset_spec_free(&s->specs[i]);
    }
    s->n = 0;
}
