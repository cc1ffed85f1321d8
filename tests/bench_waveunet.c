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

#include "clv_waveunet.h"

#include "bench_sep_model.h"

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    double seconds;
    const int rc = bench_start(argc, argv, 1, &seconds);
    if (rc >= 0) return rc;

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
    unsigned s = 1; /* one noise sequence through the block and all separator runs */
    bench_noise(win, W, &s);
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
            const int rate = rates[ri];
            BenchRun r;
            if (bench_run(clv_waveunet_create, argv[1], rate, ch, CLV_OP_QUALITY, seconds, &s, &r))
                return 1;
            const ClvSeparator *sep = r.sep;
            printf("waveunet %5d Hz %s: RTF %.4f (%.2f s for %.1f s of audio), longest hop %.2f ms "
                   "(headroom %d frames = %.1f ms), latency %d frames (%.1f ms), engine total "
                   "%.1f ms\n",
                   rate, bench_layout(ch), r.time_s / r.audio_s, r.time_s, r.audio_s,
                   1000.0 * r.worst_s, sep->headroom, 1000.0 * sep->headroom / rate, sep->latency,
                   1000.0 * sep->latency / rate,
                   1000.0 * (sep->latency + sep->hop + sep->headroom) / rate);
            clv_separator_free(r.sep);
        }
    return 0;
}
