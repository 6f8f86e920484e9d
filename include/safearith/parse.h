/* parse.h: reading numbers that people type (flags, recipe values, dataset options) strictly.
 *
 * One rule everywhere: integers are decimal only ("0x10", "010" with a sign of octal, "1e3",
 * " 5", "+5" and "5.0" are refused), within [lo, hi], and overflow is an error, never a wrap or a
 * clamp. Floats are decimal ("1.5", "-2e-3", ".5"; no hex floats, no inf/nan), finite and within
 * [lo, hi]. Seeds are integers in the full uint64 range. Each call names `what` (the flag or
 * field) in its one-line error, e.g. "--top-k: expected an integer in [0, 1073741824], got '0x10'".
 */
#ifndef SAFEARITH_PARSE_H
#define SAFEARITH_PARSE_H

#include <stdint.h>

#include "safearith/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A decimal integer in [lo, hi]. */
sa_status sa_parse_i64(const char *what, const char *s, int64_t lo, int64_t hi, int64_t *out,
                       sa_error *err);
/* A decimal unsigned integer in [0, UINT64_MAX] (a seed); a sign is refused. */
sa_status sa_parse_u64(const char *what, const char *s, uint64_t *out, sa_error *err);
/* A finite decimal number in [lo, hi]. */
sa_status sa_parse_f64(const char *what, const char *s, double lo, double hi, double *out,
                       sa_error *err);
/* "A" or "A-B" (decimal, 0 <= A <= B <= hi) into *lo, *hi. */
sa_status sa_parse_range(const char *what, const char *s, int64_t hi_max, int64_t *lo, int64_t *hi,
                         sa_error *err);

#ifdef __cplusplus
}
#endif

#endif
