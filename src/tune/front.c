/* front.c: Pareto dominance over the four objectives of a trial (see tune.h).
 *
 * asr, over_refusal and kl are minimised, utility maximised. The front is found by comparing
 * every pair (n is a few hundred trials at most, so O(n^2) is nothing next to one evaluation);
 * equal vectors do not dominate each other, so duplicates stay on the front together. */
#include <string.h>

#include "safearith/tune.h"

static const char *const obj_names[SA_TUNE_N_OBJ] = {"asr", "over_refusal", "utility", "kl"};

const char *sa_tune_objective_name(int obj) {
    return obj >= 0 && obj < SA_TUNE_N_OBJ ? obj_names[obj] : "?";
}

/* a's objective i oriented so that smaller is better. */
static double oriented(const double *a, int i) {
    return i == SA_OBJ_UTILITY ? -a[i] : a[i];
}

int sa_tune_dominates(const double a[SA_TUNE_N_OBJ], const double b[SA_TUNE_N_OBJ]) {
    int better = 0;
    for (int i = 0; i < SA_TUNE_N_OBJ; i++) {
        double x = oriented(a, i), y = oriented(b, i);
        if (x > y) return 0;
        if (x < y) better = 1;
    }
    return better;
}

size_t sa_tune_front(const double (*obj)[SA_TUNE_N_OBJ], size_t n, const unsigned char *skip,
                     unsigned char *on_front) {
    size_t count = 0;
    for (size_t i = 0; i < n; i++) {
        on_front[i] = 0;
        if (skip && skip[i]) continue;
        int dominated = 0;
        for (size_t j = 0; j < n && !dominated; j++)
            dominated = j != i && !(skip && skip[j]) && sa_tune_dominates(obj[j], obj[i]);
        on_front[i] = !dominated;
        count += !dominated;
    }
    return count;
}
