/* dataset.c: evaluation datasets from the user's files: spec parsing, layout recognition, loading.
 *
 * A dataset is a list of items (question, optional category, kind). Files are never compiled in:
 * the user names them with a SPEC "PATH[:field=COL][:category=COL][:label=COL][:kind=K]
 * [:name=N][:format=F]". Without options the layouts of the public safety sets are recognised:
 * CSV with a goal / prompt / Behavior column (AdvBench, XSTest, HarmBench), JSON arrays of
 * strings (DangerousQA, AdversarialQA), nested {category: {subcategory: [questions]}} objects
 * (HarmfulQA, CatQA), arrays or JSON Lines of objects ({instruction}, {question, choices,
 * answer} for multiple choice, {question, answer} for exact match). XSTest's label column
 * splits it into a benign (safe) and a harmful (unsafe) group. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "formats/csv.h"
#include "formats/text.h"
#include "formats/jsonl.h"
#include "eval/eval_json.h"
#include "safearith/eval.h"
#include "core/fsutil.h"

const char *sa_eval_kind_name(sa_eval_kind k) {
    switch (k) {
    case SA_EVAL_HARMFUL:
        return "harmful";
    case SA_EVAL_BENIGN:
        return "benign";
    case SA_EVAL_MCQ:
        return "mcq";
    case SA_EVAL_QA:
        return "qa";
    default:
        return "auto";
    }
}

static int kind_from_name(const char *s, sa_eval_kind *k) {
    static const char *names[] = {"auto", "harmful", "benign", "mcq", "qa"};
    for (int i = 0; i < 5; i++)
        if (!strcmp(s, names[i])) return *k = (sa_eval_kind)i, 1;
    return 0;
}

static const char *const spec_keys[] = {"field", "category", "label", "kind",
                                        "name",  "format",   "lang"};
#define N_SPEC_KEYS 7

static int spec_key(const char *tok, size_t len) {
    for (int i = 0; i < N_SPEC_KEYS; i++) {
        size_t kl = strlen(spec_keys[i]);
        if (len > kl && !strncmp(tok, spec_keys[i], kl) && tok[kl] == '=') return i;
    }
    return -1;
}

/* "word=..." with a lower-case identifier: an option, known or not. */
static int looks_like_option(const char *tok, size_t len) {
    size_t i = 0;
    while (i < len && ((tok[i] >= 'a' && tok[i] <= 'z') || tok[i] == '_')) i++;
    return i > 0 && i < len && tok[i] == '=';
}

void sa_eval_dataset_spec_free(sa_eval_dataset_spec *s) {
    if (!s) return;
    free(s->path), free(s->field), free(s->category), free(s->label), free(s->name);
    free(s->format), free(s->lang);
    memset(s, 0, sizeof *s);
}

sa_status sa_eval_dataset_spec_parse(const char *spec, sa_eval_dataset_spec *out, sa_error *err) {
    memset(out, 0, sizeof *out);
    /* The path runs up to the first ":key=" with a known key; paths may contain ':'. */
    const char *p = spec, *opt = NULL;
    for (const char *c = strchr(p, ':'); c; c = strchr(c + 1, ':')) {
        const char *end = strchr(c + 1, ':');
        size_t len = end ? (size_t)(end - c - 1) : strlen(c + 1);
        if (spec_key(c + 1, len) >= 0 || looks_like_option(c + 1, len)) {
            opt = c;
            break;
        }
    }
    size_t plen = opt ? (size_t)(opt - spec) : strlen(spec);
    if (!plen) return sa_error_set(err, SA_EINVAL, "dataset spec '%s': empty path", spec);
    out->path = strndup(spec, plen);
    if (!out->path) return sa_error_set(err, SA_ENOMEM, "dataset spec: out of memory");
    while (opt) {
        const char *tok = opt + 1, *end = strchr(tok, ':');
        size_t len = end ? (size_t)(end - tok) : strlen(tok);
        int k = spec_key(tok, len);
        if (k < 0) {
            sa_error_set(err, SA_EINVAL,
                         "dataset spec '%s': unknown option '%.*s' (known: field=, category=, "
                         "label=, kind=, name=, format=, lang=)",
                         spec, (int)len, tok);
            sa_eval_dataset_spec_free(out);
            return SA_EINVAL;
        }
        size_t kl = strlen(spec_keys[k]) + 1;
        char *val = strndup(tok + kl, len - kl);
        if (!val) {
            sa_eval_dataset_spec_free(out);
            return sa_error_set(err, SA_ENOMEM, "dataset spec: out of memory");
        }
        char **slot[] = {&out->field, &out->category, &out->label, NULL,
                         &out->name,  &out->format,   &out->lang};
        if (k == 3) {
            int ok = kind_from_name(val, &out->kind);
            if (!ok) {
                sa_error_set(err, SA_EINVAL,
                             "dataset spec '%s': kind '%s' is not harmful, benign, mcq or qa", spec,
                             val);
                free(val);
                sa_eval_dataset_spec_free(out);
                return SA_EINVAL;
            }
            free(val);
        } else {
            free(*slot[k]);
            *slot[k] = val;
        }
        opt = end;
    }
    if (out->format && strcmp(out->format, "csv") && strcmp(out->format, "json") &&
        strcmp(out->format, "jsonl") && strcmp(out->format, "lines")) {
        sa_error_set(err, SA_EINVAL,
                     "dataset spec '%s': format '%s' is not csv, json, jsonl or lines", spec,
                     out->format);
        sa_eval_dataset_spec_free(out);
        return SA_EINVAL;
    }
    return SA_OK;
}

