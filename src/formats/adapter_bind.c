/* adapter_bind.c: opening a PEFT LoRA adapter directory and binding it to a base checkpoint
 * (see adapter.h).
 *
 * The adapter's tensor names are the base model's module names under `base_model.model.`:
 * `<module>.lora_A.weight` [r, in] and `<module>.lora_B.weight` [out, r] (linear layers),
 * `<module>.lora_embedding_A` [r, vocab] and `<module>.lora_embedding_B` [dim, r] (embeddings),
 * `<module>.lora_B.bias` [out] (lora_bias), `<module>.lora_magnitude_vector` [out] (DoRA), and
 * whole tensors (`<module>.weight`, `<module>.bias`, possibly with `modules_to_save.default.`
 * inside) that replace the base's. Everything is checked before the base is touched as far as
 * messages go: each module's factors against each other, against the configured rank and against
 * the base tensor they change, each with a one-line message naming the module and the shapes. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "formats/adapter.h"
#include "formats/safetensors_internal.h"
#include "core/fsutil.h"

#define PREFIX "base_model.model."

struct sa_adapter {
    sa_checkpoint *ck; /* adapter_model.safetensors */
    sa_lora_config cfg;
    sa_lora_target *targets;
    size_t n_targets;
};

enum part { P_A, P_B, P_LB, P_EA, P_EB, P_MAG, P_COUNT };

typedef struct module {
    char *name;
    const sa_st_tensor *part[P_COUNT];
} module;

typedef struct binder {
    sa_checkpoint *ck;
    sa_adapter *ad;
    const char *dir;
    module *mods;
    size_t n_mods;
    unsigned char *changed; /* per base tensor */
} binder;

static const struct {
    const char *suffix;
    enum part part;
} suffixes[] = {{".lora_A.weight", P_A},
                {".lora_B.weight", P_B},
                {".lora_B.bias", P_LB},
                {".lora_embedding_A", P_EA},
                {".lora_embedding_B", P_EB},
                {".lora_magnitude_vector", P_MAG},
                {".lora_magnitude_vector.weight", P_MAG}};

static const char *const part_names[P_COUNT] = {"lora_A",           "lora_B",
                                                "lora_B.bias",      "lora_embedding_A",
                                                "lora_embedding_B", "lora_magnitude_vector"};

static void shape_of(const sa_st_tensor *t, char *buf, size_t n) {
    size_t at = (size_t)snprintf(buf, n, "[");
    for (int d = 0; d < t->ndim && at < n; d++)
        at += (size_t)snprintf(buf + at, n - at, "%s%lld", d ? ", " : "", (long long)t->shape[d]);
    if (at < n) snprintf(buf + at, n - at, "]");
}

static sa_status add_part(binder *b, const char *mod, size_t len, enum part p,
                          const sa_st_tensor *t, sa_error *err) {
    module *m = NULL;
    for (size_t i = 0; i < b->n_mods && !m; i++)
        if (strlen(b->mods[i].name) == len && !strncmp(b->mods[i].name, mod, len)) m = &b->mods[i];
    if (!m) {
        m = &b->mods[b->n_mods];
        memset(m, 0, sizeof *m);
        if (!(m->name = strndup(mod, len))) return sa_error_set(err, SA_ENOMEM, "out of memory");
        b->n_mods++;
    }
    if (m->part[p])
        return sa_error_set(err, SA_EFORMAT, "%s: module '%s' has two %s tensors ('%s', '%s')",
                            b->dir, m->name, part_names[p], m->part[p]->name, t->name);
    m->part[p] = t;
    return SA_OK;
}

/* The base tensor a whole adapter tensor replaces: rest with "modules_to_save.[default.]" cut. */
static char *replaced_name(const char *rest) {
    const char *mts = strstr(rest, ".modules_to_save.");
    if (!mts) return strdup(rest);
    const char *after = mts + strlen(".modules_to_save.");
    if (!strncmp(after, "default.", 8)) after += 8;
    size_t a = (size_t)(mts - rest), n = a + 1 + strlen(after) + 1;
    char *s = malloc(n);
    if (s) snprintf(s, n, "%.*s.%s", (int)a, rest, after);
    return s;
}

static sa_status check_arith(const binder *b, const sa_st_tensor *t, const char *what,
                             sa_error *err) {
    if (sa_dtype_is_arith(t->dtype)) return SA_OK;
    return sa_error_set(err, SA_EUNSUPPORTED, "%s: %s '%s' has dtype %s (F32, F16, BF16 only)",
                        b->dir, what, t->name, sa_dtype_name(t->dtype));
}

