/* SPDX-License-Identifier: ISC */
/* Private structs of the Demucs-style separator, shared by its setup code
 * (clv_demucs.c) and its realtime code (clv_demucs_rt.c). */
#ifndef CLV_DEMUCS_IMPL_H
#define CLV_DEMUCS_IMPL_H

#include "clv_arena.h"
#include "clv_demucs.h"
#include "clv_hourglass.h"
#include "clv_nn.h"
#include "clv_rate_bridge.h"
#include "clv_stft.h"

#define DM_MAX_DEPTH 6

typedef struct {
    int cin, h;           /* encoder level: Conv1d(cin -> h, K, S), then GLU(1x1 h -> 2h) */
    ClvConv1d conv, glu;  /* glu: 1x1 conv, kernel 1 */
} DmEnc;

typedef struct {
    int hi, co;           /* decoder level: GLU(1x1 hi -> 2hi), ConvTranspose1d(hi -> co) */
    ClvConv1d glu;
    ClvConvT1d convt;     /* bias NULL: added once per finished frame (overlap-add) */
    const float *convt_bias;
} DmDec;

struct ClvDemucsNetImpl {
    int rate, depth, hidden, growth, K, S, rnn_layers, step, lookahead, latency;
    int block;            /* samples per clv_demucs_step: step, or the spectral hop (a multiple) */
    int bott;             /* bottleneck channels */
    DmEnc enc[DM_MAX_DEPTH];
    DmDec dec[DM_MAX_DEPTH]; /* dec[i] works at encoder level depth-1-i */
    ClvRnnCell gru[CLV_RNN_MAX_LAYERS];
    ClvHourglassNet *spec; /* hybrid: the spectral branch (hop = block), else NULL */
    long params;
};

/* Frames per level: encoder level l runs at 1/S^(l+1) of the sample rate; its
 * output waits in skip[l] until the decoder reaches it. */
struct ClvDemucsStateImpl {
    const ClvDemucsNet *net;
    ClvArena arena;
    ClvConv1dStream conv[DM_MAX_DEPTH];
    ClvRnnStream gru;
    float *skip[DM_MAX_DEPTH]; /* [h_l, skip_cap[l]] encoder outputs not yet used */
    int nskip[DM_MAX_DEPTH], skip_cap[DM_MAX_DEPTH];
    int enc_max[DM_MAX_DEPTH]; /* most frames one step brings out of level l */
    float *carry[DM_MAX_DEPTH]; /* [co, K - S] overlap of dec[i] into its next call */
    float *ea, *eb, *ec;       /* encoder work (ping-pong), wenc floats each */
    float *da, *db, *dc;       /* decoder work */
    float *scratch;            /* transposed conv / conv1d scratch */
    float *outq;               /* [outq_cap] time-branch vocals waiting (delay line) */
    int nout, outq_cap;
    long frames;               /* bottleneck frames since reset */
    int identity;
    /* hybrid only: the spectral branch's STFT and state, one frame's spectrum in
     * and vocal spectrum out [2 * bins], and its `block` output samples */
    ClvStft *stft;
    ClvHourglassState *spec;
    float *sx, *sv, *sout;
};

/* The separator: the shared rate bridge around one net and a state per channel. */
typedef struct {
    ClvSeparator base;
    ClvClvm *model;
    ClvDemucsNet *net;
    ClvDemucsState *st[2];
    ClvRateBridge *bridge;
} Demucs;

CLV_RT void clv_demucs_sep_process(ClvSeparator *sep, const float *const *in,
                                   float *const *vocals);
CLV_RT void clv_demucs_sep_reset(ClvSeparator *sep);
CLV_RT void clv_demucs_bridge_block(void *user, const float *const *in, float *const *out);

#endif