cJSON *sa_eval_dataset_spec_json(sa_jb *jb, cJSON *to, const sa_eval_dataset_spec *s) {
    cJSON *o = sa_jb_obj(jb, to, NULL);
    sa_jb_str(jb, o, "path", s->path);
    const char *vals[] = {s->field, s->category, s->label, s->name, s->format, s->lang};
    const char *keys[] = {"field", "category", "label", "name", "format", "lang"};
    for (int i = 0; i < 6; i++)
        if (vals[i]) sa_jb_str(jb, o, keys[i], vals[i]);
    sa_jb_str(jb, o, "kind", sa_eval_kind_name(s->kind));
    return o;
}

/* ---- item list building ---- */

typedef struct builder {
    sa_eval_dataset *ds;
    size_t cap;
    sa_error *err;
    int oom; /* a copy failed: the load ends with SA_ENOMEM, never with a field quietly dropped */
} builder;

static sa_eval_item *add_item(builder *b) {
    if (b->ds->n_items == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 256;
        sa_eval_item *v = realloc(b->ds->items, cap * sizeof *v);
        if (!v) return NULL;
        b->ds->items = v;
        b->cap = cap;
    }
    sa_eval_item *it = &b->ds->items[b->ds->n_items];
    memset(it, 0, sizeof *it);
    it->index = b->ds->n_items++;
    return it;
}

/* Copies for the dataset: a failure is remembered in the builder. */
static char *bdupn(builder *b, const char *s, size_t n) {
    char *d = strndup(s, n);
    if (!d) b->oom = 1;
    return d;
}
static char *bdup(builder *b, const char *s) {
    if (!s) b->oom = 1; /* the source is itself a copy that failed */
    return s ? bdupn(b, s, strlen(s)) : NULL;
}

