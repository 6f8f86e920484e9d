/* test_steer_unit.c: the steering rules, the steering plan, the pairs file and the format.
 *
 * The rules are checked against closed forms worked out by hand on small vectors (the PyTorch
 * comparison of whole steered forward passes lives in test_steer_forward.py). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/check.h"
#include "safearith/steer.h"

static double norm(const float *x, int n) {
    double s = 0;
    for (int i = 0; i < n; i++) s += (double)x[i] * x[i];
    return sqrt(s);
}

static void test_rules(void) {
    float x[2] = {3, 4}, w[2] = {1, -2};
    sa_steer_add_row(x, w, 2);
    CHECK(x[0] == 4 && x[1] == 2);

    /* icv: |x| = 5, x/|x| = (.6,.8); + (0,.5) -> (.6,1.3); normalised * 5. */
    float y[2] = {3, 4}, v[2] = {0, 0.5f};
    sa_steer_icv_row(y, v, 2);
    double k = 5 / sqrt(0.36 + 1.69);
    CHECK_MSG(fabs(y[0] - 0.6 * k) < 1e-5 && fabs(y[1] - 1.3 * k) < 1e-5, "%g %g", y[0], y[1]);
    CHECK(fabs(norm(y, 2) - 5) < 1e-5);

    /* icv-code: x = (3,4), w = (-0.5, 0): cos(x, -w) = 0.6 -> s = 1.6; step 0.1*1.6*w = (-.08,0).
     */
    float z[2] = {3, 4}, u[2] = {-0.5f, 0};
    sa_steer_icv_code_row(z, u, 2);
    double a = 0.6 - 0.08, b = 0.8, kk = 5 / sqrt(a * a + b * b);
    CHECK_MSG(fabs(z[0] - a * kk) < 1e-5 && fabs(z[1] - b * kk) < 1e-5, "%g %g", z[0], z[1]);
    /* gate is 1 when x points along w (cos(x,-w) < 0): step 0.1*w. */
    float z2[2] = {3, 4}, u2[2] = {0.3f, 0.4f};
    sa_steer_icv_code_row(z2, u2, 2);
    CHECK(fabs(z2[0] - 3) < 1e-5 && fabs(z2[1] - 4) < 1e-5); /* same direction: unchanged */
    float z3[2] = {4, 0}, u3[2] = {0, 1};
    sa_steer_icv_code_row(z3, u3, 2);
    double k3 = 4 / sqrt(1 + 0.01);
    CHECK_MSG(fabs(z3[0] - k3) < 1e-5 && fabs(z3[1] - 0.1 * k3) < 1e-5, "%g %g", z3[0], z3[1]);

    float zero[3] = {0, 0, 0}, ww[3] = {1, 2, 3};
    sa_steer_icv_row(zero, ww, 3);
    sa_steer_icv_code_row(zero, ww, 3);
    CHECK(zero[0] == 0 && zero[1] == 0 && zero[2] == 0);
}