/* Point base tensor `name` at adapter tensor t (same shape). */
static sa_status replace(binder *b, const char *name, const sa_st_tensor *t, sa_error *err) {
    sa_st_tensor *bt = (sa_st_tensor *)sa_ckpt_find(b->ck, name);
    char s0[96], s1[96];
    if (!bt)
        return sa_error_set(err, SA_EMISMATCH,
                            "%s: tensor '%s' replaces '%s', which the base does not have", b->dir,
                            t->name, name);
    shape_of(bt, s0, sizeof s0);
    shape_of(t, s1, sizeof s1);
    if (strcmp(s0, s1))
        return sa_error_set(err, SA_EMISMATCH,
                            "%s: tensor '%s' %s replaces base tensor '%s' %s of another shape",
                            b->dir, t->name, s1, name, s0);
    size_t ti = (size_t)(bt - b->ck->tensors);
    if (b->changed[ti]++)
        return sa_error_set(err, SA_EFORMAT, "%s: base tensor '%s' is changed twice by the adapter",
                            b->dir, name);
    b->ck->total_bytes = b->ck->total_bytes - bt->nbytes + t->nbytes;
    bt->dtype = t->dtype;
    bt->nbytes = t->nbytes;
    bt->data = t->data;
    bt->aligned = t->aligned;
    bt->shard = -1; /* in the adapter's map: no page advice */
    return SA_OK;
}

static sa_status classify(binder *b, const sa_st_tensor *t, sa_error *err) {
    if (strncmp(t->name, PREFIX, strlen(PREFIX)))
        return sa_error_set(err, SA_EFORMAT,
                            "%s: tensor '%s' does not start with '" PREFIX "' (not a PEFT "
                            "adapter tensor)",
                            b->dir, t->name);
    const char *rest = t->name + strlen(PREFIX);
    size_t n = strlen(rest);
    for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
        size_t k = strlen(suffixes[i].suffix);
        if (n > k && !strcmp(rest + n - k, suffixes[i].suffix))
            return add_part(b, rest, n - k, suffixes[i].part, t, err);
    }
    if (strstr(rest, ".lora_"))
        return sa_error_set(err, SA_EUNSUPPORTED, "%s: unknown LoRA tensor '%s'", b->dir, t->name);
    sa_status s = check_arith(b, t, "tensor", err);
    char *target = s == SA_OK ? replaced_name(rest) : NULL;
    if (s == SA_OK && !target) s = sa_error_set(err, SA_ENOMEM, "out of memory");
    if (s == SA_OK) s = replace(b, target, t, err);
    free(target);
    return s;
}

/* A computed target over base tensor `name`, which must have shape [rows, cols] (cols 0: 1-D). */
static sa_status add_target(binder *b, const module *m, const char *suffix, sa_lora_kind kind,
                            int64_t rows, int64_t cols, sa_lora_target **out, sa_error *err) {
    char name[512], s0[96], want[96];
    snprintf(name, sizeof name, "%s%s", m->name, suffix);
    sa_st_tensor *bt = (sa_st_tensor *)sa_ckpt_find(b->ck, name);
    if (cols)
        snprintf(want, sizeof want, "[%lld, %lld]", (long long)rows, (long long)cols);
    else
        snprintf(want, sizeof want, "[%lld]", (long long)rows);
    if (!bt)
        return sa_error_set(err, SA_EMISMATCH,
                            "%s: module '%s': the base has no tensor '%s' (the adapter needs %s)",
                            b->dir, m->name, name, want);
    shape_of(bt, s0, sizeof s0);
    if (strcmp(s0, want))
        return sa_error_set(err, SA_EMISMATCH,
                            "%s: module '%s': base tensor '%s' is %s but the adapter needs %s",
                            b->dir, m->name, name, s0, want);
    sa_status s = check_arith(b, bt, "base tensor", err);
    if (s != SA_OK) return s;
    size_t ti = (size_t)(bt - b->ck->tensors);
    if (b->changed[ti]++)
        return sa_error_set(err, SA_EFORMAT, "%s: base tensor '%s' is changed twice by the adapter",
                            b->dir, name);
    sa_lora_target *t = &b->ad->targets[b->ad->n_targets++];
    memset(t, 0, sizeof *t);
    t->kind = kind;
    t->base = *bt;
    t->rows = rows;
    t->cols = cols ? cols : 1;
    b->ck->computed[ti] = t;
    bt->data = NULL;
    bt->shard = -1;
    bt->aligned = 0;
    *out = t;
    return SA_OK;
}

