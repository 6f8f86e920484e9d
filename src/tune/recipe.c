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

#include "eval/eval_json.h"
#include "eval/strbuf.h"
#include "safearith/provenance.h"
#include "core/fsutil.h"
#include "tune/recipe_read.h"
#include "tune/yaml_json.h"

static const char *const top_keys[] = {"method", "inputs",    "space", "datasets",
                                       "eval",   "server",    "kl",    "constraints",
                                       "search", "reference", NULL};

static sa_status parse_method(rctx *c, cJSON *root) {
    const char *m = sa_rc_get_str(root, "method");
    static const char *const names[] = {"hdr", "resta", "icv", "hdr+icv"};
    for (int i = 0; m && i < 4; i++)
        if (!strcmp(m, names[i])) return c->r->method = (sa_tune_method)i, SA_OK;
    return sa_rc_bad(c, "method", m ? "unknown method (hdr, resta, icv, hdr+icv)" : "missing");
}

/* inputs: which paths the method needs. */
static sa_status parse_inputs(rctx *c, cJSON *in) {
    sa_tune_recipe *r = c->r;
    static const char *const keys[] = {"target",    "base",       "harmful",  "sft",
                                       "aligned",   "unaligned",  "pairs",    "icv_format",
                                       "icv_model", "steer_mode", "steer_at", NULL};
    sa_status st = sa_rc_check_keys(c, in, "inputs", keys);
    if (st) return st;
    static const char *const need[4][4] = {{"target", "base", "harmful", NULL},
                                           {"sft", "aligned", "unaligned", NULL},
                                           {"target", "pairs", NULL, NULL},
                                           {"target", "base", "harmful", "pairs"}};
    for (int i = 0; i < 4 && need[r->method][i]; i++) {
        char where[64];
        snprintf(where, sizeof where, "inputs.%s", need[r->method][i]);
        cJSON *v = cJSON_GetObjectItemCaseSensitive(in, need[r->method][i]);
        if (!v) return sa_rc_bad(c, where, "missing");
        if ((st = sa_rc_resolve_item(c, v, where, 0, 1))) return st;
    }
    const cJSON *it;
    cJSON_ArrayForEach(it, in) {
        int used = 0;
        for (int i = 0; i < 4 && need[r->method][i]; i++)
            used |= !strcmp(it->string, need[r->method][i]);
        int icv_opt = !strcmp(it->string, "icv_format") || !strcmp(it->string, "steer_mode") ||
                      !strcmp(it->string, "steer_at");
        if (icv_opt && (r->method == SA_TUNE_ICV || r->method == SA_TUNE_HDR_ICV)) used = 1;
        if (!strcmp(it->string, "icv_model") && r->method == SA_TUNE_HDR_ICV) used = 1;
        if (!used) {
            char where[64];
            snprintf(where, sizeof where, "inputs.%s", it->string);
            return sa_rc_bad(c, where, "not used by this method");
        }
    }
    r->target = sa_rc_get_str(in, "target"), r->base = sa_rc_get_str(in, "base");
    r->harmful = sa_rc_get_str(in, "harmful"), r->sft = sa_rc_get_str(in, "sft");
    r->aligned = sa_rc_get_str(in, "aligned"), r->unaligned = sa_rc_get_str(in, "unaligned");
    r->pairs = sa_rc_get_str(in, "pairs"), r->icv_format = sa_rc_get_str(in, "icv_format");
    const char *mode = sa_rc_get_str(in, "steer_mode"), *at = sa_rc_get_str(in, "steer_at");
    int m = mode ? sa_steer_mode_parse(mode) : SA_STEER_ICV;
    if (m < 0) return sa_rc_bad(c, "inputs.steer_mode", "expected add, icv or icv-code");
    r->steer_mode = (sa_steer_mode)m;
    if (at && strcmp(at, "mlp") && strcmp(at, "residual"))
        return sa_rc_bad(c, "inputs.steer_at", "expected mlp or residual");
    r->steer_at = at && !strcmp(at, "residual") ? SA_STEER_AT_RESIDUAL : SA_STEER_AT_MLP;
    if (r->method == SA_TUNE_HDR_ICV) { /* written into the canonical recipe: fingerprinted */
        const char *on = sa_rc_get_str(in, "icv_model");
        int given = cJSON_GetObjectItemCaseSensitive(in, "icv_model") != NULL;
        if (given && (!on || (strcmp(on, "trial") && strcmp(on, "unmodified"))))
            return sa_rc_bad(c, "inputs.icv_model", "expected trial or unmodified");
        if (!given) sa_jb_add(&c->jb, in, "icv_model", cJSON_CreateString("trial"));
        r->icv_on_trial = !on || !strcmp(on, "trial");
    }
    if (r->icv_format && sa_format_check(r->icv_format, c->err))
        return sa_error_prefix(c->err, "%s: inputs.icv_format", c->path);
    return SA_OK;
}

