/* adapter_config.c: reading a PEFT adapter_config.json (see adapter.h).
 *
 * Only what changes the merged weights matters here, and nothing that does is ever guessed: each
 * key is handled (peft_type, r, lora_alpha, use_rslora, use_dora, fan_in_fan_out, rank_pattern,
 * alpha_pattern, and bias / lora_bias / modules_to_save, whose tensors are in the file), or known
 * not to change them (names of the base, dropout, the target lists whose effect is the set of
 * tensors saved, ...), or refused by name unless it holds its "off" value (null, false, an empty
 * list or object). An unknown key is treated like the last kind. */
#include <math.h>
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formats/adapter.h"
#include "formats/jsonl.h"

/* Keys that do not change the merged weights (informational, training-time only, or reflected
 * in which tensors the adapter file holds). */
static const char *const harmless[] = {"base_model_name_or_path",
                                       "revision",
                                       "task_type",
                                       "inference_mode",
                                       "lora_dropout",
                                       "target_modules",
                                       "exclude_modules",
                                       "layers_to_transform",
                                       "layers_pattern",
                                       "auto_mapping",
                                       "peft_version",
                                       "megatron_config",
                                       "megatron_core",
                                       "runtime_config",
                                       "modules_to_save",
                                       "bias",
                                       "lora_bias",
                                       "qalora_group_size",
                                       "ensure_weight_tying",
                                       "eva_config",
                                       "corda_config",
                                       "init_lora_weights"};

/* null, false, "", [] or {}: a feature left off. */
static int is_off(const cJSON *v) {
    return cJSON_IsNull(v) || cJSON_IsFalse(v) || (cJSON_IsString(v) && !*v->valuestring) ||
           ((cJSON_IsArray(v) || cJSON_IsObject(v)) && !v->child);
}

static int in_list(const char *k, const char *const *list, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (!strcmp(k, list[i])) return 1;
    return 0;
}

static sa_status get_bool(const cJSON *root, const char *path, const char *key, int *out,
                          sa_error *err) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, key);
    *out = 0;
    if (!v || cJSON_IsNull(v)) return SA_OK;
    if (!cJSON_IsBool(v))
        return sa_error_set(err, SA_EFORMAT, "%s: '%s' is not true or false", path, key);
    *out = cJSON_IsTrue(v);
    return SA_OK;
}

static sa_status check_pattern(const cJSON *p, const char *path, const char *key, int integer,
                               sa_error *err) {
    if (!p || cJSON_IsNull(p)) return SA_OK;
    if (!cJSON_IsObject(p))
        return sa_error_set(err, SA_EFORMAT, "%s: '%s' is not an object", path, key);
    for (const cJSON *e = p->child; e; e = e->next) {
        double v = cJSON_IsNumber(e) ? e->valuedouble : NAN;
        if (!(v > 0) || !isfinite(v) || (integer && (v != floor(v) || v > 1e6)))
            return sa_error_set(err, SA_EFORMAT, "%s: %s['%s'] is not a positive %s", path, key,
                                e->string, integer ? "integer" : "number");
    }
    return SA_OK;
}

/* init_lora_weights values after which the adapter is relative to a modified base. */
static sa_status check_init(const cJSON *v, const char *path, sa_error *err) {
    static const char *const ok[] = {"gaussian", "eva", "orthogonal"};
    if (!v || cJSON_IsBool(v) || cJSON_IsNull(v)) return SA_OK;
    if (cJSON_IsString(v) && in_list(v->valuestring, ok, sizeof ok / sizeof ok[0])) return SA_OK;
    return sa_error_set(err, SA_EUNSUPPORTED,
                        "%s: init_lora_weights %s%s%s changes the base weights (PiSSA, OLoRA, "
                        "CorDA, LoftQ): convert the adapter to a plain LoRA first",
                        path, cJSON_IsString(v) ? "'" : "",
                        cJSON_IsString(v) ? v->valuestring : "(not a string)",
                        cJSON_IsString(v) ? "'" : "");
}

static sa_status check_keys(const cJSON *root, const char *path, sa_error *err) {
    static const char *const handled[] = {"peft_type",    "r",
                                          "lora_alpha",   "use_rslora",
                                          "use_dora",     "fan_in_fan_out",
                                          "rank_pattern", "alpha_pattern"};
    for (const cJSON *e = root->child; e; e = e->next) {
        if (in_list(e->string, handled, sizeof handled / sizeof handled[0]) ||
            in_list(e->string, harmless, sizeof harmless / sizeof harmless[0]) || is_off(e))
            continue;
        return sa_error_set(err, SA_EUNSUPPORTED,
                            "%s: '%s' is set and changes the adapted weights in a way safearith "
                            "does not implement (refusing rather than approximating)",
                            path, e->string);
    }
    const cJSON *bias = cJSON_GetObjectItemCaseSensitive(root, "bias");
    if (bias && !cJSON_IsNull(bias) &&
        !(cJSON_IsString(bias) &&
          (!strcmp(bias->valuestring, "none") || !strcmp(bias->valuestring, "all") ||
           !strcmp(bias->valuestring, "lora_only"))))
        return sa_error_set(err, SA_EFORMAT, "%s: 'bias' is not \"none\", \"all\" or \"lora_only\"",
                            path);
    return check_init(cJSON_GetObjectItemCaseSensitive(root, "init_lora_weights"), path, err);
}