static const char *base_name(const char *path) {
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

static char *stem(const char *path) {
    const char *b = base_name(path);
    const char *dot = strrchr(b, '.');
    return strndup(b, dot && dot != b ? (size_t)(dot - b) : strlen(b));
}

static int ends_with(const char *s, const char *suf) {
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && !strcmp(s + a - b, suf);
}

/* File names that say "benign": *harmless*, *benign*, *_safe.* (not *_unsafe.*). */
static int benign_name(const char *path) {
    const char *b = base_name(path);
    if (strstr(b, "harmless") || strstr(b, "benign")) return 1;
    const char *s = strstr(b, "_safe.");
    return s != NULL;
}

/* The kind of items whose layout does not say: the spec's, else benign by file name, else harmful.
 */
static sa_eval_kind default_kind(const sa_eval_dataset_spec *spec) {
    if (spec->kind != SA_EVAL_AUTO) return spec->kind;
    return benign_name(spec->path) ? SA_EVAL_BENIGN : SA_EVAL_HARMFUL;
}

/* Decide safe/unsafe label values: 1 benign, 0 harmful, -1 unknown. */
static int label_kind(const char *v) {
    if (!strcasecmp(v, "safe") || !strcasecmp(v, "benign")) return 1;
    if (!strcasecmp(v, "unsafe") || !strcasecmp(v, "harmful")) return 0;
    return -1;
}

/* Common finishing of one generation item: kind from label, group name. */
static sa_status finish_item(builder *b, sa_eval_item *it, sa_eval_kind kind, const char *label,
                             const char *where) {
    sa_eval_dataset *ds = b->ds;
    if (b->oom) return sa_error_set(b->err, SA_ENOMEM, "%s: out of memory", ds->path);
    if (!it->text || !it->text[0])
        return sa_error_set(b->err, SA_EFORMAT, "%s: %s: empty question", ds->path, where);
    it->kind = kind;
    if (label) {
        int lk = label_kind(label);
        if (lk < 0)
            return sa_error_set(b->err, SA_EFORMAT,
                                "%s: %s: label '%s' is neither safe nor unsafe (use kind= instead)",
                                ds->path, where, label);
        it->kind = lk ? SA_EVAL_BENIGN : SA_EVAL_HARMFUL;
        size_t n = strlen(ds->name) + strlen(label) + 2;
        it->group = malloc(n);
        if (it->group) snprintf(it->group, n, "%s/%s", ds->name, label);
    } else {
        it->group = strdup(ds->name);
    }
    if (!it->group) return sa_error_set(b->err, SA_ENOMEM, "%s: out of memory", ds->path);
    return SA_OK;
}

/* ---- CSV ---- */

static int first_col(const sa_csv *t, const char *const *names) {
    for (int i = 0; names[i]; i++) {
        int c = sa_csv_col(t, names[i]);
        if (c >= 0) return c;
    }
    return -1;
}

static void columns_list(const sa_csv *t, char *buf, size_t n) {
    buf[0] = 0;
    for (size_t i = 0; i < t->n_cols && strlen(buf) + 4 < n; i++) {
        if (i) strncat(buf, ", ", n - strlen(buf) - 1);
        strncat(buf, t->header[i], n - strlen(buf) - 1);
    }
}

static int named_col(builder *b, const sa_csv *t, const char *want, const char *what, int *col) {
    *col = sa_csv_col(t, want);
    if (*col >= 0) return 0;
    char cols[300];
    columns_list(t, cols, sizeof cols);
    sa_error_set(b->err, SA_EFORMAT, "%s: no %s column '%s' (columns: %s)", b->ds->path, what, want,
                 cols);
    return -1;
}

static sa_status load_csv(builder *b, const sa_eval_dataset_spec *spec, const char *text,
                          size_t len) {
    sa_eval_dataset *ds = b->ds;
    sa_csv t;
    sa_status st = sa_csv_parse(text, len, ds->path, 1, 0, &t, b->err);
    if (st) return st;
    static const char *const q_names[] = {"goal",     "prompt",   "Behavior",
                                          "question", "Question", "instruction",
                                          "behavior", "text",     NULL};
    static const char *const c_names[] = {"category", "Category", "type", "SemanticCategory",
                                          "Domain",   "topic",    NULL};
    int qc = -1, cc = -1, lc = -1, xc = sa_csv_col(&t, "ContextString");
    if (spec->field) {
        if (named_col(b, &t, spec->field, "question", &qc)) goto fail_fmt;
    } else if ((qc = first_col(&t, q_names)) < 0) {
        if (t.n_cols == 1)
            qc = 0; /* a single column: the prompts */
        else {
            char cols[300];
            columns_list(&t, cols, sizeof cols);
            st = sa_error_set(b->err, SA_EFORMAT,
                              "%s: no question column recognised (columns: %s); name one with "
                              ":field=COLUMN",
                              ds->path, cols);
            goto fail;
        }
    }
    if (spec->category) {
        if (spec->category[0] && named_col(b, &t, spec->category, "category", &cc)) goto fail_fmt;
    } else
        cc = first_col(&t, c_names);
    if (spec->label) {
        if (spec->label[0] && named_col(b, &t, spec->label, "label", &lc)) goto fail_fmt;
    } else if (spec->kind == SA_EVAL_AUTO && (lc = sa_csv_col(&t, "label")) >= 0) {
        for (size_t r = 0; r < t.n_rows; r++)
            if (label_kind(sa_csv_cell(&t, r, (size_t)lc)) < 0) lc = -1;
    }
    if (!spec->name) {
        free(ds->name);
        if (sa_csv_col(&t, "goal") >= 0 && sa_csv_col(&t, "target") >= 0)
            ds->name = bdup(b, "advbench");
        else if (sa_csv_col(&t, "focus") >= 0 && sa_csv_col(&t, "type") >= 0 && lc >= 0)
            ds->name = bdup(b, "xstest");
        else if (sa_csv_col(&t, "BehaviorID") >= 0)
            ds->name = bdup(b, "harmbench");
        else
            ds->name = stem(ds->path);
        if (!ds->name) b->oom = 1;
    }
    char layout[400];
    snprintf(layout, sizeof layout, "CSV, question column '%s'%s%s%s%s", t.header[qc],
             cc >= 0 ? ", category column '" : "", cc >= 0 ? t.header[cc] : "", cc >= 0 ? "'" : "",
             lc >= 0 ? ", safe/unsafe label column" : "");
    ds->layout = bdup(b, layout);
    sa_eval_kind kind = default_kind(spec);
    for (size_t r = 0; r < t.n_rows; r++) {
        sa_eval_item *it = add_item(b);
        if (!it) {
            st = sa_error_set(b->err, SA_ENOMEM, "%s: out of memory", ds->path);
            goto fail;
        }
        it->text = bdup(b, sa_csv_cell(&t, r, (size_t)qc));
        const char *cat = cc >= 0 ? sa_csv_cell(&t, r, (size_t)cc) : NULL;
        it->category = cat && cat[0] ? bdup(b, cat) : NULL;
        const char *ctx = xc >= 0 ? sa_csv_cell(&t, r, (size_t)xc) : NULL;
        it->context = ctx && ctx[0] ? bdup(b, ctx) : NULL;
        char where[32];
        snprintf(where, sizeof where, "line %zu", t.line_of[r]);
        st = finish_item(b, it, kind, lc >= 0 ? sa_csv_cell(&t, r, (size_t)lc) : NULL, where);
        if (st) goto fail;
    }
    sa_csv_free(&t);
    return SA_OK;
fail_fmt:
    st = SA_EFORMAT;
fail:
    sa_csv_free(&t);
    return st;
}

/* ---- plain lines (headerless one-item-per-line files) ---- */

static sa_status load_lines(builder *b, const sa_eval_dataset_spec *spec, const char *text,
                            size_t len) {
    sa_status st = sa_text_check(text, len, b->ds->path, b->err);
    if (st) return st;
    sa_eval_kind kind = default_kind(spec);
    size_t pos = 0, line = 0;
    while (pos < len) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t end = nl ? (size_t)(nl - text) : len, e = end;
        line++;
        if (e > pos && text[e - 1] == '\r') e--;
        if (e > pos) {
            sa_eval_item *it = add_item(b);
            if (!it) return sa_error_set(b->err, SA_ENOMEM, "%s: out of memory", b->ds->path);
            it->text = bdupn(b, text + pos, e - pos);
            it->kind = kind;
            it->group = bdup(b, b->ds->name);
        }
        pos = end + 1;
    }
    b->ds->layout = bdup(b, "plain text, one question per line");
    if (!b->ds->n_items) return sa_error_set(b->err, SA_EFORMAT, "%s: empty file", b->ds->path);
    return SA_OK;
}

