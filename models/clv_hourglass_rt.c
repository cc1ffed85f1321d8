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
 * Hop: the rate bridge (models/clv_rate_bridge.h) converts and queues; each full
 * model hop it hands over is analysed, stepped and synthesised per channel. */
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

void clv_hourglass_sep_block(void *user, const float *const *in, float *const *out)
{
    Hourglass *h = user;
    for (int c = 0; c < h->base.channels; c++) {
        clv_stft_analyze(h->stft[c], in[c], h->spec);
        clv_hourglass_step(h->st[c], h->spec, h->vspec);
        clv_stft_synthesize(h->stft[c], h->vspec, out[c]);
    }
}

void clv_hourglass_sep_process(ClvSeparator *sep, const float *const *in, float *const *vocals)
{
    clv_rate_bridge_process(((Hourglass *)sep)->bridge, in, vocals);
}

void clv_hourglass_sep_reset(ClvSeparator *sep)
{
    Hourglass *h = (Hourglass *)sep;
    clv_rate_bridge_reset(h->bridge);
    for (int c = 0; c < sep->channels; c++) {
        clv_stft_reset(h->stft[c]);
        clv_hourglass_state_reset(h->st[c]);
    }
}
