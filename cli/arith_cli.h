/* arith_cli.h: options shared by the weight-arithmetic commands (task-vector, hdr, resta,
 * merge): output directory, dtype, shard size, threads, overwrite, and the pool/progress set-up.
 *
 * A command loops over argv and offers each flag to arith_cli_flag first; what it does not
 * consume is the command's own. */
#ifndef SAFEARITH_ARITH_CLI_H
#define SAFEARITH_ARITH_CLI_H

#include "cli.h"
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
/* If argv[*i] is a shared flag, consume it (and its value, advancing *i) and return 1; on a bad
 * value print a usage error and return -1; otherwise return 0. */
int arith_cli_flag(const char *cmd, arith_cli *c, int argc, char **argv, int *i);
/* Value of flag argv[*i] ("--flag V" or "--flag=V"); NULL (after a usage error) if missing. Sets
 * *matched when argv[*i] is `flag`. */
const char *arith_cli_value(const char *cmd, const char *flag, int argc, char **argv, int *i,
                            int *matched);
/* If argv[*i] is `flag`, store its value in *dst and return 1; -1 if the value is missing (after
 * a usage error); 0 if argv[*i] is another flag. */
int arith_cli_str(const char *cmd, const char *flag, int argc, char **argv, int *i,
                  const char **dst);

/* A command's own flags: like arith_cli_flag, 1 consumed, 0 not its flag, -1 error. */
typedef int (*arith_cli_own_fn)(void *ctx, int argc, char **argv, int *i);

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
/* Parse sizes like 5GB, 500M, 2GiB, 1e9, 0. */
int arith_cli_parse_size(const char *s, uint64_t *out);

#endif
