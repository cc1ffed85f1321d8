/* SPDX-License-Identifier: ISC */
/* The streaming engine shared by the plugin, the live client and the file tool.
 *
 * The audio thread calls clv_engine_process() with blocks of any length up to
 * max_block. It only moves samples through lock-free rings and applies levels;
 * separation runs on a worker thread. Output is delayed by a fixed latency
 * (clv_engine_latency()). When the worker is late the vocal stem is silent and the
 * accompaniment carries the dry input (stems still sum to the input), the miss is
 * counted, and separation fades back in.
 *
 * In CLV_ENGINE_OFFLINE mode the same path runs but process() waits for the
 * worker, so output is deterministic and equals a realtime run without misses. */
#ifndef CLV_ENGINE_H
#define CLV_ENGINE_H

#include <stdint.h>

#include "clv_common.h"
#include "clv_separator.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ClvEngineImpl ClvEngine;

typedef enum { CLV_ENGINE_REALTIME = 0, CLV_ENGINE_OFFLINE = 1 } ClvEngineMode;

typedef struct {
    int sample_rate; /* Hz, 8000..192000 */
    int channels;    /* 1 or 2 */
    int max_block;   /* largest block process() will be given, >= 1 */
    int slack;       /* frames of worker headroom added to the latency; 0 = max_block. A
                      * separator that declares more headroom gets its own. */
    ClvEngineMode mode;
    int worker_priority; /* 0: normal scheduling; 1..98: ask for SCHED_FIFO at this
                          * priority (below the audio thread's), warn if refused */
    ClvLog log;
} ClvEngineConfig;

/* Counters and load figures, readable from any thread (relaxed atomics inside). */
typedef struct {
    uint64_t hops_done;   /* hops the workers finished, over all separators so far */
    uint64_t misses;      /* hops the audio thread needed but did not have */
    uint64_t dropped;     /* hops not queued because the input ring was full */
    float worker_load;    /* recent worker time / real time for one hop, 0..n */
    int latency;          /* frames, as clv_engine_latency() */
} ClvEngineStats;

/* Creates an engine running `sep` (ownership of sep passes to the engine, also on
 * failure). Starts the worker thread. Thread: non-RT. */
ClvStatus clv_engine_new(const ClvEngineConfig *cfg, ClvSeparator *sep, ClvEngine **out);

/* Stops the worker and frees everything, the separator included. NULL is a no-op.
 * Thread: non-RT, not concurrently with process(). */
void clv_engine_free(ClvEngine *eng);

/* Total latency of every output in frames (constant until the separator changes).
 * Thread: any. */
CLV_RT int clv_engine_latency(const ClvEngine *eng);

/* Processes n frames (0 <= n <= max_block). in[c] are the input channels; any of
 * vocals, accomp, mix may be NULL, else they point to `channels` buffers of n frames.
 * vocals + accomp equals the input delayed by the latency; mix is
 * vocal_gain * vocals + accomp_gain * accomp (or the delayed input when bypassed).
 * Buffers may alias the input only for mix. Thread: audio (realtime-safe in
 * realtime mode). */
CLV_RT void clv_engine_process(ClvEngine *eng, const float *const *in, float *const *vocals,
                               float *const *accomp, float *const *mix, int n);

/* Realtime-safe control changes; values are clamped, gains are smoothed.
 * Gains are linear (0 = mute), up to 16 (+24 dB). Thread: audio. */
CLV_RT void clv_engine_set_gains(ClvEngine *eng, float vocal_gain, float accomp_gain);
/* Bypass (mix output carries the delayed input), crossfaded. Thread: audio. */
CLV_RT void clv_engine_set_bypass(ClvEngine *eng, int bypass);

/* Clears all audio history (delay lines, rings, separator state on the worker).
 * Thread: audio. */
CLV_RT void clv_engine_reset(ClvEngine *eng);

/* Hands a new separator to the engine (ownership passes, also on failure). The audio
 * thread swaps it in at a block boundary; the old one is freed by a later call of
 * clv_engine_collect() or clv_engine_free(). Its channels and sample rate must match.
 * The latency may change. Thread: non-RT (one control thread). */
ClvStatus clv_engine_set_separator(ClvEngine *eng, ClvSeparator *sep);

/* Frees separators the audio thread has retired. Thread: non-RT (control thread). */
void clv_engine_collect(ClvEngine *eng);

/* Snapshot of the counters. Thread: audio or the control thread (the one that
 * calls clv_engine_set_separator/collect, which frees retired pipelines). */
CLV_RT void clv_engine_get_stats(const ClvEngine *eng, ClvEngineStats *st);

/* Name of the running separator (may lag a pending swap). Thread: audio or the
 * control thread (as clv_engine_get_stats). */
const char *clv_engine_separator_name(const ClvEngine *eng);

#ifdef __cplusplus
}
#endif
#endif
