/* SPDX-License-Identifier: ISC */
/* Realtime part of the Wave-U-Net separator: one network block, the per-channel
 * streaming state, and the separator's hop. Nothing here allocates, locks or does
 * I/O; every buffer comes from the state's arena or the rate bridge.
 *
 * One block: down levels (valid conv + LeakyReLU kept as the skip, then x[::2]),
 * the bottleneck, up levels (linear interpolation 2m - 1, concatenated with the
 * centre-cropped skip, valid conv + LeakyReLU) and the 1x1 output conv over
 * [features, centre-cropped input]. With a recurrent bottleneck, the bottleneck
 * frames go through h + gru_out(GRU(h)); successive windows then advance by hop
 * (whole bottleneck frames, so every window decimates on the same grid and a
 * frame computed in one window is the same frame in the next): the GRU steps
 * only over the frames new to this window, and the older frames' GRU terms are
 * kept from the windows before. Activations ping-pong between two buffers:
 * the running signal lives in `a` going down and in `b` going up, the concat is
 * built in the other one, so no activation is copied twice. */
#include <string.h>

#include "clv_waveunet_impl.h"

void clv_waveunet_state_run_block(ClvWaveUNetState *s, const float *in, float *vocals)
{
    const ClvWaveUNetNet *n = s->net;
    const int L = n->levels;
    const float *x = in;
    int len = n->win;
    for (int i = 0; i < L; i++) {
        const int w = n->width[i], sl = n->skip_len[i];
        clv_conv1d(&n->down[i], x, len, s->skip[i], s->scratch);
        clv_leaky_relu(s->skip[i], (size_t)w * sl, n->slope);
        clv_decimate1d(s->skip[i], w, sl, 2, s->a);
        x = s->a;
        len = (sl + 1) / 2;
    }
    clv_conv1d(&n->bott, x, len, s->b, s->scratch);
    clv_leaky_relu(s->b, (size_t)n->width[L] * n->bott_len, n->slope);
    len = n->bott_len;
    if (n->rnn_layers) {
        const int C = n->width[L], T = n->bott_len;
        /* frames [t0, T) are new: all of them in the first window after a reset */
        int t0 = 0;
        if (s->gru_started) {
            t0 = T - n->hop_frames;
            for (int c = 0; c < C; c++) {
                float *row = s->gz + (size_t)c * T;
                memmove(row, row + n->hop_frames, sizeof(float) * (size_t)t0);
            }
        }
        s->gru_started = 1;
        for (int t = t0; t < T; t++) {
            for (int c = 0; c < C; c++) s->gin[c] = s->b[(size_t)c * T + t];
            clv_rnn_stream_step(&s->gru, s->gin, NULL);
            clv_linear(&n->gru_out, clv_rnn_stream_output(&s->gru), 1, s->gy);
            for (int c = 0; c < C; c++) s->gz[(size_t)c * T + t] = s->gy[c];
        }
        clv_add(s->b, s->gz, (size_t)C * T);
    }
    int cprev = n->width[L];
    for (int j = 0; j < L; j++) {
        const int i = L - 1 - j, w = n->width[i], u = n->ulen_in[j], sl = n->skip_len[i];
        /* concat rows: [upsampled running signal (cprev), centre-cropped skip (w)] */
        clv_upsample_linear(s->b, cprev, len, u, 1, s->a);
        clv_crop1d(s->skip[i], w, sl, clv_crop_center(sl, u), u, s->a + (size_t)cprev * u);
        clv_conv1d(&n->up[j], s->a, u, s->b, s->scratch);
        len = n->ulen_out[j];
        clv_leaky_relu(s->b, (size_t)w * len, n->slope);
        cprev = w;
    }
    /* output conv over [features (width 0), input cropped to the block] */
    memcpy(s->a, s->b, sizeof(float) * (size_t)cprev * len);
    memcpy(s->a + (size_t)cprev * len, in + clv_crop_center(n->win, len), sizeof(float) * len);
    clv_conv1d(&n->out, s->a, len, vocals, s->scratch);
}

void clv_waveunet_state_reset(ClvWaveUNetState *s)
{
    const ClvWaveUNetNet *n = s->net;
    /* block 0 reads ctx samples before the stream start: zeros */
    memset(s->win, 0, sizeof(float) * (size_t)n->win);
    s->fill = n->ctx;
    /* the vocals lag by `latency` samples: the queue starts with that many zeros */
    memset(s->q, 0, sizeof(float) * (size_t)s->qcap);
    s->qhead = 0;
    s->qn = n->latency;
    if (n->rnn_layers) {
        clv_rnn_stream_reset(&s->gru);
        s->gru_started = 0;
    }
}

void clv_waveunet_state_process(ClvWaveUNetState *s, const float *x, int n, float *y)
{
    const ClvWaveUNetNet *net = s->net;
    while (n > 0) {
        int m = net->win - s->fill;
        if (m > n) m = n;
        memcpy(s->win + s->fill, x, sizeof(float) * (size_t)m); /* before y: x may alias y */
        s->fill += m;
        if (s->fill == net->win) {
            clv_waveunet_state_run_block(s, s->win, s->vout);
            /* the first hop samples of the block go out (all of it without a GRU) */
            int tail = (s->qhead + s->qn) % s->qcap;
            for (int k = 0; k < net->hop; k++) {
                s->q[tail] = s->vout[k];
                if (++tail == s->qcap) tail = 0;
            }
            s->qn += net->hop;
            /* the next block's window starts hop samples later */
            memmove(s->win, s->win + net->hop, sizeof(float) * (size_t)(net->win - net->hop));
            s->fill = net->win - net->hop;
        }
        /* latency >= block + ctx - 1 keeps the queue from running dry (checked at
         * setup); qn >= m always holds here */
        for (int k = 0; k < m; k++) {
            y[k] = s->q[s->qhead];
            if (++s->qhead == s->qcap) s->qhead = 0;
        }
        s->qn -= m;
        x += m;
        y += m;
        n -= m;
    }
}

/* ------------------------------------------------------------ separator --- */

void clv_waveunet_sep_block(void *user, const float *const *in, float *const *out)
{
    WaveUNet *w = user;
    const int M = w->mblock;
    for (int c = 0; c < w->base.channels; c++) clv_waveunet_state_process(w->st[c], in[c], M, out[c]);
}

void clv_waveunet_sep_process(ClvSeparator *sep, const float *const *in, float *const *vocals)
{
    WaveUNet *w = (WaveUNet *)sep;
    clv_rate_bridge_process(w->bridge, in, vocals);
}

void clv_waveunet_sep_reset(ClvSeparator *sep)
{
    WaveUNet *w = (WaveUNet *)sep;
    clv_rate_bridge_reset(w->bridge);
    for (int c = 0; c < sep->channels; c++) clv_waveunet_state_reset(w->st[c]);
}