static void test_plan(void) {
    sa_cvec a, b;
    sa_error err = {0};
    CHECK(!sa_cvec_alloc(&a, 3, 2, &err));
    CHECK(!sa_cvec_alloc(&b, 2, 2, &err));
    a.dir[2] = 3, a.dir[3] = 4, a.has[1] = 1; /* layer 1: (3,4) */
    a.dir[4] = 1, a.has[2] = 1;               /* layer 2: (1,0) */
    b.dir[2] = 0, b.dir[3] = 2, b.has[1] = 1; /* layer 1: (0,2) */
    sa_steer s;
    CHECK(!sa_steer_init(&s, 3, 2, SA_STEER_ADD, SA_STEER_AT_RESIDUAL, &err));
    CHECK(!sa_steer_add_cvec(&s, &a, 2.0f, "a", &err));
    CHECK(!sa_steer_add_cvec(&s, &b, -1.0f, "b", &err));
    CHECK(s.w[2] == 6 && s.w[3] == 6 && s.w[4] == 2 && !s.active[0] && s.active[1]);
    float rows[4] = {1, 1, 1, 1};
    sa_steer_apply(&s, 1, SA_STEER_AT_MLP, rows, 2, 2); /* wrong site: no-op */
    CHECK(rows[0] == 1 && rows[3] == 1);
    sa_steer_apply(&s, 1, SA_STEER_AT_RESIDUAL, rows, 2, 2);
    CHECK(rows[0] == 7 && rows[1] == 7 && rows[2] == 7 && rows[3] == 7);
    sa_steer_limit_layers(&s, 2, 2);
    CHECK(sa_steer_active_count(&s) == 1 && !s.active[1]);
    sa_steer_free(&s);

    /* icv mode unit-normalises each vector per layer before scaling. */
    CHECK(!sa_steer_init(&s, 3, 2, SA_STEER_ICV, SA_STEER_AT_MLP, &err));
    CHECK(!sa_steer_add_cvec(&s, &a, 0.5f, "a", &err));
    CHECK(fabs(s.w[2] - 0.3) < 1e-7 && fabs(s.w[3] - 0.4) < 1e-7 && fabs(s.w[4] - 0.5) < 1e-7);
    sa_steer_free(&s);

    /* A zero step is no step: scale 0 leaves every row bit-identical (the icv renormalisation
     * would otherwise round it). */
    CHECK(!sa_steer_init(&s, 3, 2, SA_STEER_ICV, SA_STEER_AT_MLP, &err));
    CHECK(!sa_steer_add_cvec(&s, &a, 0.0f, "a", &err));
    CHECK(!sa_steer_add_cvec(&s, &b, 0.0f, "b", &err));
    CHECK(sa_steer_active_count(&s) == 0);
    float keep[2] = {0.1f, 0.7f};
    sa_steer_apply(&s, 1, SA_STEER_AT_MLP, keep, 1, 2);
    CHECK(keep[0] == 0.1f && keep[1] == 0.7f);
    sa_steer_free(&s);

    /* Mismatches are named. */
    CHECK(!sa_steer_init(&s, 2, 2, SA_STEER_ADD, SA_STEER_AT_RESIDUAL, &err));
    CHECK(sa_steer_add_cvec(&s, &a, 1, "vec.gguf", &err) == SA_EMISMATCH);
    CHECK_STR_CONTAINS(err.msg, "direction.2");
    sa_steer_free(&s);
    CHECK(!sa_steer_init(&s, 3, 4, SA_STEER_ADD, SA_STEER_AT_RESIDUAL, &err));
    CHECK(sa_steer_add_cvec(&s, &a, 1, "vec.gguf", &err) == SA_EMISMATCH);
    CHECK_STR_CONTAINS(err.msg, "n_embd 2");
    sa_steer_free(&s);
    sa_cvec_free(&a);
    sa_cvec_free(&b);
}

static void expect_pairs_error(const char *text, const char *needle) {
    sa_pairs p;
    sa_error err = {0};
    CHECK(sa_pairs_parse(text, strlen(text), "p.jsonl", &p, &err) == SA_EFORMAT);
    CHECK_STR_CONTAINS(err.msg, needle);
}

static void test_pairs(void) {
    const char *ok = "{\"question\":\"q1\",\"safe\":\"no\",\"unsafe\":\"yes\"}\n\n"
                     "{\"question\":\"q2\",\"safe\":\"s2\",\"unsafe\":\"u2\",\"extra\":1}\n";
    sa_pairs p;
    sa_error err = {0};
    CHECK(!sa_pairs_parse(ok, strlen(ok), "p.jsonl", &p, &err));
    CHECK(p.n == 2 && p.qa == 1);
    CHECK(p.n == 2 && !strcmp(p.items[1].question, "q2") && !strcmp(p.items[1].positive, "s2") &&
          !strcmp(p.items[1].negative, "u2"));
    sa_pairs_free(&p);
    const char *pn = "{\"positive\":\"happy\",\"negative\":\"sad\"}";
    CHECK(!sa_pairs_parse(pn, strlen(pn), "p.jsonl", &p, &err));
    CHECK(p.n == 1 && p.qa == 0 && !p.items[0].question && !strcmp(p.items[0].negative, "sad"));
    sa_pairs_free(&p);
    expect_pairs_error("", "empty file");
    expect_pairs_error("\n  \n", "empty file");
    expect_pairs_error("{\"question\":\"q\",\"safe\":\"s\"}",
                       "p.jsonl:1: missing field \"unsafe\"");
    expect_pairs_error("{\"question\":\"q\",\"safe\":\"s\",\"unsafe\":\"u\"}\n{bad",
                       "p.jsonl:2: not valid JSON");
    expect_pairs_error("[1,2]", "expected a JSON object");
    expect_pairs_error("{\"question\":\"q\",\"safe\":3,\"unsafe\":\"u\"}",
                       "\"safe\" is not a string");
    expect_pairs_error("{\"question\":\"q\",\"safe\":\"\",\"unsafe\":\"u\"}", "\"safe\" is empty");
    expect_pairs_error("{\"positive\":\"a\",\"negative\":\"b\"}\n"
                       "{\"question\":\"q\",\"safe\":\"s\",\"unsafe\":\"u\"}",
                       "p.jsonl:2: mixes");
}

