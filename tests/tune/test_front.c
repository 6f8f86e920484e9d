/* test_front.c: the Pareto front against a brute-force dominance check on random tables.
 *
 * The brute force here is written from the definition (a row is on the front iff no other row
 * is at least as good in all four objectives and strictly better in one; utility is maximised),
 * independently of front.c. Tables draw values from a few levels so that ties and duplicate
 * rows are common; single-row tables, all-equal tables and skipped rows are covered. */
#include <stdint.h>
#include <stdlib.h>

#include "common/check.h"
#include "safearith/tune.h"

static uint64_t rng = 42;
static int next_level(int levels) {
    rng = rng * 6364136223846793005ull + 1442695040888963407ull;
    return (int)((rng >> 33) % (uint64_t)levels);
}

static int brute_on_front(double (*t)[SA_TUNE_N_OBJ], int n, const unsigned char *skip, int i) {
    if (skip[i]) return 0;
    for (int j = 0; j < n; j++) {
        if (j == i || skip[j]) continue;
        int ge = 1, gt = 0;
        for (int k = 0; k < SA_TUNE_N_OBJ; k++) {
            double a = t[j][k], b = t[i][k];
            int better = k == SA_OBJ_UTILITY ? a > b : a < b;
            int worse = k == SA_OBJ_UTILITY ? a < b : a > b;
            if (worse) ge = 0;
            if (better) gt = 1;
        }
        if (ge && gt) return 0;
    }
    return 1;
}

static void one_table(int n, int levels, int with_skips) {
    double t[64][SA_TUNE_N_OBJ];
    unsigned char skip[64] = {0}, on[64];
    for (int i = 0; i < n; i++) {
        for (int k = 0; k < SA_TUNE_N_OBJ; k++) t[i][k] = next_level(levels) * 0.5;
        if (with_skips) skip[i] = next_level(4) == 0;
        if (i > 0 && next_level(5) == 0) /* duplicate an earlier row */
            for (int k = 0; k < SA_TUNE_N_OBJ; k++) t[i][k] = t[i - 1][k];
    }
    size_t count = sa_tune_front((const double(*)[SA_TUNE_N_OBJ])t, (size_t)n, skip, on);
    size_t want = 0;
    for (int i = 0; i < n; i++) {
        int b = brute_on_front(t, n, skip, i);
        want += (size_t)b;
        CHECK_MSG(on[i] == b, "n=%d levels=%d row %d: front says %d, brute force %d", n, levels, i,
                  on[i], b);
    }
    CHECK(count == want);
}

int main(void) {
    for (int rep = 0; rep < 400; rep++) one_table(1 + next_level(40), 2 + next_level(5), rep & 1);
    /* one trial: always on the front */
    double one[1][SA_TUNE_N_OBJ] = {{50, 10, 90, 0.1}};
    unsigned char on1[1];
    CHECK(sa_tune_front((const double(*)[SA_TUNE_N_OBJ])one, 1, NULL, on1) == 1 && on1[0]);
    /* equal rows do not dominate each other: all stay */
    double eq[3][SA_TUNE_N_OBJ] = {{1, 2, 3, 4}, {1, 2, 3, 4}, {1, 2, 3, 4}};
    unsigned char on3[3];
    CHECK(sa_tune_front((const double(*)[SA_TUNE_N_OBJ])eq, 3, NULL, on3) == 3);
    /* utility is maximised: higher utility, all else equal, dominates */
    double u[2][SA_TUNE_N_OBJ] = {{1, 1, 90, 0}, {1, 1, 80, 0}};
    CHECK(sa_tune_dominates(u[0], u[1]) && !sa_tune_dominates(u[1], u[0]));
    /* lower ASR but worse KL: a trade-off, neither dominates */
    double tr[2][SA_TUNE_N_OBJ] = {{1, 1, 90, 0.5}, {2, 1, 90, 0.1}};
    CHECK(!sa_tune_dominates(tr[0], tr[1]) && !sa_tune_dominates(tr[1], tr[0]));
    return CHECK_DONE();
}
