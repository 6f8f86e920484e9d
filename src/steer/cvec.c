/* cvec.c: control vectors (llama.cpp / repeng layout) to and from GGUF (see gguf.h).
 *
 * Reading follows llama.cpp's loader (common_control_vector_load_one): every tensor must be a
 * 1-D F32 `direction.N` of the same width, and several tensors for one layer are summed. Unlike
 * llama.cpp we also accept direction.0 and check general.architecture and the layer_count type,
 * so that a wrong file is named rather than silently half-used. */
#include "safearith/gguf.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

sa_status sa_cvec_alloc(sa_cvec *cv, int n_layers, int n_embd, sa_error *err) {
    memset(cv, 0, sizeof *cv);
    cv->layer_count = -1;
    cv->n_pairs = -1;
    if (n_layers <= 0 || n_layers > SA_CVEC_MAX_LAYERS || n_embd <= 0)
        return sa_error_set(err, SA_EINVAL, "control vector: bad size %d layers x %d", n_layers,
                            n_embd);
    cv->n_layers = n_layers;
    cv->n_embd = n_embd;
    cv->dir = calloc((size_t)n_layers * (size_t)n_embd, sizeof *cv->dir);
    cv->has = calloc((size_t)n_layers, 1);
    if (!cv->dir || !cv->has) {
        sa_cvec_free(cv);
        return sa_error_set(err, SA_ENOMEM, "control vector: out of memory");
    }
    return SA_OK;
}

void sa_cvec_free(sa_cvec *cv) {
    if (!cv) return;
    free(cv->dir), free(cv->has), free(cv->model_hint), free(cv->method), free(cv->position);
    free(cv->scope), free(cv->direction), free(cv->mean_norms);
    memset(cv, 0, sizeof *cv);
}

double sa_cvec_norm(const sa_cvec *cv, int l) {
    if (l < 0 || l >= cv->n_layers || !cv->has[l]) return 0;
    double s = 0;
    const float *r = cv->dir + (size_t)l * cv->n_embd;
    for (int i = 0; i < cv->n_embd; i++) s += (double)r[i] * r[i];
    return sqrt(s);
}

/* "direction.N" with N a plain decimal; -1 otherwise. */
static long parse_direction(const char *name) {
    const char *pre = "direction.";
    size_t n = strlen(pre);
    if (strncmp(name, pre, n) || !name[n]) return -1;
    long v = 0;
    for (const char *p = name + n; *p; p++) {
        if (*p < '0' || *p > '9' || v >= SA_CVEC_MAX_LAYERS) return -1;
        v = v * 10 + (*p - '0');
    }
    return v;
}

static sa_status check_tensors(const sa_gguf *g, const char *name, int expect, int *n_embd,
                               int *n_layers, sa_error *err) {
    if (!g->n_tensors)
        return sa_error_set(err, SA_EFORMAT, "%s: control vector has no direction tensors", name);
    *n_embd = 0, *n_layers = 0;
    for (uint64_t i = 0; i < g->n_tensors; i++) {
        const sa_gguf_tensor *t = &g->tensors[i];
        long l = parse_direction(t->name);
        if (l < 0)
            return sa_error_set(err, SA_EFORMAT,
                                "%s: tensor '%s' is not named direction.N (N < %d)", name, t->name,
                                SA_CVEC_MAX_LAYERS);
        if (t->type != SA_GGML_TYPE_F32)
            return sa_error_set(err, SA_EFORMAT,
                                "%s: tensor '%s' has ggml type %u, expected F32 (0)", name, t->name,
                                t->type);
        if (t->n_dims != 1 || t->ne[0] <= 0 || t->ne[0] > (1 << 24))
            return sa_error_set(
                err, SA_EFORMAT,
                "%s: tensor '%s' must be 1-D with 1..2^24 values (got %u dims, ne0 %lld)", name,
                t->name, t->n_dims, (long long)t->ne[0]);
        if (*n_embd && t->ne[0] != *n_embd)
            return sa_error_set(err, SA_EFORMAT, "%s: tensor '%s' has %lld values, others have %d",
                                name, t->name, (long long)t->ne[0], *n_embd);
        *n_embd = (int)t->ne[0];
        if (l + 1 > *n_layers) *n_layers = (int)l + 1;
    }
    if (expect > 0 && *n_embd != expect)
        return sa_error_set(err, SA_EMISMATCH,
                            "%s: control vector has n_embd %d but the model's hidden size is %d",
                            name, *n_embd, expect);
    return SA_OK;
}

