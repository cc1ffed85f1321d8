/* SPDX-License-Identifier: ISC */
/* Speed of the hourglass separator: real-time factor (processing time / audio
 * time) on one thread, for host rates 16, 44.1 and 48 kHz, mono and stereo.
 *
 *   bench_hourglass MODEL.clvm [SECONDS]                                     */
#include <stdio.h>

#include "clv_hourglass.h"

#include "bench_sep_model.h"

int main(int argc, char **argv)
{
    double seconds;
    const int rc = bench_start(argc, argv, 0, &seconds);
    if (rc >= 0) return rc;
    const int rates[] = {16000, 44100, 48000};
    for (int ri = 0; ri < 3; ri++)
        for (int ch = 1; ch <= 2; ch++) {
            const int rate = rates[ri];
            unsigned s = 1;
            BenchRun r;
            if (bench_run(clv_hourglass_create, argv[1], rate, ch, CLV_OP_QUALITY, seconds, &s, &r))
                return 1;
            printf("hourglass %5d Hz %s: RTF %.4f (%.2f s for %.1f s of audio), latency %d frames "
                   "(%.1f ms), backend %s\n",
                   rate, bench_layout(ch), r.time_s / r.audio_s, r.time_s, r.audio_s,
                   r.sep->latency, 1000.0 * r.sep->latency / rate, clv_nn_backend());
            clv_separator_free(r.sep);
        }
    return 0;
}
