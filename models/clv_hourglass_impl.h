/* SPDX-License-Identifier: ISC */
/* Private structs of the hourglass separator, shared by its setup code
 * (clv_hourglass.c) and its realtime code (clv_hourglass_rt.c). */
#ifndef CLV_HOURGLASS_IMPL_H
#define CLV_HOURGLASS_IMPL_H

#include "clv_arena.h"
#include "clv_hourglass.h"
#include "clv_nn.h"
#include "clv_resample.h"
#include "clv_stft.h"

#define HG_MAX_STACKS 4

/* Per-band linear layer: weight [nb, cout, cin], bias [nb, cout]. */
typedef struct {
    int nb, cin, cout;
    const float *w, *b;
} HgBandLinear;

typedef struct {
    int cin; /* per-band input width of enc0 */
    HgBandLinear enc0, down1, down2, up2, up1, head;
    ClvLinear bott_in, bott_out;
    ClvRnnCell gru;
} HgStack;

struct ClvHourglassNetImpl {
    int rate, n_fft, hop, bins;
    int stacks, d0, d1, d2, hidden, lookahead, nb, bw, ctx;
    const float *in_mean, *in_scale; /* [nb * bw] */
    HgStack st[HG_MAX_STACKS];
    long params;
};

/* Everything one channel's frame step touches. */
struct ClvHourglassStateImpl {
    const ClvHourglassNet *net;
    ClvArena arena;
    ClvRnnStream gru[HG_MAX_STACKS];
    float *ring;   /* [ctx][nb*bw] normalised log-magnitudes, oldest first */
    float *specs;  /* [lookahead + 1][2 * bins] spectra, oldest first */
    float *x0;     /* [nb][max cin] stacked per-band inputs */
    float *e0, *e1, *e2, *z, *t;
    float *u0, *mask;
    int wide;      /* floats in t and u0 */
    float silent;  /* normalised value of a zero magnitude, per bin in ring init */
    long frames;   /* frames seen since reset */
    int identity;
};

/* The separator: host-rate glue around one net and a state per channel. */
typedef struct {
    ClvSeparator base;
    ClvClvm *model;
    ClvHourglassNet *net;
    ClvHourglassState *st[2];
    ClvStft *stft[2];
    ClvResample *down, *up; /* NULL when the host runs at the model rate */
    int mhop;               /* model hop (16 kHz samples per frame) */
    int extra16;            /* zeros fed to the up-converter at reset (alignment) */
    int prefill;            /* zeros queued at the host rate at reset */
    float *inter;           /* [hop * C] interleaved host input */
    float *fifo16;          /* [cap16 * C] model-rate input not yet framed */
    int n16, cap16;
    float *v16;             /* [max_frames * mhop * C] vocals at the model rate */
    int max_frames;
    float *outq;            /* [capout * C] host-rate vocals waiting to go out */
    int nout, capout;
    float *frame_in, *frame_out, *spec, *vspec, *zeros;
    long produced;          /* host-rate frames queued since reset, prefill included */
    long underruns;
} Hourglass;

CLV_RT void clv_hourglass_sep_process(ClvSeparator *sep, const float *const *in,
                                      float *const *vocals);
CLV_RT void clv_hourglass_sep_reset(ClvSeparator *sep);

#endif
