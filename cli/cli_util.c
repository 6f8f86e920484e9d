/* cli_util.c: error lines, progress bar and interrupt flag for the CLI. */
#include "cli.h"

#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/shell_words.h"

/* Set by the signal handler to the signal's number; read by the progress function. */
static volatile sig_atomic_t interrupted;
static int bar_drawn;

static void vreport(const char *cmd, const char *fmt, va_list ap) {
    fprintf(stderr, "safearith %s: ", cmd);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
}

int cli_error(const char *cmd, const char *fmt, ...) {
    cli_progress_end();
    va_list ap;
    va_start(ap, fmt);
    vreport(cmd, fmt, ap);
    va_end(ap);
    return CLI_FAIL;
}

int cli_usage_error(const char *cmd, const char *fmt, ...) {
    cli_progress_end();
    va_list ap;
    va_start(ap, fmt);
    vreport(cmd, fmt, ap);
    va_end(ap);
    fprintf(stderr, "(run 'safearith %s --help' for usage)\n", cmd);
    return CLI_USAGE;
}

int cli_report(const char *cmd, const sa_error *err) {
    return cli_error(cmd, "%s", err->msg[0] ? err->msg : sa_status_name(err->code));
}

int cli_report_usage(const char *cmd, const sa_error *err) {
    return cli_usage_error(cmd, "%s", err->msg[0] ? err->msg : sa_status_name(err->code));
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

typedef struct {
    const char *label;
    double start, last_draw;
} bar_state;

static bar_state the_bar;

static int draw_bar(void *ud, const char *stage, uint64_t done, uint64_t total) {
    bar_state *b = ud;
    if (interrupted) return 1;
    double t = now_s();
    if (done < total && t - b->last_draw < 0.1) return 0;
    b->last_draw = t;
    double frac = total ? (double)done / (double)total : 0;
    if (frac > 1) frac = 1;
    int width = 30, fill = (int)(frac * width);
    char bar[64];
    for (int i = 0; i < width; i++) bar[i] = i < fill ? '#' : '.';
    bar[width] = '\0';
    double el = t - b->start;
    double eta = frac > 0 ? el * (1 - frac) / frac : 0;
    fprintf(stderr, "\r\033[K%s %s [%s] %3.0f%% %.0fs elapsed, ETA %.0fs", b->label,
            stage ? stage : "", bar, frac * 100, el, eta);
    fflush(stderr);
    bar_drawn = 1;
    return 0;
}

static int quiet_progress(void *ud, const char *stage, uint64_t done, uint64_t total) {
    (void)ud, (void)stage, (void)done, (void)total;
    return interrupted ? 1 : 0;
}

sa_progress cli_progress(const char *label) {
    sa_progress p;
    if (isatty(STDERR_FILENO)) {
        the_bar.label = label;
        the_bar.start = now_s();
        the_bar.last_draw = 0;
        p.fn = draw_bar;
        p.ud = &the_bar;
    } else {
        p.fn = quiet_progress;
        p.ud = NULL;
    }
    return p;
}

void cli_progress_end(void) {
    if (bar_drawn) {
        fprintf(stderr, "\r\033[K");
        fflush(stderr);
        bar_drawn = 0;
    }
}

static void on_signal(int sig) {
    interrupted = sig;
}

void cli_install_interrupt(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    /* the first signal asks for a clean stop; a second one (the handler is gone) ends the process
     * at once, for when the work between two checks of the flag takes too long */
    sa.sa_flags = SA_RESETHAND;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

int cli_interrupted(void) {
    return interrupted != 0;
}

int cli_exit_status(int rc) {
    return rc != CLI_OK && interrupted ? 128 + (int)interrupted : rc;
}

void cli_interrupt_rearm(void) {
    interrupted = 0;
    cli_install_interrupt();
}

char *cli_command_line(int argc, char **argv) {
    return sa_shell_command("safearith", argc, (const char *const *)argv);
}
