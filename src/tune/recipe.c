/* recipe.c: reading a tune recipe (YAML; see docs/tune.md and tune.h).
 *
 * The YAML becomes a cJSON tree (yaml_json.c) that is checked key by key against what each
 * method uses, with every unknown key refused by name, so that no part of a recipe is ever
 * silently ignored. Paths are resolved in place (as given when they exist, else relative to the
 * recipe's directory) and defaults are written into the tree, which thus becomes the canonical
 * recipe: its text, with the checksums of the data files, is the study's fingerprint. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "safearith/fsutil.h"
#include "tune/tune_internal.h"
#include "tune/yaml_json.h"

typedef struct rctx {
    sa_tune_recipe *r;
    const char *path;
    char *dir;
    sa_error *err;
} rctx;

static sa_status bad(rctx *c, const char *key, const char *what) {
    return sa_error_set(c->err, SA_EFORMAT, "%s: %s: %s", c->path, key, what);
}

static sa_status check_keys(rctx *c, const cJSON *obj, const char *where,
                            const char *const *allowed) {
    if (!cJSON_IsObject(obj)) return bad(c, where, "expected a mapping");
    const cJSON *it;
    cJSON_ArrayForEach(it, obj) {
        int ok = 0;
        for (int i = 0; allowed[i] && !ok; i++) ok = !strcmp(allowed[i], it->string);
        if (!ok) {
            char key[160];
            snprintf(key, sizeof key, "%s%s%s", where, *where ? "." : "", it->string);
            return bad(c, key, "unknown key");
        }
    }
    return SA_OK;
}

/* A path as given if it exists, else relative to the recipe's directory. */
static char *resolve(rctx *c, const char *p) {
    struct stat st;
    char *j = NULL, *real;
    if (p[0] != '/' && stat(p, &st) != 0 && c->dir) j = sa_path_join(c->dir, p);
    real = realpath(j && stat(j, &st) == 0 ? j : p, NULL); /* absolute: --apply from anywhere */
    free(j);
    return real ? real : strdup(p);
}

/* Resolve the string at obj[key] in place ("path part" = before the first ':' when spec). */
static sa_status resolve_item(rctx *c, cJSON *item, const char *where, int spec, int must_exist) {
    if (!cJSON_IsString(item) || !item->valuestring[0]) return bad(c, where, "expected a path");
    const char *s = item->valuestring, *colon = spec ? strchr(s, ':') : NULL;
    char *head = colon ? strndup(s, (size_t)(colon - s)) : strdup(s);
    char *res = head ? resolve(c, head) : NULL;
    size_t need = (res ? strlen(res) : 0) + (colon ? strlen(colon) : 0) + 1;
    char *full = res ? malloc(need) : NULL;
    if (full) snprintf(full, need, "%s%s", res, colon ? colon : "");
    struct stat st;
    int missing = res && must_exist && stat(res, &st) != 0;
    free(head), free(res);
    if (!full) return sa_error_set(c->err, SA_ENOMEM, "out of memory");
    cJSON_SetValuestring(item, full);
    free(full);
    if (missing) {
        char msg[160];
        snprintf(msg, sizeof msg, "'%s' does not exist", s);
        return bad(c, where, msg);
    }
    return SA_OK;
}

static sa_status get_int(rctx *c, cJSON *obj, const char *key, const char *where, int lo, int hi,
                         int def, int *out) {
    cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!v) {
        *out = def;
        cJSON_AddNumberToObject(obj, key, def);
        return SA_OK;
    }
    char msg[96];
    snprintf(msg, sizeof msg, "expected an integer in [%d, %d]", lo, hi);
    if (!cJSON_IsNumber(v) || v->valuedouble != (double)(int)v->valuedouble ||
        v->valuedouble < lo || v->valuedouble > hi)
        return bad(c, where, msg);
    *out = (int)v->valuedouble;
    return SA_OK;
}

static sa_status get_num(rctx *c, cJSON *obj, const char *key, const char *where, double lo,
                         double hi, double def, double *out) {
    cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!v) {
        *out = def;
        if (!isnan(def)) cJSON_AddNumberToObject(obj, key, def);
        return SA_OK;
    }
    char msg[96];
    snprintf(msg, sizeof msg, "expected a number in [%g, %g]", lo, hi);
    if (!cJSON_IsNumber(v) || !(v->valuedouble >= lo && v->valuedouble <= hi))
        return bad(c, where, msg);
    *out = v->valuedouble;
    return SA_OK;
}

