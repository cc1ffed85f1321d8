/* SPDX-License-Identifier: ISC */
/* Private structs of the Wave-U-Net separator, shared by its setup code
 * (clv_waveunet.c) and its realtime code (clv_waveunet_rt.c). */
#ifndef CLV_WAVEUNET_IMPL_H
#define CLV_WAVEUNET_IMPL_H

#include "clv_arena.h"
#include "clv_nn.h"
#include "clv_rate_bridge.h"
#include "clv_waveunet.h"

#define WUN_MAX_LEVELS 12

struct ClvWaveUNetNetImpl {
    int rate, levels, ch, kd, ku, block, ctx, latency;
    int hop;                          /* window advance: block, or with a GRU the block
                                       * rounded down to whole bottleneck frames */
    float slope;
    int win;                          /* input samples per block: block + 2 * ctx */
    int width[WUN_MAX_LEVELS + 1];    /* channels of down i (i < levels), bottleneck (levels) */
    int dlen_in[WUN_MAX_LEVELS + 1];  /* input length of down i / of the bottleneck */
    int skip_len[WUN_MAX_LEVELS];     /* output length of down i (the skip, odd) */
    int bott_len;                     /* bottleneck output length */
    int ulen_in[WUN_MAX_LEVELS];      /* up j: upsampled length 2m - 1 (conv input) */
    int ulen_out[WUN_MAX_LEVELS];     /* up j: conv output length */
    ClvConv1d down[WUN_MAX_LEVELS], bott, up[WUN_MAX_LEVELS], out;
    /* optional recurrent bottleneck: h + gru_out(GRU(h)) over bottleneck frames */
    int rnn_layers, rnn_hidden;
    int hop_frames;                   /* bottleneck frames per hop: hop >> levels */
    ClvRnnCell gru[CLV_RNN_MAX_LAYERS];
    ClvLinear gru_out;
    long params;
};

/* Everything one channel's processing touches. */
struct ClvWaveUNetStateImpl {
    const ClvWaveUNetNet *net;
    ClvArena arena;
    float *win;          /* [win] input window of the next block */
    int fill;            /* samples in win */
    float *q;            /* [qcap] ring of vocals waiting to go out */
    int qcap, qhead, qn;
    float *skip[WUN_MAX_LEVELS]; /* [width i, skip_len i] */
    float *a, *b;        /* ping-pong activations, [max floats] each */
    float *scratch;      /* clv_conv1d scratch */
    float *vout;         /* [block] */
    /* recurrent bottleneck: the GRU state carried from window to window, and the
     * window's gru_out(GRU(h)) frames, [width L, bott_len], of which each window
     * adds the last hop_frames (the first window all of them) */
    ClvRnnStream gru;
    float *gz;
    float *gin;          /* [width L] one bottleneck frame, gathered */
    float *gy;           /* [width L] gru_out of one frame */
    int gru_started;
};

/* The separator: a rate bridge around one net and a state per channel. */
typedef struct {
    ClvSeparator base;
    ClvClvm *model;
    ClvWaveUNetNet *net;
    ClvWaveUNetState *st[2];
    ClvRateBridge *bridge;
    int mblock; /* model samples per bridge block (small: the network keeps its own window) */
} WaveUNet;

CLV_RT void clv_waveunet_sep_process(ClvSeparator *sep, const float *const *in,
                                     float *const *vocals);
CLV_RT void clv_waveunet_sep_reset(ClvSeparator *sep);
/* Rate-bridge callback: one model block per channel through the states. */
CLV_RT void clv_waveunet_sep_block(void *user, const float *const *in, float *const *out);

#endif
