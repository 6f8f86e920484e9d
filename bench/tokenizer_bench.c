/* tokenizer_bench.c: encoding throughput of sa_tokenizer on one core.
 *
 * usage: tokenizer_bench MODEL_DIR TEXT_FILE [RUNS]
 * The text is cut into paragraphs at blank lines (prompts, not one giant string) and each run
 * encodes all of them with a freshly loaded tokenizer, so that the word cache starts cold every
 * run. Prints one JSON line: bytes, tokens, per-run MB/s and their median. Loading is not timed. */
#include "bench_util.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/fsutil.h"
#include "safearith/tokenizer.h"

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* One timed pass over all paragraphs; returns seconds and the number of tokens. */
static double run_once(const char *model, const char *text, size_t len, size_t *tokens) {
    sa_error err;
    sa_tokenizer *tok;
    if (sa_tokenizer_load(model, &tok, &err) != SA_OK) {
        fprintf(stderr, "tokenizer_bench: %s\n", err.msg);
        exit(1);
    }
    sa_tokens ids = {0};
    *tokens = 0;
    double t0 = bench_now();
    for (size_t i = 0; i < len;) {
        const char *end = strstr(text + i, "\n\n");
        size_t n = end ? (size_t)(end - (text + i)) : len - i;
        ids.n = 0;
        if (sa_tokenizer_encode(tok, text + i, n, SA_TOK_DEFAULT, &ids, &err) != SA_OK) {
            fprintf(stderr, "tokenizer_bench: %s\n", err.msg);
            exit(1);
        }
        *tokens += ids.n;
        i += n + (end ? 2 : 0);
    }
    double dt = bench_now() - t0;
    sa_tokens_free(&ids);
    sa_tokenizer_free(tok);
    return dt;
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: tokenizer_bench MODEL_DIR TEXT_FILE [RUNS]\n");
        return 2;
    }
    int runs = argc > 3 ? atoi(argv[3]) : 5;
    if (runs < 1 || runs > 100) runs = 5;
    sa_error err;
    char *text;
    size_t len, tokens = 0;
    if (sa_read_file(argv[2], &text, &len, &err) != SA_OK) {
        fprintf(stderr, "tokenizer_bench: %s\n", err.msg);
        return 1;
    }
    double *mbs = malloc((size_t)runs * sizeof *mbs);
    printf("{\"impl\":\"safearith\",\"bytes\":%zu,\"runs_mb_s\":[", len);
    for (int r = 0; r < runs; r++) {
        double dt = run_once(argv[1], text, len, &tokens);
        mbs[r] = (double)len / dt / 1e6;
        printf("%s%.3f", r ? "," : "", mbs[r]);
    }
    qsort(mbs, (size_t)runs, sizeof *mbs, cmp);
    printf("],\"tokens\":%zu,\"median_mb_s\":%.3f}\n", tokens, mbs[runs / 2]);
    free(mbs);
    free(text);
    return 0;
}
