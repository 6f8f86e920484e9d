/* merge_recipe.c: reading a mergekit YAML recipe (the subset safearith runs; see arith.h).
 *
 * Accepted: merge_method (task_arithmetic, ties, dare_linear, dare_ties), base_model,
 * models[].model, models[].parameters.{weight, density}, parameters.{weight, density, lambda,
 * normalize, rescale, int8_mask (no effect on results)}, dtype, out_dtype, and two safearith
 * extensions in parameters: trim_scope (per_tensor | global) and rescale_mode (l1 | inverse).
 * Everything else, including mergekit's gradient lists and filtered parameter values, is refused
 * with a message naming the key, so that a recipe never runs with part of it ignored. */
#include <ctype.h>
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <yaml.h>

#include "safearith/arith.h"
#include "safearith/dtype.h"
#include "safearith/parse.h"
#include "core/fsutil.h"

typedef struct rctx {
    const char *path;
    yaml_document_t *doc;
    sa_merge_recipe *r;
    double def_weight, def_density;
    int has_def_weight, has_def_density;
    sa_error *err;
} rctx;

static yaml_node_t *node(rctx *c, int id) {
    return yaml_document_get_node(c->doc, id);
}

static const char *scalar(yaml_node_t *n) {
    return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

static sa_status bad(rctx *c, const char *key, const char *what) {
    return sa_error_set(c->err, SA_EUNSUPPORTED, "%s: %s: %s", c->path, key, what);
}

static sa_status get_number(rctx *c, const char *key, yaml_node_t *n, double *out) {
    const char *s = scalar(n);
    if (!s)
        return bad(c, key,
                   n && n->type == YAML_SEQUENCE_NODE
                       ? "gradient lists are not supported (give one number)"
                       : "filtered values are not supported (give one number)");
    /* the one number rule (parse.h): decimal, finite; no hex, inf or nan */
    if (sa_parse_f64(key, s, -DBL_MAX, DBL_MAX, out, NULL))
        return sa_error_set(c->err, SA_EFORMAT, "%s: %s: '%s' is not a finite decimal number",
                            c->path, key, s);
    return SA_OK;
}

static sa_status get_bool(rctx *c, const char *key, yaml_node_t *n, int *out) {
    const char *s = scalar(n);
    if (s && (!strcasecmp(s, "true") || !strcasecmp(s, "yes") || !strcmp(s, "1")))
        *out = 1;
    else if (s && (!strcasecmp(s, "false") || !strcasecmp(s, "no") || !strcmp(s, "0")))
        *out = 0;
    else
        return sa_error_set(c->err, SA_EFORMAT, "%s: %s: expected true or false", c->path, key);
    return SA_OK;
}

static sa_status get_dtype(rctx *c, const char *key, yaml_node_t *n, int *out) {
    const char *s = scalar(n);
    sa_dtype dt;
    if (!s || sa_dtype_parse_user(s, &dt) != 0)
        return bad(c, key, "expected float32, bfloat16 or float16");
    *out = (int)dt;
    return SA_OK;
}

static sa_status global_params(rctx *c, yaml_node_t *m) {
    if (m->type != YAML_MAPPING_NODE) return bad(c, "parameters", "expected a mapping");
    sa_merge_recipe *r = c->r;
    sa_status s = SA_OK;
    for (yaml_node_pair_t *p = m->data.mapping.pairs.start;
         s == SA_OK && p < m->data.mapping.pairs.top; p++) {
        const char *k = scalar(node(c, p->key));
        yaml_node_t *v = node(c, p->value);
        if (!k) return bad(c, "parameters", "keys must be strings");
        if (!strcmp(k, "weight"))
            s = get_number(c, "parameters.weight", v, &c->def_weight), c->has_def_weight = 1;
        else if (!strcmp(k, "density"))
            s = get_number(c, "parameters.density", v, &c->def_density), c->has_def_density = 1;
        else if (!strcmp(k, "lambda"))
            s = get_number(c, "parameters.lambda", v, &r->lambda);
        else if (!strcmp(k, "normalize"))
            s = get_bool(c, "parameters.normalize", v, &r->normalize);
        else if (!strcmp(k, "rescale"))
            s = get_bool(c, "parameters.rescale", v, &r->rescale);
        else if (!strcmp(k, "int8_mask")) {
            int ignored;
            s = get_bool(c, "parameters.int8_mask", v, &ignored);
        } else if (!strcmp(k, "trim_scope")) {
            const char *x = scalar(v);
            if (x && !strcmp(x, "global"))
                r->trim_scope = SA_SELECT_GLOBAL;
            else if (x && (!strcmp(x, "per_tensor") || !strcmp(x, "per-tensor")))
                r->trim_scope = SA_SELECT_PER_TENSOR;
            else
                s = bad(c, "parameters.trim_scope", "expected per_tensor or global");
        } else if (!strcmp(k, "rescale_mode")) {
            const char *x = scalar(v);
            if (x && !strcmp(x, "l1"))
                r->rescale_mode = SA_RESCALE_L1;
            else if (x && !strcmp(x, "inverse"))
                r->rescale_mode = SA_RESCALE_INVERSE;
            else
                s = bad(c, "parameters.rescale_mode", "expected l1 or inverse");
        } else {
            char key[128];
            snprintf(key, sizeof key, "parameters.%s", k);
            s = bad(c, key, "unsupported parameter");
        }
    }
    return s;
}

/* A model path: as given if it exists, else relative to the recipe's directory. */
static char *resolve(const char *recipe, const char *p) {
    struct stat st;
    if (p[0] == '/' || stat(p, &st) == 0) return strdup(p);
    const char *slash = strrchr(recipe, '/');
    if (!slash) return strdup(p);
    char *dir = strndup(recipe, (size_t)(slash - recipe));
    char *joined = dir ? sa_path_join(dir, p) : NULL;
    free(dir);
    if (joined && stat(joined, &st) == 0) return joined;
    free(joined);
    return strdup(p);
}

/* The same for BASE+ADAPTER (mergekit's model+lora reference): each part resolved on its own,
 * at the first '+' where both exist. */
static char *resolve_model(const char *recipe, const char *p) {
    struct stat st;
    if (stat(p, &st) == 0 || !strchr(p, '+')) return resolve(recipe, p);
    for (const char *q = strchr(p, '+'); q; q = strchr(q + 1, '+')) {
        char *left = strndup(p, (size_t)(q - p));
        char *base = left ? resolve(recipe, left) : NULL, *adapter = resolve(recipe, q + 1);
        size_t n = base && adapter ? strlen(base) + strlen(adapter) + 2 : 0;
        char *joined = n && stat(base, &st) == 0 && stat(adapter, &st) == 0 ? malloc(n) : NULL;
        if (joined) snprintf(joined, n, "%s+%s", base, adapter);
        free(left);
        free(base);
        free(adapter);
        if (joined) return joined;
    }
    return strdup(p);
}

static sa_status model_entry(rctx *c, yaml_node_t *m, int i, sa_merge_model *out, int *is_set) {
    char key[96];
    snprintf(key, sizeof key, "models[%d]", i);
    if (m->type != YAML_MAPPING_NODE) return bad(c, key, "expected a mapping with 'model'");
    out->weight = out->density = NAN;
    *is_set = 0;
    sa_status s = SA_OK;
    for (yaml_node_pair_t *p = m->data.mapping.pairs.start;
         s == SA_OK && p < m->data.mapping.pairs.top; p++) {
        const char *k = scalar(node(c, p->key));
        yaml_node_t *v = node(c, p->value);
        if (k && !strcmp(k, "model")) {
            if (!scalar(v)) return bad(c, key, "model must be a path");
            free(out->path);
            out->path = resolve_model(c->path, scalar(v));
            if (!out->path) return sa_error_set(c->err, SA_ENOMEM, "out of memory");
            *is_set = 1;
        } else if (k && !strcmp(k, "parameters")) {
            if (v->type != YAML_MAPPING_NODE) return bad(c, key, "parameters must be a mapping");
            for (yaml_node_pair_t *q = v->data.mapping.pairs.start;
                 s == SA_OK && q < v->data.mapping.pairs.top; q++) {
                const char *pk = scalar(node(c, q->key));
                char full[160];
                snprintf(full, sizeof full, "%s.parameters.%s", key, pk ? pk : "?");
                if (pk && !strcmp(pk, "weight"))
                    s = get_number(c, full, node(c, q->value), &out->weight);
                else if (pk && !strcmp(pk, "density"))
                    s = get_number(c, full, node(c, q->value), &out->density);
                else
                    s = bad(c, full, "unsupported parameter");
            }
        } else {
            char full[160];
            snprintf(full, sizeof full, "%s.%s", key, k ? k : "?");
            s = bad(c, full, "unsupported key");
        }
    }
    if (s == SA_OK && !*is_set) s = bad(c, key, "missing 'model'");
    return s;
}

static sa_status models_list(rctx *c, yaml_node_t *seq) {
    if (seq->type != YAML_SEQUENCE_NODE) return bad(c, "models", "expected a list");
    if (c->r->models) return bad(c, "models", "given twice");
    int n = (int)(seq->data.sequence.items.top - seq->data.sequence.items.start);
    sa_merge_recipe *r = c->r;
    r->models = calloc((size_t)n + 1, sizeof *r->models);
    if (!r->models) return sa_error_set(c->err, SA_ENOMEM, "out of memory");
    for (int i = 0; i < n; i++) {
        int set;
        sa_merge_model *m = &r->models[r->n_models];
        sa_status s = model_entry(c, node(c, seq->data.sequence.items.start[i]), i, m, &set);
        r->n_models++;
        if (s != SA_OK) return s;
    }
    return SA_OK;
}

static sa_status method(rctx *c, yaml_node_t *v) {
    const char *s = scalar(v);
    static const char *const names[] = {"task_arithmetic", "ties", "dare_linear", "dare_ties"};
    for (int i = 0; s && i < 4; i++)
        if (!strcmp(s, names[i])) {
            c->r->method = (sa_merge_method)i;
            return SA_OK;
        }
    return bad(c, "merge_method",
               "supported methods are task_arithmetic, ties, dare_linear and dare_ties");
}

static sa_status top_level(rctx *c, yaml_node_t *root, int *have_method) {
    if (!root || root->type != YAML_MAPPING_NODE)
        return sa_error_set(c->err, SA_EFORMAT, "%s: the recipe is not a YAML mapping", c->path);
    sa_status s = SA_OK;
    int dtype = -1, out_dtype = -1;
    for (yaml_node_pair_t *p = root->data.mapping.pairs.start;
         s == SA_OK && p < root->data.mapping.pairs.top; p++) {
        const char *k = scalar(node(c, p->key));
        yaml_node_t *v = node(c, p->value);
        if (!k) return sa_error_set(c->err, SA_EFORMAT, "%s: keys must be strings", c->path);
        if (!strcmp(k, "merge_method"))
            s = method(c, v), *have_method = 1;
        else if (!strcmp(k, "base_model")) {
            if (!scalar(v)) return bad(c, k, "expected a path");
            free(c->r->base);
            c->r->base = resolve_model(c->path, scalar(v));
            if (!c->r->base) return sa_error_set(c->err, SA_ENOMEM, "out of memory");
        } else if (!strcmp(k, "models"))
            s = models_list(c, v);
        else if (!strcmp(k, "parameters"))
            s = global_params(c, v);
        else if (!strcmp(k, "dtype"))
            s = get_dtype(c, k, v, &dtype);
        else if (!strcmp(k, "out_dtype"))
            s = get_dtype(c, k, v, &out_dtype);
        else if (!strcmp(k, "slices") || !strcmp(k, "modules"))
            s = bad(c, k, "slices and modules are not supported (use models)");
        else
            s = bad(c, k, "unsupported key");
    }
    c->r->out_dtype = out_dtype >= 0 ? out_dtype : dtype;
    return s;
}

/* Fill defaults, check values, drop the base model from the list. */
static sa_status finish(rctx *c) {
    sa_merge_recipe *r = c->r;
    if (!r->base) return bad(c, "base_model", "required for task arithmetic methods");
    if (!r->n_models) return bad(c, "models", "at least one model is required");
    for (int i = 0; i < r->n_models; i++) {
        sa_merge_model *m = &r->models[i];
        if (isnan(m->weight)) m->weight = c->has_def_weight ? c->def_weight : 1.0;
        if (isnan(m->density)) m->density = c->has_def_density ? c->def_density : 1.0;
        if (!(m->density >= 0 && m->density <= 1))
            return bad(c, m->path, "density must be in [0, 1]");
    }
    int k = 0;
    for (int i = 0; i < r->n_models; i++) {
        if (!strcmp(r->models[i].path, r->base))
            free(r->models[i].path);
        else
            r->models[k++] = r->models[i];
    }
    r->n_models = k;
    if (!k) return bad(c, "models", "no model besides the base model");
    if (k + 1 > 16) return bad(c, "models", "at most 15 models besides the base");
    if (r->normalize < 0) r->normalize = r->method == SA_MERGE_TIES;
    return SA_OK;
}

static sa_status parse(rctx *c, const char *text, size_t len) {
    yaml_parser_t parser;
    yaml_document_t doc;
    if (!yaml_parser_initialize(&parser)) return sa_error_set(c->err, SA_ENOMEM, "out of memory");
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    sa_status s = SA_OK;
    if (!yaml_parser_load(&parser, &doc)) {
        s = sa_error_set(c->err, SA_EFORMAT, "%s:%zu: YAML error: %s", c->path,
                         parser.problem_mark.line + 1, parser.problem ? parser.problem : "?");
        yaml_parser_delete(&parser);
        return s;
    }
    c->doc = &doc;
    int have_method = 0;
    s = top_level(c, yaml_document_get_root_node(&doc), &have_method);
    if (s == SA_OK && !have_method) s = bad(c, "merge_method", "required");
    if (s == SA_OK) s = finish(c);
    yaml_document_delete(&doc);
    yaml_parser_delete(&parser);
    return s;
}

sa_status sa_merge_recipe_load(const char *path, sa_merge_recipe **out, sa_error *err) {
    *out = NULL;
    char *text;
    size_t len;
    sa_status s = sa_read_file(path, &text, &len, err);
    if (s != SA_OK) return s;
    sa_merge_recipe *r = calloc(1, sizeof *r);
    if (!r) {
        free(text);
        return sa_error_set(err, SA_ENOMEM, "out of memory");
    }
    r->lambda = 1.0;
    r->normalize = -1;
    r->rescale = 1;
    r->rescale_mode = SA_RESCALE_L1;
    r->trim_scope = SA_SELECT_PER_TENSOR;
    r->out_dtype = -1;
    r->path = strdup(path);
    if (!r->path) {
        free(text);
        sa_merge_recipe_free(r);
        return sa_error_set(err, SA_ENOMEM, "out of memory");
    }
    rctx c = {path, NULL, r, 1.0, 1.0, 0, 0, err};
    s = parse(&c, text, len);
    free(text);
    if (s != SA_OK) {
        sa_merge_recipe_free(r);
        return s;
    }
    *out = r;
    return SA_OK;
}

void sa_merge_recipe_free(sa_merge_recipe *r) {
    if (!r) return;
    for (int i = 0; i < r->n_models; i++) free(r->models[i].path);
    free(r->models);
    free(r->base);
    free(r->path);
    free(r);
}

const char *sa_merge_method_name(sa_merge_method m) {
    static const char *const names[] = {"task_arithmetic", "ties", "dare_linear", "dare_ties"};
    return (unsigned)m < 4 ? names[m] : "?";
}
