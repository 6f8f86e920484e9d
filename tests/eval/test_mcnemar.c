/* test_mcnemar.c: McNemar's exact test against binomial tails computed by hand.
 *
 * p = min(1, 2 * sum_{i <= min(b, c)} C(b + c, i) / 2^(b + c)); the sums of binomial
 * coefficients below were worked out by hand (Pascal's triangle), not by the code under test. */
#include <math.h>

#include "common/check.h"
#include "safearith/paired.h"

static void near(long b, long c, double want) {
    double p = sa_mcnemar_exact(b, c);
    CHECK_MSG(fabs(p - want) <= 1e-12 * (want > 1e-300 ? want : 1) + 1e-15,
              "b=%ld c=%ld: p = %.15g, want %.15g", b, c, p, want);
}

int main(void) {
    near(0, 0, 1.0);      /* no discordant pair: no evidence */
    near(1, 0, 1.0);      /* 2 * 1/2 */
    near(5, 0, 2.0 / 32); /* 2 * C(5,0) / 2^5 */
    near(6, 0, 2.0 / 64);
    near(10, 2, 2.0 * 79 / 4096);             /* C(12,0..2) = 1 + 12 + 66 */
    near(2, 10, 2.0 * 79 / 4096);             /* symmetric */
    near(3, 3, 1.0);                          /* 2 * 42/64 > 1 */
    near(2, 7, 2.0 * 46 / 512);               /* C(9,0..2) = 1 + 9 + 36 */
    near(25, 5, 2.0 * 174437 / 1073741824.0); /* C(30,0..5) = 1+30+435+4060+27405+142506 */
    /* large counts stay finite and ordered: a bigger imbalance is more significant */
    double p1 = sa_mcnemar_exact(1000, 1100), p2 = sa_mcnemar_exact(1000, 1200);
    CHECK(p1 > 0 && p1 < 1 && p2 > 0 && p2 < p1);
    CHECK(sa_mcnemar_exact(200000, 200000) == 1.0);
    return CHECK_DONE();
}