/* A string key into *dst (strdup) if present; wrong type is an error. */
static sa_status get_str(const sa_gguf *g, const char *name, const char *key, char **dst,
                         sa_error *err) {
    const sa_gguf_kv *kv = sa_gguf_find(g, key);
    if (!kv) return SA_OK;
    if (kv->type != SA_GGUF_STRING)
        return sa_error_set(err, SA_EFORMAT, "%s: %s is %s, expected STRING", name, key,
                            sa_gguf_type_name(kv->type));
    *dst = strdup(kv->str);
    return *dst ? SA_OK : sa_error_set(err, SA_ENOMEM, "%s: out of memory", name);
}

static int is_int_type(sa_gguf_type t) {
    return t == SA_GGUF_INT32 || t == SA_GGUF_UINT32 || t == SA_GGUF_INT64 || t == SA_GGUF_UINT64 ||
           t == SA_GGUF_INT16 || t == SA_GGUF_UINT16 || t == SA_GGUF_INT8 || t == SA_GGUF_UINT8;
}

static sa_status get_int(const sa_gguf *g, const char *name, const char *key, int64_t *dst,
                         sa_error *err) {
    const sa_gguf_kv *kv = sa_gguf_find(g, key);
    if (!kv) return SA_OK;
    if (!is_int_type(kv->type))
        return sa_error_set(err, SA_EFORMAT, "%s: %s is %s, expected an integer (INT32 or UINT32)",
                            name, key, sa_gguf_type_name(kv->type));
    *dst = kv->i;
    return SA_OK;
}

static sa_status read_meta(const sa_gguf *g, const char *name, sa_cvec *cv, sa_error *err) {
    const sa_gguf_kv *arch = sa_gguf_find(g, "general.architecture");
    if (arch && (arch->type != SA_GGUF_STRING || strcmp(arch->str, "controlvector")))
        return sa_error_set(err, SA_EFORMAT,
                            "%s: general.architecture is '%s', not 'controlvector' (a model file?)",
                            name, arch->type == SA_GGUF_STRING ? arch->str : "(not a string)");
    sa_status st;
    if ((st = get_str(g, name, "controlvector.model_hint", &cv->model_hint, err)) ||
        (st = get_int(g, name, "controlvector.layer_count", &cv->layer_count, err)) ||
        (st = get_str(g, name, "safearith.method", &cv->method, err)) ||
        (st = get_str(g, name, "safearith.position", &cv->position, err)) ||
        (st = get_str(g, name, "safearith.scope", &cv->scope, err)) ||
        (st = get_str(g, name, "safearith.direction", &cv->direction, err)) ||
        (st = get_int(g, name, "safearith.pair_count", &cv->n_pairs, err)))
        return st;
    const sa_gguf_kv *mn = sa_gguf_find(g, "safearith.mean_diff_norms");
    if (mn && mn->type == SA_GGUF_ARRAY && mn->elem_type == SA_GGUF_FLOAT32 &&
        mn->count == (uint64_t)cv->n_layers) {
        cv->mean_norms = malloc((size_t)cv->n_layers * sizeof *cv->mean_norms);
        if (!cv->mean_norms) return sa_error_set(err, SA_ENOMEM, "%s: out of memory", name);
        for (int l = 0; l < cv->n_layers; l++) cv->mean_norms[l] = (float)mn->arr[l];
    }
    return SA_OK;
}

