/* test_parse_num.c: the strict number parsers of parse.h, the one rule behind every numeric flag:
 * decimal only (hex, octal-looking, blanks, '+' refused), range-checked, overflow refused, seeds
 * over the full uint64 range, fractions refused where an integer is expected. */
#include <stdint.h>

#include "safearith/parse.h"

#include "common/check.h"

static int i64_ok(const char *s, int64_t lo, int64_t hi, int64_t want) {
    int64_t v = -12345;
    return sa_parse_i64("--n", s, lo, hi, &v, NULL) == SA_OK && v == want;
}

static int i64_bad(const char *s, int64_t lo, int64_t hi) {
    int64_t v = 777;
    sa_error err;
    return sa_parse_i64("--n", s, lo, hi, &v, &err) == SA_EINVAL && v == 777 &&
           strstr(err.msg, "--n") && strstr(err.msg, s);
}

int main(void) {
    /* integers */
    CHECK(i64_ok("0", 0, 10, 0));
    CHECK(i64_ok("10", 0, 10, 10));
    CHECK(i64_ok("-3", -5, 5, -3));
    CHECK(i64_ok("9223372036854775807", 0, INT64_MAX, INT64_MAX));
    CHECK(i64_bad("0x10", 0, 1 << 30)); /* hex */
    CHECK(i64_bad("010", 0, 100));      /* would be octal to strtol(.., 0) */
    CHECK(i64_bad("1.5", 0, 100));      /* a fraction */
    CHECK(i64_bad("1e3", 0, 10000));    /* exponent */
    CHECK(i64_bad(" 5", 0, 10));        /* leading blank */
    CHECK(i64_bad("+5", 0, 10));        /* sign */
    CHECK(i64_bad("5 ", 0, 10));        /* trailing blank */
    CHECK(i64_bad("", 0, 10));
    CHECK(i64_bad("11", 0, 10)); /* range */
    CHECK(i64_bad("-1", 0, 10));
    CHECK(i64_bad("9223372036854775808", 0, INT64_MAX)); /* overflows int64 */
    CHECK(i64_bad("99999999999999999999999", 0, INT64_MAX));
    CHECK(i64_bad("4294967296", 0, INT32_MAX)); /* would wrap to 0 in an int */
    CHECK(sa_parse_i64("--n", NULL, 0, 1, &(int64_t){0}, NULL) == SA_EINVAL);

    /* seeds: the full uint64 range */
    uint64_t u = 0;
    CHECK(sa_parse_u64("--seed", "18446744073709551615", &u, NULL) == SA_OK && u == UINT64_MAX);
    CHECK(sa_parse_u64("--seed", "9007199254740993", &u, NULL) == SA_OK &&
          u == 9007199254740993ull); /* 2^53 + 1: not representable as a double */
    CHECK(sa_parse_u64("--seed", "0", &u, NULL) == SA_OK && u == 0);
    CHECK(sa_parse_u64("--seed", "18446744073709551616", &u, NULL) == SA_EINVAL); /* 2^64 */
    CHECK(sa_parse_u64("--seed", "1.5", &u, NULL) == SA_EINVAL);
    CHECK(sa_parse_u64("--seed", "-1", &u, NULL) == SA_EINVAL); /* strtoull would wrap */
    CHECK(sa_parse_u64("--seed", "0x10", &u, NULL) == SA_EINVAL);
    CHECK(sa_parse_u64("--seed", "1e3", &u, NULL) == SA_EINVAL);

    /* floats */
    double d = 0;
    CHECK(sa_parse_f64("--top-k", "12.5", 0, 100, &d, NULL) == SA_OK && d == 12.5);
    CHECK(sa_parse_f64("--top-k", ".5", 0, 100, &d, NULL) == SA_OK && d == 0.5);
    CHECK(sa_parse_f64("--lambda", "-2e-3", -1, 1, &d, NULL) == SA_OK && d == -2e-3);
    CHECK(sa_parse_f64("--x", "1E2", 0, 1000, &d, NULL) == SA_OK && d == 100);
    sa_error err;
    CHECK(sa_parse_f64("--top-k", "0x10", 0, 100, &d, &err) == SA_EINVAL); /* hex float */
    CHECK_STR_CONTAINS(err.msg, "--top-k");
    CHECK_STR_CONTAINS(err.msg, "0x10");
    CHECK(sa_parse_f64("--x", "inf", -1e300, 1e300, &d, NULL) == SA_EINVAL);
    CHECK(sa_parse_f64("--x", "nan", 0, 1, &d, NULL) == SA_EINVAL);
    CHECK(sa_parse_f64("--x", "1e400", 0, 1e308, &d, NULL) == SA_EINVAL); /* overflow */
    CHECK(sa_parse_f64("--x", "101", 0, 100, &d, NULL) == SA_EINVAL);
    CHECK(sa_parse_f64("--x", "1.", 0, 100, &d, NULL) == SA_OK && d == 1);
    CHECK(sa_parse_f64("--x", ".", 0, 100, &d, NULL) == SA_EINVAL);
    CHECK(sa_parse_f64("--x", "1e", 0, 100, &d, NULL) == SA_EINVAL);
    CHECK(sa_parse_f64("--x", " 1", 0, 100, &d, NULL) == SA_EINVAL);
    CHECK(sa_parse_f64("--x", "", 0, 100, &d, NULL) == SA_EINVAL);

    /* layer ranges */
    int64_t lo = -1, hi = -1;
    CHECK(sa_parse_range("--layers", "4-6", 1000, &lo, &hi, NULL) == SA_OK && lo == 4 && hi == 6);
    CHECK(sa_parse_range("--layers", "3", 1000, &lo, &hi, NULL) == SA_OK && lo == 3 && hi == 3);
    CHECK(sa_parse_range("--layers", "6-4", 1000, &lo, &hi, NULL) == SA_EINVAL);
    CHECK(sa_parse_range("--layers", "0x1-2", 1000, &lo, &hi, NULL) == SA_EINVAL);
    CHECK(sa_parse_range("--layers", "-1", 1000, &lo, &hi, NULL) == SA_EINVAL);
    CHECK(sa_parse_range("--layers", "1-", 1000, &lo, &hi, NULL) == SA_EINVAL);
    CHECK(sa_parse_range("--layers", "1-99999999999999999999", 1000, &lo, &hi, NULL) == SA_EINVAL);
    return CHECK_DONE();
}
