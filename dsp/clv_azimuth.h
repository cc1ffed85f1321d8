/* SPDX-License-Identifier: ISC */
/* Training-free centre-channel separator ("centre"), in the spirit of ADRess.
 *
 * For every STFT bin it measures how much of the stereo energy is coherent and
 * equal in both channels (what a centre-panned voice produces), turns that into a
 * soft mask, restricts it to the vocal band, and applies it to the mid signal.
 * Mono input has no spatial cue: the mask is then the vocal band alone. */
#ifndef CLV_AZIMUTH_H
#define CLV_AZIMUTH_H

#include "clv_separator.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Tunable parameters; clv_azimuth_default_params() gives the shipped values. */
typedef struct {
    float threshold;  /* centre similarity below which the mask is 0 (0..1) */
    float power;      /* mask sharpness exponent (>0) */
    float smooth;     /* time smoothing of the cross-spectra, 0 (none) .. <1 */
    float band_lo;    /* Hz: mask fades in between band_lo/2 and band_lo */
    float band_hi;    /* Hz: mask fades out between band_hi and 1.5 * band_hi */
    int low_latency;  /* 1: short window (about 23 ms), 0: about 46 ms */
} ClvAzimuthParams;

/* Thread: any. */
ClvAzimuthParams clv_azimuth_default_params(void);

/* Creates the separator for `channels` (1 or 2) at `sample_rate` (8 k..192 kHz).
 * Thread: non-RT. */
ClvStatus clv_azimuth_new(int sample_rate, int channels, const ClvAzimuthParams *params,
                          ClvSeparator **out);

/* The centre mask itself, shared with the spatial refinement (clv_spatial.h):
 * per bin, recursively smoothed auto- and cross-spectra of the two channels and
 * mask = clamp((2 Re(Plr) / (Pll + Prr) - threshold) / (1 - threshold), 0, 1)^power. */
typedef struct {
    int bins;
    float g, threshold, power; /* g: smoothing per frame */
    float *pll, *prr, *plr;
} ClvCentreMask;

/* Thread: non-RT. */
ClvStatus clv_centre_mask_init(ClvCentreMask *m, int bins, float smooth, float threshold,
                               float power);
void clv_centre_mask_free(ClvCentreMask *m);
/* Thread: worker. */
CLV_RT void clv_centre_mask_reset(ClvCentreMask *m);
/* One frame of interleaved complex spectra L, R (2 * bins floats) -> mask[bins].
 * Thread: worker. */
CLV_RT void clv_centre_mask(ClvCentreMask *m, const float *L, const float *R, float *mask);
/* Fade-in weights of a low cut: 0 below lo / 2, smooth up to 1 at lo (lo <= 0: all 1),
 * for the bins of an n-point FFT at `rate`. Thread: any. */
void clv_low_fade(float *w, int bins, int n, int rate, float lo);

#ifdef __cplusplus
}
#endif
#endif
