/* SPDX-License-Identifier: ISC */
/* Shared command-line helpers.
 *
 * Every message the tool prints about a failure is one line on stderr that starts
 * with "cleave:"; scripts and tests rely on that. The library reports through a
 * ClvLog, which we route here, and we count error lines so a command adds its own
 * line only when nothing has explained the failure yet. */
#include "clv_cli.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int g_errors_printed;

static void vline(const char *prefix, const char *fmt, va_list ap)
{
    /* Build the whole line first so it reaches stderr in one write and never
     * interleaves with a progress bar redraw. */
    char buf[1024];
    int n = snprintf(buf, sizeof buf, "cleave: %s", prefix);
    if (n < 0) return;
    if ((size_t)n < sizeof buf) vsnprintf(buf + n, sizeof buf - (size_t)n, fmt, ap);
    /* Keep it one line whatever the message holds. */
    for (char *p = buf; *p; p++)
        if (*p == '\n' || *p == '\r') *p = ' ';
    fprintf(stderr, "%s\n", buf);
    fflush(stderr);
}

void clv_cli_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vline("", fmt, ap);
    va_end(ap);
    g_errors_printed++;
}

void clv_cli_warn(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vline("warning: ", fmt, ap);
    va_end(ap);
}

int clv_cli_usage_error(const char *cmd, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (cmd)
        fprintf(stderr, "cleave %s: %s (see 'cleave %s --help')\n", cmd, msg, cmd);
    else
        fprintf(stderr, "cleave: %s (see 'cleave --help')\n", msg);
    g_errors_printed++;
    return CLV_EXIT_USAGE;
}

int clv_cli_errors_printed(void) { return g_errors_printed; }

static void log_fn(void *user, ClvLogLevel level, const char *msg)
{
    (void)user;
    switch (level) {
    case CLV_LOG_ERROR:
        /* Only the first error line: the first is the cause, later ones are
         * consequences ("could not create engine" after "model file bad"). */
        if (g_errors_printed == 0) clv_cli_error("%s", msg);
        else g_errors_printed++;
        break;
    case CLV_LOG_WARNING: clv_cli_warn("%s", msg); break;
    case CLV_LOG_INFO:
    case CLV_LOG_DEBUG:
        if (getenv("CLEAVE_VERBOSE")) fprintf(stderr, "cleave: %s\n", msg);
        break;
    }
}

ClvLog clv_cli_log(void)
{
    ClvLog log = { log_fn, NULL };
    return log;
}

int clv_cli_wants_help(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0) return 0;
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) return 1;
    }
    return 0;
}

int clv_cli_parse_int(const char *s, long lo, long hi, long *out)
{
    if (!s || !*s) return -1;
    char *end = NULL;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end != '\0' || v < lo || v > hi) return -1;
    *out = v;
    return 0;
}

int clv_cli_parse_double(const char *s, double lo, double hi, double *out)
{
    if (!s || !*s) return -1;
    char *end = NULL;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || *end != '\0' || !isfinite(v) || v < lo || v > hi) return -1;
    *out = v;
    return 0;
}

double clv_cli_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void clv_progress_begin(ClvProgress *p, const char *label, int64_t total, int sample_rate)
{
    memset(p, 0, sizeof *p);
    p->enabled = total > 0 && isatty(STDERR_FILENO) && !getenv("CLEAVE_NO_PROGRESS");
    p->total = total;
    p->sample_rate = sample_rate > 0 ? sample_rate : 1;
    p->last_permille = -1;
    p->start_s = clv_cli_now();
    p->last_draw_s = 0.0;
    /* Only the base name fits on a line. */
    const char *base = label ? strrchr(label, '/') : NULL;
    base = base ? base + 1 : (label ? label : "");
    snprintf(p->label, sizeof p->label, "%s", base);
}

void clv_progress_update(ClvProgress *p, int64_t done)
{
    if (!p->enabled) return;
    if (done < 0) done = 0;
    if (done > p->total) done = p->total;
    int permille = (int)(1000 * done / p->total);
    double now = clv_cli_now();
    if (permille == p->last_permille) return;
    if (permille < 1000 && now - p->last_draw_s < 0.1) return;
    p->last_permille = permille;
    p->last_draw_s = now;

    enum { WIDTH = 30 };
    char bar[WIDTH + 1];
    int fill = permille * WIDTH / 1000;
    for (int i = 0; i < WIDTH; i++) bar[i] = i < fill ? '#' : '.';
    bar[WIDTH] = '\0';
    double pos = (double)done / p->sample_rate, len = (double)p->total / p->sample_rate;
    double elapsed = now - p->start_s;
    double speed = elapsed > 0.0 ? pos / elapsed : 0.0;
    fprintf(stderr, "\r%-24.24s [%s] %3d%%  %6.1f/%.1f s  %5.1fx ", p->label, bar,
            permille / 10, pos, len, speed);
    fflush(stderr);
}

void clv_progress_end(ClvProgress *p)
{
    if (!p->enabled) return;
    /* Erase the line so the next message starts clean. */
    fprintf(stderr, "\r%*s\r", 79, "");
    fflush(stderr);
    p->enabled = 0;
}