/* ---- JSON values ---- */

static const char *str_field(const cJSON *o, const char *const *names, const char **which) {
    for (int i = 0; names[i]; i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, names[i]);
        if (cJSON_IsString(v)) {
            if (which) *which = names[i];
            return v->valuestring;
        }
    }
    return NULL;
}

/* Multiple choice: choices array (or {"text": [...], "label": [...]}), answer index / letter /
 * text (or answerKey). Returns 0 on success, else fills err. */
static sa_status parse_mcq(builder *b, const cJSON *o, sa_eval_item *it, const char *where) {
    const cJSON *ch = cJSON_GetObjectItemCaseSensitive(o, "choices");
    const cJSON *labels = NULL;
    if (cJSON_IsObject(ch)) {
        labels = cJSON_GetObjectItemCaseSensitive(ch, "label");
        ch = cJSON_GetObjectItemCaseSensitive(ch, "text");
    }
    if (!cJSON_IsArray(ch) || cJSON_GetArraySize(ch) < 2)
        return sa_error_set(b->err, SA_EFORMAT, "%s: %s: 'choices' must list at least 2 options",
                            b->ds->path, where);
    it->n_choices = cJSON_GetArraySize(ch);
    it->choices = calloc((size_t)it->n_choices, sizeof *it->choices);
    if (!it->choices) return sa_error_set(b->err, SA_ENOMEM, "%s: out of memory", b->ds->path);
    for (int i = 0; i < it->n_choices; i++) {
        const cJSON *c = cJSON_GetArrayItem(ch, i);
        if (cJSON_IsString(c))
            it->choices[i] = bdup(b, c->valuestring);
        else if (cJSON_IsNumber(c)) {
            char buf[64];
            snprintf(buf, sizeof buf, "%.17g", c->valuedouble);
            it->choices[i] = bdup(b, buf);
        } else
            return sa_error_set(b->err, SA_EFORMAT, "%s: %s: choice %d is not a string",
                                b->ds->path, where, i);
    }
    if (b->oom) return sa_error_set(b->err, SA_ENOMEM, "%s: out of memory", b->ds->path);
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(o, "answer");
    if (!a) a = cJSON_GetObjectItemCaseSensitive(o, "answerKey");
    it->answer = -1;
    /* range first: converting 1e300 to int is undefined */
    if (cJSON_IsNumber(a) && a->valuedouble >= 0 && a->valuedouble < it->n_choices &&
        a->valuedouble == floor(a->valuedouble))
        it->answer = (int)a->valuedouble;
    else if (cJSON_IsString(a)) {
        const char *s = a->valuestring;
        for (int i = 0; i < it->n_choices && it->answer < 0; i++) {
            const cJSON *l = labels ? cJSON_GetArrayItem(labels, i) : NULL;
            if (l && cJSON_IsString(l) && !strcmp(l->valuestring, s)) it->answer = i;
        }
        if (it->answer < 0 && strlen(s) == 1 && s[0] >= 'A' && s[0] <= 'Z') it->answer = s[0] - 'A';
        for (int i = 0; i < it->n_choices && it->answer < 0; i++)
            if (!strcmp(it->choices[i], s)) it->answer = i;
    }
    if (it->answer < 0 || it->answer >= it->n_choices)
        return sa_error_set(b->err, SA_EFORMAT,
                            "%s: %s: 'answer' must be a choice index, letter or choice text",
                            b->ds->path, where);
    return SA_OK;
}