static const char *get_str(cJSON *obj, const char *key) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static const char *const top_keys[] = {"method", "inputs",      "space",  "datasets",  "eval",
                                       "kl",     "constraints", "search", "reference", NULL};

static sa_status parse_method(rctx *c, cJSON *root) {
    const char *m = get_str(root, "method");
    static const char *const names[] = {"hdr", "resta", "icv", "hdr+icv"};
    for (int i = 0; m && i < 4; i++)
        if (!strcmp(m, names[i])) return c->r->method = (sa_tune_method)i, SA_OK;
    return bad(c, "method", m ? "unknown method (hdr, resta, icv, hdr+icv)" : "missing");
}

/* inputs: which paths the method needs. */
static sa_status parse_inputs(rctx *c, cJSON *in) {
    sa_tune_recipe *r = c->r;
    static const char *const keys[] = {"target",     "base",      "harmful", "sft",
                                       "aligned",    "unaligned", "pairs",   "icv_format",
                                       "steer_mode", "steer_at",  NULL};
    sa_status st = check_keys(c, in, "inputs", keys);
    if (st) return st;
    static const char *const need[4][4] = {{"target", "base", "harmful", NULL},
                                           {"sft", "aligned", "unaligned", NULL},
                                           {"target", "pairs", NULL, NULL},
                                           {"target", "base", "harmful", "pairs"}};
    for (int i = 0; i < 4 && need[r->method][i]; i++) {
        char where[64];
        snprintf(where, sizeof where, "inputs.%s", need[r->method][i]);
        cJSON *v = cJSON_GetObjectItemCaseSensitive(in, need[r->method][i]);
        if (!v) return bad(c, where, "missing");
        if ((st = resolve_item(c, v, where, 0, 1))) return st;
    }
    const cJSON *it;
    cJSON_ArrayForEach(it, in) {
        int used = 0;
        for (int i = 0; i < 4 && need[r->method][i]; i++)
            used |= !strcmp(it->string, need[r->method][i]);
        int icv_opt = !strcmp(it->string, "icv_format") || !strcmp(it->string, "steer_mode") ||
                      !strcmp(it->string, "steer_at");
        if (icv_opt && (r->method == SA_TUNE_ICV || r->method == SA_TUNE_HDR_ICV)) used = 1;
        if (!used) {
            char where[64];
            snprintf(where, sizeof where, "inputs.%s", it->string);
            return bad(c, where, "not used by this method");
        }
    }
    r->target = get_str(in, "target"), r->base = get_str(in, "base");
    r->harmful = get_str(in, "harmful"), r->sft = get_str(in, "sft");
    r->aligned = get_str(in, "aligned"), r->unaligned = get_str(in, "unaligned");
    r->pairs = get_str(in, "pairs"), r->icv_format = get_str(in, "icv_format");
    const char *mode = get_str(in, "steer_mode"), *at = get_str(in, "steer_at");
    int m = mode ? sa_steer_mode_parse(mode) : SA_STEER_ICV;
    if (m < 0) return bad(c, "inputs.steer_mode", "expected add, icv or icv-code");
    r->steer_mode = (sa_steer_mode)m;
    if (at && strcmp(at, "mlp") && strcmp(at, "residual"))
        return bad(c, "inputs.steer_at", "expected mlp or residual");
    r->steer_at = at && !strcmp(at, "residual") ? SA_STEER_AT_RESIDUAL : SA_STEER_AT_MLP;
    if (r->icv_format && sa_format_check(r->icv_format, c->err))
        return sa_error_prefix(c->err, "%s: inputs.icv_format", c->path);
    return SA_OK;
}