/* One knob of `space`: a mapping {range: [lo, hi], log: bool}, a list, or one fixed value. */
static sa_status parse_spec_list(rctx *c, cJSON *list, const char *where, const char **out,
                                 int *n) {
    if (!cJSON_IsArray(list) || !cJSON_GetArraySize(list))
        return sa_rc_bad(c, where, list ? "expected a non-empty list of dataset specs" : "missing");
    if (cJSON_GetArraySize(list) > SA_TUNE_MAX_DS) return sa_rc_bad(c, where, "too many datasets");
    cJSON *it;
    sa_status st;
    cJSON_ArrayForEach(it, list) {
        if ((st = sa_rc_resolve_item(c, it, where, 1, 1))) return st;
        out[(*n)++] = it->valuestring;
    }
    return SA_OK;
}

/* datasets: {tune: [...], test: [...]} or {files: [...], tune_fraction: F, seed: S}. */
static sa_status parse_datasets(rctx *c, cJSON *d) {
    sa_tune_recipe *r = c->r;
    static const char *const keys[] = {"tune", "test", "files", "tune_fraction", "seed", NULL};
    sa_status st =
        d ? sa_rc_check_keys(c, d, "datasets", keys) : sa_rc_bad(c, "datasets", "missing");
    if (st) return st;
    cJSON *files = cJSON_GetObjectItemCaseSensitive(d, "files");
    if (files) {
        if (cJSON_GetObjectItemCaseSensitive(d, "tune") ||
            cJSON_GetObjectItemCaseSensitive(d, "test"))
            return sa_rc_bad(c, "datasets",
                             "give either files (split per item) or tune and test lists");
        if ((st = parse_spec_list(c, files, "datasets.files", r->tune_specs, &r->n_tune)))
            return st;
        for (int i = 0; i < r->n_tune; i++) r->test_specs[r->n_test++] = r->tune_specs[i];
        int seed;
        if ((st = sa_rc_get_num(c, d, "tune_fraction", "datasets.tune_fraction", 0, 1, 0.5,
                                &r->split_fraction)) ||
            (st = sa_rc_get_int(c, d, "seed", "datasets.seed", 0, 1 << 30, 1, &seed)))
            return st;
        r->split_seed = (uint64_t)seed;
        if (r->split_fraction <= 0 || r->split_fraction >= 1)
            return sa_rc_bad(
                c, "datasets.tune_fraction",
                "must leave items for both splits (0 < fraction < 1): the test split may "
                "not equal the tuning split");
        return SA_OK;
    }
    if (cJSON_GetObjectItemCaseSensitive(d, "tune_fraction") ||
        cJSON_GetObjectItemCaseSensitive(d, "seed"))
        return sa_rc_bad(c, "datasets", "tune_fraction and seed go with files");
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
                return sa_rc_bad(c, "datasets.test", msg);
            }
    return SA_OK;
}

/* A judge spec with its list / model / prompt paths resolved. */
static sa_status resolve_judge(rctx *c, cJSON *j) {
    if (!cJSON_IsString(j)) return sa_rc_bad(c, "eval.judge", "expected a judge spec");
    const char *s = j->valuestring;
    if (!strncmp(s, "server:", 7)) return sa_rc_resolve_server_judge(c, j);
    if (strncmp(s, "refusal:", 8) && strncmp(s, "model:", 6)) return SA_OK;
    char *copy = strdup(s);
    sa_sbuf out = {0};
    out.oom = !copy;
    int model = s[0] == 'm', field = 0;
    for (char *save = NULL, *p = copy ? strtok_r(copy, ":", &save) : NULL; p;
         p = strtok_r(NULL, ":", &save), field++) {
        int is_path = field >= 1 && (model ? field <= 2 : field == 1) && !strchr(p, '=') &&
                      (strchr(p, '/') || strchr(p, '.'));
        char *res = is_path ? sa_rc_resolve(c, p) : strdup(p);
        if (res) sa_sbuf_printf(&out, "%s%s", field ? ":" : "", res);
        out.oom |= !res;
        free(res);
    }
    int oom = out.oom || !out.s || !cJSON_SetValuestring(j, out.s);
    free(copy), free(out.s);
    return oom ? sa_error_set(c->err, SA_ENOMEM, "out of memory") : SA_OK;
}

