/* parse_num.c: strict decimal number parsing (parse.h).
 *
 * strtol/strtod alone are too lenient for values people type: they skip leading blanks, accept
 * '+', hex ("0x10" through strtod) and inf/nan. Each parser first checks the characters against
 * a decimal grammar, then converts with errno watching for overflow, then checks the range. */
#include "safearith/parse.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* [-]digits, no leading zeros beyond a lone "0" (so "010" cannot be mistaken for octal). */
static int is_decimal_int(const char *s, int allow_sign) {
    if (allow_sign && *s == '-') s++;
    if (!*s || (s[0] == '0' && s[1])) return 0;
    return strspn(s, "0123456789") == strlen(s);
}

/* [-]digits[.digits][e[+-]digits], or [-].digits...; at least one digit in the mantissa. */
static int is_decimal_float(const char *s) {
    if (*s == '-') s++;
    size_t a = strspn(s, "0123456789");
    s += a;
    size_t b = 0;
    if (*s == '.') b = strspn(++s, "0123456789"), s += b;
    if (a + b == 0) return 0;
    if (*s == 'e' || *s == 'E') {
        s++;
        if (*s == '+' || *s == '-') s++;
        size_t e = strspn(s, "0123456789");
        if (!e) return 0;
        s += e;
    }
    return *s == '\0';
}

sa_status sa_parse_i64(const char *what, const char *s, int64_t lo, int64_t hi, int64_t *out,
                       sa_error *err) {
    if (s && is_decimal_int(s, 1)) {
        errno = 0;
        long long v = strtoll(s, NULL, 10);
        if (!errno && v >= lo && v <= hi) {
            *out = (int64_t)v;
            return SA_OK;
        }
    }
    return sa_error_set(err, SA_EINVAL,
                        "%s: expected a decimal integer in [%" PRId64 ", %" PRId64 "], got '%s'",
                        what, lo, hi, s ? s : "");
}

sa_status sa_parse_u64(const char *what, const char *s, uint64_t *out, sa_error *err) {
    if (s && is_decimal_int(s, 0)) {
        errno = 0;
        unsigned long long v = strtoull(s, NULL, 10);
        if (!errno && v <= UINT64_MAX) {
            *out = (uint64_t)v;
            return SA_OK;
        }
    }
    return sa_error_set(err, SA_EINVAL,
                        "%s: expected a decimal integer in [0, %" PRIu64 "], got '%s'", what,
                        UINT64_MAX, s ? s : "");
}

sa_status sa_parse_f64(const char *what, const char *s, double lo, double hi, double *out,
                       sa_error *err) {
    if (s && is_decimal_float(s)) {
        errno = 0;
        double v = strtod(s, NULL);
        if (!errno && isfinite(v) && v >= lo && v <= hi) {
            *out = v;
            return SA_OK;
        }
    }
    return sa_error_set(err, SA_EINVAL, "%s: expected a decimal number in [%g, %g], got '%s'", what,
                        lo, hi, s ? s : "");
}

sa_status sa_parse_range(const char *what, const char *s, int64_t hi_max, int64_t *lo, int64_t *hi,
                         sa_error *err) {
    const char *dash = s ? strchr(s, '-') : NULL;
    char a[32], b[32];
    size_t na = dash ? (size_t)(dash - s) : (s ? strlen(s) : 0);
    if (s && na < sizeof a && (!dash || strlen(dash + 1) < sizeof b)) {
        memcpy(a, s, na);
        a[na] = '\0';
        snprintf(b, sizeof b, "%s", dash ? dash + 1 : a);
        int64_t x, y;
        if (!sa_parse_i64(what, a, 0, hi_max, &x, NULL) &&
            !sa_parse_i64(what, b, 0, hi_max, &y, NULL) && x <= y) {
            *lo = x;
            *hi = y;
            return SA_OK;
        }
    }
    return sa_error_set(err, SA_EINVAL,
                        "%s: expected A or A-B (decimal, 0 <= A <= B <= %" PRId64 "), got '%s'",
                        what, hi_max, s ? s : "");
}
