/* test_flags.c: the CLI's one flag reader (cli/flags.h): "--name value" and "--name=value" alike,
 * aliases, switches refusing a value, missing values, the strict numeric readers (hex, overflow,
 * fractions refused; seeds over the whole uint64 range), positionals and unknown flags. */
#include <stdint.h>

#include "flags.h"

#include "common/check.h"

/* Read argv with the reader chain the commands use; returns 0 on success, 1 on a usage error. */
typedef struct parsed {
    const char *model, *pos[2];
    long threads, lo, hi;
    int overwrite, top_k;
    double temp;
    uint64_t seed;
} parsed;

static int parse(int argc, char **argv, parsed *r) {
    *r = (parsed){.threads = -1, .lo = -1, .hi = -1, .top_k = -1, .temp = -1};
    cli_args p;
    cli_args_init(&p, "test", argc, argv);
    while (cli_args_next(&p))
        if (!(cli_flag_str(&p, "-m|--model", &r->model) ||
              cli_flag_long(&p, "--threads", 1, 1024, &r->threads) ||
              cli_flag_on(&p, "--overwrite", &r->overwrite) ||
              cli_flag_int(&p, "--top-k|--topk", 0, 1 << 30, &r->top_k) ||
              cli_flag_double(&p, "--temp", 0, 100, &r->temp) ||
              cli_flag_seed(&p, "--seed", &r->seed) ||
              cli_flag_range(&p, "--layers", &r->lo, &r->hi) || cli_positional(&p, r->pos, 2)))
            cli_args_unknown(&p);
    return p.failed;
}

#define ARGS(...)                                                                                  \
    (sizeof((char *[]){"test", __VA_ARGS__}) / sizeof(char *)), (char *[]) {                       \
        "test", __VA_ARGS__                                                                        \
    }

int main(void) {
    parsed r;
    CHECK(parse(ARGS("--threads", "4"), &r) == 0 && r.threads == 4);
    CHECK(parse(ARGS("--threads=4"), &r) == 0 && r.threads == 4);
    CHECK(parse(ARGS("--model=a=b"), &r) == 0 && !strcmp(r.model, "a=b"));
    CHECK(parse(ARGS("-m", "x"), &r) == 0 && !strcmp(r.model, "x"));
    CHECK(parse(ARGS("--topk", "7"), &r) == 0 && r.top_k == 7); /* alias */
    CHECK(parse(ARGS("--top-k=0x10"), &r) == 1);                /* hex */
    CHECK(parse(ARGS("--top-k", "4294967297"), &r) == 1);       /* overflows int */
    CHECK(parse(ARGS("--threads", "2.5"), &r) == 1);            /* fraction */
    CHECK(parse(ARGS("--threads", "0"), &r) == 1);              /* range */
    CHECK(parse(ARGS("--threads"), &r) == 1);                   /* missing value */
    CHECK(parse(ARGS("--threadsx=4"), &r) == 1);                /* not a prefix match */
    CHECK(parse(ARGS("--overwrite"), &r) == 0 && r.overwrite == 1);
    CHECK(parse(ARGS("--overwrite=1"), &r) == 1); /* a switch takes no value */
    CHECK(parse(ARGS("--seed", "18446744073709551615"), &r) == 0 && r.seed == UINT64_MAX);
    CHECK(parse(ARGS("--seed=9007199254740993"), &r) == 0 && r.seed == 9007199254740993ull);
    CHECK(parse(ARGS("--seed", "1.5"), &r) == 1);
    CHECK(parse(ARGS("--seed", "18446744073709551616"), &r) == 1);
    CHECK(parse(ARGS("--temp", "0.7"), &r) == 0 && r.temp == 0.7);
    CHECK(parse(ARGS("--temp", "inf"), &r) == 1);
    CHECK(parse(ARGS("--layers=2-3"), &r) == 0 && r.lo == 2 && r.hi == 3);
    CHECK(parse(ARGS("--layers", "3-2"), &r) == 1);
    CHECK(parse(ARGS("a", "b"), &r) == 0 && !strcmp(r.pos[0], "a") && !strcmp(r.pos[1], "b"));
    CHECK(parse(ARGS("a", "b", "c"), &r) == 1); /* a third positional */
    CHECK(parse(ARGS("--bogus"), &r) == 1);
    CHECK(parse(ARGS("-"), &r) == 0 && !strcmp(r.pos[0], "-")); /* stdin, by convention */
    /* the first error ends the walk: later arguments are not read */
    CHECK(parse(ARGS("--threads", "x", "--seed", "5"), &r) == 1 && r.seed == 0);
    return CHECK_DONE();
}
