/* json_syntax.c: would cJSON accept this text, given the memory? (formats/jsonl.h)
 *
 * cJSON returns NULL both for text it rejects and when an allocation fails, so that a loader
 * would call a good file "not valid JSON" when memory ran out. After a failed parse this check,
 * which allocates nothing, tells the two apart. It follows what cJSON 1.7 accepts, not RFC 8259
 * alone, because the question is why cJSON failed: whitespace is any byte up to 0x20, strings
 * may hold control characters, a \u escape with bad hex digits reads as U+0000 while a lone or
 * unpaired surrogate is refused, a number is what strtod reads of it (in the C locale; "01" and
 * "1." are numbers, "1e" is the number 1 followed by "e"), containers nest at most
 * CJSON_NESTING_LIMIT deep, and text after the first value is not looked at
 * (cJSON_ParseWithLength ignores it). Debian's cJSON 1.7.15 has no limit on a number's length
 * (upstream's first 1.7.15 read at most 63 characters); test_json_syntax compares the two. */
#include <string.h>

#include "formats/jsonl.h"

typedef struct scan {
    const unsigned char *s;
    size_t n, i;
} scan;

static void skip_space(scan *c) {
    while (c->i < c->n && c->s[c->i] <= 32) c->i++;
}

static int hex_value(const unsigned char *p) { /* cJSON's reading: a bad digit gives 0 */
    unsigned v = 0;
    for (int k = 0; k < 4; k++) {
        unsigned d = p[k];
        if (d >= '0' && d <= '9')
            v = v * 16 + (d - '0');
        else if ((d | 0x20) >= 'a' && (d | 0x20) <= 'f')
            v = v * 16 + ((d | 0x20) - 'a' + 10);
        else
            return 0;
    }
    return (int)v;
}

/* The \u escape at p (before end): its length (6 or 12), or 0 if cJSON refuses it. */
static size_t unicode_escape(const unsigned char *p, const unsigned char *end) {
    if (end - p < 6) return 0;
    int first = hex_value(p + 2);
    if (first >= 0xDC00 && first <= 0xDFFF) return 0;
    if (first < 0xD800 || first > 0xDBFF) return 6;
    const unsigned char *q = p + 6;
    if (end - q < 6 || q[0] != '\\' || q[1] != 'u') return 0;
    int second = hex_value(q + 2);
    return second >= 0xDC00 && second <= 0xDFFF ? 12 : 0;
}

static int string_ok(scan *c) {
    size_t e = c->i + 1;
    while (e < c->n && c->s[e] != '"') e += c->s[e] == '\\' ? 2 : 1;
    if (e >= c->n) return 0;
    const unsigned char *p = c->s + c->i + 1, *end = c->s + e;
    while (p < end) {
        if (*p != '\\') {
            p++;
            continue;
        }
        size_t k = 2;
        if (p[1] == 'u')
            k = unicode_escape(p, end);
        else if (!strchr("bfnrt\"\\/", p[1]) || !p[1])
            k = 0;
        if (!k) return 0;
        p += k;
    }
    c->i = e + 1;
    return 1;
}

static size_t digits(const scan *c, size_t k) {
    while (k < c->n && c->s[k] >= '0' && c->s[k] <= '9') k++;
    return k;
}

/* What strtod reads of the number at c->i (which starts with '-' or a digit): a sign, digits
 * with at most one point (some digit on either side), an exponent only if digits follow it. */
static int number_ok(scan *c) {
    size_t k = c->i + (c->s[c->i] == '-');
    size_t int_end = digits(c, k), end = int_end;
    if (end < c->n && c->s[end] == '.') {
        size_t frac_end = digits(c, end + 1);
        if (frac_end > end + 1 || int_end > k) end = frac_end;
    }
    if (end == k) return 0;
    if (end < c->n && (c->s[end] == 'e' || c->s[end] == 'E')) {
        size_t e = end + 1 + (end + 1 < c->n && (c->s[end + 1] == '+' || c->s[end + 1] == '-'));
        size_t exp_end = digits(c, e);
        if (exp_end > e) end = exp_end;
    }
    c->i = end;
    return 1;
}

static int value_ok(scan *c, int depth);

/* An array or an object (close is ']' or '}'), at c->s[c->i]. */
static int container_ok(scan *c, int depth, unsigned char close) {
    if (depth >= CJSON_NESTING_LIMIT) return 0;
    c->i++;
    skip_space(c);
    if (c->i < c->n && c->s[c->i] == close) return c->i++, 1;
    if (c->i >= c->n) return 0;
    c->i--;
    do {
        c->i++;
        skip_space(c);
        if (close == '}') {
            if (c->i >= c->n || c->s[c->i] != '"' || !string_ok(c)) return 0;
            skip_space(c);
            if (c->i >= c->n || c->s[c->i] != ':') return 0;
            c->i++;
            skip_space(c);
        }
        if (!value_ok(c, depth + 1)) return 0;
        skip_space(c);
    } while (c->i < c->n && c->s[c->i] == ',');
    if (c->i >= c->n || c->s[c->i] != close) return 0;
    c->i++;
    return 1;
}

static int literal_ok(scan *c, const char *word) {
    size_t k = strlen(word);
    if (c->n - c->i < k || memcmp(c->s + c->i, word, k)) return 0;
    c->i += k;
    return 1;
}

static int value_ok(scan *c, int depth) {
    if (c->i >= c->n) return 0;
    unsigned char ch = c->s[c->i];
    if (ch == 'n') return literal_ok(c, "null");
    if (ch == 't') return literal_ok(c, "true");
    if (ch == 'f') return literal_ok(c, "false");
    if (ch == '"') return string_ok(c);
    if (ch == '-' || (ch >= '0' && ch <= '9')) return number_ok(c);
    if (ch == '[') return container_ok(c, depth, ']');
    if (ch == '{') return container_ok(c, depth, '}');
    return 0;
}

int sa_json_syntax_ok(const char *text, size_t len) {
    scan c = {(const unsigned char *)text, len, 0};
    if (!text || !len) return 0;
    if (len > 4 && !memcmp(text, "\xEF\xBB\xBF", 3)) c.i = 3;
    skip_space(&c);
    return value_ok(&c, 0);
}
