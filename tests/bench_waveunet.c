/* SPDX-License-Identifier: ISC */
/* Speed of the Wave-U-Net separator on one thread: compute time of one network
 * block (median and worst of many, one channel), and the real-time factor
 * (processing time / audio time) with the longest hop, at 16, 44.1 and 48 kHz
 * mono and stereo. The longest hop is the one that carries the network block
 * burst: it is what the worker headroom must cover.
 *
 *   bench_waveunet MODEL.clvm [SECONDS]        (exit 77 when the model is missing) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clv_clvm.h"
#include "clv_nn.h"
#include "clv_waveunet.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s MODEL.clvm [SECONDS]\n", argv[0]);
        return 2;
    }
    FILE *f = fopen(argv[1], "rb");
    if (!f) {
        printf("SKIP: %s is missing\n", argv[1]);
        return 77;
    }
    fclose(f);
    const double seconds = argc > 2 ? atof(argv[2]) : 10.0;
    clv_nn_flush_denormals();

    /* one network block, one channel */
    ClvClvm *m = NULL;
    ClvWaveUNetNet *net = NULL;
    ClvWaveUNetState *st = NULL;
    if (clv_clvm_load(argv[1], NULL, &m) != CLV_OK || clv_waveunet_net_new(m, NULL, &net) != CLV_OK ||
        clv_waveunet_state_new(net, &st) != CLV_OK) {
        fprintf(stderr, "%s: cannot create the network\n", argv[1]);
        return 1;
    }
    const int B = clv_waveunet_net_block(net), W = B + 2 * clv_waveunet_net_ctx(net);
    float *win = malloc(sizeof(float) * W), *v = malloc(sizeof(float) * B);
    unsigned s = 1;
    for (int i = 0; i < W; i++) {
        s = s * 1664525u + 1013904223u;
        win[i] = ((s >> 9) * (1.0f / 8388608.0f) - 0.5f) * 0.2f;
    }
    enum { RUNS = 40 };
    double t[RUNS];
    clv_waveunet_state_run_block(st, win, v); /* warm caches */
    for (int r = 0; r < RUNS; r++) {
        double t0 = now();
        clv_waveunet_state_run_block(st, win, v);
        t[r] = now() - t0;
    }
    qsort(t, RUNS, sizeof t[0], cmp_d);
    const double block_s = (double)B / clv_waveunet_net_rate(net);
    printf("waveunet block: %d output samples (%.1f ms of audio) from %d input samples, %ld "
           "parameters: median %.2f ms, worst %.2f ms per channel (%.1f%% of the block's audio), "
           "backend %s\n",
           B, 1000.0 * block_s, W, clv_waveunet_net_params(net), 1000.0 * t[RUNS / 2],
           1000.0 * t[RUNS - 1], 100.0 * t[RUNS / 2] / block_s, clv_nn_backend());
    free(win);
    free(v);
    clv_waveunet_state_free(st);
    clv_waveunet_net_free(net);
    clv_clvm_free(m);

    const int rates[] = {16000, 44100, 48000};
    for (int ri = 0; ri < 3; ri++)
        for (int ch = 1; ch <= 2; ch++) {
            ClvSeparator *sep;
            if (clv_clvm_load(argv[1], NULL, &m) != CLV_OK ||
                clv_waveunet_create(m, rates[ri], ch, CLV_OP_QUALITY, NULL, &sep) != CLV_OK) {
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
            double tt = 0, worst = 0;
            for (long k = 0; k < hops; k++) {
                for (int c = 0; c < ch; c++)
                    for (int i = 0; i < H; i++) {
                        s = s * 1664525u + 1013904223u;
                        in[c][i] = ((s >> 9) * (1.0f / 8388608.0f) - 0.5f) * 0.2f;
                    }
                double t0 = now();
                clv_separator_process(sep, (const float *const *)in, out);
                double dt = now() - t0;
                tt += dt;
                if (dt > worst) worst = dt;
            }
            const double audio = (double)hops * H / rates[ri];
            printf("waveunet %5d Hz %s: RTF %.4f (%.2f s for %.1f s of audio), longest hop %.2f ms "
                   "(headroom %d frames = %.1f ms), latency %d frames (%.1f ms), engine total "
                   "%.1f ms\n",
                   rates[ri], ch == 1 ? "mono  " : "stereo", tt / audio, tt, audio, 1000.0 * worst,
                   sep->headroom, 1000.0 * sep->headroom / rates[ri], sep->latency,
                   1000.0 * sep->latency / rates[ri],
                   1000.0 * (sep->latency + sep->hop + sep->headroom) / rates[ri]);
            for (int c = 0; c < ch; c++) {
                free(in[c]);
                free(out[c]);
            }
            clv_separator_free(sep);
        }
    return 0;
}
