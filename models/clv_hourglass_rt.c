/* SPDX-License-Identifier: ISC */
/* Realtime part of the hourglass separator: one network frame step and the
 * host-rate hop. Nothing here allocates, locks or does I/O; all buffers were
 * sized in clv_hourglass.c.
 *
 * Frame step: the newest frame's normalised log-magnitudes enter a ring of
 * lookahead + 2 frames; the network computes the mask of the frame `lookahead`
 * calls back from frames t-1 .. t+L (exactly the PyTorch model's context), and the
 * vocal spectrum is that older spectrum times the mask (mixture phase).
 *
 * Hop: host input -> down-converter -> model-rate queue; each full model hop is
 * analysed, stepped and synthesised per channel; the vocals go through the
 * up-converter into a host-rate queue that was pre-filled with `prefill` zeros at
 * reset, which is what keeps it from running dry (the prefill is measured at
 * creation), so each hop hands out exactly `hop` frames. */
#include <math.h>
#include <string.h>

#include "clv_hourglass_impl.h"

static inline void band_linear(const HgBandLinear *l, const float *x, float *y)
{
    /* x [nb, cin], y [nb, cout], each band its own weights */
    for (int b = 0; b < l->nb; b++) {
        ClvLinear d = {l->cin, l->cout, l->w + (size_t)b * l->cout * l->cin, l->b + (size_t)b * l->cout};
        clv_linear(&d, x + (size_t)b * l->cin, 1, y + (size_t)b * l->cout);
    }
}

static void run_stack(ClvHourglassState *s, int k)
{
    const ClvHourglassNet *n = s->net;
    const HgStack *st = &n->st[k];
    const int nb = n->nb;
    band_linear(&st->enc0, s->x0, s->e0);
    clv_gelu(s->e0, (size_t)nb * n->d0);
    /* [nb, d0] viewed as [nb/2, 2*d0]: adjacent bands merge (same memory) */
    band_linear(&st->down1, s->e0, s->e1);
    clv_gelu(s->e1, (size_t)(nb / 2) * n->d1);
    band_linear(&st->down2, s->e1, s->e2);
    clv_gelu(s->e2, (size_t)(nb / 4) * n->d2);
    clv_linear(&st->bott_in, s->e2, 1, s->z);
    clv_rnn_stream_step(&s->gru[k], s->z, NULL);
    const float *h = clv_rnn_stream_output(&s->gru[k]);
    const size_t flat = (size_t)(nb / 4) * n->d2;
    clv_linear(&st->bott_out, h, 1, s->t);
    clv_add(s->t, s->e2, flat);
    clv_gelu(s->t, flat); /* u2 in t */
    /* up2: [nb/4, d2] -> [nb/4, 2*d1], the same memory as [nb/2, d1]; u0 is free
     * here (its last use was building this stack's input), so it holds u1 */
    band_linear(&st->up2, s->t, s->u0);
    clv_add(s->u0, s->e1, (size_t)(nb / 2) * n->d1);
    clv_gelu(s->u0, (size_t)(nb / 2) * n->d1); /* u1 in u0 */
    band_linear(&st->up1, s->u0, s->t);
    clv_add(s->t, s->e0, (size_t)nb * n->d0);
    clv_gelu(s->t, (size_t)nb * n->d0); /* u0 in t */
    memcpy(s->u0, s->t, sizeof(float) * (size_t)nb * n->d0);
    band_linear(&st->head, s->u0, s->mask);
    clv_sigmoid(s->mask, (size_t)nb * n->bw);
}

void clv_hourglass_step(ClvHourglassState *s, const float *spec, float *vspec)
{
    const ClvHourglassNet *n = s->net;
    const int F = n->nb * n->bw, K = n->bins, L = n->lookahead;
    memmove(s->ring, s->ring + F, sizeof(float) * (size_t)(n->ctx - 1) * F);
    float *newest = s->ring + (size_t)(n->ctx - 1) * F;
    for (int k = 0; k < F; k++) {
        const float mag = hypotf(spec[2 * k], spec[2 * k + 1]);
        newest[k] = (logf(mag + 1e-5f) - n->in_mean[k]) * n->in_scale[k];
    }
    if (L > 0) memmove(s->specs, s->specs + 2 * K, sizeof(float) * (size_t)L * 2 * K);
    memcpy(s->specs + (size_t)L * 2 * K, spec, sizeof(float) * 2 * (size_t)K);
    s->frames++;
    if (s->frames <= L) { /* the first output frame needs L frames of future */
        memset(vspec, 0, sizeof(float) * 2 * (size_t)K);
        return;
    }
    if (s->identity) {
        for (int k = 0; k < K; k++) s->mask[k] = 1.0f;
    } else {
        const int bw = n->bw;
        for (int k = 0; k < n->stacks; k++) {
            const int cin = n->st[k].cin;
            if (k == 0) {
                /* band b: frames t-1 .. t+L, bw bins each (PyTorch: cat over offsets) */
                for (int b = 0; b < n->nb; b++)
                    for (int o = 0; o < n->ctx; o++)
                        memcpy(s->x0 + (size_t)b * cin + o * bw, s->ring + (size_t)o * F + b * bw,
                               sizeof(float) * bw);
            } else {
                /* band b: frame t's log-magnitudes, previous mask, previous features */
                for (int b = 0; b < n->nb; b++) {
                    float *x = s->x0 + (size_t)b * cin;
                    memcpy(x, s->ring + F + b * bw, sizeof(float) * bw);
                    memcpy(x + bw, s->mask + b * bw, sizeof(float) * bw);
                    memcpy(x + 2 * bw, s->u0 + (size_t)b * n->d0, sizeof(float) * n->d0);
                }
            }
            run_stack(s, k);
        }
        for (int k = F; k < K; k++) s->mask[k] = s->mask[F - 1]; /* Nyquist: top band's mask */
    }
    const float *old = s->specs;
    for (int k = 0; k < K; k++) {
        vspec[2 * k] = old[2 * k] * s->mask[k];
        vspec[2 * k + 1] = old[2 * k + 1] * s->mask[k];
    }
}

