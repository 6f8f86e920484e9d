/* test_gguf.c: control vectors written by our writer and read back by our reader.
 *
 * Also a tool for test_gguf.py: `test_gguf write OUT [--layer0]` writes a fixed vector (layers
 * 1, 2, 4 of width 5, values 0.25*l + 0.01*k, method metadata), `test_gguf dump IN [N_EMBD]`
 * prints every direction as a JSON line {"layer":l,"values":[...]} or the error message. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/check.h"
#include "safearith/gguf.h"

static int make_fixed(sa_cvec *cv, int layer0) {
    sa_error err = {0};
    if (sa_cvec_alloc(cv, 5, 5, &err)) return -1;
    int layers[4] = {1, 2, 4, 0};
    for (int i = 0; i < 3 + layer0; i++) {
        int l = layers[i];
        cv->has[l] = 1;
        for (int k = 0; k < 5; k++) cv->dir[l * 5 + k] = 0.25f * l + 0.01f * k - (l == 0);
    }
    cv->model_hint = strdup("llama");
    cv->method = strdup("pca+mean");
    cv->position = strdup("mean-answer");
    cv->scope = strdup("per-layer");
    cv->direction = strdup("safe-unsafe");
    cv->n_pairs = 30;
    cv->mean_norms = calloc(5, sizeof(float));
    for (int l = 0; l < 5; l++) cv->mean_norms[l] = 10.0f + l;
    return 0;
}

static int dump(const char *path, int n_embd) {
    sa_cvec cv;
    sa_error err = {0};
    if (sa_cvec_read(path, n_embd, &cv, &err)) {
        printf("{\"error\":\"%s\",\"code\":%d}\n", err.msg, (int)err.code);
        return 1;
    }
    for (int l = 0; l < cv.n_layers; l++) {
        if (!cv.has[l]) continue;
        printf("{\"layer\":%d,\"values\":[", l);
        for (int k = 0; k < cv.n_embd; k++)
            printf("%s%.9g", k ? "," : "", cv.dir[l * cv.n_embd + k]);
        printf("]}\n");
    }
    printf("{\"model_hint\":\"%s\",\"layer_count\":%lld}\n", cv.model_hint ? cv.model_hint : "",
           (long long)cv.layer_count);
    sa_cvec_free(&cv);
    return 0;
}

static void round_trip(void) {
    char dir[] = "/tmp/sa_gguf_XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char path[256];
    snprintf(path, sizeof path, "%s/v.gguf", dir);
    sa_cvec cv, back;
    sa_error err = {0};
    CHECK(!make_fixed(&cv, 0));
    CHECK(!sa_cvec_write(path, &cv, 0, &err));
    CHECK(sa_cvec_write(path, &cv, 0, &err) == SA_EEXIST); /* no silent overwrite */
    CHECK(!sa_cvec_read(path, 5, &back, &err));
    CHECK(back.n_layers == 5 && back.n_embd == 5 && back.layer_count == 3 && back.n_pairs == 30);
    CHECK(!back.has[0] && back.has[1] && back.has[2] && !back.has[3] && back.has[4]);
    CHECK(!memcmp(back.dir, cv.dir, 25 * sizeof(float)));
    CHECK(back.method && !strcmp(back.method, "pca+mean"));
    CHECK(back.position && !strcmp(back.position, "mean-answer"));
    CHECK(back.scope && !strcmp(back.scope, "per-layer"));
    CHECK(back.model_hint && !strcmp(back.model_hint, "llama"));
    CHECK(back.mean_norms && back.mean_norms[4] == 14.0f);
    sa_cvec_free(&back);
    CHECK(sa_cvec_read(path, 6, &back, &err) == SA_EMISMATCH);
    CHECK_STR_CONTAINS(err.msg, "n_embd 5");
    sa_cvec empty;
    CHECK(!sa_cvec_alloc(&empty, 2, 3, &err));
    snprintf(path, sizeof path, "%s/e.gguf", dir);
    CHECK(sa_cvec_write(path, &empty, 0, &err) == SA_EINVAL);
    CHECK(access(path, F_OK) != 0); /* nothing left behind */
    sa_cvec_free(&empty);
    sa_cvec_free(&cv);
    snprintf(path, sizeof path, "%s/v.gguf", dir);
    unlink(path);
    rmdir(dir);
}

int main(int argc, char **argv) {
    if (argc >= 3 && !strcmp(argv[1], "write")) {
        sa_cvec cv;
        sa_error err = {0};
        if (make_fixed(&cv, argc > 3 && !strcmp(argv[3], "--layer0"))) return 1;
        int rc = sa_cvec_write(argv[2], &cv, 1, &err) ? 1 : 0;
        sa_cvec_free(&cv);
        return rc;
    }
    if (argc >= 3 && !strcmp(argv[1], "dump")) return dump(argv[2], argc > 3 ? atoi(argv[3]) : 0);
    round_trip();
    return CHECK_DONE();
}
