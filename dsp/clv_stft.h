/* SPDX-License-Identifier: ISC */
/* Streaming short-time Fourier transform and its inverse on FFTW3 (single precision).
 *
 * One ClvStft holds the state of one channel. Each analysis call takes `hop` new
 * samples and returns the spectrum of the latest `n_fft` samples (periodic
 * sqrt-Hann analysis window); each synthesis call takes a spectrum and returns
 * `hop` finished output samples by windowed overlap-add. The synthesis window is the
 * dual of the analysis window for the chosen hop, so analysis followed by synthesis
 * reconstructs the input exactly (to rounding), delayed by n_fft - hop samples, for
 * any n_fft >= 2 and 1 <= hop <= n_fft. */
#ifndef CLV_STFT_H
#define CLV_STFT_H

#include "clv_common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ClvStftImpl ClvStft;

/* Creates the transform (plans are made here, never in processing).
 * Thread: non-RT (serialised internally, FFTW planning is not thread-safe). */
ClvStatus clv_stft_new(int n_fft, int hop, ClvStft **out);
/* Frees; NULL is a no-op. Thread: non-RT. */
void clv_stft_free(ClvStft *s);

/* Sizes: bins = n_fft / 2 + 1. Thread: any. */
int clv_stft_bins(const ClvStft *s);
int clv_stft_n_fft(const ClvStft *s);
int clv_stft_hop(const ClvStft *s);
/* Delay from input to synthesis output in samples: n_fft - hop. Thread: any. */
int clv_stft_latency(const ClvStft *s);
/* The analysis window (n_fft values, owned by s), for code that must match it
 * (training). Thread: any. */
const float *clv_stft_window(const ClvStft *s);

/* Pushes `hop` samples and writes the spectrum of the last n_fft samples as
 * interleaved (re, im) pairs, 2 * bins floats. Thread: one worker at a time. */
CLV_RT void clv_stft_analyze(ClvStft *s, const float *hop_in, float *spec);
/* Inverse-transforms spec (2 * bins floats, not modified), overlap-adds and writes
 * `hop` finished samples. Thread: one worker at a time. */
CLV_RT void clv_stft_synthesize(ClvStft *s, const float *spec, float *hop_out);
/* Clears history and overlap state. Thread: as above. */
CLV_RT void clv_stft_reset(ClvStft *s);

#ifdef __cplusplus
}
#endif
#endif
