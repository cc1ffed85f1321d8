/* SPDX-License-Identifier: ISC */
/* Streaming log-mel front end (the tagger's input features).
 *
 * Samples go in in blocks of any length; a log-mel frame comes out every `hop`
 * samples. Frame t covers input samples [(t + 1) * hop - n_fft, (t + 1) * hop)
 * with zeros before the first sample, windowed by the periodic sqrt-Hann window
 * of clv_stft.h. Each frame is the power spectrum |X|^2 of the unnormalised FFT,
 * weighted by triangular mel filters on the HTK mel scale
 * (mel = 2595 log10(1 + f / 700)), peak 1, no area normalisation, with n_mels + 2
 * band edges equally spaced in mel from fmin to fmax, then log(max(mel, floor))
 * (natural log). models/train/tag_features.py is the training twin; the golden
 * test tests/test_mel.c compares the two. */
#ifndef CLV_MEL_H
#define CLV_MEL_H

#include "clv_common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ClvMelImpl ClvMel;

/* Front-end parameters. */
typedef struct {
    int sample_rate; /* Hz of the samples fed in (no resampling here) */
    int n_fft;       /* 16 .. 65536 */
    int hop;         /* 1 .. n_fft */
    int n_mels;      /* 1 .. n_fft / 2 + 1 */
    double fmin;     /* Hz, 0 <= fmin < fmax <= sample_rate / 2 */
    double fmax;
    double log_floor; /* > 0 */
} ClvMelConfig;

/* The tagger's front end: 16000 Hz, n_fft 1024, hop 320, 64 bands, 50..8000 Hz,
 * floor 1e-6. Thread: any. */
void clv_mel_config_default(ClvMelConfig *cfg);

/* Checks a configuration; CLV_ERR_INVALID when out of range. Thread: any. */
ClvStatus clv_mel_config_check(const ClvMelConfig *cfg);

/* Creates the front end (allocates, plans the FFT). Thread: non-RT. */
ClvStatus clv_mel_new(const ClvMelConfig *cfg, ClvMel **out);
/* Frees; NULL is a no-op. Thread: non-RT. */
void clv_mel_free(ClvMel *m);

/* Number of mel bands and the hop in samples. Thread: any. */
int clv_mel_bands(const ClvMel *m);
int clv_mel_hop(const ClvMel *m);

/* Frames that feeding n more samples will complete (at most). Thread: any. */
int clv_mel_frames_for(const ClvMel *m, int n);

/* Feeds n samples (n >= 0; x may be NULL when n == 0). Writes each completed
 * frame as n_mels floats to out (frame-major, [k, n_mels]) and returns k. At most
 * max_frames frames are written; samples that would complete more are not
 * consumed, and *consumed (may be NULL) tells how many were. Thread: one caller
 * at a time (no allocation, locks or I/O; the tagger's worker). */
CLV_RT int clv_mel_process(ClvMel *m, const float *x, int n, float *out, int max_frames,
                           int *consumed);

/* Back to the initial state (zero history, no pending samples). Thread: as above. */
CLV_RT void clv_mel_reset(ClvMel *m);

/* Filter `band` as a contiguous run of FFT bins: *first bin and *count weights
 * (pointer owned by m). For tests and tools. Thread: any. */
ClvStatus clv_mel_filter(const ClvMel *m, int band, int *first, int *count,
                         const float **weights);

#ifdef __cplusplus
}
#endif
#endif
