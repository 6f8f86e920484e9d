/* main.c: `safearith <command> [args]` dispatch and `safearith help`.
 *
 * Commands are weak references to descriptors defined in cli/cmd_<name>.c (see cli.h): a
 * command whose file is not compiled in simply does not exist. The order here is the order of
 * `safearith help`, following the pipeline: inspect and edit weights, run models, steer, evaluate.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "safearith/version.h"
#include "safearith/provenance.h"

// clang-format off
#define SA_COMMANDS(X) \
    X(inspect) \
    X(diff) \
    X(task_vector) \
    X(hdr) \
    X(resta) \
    X(merge) \
    X(export_gguf) \
    X(tokenize) \
    X(detokenize) \
    X(logits) \
    X(generate) \
    X(chat) \
    X(bench) \
    X(icv) \
    X(icv_info) \
    X(eval) \
    X(judge) \
    X(judge_agreement) \
    X(report) \
    X(tune)
// clang-format on

#define DECLARE(name) extern const sa_cli_command sa_cmd_##name __attribute__((weak));
SA_COMMANDS(DECLARE)
#undef DECLARE

#define ENTRY(name) &sa_cmd_##name,
static const sa_cli_command *const commands[] = {SA_COMMANDS(ENTRY)};
#undef ENTRY
#define N_COMMANDS (sizeof commands / sizeof commands[0])

static void print_help(FILE *out) {
    fprintf(out,
            "safearith %s: make language models safe again without training them.\n\n"
            "usage: safearith <command> [options]   (safearith <command> --help for details)\n\n"
            "commands:\n",
            sa_version());
    for (size_t i = 0; i < N_COMMANDS; i++)
        if (commands[i]) fprintf(out, "  %-12s %s\n", commands[i]->name, commands[i]->summary);
    fprintf(out, "  %-12s %s\n", "help", "list commands, or show one command's help (help CMD)");
    fprintf(out,
            "\noptions:\n"
            "  %-12s %s\n  %-12s %s\n",
            "--version", "print the version and exit", "-h, --help", "this list");
}

static const sa_cli_command *find_command(const char *name) {
    for (size_t i = 0; i < N_COMMANDS; i++)
        if (commands[i] && strcmp(commands[i]->name, name) == 0) return commands[i];
    return NULL;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        print_help(stderr);
        return CLI_USAGE;
    }
    const char *name = argv[1];
    if (!strcmp(name, "help") || !strcmp(name, "--help") || !strcmp(name, "-h")) {
        int list = argc == 2 || !strcmp(argv[2], "--help") || !strcmp(argv[2], "-h") ||
                   !strcmp(argv[2], "help");
        if (!list) {
            const sa_cli_command *c = find_command(argv[2]);
            if (!c) {
                fprintf(stderr, "safearith: unknown command '%s' (see 'safearith help')\n",
                        argv[2]);
                return CLI_USAGE;
            }
            char *args[] = {(char *)c->name, "--help", NULL};
            return c->run(2, args);
        }
        print_help(stdout);
        return CLI_OK;
    }
    if (!strcmp(name, "--version") || !strcmp(name, "version")) {
        printf("safearith %s\n", sa_version());
        return CLI_OK;
    }
    const sa_cli_command *c = find_command(name);
    if (!c) {
        fprintf(stderr, "safearith: unknown command '%s' (see 'safearith help')\n", name);
        return CLI_USAGE;
    }
    cli_install_interrupt();
    return cli_exit_status(c->run(argc - 1, argv + 1));
}
