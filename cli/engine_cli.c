/* engine_cli.c: helpers shared by the model-running commands (see engine_cli.h). */
#include "engine_cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"

int cli_parse_token_list(const char *cmd, const char *flag, const char *val, int32_t **out,
                         int *n) {
    *out = NULL;
    *n = 0;
    if (!val || !*val)
        return cli_usage_error(cmd, "%s needs a comma-separated list of token ids", flag);
    int cap = 16, k = 0;
    int32_t *ids = malloc((size_t)cap * sizeof *ids);
    const char *p = val;
    while (ids) {
        char *end;
        errno = 0;
        long v = strtol(p, &end, 10);
        if (end == p || errno || v < 0 || v > INT32_MAX || (*end && *end != ',')) {
            free(ids);
            return cli_usage_error(cmd, "%s: '%s' is not a list of token ids", flag, val);
        }
        if (k == cap) {
            int32_t *g = realloc(ids, (size_t)(cap *= 2) * sizeof *ids);
            if (!g) break;
            ids = g;
        }
        ids[k++] = (int32_t)v;
        if (!*end) {
            *out = ids;
            *n = k;
            return 0;
        }
        p = end + 1;
    }
    free(ids);
    return cli_error(cmd, "out of memory");
}

sa_model *cli_load_model(const char *cmd, const char *dir) {
    sa_model *m = NULL;
    sa_error err = {0};
    if (sa_model_load(dir, &m, &err) != SA_OK) {
        cli_report(cmd, &err);
        return NULL;
    }
    return m;
}

int cli_encode_text(const char *cmd, const char *model_dir, const char *text, int add_special,
                    int32_t **out, int *n) {
    (void)model_dir;
    (void)text;
    (void)add_special;
    *out = NULL;
    *n = 0;
    return cli_error(cmd, "text input needs the tokenizer, which this build lacks; use --tokens");
}

int cli_encode_chat(const char *cmd, const char *model_dir, const char *system, const char *user,
                    int32_t **out, int *n) {
    (void)model_dir;
    (void)system;
    (void)user;
    *out = NULL;
    *n = 0;
    return cli_error(cmd, "--chat needs the tokenizer, which this build lacks; use --tokens");
}

int cli_stream_init(const char *cmd, cli_stream *st, const sa_model *m, int print_ids,
                    const char *const *stop, int n_stop) {
    (void)m;
    *st = (cli_stream){.cmd = cmd, .print_ids = print_ids, .stop = stop, .n_stop = n_stop};
    if (!print_ids)
        return cli_error(
            cmd, "text output needs the tokenizer, which this build lacks; use --print-ids");
    if (n_stop) return cli_error(cmd, "--stop needs the tokenizer, which this build lacks");
    return 0;
}

int cli_stream_token(cli_stream *st, int32_t token) {
    printf(st->count++ ? " %d" : "%d", (int)token);
    fflush(stdout);
    return 0;
}

void cli_stream_end(cli_stream *st) {
    if (st->count || st->print_ids) putchar('\n');
    fflush(stdout);
    free(st->text);
    st->text = NULL;
}
