/* SPDX-License-Identifier: ISC */
/* Shared scaffolding of the separator-family tests (test_hourglass.c,
 * test_waveunet.c, test_demucs.c): failure counting, an allocation trap for
 * process() (the test links with -Wl,--wrap=malloc,calloc,realloc,free), logs
 * that print or count errors, creating the family's separator from model_path
 * through sep_create, streaming a signal hop by hop, and SDR. Include it once,
 * from the test's only translation unit. */
#ifndef TEST_SEP_MODEL_H
#define TEST_SEP_MODEL_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "clv_clvm.h"
#include "clv_registry.h"

static int failures;
#define CHECK(cond, ...)                                                                   \
    do {                                                                                   \
        if (!(cond)) {                                                                     \
            failures++;                                                                    \
            fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);                           \
            fprintf(stderr, __VA_ARGS__);                                                  \
            fputc('\n', stderr);                                                           \
        }                                                                                  \
    } while (0)

/* allocation trap: counts calls while armed */
void *__real_malloc(size_t);
void *__real_calloc(size_t, size_t);
void *__real_realloc(void *, size_t);
void __real_free(void *);
static int trap_armed;
static long trap_hits;
void *__wrap_malloc(size_t n)
{
    if (trap_armed) trap_hits++;
    return __real_malloc(n);
}
void *__wrap_calloc(size_t a, size_t b)
{
    if (trap_armed) trap_hits++;
    return __real_calloc(a, b);
}
void *__wrap_realloc(void *p, size_t n)
{
    if (trap_armed) trap_hits++;
    return __real_realloc(p, n);
}
void __wrap_free(void *p)
{
    if (trap_armed && p) trap_hits++;
    __real_free(p);
}

static void logfn(void *user, ClvLogLevel level, const char *msg)
{
    (void)user;
    if (level <= CLV_LOG_INFO) fprintf(stderr, "  log: %s\n", msg);
}
static int errors_logged;
static void countfn(void *user, ClvLogLevel level, const char *msg)
{
    (void)user;
    if (level == CLV_LOG_ERROR) {
        errors_logged++;
        fprintf(stderr, "  expected error: %s\n", msg);
    }
}
static const ClvLog quiet_log = {logfn, NULL};
static const ClvLog count_log = {countfn, NULL};

static const char *model_path;
/* the family under test (set by main) */
static ClvSeparatorFactory sep_create;

static ClvSeparator *make(int rate, int channels, ClvOperatingPoint op, const ClvLog *log,
                          ClvStatus *st_out)
{
    ClvClvm *m = NULL;
    ClvStatus st = clv_clvm_load(model_path, log, &m);
    ClvSeparator *sep = NULL;
    if (st == CLV_OK) st = sep_create(m, rate, channels, op, log, &sep);
    if (st_out) *st_out = st;
    return sep;
}

/* Streams n frames per channel (then `tail` zeros) through sep; out gets n + tail. */
static void stream(ClvSeparator *sep, float *const *x, long n, long tail, float *const *out,
                   int trap)
{
    const int C = sep->channels, H = sep->hop;
    float *inb[2], *outb[2];
    for (int c = 0; c < C; c++) {
        inb[c] = malloc(sizeof(float) * H);
        outb[c] = malloc(sizeof(float) * H);
    }
    for (long pos = 0; pos < n + tail; pos += H) {
        for (int c = 0; c < C; c++)
            for (int i = 0; i < H; i++) inb[c][i] = pos + i < n ? x[c][pos + i] : 0.0f;
        trap_armed = trap;
        clv_separator_process(sep, (const float *const *)inb, outb);
        trap_armed = 0;
        for (int c = 0; c < C; c++)
            for (int i = 0; i < H && pos + i < n + tail; i++) out[c][pos + i] = outb[c][i];
    }
    for (int c = 0; c < C; c++) {
        free(inb[c]);
        free(outb[c]);
    }
}

static double sdr(const float *ref, const float *est, long n)
{
    double s = 0, e = 0;
    for (long i = 0; i < n; i++) {
        s += (double)ref[i] * ref[i];
        e += ((double)ref[i] - est[i]) * ((double)ref[i] - est[i]);
    }
    return 10.0 * log10((s + 1e-30) / (e + 1e-30));

#endif
