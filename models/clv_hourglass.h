/* SPDX-License-Identifier: ISC */
/* Band-split stacked hourglass mask separator (models/train/sep_models.py,
 * StackedHourglass), streamed frame by frame at any host rate.
 *
 * Two layers:
 *   - ClvHourglassNet: the network alone at its own rate (16 kHz, STFT 1024/256):
 *     one call per STFT frame, vocal mask out, with the model's lookahead handled
 *     inside (the mask that comes out belongs to the frame `lookahead` calls ago).
 *   - the ClvSeparator (clv_hourglass_create): resamples the host signal to the
 *     model rate, runs STFT -> net -> masked iSTFT per channel, resamples the vocal
 *     estimate back and reports the exact total delay. Content above the model's
 *     band (8 kHz at 16 kHz) is deliberately left out of the vocal estimate, so the
 *     engine's accompaniment = input - vocals keeps all of it: cymbals, air and
 *     sibilance above ~7.5 kHz go to the accompaniment stem, and stems still sum
 *     to the input exactly.
 *
 * Model file metadata: arch "stacked_hourglass_band_gru", sample_rate, n_fft, hop,
 * stacks, d0, d1, d2, hidden, lookahead, nb, bw; tensors in PyTorch state_dict
 * names (in_mean, in_scale, stacks.{s}.enc0.weight [nb, d0, cin], ...). */
#ifndef CLV_HOURGLASS_H
#define CLV_HOURGLASS_H

#include "clv_clvm.h"
#include "clv_common.h"
#include "clv_registry.h"
#include "clv_separator.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CLV_HOURGLASS_ARCH "stacked_hourglass_band_gru"

typedef struct ClvHourglassNetImpl ClvHourglassNet;

/* Binds the network to the tensors of `model` (which must outlive it), checking
 * every name and shape; errors are logged with the file, tensor and both shapes.
 * Thread: non-RT. */
ClvStatus clv_hourglass_net_new(const ClvClvm *model, const ClvLog *log, ClvHourglassNet **out);
/* The same network embedded in another model file (a hybrid's spectral branch):
 * metadata keys meta_prefix + "n_fft", ... ("sample_rate" unprefixed) and tensors
 * tensor_prefix + "in_mean", ...; the file's arch is not checked. Thread: non-RT. */
ClvStatus clv_hourglass_net_new_branch(const ClvClvm *model, const char *meta_prefix,
                                       const char *tensor_prefix, const ClvLog *log,
                                       ClvHourglassNet **out);
/* Frees; NULL is a no-op. Thread: non-RT. */
void clv_hourglass_net_free(ClvHourglassNet *n);
/* Frames of lookahead (the mask lags the input by this many frames). */
int clv_hourglass_net_lookahead(const ClvHourglassNet *n);
/* Model STFT size, hop and rate. */
int clv_hourglass_net_n_fft(const ClvHourglassNet *n);
int clv_hourglass_net_hop(const ClvHourglassNet *n);
int clv_hourglass_net_rate(const ClvHourglassNet *n);
/* Number of parameters (floats) the network uses. Thread: any. */
long clv_hourglass_net_params(const ClvHourglassNet *n);

/* Streaming state of one channel (GRU states, lookahead history, scratch); many
 * states may share one net. Thread: non-RT for new/free. */
typedef struct ClvHourglassStateImpl ClvHourglassState;
ClvStatus clv_hourglass_state_new(const ClvHourglassNet *n, ClvHourglassState **out);
void clv_hourglass_state_free(ClvHourglassState *s);
/* Back to a fresh stream. Thread: the one that runs the state. */
CLV_RT void clv_hourglass_state_reset(ClvHourglassState *s);

/* Feeds one analysis frame (spec: interleaved re/im, n_fft/2+1 bins, the output of
 * clv_stft_analyze) and writes the vocal spectrum of the frame `lookahead` calls
 * earlier into vspec (same layout; zeros while fewer than lookahead+1 frames have
 * arrived). Thread: one at a time per state. */
CLV_RT void clv_hourglass_step(ClvHourglassState *s, const float *spec, float *vspec);

/* Test hook: when on, the mask is 1 everywhere (the separator then returns the
 * band-limited input, delayed by its latency). Thread: non-RT. */
void clv_hourglass_state_set_identity(ClvHourglassState *s, int on);

/* Registry factory: creates the separator for host rate `sample_rate` (any rate
 * 8000..192000) and 1 or 2 channels. Takes ownership of `model` (freed with the
 * separator, or here on failure). CLV_OP_LOW_LATENCY is refused with a message
 * when the model's algorithmic latency exceeds 25 ms. Thread: non-RT. */
ClvStatus clv_hourglass_create(ClvClvm *model, int sample_rate, int channels, ClvOperatingPoint op,
                               const ClvLog *log, ClvSeparator **out);

/* Test hooks on a separator made by clv_hourglass_create(): identity mask on/off,
 * and the number of hops that found the output queue short (0 in a correct build).
 * Thread: non-RT / any. */
void clv_hourglass_set_identity(ClvSeparator *sep, int on);
long clv_hourglass_underruns(const ClvSeparator *sep);

#ifdef __cplusplus
}
#endif
#endif
