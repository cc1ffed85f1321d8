/* SPDX-License-Identifier: ISC */
/* Wave-U-Net time-domain separator (models/train/sep_wave.py, WaveUNet), streamed
 * block by block at any host rate.
 *
 * Two layers:
 *   - ClvWaveUNetNet + ClvWaveUNetState: the network alone at its own rate
 *     (16 kHz). The stream is cut into blocks of `block` output samples; block b
 *     covers output samples [b*block, (b+1)*block) and is computed from the input
 *     [b*block - ctx, (b+1)*block + ctx) (zeros before the stream start), exactly
 *     as sep_wave.separate(). A state takes samples in chunks of any length and
 *     returns as many vocal samples, lagging the input by block + ctx samples
 *     (metadata latency_samples_model_rate); the whole block is computed in the
 *     call that brings its last input sample (a burst of work every `block`
 *     samples).
 *     With a recurrent bottleneck (metadata rnn_layers > 0: a GRU over the
 *     bottleneck frames, h + gru_out(GRU(h)), carrying the past from window to
 *     window) the windows advance by hop = block rounded down to a multiple of
 *     2^levels instead of block, block b's first hop samples are used, and the
 *     rest is as above (the same latency, block + ctx).
 *   - the ClvSeparator (clv_waveunet_create): a rate bridge (clv_rate_bridge.h)
 *     resamples host audio to the model rate in small model blocks, runs one
 *     state per channel and reports the exact total delay. The engine forms
 *     accompaniment = input - vocals (the Wave-U-Net difference output); content
 *     above the model's band (8 kHz at 16 kHz) stays in the accompaniment.
 *
 * Model file metadata: arch "wave_u_net", sample_rate, levels, ch, kd, ku, block,
 * ctx, slope, latency_samples_model_rate, optional rnn_layers and rnn_hidden;
 * tensors in PyTorch state_dict names:
 * down.{i}.weight [ch*(i+1), c_in, kd], down.{i}.bias, bottleneck.weight/bias,
 * up.{j}.weight/bias (j = 0 the deepest level), out.weight [1, ch + 1, 1], out.bias,
 * and with rnn_layers gru.weight_ih_l{l} etc. (nn.GRU) and gru_out.weight
 * [ch*(levels+1), rnn_hidden], gru_out.bias. */
#ifndef CLV_WAVEUNET_H
#define CLV_WAVEUNET_H

#include "clv_clvm.h"
#include "clv_common.h"
#include "clv_registry.h"
#include "clv_separator.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CLV_WAVEUNET_ARCH "wave_u_net"

typedef struct ClvWaveUNetNetImpl ClvWaveUNetNet;

/* Binds the network to the tensors of `model` (which must outlive it), checking
 * the metadata (ranges, and block/ctx/latency against the sizes WaveUNet.plan()
 * gives for levels/kd/ku) and every tensor's name and shape; errors are logged
 * with the file and the problem. Thread: non-RT. */
ClvStatus clv_waveunet_net_new(const ClvClvm *model, const ClvLog *log, ClvWaveUNetNet **out);
/* Frees; NULL is a no-op. Thread: non-RT. */
void clv_waveunet_net_free(ClvWaveUNetNet *n);
/* Output samples per block, context samples on each side, latency of a state in
 * model samples (block + ctx), model rate in Hz, number of parameters.
 * Thread: any. */
int clv_waveunet_net_block(const ClvWaveUNetNet *n);
int clv_waveunet_net_ctx(const ClvWaveUNetNet *n);
int clv_waveunet_net_latency(const ClvWaveUNetNet *n);
int clv_waveunet_net_rate(const ClvWaveUNetNet *n);
long clv_waveunet_net_params(const ClvWaveUNetNet *n);

/* Streaming state of one channel (input window, output queue, activations and
 * GEMM scratch, all in one arena); many states may share one net.
 * Thread: non-RT for new/free. */
typedef struct ClvWaveUNetStateImpl ClvWaveUNetState;
ClvStatus clv_waveunet_state_new(const ClvWaveUNetNet *n, ClvWaveUNetState **out);
void clv_waveunet_state_free(ClvWaveUNetState *s);
/* Back to a fresh stream. Thread: the one that runs the state. */
CLV_RT void clv_waveunet_state_reset(ClvWaveUNetState *s);

/* Feeds n >= 0 model-rate samples x[n] and writes n vocal samples to y[n]: y[k]
 * is the vocal estimate of the input sample fed latency samples before x[k]
 * (zeros for the first latency samples after a reset). x and y may alias.
 * Thread: one at a time per state. */
CLV_RT void clv_waveunet_state_process(ClvWaveUNetState *s, const float *x, int n, float *y);

/* The network on one window: in[block + 2 * ctx] -> vocals[block]. Without a
 * recurrent bottleneck no streaming state is touched except the state's scratch;
 * with one, the window is taken as the next window of the stream (hop samples
 * after the last one) and the GRU state advances. Thread: one at a time per state. */
CLV_RT void clv_waveunet_state_run_block(ClvWaveUNetState *s, const float *in, float *vocals);

/* Registry factory: creates the separator for host rate `sample_rate` (any rate
 * 8000..192000) and 1 or 2 channels. Takes ownership of `model` (freed with the
 * separator, or here on failure). CLV_OP_LOW_LATENCY is refused with a message
 * (the model's latency is far above 25 ms). Thread: non-RT. */
ClvStatus clv_waveunet_create(ClvClvm *model, int sample_rate, int channels, ClvOperatingPoint op,
                              const ClvLog *log, ClvSeparator **out);

/* Test hook on a separator made by clv_waveunet_create(): hops that found the
 * output queue short (0 in a correct build). Thread: any. */
long clv_waveunet_underruns(const ClvSeparator *sep);

#ifdef __cplusplus
}
#endif
#endif