/* One knob of `space`: a mapping {range: [lo, hi], log: bool}, a list, or one fixed value. */
static sa_status parse_knob(rctx *c, cJSON *v, const char *name) {
    sa_tune_recipe *r = c->r;
    char where[64];
    snprintf(where, sizeof where, "space.%s", name);
    const sa_knob_def *d = sa_knob_def_find(name);
    if (!d)
        return bad(c, where,
                   "unknown knob (top_k, lambda, alpha, position, icv_method, beta, dare_p)");
    if (!(d->methods & (1u << r->method))) return bad(c, where, "not a knob of this method");
    if (cJSON_IsObject(v)) {
        static const char *const keys[] = {"range", "log", NULL};
        sa_status st = check_keys(c, v, where, keys);
        const cJSON *rg = cJSON_GetObjectItemCaseSensitive(v, "range");
        const cJSON *lg = cJSON_GetObjectItemCaseSensitive(v, "log");
        if (st) return st;
        if (!d->numeric) return bad(c, where, "a named knob takes a list, not a range");
        if (!cJSON_IsArray(rg) || cJSON_GetArraySize(rg) != 2 ||
            !cJSON_IsNumber(cJSON_GetArrayItem(rg, 0)) ||
            !cJSON_IsNumber(cJSON_GetArrayItem(rg, 1)))
            return bad(c, where, "range: expected [low, high]");
        if (lg && !cJSON_IsBool(lg)) return bad(c, where, "log: expected true or false");
        double lo = cJSON_GetArrayItem(rg, 0)->valuedouble,
               hi = cJSON_GetArrayItem(rg, 1)->valuedouble;
        if (!(lo < hi)) return bad(c, where, "empty range (low must be below high)");
        if (lo < d->lo || hi > d->hi)
            return bad(c, where, "range outside the knob's allowed values");
        int log = cJSON_IsTrue(lg);
        if (log && lo <= 0) return bad(c, where, "a log range needs low > 0");
        r->knobs[r->n_knobs++] =
            (sa_tune_knob){d->name, log ? SA_KNOB_LOG_RANGE : SA_KNOB_RANGE, lo, hi, NULL, 0};
        return SA_OK;
    }
    cJSON *list = v;
    int single = !cJSON_IsArray(v);
    if (single) list = NULL;
    int n = single ? 1 : cJSON_GetArraySize(v);
    if (n == 0) return bad(c, where, "empty list");
    for (int i = 0; i < n; i++) {
        const cJSON *x = single ? v : cJSON_GetArrayItem(v, i);
        int ok = d->numeric
                     ? cJSON_IsNumber(x) && x->valuedouble >= d->lo && x->valuedouble <= d->hi
                     : cJSON_IsString(x);
        if (ok && !d->numeric)
            ok = !strcmp(d->name, "position") ? sa_icv_position_parse(x->valuestring) >= 0
                                              : sa_icv_method_parse(x->valuestring) >= 0;
        if (!ok)
            return bad(c, where,
                       d->numeric ? "value outside the knob's allowed values" : "unknown name");
    }
    if (single) {
        cJSON_AddItemToObject(r->fixed, d->name, cJSON_Duplicate(v, 1));
        return SA_OK;
    }
    r->knobs[r->n_knobs++] = (sa_tune_knob){d->name, SA_KNOB_LIST, 0, 0, list, n};
    return SA_OK;
}

static sa_status parse_space(rctx *c, cJSON *space) {
    sa_tune_recipe *r = c->r;
    if (!cJSON_IsObject(space)) return bad(c, "space", space ? "expected a mapping" : "missing");
    cJSON *it;
    sa_status st = SA_OK;
    cJSON_ArrayForEach(it, space) {
        if (r->n_knobs >= SA_TUNE_MAX_KNOBS) return bad(c, "space", "too many knobs");
        if ((st = parse_knob(c, it, it->string))) return st;
    }
    if (!r->n_knobs) return bad(c, "space", "no knob to search (give a range or a list)");
    for (int i = 0; sa_knob_def_at(i); i++) { /* the method's other knobs at their defaults */
        const sa_knob_def *d = sa_knob_def_at(i);
        if (!(d->methods & (1u << r->method)) || cJSON_GetObjectItemCaseSensitive(space, d->name))
            continue;
        if (d->numeric)
            cJSON_AddNumberToObject(r->fixed, d->name, d->def_num);
        else
            cJSON_AddStringToObject(r->fixed, d->name, d->def_str);
    }
    return SA_OK;
}

static sa_status parse_spec_list(rctx *c, cJSON *list, const char *where, const char **out,
                                 int *n) {
    if (!cJSON_IsArray(list) || !cJSON_GetArraySize(list))
        return bad(c, where, list ? "expected a non-empty list of dataset specs" : "missing");
    if (cJSON_GetArraySize(list) > SA_TUNE_MAX_DS) return bad(c, where, "too many datasets");
    cJSON *it;
    sa_status st;
    cJSON_ArrayForEach(it, list) {
        if ((st = resolve_item(c, it, where, 1, 1))) return st;
        out[(*n)++] = it->valuestring;
    }
    return SA_OK;
}