/* The judge parses (its list or prompt file read) and says refused / complied. */
static sa_status check_judge(rctx *c, const char *spec) {
    sa_eval_judge j;
    sa_status st = sa_eval_judge_parse(spec, NULL, &j, NULL, c->err);
    if (st) return sa_error_prefix(c->err, "%s: eval.judge", c->path);
    if (j.is_model && !j.prompt.refusal_type)
        st = sa_rc_bad(c, "eval.judge",
                       "tune needs a judge that says refused / complied (a keyword list or a "
                       "refusal-type judge prompt such as XSTest's)");
    sa_eval_judge_free(&j);
    return st;
}

static sa_status parse_eval(rctx *c, cJSON *e) {
    sa_tune_recipe *r = c->r;
    static const char *const keys[] = {"prompt_template", "judge", "max_new_tokens", "batch", NULL};
    sa_status st = e ? sa_rc_check_keys(c, e, "eval", keys) : sa_rc_bad(c, "eval", "missing");
    if (st) return st;
    cJSON *t = cJSON_GetObjectItemCaseSensitive(e, "prompt_template");
    if (t && (st = sa_rc_resolve_item(c, t, "eval.prompt_template", 0, 1))) return st;
    r->prompt_template = t ? t->valuestring : NULL;
    cJSON *j = cJSON_GetObjectItemCaseSensitive(e, "judge");
    if (!j && !(j = sa_jb_add(&c->jb, e, "judge", cJSON_CreateString("refusal"))))
        return sa_error_set(c->err, SA_ENOMEM, "out of memory");
    if ((st = resolve_judge(c, j)) || (st = check_judge(c, j->valuestring))) return st;
    r->judge = j->valuestring;
    if ((st = sa_rc_get_int(c, e, "max_new_tokens", "eval.max_new_tokens", 1, 4096, 128,
                            &r->max_new_tokens)))
        return st;
    return sa_rc_get_int(c, e, "batch", "eval.batch", 1, 1024, 8, &r->batch);
}

static sa_status parse_small(rctx *c, cJSON *root) {
    sa_tune_recipe *r = c->r;
    static const char *const kl_keys[] = {"prompts", "answer_tokens", NULL};
    static const char *const con_keys[] = {"utility_drop", "over_refusal_rise", "kl", NULL};
    static const char *const se_keys[] = {"trials", "initial", "seed", "early_stop", NULL};
    cJSON *kl = cJSON_GetObjectItemCaseSensitive(root, "kl");
    cJSON *con = cJSON_GetObjectItemCaseSensitive(root, "constraints");
    cJSON *se = cJSON_GetObjectItemCaseSensitive(root, "search");
    if (!kl) kl = sa_jb_add(&c->jb, root, "kl", cJSON_CreateObject());
    if (!con) con = sa_jb_add(&c->jb, root, "constraints", cJSON_CreateObject());
    if (!se) se = sa_jb_add(&c->jb, root, "search", cJSON_CreateObject());
    if (c->jb.oom) return sa_error_set(c->err, SA_ENOMEM, "out of memory");
    int seed;
    sa_status st;
    if ((st = sa_rc_check_keys(c, kl, "kl", kl_keys)) ||
        (st = sa_rc_check_keys(c, con, "constraints", con_keys)) ||
        (st = sa_rc_check_keys(c, se, "search", se_keys)) ||
        (st = sa_rc_get_int(c, kl, "prompts", "kl.prompts", 1, 100000, 64, &r->kl_prompts)) ||
        (st = sa_rc_get_int(c, kl, "answer_tokens", "kl.answer_tokens", 1, 64, 4, &r->kl_tokens)) ||
        (st = sa_rc_get_num(c, con, "utility_drop", "constraints.utility_drop", 0, 100, NAN,
                            &r->utility_drop)) ||
        (st = sa_rc_get_num(c, con, "over_refusal_rise", "constraints.over_refusal_rise", 0, 100,
                            NAN, &r->over_refusal_rise)) ||
        (st = sa_rc_get_num(c, con, "kl", "constraints.kl", 0, 1e9, NAN, &r->max_kl)) ||
        (st = sa_rc_get_int(c, se, "trials", "search.trials", 1, 100000, 40, &r->trials)) ||
        (st = sa_rc_get_int(c, se, "initial", "search.initial", 1, 100000, 12, &r->initial)) ||
        (st = sa_rc_get_int(c, se, "seed", "search.seed", 0, 1 << 30, 1, &seed)) ||
        (st = sa_rc_get_num(c, se, "early_stop", "search.early_stop", 0, 0.9, 0.25,
                            &r->early_fraction)))
        return st;
    r->seed = (uint64_t)seed;
    return SA_OK;
}

