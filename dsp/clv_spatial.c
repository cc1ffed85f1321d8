/* SPDX-License-Identifier: ISC */
/* Spatial refinement wrapper (see clv_spatial.h). */
#include "clv_spatial.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clv_azimuth.h"
#include "clv_stft.h"

typedef struct {
    ClvSeparator base;
    ClvSeparator *inner;
    ClvSpatialParams prm;
    int bins, delay;       /* delay: the inner separator's latency */
    int sub, nsub;         /* STFT hop (frames) and STFT hops per inner hop */
    ClvStft *sx[2], *sv[2], *sy[2];
    float *X[2], *V[2], *Y; /* interleaved complex spectra */
    float *vin[2];         /* [hop] inner vocals */
    float *dl[2];          /* [delay + hop] input delay lines */
    ClvCentreMask centre;
    float *cm;             /* [bins] centre mask of this frame */
    float *band;           /* [bins] low fade-in */
} Spatial;

ClvSpatialParams clv_spatial_default_params(void)
{
    /* threshold and power chosen on PJS-over-Frets-on-Fire mixtures whose excerpts
     * (80 s in) and voices differ from the reported ones (eval_sep.py --fullband) */
    ClvSpatialParams p = {.threshold = 0.3f, .power = 1.0f, .smooth = 0.64f, .window_s = 0.040f,
                          .band_lo = 250.0f};
    return p;
}

ClvSpatialParams clv_spatial_low_latency_params(int hop_div)
{
    ClvSpatialParams p = clv_spatial_default_params();
    p.window_hops = 2;
    p.hop_div = hop_div;
    return p;
}

static void sp_reset(ClvSeparator *s)
{
    Spatial *w = (Spatial *)s;
    clv_separator_reset(w->inner);
    for (int c = 0; c < 2; c++) {
        clv_stft_reset(w->sx[c]);
        clv_stft_reset(w->sv[c]);
        clv_stft_reset(w->sy[c]);
        memset(w->dl[c], 0, sizeof(float) * (size_t)(w->delay + w->base.hop));
    }
    clv_centre_mask_reset(&w->centre);
}

/* One STFT frame of the wrapper: `at` frames into the current inner hop. */
static void sp_frame(Spatial *w, int at, float *const *vocals)
{
    const int K = w->bins;
    for (int c = 0; c < 2; c++) {
        clv_stft_analyze(w->sx[c], w->dl[c] + at, w->X[c]);
        clv_stft_analyze(w->sv[c], w->vin[c] + at, w->V[c]);
    }
    clv_centre_mask(&w->centre, w->X[0], w->X[1], w->cm);
    for (int k = 0; k < K; k++) w->cm[k] *= w->band[k];
    for (int c = 0; c < 2; c++) {
        const float *Xc = w->X[c], *Vc = w->V[c];
        for (int k = 0; k < K; k++) {
            /* the inner separator's mask: its vocals projected on the mixture */
            const float xr = Xc[2 * k], xi = Xc[2 * k + 1];
            const float p = xr * xr + xi * xi;
            float a = 0.0f;
            if (p > 1e-20f) {
                a = (Vc[2 * k] * xr + Vc[2 * k + 1] * xi) / p;
                a = a < 0.0f ? 0.0f : a > 1.0f ? 1.0f : a;
            }
            const float m = a * w->cm[k];
            w->Y[2 * k] = m * xr;
            w->Y[2 * k + 1] = m * xi;
        }
        clv_stft_synthesize(w->sy[c], w->Y, vocals[c] + at);
    }
}

static void sp_process(ClvSeparator *s, const float *const *in, float *const *vocals)
{
    Spatial *w = (Spatial *)s;
    const int H = w->base.hop, D = w->delay;
    clv_separator_process(w->inner, in, w->vin);
    /* the input as the inner vocals see it: delayed by the inner latency */
    for (int c = 0; c < 2; c++) memcpy(w->dl[c] + D, in[c], sizeof(float) * (size_t)H);
    for (int j = 0; j < w->nsub; j++) sp_frame(w, j * w->sub, vocals);
    for (int c = 0; c < 2; c++) memmove(w->dl[c], w->dl[c] + H, sizeof(float) * (size_t)D);
}

static void sp_free(ClvSeparator *s)
{
    Spatial *w = (Spatial *)s;
    clv_separator_free(w->inner);
    for (int c = 0; c < 2; c++) {
        clv_stft_free(w->sx[c]);
        clv_stft_free(w->sv[c]);
        clv_stft_free(w->sy[c]);
        free(w->X[c]);
        free(w->V[c]);
        free(w->vin[c]);
        free(w->dl[c]);
    }
    free(w->Y);
    clv_centre_mask_free(&w->centre);
    free(w->cm);
    free(w->band);
    free(w);
}

static const ClvSeparatorOps sp_ops = {sp_process, sp_reset, sp_free};

/* Sizes whose factors FFTW has codelets for (2..13): others go through its
 * generic or Rader algorithms, which allocate while they run. */