static sa_status read_numbers(const cJSON *root, const char *path, sa_lora_config *c,
                              sa_error *err) {
    const cJSON *r = cJSON_GetObjectItemCaseSensitive(root, "r");
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(root, "lora_alpha");
    if (!cJSON_IsNumber(r) || r->valuedouble < 1 || r->valuedouble > 1e6 ||
        r->valuedouble != floor(r->valuedouble))
        return sa_error_set(err, SA_EFORMAT, "%s: 'r' is missing or not a positive integer", path);
    if (!cJSON_IsNumber(a) || !isfinite(a->valuedouble))
        return sa_error_set(err, SA_EFORMAT, "%s: 'lora_alpha' is missing or not a number", path);
    c->r = (int)r->valuedouble;
    c->alpha = a->valuedouble;
    sa_status s;
    if ((s = get_bool(root, path, "use_rslora", &c->use_rslora, err)) ||
        (s = get_bool(root, path, "use_dora", &c->use_dora, err)) ||
        (s = get_bool(root, path, "fan_in_fan_out", &c->fan_in_fan_out, err)))
        return s;
    c->rank_pattern = cJSON_GetObjectItemCaseSensitive(root, "rank_pattern");
    c->alpha_pattern = cJSON_GetObjectItemCaseSensitive(root, "alpha_pattern");
    if ((s = check_pattern(c->rank_pattern, path, "rank_pattern", 1, err)) ||
        (s = check_pattern(c->alpha_pattern, path, "alpha_pattern", 0, err)))
        return s;
    if (cJSON_IsNull(c->rank_pattern)) c->rank_pattern = NULL;
    if (cJSON_IsNull(c->alpha_pattern)) c->alpha_pattern = NULL;
    return SA_OK;
}

sa_status sa_lora_config_parse(const char *text, size_t len, const char *path, sa_lora_config *c,
                               sa_error *err) {
    memset(c, 0, sizeof *c);
    sa_status s = sa_json_parse(text, len, path, &c->root, err);
    if (s != SA_OK) return s;
    if (!cJSON_IsObject(c->root))
        return sa_error_set(err, SA_EFORMAT, "%s: not a JSON object", path);
    const cJSON *pt = cJSON_GetObjectItemCaseSensitive(c->root, "peft_type");
    if (!cJSON_IsString(pt))
        return sa_error_set(err, SA_EFORMAT, "%s: 'peft_type' is missing (not a PEFT adapter?)",
                            path);
    if (strcmp(pt->valuestring, "LORA"))
        return sa_error_set(err, SA_EUNSUPPORTED,
                            "%s: peft_type '%s' is not supported (only LORA adapters)", path,
                            pt->valuestring);
    s = read_numbers(c->root, path, c, err);
    return s == SA_OK ? check_keys(c->root, path, err) : s;
}

void sa_lora_config_free(sa_lora_config *c) {
    cJSON_Delete(c->root);
    memset(c, 0, sizeof *c);
}

/* Python's re.match(rf"(.*\.)?({key})$", name): 1 match, 0 no match, -1 bad pattern. */
static int pattern_matches(const char *key, const char *name) {
    size_t n = strlen(key) + 16;
    char *re = malloc(n);
    if (!re) return -1;
    snprintf(re, n, "(.*\\.)?(%s)$", key);
    int code;
    PCRE2_SIZE at;
    pcre2_code *p =
        pcre2_compile((PCRE2_SPTR)re, PCRE2_ZERO_TERMINATED,
                      PCRE2_ANCHORED | PCRE2_DOLLAR_ENDONLY | PCRE2_UTF, &code, &at, NULL);
    free(re);
    if (!p) return -1;
    pcre2_match_data *md = pcre2_match_data_create_from_pattern(p, NULL);
    int rc = md ? pcre2_match(p, (PCRE2_SPTR)name, PCRE2_ZERO_TERMINATED, 0, 0, md, NULL) : -1;
    pcre2_match_data_free(md);
    pcre2_code_free(p);
    return rc >= 0 ? 1 : rc == PCRE2_ERROR_NOMATCH ? 0 : -1;
}

/* The value of the first key of `pattern` that matches name, or NULL. */
static sa_status lookup(const cJSON *pattern, const char *what, const char *name, const cJSON **out,
                        sa_error *err) {
    *out = NULL;
    for (const cJSON *e = pattern ? pattern->child : NULL; e; e = e->next) {
        int m = pattern_matches(e->string, name);
        if (m < 0)
            return sa_error_set(err, SA_EFORMAT,
                                "adapter_config.json: %s key '%s' is not a valid regular "
                                "expression",
                                what, e->string);
        if (m) {
            *out = e;
            return SA_OK;
        }
    }
    return SA_OK;
}

sa_status sa_lora_config_module(const sa_lora_config *c, const char *name, int *r, double *alpha,
                                sa_error *err) {
    const cJSON *pr, *pa;
    sa_status s = lookup(c->rank_pattern, "rank_pattern", name, &pr, err);
    if (s == SA_OK) s = lookup(c->alpha_pattern, "alpha_pattern", name, &pa, err);
    if (s != SA_OK) return s;
    *r = pr ? (int)pr->valuedouble : c->r;
    *alpha = pa ? pa->valuedouble : c->alpha;
    return SA_OK;
}
