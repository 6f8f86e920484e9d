/* steer_opts.c: parsing the --steer* flags and turning them into an engine hook (steer_opts.h).
 *
 * A scale is split off the last ':' of a --steer value only when what follows parses as a
 * number, so paths containing ':' still work (write PATH:1 to be explicit). */
#include "steer_opts.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

void cli_steer_init(cli_steer *st) {
    memset(st, 0, sizeof *st);
    st->mode = -1;
    st->site = -1;
    st->lo = -1;
}

void cli_steer_free(cli_steer *st) {
    for (int k = 0; k < st->n; k++) free(st->owned[k]);
    sa_steer_free(&st->plan);
    cli_steer_init(st);
}

/* "--flag VALUE" or "--flag=VALUE": returns the value (advancing *i) or NULL if not this flag. */
static const char *flag_value(const char *flag, int argc, char **argv, int *i, int *missing) {
    const char *a = argv[*i];
    size_t n = strlen(flag);
    if (strncmp(a, flag, n)) return NULL;
    if (a[n] == '=') return a + n + 1;
    if (a[n]) return NULL;
    if (*i + 1 >= argc) {
        *missing = 1;
        return NULL;
    }
    return argv[++*i];
}

static int add_vector(const char *cmd, cli_steer *st, const char *val) {
    if (st->n == CLI_STEER_MAX)
        return cli_usage_error(cmd, "--steer: at most %d vectors", CLI_STEER_MAX), -1;
    const char *colon = strrchr(val, ':');
    double scale = 1.0;
    char *path = NULL;
    if (colon) {
        char *end;
        errno = 0;
        double v = strtod(colon + 1, &end);
        if (colon[1] && !*end && !errno && isfinite(v)) {
            scale = v;
            path = strndup(val, (size_t)(colon - val));
            if (!path) return cli_error(cmd, "out of memory"), -1;
        }
    }
    if (!(path ? path : val)[0])
        return free(path), cli_usage_error(cmd, "--steer: empty path in '%s'", val), -1;
    st->owned[st->n] = path;
    st->path[st->n] = path ? path : val;
    st->scale[st->n] = scale;
    st->n++;
    return 1;
}

int cli_steer_or_help(const char *cmd, cli_steer *st, const char *usage, int argc, char **argv,
                      int *i) {
    int r = cli_steer_flag(cmd, st, argc, argv, i);
    if (r) return r;
    if (strcmp(argv[*i], "--help") && strcmp(argv[*i], "-h")) return 0;
    fputs(usage, stdout);
    return CLI_ARG_HELP;
}

int cli_steer_flag(const char *cmd, cli_steer *st, int argc, char **argv, int *i) {
    int missing = 0;
    const char *v;
    const char *name = argv[*i];
    if ((v = flag_value("--steer", argc, argv, i, &missing))) return add_vector(cmd, st, v);
    if ((v = flag_value("--steer-mode", argc, argv, i, &missing))) {
        if ((st->mode = sa_steer_mode_parse(v)) < 0)
            return cli_usage_error(cmd, "--steer-mode: expected add, icv or icv-code, got '%s'", v),
                   -1;
        return 1;
    }
    if ((v = flag_value("--steer-at", argc, argv, i, &missing))) {
        if (!strcmp(v, "mlp"))
            st->site = SA_STEER_AT_MLP;
        else if (!strcmp(v, "residual"))
            st->site = SA_STEER_AT_RESIDUAL;
        else
            return cli_usage_error(cmd, "--steer-at: expected mlp or residual, got '%s'", v), -1;
        return 1;
    }
    if ((v = flag_value("--steer-layers", argc, argv, i, &missing)))
        return cli_parse_range(cmd, "--steer-layers", v, &st->lo, &st->hi) ? -1 : 1;
    if (missing) return cli_usage_error(cmd, "%s needs a value", name), -1;
    return 0;
}

int cli_steer_setup(const char *cmd, cli_steer *st, const sa_model_config *cfg) {
    if (!st->n) {
        if (st->mode >= 0 || st->site >= 0 || st->lo >= 0)
            return cli_usage_error(cmd, "--steer-mode/--steer-at/--steer-layers need --steer");
        return 0;
    }
    int L = cfg->n_layers, d = cfg->hidden_size;
    if (st->lo >= 0 && st->hi >= L)
        return cli_usage_error(cmd, "--steer-layers %ld-%ld: the model has layers 0..%d", st->lo,
                               st->hi, L - 1);
    sa_steer_mode mode = st->mode < 0 ? SA_STEER_ADD : (sa_steer_mode)st->mode;
    sa_steer_site site = st->site >= 0          ? (sa_steer_site)st->site
                         : mode == SA_STEER_ADD ? SA_STEER_AT_RESIDUAL
                                                : SA_STEER_AT_MLP;
    sa_error err = {0};
    if (sa_steer_init(&st->plan, L, d, mode, site, &err)) return cli_report(cmd, &err);
    for (int k = 0; k < st->n; k++) {
        sa_cvec cv;
        sa_status s = sa_cvec_read(st->path[k], d, &cv, &err);
        if (!s) s = sa_steer_add_cvec(&st->plan, &cv, (float)st->scale[k], st->path[k], &err);
        sa_cvec_free(&cv);
        if (s) return cli_report(cmd, &err);
    }
    if (st->lo >= 0) sa_steer_limit_layers(&st->plan, (int)st->lo, (int)st->hi);
    st->enabled = sa_steer_active_count(&st->plan) > 0;
    return 0;
}

void cli_steer_hook(cli_steer *st, const sa_hook *inner, sa_hook *out) {
    sa_steer_hook(st->enabled ? &st->plan : NULL, inner, &st->chain, out);
}

const char *cli_steer_describe(const cli_steer *st, char *buf, int size) {
    if (!st->enabled) return buf[0] = '\0', buf;
    int lo = -1, hi = -1;
    for (int l = 0; l < st->plan.n_layers; l++)
        if (st->plan.active[l]) hi = l, lo = lo < 0 ? l : lo;
    snprintf(buf, (size_t)size, "%s with %d vector%s on layers %d-%d at %s",
             sa_steer_mode_name(st->plan.mode), st->n, st->n > 1 ? "s" : "", lo, hi,
             st->plan.site == SA_STEER_AT_MLP ? "mlp" : "residual");
    return buf;
}

int cli_steer_inputs(const cli_steer *st, const char *model, const char **inputs) {
    int n = 0;
    inputs[n++] = model;
    for (int k = 0; k < st->n; k++) inputs[n++] = st->path[k];
    return n;
}
