/* arith_cli.c: the shared options of the weight-arithmetic commands (see arith_cli.h). */
#include "arith_cli.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "safearith/dtype.h"
#include "safearith/parse.h"

void arith_cli_init(arith_cli *c) {
    memset(c, 0, sizeof *c);
    sa_arith_opts_init(&c->o);
}

int arith_cli_parse(const char *cmd, arith_cli *c, int argc, char **argv, arith_cli_own_fn own,
                    void *ctx, void (*usage)(void)) {
    c->argc = argc, c->argv = argv;
    cli_args p;
    cli_args_init(&p, cmd, argc, argv);
    while (cli_args_next(&p)) {
        if (cli_flag_help(&p)) return usage(), ARITH_CLI_HELP_SHOWN;
        if (!(arith_cli_flag(&p, c) || own(ctx, &p))) cli_args_unknown(&p);
    }
    return p.failed ? CLI_USAGE : CLI_OK;
}

int arith_cli_parse_size(const char *s, uint64_t *out) {
    static const struct {
        const char *suf;
        double m;
    } sufs[] = {{"b", 1},
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
    size_t n = strspn(s, "0123456789.eE-+"), k = 0, ns = sizeof sufs / sizeof sufs[0];
    double mult = 1, v;
    if (s[n]) {
        while (k < ns && strcasecmp(s + n, sufs[k].suf)) k++;
        if (k == ns) return -1;
        mult = sufs[k].m;
    }
    char num[64];
    if (n >= sizeof num) return -1;
    memcpy(num, s, n);
    num[n] = '\0';
    if (sa_parse_f64("size", num, 0, 1.8e19, &v, NULL)) return -1;
    v *= mult;
    if (!(v < 18446744073709551616.0)) return -1; /* 2^64: would not fit uint64 */
    *out = (uint64_t)v;
    return 0;
}

int arith_cli_flag(cli_args *p, arith_cli *c) {
    const char *v;
    if (cli_flag_str(p, "-o|--output", &c->o.output)) return 1;
    if (cli_flag_value(p, "--dtype", &v)) {
        sa_dtype dt;
        if (v && sa_dtype_parse_user(v, &dt) != 0)
            return cli_args_fail(p, "--dtype: expected f32, bf16 or f16, got '%s'", v);
        if (v) c->o.out_dtype = (int)dt;
        return 1;
    }
    if (cli_flag_value(p, "--shard-size", &v)) {
        if (v && arith_cli_parse_size(v, &c->o.max_shard_bytes) != 0)
            return cli_args_fail(p, "--shard-size: expected a size like 5GB or 500MB, got '%s'", v);
        return 1;
    }
    return cli_flag_long(p, "--threads", 1, 4096, &c->threads) ||
           cli_flag_on(p, "--overwrite", &c->o.overwrite) ||
           cli_flag_on(p, "--no-model-card", &c->o.no_model_card);
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