/* Rank of the factors a [r, x] and b [y, r], checked against each other and the config. */
static sa_status module_rank(binder *b, const module *m, const sa_st_tensor *a,
                             const sa_st_tensor *bb, int *rank, double *scaling, sa_error *err) {
    char sa_[96], sb[96];
    shape_of(a, sa_, sizeof sa_);
    shape_of(bb, sb, sizeof sb);
    if (a->ndim != 2 || bb->ndim != 2 || a->shape[0] != bb->shape[1] || a->shape[0] < 1)
        return sa_error_set(err, SA_EMISMATCH,
                            "%s: module '%s': %s %s and %s %s disagree on the rank", b->dir,
                            m->name, a == m->part[P_A] ? "lora_A" : "lora_embedding_A", sa_,
                            bb == m->part[P_B] ? "lora_B" : "lora_embedding_B", sb);
    int r;
    double alpha;
    sa_status s = sa_lora_config_module(&b->ad->cfg, m->name, &r, &alpha, err);
    if (s != SA_OK) return s;
    if (r != a->shape[0])
        return sa_error_set(err, SA_EMISMATCH,
                            "%s: module '%s': the factors %s and %s have rank %lld but "
                            "adapter_config.json gives r = %d for it",
                            b->dir, m->name, sa_, sb, (long long)a->shape[0], r);
    const sa_st_tensor *all[] = {a, bb, m->part[P_LB], m->part[P_MAG]};
    for (int i = 0; i < 4; i++)
        if (all[i] && (s = check_arith(b, all[i], "adapter tensor", err))) return s;
    *rank = r;
    *scaling = b->ad->cfg.use_rslora ? alpha / sqrt((double)r) : alpha / (double)r;
    return SA_OK;
}

static sa_status bind_extras(binder *b, const module *m, sa_lora_target *w, int64_t out,
                             sa_error *err) {
    const sa_st_tensor *lb = m->part[P_LB], *mag = m->part[P_MAG];
    char s[96];
    if (mag) {
        shape_of(mag, s, sizeof s);
        if (mag->ndim != 1 || mag->shape[0] != out)
            return sa_error_set(err, SA_EMISMATCH,
                                "%s: module '%s': lora_magnitude_vector is %s but the module has "
                                "%lld outputs",
                                b->dir, m->name, s, (long long)out);
        w->magnitude = mag;
    }
    if (!lb) return SA_OK;
    shape_of(lb, s, sizeof s);
    if (lb->ndim != 1 || lb->shape[0] != out)
        return sa_error_set(err, SA_EMISMATCH,
                            "%s: module '%s': lora_B.bias is %s but the module has %lld outputs",
                            b->dir, m->name, s, (long long)out);
    sa_lora_target *t;
    sa_status st = add_target(b, m, ".bias", SA_LORA_BIAS, out, 0, &t, err);
    if (st != SA_OK) return st;
    t->b = lb;
    t->rank = w->rank;
    t->scaling = w->scaling;
    return SA_OK;
}

static sa_status bind_module(binder *b, const module *m, sa_error *err) {
    const sa_lora_config *c = &b->ad->cfg;
    int emb = m->part[P_EA] || m->part[P_EB], lin = m->part[P_A] || m->part[P_B];
    const sa_st_tensor *a = emb ? m->part[P_EA] : m->part[P_A];
    const sa_st_tensor *bb = emb ? m->part[P_EB] : m->part[P_B];
    if (emb && lin)
        return sa_error_set(err, SA_EFORMAT, "%s: module '%s' has both linear and embedding LoRA",
                            b->dir, m->name);
    if (!a || !bb)
        return sa_error_set(err, SA_EFORMAT, "%s: module '%s' has %s but no %s", b->dir, m->name,
                            a ? part_names[emb ? P_EA : P_A] : part_names[emb ? P_EB : P_B],
                            a ? part_names[emb ? P_EB : P_B] : part_names[emb ? P_EA : P_A]);
    if (c->use_dora && !m->part[P_MAG])
        return sa_error_set(err, SA_EFORMAT,
                            "%s: module '%s': use_dora is set but it has no lora_magnitude_vector",
                            b->dir, m->name);
    if (!c->use_dora && m->part[P_MAG])
        return sa_error_set(err, SA_EFORMAT,
                            "%s: module '%s' has a lora_magnitude_vector but use_dora is not set",
                            b->dir, m->name);
    if (c->use_dora && (emb || c->fan_in_fan_out))
        return sa_error_set(err, SA_EUNSUPPORTED, "%s: module '%s': DoRA on %s is not supported",
                            b->dir, m->name, emb ? "an embedding" : "a fan_in_fan_out layer");
    if (emb && m->part[P_LB])
        return sa_error_set(err, SA_EFORMAT, "%s: module '%s': lora_B.bias on an embedding", b->dir,
                            m->name);
    int rank = 0;
    double scaling = 0;
    sa_status s = module_rank(b, m, a, bb, &rank, &scaling, err);
    if (s != SA_OK) return s;
    int64_t in = a->shape[1], out = bb->shape[0];
    int transposed = emb || c->fan_in_fan_out;
    sa_lora_target *t;
    s = add_target(b, m, ".weight", transposed ? SA_LORA_TRANSPOSE : SA_LORA_LINEAR,
                   transposed ? in : out, transposed ? out : in, &t, err);
    if (s != SA_OK) return s;
    t->a = a;
    t->b = bb;
    t->rank = rank;
    t->scaling = scaling;
    return bind_extras(b, m, t, out, err);
}

