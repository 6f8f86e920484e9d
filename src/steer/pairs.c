/* pairs.c: the ICV pairs file (JSONL) and the demonstration format (steer.h).
 *
 * Each non-blank line is one JSON object, either {"question","safe","unsafe"} (rendered later
 * through a format or the chat template) or {"positive","negative"} (ready texts). A file must
 * use one kind throughout. Errors name the file and the 1-based line. */
#include "safearith/steer.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "core/fsutil.h"
#include "formats/jsonl.h"
#include "formats/text.h"

void sa_pairs_free(sa_pairs *p) {
    if (!p) return;
    for (size_t i = 0; i < p->n; i++)
        free(p->items[i].question), free(p->items[i].positive), free(p->items[i].negative);
    free(p->items);
    memset(p, 0, sizeof *p);
}

/* A required non-empty string field, strdup'd into *dst. */
static sa_status field(const cJSON *o, const char *key, char **dst, const char *name, size_t line,
                       sa_error *err) {
    const cJSON *f = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!f) return sa_error_set(err, SA_EFORMAT, "%s:%zu: missing field \"%s\"", name, line, key);
    if (!cJSON_IsString(f))
        return sa_error_set(err, SA_EFORMAT, "%s:%zu: field \"%s\" is not a string", name, line,
                            key);
    if (!f->valuestring[0])
        return sa_error_set(err, SA_EFORMAT, "%s:%zu: field \"%s\" is empty", name, line, key);
    *dst = strdup(f->valuestring);
    return *dst ? SA_OK : sa_error_set(err, SA_ENOMEM, "%s: out of memory", name);
}

static sa_status parse_line(const char *s, size_t n, const char *name, size_t line, sa_pairs *out,
                            sa_error *err) {
    cJSON *o = cJSON_ParseWithLength(s, n);
    if (!o && sa_json_syntax_ok(s, n))
        return sa_error_set(err, SA_ENOMEM, "%s:%zu: out of memory", name, line);
    if (!o) return sa_error_set(err, SA_EFORMAT, "%s:%zu: not valid JSON", name, line);
    sa_status st = SA_OK;
    int qa = cJSON_GetObjectItemCaseSensitive(o, "positive") == NULL;
    if (!cJSON_IsObject(o))
        st = sa_error_set(err, SA_EFORMAT, "%s:%zu: expected a JSON object", name, line);
    else if (out->n && qa != out->qa)
        st = sa_error_set(err, SA_EFORMAT,
                          "%s:%zu: mixes {positive,negative} and {question,safe,unsafe} pairs",
                          name, line);
    if (!st) {
        sa_pair *p = &out->items[out->n];
        memset(p, 0, sizeof *p);
        p->line = line;
        out->qa = qa;
        out->n++;
        if (qa) {
            if (!(st = field(o, "question", &p->question, name, line, err)) &&
                !(st = field(o, "safe", &p->positive, name, line, err)))
                st = field(o, "unsafe", &p->negative, name, line, err);
        } else if (!(st = field(o, "positive", &p->positive, name, line, err))) {
            st = field(o, "negative", &p->negative, name, line, err);
        }
    }
    cJSON_Delete(o);
    return st;
}

static int blank(const char *s, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r') return 0;
    return 1;
}

sa_status sa_pairs_parse(const char *text, size_t len, const char *name, sa_pairs *out,
                         sa_error *err) {
    memset(out, 0, sizeof *out);
    sa_status st = sa_text_check(text, len, name, err); /* as every text reader: eval's too */
    if (st) return st;
    size_t lines = 1;
    for (size_t i = 0; i < len; i++) lines += text[i] == '\n';
    out->items = calloc(lines, sizeof *out->items);
    if (!out->items) return sa_error_set(err, SA_ENOMEM, "%s: out of memory", name);
    size_t line = 0, pos = 0;
    while (pos < len && !st) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t end = nl ? (size_t)(nl - text) : len;
        line++;
        if (!blank(text + pos, end - pos))
            st = parse_line(text + pos, end - pos, name, line, out, err);
        pos = end + 1;
    }
    if (!st && !out->n) st = sa_error_set(err, SA_EFORMAT, "%s: no pairs (empty file)", name);
    if (st) sa_pairs_free(out);
    return st;
}

sa_status sa_pairs_read(const char *path, sa_pairs *out, sa_error *err) {
    char *data;
    size_t len;
    memset(out, 0, sizeof *out);
    sa_status st = sa_read_file(path, &data, &len, err);
    if (st) return st;
    st = sa_pairs_parse(data, len, path, out, err);
    free(data);
    return st;
}

/* Walk fmt; with out == NULL only validate and count. Returns the rendered length or -1. */
static long walk(const char *fmt, const char *q, const char *a, char *out, size_t *ab, size_t *ae,
                 int *n_answer, const char **bad) {
    size_t n = 0;
    *n_answer = 0;
    for (const char *p = fmt; *p;) {
        const char *ins = NULL;
        size_t skip = 1;
        if (!strncmp(p, "{{", 2))
            ins = "{", skip = 2;
        else if (!strncmp(p, "}}", 2))
            ins = "}", skip = 2;
        else if (!strncmp(p, "{question}", 10))
            ins = q, skip = 10;
        else if (!strncmp(p, "{answer}", 8)) {
            ins = a, skip = 8;
            if (ab) *ab = n;
            if (ae) *ae = n + strlen(a);
            (*n_answer)++;
        } else if (*p == '{' || *p == '}') {
            *bad = p;
            return -1;
        }
        if (ins) {
            size_t k = strlen(ins);
            if (out) memcpy(out + n, ins, k);
            n += k;
        } else {
            if (out) out[n] = *p;
            n++;
        }
        p += skip;
    }
    return (long)n;
}

sa_status sa_format_check(const char *fmt, sa_error *err) {
    int na;
    const char *bad = NULL;
    if (walk(fmt, "", "", NULL, NULL, NULL, &na, &bad) < 0)
        return sa_error_set(err, SA_EINVAL,
                            "--format: unknown field or lone brace at '%.20s' (use {question}, "
                            "{answer}, {{ and }})",
                            bad);
    if (na != 1)
        return sa_error_set(err, SA_EINVAL,
                            "--format: must contain {answer} exactly once (found %d)", na);
    return SA_OK;
}

sa_status sa_format_render(const char *fmt, const char *question, const char *answer, char **out,
                           size_t *ans_begin, size_t *ans_end, sa_error *err) {
    sa_status st = sa_format_check(fmt, err);
    if (st) return st;
    int na;
    const char *bad;
    const char *q = question ? question : "";
    long n = walk(fmt, q, answer, NULL, NULL, NULL, &na, &bad);
    char *s = malloc((size_t)n + 1);
    if (!s) return sa_error_set(err, SA_ENOMEM, "--format: out of memory");
    walk(fmt, q, answer, s, ans_begin, ans_end, &na, &bad);
    s[n] = '\0';
    *out = s;
    return SA_OK;
}
