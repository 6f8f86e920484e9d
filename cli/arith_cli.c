/* arith_cli.c: the shared options of the weight-arithmetic commands (see arith_cli.h). */
#include "arith_cli.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "safearith/dtype.h"

void arith_cli_init(arith_cli *c) {
    memset(c, 0, sizeof *c);
    c->o.out_dtype = -1;
    c->o.max_shard_bytes = SA_DEFAULT_SHARD_BYTES;
    c->threads = 0;
}

const char *arith_cli_value(const char *cmd, const char *flag, int argc, char **argv, int *i,
                            int *matched) {
    const char *a = argv[*i];
    size_t n = strlen(flag);
    *matched = 0;
    if (strncmp(a, flag, n) != 0 || (a[n] != '\0' && a[n] != '=')) return NULL;
    *matched = 1;
    if (a[n] == '=') return a + n + 1;
    if (*i + 1 >= argc) {
        cli_usage_error(cmd, "%s needs a value", flag);
        return NULL;
    }
    return argv[++*i];
}

int arith_cli_str(const char *cmd, const char *flag, int argc, char **argv, int *i,
                  const char **dst) {
    int m;
    const char *v = arith_cli_value(cmd, flag, argc, argv, i, &m);
    if (!m) return 0;
    return (*dst = v) ? 1 : -1;
}

int arith_cli_parse(const char *cmd, arith_cli *c, int argc, char **argv, arith_cli_own_fn own,
                    void *ctx, void (*usage)(void)) {
    c->argc = argc, c->argv = argv;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            usage();
            return ARITH_CLI_HELP_SHOWN;
        }
        int r = arith_cli_flag(cmd, c, argc, argv, &i);
        if (r == 0) r = own(ctx, argc, argv, &i);
        if (r < 0) return CLI_USAGE;
        if (r == 0) return cli_usage_error(cmd, "unknown argument '%s'", argv[i]);
    }
    return CLI_OK;
}

int arith_cli_parse_size(const char *s, uint64_t *out) {
    char *end;
    double v = strtod(s, &end);
    if (end == s || !(v >= 0) || !isfinite(v)) return -1;
    double mult = 1;
    if (*end) {
        static const struct {
            const char *suf;
            double m;
        } sufs[] = {{"", 1},
                    {"b", 1},
                    {"k", 1e3},
                    {"kb", 1e3},
                    {"m", 1e6},
                    {"mb", 1e6},
                    {"g", 1e9},
                    {"gb", 1e9},
                    {"t", 1e12},
                    {"tb", 1e12},
                    {"kib", 1024.0},
                    {"mib", 1048576.0},
                    {"gib", 1073741824.0},
                    {"tib", 1099511627776.0}};
        size_t k = 0, n = sizeof sufs / sizeof sufs[0];
        while (k < n && strcasecmp(end, sufs[k].suf)) k++;
        if (k == n) return -1;
        mult = sufs[k].m;
    }
    *out = (uint64_t)(v * mult);
    return 0;
}

int arith_cli_flag(const char *cmd, arith_cli *c, int argc, char **argv, int *i) {
    int m;
    const char *v;
    if (!strcmp(argv[*i], "-o")) {
        if (*i + 1 >= argc) return cli_usage_error(cmd, "-o needs a value"), -1;
        c->o.output = argv[++*i];
        return 1;
    }
    if ((v = arith_cli_value(cmd, "--output", argc, argv, i, &m)) || m) {
        if (!v) return -1;
        c->o.output = v;
        return 1;
    }
    if ((v = arith_cli_value(cmd, "--dtype", argc, argv, i, &m)) || m) {
        sa_dtype dt;
        if (!v) return -1;
        if (sa_dtype_parse_user(v, &dt) != 0)
            return cli_usage_error(cmd, "--dtype: expected f32, bf16 or f16, got '%s'", v), -1;
        c->o.out_dtype = (int)dt;
        return 1;
    }
    if ((v = arith_cli_value(cmd, "--shard-size", argc, argv, i, &m)) || m) {
        if (!v) return -1;
        if (arith_cli_parse_size(v, &c->o.max_shard_bytes) != 0)
            return cli_usage_error(cmd, "--shard-size: expected a size like 5GB or 500MB, got '%s'",
                                   v),
                   -1;
        return 1;
    }
    if ((v = arith_cli_value(cmd, "--threads", argc, argv, i, &m)) || m) {
        if (!v || cli_parse_long(cmd, "--threads", v, 1, 4096, &c->threads) != 0) return -1;
        return 1;
    }
    if (!strcmp(argv[*i], "--overwrite")) {
        c->o.overwrite = 1;
        return 1;
    }
    if (!strcmp(argv[*i], "--no-model-card")) {
        c->o.no_model_card = 1;
        return 1;
    }
    return 0;
}

int arith_cli_start(const char *cmd, arith_cli *c) {
    if (!c->o.output) return cli_usage_error(cmd, "missing -o OUTPUT");
    if (c->argv && !(c->o.command_line = c->command_line = cli_command_line(c->argc, c->argv)))
        return cli_error(cmd, "out of memory");
    c->o.pool = sa_pool_create((int)c->threads);
    if (!c->o.pool) {
        free(c->command_line);
        c->command_line = NULL;
        return cli_error(cmd, "cannot start %ld threads", c->threads);
    }
    c->progress = cli_progress(cmd);
    c->o.progress = &c->progress;
    return CLI_OK;
}

void arith_cli_end(arith_cli *c) {
    cli_progress_end();
    free(c->command_line);
    c->command_line = NULL;
    c->o.command_line = NULL;
    sa_pool_destroy(c->o.pool);
    c->o.pool = NULL;
}

void arith_cli_print_json(cJSON *obj) {
    char *s = cJSON_PrintUnformatted(obj);
    if (s) printf("%s\n", s);
    free(s);
    cJSON_Delete(obj);
}
