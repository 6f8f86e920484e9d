/* tok_cli.h: helpers shared by the `tokenize` and `detokenize` commands for their JSONL
 * --input / --messages files and their JSONL results. */
#ifndef SA_TOK_CLI_H
#define SA_TOK_CLI_H

#include <stddef.h>

struct cJSON;

/* The next non-blank line of the NUL-terminated text at *pos, cut in place (its '\n' becomes
 * NUL); *pos moves past it and *lineno counts every line read, blank ones included. NULL at the
 * end of the text. */
char *tok_cli_next_line(char **pos, size_t *lineno);

/* Set or clear `bit` of *flags by the boolean obj[key] (set when the value equals set_when_true);
 * *flags unchanged when obj has no key. -1 (and *flags unchanged) when obj[key] is there but is
 * not a boolean, else 0. */
int tok_cli_json_flag(const struct cJSON *obj, const char *key, unsigned *flags, unsigned bit,
                      int set_when_true);

/* When rc is CLI_OK, print each item of the array `all` as one JSON line on stdout; then free
 * `all`. Returns rc, or an error (reported for cmd) when printing runs out of memory. */
int tok_cli_print_lines(const char *cmd, struct cJSON *all, int rc);

#endif
