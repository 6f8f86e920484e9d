/* search.c: where the next trial goes.
 *
 * Start: `search.initial` points of a scrambled Halton sequence (each dimension a prime base,
 * the digits permuted at random per dimension and digit position: Owen's random-digit
 * scrambling), which covers the cube evenly from the first few points, unlike uniform draws.
 * Then: concentrate on the current front. Each proposal draws 16 candidates, each a Gaussian
 * step (in cube units, sigma shrinking from 0.2 to 0.05 over the study) from a parent: on odd
 * trials the trial the study would choose now (the feasible front trial with the lowest ASR),
 * on even trials one drawn uniformly for each candidate among the front's feasible trials (a
 * list knob instead jumps to a random entry with probability 0.3). The candidate farthest from
 * every trial already run is kept, so no setting is evaluated twice and the front fills out instead
 * of piling up, while the region of the likely choice is sampled more finely.
 *
 * Why this and not Optuna's TPE or a Gaussian-process method (ParEGO, EHVI): a study has tens
 * of trials over four noisy objectives, few for fitting a surrogate per objective, and what the
 * user needs is the shape of the front near its good end, which local steps from front members
 * give; it is also a pure function of (seed, trial number, finished trials), which is what makes
 * --resume repeat exactly what an uninterrupted study would have done. */
#include <math.h>
#include <string.h>

#include "tune/tune_internal.h"

static uint64_t splitmix(uint64_t *s) {
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static double unif(uint64_t *s) {
    return (double)(splitmix(s) >> 11) * (1.0 / 9007199254740992.0);
}

static double gauss(uint64_t *s) {
    double a = unif(s), b = unif(s);
    return sqrt(-2 * log(a > 0 ? a : 1e-300)) * cos(6.283185307179586 * b);
}

void sa_halton_scrambled(uint64_t seed, uint64_t index, int d, double *out) {
    static const int primes[] = {2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37};
    for (int j = 0; j < d; j++) {
        int p = primes[j % 12];
        uint64_t n = index + 1;
        double f = 1.0 / p, x = 0;
        for (int k = 0; k < 24; k++, n /= (uint64_t)p, f /= p) {
            int perm[37];
            uint64_t s = seed * 0x100000001b3ull + (uint64_t)j * 1000003u + (uint64_t)k;
            for (int i = 0; i < p; i++) perm[i] = i;
            for (int i = p - 1; i > 0; i--) {
                int r = (int)(splitmix(&s) % (uint64_t)(i + 1)), t = perm[i];
                perm[i] = perm[r], perm[r] = t;
            }
            x += perm[n % (uint64_t)p] * f;
        }
        out[j] = x;
    }
}

static double reflect(double x) {
    x = fmod(fabs(x), 2.0);
    x = x > 1 ? 2 - x : x;
    return x >= 1 ? 0.999999 : x;
}

static double min_dist(const double *c, const double *done, long n, int d) {
    double best = INFINITY;
    for (long i = 0; i < n; i++) {
        double s = 0;
        for (int j = 0; j < d; j++) s += (c[j] - done[i * d + j]) * (c[j] - done[i * d + j]);
        if (s < best) best = s;
    }
    return best;
}

/* a before b in the chosen point's order: ASR, over-refusal, utility (up), KL. */
static int lex_better(const double *a, const double *b) {
    for (int k = 0; k < SA_TUNE_N_OBJ; k++) {
        double x = k == SA_OBJ_UTILITY ? -a[k] : a[k], y = k == SA_OBJ_UTILITY ? -b[k] : b[k];
        if (x != y) return x < y;
    }
    return 0;
}

void sa_tune_propose(const sa_tune_recipe *r, long t, const double *u_done,
                     const double (*obj)[SA_TUNE_N_OBJ], const unsigned char *skip, long n_done,
                     double *u_out) {
    int d = r->n_knobs;
    if (t < r->initial || n_done == 0) {
        sa_halton_scrambled(r->seed, (uint64_t)t, d, u_out);
        return;
    }
    long parents[4096], np = 0;
    unsigned char on[4096];
    long n = n_done < 4096 ? n_done : 4096;
    sa_tune_front(obj, (size_t)n, skip, on);
    for (long i = 0; i < n; i++)
        if (on[i]) parents[np++] = i;
    if (!np) { /* nothing feasible yet: keep filling the cube */
        sa_halton_scrambled(r->seed, (uint64_t)t, d, u_out);
        return;
    }
    uint64_t s = r->seed ^ ((uint64_t)t * 0xd1b54a32d192ed03ull);
    double progress =
        r->trials > r->initial ? (double)(t - r->initial) / (r->trials - r->initial) : 1;
    double sigma = 0.2 - 0.15 * (progress > 1 ? 1 : progress), far = -1;
    long best = parents[0]; /* the point the study would choose now: lowest ASR, then the rest */
    for (long i = 1; i < np; i++)
        if (lex_better(obj[parents[i]], obj[best])) best = parents[i];
    for (int cand = 0; cand < 16; cand++) {
        long parent = t % 2 ? best : parents[splitmix(&s) % (uint64_t)np];
        const double *par = u_done + parent * d;
        double c[SA_TUNE_MAX_KNOBS];
        for (int j = 0; j < d; j++) {
            if (r->knobs[j].kind == SA_KNOB_LIST)
                c[j] = unif(&s) < 0.3 ? unif(&s) : par[j];
            else
                c[j] = reflect(par[j] + sigma * gauss(&s));
        }
        double dist = min_dist(c, u_done, n_done, d);
        if (dist > far) far = dist, memcpy(u_out, c, (size_t)d * sizeof *c);
    }
}
