/* flags.c: the cursor flag reader shared by every command (flags.h). */
#include "flags.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "safearith/parse.h"

void cli_args_init(cli_args *p, const char *cmd, int argc, char **argv) {
    *p = (cli_args){.cmd = cmd, .argc = argc, .argv = argv, .i = 0, .arg = NULL, .failed = 0};
}

int cli_args_next(cli_args *p) {
    if (p->failed || p->i + 1 >= p->argc) return 0;
    p->arg = p->argv[++p->i];
    return 1;
}

int cli_args_fail(cli_args *p, const char *fmt, ...) {
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    cli_usage_error(p->cmd, "%s", msg);
    p->failed = 1;
    return 1;
}

int cli_args_unknown(cli_args *p) {
    if (p->arg[0] == '-' && p->arg[1]) return cli_args_fail(p, "unknown option '%s'", p->arg);
    return cli_args_fail(p, "unexpected argument '%s'", p->arg);
}

int cli_flag_help(const cli_args *p) {
    return !strcmp(p->arg, "-h") || !strcmp(p->arg, "--help");
}

/* Which of the '|'-separated names the current argument is: the length of the matched name
 * (the argument is that name alone, or the name followed by '='), else 0. */
static size_t match(const cli_args *p, const char *names) {
    const char *a = p->arg;
    for (const char *n = names; *n;) {
        size_t len = strcspn(n, "|");
        if (!strncmp(a, n, len) &&
            (a[len] == '\0' || (a[len] == '=' && a[0] == '-' && a[1] == '-')))
            return len;
        n += len;
        if (*n == '|') n++;
    }
    return 0;
}

int cli_flag_on(cli_args *p, const char *names, int *dst) {
    size_t len = match(p, names);
    if (!len) return 0;
    if (p->arg[len] == '=') return cli_args_fail(p, "%.*s takes no value", (int)len, p->arg);
    *dst = 1;
    return 1;
}

int cli_flag_value(cli_args *p, const char *names, const char **v) {
    size_t len = match(p, names);
    if (!len) return 0;
    *v = NULL;
    if (p->arg[len] == '=')
        *v = p->arg + len + 1;
    else if (p->i + 1 < p->argc)
        *v = p->argv[++p->i];
    else
        cli_args_fail(p, "%s needs a value", p->arg);
    return 1;
}

int cli_flag_str(cli_args *p, const char *names, const char **dst) {
    const char *v;
    if (!cli_flag_value(p, names, &v)) return 0;
    if (v) *dst = v;
    return 1;
}

int cli_flag_list(cli_args *p, const char *names, const char **dst, int *n, int max) {
    const char *v;
    if (!cli_flag_value(p, names, &v)) return 0;
    if (!v) return 1;
    if (*n >= max) return cli_args_fail(p, "at most %d %s", max, p->arg);
    dst[(*n)++] = v;
    return 1;
}

/* A numeric flag: 0 if the argument is not one of names; else 1 with the flag as typed in name
 * (for messages) and its value in *v (NULL when missing, already reported). */
static int numeric(cli_args *p, const char *names, char name[64], const char **v) {
    size_t len = match(p, names);
    if (!len) return 0;
    snprintf(name, 64, "%.*s", (int)len, p->arg);
    cli_flag_value(p, names, v);
    return 1;
}

int cli_flag_long(cli_args *p, const char *names, long lo, long hi, long *dst) {
    char name[64];
    const char *v;
    int64_t x;
    sa_error err;
    if (!numeric(p, names, name, &v)) return 0;
    if (v && sa_parse_i64(name, v, lo, hi, &x, &err)) return cli_args_fail(p, "%s", err.msg);
    if (v) *dst = (long)x;
    return 1;
}

int cli_flag_int(cli_args *p, const char *names, int lo, int hi, int *dst) {
    long x = *dst;
    int r = cli_flag_long(p, names, lo, hi, &x);
    *dst = (int)x;
    return r;
}

int cli_flag_double(cli_args *p, const char *names, double lo, double hi, double *dst) {
    char name[64];
    const char *v;
    sa_error err;
    if (!numeric(p, names, name, &v)) return 0;
    if (v && sa_parse_f64(name, v, lo, hi, dst, &err)) return cli_args_fail(p, "%s", err.msg);
    return 1;
}

int cli_flag_seed(cli_args *p, const char *names, uint64_t *dst) {
    char name[64];
    const char *v;
    sa_error err;
    if (!numeric(p, names, name, &v)) return 0;
    if (v && sa_parse_u64(name, v, dst, &err)) return cli_args_fail(p, "%s", err.msg);
    return 1;
}

int cli_flag_range(cli_args *p, const char *names, long *lo, long *hi) {
    char name[64];
    const char *v;
    int64_t a, b;
    sa_error err;
    if (!numeric(p, names, name, &v)) return 0;
    if (v && sa_parse_range(name, v, INT32_MAX, &a, &b, &err))
        return cli_args_fail(p, "%s", err.msg);
    if (v) *lo = (long)a, *hi = (long)b;
    return 1;
}

int cli_positional(cli_args *p, const char **dst, int n) {
    if (p->arg[0] == '-' && p->arg[1]) return 0;
    for (int k = 0; k < n; k++)
        if (!dst[k]) return dst[k] = p->arg, 1;
    return 0;
}
