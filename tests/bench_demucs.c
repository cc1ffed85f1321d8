/* SPDX-License-Identifier: ISC */
/* Speed of the Demucs-style separator: real-time factor (processing time / audio
 * time) on one thread at 44.1 kHz stereo (the figure quoted), plus 16 and 48 kHz.
 *
 *   bench_demucs MODEL.clvm [SECONDS]         (exit 77 when the model is missing) */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "clv_clvm.h"
#include "clv_demucs.h"
#include "clv_nn.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s MODEL.clvm [SECONDS]\n", argv[0]);
        return 2;
    }
    FILE *f = fopen(argv[1], "rb");
    if (!f) {
        printf("SKIP: %s not found\n", argv[1]);
        return 77;
    }
    fclose(f);
    const double seconds = argc > 2 ? atof(argv[2]) : 10.0;
    clv_nn_flush_denormals();
    const int rates[] = {44100, 48000, 16000};
    const int chans[] = {2, 2, 1};
    for (int ri = 0; ri < 3; ri++) {
        const int ch = chans[ri];
        ClvClvm *m;
        ClvSeparator *sep;
        if (clv_clvm_load(argv[1], NULL, &m) != CLV_OK ||
            clv_demucs_create(m, rates[ri], ch, CLV_OP_LOW_LATENCY, NULL, &sep) != CLV_OK) {
            fprintf(stderr, "%s: cannot create the separator\n", argv[1]);
            return 1;
        }
        const int H = sep->hop;
        float *in[2], *out[2];
        for (int c = 0; c < ch; c++) {
            in[c] = malloc(sizeof(float) * H);
            out[c] = malloc(sizeof(float) * H);
        }
        const long hops = (long)(seconds * rates[ri] / H);
        unsigned s = 1;
        double t = 0, worst = 0;
        for (long k = 0; k < hops; k++) {
            for (int c = 0; c < ch; c++)
                for (int i = 0; i < H; i++) {
                    s = s * 1664525u + 1013904223u;
                    in[c][i] = ((s >> 9) * (1.0f / 8388608.0f) - 0.5f) * 0.2f;
                }
            double t0 = now();
            clv_separator_process(sep, (const float *const *)in, out);
            double dt = now() - t0;
            t += dt;
            if (dt > worst) worst = dt;
        }
        const double audio = (double)hops * H / rates[ri];
        printf("demucs %5d Hz %s: RTF %.4f (%.2f s for %.1f s of audio), worst hop %.3f ms of "
               "%.3f ms, hop %d, latency %d frames (%.2f ms), one thread, backend %s\n",
               rates[ri], ch == 1 ? "mono  " : "stereo", t / audio, t, audio, 1000.0 * worst,
               1000.0 * H / rates[ri], H, sep->latency, 1000.0 * sep->latency / rates[ri],
               clv_nn_backend());
        for (int c = 0; c < ch; c++) {
            free(in[c]);
            free(out[c]);
        }
        clv_separator_free(sep);
    }
    return 0;
}