static sa_status parse_qa(builder *b, const cJSON *o, sa_eval_item *it, const char *where) {
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(o, "answers");
    if (!a) a = cJSON_GetObjectItemCaseSensitive(o, "answer");
    int n = cJSON_IsArray(a) ? cJSON_GetArraySize(a) : 1;
    it->answers = calloc((size_t)n, sizeof *it->answers);
    if (!it->answers) return sa_error_set(b->err, SA_ENOMEM, "%s: out of memory", b->ds->path);
    for (int i = 0; i < n; i++) {
        const cJSON *v = cJSON_IsArray(a) ? cJSON_GetArrayItem(a, i) : a;
        char buf[64];
        if (cJSON_IsString(v))
            it->answers[i] = bdup(b, v->valuestring);
        else if (cJSON_IsNumber(v)) {
            snprintf(buf, sizeof buf, "%.17g", v->valuedouble);
            it->answers[i] = bdup(b, buf);
        } else
            return sa_error_set(b->err, SA_EFORMAT,
                                "%s: %s: 'answer' must be a string, a number "
                                "or a list of them",
                                b->ds->path, where);
        it->n_answers = i + 1;
    }
    if (!n) return sa_error_set(b->err, SA_EFORMAT, "%s: %s: empty 'answers'", b->ds->path, where);
    return SA_OK;
}