/* reference: a point evaluated like a trial and shown beside the front (a hand-picked setting). */
static sa_status parse_root(rctx *c, cJSON *root) {
    sa_status st = sa_rc_check_keys(c, root, "", top_keys);
    if (!st) st = parse_method(c, root);
    if (!st) st = parse_inputs(c, cJSON_GetObjectItemCaseSensitive(root, "inputs"));
    if (!st) st = sa_rc_parse_space(c, cJSON_GetObjectItemCaseSensitive(root, "space"));
    if (!st) st = parse_datasets(c, cJSON_GetObjectItemCaseSensitive(root, "datasets"));
    if (!st && !cJSON_GetObjectItemCaseSensitive(root, "eval")) /* all defaults */
        sa_jb_add(&c->jb, root, "eval", cJSON_CreateObject());
    if (!st) st = parse_eval(c, cJSON_GetObjectItemCaseSensitive(root, "eval"));
    if (!st) st = sa_rc_parse_server(c, root);
    if (!st) st = parse_small(c, root);
    if (!st) st = sa_rc_parse_reference(c, cJSON_GetObjectItemCaseSensitive(root, "reference"));
    if (!st && c->r->initial > c->r->trials) c->r->initial = c->r->trials;
    return st;
}

/* Fingerprint: the canonical recipe text and the checksums of its dataset files. */
static sa_status fingerprint(sa_tune_recipe *r, sa_error *err) {
    sa_jb jb = {0};
    cJSON *fp = sa_jb_root(&jb);
    sa_jb_add(&jb, fp, "recipe", cJSON_Duplicate(r->json, 1));
    sa_jb_add(&jb, fp, "defaults", cJSON_Duplicate(r->fixed, 1));
    cJSON *sums = sa_jb_arr(&jb, fp, "data");
    sa_status st = jb.oom ? sa_error_set(err, SA_ENOMEM, "out of memory") : SA_OK;
    for (int s = 0; s < 2 && !st; s++)
        for (int i = 0; i < (s ? r->n_test : r->n_tune) && !st; i++) {
            sa_eval_dataset_spec spec;
            char hex[65];
            st = sa_eval_dataset_spec_parse(s ? r->test_specs[i] : r->tune_specs[i], &spec, err);
            if (st) break;
            st = sa_sha256_file(spec.path, hex, err);
            if (!st && !sa_jb_str(&jb, sums, NULL, hex))
                st = sa_error_set(err, SA_ENOMEM, "out of memory");
            sa_eval_dataset_spec_free(&spec);
        }
    if (!st) st = sa_eval_fingerprint(fp, r->fingerprint, err);
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
    rctx c = {r, path, slash ? strndup(path, (size_t)(slash - path)) : NULL, err, {0}};
    sa_status st = SA_OK;
    if (!r->path || !r->fixed || (slash && !c.dir))
        st = sa_error_set(err, SA_ENOMEM, "out of memory");
    else if (!cJSON_IsObject(r->json))
        st = sa_rc_bad(&c, "recipe", "expected a mapping at the top");
    if (!st) st = parse_root(&c, r->json);
    if (!st && c.jb.oom) st = sa_error_set(err, SA_ENOMEM, "out of memory");
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
