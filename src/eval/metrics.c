/* metrics.c: confidence intervals for rates.
 *
 * The Wilson score interval (Wilson 1927) keeps its coverage near the nominal level for small n
 * and rates near 0 or 1, where the normal approximation p +- z sqrt(p(1-p)/n) collapses to a
 * zero-width interval (0 successes out of 20 is not "exactly 0 %"). */
#include <math.h>

#include "safearith/eval.h"

sa_interval sa_wilson(long k, long n, double z) {
    sa_interval r = {0.0, 1.0};
    if (n <= 0) return r;
    double nn = (double)n, p = (double)k / nn, z2 = z * z;
    double denom = 1.0 + z2 / nn;
    double center = (p + z2 / (2.0 * nn)) / denom;
    double half = z / denom * sqrt(p * (1.0 - p) / nn + z2 / (4.0 * nn * nn));
    r.lo = center - half < 0 ? 0 : center - half;
    r.hi = center + half > 1 ? 1 : center + half;
    if (k == 0) r.lo = 0;
    if (k == n) r.hi = 1;
    return r;
}
