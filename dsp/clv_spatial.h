/* SPDX-License-Identifier: ISC */
/* Spatial refinement: a separator's vocals, sharpened by where they sit in the
 * stereo image.
 *
 * The neural separators work on each channel alone and know timbre, not place;
 * the centre separator (clv_azimuth.h) knows place, not timbre. Lead vocals are
 * mixed to the centre, and so are bass and drums, while guitars, keys and
 * reverb spread out: the two cues fail on different sounds. The wrapper runs the
 * inner separator, delays the input to match it, and in an STFT of its own takes
 * per bin and channel the inner separator's mask (the projection of its vocals
 * on the mixture, clipped to 0..1) times the centre mask of the smoothed
 * cross-spectra (clv_azimuth.h's ClvCentreMask, softer: threshold 0.3, power 1) and a fade-in
 * from 125 to 250 Hz (centred bass and kick drum are not voice), applied to each
 * channel's own spectrum. Stems still sum to the input (the engine forms
 * the accompaniment). Latency: the inner separator's plus n_fft - hop. At the
 * low-latency point the window is two STFT hops of the inner hop (or a half or
 * quarter of it), run several times per inner hop: 2-4 ms more instead of 30-45.
 *
 * Measured (models/train/eval_sep.py --fullband, held-out PJS voices over the
 * Frets on Fire backings, 44.1 kHz): hourglass vocals SDR 6.31 dB alone, 8.28 dB
 * refined; 6.36 / 7.43 dB with panned, reverberant vocals (--vocal-fx). The
 * parameters were chosen on other excerpts and voices, in both conditions.
 * Demucs at the low-latency point (44.1 kHz: a 176-frame window, hop 88): 4.33
 * dB alone, 5.78 dB refined; 4.60 / 5.52 dB with --vocal-fx. */
#ifndef CLV_SPATIAL_H
#define CLV_SPATIAL_H

#include "clv_separator.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    float threshold; /* centre similarity below which the centre mask is 0 (-1..1) */
    float power;     /* sharpness of the centre mask (> 0) */
    float smooth;    /* cross-spectra smoothing per 10 ms, 0 (none) .. < 1 */
    float window_s;  /* STFT window, seconds (rounded up to a power of two in samples) */
    int window_hops; /* 0: window_s; 2..8: the window is this many STFT hops (the
                      * shortest latency), of any length whose prime factors are
                      * 2..13 (FFTW's realtime-safe sizes; others are refused) */
    int hop_div;     /* the STFT hop is the inner separator's hop / hop_div (1..8,
                      * 0 = 1; must divide it): shorter windows at low latency */
    float band_lo;   /* Hz: the vocals fade in between band_lo / 2 and band_lo (centred bass
                      * and kick are not voice); 0: no low cut */
} ClvSpatialParams;

/* Thread: any. */
ClvSpatialParams clv_spatial_default_params(void);
/* For the low-latency point: a window of two STFT hops of the inner hop / hop_div
 * (8 ms at 44.1 and 48 kHz for a 64-sample step at 16 kHz and hop_div 1), adding
 * one STFT hop of latency. Thread: any. */
ClvSpatialParams clv_spatial_low_latency_params(int hop_div);

/* Latency the wrapper would add to `inner` (frames), or -1 for bad parameters.
 * Thread: any. */
int clv_spatial_added_latency(const ClvSeparator *inner, const ClvSpatialParams *params);

/* Wraps a stereo separator. Takes ownership of `inner` (freed on failure too).
 * Thread: non-RT. */
ClvStatus clv_spatial_wrap(ClvSeparator *inner, const ClvSpatialParams *params,
                           ClvSeparator **out);

#ifdef __cplusplus
}
#endif
#endif
