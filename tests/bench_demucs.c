/* SPDX-License-Identifier: ISC */
/* Speed of the Demucs-style separator: real-time factor (processing time / audio
 * time) on one thread at 44.1 kHz stereo (the figure quoted), plus 16 and 48 kHz,
 * at the low-latency point, or the quality point for a quality-only file
 * (demucs-quality.clvm, latency over 25 ms).
 *
 *   bench_demucs MODEL.clvm [SECONDS]         (exit 77 when the model is missing) */
#include <stdio.h>

#include "clv_demucs.h"

#include "bench_sep_model.h"

int main(int argc, char **argv)
{
    double seconds;
    const int rc = bench_start(argc, argv, 1, &seconds);
    if (rc >= 0) return rc;
    /* the file's operating point */
    ClvOperatingPoint op = CLV_OP_LOW_LATENCY;
    ClvClvm *m = NULL;
    ClvDemucsNet *net = NULL;
    if (clv_clvm_load(argv[1], NULL, &m) == CLV_OK && clv_demucs_net_new(m, NULL, &net) == CLV_OK &&
        clv_demucs_net_quality_only(net))
        op = CLV_OP_QUALITY;
    clv_demucs_net_free(net);
    clv_clvm_free(m);
    const int rates[] = {44100, 48000, 16000};
    const int chans[] = {2, 2, 1};
    for (int ri = 0; ri < 3; ri++) {
        const int rate = rates[ri], ch = chans[ri];
        unsigned s = 1;
        BenchRun r;
        if (bench_run(clv_demucs_create, argv[1], rate, ch, op, seconds, &s, &r))
            return 1;
        const ClvSeparator *sep = r.sep;
        printf("demucs %s %5d Hz %s: RTF %.4f (%.2f s for %.1f s of audio), worst hop %.3f ms of "
               "%.3f ms, hop %d, latency %d frames (%.2f ms), one thread, backend %s\n",
               op == CLV_OP_QUALITY ? "quality" : "low-latency", rate, bench_layout(ch),
               r.time_s / r.audio_s, r.time_s, r.audio_s,
               1000.0 * r.worst_s, 1000.0 * sep->hop / rate, sep->hop, sep->latency,
               1000.0 * sep->latency / rate, clv_nn_backend());
        clv_separator_free(r.sep);
    }
    return 0;
}
