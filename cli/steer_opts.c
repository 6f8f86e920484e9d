/* steer_opts.c: parsing the --steer* flags and turning them into an engine hook (steer_opts.h).
 *
 * A value that names an existing file is a path even when it holds a ':'; otherwise the text
 * after the last ':' is the scale and must be a number (so "V.gguf:abc" is refused as a bad
 * scale, not reported as a file that cannot be opened). */
#include "steer_opts.h"

#include <float.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "safearith/parse.h"

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

/* VALUE is PATH or PATH:SCALE. A VALUE naming an existing file is a path (even with a ':');
 * otherwise what follows the last ':' is the scale and must be a number. */
static int add_vector(cli_args *p, cli_steer *st, const char *val) {
    if (st->n == CLI_STEER_MAX)
        return cli_args_fail(p, "--steer: at most %d vectors", CLI_STEER_MAX);
    const char *colon = strrchr(val, ':');
    double scale = 1.0;
    char *path = NULL;
    if (colon && access(val, F_OK) != 0) {
        sa_error err;
        /* any finite decimal here; whether it fits the vectors' float32 arithmetic is the
         * library's check (sa_steer_add_cvec names the file) */
        if (sa_parse_f64("--steer scale", colon + 1, -DBL_MAX, DBL_MAX, &scale, &err))
            return cli_args_fail(p, "--steer %s: %s (a path with ':' must exist)", val, err.msg);
        path = strndup(val, (size_t)(colon - val));
        if (!path) return cli_error(p->cmd, "out of memory"), p->failed = 1, 1;
    }
    if (!(path ? path : val)[0])
        return free(path), cli_args_fail(p, "--steer: empty path in '%s'", val);
    st->owned[st->n] = path;
    st->path[st->n] = path ? path : val;
    st->scale[st->n] = scale;
    st->n++;
    return 1;
}

int cli_steer_flag(cli_args *p, cli_steer *st) {
    const char *v;
    if (cli_flag_value(p, "--steer", &v)) return v ? add_vector(p, st, v) : 1;
    if (cli_flag_value(p, "--steer-mode", &v)) {
        if (v && (st->mode = sa_steer_mode_parse(v)) < 0)
            cli_args_fail(p, "--steer-mode: expected add, icv or icv-code, got '%s'", v);
        return 1;
    }
    if (cli_flag_value(p, "--steer-at", &v)) {
        if (!v) return 1;
        if (!strcmp(v, "mlp"))
            st->site = SA_STEER_AT_MLP;
        else if (!strcmp(v, "residual"))
            st->site = SA_STEER_AT_RESIDUAL;
        else
            cli_args_fail(p, "--steer-at: expected mlp or residual, got '%s'", v);
        return 1;
    }
    return cli_flag_range(p, "--steer-layers", &st->lo, &st->hi);
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
