/* SPDX-License-Identifier: ISC */
/* Private struct of the rate bridge, shared by its setup code (clv_rate_bridge.c)
 * and its realtime code (clv_rate_bridge_rt.c). */
#ifndef CLV_RATE_BRIDGE_IMPL_H
#define CLV_RATE_BRIDGE_IMPL_H

#include "clv_rate_bridge.h"
#include "clv_resample.h"

/* Short linear-phase polyphase FIR converter for a rational ratio L/M (the
 * bridge's low-latency path; libsoxr's high-quality filters and block processing
 * hold back tens of milliseconds). y[n] = sum_j h[(nM mod L) + jL] x[floor(nM/L) - j],
 * a Kaiser-windowed sinc of T taps per phase; delay (T*L - 2) / (2M) output samples. */
typedef struct {
    int L, M, T, C;
    float *g;    /* [L][T] phase phi's taps, oldest input first */
    float *hist; /* [C][2T] doubled ring: the last T inputs are hist[p+1 .. p+T] */
    int p;       /* ring slot of the newest input */
    int t;       /* next output's position on the L-fold grid minus L * inputs consumed */
} BrFir;

/* Everything one hop touches. */
struct ClvRateBridgeImpl {
    ClvRateBridgeConfig cfg;
    int C, H, M;            /* channels, host hop, model block */
    ClvResample *down, *up; /* libsoxr, for ratios the FIRs cannot take; else NULL */
    BrFir *fdown, *fup;     /* the short FIRs; NULL at the model rate or with libsoxr */
    double d_down, d_up;    /* converter delays (model samples / host frames) */
    int align;              /* zeros fed to the up-converter at reset (alignment) */
    int prefill;            /* zeros queued at the host rate at reset */
    int latency, headroom;
    int burst;              /* most blocks one hop ran while measuring (creation) */
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
    long frames_in;         /* host frames fed since reset */
    long last_loud;         /* index of the last input frame at or above the quiet level */
    long underruns;
};

/* The quiet gate: vocals are exact zeros where the input stayed under
 * CLV_BR_QUIET (-80 dBFS) from CLV_BR_QUIET_GUARD frames before them up to the
 * newest input (the latency's worth of frames after them).
 * Waveform networks leak their biases into silence (-50 dBFS peaks measured from
 * the Demucs-style model on digital silence); the gate makes silence in give
 * silence out in both stems, and costs at most -80 dBFS of error elsewhere. */
#define CLV_BR_QUIET 1e-4f
#define CLV_BR_QUIET_GUARD 256

CLV_RT size_t clv_br_fir_process(BrFir *f, const float *in, size_t n, float *out, size_t max_out);
CLV_RT void clv_br_fir_reset(BrFir *f);

#endif