static sa_status json_object_item(builder *b, const sa_eval_dataset_spec *spec, const cJSON *o,
                                  const char *where) {
    static const char *const q_names[] = {"question", "instruction", "prompt", "goal",  "Question",
                                          "Behavior", "behavior",    "text",   "query", NULL};
    static const char *const c_names[] = {"category", "Category",         "type", "topic",
                                          "Domain",   "SemanticCategory", NULL};
    sa_eval_dataset *ds = b->ds;
    if (!cJSON_IsObject(o))
        return sa_error_set(b->err, SA_EFORMAT, "%s: %s: expected an object or a string", ds->path,
                            where);
    const char *q = NULL;
    if (spec->field) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, spec->field);
        if (!cJSON_IsString(v))
            return sa_error_set(b->err, SA_EFORMAT, "%s: %s: no string field '%s'", ds->path, where,
                                spec->field);
        q = v->valuestring;
    } else if (!(q = str_field(o, q_names, NULL)))
        return sa_error_set(b->err, SA_EFORMAT,
                            "%s: %s: no question field (question, instruction, prompt, goal, ...); "
                            "name one with :field=KEY",
                            ds->path, where);
    sa_eval_kind kind = spec->kind;
    if (kind == SA_EVAL_AUTO) {
        if (cJSON_HasObjectItem(o, "choices"))
            kind = SA_EVAL_MCQ;
        else if (cJSON_HasObjectItem(o, "answer") || cJSON_HasObjectItem(o, "answers"))
            kind = SA_EVAL_QA;
        else if (benign_name(ds->path))
            kind = SA_EVAL_BENIGN;
        else
            kind = SA_EVAL_HARMFUL;
    }
    sa_eval_item *it = add_item(b);
    if (!it) return sa_error_set(b->err, SA_ENOMEM, "%s: out of memory", ds->path);
    it->text = bdup(b, q);
    const char *cat = NULL;
    if (spec->category) {
        const cJSON *v =
            spec->category[0] ? cJSON_GetObjectItemCaseSensitive(o, spec->category) : NULL;
        if (spec->category[0] && !cJSON_IsString(v))
            return sa_error_set(b->err, SA_EFORMAT, "%s: %s: no string field '%s'", ds->path, where,
                                spec->category);
        cat = v ? v->valuestring : NULL;
    } else
        cat = str_field(o, c_names, NULL);
    it->category = cat && cat[0] ? bdup(b, cat) : NULL;
    const char *label = NULL;
    if (spec->label && spec->label[0]) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, spec->label);
        if (!cJSON_IsString(v))
            return sa_error_set(b->err, SA_EFORMAT, "%s: %s: no string field '%s'", ds->path, where,
                                spec->label);
        label = v->valuestring;
    }
    sa_status st = SA_OK;
    if (kind == SA_EVAL_MCQ)
        st = parse_mcq(b, o, it, where);
    else if (kind == SA_EVAL_QA)
        st = parse_qa(b, o, it, where);
    if (st) return st;
    return finish_item(b, it, kind, label, where);
}

static sa_status json_string_item(builder *b, const sa_eval_dataset_spec *spec, const char *s,
                                  const char *cat, const char *where) {
    sa_eval_item *it = add_item(b);
    if (!it) return sa_error_set(b->err, SA_ENOMEM, "%s: out of memory", b->ds->path);
    it->text = bdup(b, s);
    it->category = cat ? bdup(b, cat) : NULL;
    sa_eval_kind kind = default_kind(spec);
    if (kind == SA_EVAL_MCQ || kind == SA_EVAL_QA)
        return sa_error_set(b->err, SA_EFORMAT, "%s: %s: kind %s needs objects with answers",
                            b->ds->path, where, sa_eval_kind_name(kind));
    return finish_item(b, it, kind, NULL, where);
}

/* {category: [questions]} or {category: {subcategory: [questions]}} (HarmfulQA, CatQA). */
static sa_status load_nested(builder *b, const sa_eval_dataset_spec *spec, const cJSON *root) {
    const cJSON *cat;
    cJSON_ArrayForEach(cat, root) {
        const cJSON *lists[1] = {cat};
        int nested = cJSON_IsObject(cat);
        if (!nested && !cJSON_IsArray(cat))
            return sa_error_set(b->err, SA_EFORMAT,
                                "%s: category '%s' must hold a list of questions or an object of "
                                "lists",
                                b->ds->path, cat->string);
        int n_sub = nested ? cJSON_GetArraySize(cat) : 1;
        for (int si = 0; si < n_sub; si++) {
            const cJSON *list = nested ? cJSON_GetArrayItem(cat, si) : lists[0];
            if (!cJSON_IsArray(list))
                return sa_error_set(b->err, SA_EFORMAT,
                                    "%s: '%s' / '%s' is not a list of questions", b->ds->path,
                                    cat->string, list->string ? list->string : "?");
            const cJSON *q;
            int qi = 0;
            cJSON_ArrayForEach(q, list) {
                char where[200];
                snprintf(where, sizeof where, "'%s'%s%s item %d", cat->string, nested ? " / " : "",
                         nested ? list->string : "", qi++);
                if (!cJSON_IsString(q))
                    return sa_error_set(b->err, SA_EFORMAT, "%s: %s: not a string", b->ds->path,
                                        where);
                sa_status st = json_string_item(
                    b, spec, q->valuestring,
                    spec->category && !spec->category[0] ? NULL : cat->string, where);
                if (st) return st;
            }
        }
    }
    b->ds->layout =
        bdup(b, "JSON {category: {subcategory: [questions]}}; category = top-level key");
    return SA_OK;
}

