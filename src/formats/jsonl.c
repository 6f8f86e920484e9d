/* jsonl.c: JSON Lines and whole-file JSON reading on top of cJSON, with line-numbered errors.
 *
 * cJSON accepts any bytes inside strings, so the text is checked for valid UTF-8 first. For a
 * whole JSON document the position where cJSON stopped is turned into a line number. */
#include "formats/jsonl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formats/text.h"
#include "core/fsutil.h"

static int blank_line(const char *s, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (!strchr(" \t\r\n", s[i])) return 0;
    return 1;
}

sa_status sa_jsonl_parse(const char *text, size_t len, const char *path, int allow_empty,
                         cJSON **out, size_t **line_of, sa_error *err) {
    *out = NULL;
    if (line_of) *line_of = NULL;
    sa_status st = sa_text_check(text, len, path, err);
    if (st) return st;
    cJSON *arr = cJSON_CreateArray();
    size_t *lines = NULL, n = 0, cap = 0, line = 0, pos = 0;
    if (!arr) return sa_error_set(err, SA_ENOMEM, "%s: out of memory", path);
    while (pos < len) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t end = nl ? (size_t)(nl - text) : len;
        line++;
        if (!blank_line(text + pos, end - pos)) {
            cJSON *v = cJSON_ParseWithLength(text + pos, end - pos);
            if (!v) {
                cJSON_Delete(arr);
                free(lines);
                if (sa_json_syntax_ok(text + pos, end - pos))
                    return sa_error_set(err, SA_ENOMEM, "%s: line %zu: out of memory", path, line);
                return sa_error_set(err, SA_EFORMAT, "%s: line %zu: not valid JSON%s", path, line,
                                    nl ? "" : " (truncated last line?)");
            }
            cJSON_AddItemToArray(arr, v);
            if (n == cap) {
                cap = cap ? cap * 2 : 64;
                size_t *nlines = realloc(lines, cap * sizeof *nlines);
                if (!nlines) {
                    cJSON_Delete(arr);
                    free(lines);
                    return sa_error_set(err, SA_ENOMEM, "%s: out of memory", path);
                }
                lines = nlines;
            }
            lines[n++] = line;
        }
        pos = end + 1;
    }
    if (!n && !allow_empty) {
        cJSON_Delete(arr);
        free(lines);
        return sa_error_set(err, SA_EFORMAT, "%s: empty file (no JSON lines)", path);
    }
    *out = arr;
    if (line_of)
        *line_of = lines;
    else
        free(lines);
    return SA_OK;
}

sa_status sa_jsonl_read(const char *path, int allow_empty, cJSON **out, size_t **line_of,
                        sa_error *err) {
    char *data = NULL;
    size_t len = 0;
    sa_status st = sa_read_file(path, &data, &len, err);
    if (st) return st;
    st = sa_jsonl_parse(data, len, path, allow_empty, out, line_of, err);
    free(data);
    return st;
}

sa_status sa_json_parse(const char *text, size_t len, const char *path, cJSON **out,
                        sa_error *err) {
    *out = NULL;
    sa_status st = sa_text_check(text, len, path, err);
    if (st) return st;
    if (blank_line(text, len)) return sa_error_set(err, SA_EFORMAT, "%s: empty file", path);
    const char *end = NULL;
    cJSON *v = cJSON_ParseWithLengthOpts(text, len, &end, 0);
    if (!v && sa_json_syntax_ok(text, len))
        return sa_error_set(err, SA_ENOMEM, "%s: out of memory", path);
    if (!v) {
        size_t off = end && end >= text && end <= text + len ? (size_t)(end - text) : 0;
        return sa_error_set(err, SA_EFORMAT, "%s: line %zu: not valid JSON", path,
                            sa_text_line_of(text, off));
    }
    if (end && !blank_line(end, len - (size_t)(end - text))) {
        size_t off = (size_t)(end - text);
        while (off < len && strchr(" \t\r\n", text[off])) off++; /* the line of the extra text */
        cJSON_Delete(v);
        return sa_error_set(err, SA_EFORMAT, "%s: line %zu: text after the JSON value", path,
                            sa_text_line_of(text, off));
    }
    *out = v;
    return SA_OK;
}

sa_status sa_json_read(const char *path, cJSON **out, sa_error *err) {
    char *data = NULL;
    size_t len = 0;
    sa_status st = sa_read_file(path, &data, &len, err);
    if (st) return st;
    st = sa_json_parse(data, len, path, out, err);
    free(data);
    return st;
}

cJSON *sa_json_u64(uint64_t v) {
    char s[24];
    snprintf(s, sizeof s, "%llu", (unsigned long long)v);
    return cJSON_CreateString(s);
}

int sa_json_get_u64(const cJSON *item, uint64_t *out) {
    if (cJSON_IsNumber(item)) {
        double d = item->valuedouble;
        if (!(d >= 0 && d < 9007199254740992.0) || d != (double)(uint64_t)d) return 0;
        *out = (uint64_t)d;
        return 1;
    }
    if (!cJSON_IsString(item)) return 0;
    const char *s = item->valuestring;
    uint64_t v = 0;
    if (!*s || (s[0] == '0' && s[1])) return 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9' || v > (UINT64_MAX - (uint64_t)(*s - '0')) / 10) return 0;
        v = v * 10 + (uint64_t)(*s - '0');
    }
    *out = v;
    return 1;
}

int sa_json_attach(cJSON *parent, const char *key, cJSON *item) {
    int ok = parent && item &&
             (key ? cJSON_AddItemToObject(parent, key, item) : cJSON_AddItemToArray(parent, item));
    if (!ok) cJSON_Delete(item);
    return ok;
}
