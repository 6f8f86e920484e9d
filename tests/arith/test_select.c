/* test_select.c: the radix top-k threshold against sorting, on hard distributions: ties at the
 * threshold, all equal, all zeros with mixed signs, subnormals and infinities, tiny and empty
 * inputs, k = 0 and 100; the kept set must equal the one sorting gives (|x| >= the
 * (d - int(d*k/100))-th smallest |x|). Values are fed in uneven chunks over several simulated
 * workers, as the streaming passes do. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "arith/select.h"
#include "common/check.h"

typedef struct feed {
    const float *v;
    size_t n;
} feed;

static sa_status pass(void *ctx, sa_radix *r, sa_error *err) {
    (void)err;
    const feed *f = ctx;
    size_t chunk = 997;
    for (size_t at = 0, k = 0; at < f->n; at += chunk, k++)
        sa_radix_add(r, (int)(k % 3), f->v + at, f->n - at < chunk ? f->n - at : chunk);
    return SA_OK;
}

static int cmp_abs(const void *a, const void *b) {
    float x = fabsf(*(const float *)a), y = fabsf(*(const float *)b);
    return x < y ? -1 : x > y;
}

static void check_case(const char *what, const float *v, size_t n, double k) {
    sa_radix r;
    sa_error err;
    if (sa_radix_init(&r, 3, &err) != SA_OK) return;
    feed f = {v, n};
    uint64_t keep = sa_topk_count(n, k), thr;
    sa_status s = sa_topk_threshold(&r, n, keep, pass, &f, &thr, &err);
    CHECK_MSG(s == SA_OK, "%s: %s", what, err.msg);
    /* the reference: sort |v|, take the (n - keep)-th smallest */
    float *sorted = malloc((n + 1) * sizeof *sorted);
    memcpy(sorted, v, n * sizeof *v);
    qsort(sorted, n, sizeof *sorted, cmp_abs);
    size_t rank = n - (size_t)keep;
    size_t mism = 0, kept = 0, want_kept = 0;
    for (size_t i = 0; i < n; i++) {
        int got = thr < SA_KEEP_NONE && (uint64_t)sa_abs_bits(v[i]) >= thr;
        int want = rank == 0 || fabsf(v[i]) >= fabsf(sorted[rank - 1]);
        mism += got != want;
        kept += (size_t)got;
        want_kept += (size_t)want;
    }
    CHECK_MSG(mism == 0, "%s (n=%zu, k=%g): %zu mismatches, kept %zu vs %zu", what, n, k, mism,
              kept, want_kept);
    CHECK_MSG(want_kept >= keep, "%s: ties make the kept set at least int(d*k)", what);
    if (n == 0) CHECK(thr == SA_KEEP_NONE);
    free(sorted);
    sa_radix_free(&r);
}

static float urand(unsigned *s) {
    *s = *s * 1664525u + 1013904223u;
    return (float)(*s >> 8) / 16777216.0f;
}

static float nrand(unsigned *s) {
    float u = urand(s) + 1e-7f, w = urand(s);
    return sqrtf(-2 * logf(u)) * cosf(6.2831853f * w);
}

int main(void) {
    enum { N = 50000 };
    float *v = malloc(N * sizeof *v);
    unsigned seed = 1;
    const double ks[] = {10, 33.3, 0, 100, 99.999, 0.001, 50};
    for (size_t i = 0; i < N; i++) v[i] = nrand(&seed) * 0.01f;
    for (size_t j = 0; j < sizeof ks / sizeof ks[0]; j++) check_case("normal", v, N, ks[j]);
    for (size_t i = 0; i < N; i++)
        v[i] = (float)((int)(urand(&seed) * 4)) * (urand(&seed) < 0.5f ? -1 : 1);
    for (size_t j = 0; j < sizeof ks / sizeof ks[0]; j++) check_case("ties {0,1,2,3}", v, N, ks[j]);
    for (size_t i = 0; i < N; i++) v[i] = urand(&seed) < 0.5f ? -5.0f : 5.0f;
    check_case("all equal", v, N, 10);
    check_case("all equal k0", v, N, 0);
    for (size_t i = 0; i < N; i++) v[i] = urand(&seed) < 0.5f ? -0.0f : 0.0f;
    check_case("zeros and -0.0", v, N, 10);
    check_case("zeros and -0.0 k100", v, N, 100);
    for (size_t i = 0; i < N; i++) {
        float u = urand(&seed);
        v[i] = u < 0.3f    ? 1e-42f * (float)(i % 7)
               : u < 0.35f ? INFINITY
               : u < 0.4f  ? -INFINITY
               : u < 0.7f  ? -0.0f
                           : nrand(&seed) * 1e30f;
    }
    check_case("subnormals, infinities, zeros, huge", v, N, 10);
    check_case("subnormals, infinities, zeros, huge k60", v, N, 60);
    /* many values sharing the high 16 bits: the second pass decides */
    for (size_t i = 0; i < N; i++) v[i] = 1.0f + (float)(i % 1000) * 1e-6f;
    check_case("one high bin", v, N, 10);
    float one = -3.5f;
    check_case("single", &one, 1, 10);
    check_case("single k100", &one, 1, 100);
    check_case("empty", v, 0, 10);
    CHECK_EQ_INT(sa_topk_count(30, 10), 3);
    CHECK_EQ_INT(sa_topk_count(7, 100), 7);
    CHECK_EQ_INT(sa_topk_count(3, 33.4), 1);
    CHECK_EQ_INT(sa_topk_count(1000, 0), 0);
    CHECK_EQ_INT(sa_topk_count(6738415616ull, 10), 673841561ull);
    free(v);
    return CHECK_DONE();
}
