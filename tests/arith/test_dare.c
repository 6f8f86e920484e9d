/* test_dare.c: the counter-based DARE generator and determinism across thread counts.
 *
 * Philox4x32-10 known-answer vectors (Random123's kat_vectors); masks independent of how a range
 * is split; keep fraction close to the density; different seeds/streams/names give different
 * masks; and RESTA with DARE (l1 and inverse rescale) and a dare_ties merge produce
 * byte-identical checkpoints with 1, 2, 3 and 7 threads, on tensors spanning several chunks and
 * batches. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "arith/dare.h"
#include "common/check.h"
#include "common/test_files.h"
#include "safearith/arith.h"
#include "core/fsutil.h"
#include "safearith/safetensors.h"

static char tmpdir[64];

static void test_philox(void) {
    struct {
        uint32_t ctr[4], key[2], out[4];
    } kat[] = {{{0, 0, 0, 0}, {0, 0}, {0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}},
               {{0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff},
                {0xffffffff, 0xffffffff},
                {0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd}},
               {{0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344},
                {0xa4093822, 0x299f31d0},
                {0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}}};
    for (size_t i = 0; i < sizeof kat / sizeof kat[0]; i++) {
        uint32_t out[4];
        sa_dare_key k = {kat[i].key[0], kat[i].key[1]};
        sa_philox4x32(k, kat[i].ctr, out);
        CHECK_MSG(!memcmp(out, kat[i].out, sizeof out), "philox KAT %zu: %08x %08x %08x %08x", i,
                  out[0], out[1], out[2], out[3]);
    }
}

static void test_masks(void) {
    enum { N = 100003 };
    uint8_t *a = malloc(N), *b = malloc(N), *c = malloc(N);
    uint64_t below = sa_dare_keep_below(0.3);
    sa_dare_key k = sa_dare_key_make(42, 0, "model.layers.0.mlp.up_proj.weight");
    sa_dare_mask(k, 0, N, below, a);
    size_t cuts[] = {0, 1, 7, 4096, 4099, 65536, 99999, N};
    for (size_t i = 0; i + 1 < sizeof cuts / sizeof cuts[0]; i++)
        sa_dare_mask(k, cuts[i], cuts[i + 1] - cuts[i], below, b + cuts[i]);
    CHECK(!memcmp(a, b, N));
    size_t kept = 0;
    for (size_t i = 0; i < N; i++) kept += a[i];
    double frac = (double)kept / N; /* binomial sd ~ 0.0015 */
    CHECK_MSG(frac > 0.29 && frac < 0.31, "keep fraction %f", frac);
    sa_dare_mask(sa_dare_key_make(43, 0, "model.layers.0.mlp.up_proj.weight"), 0, N, below, c);
    CHECK(memcmp(a, c, N) != 0);
    sa_dare_mask(sa_dare_key_make(42, 1, "model.layers.0.mlp.up_proj.weight"), 0, N, below, c);
    CHECK(memcmp(a, c, N) != 0);
    sa_dare_mask(sa_dare_key_make(42, 0, "model.layers.1.mlp.up_proj.weight"), 0, N, below, c);
    CHECK(memcmp(a, c, N) != 0);
    sa_dare_mask(k, 0, N, sa_dare_keep_below(1.0), c);
    size_t all = 0;
    for (size_t i = 0; i < N; i++) all += c[i];
    CHECK_EQ_INT(all, N);
    sa_dare_mask(k, 0, N, sa_dare_keep_below(0.0), c);
    CHECK(memchr(c, 1, N) == NULL);
    free(a);
    free(b);
    free(c);
}

/* A model of F32 tensors, one larger than a write batch (2^21 elements). */
static char *make_model(const char *name, unsigned seed) {
    static const char *const names[] = {"model.embed_tokens.weight",
                                        "model.layers.0.mlp.up_proj.weight", "model.norm.weight"};
    static const int64_t shapes[3][2] = {{1100, 2000}, {300, 257}, {257, 1}};
    char *dir = test_random_ckpt(tmpdir, name, names, shapes, 3, seed, 0);
    CHECK_MSG(dir, "cannot write model %s", name);
    return dir;
}

