/* SPDX-License-Identifier: ISC */
/* Private structs of the hourglass separator, shared by its setup code
 * (clv_hourglass.c) and its realtime code (clv_hourglass_rt.c). */
#ifndef CLV_HOURGLASS_IMPL_H
#define CLV_HOURGLASS_IMPL_H

#include "clv_arena.h"
#include "clv_hourglass.h"
#include "clv_nn.h"
#include "clv_rate_bridge.h"
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

/* The separator: a net, per-channel STFT and state, and the rate bridge that
 * runs them in model-rate blocks of one STFT hop. */
typedef struct {
    ClvSeparator base;
    ClvClvm *model;
    ClvHourglassNet *net;
    ClvHourglassState *st[2];
    ClvStft *stft[2];
    ClvRateBridge *bridge;
    float *spec, *vspec; /* [2 * bins] one frame's spectrum in / vocal spectrum out */
} Hourglass;

/* Bridge callback: one STFT hop per channel through analysis, the net and
 * synthesis. */
CLV_RT void clv_hourglass_sep_block(void *user, const float *const *in, float *const *out);
CLV_RT void clv_hourglass_sep_process(ClvSeparator *sep, const float *const *in,
                                      float *const *vocals);
CLV_RT void clv_hourglass_sep_reset(ClvSeparator *sep);

#endif
