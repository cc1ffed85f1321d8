/* SPDX-License-Identifier: ISC */
/* Benchmark: cost of rolling tagging in real time. Feeds 120 s of a synthetic
 * signal (tones, noise bursts, silence) in 256-frame host blocks at 16 kHz and
 * 48 kHz through clv_tagger and prints the real-time factor, the share of one core
 * and the time per inference step. Prints figures; never fails on speed.
 * argv[1]: the tagger model file. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "clv_nn.h"
#include "clv_tagger.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static double cpu(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static long steps;
static void on_step(void *u, const ClvTagStep *s) { (void)u; (void)s; steps++; }

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: bench_tagger MODEL.clvm\n");
        return 1;
    }
    clv_nn_flush_denormals();
    const int rates[] = {16000, 48000};
    const double seconds = 120.0;
    for (int r = 0; r < 2; r++) {
        ClvTagger *t = NULL;
        if (clv_tagger_new(argv[1], rates[r], NULL, &t) != CLV_OK) {
            fprintf(stderr, "bench_tagger: cannot load %s\n", argv[1]);
            return 1;
        }
        const int n = (int)(seconds * rates[r]);
        float *x = malloc(sizeof(float) * (size_t)n);
        if (!x) return 1;
        uint32_t st = 1;
        for (int i = 0; i < n; i++) {
            st = st * 1664525u + 1013904223u;
            const double tt = (double)i / rates[r];
            const int seg = (int)tt % 6;
            double v = seg < 2 ? 0.2 * sin(2 * M_PI * 330.0 * tt) : seg < 4 ? 0.1 * ((st >> 8) / 8388608.0 - 1.0) : 0.0;
            x[i] = (float)v;
        }
        steps = 0;
        const double w0 = now(), c0 = cpu();
        for (int i = 0; i < n; i += 256)
            clv_tagger_feed(t, x + i, n - i < 256 ? n - i : 256, on_step, NULL, NULL);
        clv_tagger_finish(t, on_step, NULL, NULL);
        const double wall = now() - w0, c = cpu() - c0;
        printf("tagger @ %d Hz: %.0f s of audio in %.3f s CPU (%.3f s wall): real-time factor %.5f, "
               "%.2f %% of one core; %ld steps, %.2f ms per step, %.1f M MACs per step, backend %s\n",
               rates[r], seconds, c, wall, c / seconds, 100.0 * c / seconds, steps,
               1e3 * c / (steps ? steps : 1), clv_tagger_macs_per_step(t) / 1e6, clv_nn_backend());
        free(x);
        clv_tagger_free(t);
    }
    return 0;
}
