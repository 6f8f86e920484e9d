/* steer_math.c: the per-row steering rules (add, icv, icv-code) as pure functions (steer.h).
 *
 * Each row is one token's activation vector. Norms and dot products are accumulated in double so
 * that the renormalisation is exact to float rounding whatever the width; the row is rewritten
 * in place. A zero row has no direction, so the norm-preserving rules leave it alone (their
 * result would be zero anyway), as does a step that cancels the row exactly. */
#include "safearith/steer.h"

#include <math.h>
#include <string.h>

static const char *mode_names[] = {"add", "icv", "icv-code"};

const char *sa_steer_mode_name(sa_steer_mode m) {
    return mode_names[m];
}

int sa_steer_mode_parse(const char *s) {
    for (int i = 0; s && i < 3; i++)
        if (!strcmp(mode_names[i], s)) return i;
    return -1;
}

void sa_steer_add_row(float *x, const float *w, int n) {
    for (int i = 0; i < n; i++) x[i] += w[i];
}

static double dot(const float *a, const float *b, int n) {
    double s = 0;
    for (int i = 0; i < n; i++) s += (double)a[i] * b[i];
    return s;
}

/* x = |x| * normalize(x/|x| + c*w), with |x| = xn already known. */
static void sphere_step(float *x, double xn, const float *w, double c, int n) {
    double yy = 0;
    for (int i = 0; i < n; i++) {
        double y = x[i] / xn + c * w[i];
        yy += y * y;
    }
    if (!(yy > 0)) return;
    double k = xn / sqrt(yy);
    for (int i = 0; i < n; i++) x[i] = (float)((x[i] / xn + c * w[i]) * k);
}

void sa_steer_icv_row(float *x, const float *w, int n) {
    double xn = sqrt(dot(x, x, n));
    if (xn > 0) sphere_step(x, xn, w, 1.0, n);
}

void sa_steer_icv_code_row(float *x, const float *w, int n) {
    double xn = sqrt(dot(x, x, n)), wn = sqrt(dot(w, w, n));
    if (!(xn > 0)) return;
    double cos_neg = wn > 0 ? -dot(x, w, n) / (xn * wn) : 0;
    double s = 1.0 + (cos_neg > 0 ? cos_neg : 0);
    sphere_step(x, xn, w, SA_ICV_CODE_FACTOR * s, n);
}
