/* SPDX-License-Identifier: ISC */
/* Centre-channel mask separator.
 *
 * Per bin k we keep recursively smoothed auto- and cross-spectra Pll, Prr, Plr of
 * the two channels. A source panned to the centre gives L = R, so the normalised
 * in-phase cross-spectrum c = 2 Re(Plr) / (Pll + Prr) is 1; uncorrelated (wide)
 * sounds give about 0, panned ones 2ab/(a^2+b^2) < 1, anti-phase ones < 0. The mask
 * ((c - threshold) / (1 - threshold))^power, times a smooth band-pass over the vocal
 * range, is applied to the mid signal (L+R)/2, which halves the power of
 * uncorrelated accompaniment relative to masking each channel. Mid/side karaoke is
 * the special case threshold = -inf, full band. The window is about 46 ms (23 ms for
 * the low-latency point), hop a quarter of it, so latency is 3/4 of the window. */
#include "clv_azimuth.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clv_stft.h"

typedef struct {
    ClvSeparator base;
    ClvAzimuthParams prm;
    ClvStft *stft[2];
    int bins;
    float *spec[2]; /* interleaved complex, per channel */
    float *vspec;   /* vocal spectrum */
    float *band;    /* band weight per bin */
    float *mask;    /* centre mask of the frame */
    ClvCentreMask cm;
} Azimuth;

static float smoothstep(float x)
{
    if (x <= 0.0f) return 0.0f;
    if (x >= 1.0f) return 1.0f;
    return x * x * (3.0f - 2.0f * x);
}

ClvStatus clv_centre_mask_init(ClvCentreMask *m, int bins, float smooth, float threshold,
                               float power)
{
    memset(m, 0, sizeof *m);
    if (bins < 1 || !(smooth >= 0.0f && smooth < 1.0f) || !(threshold >= -1.0f && threshold < 1.0f) ||
        !(power > 0.0f))
        return CLV_ERR_INVALID;
    m->bins = bins;
    m->g = smooth;
    m->threshold = threshold;
    m->power = power;
    m->pll = calloc((size_t)bins, sizeof(float));
    m->prr = calloc((size_t)bins, sizeof(float));
    m->plr = calloc((size_t)bins, sizeof(float));
    if (!m->pll || !m->prr || !m->plr) {
        clv_centre_mask_free(m);
        return CLV_ERR_NOMEM;
    }
    return CLV_OK;
}

void clv_centre_mask_free(ClvCentreMask *m)
{
    free(m->pll);
    free(m->prr);
    free(m->plr);
    m->pll = m->prr = m->plr = NULL;
}

void clv_centre_mask_reset(ClvCentreMask *m)
{
    memset(m->pll, 0, sizeof(float) * (size_t)m->bins);
    memset(m->prr, 0, sizeof(float) * (size_t)m->bins);
    memset(m->plr, 0, sizeof(float) * (size_t)m->bins);
}

void clv_centre_mask(ClvCentreMask *m, const float *L, const float *R, float *mask)
{
    const float g = m->g, h = 1.0f - g;
    const float th = m->threshold, inv = 1.0f / (1.0f - th), pw = m->power;
    for (int k = 0; k < m->bins; k++) {
        const float lr = L[2 * k], li = L[2 * k + 1], rr = R[2 * k], ri = R[2 * k + 1];
        m->pll[k] = g * m->pll[k] + h * (lr * lr + li * li);
        m->prr[k] = g * m->prr[k] + h * (rr * rr + ri * ri);
        m->plr[k] = g * m->plr[k] + h * (lr * rr + li * ri); /* Re(L conj(R)) */
        const float den = m->pll[k] + m->prr[k];
        float v = 0.0f;
        if (den > 1e-20f) {
            const float c = (2.0f * m->plr[k] / den - th) * inv;
            if (c > 0.0f) v = c >= 1.0f ? 1.0f : (pw == 1.0f ? c : powf(c, pw));
        }
        mask[k] = v;
    }
}

void clv_low_fade(float *w, int bins, int n, int rate, float lo)
{
    for (int k = 0; k < bins; k++) {
        const float f = (float)k * (float)rate / (float)n;
        w[k] = lo > 0.0f ? smoothstep((f - 0.5f * lo) / (0.5f * lo)) : 1.0f;
    }
}

ClvAzimuthParams clv_azimuth_default_params(void)
{
    ClvAzimuthParams p = {
        /* chosen by a grid search on PJS-over-Frets-on-Fire mixtures (excerpts and
         * voices disjoint from the ones models/train/eval_centre.py reports) */
        .threshold = 0.8f,
        .power = 2.0f,
        .smooth = 0.6f,
        .band_lo = 250.0f,
        .band_hi = 8000.0f,
        .low_latency = 0,
    };
    return p;
}

