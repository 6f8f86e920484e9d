/* steer_plan.c: a steering plan: control vectors combined into one prepared step per layer,
 * applied to rows of activations by the inference engine's hooks (steer.h).
 *
 * The step is prepared once, when vectors are added: for add, sum_i scale_i * v_i; for icv and
 * icv-code, sum_i scale_i * v_i / |v_i| (each vector unit-normalised per layer, as the paper's
 * alpha * v/|v|). Applying is then one pass over each row, with no allocation. */
#include "safearith/steer.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

sa_status sa_steer_init(sa_steer *s, int n_layers, int n_embd, sa_steer_mode mode,
                        sa_steer_site site, sa_error *err) {
    memset(s, 0, sizeof *s);
    if (n_layers <= 0 || n_embd <= 0)
        return sa_error_set(err, SA_EINVAL, "steer: bad model size %d x %d", n_layers, n_embd);
    s->mode = mode, s->site = site, s->n_layers = n_layers, s->n_embd = n_embd;
    s->w = calloc((size_t)n_layers * n_embd, sizeof *s->w);
    s->active = calloc((size_t)n_layers, 1);
    if (!s->w || !s->active) {
        sa_steer_free(s);
        return sa_error_set(err, SA_ENOMEM, "steer: out of memory");
    }
    return SA_OK;
}

void sa_steer_free(sa_steer *s) {
    if (!s) return;
    free(s->w), free(s->active);
    memset(s, 0, sizeof *s);
}

sa_status sa_steer_add_cvec(sa_steer *s, const sa_cvec *cv, float scale, const char *name,
                            sa_error *err) {
    if (!isfinite(scale))
        return sa_error_set(err, SA_EINVAL,
                            "%s: the steering scale does not fit in float32 (it would be %g)", name,
                            (double)scale);
    if (cv->n_embd != s->n_embd)
        return sa_error_set(err, SA_EMISMATCH,
                            "%s: control vector has n_embd %d but the model's hidden size is %d",
                            name, cv->n_embd, s->n_embd);
    for (int l = s->n_layers; l < cv->n_layers; l++)
        if (cv->has[l])
            return sa_error_set(err, SA_EMISMATCH,
                                "%s: has direction.%d but the model has only %d layers (0..%d)",
                                name, l, s->n_layers, s->n_layers - 1);
    for (int l = 0; l < cv->n_layers; l++) {
        double nrm = sa_cvec_norm(cv, l);
        if (!cv->has[l] || !(nrm > 0)) continue;
        double k = s->mode == SA_STEER_ADD ? scale : scale / nrm;
        const float *v = cv->dir + (size_t)l * cv->n_embd;
        float *w = s->w + (size_t)l * s->n_embd;
        int nonzero = 0;
        for (int i = 0; i < s->n_embd; i++) {
            w[i] = (float)(w[i] + k * v[i]);
            nonzero |= w[i] != 0;
            if (!isfinite(w[i]))
                return sa_error_set(err, SA_EINVAL,
                                    "%s: scale %g times direction.%d is not finite in float32",
                                    name, (double)scale, l);
        }
        /* A zero step (scale 0) is the identity in every mode; applying it anyway would still
         * round the renormalised icv rows in their last bits. */
        s->active[l] = (unsigned char)nonzero;
    }
    return SA_OK;
}

void sa_steer_limit_layers(sa_steer *s, int lo, int hi) {
    for (int l = 0; l < s->n_layers; l++)
        if (l < lo || l > hi) s->active[l] = 0;
}

int sa_steer_active_count(const sa_steer *s) {
    int n = 0;
    for (int l = 0; s && l < s->n_layers; l++) n += s->active[l] != 0;
    return n;
}

void sa_steer_apply(const sa_steer *s, int layer, sa_steer_site site, float *x, int n_rows,
                    size_t stride) {
    if (!s || site != s->site || layer < 0 || layer >= s->n_layers || !s->active[layer]) return;
    const float *w = s->w + (size_t)layer * s->n_embd;
    for (int r = 0; r < n_rows; r++) {
        float *row = x + (size_t)r * stride;
        switch (s->mode) {
        case SA_STEER_ADD:
            sa_steer_add_row(row, w, s->n_embd);
            break;
        case SA_STEER_ICV:
            sa_steer_icv_row(row, w, s->n_embd);
            break;
        case SA_STEER_ICV_CODE:
            sa_steer_icv_code_row(row, w, s->n_embd);
            break;
        }
    }
}
