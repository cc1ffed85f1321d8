/* SPDX-License-Identifier: ISC */
/* Realtime part of the Demucs-style separator: one network step per channel and
 * the bridge callback. Nothing here allocates, locks or does I/O; all buffers
 * were sized in clv_demucs.c.
 *
 * Step (step = S^depth new samples): each encoder level is a streaming strided
 * convolution that emits its frames as soon as their inputs are in, then ReLU,
 * the 1x1 convolution and the GLU; the outputs wait in per-level fifos (the
 * U-Net skips). Each new bottleneck frame goes through the GRU (h + gru(h)),
 * then down the decoder: at level i it brings S^i frames, adds the same number
 * of skip frames, 1x1 conv + GLU, and the transposed convolution by overlap-add:
 * input frame f covers output frames [S f, S f + K), so after a call the first
 * n*S frames are final and the last K - S are carried into the next call (the
 * bias is added once, to final frames). The last level yields `step` final
 * samples, which enter a delay line pre-filled with `latency` zeros at reset.
 * A call is one block: one step, or for a hybrid whose spectral hop is a
 * multiple of the step, that many time-branch steps and then one spectral hop. */
#include <string.h>

#include "clv_demucs_impl.h"

static void skip_push(ClvDemucsState *s, int l, const float *x, int k)
{
    const int h = s->net->enc[l].h, cap = s->skip_cap[l];
    if (s->nskip[l] + k > cap) k = cap - s->nskip[l]; /* cannot happen: sized at setup */
    for (int c = 0; c < h; c++)
        memcpy(s->skip[l] + (size_t)c * cap + s->nskip[l], x + (size_t)c * k, sizeof(float) * k);
    s->nskip[l] += k;
}

/* x[h, n] += the oldest n frames of skip[l], which are then dropped. */
static void skip_pop_add(ClvDemucsState *s, int l, float *x, int n)
{
    const int h = s->net->enc[l].h, cap = s->skip_cap[l];
    const int m = n < s->nskip[l] ? n : s->nskip[l]; /* always n: the decoder lags the encoder */
    for (int c = 0; c < h; c++) {
        float *row = s->skip[l] + (size_t)c * cap;
        clv_add(x + (size_t)c * n, row, (size_t)m);
        memmove(row, row + m, sizeof(float) * (size_t)(s->nskip[l] - m));
    }
    s->nskip[l] -= m;
}

static void push_out(ClvDemucsState *s, const float *v, int n)
{
    const int cap = s->outq_cap;
    if (s->nout + n > cap) n = cap - s->nout; /* cannot happen: one frame per step */
    memcpy(s->outq + s->nout, v, sizeof(float) * (size_t)n);
    s->nout += n;
}

/* One bottleneck frame x[bott] through the GRU and the decoder; appends `step`
 * final vocal samples to the delay line. */
static void decode_frame(ClvDemucsState *s, const float *x)
{
    const ClvDemucsNet *n = s->net;
    const int D = n->depth, S = n->S, K = n->K, B = n->bott;
    clv_rnn_stream_step(&s->gru, x, NULL);
    const float *g = clv_rnn_stream_output(&s->gru);
    /* h + gru(h), plus the top skip, which is h itself */
    for (int c = 0; c < B; c++) s->da[c] = 2.0f * x[c] + g[c];
    int frames = 1;
    for (int i = 0; i < D; i++) {
        const DmDec *d = &n->dec[i];
        const int l = D - 1 - i;
        if (i > 0) skip_pop_add(s, l, s->da, frames);
        clv_conv1d(&d->glu, s->da, frames, s->db, s->scratch);
        clv_glu(s->db, 1, d->hi, frames, s->da);
        clv_conv_transpose1d(&d->convt, s->da, frames, s->dc, s->scratch);
        const int len = (frames - 1) * S + K, fin = frames * S, tail = K - S;
        float *carry = s->carry[i];
        for (int c = 0; c < d->co; c++) {
            float *row = s->dc + (size_t)c * len;
            clv_add(row, carry + (size_t)c * tail, (size_t)tail);
            memcpy(carry + (size_t)c * tail, row + fin, sizeof(float) * (size_t)tail);
            float *dst = s->da + (size_t)c * fin;
            const float bias = d->convt_bias ? d->convt_bias[c] : 0.0f;
            for (int t = 0; t < fin; t++) dst[t] = row[t] + bias;
        }
        if (i < D - 1) clv_relu(s->da, (size_t)d->co * fin);
        frames = fin;
    }
    push_out(s, s->da, frames);
    s->frames++;
}

