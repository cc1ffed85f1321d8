/* SPDX-License-Identifier: ISC */
/* Speed of the hourglass separator: real-time factor (processing time / audio
 * time) on one thread, for host rates 16, 44.1 and 48 kHz, mono and stereo.
 *
 *   bench_hourglass MODEL.clvm [SECONDS]                                     */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "clv_clvm.h"
#include "clv_hourglass.h"
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
    const double seconds = argc > 2 ? atof(argv[2]) : 10.0;
    clv_nn_flush_denormals();
    const int rates[] = {16000, 44100, 48000};
    for (int ri = 0; ri < 3; ri++)
        for (int ch = 1; ch <= 2; ch++) {
            ClvClvm *m;
            ClvSeparator *sep;
            if (clv_clvm_load(argv[1], NULL, &m) != CLV_OK ||
                clv_hourglass_create(m, rates[ri], ch, CLV_OP_QUALITY, NULL, &sep) != CLV_OK) {
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
            double t = 0;
            for (long k = 0; k < hops; k++) {
                for (int c = 0; c < ch; c++)
                    for (int i = 0; i < H; i++) {
                        s = s * 1664525u + 1013904223u;
                        in[c][i] = ((s >> 9) * (1.0f / 8388608.0f) - 0.5f) * 0.2f;
                    }
                double t0 = now();
                clv_separator_process(sep, (const float *const *)in, out);
                t += now() - t0;
            }
            const double audio = (double)hops * H / rates[ri];
            printf("hourglass %5d Hz %s: RTF %.4f (%.2f s for %.1f s of audio), latency %d frames "
                   "(%.1f ms), backend %s\n",
                   rates[ri], ch == 1 ? "mono  " : "stereo", t / audio, t, audio, sep->latency,
                   1000.0 * sep->latency / rates[ri], clv_nn_backend());
            for (int c = 0; c < ch; c++) {
                free(in[c]);
                free(out[c]);
            }
            clv_separator_free(sep);
        }
    return 0;
}
