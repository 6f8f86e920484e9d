/* steer_hook.c: plugging a steering plan into the inference engine's hook (steer.h, model.h).
 *
 * The engine has one hook per session, so steering and inspection (hidden-state capture) are
 * chained: the combined hook asks for the union of both points and layer ranges, steers first
 * (so that what is captured is the steered stream), then passes the rows on to the inner hook
 * only at the points and layers the inner hook asked for. */
#include "safearith/steer.h"

#include <string.h>

static int in_range(const sa_hook *h, int point, int layer) {
    if (!h->fn || !(h->mask & point)) return 0;
    if (point == SA_HOOK_EMBED) return 1;
    return layer >= h->layer_lo && (h->layer_hi < 0 || layer <= h->layer_hi);
}

static sa_status chain_fn(void *ud, const sa_hook_rows *r, sa_error *err) {
    const sa_steer_chain *c = ud;
    if (c->plan && r->point != SA_HOOK_EMBED)
        sa_steer_apply(c->plan, r->layer,
                       r->point == SA_HOOK_MLP_OUT ? SA_STEER_AT_MLP : SA_STEER_AT_RESIDUAL,
                       r->rows, r->n_rows, (size_t)r->dim);
    if (in_range(&c->inner, r->point, r->layer)) return c->inner.fn(c->inner.ud, r, err);
    return SA_OK;
}

void sa_steer_hook(const sa_steer *plan, const sa_hook *inner, sa_steer_chain *chain,
                   sa_hook *out) {
    memset(chain, 0, sizeof *chain);
    if (inner) chain->inner = *inner;
    int lo = -1, hi = -1;
    for (int l = 0; plan && l < plan->n_layers; l++)
        if (plan->active[l]) {
            if (lo < 0) lo = l;
            hi = l;
        }
    if (lo < 0) { /* nothing to steer: the inner hook alone */
        if (inner)
            *out = *inner;
        else
            memset(out, 0, sizeof *out);
        return;
    }
    chain->plan = plan;
    out->fn = chain_fn;
    out->ud = chain;
    out->mask = plan->site == SA_STEER_AT_MLP ? SA_HOOK_MLP_OUT : SA_HOOK_LAYER_OUT;
    out->layer_lo = lo;
    out->layer_hi = hi;
    if (chain->inner.fn && chain->inner.mask) {
        out->mask |= chain->inner.mask;
        if (chain->inner.mask & (SA_HOOK_MLP_OUT | SA_HOOK_LAYER_OUT)) {
            out->layer_lo = chain->inner.layer_lo < lo ? chain->inner.layer_lo : lo;
            out->layer_hi = chain->inner.layer_hi < 0    ? -1
                            : chain->inner.layer_hi > hi ? chain->inner.layer_hi
                                                         : hi;
        }
    }
}