/* datasets: {tune: [...], test: [...]} or {files: [...], tune_fraction: F, seed: S}. */
static sa_status parse_datasets(rctx *c, cJSON *d) {
    sa_tune_recipe *r = c->r;
    static const char *const keys[] = {"tune", "test", "files", "tune_fraction", "seed", NULL};
    sa_status st = d ? check_keys(c, d, "datasets", keys) : bad(c, "datasets", "missing");
    if (st) return st;
    cJSON *files = cJSON_GetObjectItemCaseSensitive(d, "files");
    if (files) {
        if (cJSON_GetObjectItemCaseSensitive(d, "tune") ||
            cJSON_GetObjectItemCaseSensitive(d, "test"))
            return bad(c, "datasets", "give either files (split per item) or tune and test lists");
        if ((st = parse_spec_list(c, files, "datasets.files", r->tune_specs, &r->n_tune)))
            return st;
        for (int i = 0; i < r->n_tune; i++) r->test_specs[r->n_test++] = r->tune_specs[i];
        int seed;
        if ((st = get_num(c, d, "tune_fraction", "datasets.tune_fraction", 0, 1, 0.5,
                          &r->split_fraction)) ||
            (st = get_int(c, d, "seed", "datasets.seed", 0, 1 << 30, 1, &seed)))
            return st;
        r->split_seed = (uint64_t)seed;
        if (r->split_fraction <= 0 || r->split_fraction >= 1)
            return bad(c, "datasets.tune_fraction",
                       "must leave items for both splits (0 < fraction < 1): the test split may "
                       "not equal the tuning split");
        return SA_OK;
    }
    if (cJSON_GetObjectItemCaseSensitive(d, "tune_fraction") ||
        cJSON_GetObjectItemCaseSensitive(d, "seed"))
        return bad(c, "datasets", "tune_fraction and seed go with files");
    if ((st = parse_spec_list(c, cJSON_GetObjectItemCaseSensitive(d, "tune"), "datasets.tune",
                              r->tune_specs, &r->n_tune)) ||
        (st = parse_spec_list(c, cJSON_GetObjectItemCaseSensitive(d, "test"), "datasets.test",
                              r->test_specs, &r->n_test)))
        return st;
    for (int i = 0; i < r->n_tune; i++)
        for (int j = 0; j < r->n_test; j++)
            if (!strcmp(r->tune_specs[i], r->test_specs[j])) {
                char msg[300];
                snprintf(msg, sizeof msg,
                         "'%s' is in both splits: the test split must be separate from the "
                         "tuning split (use files + tune_fraction to split one file)",
                         r->test_specs[j]);
                return bad(c, "datasets.test", msg);
            }
    return SA_OK;
}

/* A judge spec with its list / model / prompt paths resolved. */
static sa_status resolve_judge(rctx *c, cJSON *j) {
    if (!cJSON_IsString(j)) return bad(c, "eval.judge", "expected a judge spec");
    const char *s = j->valuestring;
    if (strncmp(s, "refusal:", 8) && strncmp(s, "model:", 6)) return SA_OK;
    char *copy = strdup(s), *out = malloc(strlen(s) * 2 + 4096);
    if (!copy || !out)
        return free(copy), free(out), sa_error_set(c->err, SA_ENOMEM, "out of memory");
    out[0] = 0;
    int model = s[0] == 'm', field = 0;
    for (char *save = NULL, *p = strtok_r(copy, ":", &save); p;
         p = strtok_r(NULL, ":", &save), field++) {
        int is_path = field >= 1 && (model ? field <= 2 : field == 1) && !strchr(p, '=') &&
                      (strchr(p, '/') || strchr(p, '.'));
        char *res = is_path ? resolve(c, p) : strdup(p);
        if (res) strncat(out, field ? ":" : "", 2), strncat(out, res, 4000);
        free(res);
    }
    cJSON_SetValuestring(j, out);
    free(copy), free(out);
    return SA_OK;
}

static sa_status parse_eval(rctx *c, cJSON *e) {
    sa_tune_recipe *r = c->r;
    static const char *const keys[] = {"prompt_template", "judge", "max_new_tokens", "batch", NULL};
    sa_status st = e ? check_keys(c, e, "eval", keys) : bad(c, "eval", "missing");
    if (st) return st;
    cJSON *t = cJSON_GetObjectItemCaseSensitive(e, "prompt_template");
    if (t && (st = resolve_item(c, t, "eval.prompt_template", 0, 1))) return st;
    r->prompt_template = t ? t->valuestring : NULL;
    cJSON *j = cJSON_GetObjectItemCaseSensitive(e, "judge");
    if (!j)
        cJSON_AddStringToObject(e, "judge", "refusal"),
            j = cJSON_GetObjectItemCaseSensitive(e, "judge");
    if ((st = resolve_judge(c, j))) return st;
    r->judge = j->valuestring;
    if ((st = get_int(c, e, "max_new_tokens", "eval.max_new_tokens", 1, 4096, 128,
                      &r->max_new_tokens)))
        return st;
    return get_int(c, e, "batch", "eval.batch", 1, 1024, 8, &r->batch);
}

