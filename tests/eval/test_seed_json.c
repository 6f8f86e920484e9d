/* test_seed_json.c: seeds in JSON are exact uint64 values (sa_json_u64 / sa_json_get_u64), and a
 * run directory written before (seeds as JSON numbers, fingerprinted in that form) still
 * resumes with the same seed, takes the current form on resume, and refuses another seed. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/check.h"
#include "eval/eval_json.h"
#include "formats/jsonl.h"

static void test_u64(void) {
    static const uint64_t vals[] = {
        0, 1, 42, 9007199254740992ull, 9007199254740993ull, 18446744073709551615ull};
    static const char *const texts[] = {
        "0", "1", "42", "9007199254740992", "9007199254740993", "18446744073709551615"};
    for (int i = 0; i < 6; i++) {
        cJSON *j = sa_json_u64(vals[i]);
        uint64_t back = 0;
        CHECK(cJSON_IsString(j) && !strcmp(j->valuestring, texts[i]));
        CHECK(sa_json_get_u64(j, &back) && back == vals[i]);
        cJSON_Delete(j);
    }
    static const char *const bad[] = {
        "\"\"", "\"-1\"", "\"01\"",           "\"1x\"", "\" 1\"", "\"18446744073709551616\"",
        "-1",   "1.5",    "9007199254740992", "1e300",  "true",   "null"};
    for (int i = 0; i < 12; i++) {
        cJSON *j = cJSON_Parse(bad[i]);
        uint64_t v = 7;
        CHECK_MSG(j && !sa_json_get_u64(j, &v) && v == 7, "%s accepted", bad[i]);
        cJSON_Delete(j);
    }
    cJSON *n = cJSON_CreateNumber(9007199254740991.0); /* 2^53 - 1: exact in a double */
    uint64_t v = 0;
    CHECK(sa_json_get_u64(n, &v) && v == 9007199254740991ull);
    cJSON_Delete(n);
}

/* The settings of a run with seed s, as now (a string) or as before (a JSON number). */
static cJSON *settings(uint64_t s, int legacy) {
    cJSON *st = cJSON_CreateObject(), *sel = cJSON_AddObjectToObject(st, "selection");
    cJSON_AddNumberToObject(sel, "sample", 3);
    if (legacy)
        cJSON_AddNumberToObject(sel, "seed", (double)s);
    else
        sa_json_attach(sel, "seed", sa_json_u64(s));
    return st;
}

static sa_status reopen(const char *dir, uint64_t seed, sa_error *err) {
    cJSON *st = settings(seed, 0);
    sa_eval_rundir rd;
    sa_status s = sa_eval_rundir_open(dir, st, NULL, 1, &rd, err);
    if (!s) sa_eval_rundir_close(&rd);
    cJSON_Delete(st);
    return s;
}

static void test_resume(const char *root, uint64_t seed, int legacy) {
    char dir[512];
    snprintf(dir, sizeof dir, "%s/run-%llu-%d", root, (unsigned long long)seed, legacy);
    cJSON *st = settings(seed, legacy);
    sa_eval_rundir rd;
    sa_error err;
    CHECK(sa_eval_rundir_open(dir, st, NULL, 0, &rd, &err) == SA_OK);
    sa_eval_rundir_close(&rd);
    cJSON_Delete(st);
    /* an old run with a seed a double cannot hold was never reproducible: refused */
    int exact = seed < (1ull << 53);
    sa_status same = reopen(dir, seed, &err);
    CHECK_MSG(legacy && !exact ? same == SA_EMISMATCH : same == SA_OK, "seed %llu legacy %d: %s",
              (unsigned long long)seed, legacy, err.msg);
    if (same == SA_OK) { /* run.json now holds the seed as a string */
        char path[600];
        snprintf(path, sizeof path, "%s/run.json", dir);
        cJSON *run = NULL;
        CHECK(sa_json_read(path, &run, &err) == SA_OK);
        const cJSON *s = cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(run, "settings"),
                                             "selection"),
            "seed");
        uint64_t back = 0;
        CHECK(cJSON_IsString(s) && sa_json_get_u64(s, &back) && back == seed);
        cJSON_Delete(run);
        CHECK(reopen(dir, seed, &err) == SA_OK);
    }
    for (int d = -1; d <= 1; d += 2) {
        if ((d < 0 && seed == 0) || (d > 0 && seed == UINT64_MAX)) continue;
        CHECK(reopen(dir, seed + (uint64_t)(int64_t)d, &err) == SA_EMISMATCH);
        CHECK_STR_CONTAINS(err.msg, "settings.selection.seed");
    }
}

int main(void) {
    test_u64();
    char root[] = "/tmp/sa_seed_json_XXXXXX";
    if (!mkdtemp(root)) return 1;
    static const uint64_t seeds[] = {5, 9007199254740993ull, 18446744073709551615ull};
    for (int i = 0; i < 3; i++)
        for (int legacy = 0; legacy < 2; legacy++) test_resume(root, seeds[i], legacy);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    if (system(cmd) != 0) CHECK(0);
    return CHECK_DONE();
}