static sa_status load_json_value(builder *b, const sa_eval_dataset_spec *spec, const cJSON *root,
                                 const size_t *line_of, int jsonl) {
    sa_eval_dataset *ds = b->ds;
    if (cJSON_IsObject(root) && !jsonl) return load_nested(b, spec, root);
    if (!cJSON_IsArray(root))
        return sa_error_set(b->err, SA_EFORMAT, "%s: expected a JSON array or object", ds->path);
    if (!cJSON_GetArraySize(root))
        return sa_error_set(b->err, SA_EFORMAT, "%s: empty list (no questions)", ds->path);
    const cJSON *v;
    size_t i = 0;
    cJSON_ArrayForEach(v, root) {
        char where[48];
        if (jsonl)
            snprintf(where, sizeof where, "line %zu", line_of ? line_of[i] : i + 1);
        else
            snprintf(where, sizeof where, "item %zu", i);
        i++;
        sa_status st = cJSON_IsString(v) ? json_string_item(b, spec, v->valuestring, NULL, where)
                                         : json_object_item(b, spec, v, where);
        if (st) return st;
    }
    const sa_eval_item *it0 = &ds->items[0];
    char layout[200];
    snprintf(layout, sizeof layout, "%s %s", jsonl ? "JSON Lines of" : "JSON array of",
             cJSON_IsString(cJSON_GetArrayItem(root, 0)) ? "strings"
             : it0->kind == SA_EVAL_MCQ                  ? "{question, choices, answer}"
             : it0->kind == SA_EVAL_QA                   ? "{question, answer}"
                                                         : "objects");
    ds->layout = bdup(b, layout);
    return SA_OK;
}

static const char *format_of(const sa_eval_dataset_spec *spec) {
    if (spec->format) return spec->format;
    const char *p = spec->path;
    if (!strcmp(base_name(p), "transfer_expriment_behaviors.csv")) return "lines";
    if (ends_with(p, ".csv") || ends_with(p, ".CSV")) return "csv";
    if (ends_with(p, ".jsonl") || ends_with(p, ".ndjson")) return "jsonl";
    if (ends_with(p, ".json")) return "json";
    if (ends_with(p, ".txt")) return "lines";
    return NULL;
}

/* The language a file name declares: CatQA's catqa_chinese / catqa_vietnamese / catqa_english,
 * or a stem ending in _zh, _vi, _en (...); NULL when it declares none. */
static char *lang_of_name(const char *path) {
    static const char *const names[][2] = {
        {"chinese", "zh"}, {"vietnamese", "vi"}, {"english", "en"}, {"_zh", "zh"},
        {"_vi", "vi"},     {"_en", "en"},        {"_de", "de"},     {"_fr", "fr"},
        {"_es", "es"},     {"_ja", "ja"},        {"_ko", "ko"},     {"_ru", "ru"}};
    char *st = stem(path);
    const char *found = NULL;
    size_t l = st ? strlen(st) : 0;
    for (size_t i = 0; i < sizeof names / sizeof *names && st && !found; i++) {
        size_t k = strlen(names[i][0]);
        if (names[i][0][0] == '_' ? l > k && !strcmp(st + l - k, names[i][0])
                                  : strstr(st, names[i][0]) != NULL)
            found = names[i][1];
    }
    free(st);
    return found ? strdup(found) : NULL;
}