/* One time-branch step: `step` input samples through the encoder; every bottleneck
 * frame they complete goes down the decoder into the delay line. */
static void time_step(ClvDemucsState *s, const float *in)
{
    const ClvDemucsNet *n = s->net;
    const int D = n->depth;
    const float *x = in;
    int nx = n->step;
    for (int l = 0; l < D && nx > 0; l++) {
        const DmEnc *e = &n->enc[l];
        const int k = clv_conv1d_stream_process(&s->conv[l], x, nx, s->eb);
        if (k > 0) {
            clv_relu(s->eb, (size_t)e->h * k);
            clv_conv1d(&e->glu, s->eb, k, s->ec, s->scratch);
            clv_glu(s->ec, 1, e->h, k, s->ea);
            if (l < D - 1) skip_push(s, l, s->ea, k);
        }
        x = s->ea;
        nx = k;
    }
    /* nx new bottleneck frames in ea [bott, nx] */
    const int B = n->bott;
    for (int f = 0; f < nx; f++) {
        for (int c = 0; c < B; c++) s->eb[c] = s->ea[(size_t)c * nx + f];
        decode_frame(s, s->eb);
    }
}

void clv_demucs_step(ClvDemucsState *s, const float *in, float *vocals)
{
    const ClvDemucsNet *n = s->net;
    const int block = n->block;
    if (s->identity) {
        push_out(s, in, block);
    } else {
        for (int o = 0; o < block; o += n->step) time_step(s, in + o);
    }
    const int m = s->nout < block ? s->nout : block; /* always block: the latency covers it */
    memcpy(vocals, s->outq, sizeof(float) * (size_t)m);
    memset(vocals + m, 0, sizeof(float) * (size_t)(block - m));
    s->nout -= m;
    memmove(s->outq, s->outq + m, sizeof(float) * (size_t)s->nout);
    if (s->spec && !s->identity) {
        /* hybrid: the spectral branch lags by exactly the latency (the delay line
         * holds the time branch back to it), so its hop adds in place */
        clv_stft_analyze(s->stft, in, s->sx);
        clv_hourglass_step(s->spec, s->sx, s->sv);
        clv_stft_synthesize(s->stft, s->sv, s->sout);
        clv_add(vocals, s->sout, (size_t)block);
    }
}

void clv_demucs_state_reset(ClvDemucsState *s)
{
    const ClvDemucsNet *n = s->net;
    for (int l = 0; l < n->depth; l++) {
        clv_conv1d_stream_reset(&s->conv[l]);
        s->nskip[l] = 0;
        const DmDec *d = &n->dec[l];
        memset(s->carry[l], 0, sizeof(float) * (size_t)d->co * (n->K - n->S));
    }
    clv_rnn_stream_reset(&s->gru);
    if (s->spec) {
        clv_stft_reset(s->stft);
        clv_hourglass_state_reset(s->spec);
    }
    memset(s->outq, 0, sizeof(float) * (size_t)n->latency);
    s->nout = n->latency;
    s->frames = 0;
}

void clv_demucs_bridge_block(void *user, const float *const *in, float *const *out)
{
    Demucs *d = user;
    for (int c = 0; c < d->base.channels; c++) clv_demucs_step(d->st[c], in[c], out[c]);
}

void clv_demucs_sep_process(ClvSeparator *sep, const float *const *in, float *const *vocals)
{
    clv_rate_bridge_process(((Demucs *)sep)->bridge, in, vocals);
}

void clv_demucs_sep_reset(ClvSeparator *sep)
{
    Demucs *d = (Demucs *)sep;
    for (int c = 0; c < sep->channels; c++) clv_demucs_state_reset(d->st[c]);
    clv_rate_bridge_reset(d->bridge);
}
