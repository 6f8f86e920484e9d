/* flags.h: the one flag reader of every `safearith` command.
 *
 * Every command walks its arguments with a cursor and offers the current one to a chain of
 * typed readers; the first that recognises it consumes it (with its value) and the loop moves on:
 *
 *     cli_args p;
 *     cli_args_init(&p, CMD, argc, argv);
 *     while (cli_args_next(&p)) {
 *         if (cli_flag_help(&p)) return fputs(usage, stdout), CLI_OK;
 *         if (!(cli_flag_str(&p, "--model", &model) || cli_flag_int(&p, "--top-k", 0, 100, &k) ||
 *               cli_flag_on(&p, "--overwrite", &overwrite)))
 *             cli_args_unknown(&p);
 *     }
 *     if (p.failed) return CLI_USAGE;
 *
 * The same rules hold in every command: a value is given as "--name VALUE" or "--name=VALUE";
 * a switch takes no value ("--overwrite=1" is refused); NAME may list aliases separated by '|'
 * ("-o|--output", "--max-tokens|--max-new-tokens"); numbers go through the library's strict
 * parsers (parse.h: decimal only, range-checked, overflow refused; seeds span uint64). A bad or
 * missing value prints one usage error naming the flag and sets p.failed, which ends the loop. */
#ifndef SA_CLI_FLAGS_H
#define SA_CLI_FLAGS_H

#include <stdint.h>

typedef struct cli_args {
    const char *cmd;
    int argc;
    char **argv;
    int i;           /* index of the current argument */
    const char *arg; /* the current argument */
    int failed;      /* a usage error was printed */
} cli_args;

void cli_args_init(cli_args *p, const char *cmd, int argc, char **argv);
/* Move to the next argument; 0 at the end or once an error was reported. */
int cli_args_next(cli_args *p);
/* Report the current argument as unknown (usage error) and mark p failed; returns 1. */
int cli_args_unknown(cli_args *p);
/* Report a usage error for the command (printed like cli_usage_error) and mark p failed; returns 1.
 */
int cli_args_fail(cli_args *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* -h or --help. */
int cli_flag_help(const cli_args *p);
/* A switch: sets *dst = 1. */
int cli_flag_on(cli_args *p, const char *names, int *dst);
/* A flag with a value: *v points into argv. Returns 1 when the flag matched; *v is NULL when
 * its value was missing (already reported). */
int cli_flag_value(cli_args *p, const char *names, const char **v);
int cli_flag_str(cli_args *p, const char *names, const char **dst);
/* A repeatable string flag collected into dst[*n], at most max times. */
int cli_flag_list(cli_args *p, const char *names, const char **dst, int *n, int max);
int cli_flag_long(cli_args *p, const char *names, long lo, long hi, long *dst);
int cli_flag_int(cli_args *p, const char *names, int lo, int hi, int *dst);
int cli_flag_double(cli_args *p, const char *names, double lo, double hi, double *dst);
/* A seed: a decimal integer in [0, 2^64 - 1]. */
int cli_flag_seed(cli_args *p, const char *names, uint64_t *dst);
/* "A" or "A-B", 0 <= A <= B (layer ranges). */
int cli_flag_range(cli_args *p, const char *names, long *lo, long *hi);
/* A positional argument (anything not starting with '-', or "-" itself) into the first empty
 * slot of dst[0..n); 0 if the argument is a flag or every slot is taken. */
int cli_positional(cli_args *p, const char **dst, int n);

#endif
