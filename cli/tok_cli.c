/* tok_cli.c: helpers shared by the `tokenize` and `detokenize` commands: walking the lines of a
 * JSONL file, per-line boolean flag overrides, and printing the collected results as JSONL. */
#include "tok_cli.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

char *tok_cli_next_line(char **pos, size_t *lineno) {
    while (*pos && **pos) {
        char *line = *pos, *next = strchr(line, '\n');
        if (next) *next++ = 0;
        *pos = next;
        ++*lineno;
        if (line[strspn(line, " \t\r")]) return line;
    }
    return NULL;
}

int tok_cli_json_flag(const cJSON *obj, const char *key, unsigned *flags, unsigned bit,
                      int set_when_true) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!v) return 0;
    if (!cJSON_IsBool(v)) return -1;
    *flags = !cJSON_IsTrue(v) == !set_when_true ? *flags | bit : *flags & ~bit;
    return 0;
}

int tok_cli_print_lines(const char *cmd, cJSON *all, int rc) {
    for (cJSON *r = all->child; rc == CLI_OK && r; r = r->next) {
        char *s = cJSON_PrintUnformatted(r);
        if (!s)
            rc = cli_error(cmd, "out of memory printing the result");
        else
            puts(s);
        free(s);
    }
    cJSON_Delete(all);
    return rc;
}