static sa_status open_files(binder *b, sa_error *err) {
    struct stat st;
    if (stat(b->dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return sa_error_set(err, SA_EIO, "%s: adapter directory not found", b->dir);
    char *cfg = sa_path_join(b->dir, "adapter_config.json");
    char *wts = sa_path_join(b->dir, "adapter_model.safetensors");
    char *pkl = sa_path_join(b->dir, "adapter_model.bin");
    char *text = NULL;
    size_t len = 0;
    sa_status s = SA_OK;
    if (!cfg || !wts || !pkl)
        s = sa_error_set(err, SA_ENOMEM, "out of memory");
    else if (stat(cfg, &st) != 0)
        s = sa_error_set(err, SA_EFORMAT,
                         "%s: no adapter_config.json (not a PEFT adapter directory)", b->dir);
    else if (stat(wts, &st) != 0 && stat(pkl, &st) == 0)
        s = sa_error_set(err, SA_EUNSUPPORTED,
                         "%s: adapter_model.bin is a pickle, which safearith never loads: save "
                         "the adapter as adapter_model.safetensors",
                         b->dir);
    else if (stat(wts, &st) != 0)
        s = sa_error_set(err, SA_EFORMAT, "%s: no adapter_model.safetensors", b->dir);
    if (s == SA_OK) s = sa_read_file(cfg, &text, &len, err);
    if (s == SA_OK) s = sa_lora_config_parse(text, len, cfg, &b->ad->cfg, err);
    if (s == SA_OK) s = sa_ckpt_open(wts, &b->ad->ck, err);
    free(text);
    free(cfg);
    free(wts);
    free(pkl);
    return s;
}

static sa_status bind_all(binder *b, sa_error *err) {
    size_t n = sa_ckpt_count(b->ad->ck);
    b->mods = calloc(n + 1, sizeof *b->mods);
    b->ad->targets = calloc(2 * n + 1, sizeof *b->ad->targets);
    b->changed = calloc(b->ck->n_tensors + 1, 1);
    b->ck->computed = calloc(b->ck->n_tensors + 1, sizeof *b->ck->computed);
    if (!b->mods || !b->ad->targets || !b->changed || !b->ck->computed)
        return sa_error_set(err, SA_ENOMEM, "out of memory");
    sa_status s = SA_OK;
    for (size_t i = 0; i < n && s == SA_OK; i++) s = classify(b, sa_ckpt_tensor(b->ad->ck, i), err);
    for (size_t i = 0; i < b->n_mods && s == SA_OK; i++) s = bind_module(b, &b->mods[i], err);
    return s;
}

sa_status sa_adapter_bind(sa_checkpoint *ck, const char *dir, sa_error *err) {
    binder b = {ck, calloc(1, sizeof(sa_adapter)), dir, NULL, 0, NULL};
    if (!b.ad) return sa_error_set(err, SA_ENOMEM, "out of memory");
    ck->adapter = b.ad;
    ck->adapter_dir = strdup(dir);
    sa_status s = ck->adapter_dir ? SA_OK : sa_error_set(err, SA_ENOMEM, "out of memory");
    if (s == SA_OK) s = open_files(&b, err);
    if (s == SA_OK) s = bind_all(&b, err);
    if (s == SA_OK && !b.n_mods && !sa_ckpt_count(b.ad->ck))
        s = sa_error_set(err, SA_EFORMAT, "%s: adapter_model.safetensors holds no tensors", dir);
    for (size_t i = 0; i < b.n_mods; i++) free(b.mods[i].name);
    free(b.mods);
    free(b.changed);
    return s;
}

void sa_adapter_free(sa_adapter *ad) {
    if (!ad) return;
    sa_ckpt_close(ad->ck);
    sa_lora_config_free(&ad->cfg);
    free(ad->targets);
    free(ad);
}
