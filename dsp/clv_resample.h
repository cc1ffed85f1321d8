/* SPDX-License-Identifier: ISC */
/* Streaming sample-rate conversion on libsoxr.
 *
 * A thin wrapper that fixes the choices cleave needs: single-precision interleaved
 * samples, linear phase (so the delay is a constant that latency reporting can
 * rely on), high quality, and a delay figure measured once at creation. */
#ifndef CLV_RESAMPLE_H
#define CLV_RESAMPLE_H

#include <stddef.h>

#include "clv_common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ClvResampleImpl ClvResample;

/* Creates a converter from in_rate to out_rate (Hz, 1000..768000) for `channels`
 * interleaved channels (1..8). Thread: non-RT. */
ClvStatus clv_resample_new(double in_rate, double out_rate, int channels, ClvResample **out);
/* Frees; NULL is a no-op. Thread: non-RT. */
void clv_resample_free(ClvResample *r);

/* Converts n_in interleaved frames (in may be NULL to flush the tail at the end of
 * a stream) and writes up to max_out frames; returns frames written. Output lags
 * input by clv_resample_delay(). Realtime-safe after creation: libsoxr does not
 * allocate while processing once its buffers are sized by the first call of the
 * largest size, so callers prime it with clv_resample_prime(). Thread: one at a time. */
CLV_RT size_t clv_resample_process(ClvResample *r, const float *in, size_t n_in, float *out,
                                   size_t max_out);
/* Runs one block of max_in silent frames through and clears, so later calls of that
 * size do not allocate. Thread: non-RT. */
ClvStatus clv_resample_prime(ClvResample *r, size_t max_in);
/* Group delay in output frames (fractional), measured at creation with an impulse
 * (libsoxr trims most of its filter delay, so this is close to 0). Thread: any. */
double clv_resample_delay(const ClvResample *r);
/* Clears history. Thread: one at a time (libsoxr's clear is cheap but not RT-audited). */
void clv_resample_reset(ClvResample *r);

/* One-shot conversion of a whole buffer (non-streaming convenience, e.g. for file
 * tools): allocates *out (caller frees with free()) and returns its frame count,
 * delay-compensated so the output is time-aligned with the input and has
 * round(n_in * out_rate / in_rate) frames. Thread: non-RT. */
ClvStatus clv_resample_buffer(double in_rate, double out_rate, int channels, const float *in,
                              size_t n_in, float **out, size_t *n_out);

#ifdef __cplusplus
}
#endif
#endif
