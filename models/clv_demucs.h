/* SPDX-License-Identifier: ISC */
/* Causal Demucs-style waveform separator (models/train/sep_wave.py, DemucsStream),
 * streamed step by step at any host rate.
 *
 * Network (per channel, mono, at 16 kHz): an encoder of `depth` layers
 * Conv1d(K, stride S) + ReLU + Conv1d(1x1, 2h) + GLU, a unidirectional GRU
 * bottleneck with a residual connection, and a decoder that per level adds the
 * encoder output of that level, then Conv1d(1x1) + GLU + ConvTranspose1d(K, S)
 * (+ ReLU except the last); the single output channel is the vocal estimate.
 * Bottleneck frame j reads input [j*step, j*step + step + lookahead) (step =
 * S^depth) and output samples [j*step, (j+1)*step) are final once frame j is in.
 *
 * Two layers:
 *   - ClvDemucsNet / ClvDemucsState: the network alone at its own rate, fed in
 *     blocks of `step` samples; each call returns `step` vocal samples lagging the
 *     input by the model's latency (metadata latency_samples_model_rate);
 *   - the ClvSeparator (clv_demucs_create): the network on the shared host-rate
 *     bridge (models/clv_rate_bridge.h), one state per channel.
 *
 * Model file metadata: arch "demucs_stream", sample_rate, depth, hidden, growth,
 * kernel, stride, rnn_layers, step, lookahead, latency_samples_model_rate;
 * tensors in PyTorch state_dict names (enc.{i}.conv.weight [h, cin, K],
 * enc.{i}.glu.weight [2h, h, 1], dec.{j}.glu.*, dec.{j}.convt.weight [hi, co, K],
 * gru.weight_ih_l0 ... gru.bias_hh_l{L-1}).
 *
 * Hybrid (arch "demucs_hybrid", sep_wave.HybridDemucs, after Hybrid Demucs): the
 * same time branch plus a spectral branch, a band-split hourglass mask network
 * (models/clv_hourglass.h) on its own STFT, whose masked
 * mixture spectrum is synthesised and added to the time branch's vocals. Its
 * metadata carries the hourglass keys prefixed "spec_" (spec_n_fft, spec_hop,
 * spec_stacks, ...) and its tensors the prefix "spec.". The spectral hop is a
 * whole number of time steps and the network is fed a hop at a time (a block);
 * the spectral latency (n_fft - hop + lookahead * hop) is the file's latency, at
 * least the time branch's, whose output the delay line holds back to it. Two
 * shipped files: demucs.clvm (hop = step = 64, latency 192: 12 ms, the
 * low-latency point) and demucs-quality.clvm (the hourglass family's three-stack
 * net, n_fft 1024, hop 256, 6 frames of lookahead: latency 2304, 144 ms). */
#ifndef CLV_DEMUCS_H
#define CLV_DEMUCS_H

#include "clv_clvm.h"
#include "clv_common.h"
#include "clv_registry.h"
#include "clv_separator.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CLV_DEMUCS_ARCH "demucs_stream"
#define CLV_DEMUCS_HYBRID_ARCH "demucs_hybrid"

typedef struct ClvDemucsNetImpl ClvDemucsNet;

/* Binds the network to the tensors of `model` (which must outlive it), checking
 * the metadata and every name and shape; errors are logged with the file, the
 * key or tensor, and both shapes. Thread: non-RT. */
ClvStatus clv_demucs_net_new(const ClvClvm *model, const ClvLog *log, ClvDemucsNet **out);
/* Frees; NULL is a no-op. Thread: non-RT. */
void clv_demucs_net_free(ClvDemucsNet *n);
/* Samples per clv_demucs_step call at the model rate: the time step (stride^depth),
 * or a hybrid's spectral hop. Thread: any. */
int clv_demucs_net_step(const ClvDemucsNet *n);
/* Latency in model samples (a multiple of the step). Thread: any. */
/* Whether the file serves the quality point only: a latency over the low-latency
 * point's 25 ms at the model rate (demucs-quality.clvm). Thread: any. */
int clv_demucs_net_quality_only(const ClvDemucsNet *n);
int clv_demucs_net_latency(const ClvDemucsNet *n);
/* Model rate in Hz. Thread: any. */
int clv_demucs_net_rate(const ClvDemucsNet *n);
/* Number of parameters (floats) the network uses. Thread: any. */
long clv_demucs_net_params(const ClvDemucsNet *n);

/* Streaming state of one channel (conv histories, skip fifos, transposed-conv
 * overlap, GRU state, output delay line); many states may share one net.
 * Thread: non-RT for new/free. */
typedef struct ClvDemucsStateImpl ClvDemucsState;
ClvStatus clv_demucs_state_new(const ClvDemucsNet *n, ClvDemucsState **out);
void clv_demucs_state_free(ClvDemucsState *s);
/* Back to a fresh stream (no frames before sample 0, as sep_wave.separate()).
 * Thread: the one that runs the state. */
CLV_RT void clv_demucs_state_reset(ClvDemucsState *s);
/* Feeds clv_demucs_net_step() input samples and writes as many vocal samples,
 * which belong to the input `latency` samples earlier (zeros before the stream).
 * Thread: one at a time per state. */
CLV_RT void clv_demucs_step(ClvDemucsState *s, const float *in, float *vocals);
/* Test hook: when on, the network is bypassed and the output is the input delayed
 * by exactly the latency. Thread: non-RT. */
void clv_demucs_state_set_identity(ClvDemucsState *s, int on);

/* Registry factory: creates the separator for host rate `sample_rate` (any rate
 * 8000..192000) and 1 or 2 channels. Takes ownership of `model` (freed with the
 * separator, or here on failure). Both operating points are served by the same
 * network; CLV_OP_LOW_LATENCY is refused with a message if the total latency
 * would exceed 25 ms. Thread: non-RT. */
ClvStatus clv_demucs_create(ClvClvm *model, int sample_rate, int channels, ClvOperatingPoint op,
                            const ClvLog *log, ClvSeparator **out);

/* Test hooks on a separator made by clv_demucs_create(): identity network on/off,
 * and the number of hops that found the output queue short (0 in a correct build).
 * Thread: non-RT / any. */
void clv_demucs_set_identity(ClvSeparator *sep, int on);
long clv_demucs_underruns(const ClvSeparator *sep);

#ifdef __cplusplus
}
#endif
#endif
