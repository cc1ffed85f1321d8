/* SPDX-License-Identifier: ISC */
/* Host-rate <-> model-rate bridge for per-channel waveform separators.
 *
 * A network that runs at its own rate (16 kHz) in fixed blocks of `model_block`
 * samples is wrapped into a separator at any host rate: host audio goes through a
 * linear-phase down-converter into a per-channel model-rate fifo; every full block
 * is handed to a callback (planar, one buffer per channel) that returns the same
 * number of model-rate vocal samples, lagging its input by `model_latency` model
 * samples; the vocals go through the up-converter into a host-rate output queue.
 *
 * The queue starts with `prefill` zeros, measured at creation by running the
 * exact hop sequence (so it never runs dry), and a few model-rate alignment zeros
 * bring the converters' fractional delays to an integer total, which is reported
 * by clv_rate_bridge_latency(): the vocals of call k belong to the input frames
 * [k*hop - latency, (k+1)*hop - latency), as ClvSeparator requires.
 *
 * The bridge owns only the glue; the caller owns the network and its per-channel
 * states (and resets them with the bridge). */
#ifndef CLV_RATE_BRIDGE_H
#define CLV_RATE_BRIDGE_H

#include "clv_clvm.h"
#include "clv_common.h"
#include "clv_separator.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ClvRateBridgeImpl ClvRateBridge;

/* One network block: in[c] holds model_block model-rate input samples of channel
 * c, out[c] receives model_block vocal samples (lagging the input stream by
 * model_latency). Called from clv_rate_bridge_process(), so it must be realtime
 * safe (no allocation, locks or I/O). Thread: the one that runs the bridge. */
typedef void (*ClvRateBridgeBlockFn)(void *user, const float *const *in, float *const *out);

/* Converter lengths (ClvRateBridgeConfig.taps), taps per phase at the lower of
 * the two rates. Measured through both converters, 16 kHz model, 44.1/48 kHz
 * host (tests/test_rate_bridge.c):
 *   32 (what 0 selects): about 1 ms each way; -6 dB at 0.45 of the lower rate;
 *      -0.1 dB at 6.15-6.2 kHz, -1 dB at 6.5 kHz; tones above 8 kHz rejected
 *      53-57 dB (86 dB from 8.5 kHz).
 *   128: about 4 ms each way; the cutoff follows the length so the stopband
 *      starts at the lower rate's Nyquist; -0.1 dB at 7.43 kHz, -1 dB at
 *      7.50-7.53 kHz; tones above 8 kHz rejected >= 89 dB. */
#define CLV_RATE_BRIDGE_TAPS_SHORT 32
#define CLV_RATE_BRIDGE_TAPS_LONG 128
/* 256: about 8 ms each way, flat to nearer the model's Nyquist (test_rate_bridge
 * prints the figures). For mask networks whose top bins matter: the hourglass's
 * full-band vocals SDR with the network alone went 6.52 -> 7.33 dB from 128 taps
 * to 256 (8.48 -> 8.83 dB refined), for 352 more frames of latency at 44.1 kHz. */
#define CLV_RATE_BRIDGE_TAPS_WIDE 256
#define CLV_RATE_BRIDGE_TAPS_MIN 8
#define CLV_RATE_BRIDGE_TAPS_MAX 512

typedef struct {
    int host_rate;     /* Hz, 8000..192000 */
    int channels;      /* 1 or 2 */
    int model_rate;    /* Hz, 8000..48000 */
    int host_hop;      /* frames per process() call; 0 = round(model_block * host/model) */
    int model_block;   /* model samples per network step, 1..65536 */
    int model_latency; /* model samples by which the callback's output lags its input */
    int taps;          /* converter taps per phase at the lower rate: 0 = 32 (shortest
                        * delay), else CLV_RATE_BRIDGE_TAPS_MIN..MAX; the delay of each
                        * converter is about taps / 2 samples at the lower rate, and
                        * above 32 the cutoff follows the length (flatter passband,
                        * see CLV_RATE_BRIDGE_TAPS_LONG) */
    double block_load; /* worst-case worker time of one network block (all channels),
                        * as a fraction of the block's real time, on a loaded core;
                        * 0 = unknown (the headroom is a whole hop). The headroom is
                        * this times the largest burst of blocks one hop brings. */
    ClvRateBridgeBlockFn block;
    void *user;
    const char *name;  /* for messages (file path or family name); may be NULL */
} ClvRateBridgeConfig;

/* Creates the bridge: converters, queues, the measured prefill and the integer
 * latency (the callback is not called during creation). Errors are logged with
 * cfg->name. Thread: non-RT. */
ClvStatus clv_rate_bridge_new(const ClvRateBridgeConfig *cfg, const ClvLog *log,
                              ClvRateBridge **out);
/* Frees; NULL is a no-op. Thread: non-RT. */
void clv_rate_bridge_free(ClvRateBridge *b);

/* The start every bridged separator's constructor shares: checks the host side
 * (1 or 2 channels, 8..192 kHz; errors logged with the model's path), allocates
 * `size` zeroed bytes whose first member is a ClvSeparator and fills its ops,
 * channels, rate and name. On failure the model is freed (constructors own it),
 * *st says why and NULL is returned. Thread: non-RT. */
void *clv_rate_bridge_sep_alloc(size_t size, ClvClvm *model, const ClvSeparatorOps *ops,
                                const char *name, int sample_rate, int channels,
                                const ClvLog *log, ClvStatus *st);
/* A bridged separator's hop, latency and headroom, from its bridge. Thread: non-RT. */
void clv_rate_bridge_fill_sep(const ClvRateBridge *b, ClvSeparator *sep);

/* Host frames per process() call. Thread: any. */
int clv_rate_bridge_hop(const ClvRateBridge *b);
/* Total delay of the vocals at the host rate in frames (exact integer). Thread: any. */
int clv_rate_bridge_latency(const ClvRateBridge *b);
/* Worker headroom a separator built on this bridge should declare (frames): one
 * host hop can bring two network blocks. Thread: any. */
int clv_rate_bridge_headroom(const ClvRateBridge *b);
/* Pieces of the latency, for messages: the converters' delays (model samples in,
 * host frames out), alignment zeros (model samples) and the queue prefill (host
 * frames). Thread: any. */
void clv_rate_bridge_describe(const ClvRateBridge *b, double *d_down, double *d_up, int *align,
                              int *prefill);
/* Hops that found the output queue short (0 in a correct build). Thread: any. */
long clv_rate_bridge_underruns(const ClvRateBridge *b);

/* One hop: in[c] holds hop host frames per channel, vocals[c] receives hop frames.
 * Calls the block callback for every full model block. Thread: worker (one at a
 * time). */
CLV_RT void clv_rate_bridge_process(ClvRateBridge *b, const float *const *in,
                                    float *const *vocals);
/* Back to a fresh stream (converters, fifo, output queue with its prefill); the
 * caller resets its network states too. Thread: as process(). */
CLV_RT void clv_rate_bridge_reset(ClvRateBridge *b);

#ifdef __cplusplus
}
#endif
#endif
