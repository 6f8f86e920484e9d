/* task_vector.c: tau = model - base as a checkpoint (see arith.h: sa_task_vector).
 *
 * The output keeps the model's layout; every tensor must be F32/F16/BF16 (an integer buffer has
 * no meaningful difference). __metadata__ marks the file as a task vector so that `hdr` can take
 * it in place of a harmful model.
 *
 * When the model is BASE+ADAPTER over the very files of the base (itself without an adapter), a
 * LoRA-adapted tensor's task vector is the adapter's delta scaling * B A itself, read directly
 * rather than as (W + delta) - W, which would lose the delta's low bits to the rounding of
 * W + delta. */
#ifdef __clang__
#pragma STDC FP_CONTRACT OFF
#endif
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "arith/output.h"
#include "formats/json_build.h"

static sa_out_kind plan_all(void *ctx, size_t ti) {
    (void)ctx;
    (void)ti;
    return SA_OUT_COMPUTE;
}

typedef struct tv_ctx {
    const sa_aligned *a;
    int same_base; /* the model is BASE+ADAPTER over the base's own files */
} tv_ctx;

static void subtract(void *ctx, const sa_chunk *c) {
    const tv_ctx *x = ctx;
    if (x->same_base && sa_ckpt_read_delta_f32(x->a->ck[0], sa_aligned_get(x->a, c->tensor, 0),
                                               c->offset, c->n, c->out))
        return;
    const float *m = c->in[0], *b = c->in[1];
    for (size_t i = 0; i < c->n; i++) c->out[i] = m[i] - b[i];
}

int sa_is_task_vector(const char *path) {
    sa_checkpoint *ck;
    if (sa_ckpt_open(path, &ck, NULL) != SA_OK) return 0;
    const char *op = sa_ckpt_metadata(ck, "safearith_op");
    int yes = op && !strcmp(op, "task_vector");
    sa_ckpt_close(ck);
    return yes;
}

static char *params_json(const char *model, const char *base) {
    sa_jb b = {0}; /* a field that could not be added: no metadata rather than a short one */
    cJSON *p = sa_jb_root(&b);
    sa_jb_str(&b, p, "model", model);
    sa_jb_str(&b, p, "base", base);
    return sa_jb_print(&b, p);
}

sa_status sa_task_vector(const char *model, const char *base, const sa_arith_opts *o_in,
                         sa_error *err) {
    sa_arith_opts oc;
    sa_status s0 = sa_arith_opts_take(o_in, &oc, err);
    if (s0) return s0;
    const sa_arith_opts *o = &oc;
    const char *paths[2] = {model, base}, *labels[2] = {"model", "base"};
    sa_checkpoint *cks[2];
    sa_status s = sa_output_prepare(o, paths, 2, NULL, err);
    if (s == SA_OK) s = sa_open_all(paths, 2, cks, err);
    if (s != SA_OK) return s;
    sa_aligned a;
    s = sa_align(&a, (const sa_checkpoint *const *)cks, labels, 2, err);
    sa_stream *st = NULL;
    if (s == SA_OK) s = sa_stream_create(&a, o->pool, o->progress, &st, err);
    char *params = s == SA_OK ? params_json(model, base) : NULL;
    if (s == SA_OK && !params) s = sa_error_set(err, SA_ENOMEM, "out of memory");
    if (s == SA_OK) {
        tv_ctx x = {&a, sa_ckpt_adapter_dir(cks[0]) && !sa_ckpt_adapter_dir(cks[1]) &&
                            sa_ckpt_same_files(cks[0], cks[1])};
        sa_write_spec spec = {plan_all, NULL, subtract, 3u, &x, o->out_dtype};
        sa_output_job j = {st, &spec, o, paths, 2, model, "task_vector", params};
        s = sa_output_run(&j, err);
    }
    free(params);
    sa_stream_free(st);
    if (a.map) sa_aligned_free(&a);
    sa_close_all(cks, 2);
    return s;
}
