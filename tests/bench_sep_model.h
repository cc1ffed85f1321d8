/* SPDX-License-Identifier: ISC */
/* Shared scaffolding of the separator-family benchmarks (bench_demucs.c,
 * bench_waveunet.c, bench_hourglass.c): a monotonic clock, a reproducible noise
 * source, the start of main ("PROG MODEL.clvm [SECONDS]") and the timing of one
 * separator fed hop by hop on one thread. Each benchmark keeps its own figures
 * and prints them in its own format. Include it once, from the benchmark's only
 * translation unit. */
#ifndef BENCH_SEP_MODEL_H
#define BENCH_SEP_MODEL_H

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "clv_clvm.h"
#include "clv_nn.h"
#include "clv_registry.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

/* n samples of uniform noise in [-0.1, 0.1) from a linear congruential generator
 * with state *s: the same sequence on every run. */
static void bench_noise(float *x, int n, unsigned *s)
{
    for (int i = 0; i < n; i++) {
        *s = *s * 1664525u + 1013904223u;
        x[i] = ((*s >> 9) * (1.0f / 8388608.0f) - 0.5f) * 0.2f;
    }
}

/* The channel layout as the benchmarks print it (same width both ways). */
static const char *bench_layout(int channels) { return channels == 1 ? "mono  " : "stereo"; }

/* The start of main: the usage line (exit code 2); with skip_missing, a missing
 * model file is a skip (exit code 77 for meson). Sets *seconds of audio per
 * measurement (argv[2], 10 by default) and flushes denormals. Returns -1 to go
 * on, else main's exit code. */
static int bench_start(int argc, char **argv, int skip_missing, double *seconds)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s MODEL.clvm [SECONDS]\n", argv[0]);
        return 2;
    }
    if (skip_missing) {
        FILE *f = fopen(argv[1], "rb");
        if (!f) {
            printf("SKIP: %s not found\n", argv[1]);
            return 77;
        }
        fclose(f);
    }
    *seconds = argc > 2 ? atof(argv[2]) : 10.0;
    clv_nn_flush_denormals();
    return -1;
}

/* One timed separator run. */
typedef struct {
    ClvSeparator *sep; /* the caller frees it */
    double time_s;     /* summed wall-clock time of the process() calls */
    double worst_s;    /* the longest process() call */
    double audio_s;    /* seconds of audio fed */
} BenchRun;

/* Creates create()'s separator from the model file `path` at rate, channels and
 * op, and times process() on `seconds` of bench_noise (state *seed) fed hop by
 * hop. Returns 0, or 1 (main's exit code) with a message when the separator
 * cannot be created. */
static int bench_run(ClvSeparatorFactory create, const char *path, int rate, int channels,
                     ClvOperatingPoint op, double seconds, unsigned *seed, BenchRun *r)
{
    ClvClvm *m;
    ClvSeparator *sep;
    if (clv_clvm_load(path, NULL, &m) != CLV_OK ||
        create(m, rate, channels, op, NULL, &sep) != CLV_OK) {
        fprintf(stderr, "%s: cannot create the separator\n", path);
        return 1;
    }
    const int H = sep->hop;
    float *in[2], *out[2];
    for (int c = 0; c < channels; c++) {
        in[c] = malloc(sizeof(float) * H);
        out[c] = malloc(sizeof(float) * H);
    }
    const long hops = (long)(seconds * rate / H);
    double t = 0, worst = 0;
    for (long k = 0; k < hops; k++) {
        for (int c = 0; c < channels; c++) bench_noise(in[c], H, seed);
        double t0 = now();
        clv_separator_process(sep, (const float *const *)in, out);
        double dt = now() - t0;
        t += dt;
        if (dt > worst) worst = dt;
    }
    for (int c = 0; c < channels; c++) {
        free(in[c]);
        free(out[c]);
    }
    r->sep = sep;
    r->time_s = t;
    r->worst_s = worst;
    r->audio_s = (double)hops * H / rate;
    return 0;
}

#endif
