/* cli.h: what every `safearith <command>` shares: the command descriptor, error reporting,
 * the terminal progress bar and interrupt handling.
 *
 * Each command lives in its own cli/cmd_<name>.c and defines one `const sa_cli_command
 * sa_cmd_<name>`; main.c lists the known descriptors as weak symbols, so a command exists
 * exactly when its file is compiled in. Commands print results to stdout (JSON where programs
 * read them), errors to stderr as one line "safearith <command>: <what and where>", and return
 * the process exit code: 0 success, 1 failure, 2 usage error (main turns a failure after
 * SIGINT/SIGTERM into 130/143). */
#ifndef SAFEARITH_CLI_H
#define SAFEARITH_CLI_H

#include <stdint.h>

#include "safearith/error.h"
#include "safearith/progress.h"

typedef struct sa_cli_command {
    const char *name;
    const char *summary;               /* one line for `safearith help` */
    int (*run)(int argc, char **argv); /* argv[0] is the command name */
} sa_cli_command;

#define CLI_OK 0
#define CLI_FAIL 1
#define CLI_USAGE 2

/* Print "safearith CMD: message" to stderr; returns CLI_FAIL. */
int cli_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Same, returning CLI_USAGE and adding a hint to run --help. */
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Print a library error; returns CLI_FAIL. */
int cli_report(const char *cmd, const sa_error *err);

/* Print a library error as a usage error (the library refused the options); returns CLI_USAGE. */
int cli_report_usage(const char *cmd, const sa_error *err);

/* Flags are read with the one flag reader of flags.h. */

/* "safearith ARGV..." as a shell would need it typed (words quoted where needed), for the
 * provenance outputs record; argv[0] is the command name. malloc'd; NULL on OOM. */
char *cli_command_line(int argc, char **argv);

/* A progress reporter that draws a bar on stderr when stderr is a terminal (and stays silent
 * otherwise), and asks the library to stop after SIGINT/SIGTERM. `label` must outlive it. */
sa_progress cli_progress(const char *label);
/* Erase the bar line (if any was drawn). */
void cli_progress_end(void);
/* Install SIGINT/SIGTERM handlers that set the interrupt flag (see cli_interrupted). They fire
 * once: a second Ctrl-C or SIGTERM terminates the process the default way. */
void cli_install_interrupt(void);
/* Non-zero once SIGINT or SIGTERM arrived. This flag is the CLI's only global state. */
int cli_interrupted(void);
/* The process exit status for a command's result: a command that failed after SIGINT or SIGTERM
 * (it stopped because of it) ends with 128 + the signal's number (130, 143), as shells expect. */
int cli_exit_status(int rc);
/* Clear the flag and install the handlers again (chat: a Ctrl-C stopped one reply, the session
 * goes on and the next Ctrl-C stops the next reply). */
void cli_interrupt_rearm(void);

#endif
