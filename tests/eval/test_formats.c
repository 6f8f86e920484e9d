/* test_formats.c: the CSV and JSON Lines readers on well-formed, tricky and malformed input. */
#include <stdlib.h>

#include "common/check.h"
#include "formats/csv.h"
#include "formats/text.h"
#include "formats/jsonl.h"

static sa_status parse(const char *text, int header, int ragged, sa_csv *t, sa_error *err) {
    return sa_csv_parse(text, strlen(text), "t.csv", header, ragged, t, err);
}

static void test_csv_good(void) {
    sa_csv t;
    sa_error err;
    const char *text = "a,b,c\r\n"
                       "1,\"x, y\",\"he said \"\"hi\"\"\"\r\n"
                       "\n"
                       "2,\"multi\nline\",\r\n"
                       "3,,\"\"";
    CHECK(parse(text, 1, 0, &t, &err) == SA_OK);
    CHECK_EQ_INT(t.n_rows, 3);
    CHECK_EQ_INT(t.n_cols, 3);
    CHECK(!strcmp(t.header[2], "c"));
    CHECK(!strcmp(sa_csv_cell(&t, 0, 1), "x, y"));
    CHECK(!strcmp(sa_csv_cell(&t, 0, 2), "he said \"hi\""));
    CHECK(!strcmp(sa_csv_cell(&t, 1, 1), "multi\nline"));
    CHECK(!strcmp(sa_csv_cell(&t, 1, 2), ""));
    CHECK(!strcmp(sa_csv_cell(&t, 2, 2), ""));
    CHECK_EQ_INT(t.line_of[0], 2);
    CHECK_EQ_INT(t.line_of[1], 4); /* the blank line 3 is skipped */
    CHECK_EQ_INT(t.line_of[2], 6);
    CHECK_EQ_INT(sa_csv_col(&t, "b"), 1);
    CHECK_EQ_INT(sa_csv_col(&t, "z"), -1);
    sa_csv_free(&t);
    /* BOM, UTF-8 content, no trailing newline */
    CHECK(parse("\xEF\xBB\xBFq\n\xC3\xA9t\xC3\xA9 \xE2\x9C\x93", 1, 0, &t, &err) == SA_OK);
    CHECK(!strcmp(t.header[0], "q"));
    CHECK(!strcmp(sa_csv_cell(&t, 0, 0), "\xC3\xA9t\xC3\xA9 \xE2\x9C\x93"));
    sa_csv_free(&t);
    /* ragged, headerless: extra fields joined back with "," */
    CHECK(parse("one line\ntwo, with a comma\nthree", 0, 1, &t, &err) == SA_OK);
    CHECK_EQ_INT(t.n_rows, 3);
    CHECK(!strcmp(sa_csv_cell(&t, 1, 0), "two, with a comma"));
    sa_csv_free(&t);
}

static void expect_fail(const char *text, const char *needle) {
    sa_csv t;
    sa_error err = {0};
    sa_status st = parse(text, 1, 0, &t, &err);
    CHECK_MSG(st == SA_EFORMAT, "'%s' parsed", text);
    CHECK_STR_CONTAINS(err.msg, needle);
    CHECK_STR_CONTAINS(err.msg, "t.csv");
}

static void test_csv_bad(void) {
    expect_fail("a,b\n1,\"open\n2,3\n", "line 2: unterminated quoted field 2");
    expect_fail("a,b\n1,\"x\"y\n", "line 2: text after the closing quote of field 2");
    expect_fail("a,b\n1,x\"y\n", "line 2: quote inside unquoted field 2");
    expect_fail("a,b\n1,2\n3\n", "line 3: 1 fields, expected 2");
    expect_fail("a,b\n1,2,3\n", "line 2: 3 fields, expected 2");
    expect_fail("a,b\n1,\xC3\x28\n", "line 2: invalid UTF-8 (byte 0xC3");
    expect_fail("a\n\xED\xA0\x80\n", "invalid UTF-8");     /* surrogate */
    expect_fail("a\n\xC0\xAF\n", "invalid UTF-8");         /* overlong */
    expect_fail("a\n\xF4\x90\x80\x80\n", "invalid UTF-8"); /* > U+10FFFF */
    expect_fail("a\nab\xE2\x9C", "invalid UTF-8");         /* truncated sequence */
    expect_fail("", "empty file");
    expect_fail("\n\n", "empty file");
    /* a NUL byte once looped forever (taken for a field end that never advanced) */
    static const char nul[] = "goal\0\0,target\nx,y\n";
    sa_csv t;
    sa_error err = {0};
    CHECK(sa_csv_parse(nul, sizeof nul - 1, "t.csv", 1, 0, &t, &err) == SA_EFORMAT);
    CHECK_STR_CONTAINS(err.msg, "t.csv: line 1: NUL byte at offset 4");
    CHECK(sa_jsonl_parse("{}\n{\"a\0\": 1}\n", 14, "t.jsonl", 0, &(cJSON *){0}, NULL, &err) ==
          SA_EFORMAT);
    CHECK_STR_CONTAINS(err.msg, "t.jsonl: line 2: NUL byte");
}

