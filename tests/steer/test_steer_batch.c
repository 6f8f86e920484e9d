/* test_steer_batch.c: steering in batched generation.
 *
 * Alone: writes a small random-weight Llama checkpoint, then generates greedily
 * for three prompts decoded together (one sa_generate call, batched decode) and
 * for each prompt alone, with an icv steering hook; the tokens must agree, and
 * steering must change at least one. As a tool for test_steer_forward.py:
 * `test_steer_batch MODEL VEC SCALE MODE PROMPT...` prints the greedy ids (6
 * per prompt, one line each) of a batched, steered run; prompts are encoded as
 * BOS (256) followed by their bytes, as that test's tokenizer does. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/check.h"
#include "common/tiny_llama.h"
#include "safearith/model.h"
#include "safearith/safetensors.h"
#include "safearith/steer.h"

#define NTOK 6

static sa_status gen(sa_model *m, const sa_steer *plan, int n, int32_t **prompts, int *lens,
                     int32_t **out, int *out_lens, sa_error *err) {
    sa_session_opts so;
    sa_session_opts_init(&so);
    so.n_seq = n, so.max_ctx = 128, so.max_batch = 64, so.n_threads = 1;
    sa_session *s;
    sa_status st = sa_session_create(m, &so, &s, err);
    if (st) return st;
    sa_steer_chain chain;
    sa_hook h;
    sa_steer_hook(plan, NULL, &chain, &h);
    sa_session_set_hook(s, &h);
    sa_gen_opts go;
    sa_gen_opts_init(&go);
    go.sampling = (sa_sampling){0}; /* greedy */
    go.max_tokens = NTOK;
    int32_t none = -1;
    go.stop_ids = &none, go.n_stop_ids = 1;
    st = sa_generate(s, n, (const int32_t *const *)prompts, lens, &go, out, out_lens, err);
    sa_session_free(s);
    return st;
}

static int32_t *encode(const char *text, int *n) {
    size_t k = strlen(text);
    int32_t *ids = malloc((k + 1) * sizeof *ids);
    ids[0] = 256;
    for (size_t i = 0; i < k; i++) ids[i + 1] = (unsigned char)text[i];
    *n = (int)k + 1;
    return ids;
}

static int tool(int argc, char **argv) {
    sa_model *m;
    sa_cvec cv;
    sa_steer plan;
    sa_error err = {0};
    int n = argc - 5, mode = sa_steer_mode_parse(argv[4]);
    if (n < 1 || n > 8 || mode < 0) return fprintf(stderr, "bad arguments\n"), 2;
    if (sa_model_load(argv[1], &m, &err)) return fprintf(stderr, "%s\n", err.msg), 1;
    const sa_model_config *cfg = sa_model_get_config(m);
    if (sa_cvec_read(argv[2], cfg->hidden_size, &cv, &err) ||
        sa_steer_init(&plan, cfg->n_layers, cfg->hidden_size, (sa_steer_mode)mode,
                      mode == SA_STEER_ADD ? SA_STEER_AT_RESIDUAL : SA_STEER_AT_MLP, &err) ||
        sa_steer_add_cvec(&plan, &cv, (float)atof(argv[3]), argv[2], &err))
        return fprintf(stderr, "%s\n", err.msg), 1;
    int32_t *prompts[8], *out[8];
    int lens[8], out_lens[8];
    for (int i = 0; i < n; i++)
        prompts[i] = encode(argv[5 + i], &lens[i]), out[i] = malloc(NTOK * 4);
    if (gen(m, &plan, n, prompts, lens, out, out_lens, &err))
        return fprintf(stderr, "%s\n", err.msg), 1;
    for (int i = 0; i < n; i++) {
        for (int k = 0; k < out_lens[i]; k++) printf("%s%d", k ? " " : "", out[i][k]);
        printf("\n");
        free(prompts[i]), free(out[i]);
    }
    sa_cvec_free(&cv);
    sa_steer_free(&plan);
    sa_model_free(m);
    return 0;
}

static unsigned seed = 12345;
static float frand(void) {
    seed = seed * 1664525u + 1013904223u;
    return (seed >> 8) / 16777216.0f - 0.5f;
}

/* A 3-layer, hidden-32 model with vocab 300 in dir (BOS 256, as encode() writes it). */
static int write_model(const char *dir) {
    tiny_llama spec = {300, 32, 64, 3, 4, 2, 256, 256, 257, 0, 7, 1.0f, 0.3f};
    sa_error err = {0};
    int rc = tiny_llama_write(dir, &spec, &err);
    if (rc) fprintf(stderr, "%s\n", err.msg);
    return rc;
}

int main(int argc, char **argv) {
    if (argc >= 6) return tool(argc, argv);
    char dir[] = "/tmp/sa_steer_batch_XXXXXX", path[300];
    CHECK(mkdtemp(dir) != NULL);
    CHECK(!write_model(dir));
    sa_model *m = NULL;
    sa_error err = {0};
    CHECK(!sa_model_load(dir, &m, &err));
    if (!m) return fprintf(stderr, "%s\n", err.msg), CHECK_DONE();
    sa_cvec cv;
    sa_steer plan;
    CHECK(!sa_cvec_alloc(&cv, 3, 32, &err));
    for (int l = 0; l < 3; l++) {
        cv.has[l] = 1;
        for (int e = 0; e < 32; e++) cv.dir[l * 32 + e] = frand();
    }
    CHECK(!sa_steer_init(&plan, 3, 32, SA_STEER_ICV, SA_STEER_AT_MLP, &err));
    CHECK(!sa_steer_add_cvec(&plan, &cv, 0.8f, "v", &err));
    const char *texts[3] = {"Hello", "Steering applies to every row", "Yo!"};
    int32_t *prompts[3], *batched[3], *alone[3], *plain[3];
    int lens[3], bl[3], al[3], pl[3], differs = 0;
    for (int i = 0; i < 3; i++) {
        prompts[i] = encode(texts[i], &lens[i]);
        batched[i] = malloc(NTOK * 4), alone[i] = malloc(NTOK * 4), plain[i] = malloc(NTOK * 4);
    }
    CHECK(!gen(m, &plan, 3, prompts, lens, batched, bl, &err));
    for (int i = 0; i < 3; i++) {
        CHECK(!gen(m, &plan, 1, &prompts[i], &lens[i], &alone[i], &al[i], &err));
        CHECK(!gen(m, NULL, 1, &prompts[i], &lens[i], &plain[i], &pl[i], &err));
        CHECK(bl[i] == NTOK && al[i] == NTOK && pl[i] == NTOK);
        CHECK_MSG(!memcmp(batched[i], alone[i], NTOK * 4), "prompt %d: batched != alone", i);
        differs += memcmp(alone[i], plain[i], NTOK * 4) != 0;
        free(prompts[i]), free(batched[i]), free(alone[i]), free(plain[i]);
    }
    CHECK_MSG(differs > 0, "steering changed no generation");
    sa_cvec_free(&cv);
    sa_steer_free(&plan);
    sa_model_free(m);
    snprintf(path, sizeof path, "%s/config.json", dir), unlink(path);
    snprintf(path, sizeof path, "%s/model.safetensors", dir), unlink(path);
    rmdir(dir);
    return CHECK_DONE();
}