sa_status sa_cvec_from_gguf(const sa_gguf *g, const char *name, int expect_n_embd, sa_cvec *cv,
                            sa_error *err) {
    int n_embd = 0, n_layers = 0;
    memset(cv, 0, sizeof *cv);
    sa_status st = check_tensors(g, name, expect_n_embd, &n_embd, &n_layers, err);
    if (st) return st;
    if ((st = sa_cvec_alloc(cv, n_layers, n_embd, err))) return st;
    for (uint64_t i = 0; i < g->n_tensors; i++) {
        const sa_gguf_tensor *t = &g->tensors[i];
        long l = parse_direction(t->name);
        float *row = cv->dir + (size_t)l * n_embd;
        const unsigned char *src = t->data;
        for (int k = 0; k < n_embd; k++) {
            float v;
            memcpy(&v, src + 4 * (size_t)k, 4);
            row[k] += v;
        }
        cv->has[l] = 1;
    }
    if ((st = read_meta(g, name, cv, err))) sa_cvec_free(cv);
    return st;
}

sa_status sa_cvec_read(const char *path, int expect_n_embd, sa_cvec *cv, sa_error *err) {
    sa_gguf g;
    memset(cv, 0, sizeof *cv);
    sa_status st = sa_gguf_read(path, &g, err);
    if (st) return st;
    st = sa_cvec_from_gguf(&g, path, expect_n_embd, cv, err);
    sa_gguf_free(&g);
    return st;
}

static sa_status write_meta(sa_gguf_writer *w, const sa_cvec *cv, int n_tensors) {
    sa_status st = sa_gguf_w_str(w, "general.architecture", "controlvector");
    if (!st)
        st =
            sa_gguf_w_str(w, "controlvector.model_hint", cv->model_hint ? cv->model_hint : "llama");
    if (!st) st = sa_gguf_w_i32(w, "controlvector.layer_count", n_tensors);
    if (!st && cv->method) st = sa_gguf_w_str(w, "safearith.method", cv->method);
    if (!st && cv->position) st = sa_gguf_w_str(w, "safearith.position", cv->position);
    if (!st && cv->scope) st = sa_gguf_w_str(w, "safearith.scope", cv->scope);
    if (!st && cv->direction) st = sa_gguf_w_str(w, "safearith.direction", cv->direction);
    if (!st && cv->n_pairs >= 0)
        st = sa_gguf_w_u32(w, "safearith.pair_count", (uint32_t)cv->n_pairs);
    float *norms = malloc((size_t)cv->n_layers * sizeof *norms);
    if (!norms) return SA_ENOMEM;
    for (int l = 0; l < cv->n_layers; l++) norms[l] = (float)sa_cvec_norm(cv, l);
    if (!st) st = sa_gguf_w_f32_array(w, "safearith.layer_norms", norms, (uint64_t)cv->n_layers);
    free(norms);
    if (!st && cv->mean_norms)
        st = sa_gguf_w_f32_array(w, "safearith.mean_diff_norms", cv->mean_norms,
                                 (uint64_t)cv->n_layers);
    return st;
}

sa_status sa_cvec_write(const char *path, const sa_cvec *cv, int overwrite, sa_error *err) {
    int n_tensors = 0;
    for (int l = 0; l < cv->n_layers; l++) n_tensors += cv->has[l] != 0;
    if (!n_tensors)
        return sa_error_set(err, SA_EINVAL, "%s: control vector has no layers to write", path);
    sa_gguf_writer *w = sa_gguf_writer_new();
    if (!w) return sa_error_set(err, SA_ENOMEM, "%s: out of memory", path);
    sa_status st = write_meta(w, cv, n_tensors);
    for (int l = 0; l < cv->n_layers && !st; l++) {
        if (!cv->has[l]) continue;
        char name[32];
        snprintf(name, sizeof name, "direction.%d", l);
        st = sa_gguf_w_tensor_f32(w, name, cv->dir + (size_t)l * cv->n_embd, cv->n_embd);
    }
    if (st)
        st = sa_error_set(err, st, "%s: out of memory building the control vector", path);
    else
        st = sa_gguf_writer_save(w, path, overwrite, err);
    sa_gguf_writer_free(w);
    return st;
}
