/* yaml_json.c: a YAML document as a cJSON tree (see yaml_json.h). */
#include "tune/yaml_json.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

typedef struct yctx {
    yaml_document_t *doc;
    const char *path;
    sa_error *err;
    int depth;
} yctx;

static cJSON *scalar_json(const yaml_node_t *n) {
    const char *s = (const char *)n->data.scalar.value;
    if (n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE) return cJSON_CreateString(s);
    if (!strcmp(s, "true") || !strcmp(s, "True")) return cJSON_CreateTrue();
    if (!strcmp(s, "false") || !strcmp(s, "False")) return cJSON_CreateFalse();
    if (!strcmp(s, "null") || !strcmp(s, "~") || !*s) return cJSON_CreateNull();
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end != s && !*end && !errno && isfinite(v)) return cJSON_CreateNumber(v);
    return cJSON_CreateString(s);
}

static sa_status convert(yctx *c, yaml_node_t *n, cJSON **out) {
    *out = NULL;
    if (++c->depth > 64) return sa_error_set(c->err, SA_EFORMAT, "%s: nested too deeply", c->path);
    sa_status st = SA_OK;
    if (n->type == YAML_SCALAR_NODE) {
        *out = scalar_json(n);
    } else if (n->type == YAML_SEQUENCE_NODE) {
        *out = cJSON_CreateArray();
        for (yaml_node_item_t *i = n->data.sequence.items.start;
             !st && *out && i < n->data.sequence.items.top; i++) {
            cJSON *v;
            st = convert(c, yaml_document_get_node(c->doc, *i), &v);
            if (!st && !cJSON_AddItemToArray(*out, v))
                cJSON_Delete(v), st = sa_error_set(c->err, SA_ENOMEM, "out of memory");
        }
    } else if (n->type == YAML_MAPPING_NODE) {
        *out = cJSON_CreateObject();
        for (yaml_node_pair_t *p = n->data.mapping.pairs.start;
             !st && *out && p < n->data.mapping.pairs.top; p++) {
            yaml_node_t *k = yaml_document_get_node(c->doc, p->key);
            if (!k || k->type != YAML_SCALAR_NODE)
                st = sa_error_set(c->err, SA_EFORMAT, "%s: line %lu: keys must be strings", c->path,
                                  (unsigned long)(k ? k->start_mark.line + 1 : 0));
            const char *key = st ? NULL : (const char *)k->data.scalar.value;
            if (key && cJSON_GetObjectItemCaseSensitive(*out, key))
                st = sa_error_set(c->err, SA_EFORMAT, "%s: line %lu: duplicate key '%s'", c->path,
                                  (unsigned long)k->start_mark.line + 1, key);
            cJSON *v = NULL;
            if (!st) st = convert(c, yaml_document_get_node(c->doc, p->value), &v);
            if (!st && !cJSON_AddItemToObject(*out, key, v))
                cJSON_Delete(v), st = sa_error_set(c->err, SA_ENOMEM, "out of memory");
        }
    } else {
        st = sa_error_set(c->err, SA_EFORMAT, "%s: empty document", c->path);
    }
    if (!st && !*out) st = sa_error_set(c->err, SA_ENOMEM, "out of memory");
    if (st) cJSON_Delete(*out), *out = NULL;
    c->depth--;
    return st;
}

sa_status sa_yaml_to_json(const char *text, size_t len, const char *path, cJSON **out,
                          sa_error *err) {
    *out = NULL;
    yaml_parser_t parser;
    yaml_document_t doc;
    if (!yaml_parser_initialize(&parser)) return sa_error_set(err, SA_ENOMEM, "out of memory");
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    if (!yaml_parser_load(&parser, &doc)) {
        sa_status st = sa_error_set(err, SA_EFORMAT, "%s: line %lu: malformed YAML: %s", path,
                                    (unsigned long)parser.problem_mark.line + 1,
                                    parser.problem ? parser.problem : "?");
        yaml_parser_delete(&parser);
        return st;
    }
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    yctx c = {&doc, path, err, 0};
    sa_status st =
        root ? convert(&c, root, out) : sa_error_set(err, SA_EFORMAT, "%s: empty document", path);
    yaml_document_delete(&doc);
    yaml_parser_delete(&parser);
    return st;
}