static void test_format(void) {
    char *s;
    size_t b, e;
    sa_error err = {0};
    CHECK(!sa_format_render(SA_ICV_DEFAULT_FORMAT, "Why?", "Because.", &s, &b, &e, &err));
    CHECK(!strcmp(s, "Question: Why?\nAnswer: Because."));
    CHECK(b == 23 && e == 31 && !strncmp(s + b, "Because.", e - b));
    free(s);
    CHECK(!sa_format_render("{{x}} {question}|{answer}!", "q", "a", &s, &b, &e, &err));
    CHECK(!strcmp(s, "{x} q|a!") && b == 6 && e == 7);
    free(s);
    CHECK(sa_format_check("{question}", &err) == SA_EINVAL);
    CHECK_STR_CONTAINS(err.msg, "exactly once");
    CHECK(sa_format_check("{answer} {answer}", &err) == SA_EINVAL);
    CHECK(sa_format_check("{q} {answer}", &err) == SA_EINVAL);
    CHECK_STR_CONTAINS(err.msg, "unknown field");
}

static int inner_calls;
static float inner_seen;
static sa_status inner_fn(void *ud, const sa_hook_rows *r, sa_error *err) {
    (void)ud, (void)err;
    inner_calls++;
    inner_seen = r->rows[0];
    return SA_OK;
}

static void test_hook_chain(void) {
    sa_steer s;
    sa_cvec a;
    sa_error err = {0};
    CHECK(!sa_cvec_alloc(&a, 4, 2, &err));
    a.dir[4] = 1, a.has[2] = 1; /* layer 2: (1, 0) */
    CHECK(!sa_steer_init(&s, 4, 2, SA_STEER_ADD, SA_STEER_AT_RESIDUAL, &err));
    CHECK(!sa_steer_add_cvec(&s, &a, 3, "a", &err));
    sa_hook inner = {inner_fn, NULL, SA_HOOK_LAYER_OUT, 0, 1}, h;
    sa_steer_chain chain;
    sa_steer_hook(&s, &inner, &chain, &h);
    CHECK(h.mask == SA_HOOK_LAYER_OUT && h.layer_lo == 0 && h.layer_hi == 2);
    float row[2] = {1, 1};
    int32_t z = 0;
    sa_hook_rows r = {SA_HOOK_LAYER_OUT, 2, 1, 2, row, &z, &z, &z};
    inner_calls = 0;
    CHECK(!h.fn(h.ud, &r, &err));
    CHECK(row[0] == 4 && row[1] == 1 && inner_calls == 0); /* layer 2 outside inner's 0..1 */
    r.layer = 1;
    CHECK(!h.fn(h.ud, &r, &err));
    CHECK(row[0] == 4 && inner_calls == 1 && inner_seen == 4); /* not steered at layer 1 */
    /* steering at the MLP with an inner hook on layer outputs: both points requested */
    sa_steer_free(&s);
    CHECK(!sa_steer_init(&s, 4, 2, SA_STEER_ICV, SA_STEER_AT_MLP, &err));
    CHECK(!sa_steer_add_cvec(&s, &a, 0.5f, "a", &err));
    sa_hook all = {inner_fn, NULL, SA_HOOK_LAYER_OUT | SA_HOOK_EMBED, 0, -1};
    sa_steer_hook(&s, &all, &chain, &h);
    CHECK(h.mask == (SA_HOOK_MLP_OUT | SA_HOOK_LAYER_OUT | SA_HOOK_EMBED) && h.layer_hi == -1);
    /* no vector: the inner hook itself */
    sa_steer_hook(NULL, &inner, &chain, &h);
    CHECK(h.fn == inner_fn && h.layer_hi == 1);
    sa_steer_free(&s);
    sa_cvec_free(&a);
}

static void test_names(void) {
    CHECK(sa_icv_method_parse("pca+mean") == SA_ICV_PCA_MEAN && sa_icv_method_parse("x") == -1);
    CHECK(sa_icv_position_parse("mean-answer") == SA_POS_MEAN_ANSWER);
    CHECK(sa_icv_scope_parse("concat") == SA_ICV_CONCAT);
    CHECK(sa_steer_mode_parse("icv-code") == SA_STEER_ICV_CODE && sa_steer_mode_parse("") == -1);
}

int main(void) {
    test_rules();
    test_plan();
    test_pairs();
    test_format();
    test_names();
    test_hook_chain();
    return CHECK_DONE();
}