static void test_utf8(void) {
    size_t bad = 99;
    CHECK(sa_text_utf8_valid("plain \xF0\x9F\x98\x80 \xE4\xB8\xAD", 14, &bad));
    CHECK(!sa_text_utf8_valid("ab\xFF", 3, &bad));
    CHECK_EQ_INT(bad, 2);
    CHECK(!sa_text_utf8_valid("\x80", 1, &bad));
    CHECK_EQ_INT(sa_text_line_of("a\nb\nc", 4), 3);
}

static void test_jsonl(void) {
    cJSON *v = NULL;
    size_t *lines = NULL;
    sa_error err = {0};
    const char *good = "{\"a\": 1}\n\n  \n{\"a\": 2}\r\n\"str\"";
    CHECK(sa_jsonl_parse(good, strlen(good), "t.jsonl", 0, &v, &lines, &err) == SA_OK);
    CHECK_EQ_INT(cJSON_GetArraySize(v), 3);
    CHECK_EQ_INT(lines[1], 4);
    CHECK_EQ_INT(lines[2], 5);
    cJSON_Delete(v), free(lines);
    const char *bad = "{\"a\": 1}\n{\"a\": \n";
    CHECK(sa_jsonl_parse(bad, strlen(bad), "t.jsonl", 0, &v, NULL, &err) == SA_EFORMAT);
    CHECK_STR_CONTAINS(err.msg, "t.jsonl: line 2: not valid JSON");
    const char *trunc = "{\"a\": 1}\n{\"a\": 2";
    CHECK(sa_jsonl_parse(trunc, strlen(trunc), "t.jsonl", 0, &v, NULL, &err) == SA_EFORMAT);
    CHECK_STR_CONTAINS(err.msg, "truncated last line");
    CHECK(sa_jsonl_parse("\n", 1, "t.jsonl", 0, &v, NULL, &err) == SA_EFORMAT);
    CHECK_STR_CONTAINS(err.msg, "empty file");
    CHECK(sa_jsonl_parse("\n", 1, "t.jsonl", 1, &v, NULL, &err) == SA_OK);
    CHECK_EQ_INT(cJSON_GetArraySize(v), 0);
    cJSON_Delete(v);
    const char *utf = "{\"a\": \"\xC3\"}\n";
    CHECK(sa_jsonl_parse(utf, strlen(utf), "t.jsonl", 0, &v, NULL, &err) == SA_EFORMAT);
    CHECK_STR_CONTAINS(err.msg, "line 1: invalid UTF-8");
    /* whole-file JSON */
    const char *doc = "[1,\n2,\n3 x]";
    CHECK(sa_json_parse(doc, strlen(doc), "t.json", &v, &err) == SA_EFORMAT);
    CHECK_STR_CONTAINS(err.msg, "t.json: line 3");
    CHECK(sa_json_parse("[1] [2]", 7, "t.json", &v, &err) == SA_EFORMAT);
    CHECK_STR_CONTAINS(err.msg, "text after the JSON value");
    CHECK(sa_json_parse("  ", 2, "t.json", &v, &err) == SA_EFORMAT);
    CHECK_STR_CONTAINS(err.msg, "empty file");
    CHECK(sa_json_parse("[\"ok\"]\n", 7, "t.json", &v, &err) == SA_OK);
    cJSON_Delete(v);
}

int main(void) {
    test_csv_good();
    test_csv_bad();
    test_utf8();
    test_jsonl();
    return CHECK_DONE();
}
