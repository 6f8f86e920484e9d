/* cmd_bench.c: `safearith bench`: prompt-processing and generation speed, like llama-bench.
 *
 * pp: one sequence, a prompt of -p tokens evaluated in one batch; tokens/s = p / time.
 * tg: --batch sequences decoded together for -n steps after a one-token start; tokens/s =
 *     batch * n / time. Each is repeated --reps times on a reset cache; medians are reported.
 * Token ids are a fixed pseudo-random sequence, so runs are comparable. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "engine_cli.h"
#include "safearith/threads.h"

/* --threads and --no-mmap, described at this help text's column */
#define LOAD_USAGE CLI_LOAD_USAGE("  ")

static const char *const usage =
    "usage: safearith bench --model DIR [-p 128] [-n 64] [--batch B] [--threads N] [--reps R] "
    "[--no-mmap] [--precision f32|bf16] [--json]\n"
    "\n"
    "  -p N         prompt tokens for the prompt-processing test (0 = skip; default 128)\n"
    "  -n N         generated tokens per sequence for the generation test (0 = skip; default 64)\n"
    "  --batch B    sequences decoded together in the generation test (default 1)\n"
    "  --reps R     repetitions; medians are reported (default 5)\n" LOAD_USAGE
    "  --json       print one JSON object instead of a table\n";

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n) {
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

typedef struct {
    long p, n, batch, reps;
    int json;
    cli_load_opts load;
} bench_args;

static sa_status run_pp(sa_session *s, const bench_args *a, const int32_t *toks, double *tps,
                        sa_error *err) {
    uint8_t *want = calloc((size_t)a->p, 1); /* logits for the last row only, as in generation */
    if (!want) return sa_error_set(err, SA_ENOMEM, "out of memory");
    want[a->p - 1] = 1;
    for (int r = 0; r < a->reps; r++) {
        sa_session_reset(s, -1);
        double t0 = now();
        sa_status st = sa_session_eval(s, (int)a->p, toks, NULL, want, err);
        tps[r] = (double)a->p / (now() - t0);
        if (!st && cli_interrupted()) st = sa_error_set(err, SA_EINTR, "interrupted");
        if (st) {
            free(want);
            return st;
        }
    }
    free(want);
    return SA_OK;
}

static sa_status run_tg(sa_session *s, const bench_args *a, const int32_t *toks, double *tps,
                        sa_error *err) {
    int B = (int)a->batch;
    int32_t *seq = malloc((size_t)B * sizeof *seq), *tok = malloc((size_t)B * sizeof *tok);
    if (!seq || !tok) {
        free(seq);
        free(tok);
        return sa_error_set(err, SA_ENOMEM, "out of memory");
    }
    sa_status st = SA_OK;
    for (int i = 0; i < B; i++) seq[i] = i;
    for (int r = 0; r < a->reps && !st; r++) {
        sa_session_reset(s, -1);
        for (int i = 0; i < B; i++) tok[i] = toks[i];
        st = sa_session_eval(s, B, tok, seq, NULL, err);
        double t0 = now();
        for (long k = 0; k < a->n && !st; k++) {
            for (int i = 0; i < B; i++) tok[i] = toks[(k * B + i + 7) % 1024];
            st = sa_session_eval(s, B, tok, seq, NULL, err);
            if (!st && cli_interrupted()) st = sa_error_set(err, SA_EINTR, "interrupted");
        }
        tps[r] = (double)B * (double)a->n / (now() - t0);
    }
    free(seq);
    free(tok);
    return st;
}

static void report(const bench_args *a, const sa_session *s, const char *dir, double pp, double tg,
                   int threads) {
    const sa_model *m = sa_session_model(s);
    const sa_model_config *c = sa_model_get_config(m);
    const char *ks = sa_kset_name(sa_session_kset(s)),
               *prec = sa_precision_name(sa_session_precision(s));
    double gb = (double)sa_model_bytes_per_token(m) / 1e9;
    if (a->json) {
        printf("{\"model\": \"%s\", \"arch\": \"%s\", \"weight_dtype\": \"%s\", "
               "\"bytes_per_token\": %.0f, "
               "\"weights\": \"%s\", \"kernels\": \"%s\", \"precision\": \"%s\", "
               "\"n_prompt\": %ld, \"n_gen\": %ld, \"batch\": %ld, \"threads\": %d, \"reps\": %ld, "
               "\"prompt_tokens_per_s\": %.3f, \"gen_tokens_per_s\": %.3f}\n",
               dir, c->arch_name, sa_dtype_name(c->weight_dtype), gb * 1e9,
               a->load.weights == SA_CKPT_READ ? "read" : "mmap", ks, prec, a->p, a->n, a->batch,
               threads, a->reps, pp, tg);
        return;
    }
    printf("model %s (%s, %s, %.3f GB of weights read per token, %s), %d thread(s), kernels %s, "
           "precision %s, medians of %ld\n",
           dir, c->arch_name, sa_dtype_name(c->weight_dtype), gb,
           a->load.weights == SA_CKPT_READ ? "read into memory" : "memory-mapped", threads, ks,
           prec, a->reps);
    printf("| %-12s | %6s | %12s |\n|--------------|--------|--------------|\n", "test", "batch",
           "tokens/s");
    if (a->p) printf("| pp%-10ld | %6d | %12.2f |\n", a->p, 1, pp);
    if (a->n) printf("| tg%-10ld | %6ld | %12.2f |\n", a->n, a->batch, tg);
}

/* 0 to go on, -1 after --help, else the exit code. */
static int parse(const char *cmd, int argc, char **argv, bench_args *a, const char **model) {
    *a = (bench_args){.p = 128, .n = 64, .batch = 1, .reps = 5};
    cli_args p;
    cli_args_init(&p, cmd, argc, argv);
    while (cli_args_next(&p)) {
        if (cli_flag_help(&p)) return fputs(usage, stdout), -1;
        if (!(cli_load_flag(&p, &a->load) || cli_flag_on(&p, "--json", &a->json) ||
              cli_flag_str(&p, "--model", model) || cli_flag_long(&p, "-p", 0, 1 << 20, &a->p) ||
              cli_flag_long(&p, "-n", 0, 1 << 20, &a->n) ||
              cli_flag_long(&p, "--batch", 1, 1024, &a->batch) ||
              cli_flag_long(&p, "--reps", 1, 1000, &a->reps)))
            cli_args_unknown(&p);
    }
    if (p.failed) return CLI_USAGE;
    if (!*model) return cli_usage_error(cmd, "--model is required");
    if (!a->p && !a->n) return cli_usage_error(cmd, "nothing to measure (-p 0 and -n 0)");
    return 0;
}

static int cmd_bench_main(int argc, char **argv) {
    const char *cmd = "bench", *dir = NULL;
    bench_args a;
    int rc = parse(cmd, argc, argv, &a, &dir);
    if (rc) return rc < 0 ? CLI_OK : rc;
    sa_model *m = cli_load_model(cmd, dir, a.load.weights);
    if (!m) return CLI_FAIL;
    const sa_model_config *c = sa_model_get_config(m);
    /* positions used: pp fills 0..p-1; tg a start token then n steps, 0..n (on a reset cache) */
    long ctx = a.p > a.n + 1 ? a.p : a.n + 1;
    if (ctx > c->max_position_embeddings) {
        int max_pos = c->max_position_embeddings;
        sa_model_free(m);
        return cli_usage_error(cmd,
                               "-p %ld / -n %ld need %ld positions; the model has "
                               "max_position_embeddings %d (-p at most %d, -n at most %d)",
                               a.p, a.n, ctx, max_pos, max_pos, max_pos - 1);
    }
    sa_session_opts so;
    sa_session_opts_init(&so);
    so.n_seq = (int)a.batch, so.max_ctx = (int)ctx;
    so.max_batch = (int)(a.p > a.batch ? a.p : a.batch), so.n_threads = (int)a.load.threads;
    so.precision = a.load.precision;
    sa_session *s = NULL;
    sa_error err = {0};
    size_t nt = a.p > 1024 ? (size_t)a.p : 1024;
    int32_t *toks = malloc(nt * sizeof *toks);
    for (size_t i = 0; toks && i < nt; i++)
        toks[i] = (int32_t)(((uint64_t)i * 2654435761u + 12345) % (uint64_t)c->vocab_size);
    double *pp = calloc((size_t)a.reps, sizeof *pp), *tg = calloc((size_t)a.reps, sizeof *tg);
    if (!pp || !tg || !toks)
        rc = cli_error(cmd, "out of memory");
    else if (sa_session_create(m, &so, &s, &err))
        rc = cli_report(cmd, &err);
    else if ((a.p && run_pp(s, &a, toks, pp, &err)) || (a.n && run_tg(s, &a, toks, tg, &err)))
        rc = cli_report(cmd, &err);
    else
        report(&a, s, dir, a.p ? median(pp, (int)a.reps) : 0, a.n ? median(tg, (int)a.reps) : 0,
               a.load.threads ? (int)a.load.threads : sa_cpu_count());
    free(pp);
    free(tg);
    free(toks);
    sa_session_free(s);
    sa_model_free(m);
    return rc;
}

const sa_cli_command sa_cmd_bench = {
    "bench", "measure prompt and generation speed (like llama-bench)", cmd_bench_main};