static sa_status parse_small(rctx *c, cJSON *root) {
    sa_tune_recipe *r = c->r;
    static const char *const kl_keys[] = {"prompts", "answer_tokens", NULL};
    static const char *const con_keys[] = {"utility_drop", "over_refusal_rise", "kl", NULL};
    static const char *const se_keys[] = {"trials", "initial", "seed", "early_stop", NULL};
    cJSON *kl = cJSON_GetObjectItemCaseSensitive(root, "kl");
    cJSON *con = cJSON_GetObjectItemCaseSensitive(root, "constraints");
    cJSON *se = cJSON_GetObjectItemCaseSensitive(root, "search");
    if (!kl) cJSON_AddItemToObject(root, "kl", kl = cJSON_CreateObject());
    if (!con) cJSON_AddItemToObject(root, "constraints", con = cJSON_CreateObject());
    if (!se) cJSON_AddItemToObject(root, "search", se = cJSON_CreateObject());
    int seed;
    sa_status st;
    if ((st = check_keys(c, kl, "kl", kl_keys)) ||
        (st = check_keys(c, con, "constraints", con_keys)) ||
        (st = check_keys(c, se, "search", se_keys)) ||
        (st = get_int(c, kl, "prompts", "kl.prompts", 1, 100000, 64, &r->kl_prompts)) ||
        (st = get_int(c, kl, "answer_tokens", "kl.answer_tokens", 1, 64, 4, &r->kl_tokens)) ||
        (st = get_num(c, con, "utility_drop", "constraints.utility_drop", 0, 100, NAN,
                      &r->utility_drop)) ||
        (st = get_num(c, con, "over_refusal_rise", "constraints.over_refusal_rise", 0, 100, NAN,
                      &r->over_refusal_rise)) ||
        (st = get_num(c, con, "kl", "constraints.kl", 0, 1e9, NAN, &r->max_kl)) ||
        (st = get_int(c, se, "trials", "search.trials", 1, 100000, 40, &r->trials)) ||
        (st = get_int(c, se, "initial", "search.initial", 1, 100000, 12, &r->initial)) ||
        (st = get_int(c, se, "seed", "search.seed", 0, 1 << 30, 1, &seed)) ||
        (st = get_num(c, se, "early_stop", "search.early_stop", 0, 0.9, 0.25, &r->early_fraction)))
        return st;
    r->seed = (uint64_t)seed;
    return SA_OK;
}

/* reference: a point evaluated like a trial and shown beside the front (a hand-picked setting). */
static sa_status parse_reference(rctx *c, cJSON *ref) {
    sa_tune_recipe *r = c->r;
    if (!ref) return SA_OK;
    if (!cJSON_IsObject(ref)) return bad(c, "reference", "expected a mapping of knob values");
    r->reference = cJSON_Duplicate(r->fixed, 1);
    for (int i = 0; i < r->n_knobs; i++) {
        const sa_tune_knob *k = &r->knobs[i];
        cJSON *v = cJSON_GetArrayItem(k->values, 0);
        if (k->kind == SA_KNOB_LIST)
            cJSON_AddItemToObject(r->reference, k->name, cJSON_Duplicate(v, 1));
        else
            cJSON_AddNumberToObject(r->reference, k->name, k->lo);
    }
    cJSON *it;
    cJSON_ArrayForEach(it, ref) {
        char where[80];
        snprintf(where, sizeof where, "reference.%s", it->string);
        const sa_knob_def *d = sa_knob_def_find(it->string);
        if (!d || !(d->methods & (1u << r->method)))
            return bad(c, where, "not a knob of this method");
        if (d->numeric ? !cJSON_IsNumber(it) || it->valuedouble < d->lo || it->valuedouble > d->hi
                       : !cJSON_IsString(it))
            return bad(c, where, "bad value");
        cJSON_ReplaceItemInObject(r->reference, it->string, cJSON_Duplicate(it, 1));
    }
    return SA_OK;
}