void clv_hourglass_state_reset(ClvHourglassState *s)
{
    const ClvHourglassNet *n = s->net;
    const int F = n->nb * n->bw;
    /* history before the stream: STFT frames of silence, as PyTorch's zero padding */
    for (int o = 0; o < n->ctx; o++)
        for (int k = 0; k < F; k++)
            s->ring[(size_t)o * F + k] = (logf(1e-5f) - n->in_mean[k]) * n->in_scale[k];
    memset(s->specs, 0, sizeof(float) * (size_t)(n->lookahead + 1) * 2 * n->bins);
    for (int k = 0; k < n->stacks; k++) clv_rnn_stream_reset(&s->gru[k]);
    memset(s->mask, 0, sizeof(float) * (size_t)n->bins);
    memset(s->u0, 0, sizeof(float) * (size_t)s->wide);
    s->frames = 0;
}

static void run_frames(Hourglass *h)
{
    const int C = h->base.channels, M = h->mhop;
    int nv = 0;
    while (h->n16 >= M && nv < h->max_frames) {
        for (int c = 0; c < C; c++) {
            for (int i = 0; i < M; i++) h->frame_in[i] = h->fifo16[(size_t)i * C + c];
            clv_stft_analyze(h->stft[c], h->frame_in, h->spec);
            clv_hourglass_step(h->st[c], h->spec, h->vspec);
            clv_stft_synthesize(h->stft[c], h->vspec, h->frame_out);
            float *dst = h->v16 + (size_t)nv * M * C;
            for (int i = 0; i < M; i++) dst[(size_t)i * C + c] = h->frame_out[i];
        }
        nv++;
        h->n16 -= M;
        memmove(h->fifo16, h->fifo16 + (size_t)M * C, sizeof(float) * (size_t)h->n16 * C);
    }
    if (nv == 0) return;
    const size_t n_in = (size_t)nv * M;
    if (h->up) {
        size_t got = clv_resample_process(h->up, h->v16, n_in, h->outq + (size_t)h->nout * C,
                                          (size_t)(h->capout - h->nout));
        h->nout += (int)got;
        h->produced += (long)got;
    } else {
        size_t room = (size_t)(h->capout - h->nout);
        size_t n = n_in < room ? n_in : room;
        memcpy(h->outq + (size_t)h->nout * C, h->v16, sizeof(float) * n * C);
        h->nout += (int)n;
        h->produced += (long)n;
    }
}

void clv_hourglass_sep_process(ClvSeparator *sep, const float *const *in, float *const *vocals)
{
    Hourglass *h = (Hourglass *)sep;
    const int C = sep->channels, H = sep->hop;
    for (int c = 0; c < C; c++)
        for (int i = 0; i < H; i++) h->inter[(size_t)i * C + c] = in[c][i];
    if (h->down) {
        size_t got = clv_resample_process(h->down, h->inter, (size_t)H, h->fifo16 + (size_t)h->n16 * C,
                                          (size_t)(h->cap16 - h->n16));
        h->n16 += (int)got;
    } else {
        memcpy(h->fifo16 + (size_t)h->n16 * C, h->inter, sizeof(float) * (size_t)H * C);
        h->n16 += H;
    }
    run_frames(h);
    int n = h->nout < H ? h->nout : H;
    if (n < H) h->underruns++; /* never in a correct setup: the prefill covers the worst case */
    for (int c = 0; c < C; c++) {
        for (int i = 0; i < n; i++) vocals[c][i] = h->outq[(size_t)i * C + c];
        for (int i = n; i < H; i++) vocals[c][i] = 0.0f;
    }
    h->nout -= n;
    memmove(h->outq, h->outq + (size_t)n * C, sizeof(float) * (size_t)h->nout * C);
}

void clv_hourglass_sep_reset(ClvSeparator *sep)
{
    Hourglass *h = (Hourglass *)sep;
    const int C = sep->channels;
    for (int c = 0; c < C; c++) {
        clv_stft_reset(h->stft[c]);
        clv_hourglass_state_reset(h->st[c]);
    }
    if (h->down) clv_resample_reset(h->down);
    h->n16 = 0;
    h->nout = h->prefill;
    h->produced = h->prefill;
    memset(h->outq, 0, sizeof(float) * (size_t)h->prefill * C);
    if (h->up) {
        clv_resample_reset(h->up);
        if (h->extra16 > 0) {
            size_t got = clv_resample_process(h->up, h->zeros, (size_t)h->extra16,
                                              h->outq + (size_t)h->nout * C,
                                              (size_t)(h->capout - h->nout));
            h->nout += (int)got;
            h->produced += (long)got;
        }
    }
}
