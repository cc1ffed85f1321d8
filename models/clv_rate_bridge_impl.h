/* SPDX-License-Identifier: ISC */
/* Private struct of the rate bridge, shared by its setup code (clv_rate_bridge.c)
 * and its realtime code (clv_rate_bridge_rt.c). */
#ifndef CLV_RATE_BRIDGE_IMPL_H
#define CLV_RATE_BRIDGE_IMPL_H

#include "clv_rate_bridge.h"
#include "clv_resample.h"

/* Everything one hop touches. */
struct ClvRateBridgeImpl {
    ClvRateBridgeConfig cfg;
    int C, H, M;            /* channels, host hop, model block */
    ClvResample *down, *up; /* NULL when the host runs at the model rate */
    double d_down, d_up;    /* converter delays (model samples / host frames) */
    int align;              /* zeros fed to the up-converter at reset (alignment) */
    int prefill;            /* zeros queued at the host rate at reset */
    int latency, headroom;
    int measuring;          /* creation: blocks give silence, the callback is not called */
    float *inter;           /* [H * C] interleaved host input */
    float *fifo;            /* [cap_fifo * C] model-rate input not yet in a block */
    int nfifo, cap_fifo;
    float *bin[2], *bout[2]; /* [M] planar block in / out */
    float *vm;              /* [max_blocks * M * C] interleaved vocals at the model rate */
    int max_blocks;
    float *outq;            /* [cap_out * C] host-rate vocals waiting to go out */
    int nout, cap_out;
    float *zeros;           /* [max(align, H) * C] */
    long produced;          /* host frames queued since reset, prefill included */
    long underruns;
};

#endif