static void az_reset(ClvSeparator *s)
{
    Azimuth *a = (Azimuth *)s;
    for (int c = 0; c < a->base.channels; c++) clv_stft_reset(a->stft[c]);
    if (a->cm.pll) clv_centre_mask_reset(&a->cm);
}

static void az_process(ClvSeparator *s, const float *const *in, float *const *vocals)
{
    Azimuth *a = (Azimuth *)s;
    const int K = a->bins;
    if (a->base.channels == 1) {
        clv_stft_analyze(a->stft[0], in[0], a->spec[0]);
        for (int k = 0; k < K; k++) {
            a->vspec[2 * k] = a->spec[0][2 * k] * a->band[k];
            a->vspec[2 * k + 1] = a->spec[0][2 * k + 1] * a->band[k];
        }
        clv_stft_synthesize(a->stft[0], a->vspec, vocals[0]);
        return;
    }
    clv_stft_analyze(a->stft[0], in[0], a->spec[0]);
    clv_stft_analyze(a->stft[1], in[1], a->spec[1]);
    const float *L = a->spec[0], *R = a->spec[1];
    clv_centre_mask(&a->cm, L, R, a->mask);
    for (int k = 0; k < K; k++) {
        const float m = a->mask[k] * a->band[k];
        a->vspec[2 * k] = 0.5f * m * (L[2 * k] + R[2 * k]);
        a->vspec[2 * k + 1] = 0.5f * m * (L[2 * k + 1] + R[2 * k + 1]);
    }
    /* both output channels carry the same centre estimate; synthesise once */
    clv_stft_synthesize(a->stft[0], a->vspec, vocals[0]);
    memcpy(vocals[1], vocals[0], sizeof(float) * (size_t)a->base.hop);
}

static void az_free(ClvSeparator *s)
{
    Azimuth *a = (Azimuth *)s;
    for (int c = 0; c < 2; c++) {
        clv_stft_free(a->stft[c]);
        free(a->spec[c]);
    }
    free(a->vspec);
    free(a->band);
    free(a->mask);
    clv_centre_mask_free(&a->cm);
    free(a);
}

static const ClvSeparatorOps az_ops = {az_process, az_reset, az_free};

ClvStatus clv_azimuth_new(int sample_rate, int channels, const ClvAzimuthParams *params,
                          ClvSeparator **out)
{
    *out = NULL;
    if (sample_rate < 8000 || sample_rate > 192000 || channels < 1 || channels > 2)
        return CLV_ERR_INVALID;
    ClvAzimuthParams prm = params ? *params : clv_azimuth_default_params();
    if (!(prm.threshold >= -1.0f && prm.threshold < 1.0f) || !(prm.power > 0.0f)
        || !(prm.smooth >= 0.0f && prm.smooth < 1.0f) || !(prm.band_lo >= 0.0f)
        || !(prm.band_hi > prm.band_lo))
        return CLV_ERR_INVALID;
    Azimuth *a = calloc(1, sizeof *a);
    if (!a) return CLV_ERR_NOMEM;
    a->prm = prm;
    int n = 256;
    const double win_s = prm.low_latency ? 0.020 : 0.040;
    while (n < win_s * sample_rate) n <<= 1;
    const int hop = n / 4;
    a->bins = n / 2 + 1;
    ClvStatus st = CLV_OK;
    for (int c = 0; c < channels && st == CLV_OK; c++) {
        st = clv_stft_new(n, hop, &a->stft[c]);
        if (st == CLV_OK && !(a->spec[c] = calloc(2 * (size_t)a->bins, sizeof(float))))
            st = CLV_ERR_NOMEM;
    }
    if (st == CLV_OK) {
        a->vspec = calloc(2 * (size_t)a->bins, sizeof(float));
        a->band = calloc((size_t)a->bins, sizeof(float));
        a->mask = calloc((size_t)a->bins, sizeof(float));
        if (!a->vspec || !a->band || !a->mask) st = CLV_ERR_NOMEM;
    }
    if (st == CLV_OK && channels == 2)
        st = clv_centre_mask_init(&a->cm, a->bins, prm.smooth, prm.threshold, prm.power);
    if (st != CLV_OK) {
        az_free(&a->base);
        return st;
    }
    clv_low_fade(a->band, a->bins, n, sample_rate, prm.band_lo);
    for (int k = 0; k < a->bins; k++) {
        const float f = (float)k * (float)sample_rate / (float)n;
        a->band[k] *= 1.0f - smoothstep((f - prm.band_hi) / (0.5f * prm.band_hi));
    }
    a->base.ops = &az_ops;
    a->base.channels = channels;
    a->base.sample_rate = sample_rate;
    a->base.hop = hop;
    a->base.latency = n - hop;
    snprintf(a->base.name, sizeof a->base.name, "%s", prm.low_latency ? "centre-ll" : "centre");
    *out = &a->base;
    return CLV_OK;
}
