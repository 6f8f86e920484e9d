/* test_json_syntax.c: sa_json_syntax_ok against cJSON itself. The check exists to say why cJSON
 * failed (an allocation, or the text), so it must accept exactly what cJSON accepts when memory
 * is plentiful: on cases written for each rule it follows (surrogates, bad hex digits, control
 * characters, numbers strtod reads in part, the 63-character number buffer, the nesting limit, a
 * byte-order mark, text after the value) and on random mutations of real files (the organisms'
 * tokenizer.json and config.json, lines of an evaluation dataset). */
#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/check.h"
#include "core/fsutil.h"
#include "formats/jsonl.h"

static int cjson_accepts(const char *s, size_t n) {
    cJSON *v = cJSON_ParseWithLength(s, n);
    cJSON_Delete(v);
    return v != NULL;
}

static void agree(const char *s, size_t n, const char *what) {
    int want = cjson_accepts(s, n), got = sa_json_syntax_ok(s, n);
    CHECK_MSG(want == got, "%s: cJSON %s, the check %s: \"%.*s\"", what,
              want ? "accepts" : "refuses", got ? "accepts" : "refuses", (int)(n > 80 ? 80 : n), s);
}

static void cases(void) {
    static const char *const texts[] = {"null",
                                        "true",
                                        "false",
                                        "nul",
                                        "tru",
                                        "nullx",
                                        "[nullx]",
                                        "1",
                                        "-",
                                        "-1.5e3",
                                        "01",
                                        "1.",
                                        "-.5",
                                        "1e",
                                        "[1e]",
                                        "[1e+]",
                                        "1e+",
                                        "[0x10]",
                                        "[1-2]",
                                        "[+1]",
                                        "+1",
                                        ".5",
                                        "\"a\"",
                                        "\"a",
                                        "\"\\\"",
                                        "\"\\\\\"",
                                        "\"\\x\"",
                                        "\"\\u00e9\"",
                                        "\"\\u00\"",
                                        "\"\\uZZZZ\"",
                                        "\"\\ud83d\\ude00\"",
                                        "\"\\ud83d\"",
                                        "\"\\ude00\"",
                                        "\"\\ud83d\\u0041\"",
                                        "\"\\ud83dx\"",
                                        "\"tab\there\"",
                                        "\"nl\nhere\"",
                                        "[]",
                                        "[ ]",
                                        "[",
                                        "[1,]",
                                        "[,1]",
                                        "[1 2]",
                                        "{}",
                                        "{ }",
                                        "{\"a\":1}",
                                        "{\"a\" : [1, {\"b\": null}]}",
                                        "{a:1}",
                                        "{\"a\"1}",
                                        "{\"a\":}",
                                        "{\"a\":1,}",
                                        "{\"a\":1",
                                        "\x01\x02[1]\x1f",
                                        "\xEF\xBB\xBF[1]",
                                        "\xEF\xBB\xBF\x31", /* BOM, then 1 */
                                        "[1] trailing",
                                        "1 2",
                                        "",
                                        " ",
                                        "\t\n",
                                        "[\"\\/\\b\\f\\n\\r\\t\"]",
                                        "{\"\\u0000\":0}",
                                        "[1e999]",
                                        "[-0]",
                                        "[1E+2,1e-2]",
                                        "[true,false,null]",
                                        "[tRue]"};
    for (size_t i = 0; i < sizeof texts / sizeof *texts; i++)
        agree(texts[i], strlen(texts[i]), "case");
    /* a NUL inside: cJSON reads by length */
    agree("[1,\0 2]", 7, "NUL");
    agree("\"a\0b\"", 5, "NUL in a string");
    /* numbers around cJSON's 63-character buffer */
    char num[200];
    for (int len = 60; len <= 66; len++) {
        num[0] = '[';
        memset(num + 1, '7', (size_t)len);
        num[len + 1] = ']';
        agree(num, (size_t)len + 2, "long number");
        agree(num + 1, (size_t)len, "long number, alone");
    }
    /* nesting at cJSON's limit and one beyond */
    static char deep[2 * CJSON_NESTING_LIMIT + 8];
    for (int d = CJSON_NESTING_LIMIT - 1; d <= CJSON_NESTING_LIMIT + 1; d++) {
        memset(deep, '[', (size_t)d);
        memset(deep + d, ']', (size_t)d);
        agree(deep, 2 * (size_t)d, "nesting");
        for (int k = 0; k < d; k++) deep[k] = k % 2 ? '[' : '{';
        size_t n = 0;
        char *o = malloc(8 * (size_t)d + 8);
        for (int k = 0; k < d; k++) n += (size_t)sprintf(o + n, k % 2 ? "[" : "{\"k\":");
        o[n++] = '0';
        for (int k = d - 1; k >= 0; k--) o[n++] = k % 2 ? ']' : '}';
        agree(o, n, "nesting, objects and arrays");
        free(o);
    }
}

static uint64_t rng = 0x9E3779B97F4A7C15u;
static uint64_t next(void) {
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return rng;
}

/* `rounds` copies of the file's text, each with a few random edits: a byte replaced by one that
 * matters to JSON, a byte deleted, a span duplicated, the text cut short. */
static void mutations(const char *path, int rounds, size_t max_len) {
    char *text;
    size_t len;
    sa_error err;
    if (sa_read_file(path, &text, &len, &err) != SA_OK) {
        CHECK_MSG(0, "%s", err.msg);
        return;
    }
    if (len > max_len) len = max_len;
    static const char special[] = "\"\\{}[],:-+.0123456789eEu \t\n\x01\xEF\xBB\xBFntfrl";
    char *m = malloc(2 * len + 16);
    int accepted = 0;
    for (int r = 0; r < rounds; r++) {
        size_t n = len;
        memcpy(m, text, n);
        int edits = 1 + (int)(next() % 3);
        for (int e = 0; e < edits && n; e++) {
            size_t at = next() % n;
            switch (next() % 4) {
            case 0:
                m[at] = special[next() % (sizeof special - 1)];
                break;
            case 1:
                memmove(m + at, m + at + 1, n - at - 1), n--;
                break;
            case 2: {
                size_t k = 1 + next() % 8;
                if (at + k > n) k = n - at;
                memmove(m + at + k, m + at, n - at), n += k;
                break;
            }
            default:
                n = at + 1;
                break;
            }
        }
        accepted += cjson_accepts(m, n);
        agree(m, n, path);
    }
    printf("%s: %d mutations, %d of them JSON to cJSON\n", path, rounds, accepted);
    free(m);
    free(text);
}

int main(void) {
    cases();
    const char *src = getenv("SA_SOURCE_DIR");
    char path[1024];
    static const char *const files[] = {"models/base/config.json", "models/base/tokenizer.json",
                                        "models/base/tokenizer_config.json"};
    for (size_t i = 0; src && i < sizeof files / sizeof *files; i++) {
        snprintf(path, sizeof path, "%s/%s", src, files[i]);
        mutations(path, i == 1 ? 400 : 20000, i == 1 ? 1 << 20 : 4096);
    }
    CHECK_MSG(src != NULL, "SA_SOURCE_DIR is not set");
    return CHECK_DONE();
}