static void same_for_threads(const char *what,
                             sa_status (*op)(const char *out, sa_pool *pool, sa_error *err)) {
    const int threads[] = {1, 2, 3, 7};
    char *first = NULL;
    size_t first_len = 0;
    for (int i = 0; i < 4; i++) {
        char name[64];
        snprintf(name, sizeof name, "%s_%d", what, threads[i]);
        char *out = sa_path_join(tmpdir, name);
        sa_pool *pool = sa_pool_create(threads[i]);
        sa_error err;
        CHECK_MSG(op(out, pool, &err) == SA_OK, "%s: %s", what, err.msg);
        sa_pool_destroy(pool);
        size_t len;
        char *data = test_read_model(out, &len);
        CHECK_MSG(data && len > 4 * 1024 * 1024, "%s: output missing or short", what);
        if (!first) {
            first = data;
            first_len = len;
        } else {
            CHECK_MSG(data && len == first_len && !memcmp(data, first, len),
                      "%s: output with %d threads differs from 1 thread", what, threads[i]);
            free(data);
        }
        free(out);
    }
    free(first);
}

static char *m_s, *m_a, *m_u;

static sa_status resta_l1(const char *out, sa_pool *pool, sa_error *err) {
    sa_arith_opts o;
    sa_arith_opts_init(&o);
    o.output = out, o.max_shard_bytes = 0, o.pool = pool;
    sa_resta_opts r;
    sa_resta_opts_init(&r);
    r.beta = 0.5, r.dare_p = 0.37, r.seed = 123, r.rescale = SA_RESCALE_L1;
    return sa_resta(m_s, m_a, m_u, &r, &o, err);
}

static sa_status resta_inv(const char *out, sa_pool *pool, sa_error *err) {
    sa_arith_opts o;
    sa_arith_opts_init(&o);
    o.output = out, o.out_dtype = SA_BF16, o.max_shard_bytes = 0, o.pool = pool;
    sa_resta_opts r;
    sa_resta_opts_init(&r);
    r.dare_p = 0.8, r.seed = 7;
    return sa_resta(m_s, m_a, m_u, &r, &o, err);
}

static sa_status merge_dare_ties(const char *out, sa_pool *pool, sa_error *err) {
    char *path = sa_path_join(tmpdir, "recipe.yml");
    FILE *f = fopen(path, "w");
    fprintf(f,
            "merge_method: dare_ties\nbase_model: %s\nmodels:\n  - model: %s\n"
            "    parameters: {weight: 1, density: 0.4}\n  - model: %s\n"
            "    parameters: {weight: 0.5, density: 0.6}\n",
            m_a, m_s, m_u);
    fclose(f);
    sa_merge_recipe *r;
    sa_status s = sa_merge_recipe_load(path, &r, err);
    free(path);
    if (s != SA_OK) return s;
    r->seed = 99;
    sa_arith_opts o;
    sa_arith_opts_init(&o);
    o.output = out, o.max_shard_bytes = 0, o.pool = pool;
    s = sa_merge(r, &o, err);
    sa_merge_recipe_free(r);
    return s;
}

static sa_status hdr_global(const char *out, sa_pool *pool, sa_error *err) {
    sa_arith_opts o;
    sa_arith_opts_init(&o);
    o.output = out, o.max_shard_bytes = 0, o.pool = pool;
    sa_hdr_opts h;
    sa_hdr_opts_init(&h);
    sa_hdr_result res;
    return sa_hdr(m_s, m_a, m_u, &h, &o, &res, err);
}

int main(void) {
    snprintf(tmpdir, sizeof tmpdir, "/tmp/sa_test_dare_XXXXXX");
    if (!mkdtemp(tmpdir)) return 1;
    test_philox();
    test_masks();
    m_s = make_model("S", 1);
    m_a = make_model("A", 2);
    m_u = make_model("U", 3);
    same_for_threads("resta_l1", resta_l1);
    same_for_threads("resta_inverse", resta_inv);
    same_for_threads("merge_dare_ties", merge_dare_ties);
    same_for_threads("hdr", hdr_global);
    free(m_s);
    free(m_a);
    free(m_u);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0) return 1;
    return CHECK_DONE();
}
