/* test_hdr_topk.c: one magnitude histogram serves every top-k: sa_hdr_topk_threshold equals
 * the threshold sa_hdr selects on its own for 25 values of k (including 0, 100, ties and ranks in
 * one histogram bin), a repeated k costs no pass over tau, and sa_hdr given the threshold writes
 * the same bytes as sa_hdr selecting it. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/check.h"
#include "common/test_files.h"
#include "safearith/arith.h"
#include "core/fsutil.h"
#include "safearith/safetensors.h"

static char tmpdir[64];

/* Values on a coarse grid (many ties) for the harmful model, a fine one for the others. */
static char *make_model(const char *name, unsigned seed, int coarse) {
    static const char *const names[] = {"model.embed_tokens.weight",
                                        "model.layers.0.mlp.up_proj.weight"};
    static const int64_t shapes[2][2] = {{700, 300}, {300, 257}};
    char *dir = test_random_ckpt(tmpdir, name, names, shapes, 2, seed, coarse);
    CHECK_MSG(dir, "cannot write model %s", name);
    return dir;
}

int main(void) {
    snprintf(tmpdir, sizeof tmpdir, "/tmp/sa_test_hdr_topk_XXXXXX");
    if (!mkdtemp(tmpdir)) return 1;
    char *t = make_model("T", 1, 0), *b = make_model("B", 2, 0), *h = make_model("H", 3, 1);
    sa_error err;
    sa_hdr_topk *tk = NULL;
    CHECK(sa_hdr_topk_open(t, b, h, NULL, NULL, &tk, &err) == SA_OK);
    CHECK(sa_hdr_topk_passes(tk) == 1);
    const double ks[] = {10,    0,    100, 0.001, 0.01, 0.1, 1,  2,  2.0001, 3,  5,  7.5,   9.99,
                         10.01, 12.5, 20,  25,    33.3, 40,  50, 60, 75,     90, 99, 99.999};
    char *out = sa_path_join(tmpdir, "out"), *out2 = sa_path_join(tmpdir, "out2");
    for (size_t i = 0; i < sizeof ks / sizeof *ks; i++) {
        uint64_t thr;
        CHECK(sa_hdr_topk_threshold(tk, ks[i], &thr, &err) == SA_OK);
        sa_arith_opts o;
        sa_arith_opts_init(&o);
        o.output = out, o.overwrite = 1, o.max_shard_bytes = 0;
        sa_hdr_opts ho;
        sa_hdr_opts_init(&ho);
        ho.top_k = ks[i], ho.lambda = 0.7;
        sa_hdr_result r1, r2;
        CHECK(sa_hdr(t, b, h, &ho, &o, &r1, &err) == SA_OK);
        uint32_t want;
        memcpy(&want, &r1.threshold, 4);
        uint32_t got = (uint32_t)(thr >= ((uint64_t)1 << 32) ? 0x7f800000u : thr);
        CHECK_MSG(got == want, "k=%g: cached threshold %08x, sa_hdr %08x", ks[i], got, want);
        o.output = out2;
        ho.threshold_bits = &thr;
        CHECK(sa_hdr(t, b, h, &ho, &o, &r2, &err) == SA_OK);
        CHECK(r1.kept_params == r2.kept_params);
        size_t n1, n2;
        char *d1 = test_read_model(out, &n1), *d2 = test_read_model(out2, &n2);
        CHECK_MSG(d1 && d2 && n1 == n2 && !memcmp(d1, d2, n1), "k=%g: outputs differ", ks[i]);
        free(d1), free(d2);
    }
    int passes = sa_hdr_topk_passes(tk);
    uint64_t again;
    CHECK(sa_hdr_topk_threshold(tk, 10, &again, &err) == SA_OK);
    CHECK(sa_hdr_topk_passes(tk) == passes);           /* cached: no new pass */
    CHECK(passes < 1 + (int)(sizeof ks / sizeof *ks)); /* some k shared a bin */
    CHECK(sa_hdr_topk_threshold(tk, 101, &again, &err) != SA_OK);
    /* a given threshold with a layer selection is refused */
    sa_arith_opts o;
    sa_arith_opts_init(&o);
    o.output = out, o.overwrite = 1, o.max_shard_bytes = 0;
    sa_hdr_opts bad;
    sa_hdr_opts_init(&bad);
    bad.lambda = 1, bad.layer_lo = 0, bad.layer_hi = 0, bad.threshold_bits = &again;
    sa_hdr_result r;
    CHECK(sa_hdr(t, b, h, &bad, &o, &r, &err) == SA_EINVAL);
    sa_hdr_topk_free(tk);
    free(t), free(b), free(h), free(out), free(out2);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0) return 1;
    return CHECK_DONE();
}