static int fft_friendly(int n)
{
    static const int primes[] = {2, 3, 5, 7, 11, 13};
    for (int i = 0; i < 6; i++)
        while (n % primes[i] == 0) n /= primes[i];
    return n == 1;
}

/* The STFT hop *h (the inner hop / hop_div) and window *n the parameters give for
 * an inner separator of hop `hop` at `rate`: CLV_ERR_INVALID for a window or hop
 * division out of range or a hop_div that does not divide the hop,
 * CLV_ERR_UNSUPPORTED for a window FFTW cannot run without allocating. */
static ClvStatus plan_window(const ClvSpatialParams *p, int rate, int hop, int *h, int *n)
{
    const int div = p->hop_div ? p->hop_div : 1;
    if (!(p->window_s > 0.0f && p->window_s <= 1.0f) ||
        (p->window_hops != 0 && (p->window_hops < 2 || p->window_hops > 8)) || div < 1 ||
        div > 8 || hop % div != 0)
        return CLV_ERR_INVALID;
    *h = hop / div;
    if (p->window_hops > 0) {
        *n = p->window_hops * *h;
    } else {
        *n = 256;
        while (*n < p->window_s * rate || *n < 2 * *h) *n <<= 1;
    }
    return fft_friendly(*n) ? CLV_OK : CLV_ERR_UNSUPPORTED;
}

int clv_spatial_added_latency(const ClvSeparator *inner, const ClvSpatialParams *params)
{
    const ClvSpatialParams p = params ? *params : clv_spatial_default_params();
    int h, n;
    if (!inner || plan_window(&p, inner->sample_rate, inner->hop, &h, &n) != CLV_OK) return -1;
    return n - h;
}

ClvStatus clv_spatial_wrap(ClvSeparator *inner, const ClvSpatialParams *params,
                           ClvSeparator **out)
{
    *out = NULL;
    if (!inner) return CLV_ERR_INVALID;
    const ClvSpatialParams prm = params ? *params : clv_spatial_default_params();
    int h, n;
    ClvStatus st = plan_window(&prm, inner->sample_rate, inner->hop, &h, &n);
    if (inner->channels != 2 || !(prm.threshold >= -1.0f && prm.threshold < 1.0f) ||
        !(prm.power > 0.0f) || !(prm.smooth >= 0.0f && prm.smooth < 1.0f) ||
        !(prm.band_lo >= 0.0f && prm.band_lo < 0.25f * (float)inner->sample_rate))
        st = CLV_ERR_INVALID;
    if (st != CLV_OK) { /* UNSUPPORTED: realtime FFTs only */
        clv_separator_free(inner);
        return st;
    }
    Spatial *w = calloc(1, sizeof *w);
    if (!w) {
        clv_separator_free(inner);
        return CLV_ERR_NOMEM;
    }
    w->inner = inner;
    w->prm = prm;
    const int rate = inner->sample_rate, H = inner->hop;
    w->sub = h;
    w->nsub = H / h;
    w->bins = n / 2 + 1;
    w->delay = inner->latency;
    for (int c = 0; c < 2 && st == CLV_OK; c++) {
        if ((st = clv_stft_new(n, h, &w->sx[c])) != CLV_OK ||
            (st = clv_stft_new(n, h, &w->sv[c])) != CLV_OK ||
            (st = clv_stft_new(n, h, &w->sy[c])) != CLV_OK)
            break;
        w->X[c] = calloc(2 * (size_t)w->bins, sizeof(float));
        w->V[c] = calloc(2 * (size_t)w->bins, sizeof(float));
        w->vin[c] = calloc((size_t)H, sizeof(float));
        w->dl[c] = calloc((size_t)(w->delay + H), sizeof(float));
        if (!w->X[c] || !w->V[c] || !w->vin[c] || !w->dl[c]) st = CLV_ERR_NOMEM;
    }
    if (st == CLV_OK) {
        w->Y = calloc(2 * (size_t)w->bins, sizeof(float));
        w->cm = calloc((size_t)w->bins, sizeof(float));
        w->band = calloc((size_t)w->bins, sizeof(float));
        if (!w->Y || !w->cm || !w->band) st = CLV_ERR_NOMEM;
    }
    if (st == CLV_OK) /* the smoothing is given per 10 ms: per STFT hop here */
        st = clv_centre_mask_init(&w->centre, w->bins,
                                  powf(prm.smooth, (float)h / (0.010f * (float)rate)),
                                  prm.threshold, prm.power);
    w->base.ops = &sp_ops;
    w->base.channels = 2;
    if (st != CLV_OK) {
        sp_free(&w->base);
        return st;
    }
    clv_low_fade(w->band, w->bins, n, rate, prm.band_lo);
    w->base.sample_rate = rate;
    w->base.hop = H;
    w->base.latency = inner->latency + n - h;
    w->base.headroom = inner->headroom;
    snprintf(w->base.name, sizeof w->base.name, "%.50s+spatial", inner->name);
    sp_reset(&w->base);
    *out = &w->base;
    return CLV_OK;
}
