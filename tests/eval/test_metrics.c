/* test_metrics.c: the Wilson score interval against published values.
 *
 * Reference values: Newcombe (1998), "Two-sided confidence intervals for the single proportion:
 * comparison of seven methods", Statistics in Medicine 17:857-872, Table I, method 3 (Wilson
 * score without continuity correction), quoted to 4 decimals. */
#include <math.h>

#include "common/check.h"
#include "safearith/eval.h"

static void near(long k, long n, double lo, double hi) {
    sa_interval r = sa_wilson(k, n, SA_Z95);
    CHECK_MSG(fabs(r.lo - lo) < 5e-5 && fabs(r.hi - hi) < 5e-5,
              "%ld/%ld: [%.5f, %.5f] vs [%.4f, %.4f]", k, n, r.lo, r.hi, lo, hi);
}

int main(void) {
    near(81, 263, 0.2553, 0.3662);
    near(15, 148, 0.0624, 0.1605);
    near(0, 20, 0.0000, 0.1611);
    near(1, 29, 0.0061, 0.1718);
    /* symmetry and edges */
    sa_interval a = sa_wilson(3, 10, SA_Z95), b = sa_wilson(7, 10, SA_Z95);
    CHECK(fabs(a.lo - (1 - b.hi)) < 1e-12 && fabs(a.hi - (1 - b.lo)) < 1e-12);
    sa_interval all = sa_wilson(20, 20, SA_Z95);
    CHECK(all.hi == 1.0 && fabs(all.lo - (1 - 0.1611)) < 5e-5);
    sa_interval none = sa_wilson(0, 0, SA_Z95);
    CHECK(none.lo == 0 && none.hi == 1);
    /* the point estimate lies inside; the interval narrows with n */
    sa_interval s = sa_wilson(103, 520, SA_Z95), l = sa_wilson(1030, 5200, SA_Z95);
    CHECK(s.lo < 103.0 / 520 && 103.0 / 520 < s.hi);
    CHECK(l.hi - l.lo < s.hi - s.lo);
    return CHECK_DONE();
}