sa_status sa_eval_dataset_load(const sa_eval_dataset_spec *spec, sa_eval_dataset *out,
                               sa_error *err) {
    memset(out, 0, sizeof *out);
    const char *fmt = format_of(spec);
    if (!fmt)
        return sa_error_set(err, SA_EINVAL,
                            "%s: unknown dataset format (use .csv, .json, .jsonl or .txt, or "
                            ":format=csv|json|jsonl|lines)",
                            spec->path);
    char *text = NULL;
    size_t len = 0;
    sa_status st = sa_read_file(spec->path, &text, &len, err);
    if (st) return st;
    out->path = strdup(spec->path);
    out->name = spec->name ? strdup(spec->name) : stem(spec->path);
    out->lang = spec->lang ? strdup(spec->lang) : lang_of_name(spec->path);
    sa_sha256_hex(text, len, out->sha256);
    builder b = {out, 0, err, !out->path || !out->name || (spec->lang && !out->lang)};
    if (!strcmp(fmt, "csv"))
        st = load_csv(&b, spec, text, len);
    else if (!strcmp(fmt, "lines"))
        st = load_lines(&b, spec, text, len);
    else {
        cJSON *root = NULL;
        size_t *lines = NULL;
        int jsonl = !strcmp(fmt, "jsonl");
        st = jsonl ? sa_jsonl_parse(text, len, spec->path, 0, &root, &lines, err)
                   : sa_json_parse(text, len, spec->path, &root, err);
        if (!st) st = load_json_value(&b, spec, root, lines, jsonl);
        cJSON_Delete(root);
        free(lines);
    }
    free(text);
    if (b.oom || (!st && !out->layout))
        st = sa_error_set(err, SA_ENOMEM, "%s: out of memory", spec->path);
    if (!st && !out->n_items) st = sa_error_set(err, SA_EFORMAT, "%s: no questions", spec->path);
    if (st) {
        sa_eval_dataset_free(out);
        return st;
    }
    out->n_source = out->n_items;
    return SA_OK;
}

static void item_free(sa_eval_item *it) {
    free(it->text), free(it->category), free(it->group), free(it->context);
    for (int i = 0; i < it->n_choices; i++) free(it->choices ? it->choices[i] : NULL);
    free(it->choices);
    for (int i = 0; i < it->n_answers; i++) free(it->answers ? it->answers[i] : NULL);
    free(it->answers);
}

void sa_eval_dataset_free(sa_eval_dataset *ds) {
    if (!ds) return;
    for (size_t i = 0; i < ds->n_items; i++) item_free(&ds->items[i]);
    free(ds->items), free(ds->name), free(ds->path), free(ds->layout), free(ds->lang);
    memset(ds, 0, sizeof *ds);
}

static uint64_t splitmix64(uint64_t *s) {
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static int cmp_size(const void *a, const void *b) {
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return x < y ? -1 : x > y;
}

void sa_eval_dataset_keep(sa_eval_dataset *ds, const unsigned char *keep) {
    size_t k = 0;
    for (size_t i = 0; i < ds->n_items; i++) {
        if (!keep[i]) {
            item_free(&ds->items[i]);
            continue;
        }
        ds->items[k++] = ds->items[i];
    }
    ds->n_items = k;
}

sa_status sa_eval_dataset_select(sa_eval_dataset *ds, long limit, long sample, uint64_t seed,
                                 sa_error *err) {
    if (limit > 0 && (size_t)limit < ds->n_items) {
        for (size_t i = (size_t)limit; i < ds->n_items; i++) item_free(&ds->items[i]);
        ds->n_items = (size_t)limit;
    }
    if (sample <= 0 || (size_t)sample >= ds->n_items) return SA_OK;
    size_t n = ds->n_items, k = (size_t)sample;
    size_t *idx = malloc(n * sizeof *idx);
    uint8_t *keep = calloc(n, 1);
    sa_eval_item *items = malloc(k * sizeof *items);
    if (!idx || !keep || !items) {
        free(idx), free(keep), free(items);
        return sa_error_set(err, SA_ENOMEM, "%s: out of memory", ds->path);
    }
    for (size_t i = 0; i < n; i++) idx[i] = i;
    uint64_t s = seed;
    for (size_t i = 0; i < k; i++) { /* partial Fisher-Yates */
        size_t j = i + (size_t)(splitmix64(&s) % (n - i));
        size_t t = idx[i];
        idx[i] = idx[j], idx[j] = t;
    }
    qsort(idx, k, sizeof *idx, cmp_size);
    for (size_t i = 0; i < k; i++) items[i] = ds->items[idx[i]], keep[idx[i]] = 1;
    for (size_t i = 0; i < n; i++)
        if (!keep[i]) item_free(&ds->items[i]);
    free(ds->items);
    ds->items = items;
    ds->n_items = k;
    free(idx), free(keep);
    return SA_OK;
}
