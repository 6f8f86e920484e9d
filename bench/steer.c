/* steer.c (bench): decode speed with and without steering.
 *
 * usage: steer [--model DIR] [--tokens N] [--runs R] [--threads T] [--mode add|icv|icv-code]
 *
 * Without --model it writes a random-weight Llama checkpoint (hidden 1024, 8 layers, F32) to a
 * temporary directory. Each run prefills 16 tokens and decodes N more one at a time (a fixed
 * token stream is fed; sampling is irrelevant here), switching between no hook and a steering
 * hook on every layer at every step, so that the noise of a shared machine hits both alike;
 * prints the median step speed of each, their ratio, and the steering work timed alone. */
#include "bench_util.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "safearith/model.h"
#include "safearith/safetensors.h"
#include "safearith/steer.h"
#include "tiny_llama.h"

static float frand(unsigned *s) {
    *s = *s * 1664525u + 1013904223u;
    return ((*s >> 8) / 16777216.0f - 0.5f) * 0.06f;
}

#define D 1024
#define FF 2816
#define NL 8
#define V 2048

/* The benchmark's model: hidden 1024, MLP 2816, 8 layers, vocab 2048, F32. */
static int write_model(const char *dir) {
    tiny_llama spec = {V, D, FF, NL, 16, 8, 2048, 1, 2, 0, 1, 0.03f, 0.03f};
    sa_error err = {0};
    int rc = tiny_llama_write(dir, &spec, &err);
    if (rc) fprintf(stderr, "bench: %s\n", err.msg);
    return rc;
}

/* Prefill 16 tokens, then decode n tokens one at a time, switching between the plain and the
 * steering hook at every step so that machine noise hits both alike; step times go to tp
 * (even steps, plain) and ts (odd steps, steered). */
static int run(sa_session *s, const sa_hook *plain, const sa_hook *steered, int n, double *tp,
               double *ts) {
    int32_t tok[16], seq[16] = {0};
    for (int i = 0; i < 16; i++) tok[i] = 3 + i;
    sa_session_reset(s, -1);
    sa_error err = {0};
    sa_session_set_hook(s, plain);
    if (sa_session_eval(s, 16, tok, seq, NULL, &err)) return fprintf(stderr, "%s\n", err.msg), -1;
    for (int i = 0; i < n; i++) {
        int32_t t = 5 + (i * 7) % 1000, z = 0;
        sa_session_set_hook(s, i % 2 ? steered : plain);
        double t0 = bench_now();
        if (sa_session_eval(s, 1, &t, &z, NULL, &err)) return fprintf(stderr, "%s\n", err.msg), -1;
        (i % 2 ? ts : tp)[i / 2] = bench_now() - t0;
    }
    return 0;
}

static int cmpd(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv) {
    const char *model = NULL;
    int n = 64, runs = 7, threads = 2, mode = SA_STEER_ICV;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--model"))
            model = argv[i + 1];
        else if (!strcmp(argv[i], "--tokens"))
            n = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--runs"))
            runs = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--threads"))
            threads = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--mode"))
            mode = sa_steer_mode_parse(argv[i + 1]);
    }
    if (mode < 0 || runs < 1 || runs > 99 || n < 2)
        return fprintf(stderr, "bench: bad arguments\n"), 2;
    char tmp[] = "/tmp/sa_steer_bench_XXXXXX";
    if (!model) {
        if (!mkdtemp(tmp) || write_model(tmp)) return 1;
        model = tmp;
    }
    sa_model *m;
    sa_session *s;
    sa_error err = {0};
    sa_session_opts so;
    sa_session_opts_init(&so);
    so.n_seq = 1, so.max_ctx = n + 32, so.max_batch = 64, so.n_threads = threads;
    if (sa_model_load(model, &m, &err) || sa_session_create(m, &so, &s, &err))
        return fprintf(stderr, "bench: %s\n", err.msg), 1;
    const sa_model_config *cfg = sa_model_get_config(m);
    sa_steer plan;
    sa_cvec cv;
    if (sa_steer_init(&plan, cfg->n_layers, cfg->hidden_size, (sa_steer_mode)mode,
                      mode == SA_STEER_ADD ? SA_STEER_AT_RESIDUAL : SA_STEER_AT_MLP, &err) ||
        sa_cvec_alloc(&cv, cfg->n_layers, cfg->hidden_size, &err))
        return fprintf(stderr, "bench: %s\n", err.msg), 1;
    unsigned seed = 7;
    for (int l = 0; l < cfg->n_layers; l++) {
        cv.has[l] = 1;
        for (int k = 0; k < cfg->hidden_size; k++)
            cv.dir[(size_t)l * cfg->hidden_size + k] = frand(&seed);
    }
    sa_steer_add_cvec(&plan, &cv, 0.1f, "bench", &err);
    sa_steer_chain chain;
    sa_hook steer_hook, none = {0};
    sa_steer_hook(&plan, NULL, &chain, &steer_hook);
    int half = n / 2, total = half * runs;
    double *tp = malloc((size_t)total * sizeof *tp), *ts = malloc((size_t)total * sizeof *ts);
    if (!tp || !ts || run(s, &none, &steer_hook, n, tp, ts)) return 1; /* warm-up */
    for (int r = 0; r < runs; r++)
        if (run(s, &none, &steer_hook, n, tp + r * half, ts + r * half)) return 1;
    qsort(tp, (size_t)total, sizeof *tp, cmpd);
    qsort(ts, (size_t)total, sizeof *ts, cmpd);
    double p = 1 / tp[total / 2], q = 1 / ts[total / 2];
    /* The steering work alone, timed directly: one row through every layer's rule. */
    float *row = malloc((size_t)cfg->hidden_size * sizeof *row);
    for (int k = 0; k < cfg->hidden_size; k++) row[k] = frand(&seed);
    double t0 = bench_now();
    int reps = 2000;
    for (int i = 0; i < reps; i++)
        for (int l = 0; l < cfg->n_layers; l++)
            sa_steer_apply(&plan, l, plan.site, row, 1, (size_t)cfg->hidden_size);
    double per_token = (bench_now() - t0) / reps;
    printf("model %s: %d layers, hidden %d; %d threads; %d runs x %d decode steps, plain and "
           "steered alternating\n",
           model, cfg->n_layers, cfg->hidden_size, threads, runs, n);
    printf("plain   %.2f tok/s (median step)\nsteered %.2f tok/s (median step, %s at every layer)\n"
           "ratio steered/plain %.4f\nsteering work alone: %.2f us per token (%.3f%% of a plain "
           "step)\n",
           p, q, sa_steer_mode_name((sa_steer_mode)mode), q / p, per_token * 1e6,
           100 * per_token * p);
    free(tp), free(ts), free(row);
    sa_cvec_free(&cv);
    sa_steer_free(&plan);
    sa_session_free(s);
    sa_model_free(m);
    if (model == tmp) {
        char path[600];
        snprintf(path, sizeof path, "%s/config.json", tmp), unlink(path);
        snprintf(path, sizeof path, "%s/model.safetensors", tmp), unlink(path);
        rmdir(tmp);
    }
    return 0;
}
