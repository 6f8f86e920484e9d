/* arith_cli.h: options shared by the weight-arithmetic commands (task-vector, hdr, resta,
 * merge): output directory, dtype, shard size, threads, overwrite, and the pool/progress set-up.
 *
 * A command loops over argv and offers each flag to arith_cli_flag first; what it does not
 * consume is the command's own. */
#ifndef SAFEARITH_ARITH_CLI_H
#define SAFEARITH_ARITH_CLI_H

#include "cli.h"
#include "flags.h"
#include "safearith/arith.h"

typedef struct arith_cli {
    sa_arith_opts o;
    long threads;
    sa_progress progress;
    int argc; /* the command's arguments (arith_cli_parse), for the command line */
    char **argv;
    char *command_line; /* recorded in the model card (arith_cli_start .. arith_cli_end) */
} arith_cli;

#define ARITH_CLI_HELP                                                                             \
    "  -o, --output DIR     output model directory (must not exist; see --overwrite)\n"            \
    "  --dtype T            output dtype: f32, bf16 or f16 (default: each tensor keeps the\n"      \
    "                       target's dtype)\n"                                                     \
    "  --shard-size SIZE    output shard size, e.g. 5GB, 500MB, 2GiB; 0 = one file (default "      \
    "5GB)\n"                                                                                       \
    "  --threads N          worker threads (default: all cores)\n"                                 \
    "  --overwrite          replace a previous output (a directory safearith wrote, or an\n"       \
    "                       empty one; never an input)\n"                                          \
    "  --no-model-card      do not write README.md (the model card: method, parameters,\n"         \
    "                       inputs with checksums, this command line)\n"                           \
    "Any model may be BASE+ADAPTER: a PEFT LoRA adapter applied to BASE (docs/arith.md).\n"

void arith_cli_init(arith_cli *c);
/* A flag reader (flags.h) for the shared flags: -o/--output, --dtype, --shard-size, --threads,
 * --overwrite. */
int arith_cli_flag(cli_args *p, arith_cli *c);

/* A command's own flags, a flag reader like arith_cli_flag: 1 consumed (or reported), 0 not its
 * flag. */
typedef int (*arith_cli_own_fn)(void *ctx, cli_args *p);

/* The argument loop of an arithmetic command: -h/--help prints usage() and returns
 * ARITH_CLI_HELP_SHOWN; each argument goes to arith_cli_flag, then to own(ctx, ...); anything
 * else is a usage error. Returns CLI_OK when all arguments were taken, CLI_USAGE after an error. */
#define ARITH_CLI_HELP_SHOWN (-1)
int arith_cli_parse(const char *cmd, arith_cli *c, int argc, char **argv, arith_cli_own_fn own,
                    void *ctx, void (*usage)(void));

/* After parsing: check -o, create the pool and the progress bar. Returns CLI_OK or an exit code. */
int arith_cli_start(const char *cmd, arith_cli *c);
void arith_cli_end(arith_cli *c);
/* Print a one-line JSON result to stdout and free it. */
struct cJSON;
void arith_cli_print_json(struct cJSON *obj);
/* Parse sizes like 5GB, 500M, 2GiB, 1e9, 0 (decimal numbers; more than 2^64 - 1 bytes refused). */
int arith_cli_parse_size(const char *s, uint64_t *out);

#endif
