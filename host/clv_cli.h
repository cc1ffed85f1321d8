/* SPDX-License-Identifier: ISC */
/* Shared pieces of the cleave command line: error lines, a logger that prints
 * them, option helpers, a terminal progress bar and the file-separation job that
 * both `cleave separate` and `cleave demo` run.
 *
 * Exit codes of every command: 0 success, 1 the job failed (bad input, I/O),
 * 2 usage error. Every failure prints exactly one line "cleave: ..." on stderr. */
#ifndef CLV_CLI_H
#define CLV_CLI_H

#include <stdint.h>
#include <stdio.h>

#include "clv_common.h"
#include "clv_engine.h"
#include "clv_registry.h"

#ifdef __cplusplus
extern "C" {
#endif

enum { CLV_EXIT_OK = 0, CLV_EXIT_FAIL = 1, CLV_EXIT_USAGE = 2 };

/* Prints "cleave: <message>" and a newline on stderr. Thread: main. */
void clv_cli_error(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;

/* Prints "cleave: warning: <message>" on stderr. Thread: main. */
void clv_cli_warn(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;

/* Prints a usage error "cleave CMD: <message> (see 'cleave CMD --help')" and
 * returns CLV_EXIT_USAGE. cmd may be NULL for the top level. Thread: main. */
int clv_cli_usage_error(const char *cmd, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* A ClvLog for library calls: errors and warnings go to stderr as cleave lines,
 * info and debug only when CLEAVE_VERBOSE is set. Thread: main. */
ClvLog clv_cli_log(void);

/* Number of error lines printed so far (through clv_cli_error or the logger), so a
 * caller prints its own line only when the library has not already explained the
 * failure. Thread: main. */
int clv_cli_errors_printed(void);

/* True when argv[1..argc-1] asks for help (-h or --help). Thread: main. */
int clv_cli_wants_help(int argc, char **argv);

/* Parses a whole decimal number in [lo, hi]; 0 on success. Thread: any. */
int clv_cli_parse_int(const char *s, long lo, long hi, long *out);
/* Parses a finite number in [lo, hi]; 0 on success. Thread: any. */
int clv_cli_parse_double(const char *s, double lo, double hi, double *out);

/* Progress bar on stderr, drawn only when stderr is a terminal. */
typedef struct {
    int enabled;
    int64_t total;       /* frames, > 0 */
    int sample_rate;
    int last_permille;   /* last drawn value, -1 before the first */
    double start_s;      /* monotonic start time */
    double last_draw_s;  /* monotonic time of the last draw */
    char label[64];
} ClvProgress;

/* Starts a bar for `total` frames (disabled when stderr is not a terminal, when
 * CLEAVE_NO_PROGRESS is set, or when total <= 0). Thread: main. */
void clv_progress_begin(ClvProgress *p, const char *label, int64_t total, int sample_rate);
/* Redraws when the value moved and at most ten times a second. Thread: main. */
void clv_progress_update(ClvProgress *p, int64_t done);
/* Erases the bar. Thread: main. */
void clv_progress_end(ClvProgress *p);

/* Monotonic time in seconds. Thread: any. */
double clv_cli_now(void);

/* What one file separation job does. */
typedef struct {
    const char *input;     /* audio file */
    const char *outdir;    /* created if missing (one level) */
    const char *model;     /* registry name or .clvm path; NULL = default separator */
    ClvEngineMode mode;
    ClvOperatingPoint op;
    ClvSpatialMode spatial; /* neural models on stereo input: refine by stereo placement */
    double speed;          /* realtime mode: feed blocks at speed x real time; 0 = unpaced */
    int block;             /* frames per engine call, 1..65536 */
    int quiet;             /* no summary line */
} ClvSeparateJob;

/* Fills a job with the defaults (offline, quality, default model, 1024-frame
 * blocks, real-time pace for realtime mode). Thread: any. */
void clv_separate_job_defaults(ClvSeparateJob *job);

/* Runs a job: streams INPUT through a ClvEngine, drops the first latency frames
 * and flushes with as many zero frames, so OUTDIR/vocals.wav and
 * OUTDIR/accompaniment.wav are time-aligned with INPUT, exactly as long, same rate
 * and channels, 32-bit float. Both are written under temporary names and renamed
 * only when both are complete; on failure nothing is left behind. Prints one error
 * line on failure. Returns a CLV_EXIT_* code. Thread: main. */
int clv_separate_run(const ClvSeparateJob *job);

/* Command entry points (argv[0] is the command name). Thread: main. */
int clv_cmd_separate(int argc, char **argv);
int clv_cmd_models(int argc, char **argv);
int clv_cmd_demo(int argc, char **argv);

#ifdef __cplusplus
}
#endif
#endif