static sa_status parse_root(rctx *c, cJSON *root) {
    sa_status st = check_keys(c, root, "", top_keys);
    if (!st) st = parse_method(c, root);
    if (!st) st = parse_inputs(c, cJSON_GetObjectItemCaseSensitive(root, "inputs"));
    if (!st) st = parse_space(c, cJSON_GetObjectItemCaseSensitive(root, "space"));
    if (!st) st = parse_datasets(c, cJSON_GetObjectItemCaseSensitive(root, "datasets"));
    if (!st) st = parse_eval(c, cJSON_GetObjectItemCaseSensitive(root, "eval"));
    if (!st) st = parse_small(c, root);
    if (!st) st = parse_reference(c, cJSON_GetObjectItemCaseSensitive(root, "reference"));
    if (!st && c->r->initial > c->r->trials) c->r->initial = c->r->trials;
    return st;
}

/* Fingerprint: the canonical recipe text and the checksums of its dataset files. */
static sa_status fingerprint(sa_tune_recipe *r, sa_error *err) {
    cJSON *fp = cJSON_CreateObject(), *sums = cJSON_CreateArray();
    cJSON_AddItemToObject(fp, "recipe", cJSON_Duplicate(r->json, 1));
    cJSON_AddItemToObject(fp, "defaults", cJSON_Duplicate(r->fixed, 1));
    cJSON_AddItemToObject(fp, "data", sums);
    sa_status st = SA_OK;
    for (int s = 0; s < 2 && !st; s++)
        for (int i = 0; i < (s ? r->n_test : r->n_tune) && !st; i++) {
            sa_eval_dataset_spec spec;
            char hex[65];
            st = sa_eval_dataset_spec_parse(s ? r->test_specs[i] : r->tune_specs[i], &spec, err);
            if (!st) st = sa_eval_sha256_file(spec.path, hex, err);
            if (!st) cJSON_AddItemToArray(sums, cJSON_CreateString(hex));
            if (!st) sa_eval_dataset_spec_free(&spec);
        }
    if (!st) sa_eval_fingerprint(fp, r->fingerprint);
    cJSON_Delete(fp);
    return st;
}

sa_status sa_tune_recipe_from_json(cJSON *json, const char *path, sa_tune_recipe **out,
                                   sa_error *err) {
    *out = NULL;
    sa_tune_recipe *r = calloc(1, sizeof *r);
    if (!r) return cJSON_Delete(json), sa_error_set(err, SA_ENOMEM, "out of memory");
    r->path = strdup(path);
    r->fixed = cJSON_CreateObject();
    r->json = json;
    const char *slash = strrchr(path, '/');
    rctx c = {r, path, slash ? strndup(path, (size_t)(slash - path)) : NULL, err};
    sa_status st =
        cJSON_IsObject(r->json) ? SA_OK : bad(&c, "recipe", "expected a mapping at the top");
    if (!st) st = parse_root(&c, r->json);
    if (!st) st = fingerprint(r, err);
    free(c.dir);
    if (st) return sa_tune_recipe_free(r), st;
    *out = r;
    return SA_OK;
}

sa_status sa_tune_recipe_load(const char *path, sa_tune_recipe **out, sa_error *err) {
    *out = NULL;
    char *text = NULL;
    size_t len = 0;
    cJSON *json = NULL;
    sa_status st = sa_read_file(path, &text, &len, err);
    if (!st) st = sa_yaml_to_json(text, len, path, &json, err);
    free(text);
    return st ? st : sa_tune_recipe_from_json(json, path, out, err);
}

void sa_tune_recipe_free(sa_tune_recipe *r) {
    if (!r) return;
    cJSON_Delete(r->json), cJSON_Delete(r->fixed), cJSON_Delete(r->reference);
    free(r->path), free(r);
}

sa_tune_method sa_tune_recipe_method(const sa_tune_recipe *r) {
    return r->method;
}
int sa_tune_recipe_n_knobs(const sa_tune_recipe *r) {
    return r->n_knobs;
}
const sa_tune_knob *sa_tune_recipe_knob(const sa_tune_recipe *r, int i) {
    return i >= 0 && i < r->n_knobs ? &r->knobs[i] : NULL;
}
const cJSON *sa_tune_recipe_json(const sa_tune_recipe *r) {
    return r->json;
}
const char *sa_tune_recipe_fingerprint(const sa_tune_recipe *r) {
    return r->fingerprint;
}
