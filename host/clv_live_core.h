/* SPDX-License-Identifier: ISC */
/* The live client's core: one audio-thread struct around the streaming engine,
 * shared by the JACK and PortAudio backends (which are glue only).
 *
 * The backend's audio callback calls clv_live_core_process(). Everything else is
 * done by one control thread (the main loop of `cleave live`): it builds engines
 * (new period, new rate, freewheel), swaps separators, and frees what the audio
 * thread hands back. Control and audio talk through two SPSC rings; the audio
 * thread never allocates, locks or does I/O, except in freewheel, where JACK does
 * not run in real time and the audio thread waits for the offline engine so that
 * renders are exact.
 *
 * Engines:
 * - realtime engine: max_block CLV_LIVE_MAX_BLOCK, slack = the period. A period
 *   change builds a new one off the audio thread; the audio thread runs old and new
 *   side by side until the new one has a full history, then crossfades over one
 *   block, so audio keeps flowing (the latency changes to the new slack).
 * - offline engine (CLV_ENGINE_OFFLINE): built when freewheel starts; the realtime
 *   engine is parked meanwhile and resumes (reset) when freewheel ends. */
#ifndef CLV_LIVE_CORE_H
#define CLV_LIVE_CORE_H

#include <stdint.h>

#include "clv_common.h"
#include "clv_registry.h"
#include "clv_tag_runner.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ClvLiveCoreImpl ClvLiveCore;

#define CLV_LIVE_CHANNELS 2
/* Largest block the engines accept in one call; longer blocks are processed in
 * chunks of this size. */
#define CLV_LIVE_MAX_BLOCK 8192

typedef struct {
    int sample_rate;       /* Hz, 8000..192000 */
    int period;            /* nominal block length in frames, 1..8192 */
    int headroom;          /* extra worker headroom in frames, 0..65536: the engine's
                            * slack is period + headroom (added to the latency) */
    const char *separator; /* registry name or .clvm path; NULL = default separator */
    ClvOperatingPoint op;
    float vocal_gain;      /* linear, 0..16 */
    float accomp_gain;     /* linear, 0..16 */
    int bypass;
    /* Optional sound-event tagger fed with the input (mono downmix) from the audio
     * thread; not owned, must outlive the core. NULL = no tagging. */
    ClvTagRunner *tagger;
    int worker_priority;   /* separator worker: 0 normal, else SCHED_FIFO priority */
    ClvLog log;
} ClvLiveConfig;

/* Flags for clv_live_core_process(). */
enum {
    CLV_LIVE_RESET = 1u, /* clear all history before this block (transport started) */
};

/* What clv_live_core_poll() saw happen (bit mask). */
enum {
    CLV_LIVE_EV_LATENCY = 1u,   /* the reported latency changed: tell the host */
    CLV_LIVE_EV_PERIOD = 2u,    /* an engine for a new period was built */
    CLV_LIVE_EV_RATE = 4u,      /* an engine for a new sample rate was built */
    CLV_LIVE_EV_FREEWHEEL = 8u, /* freewheel started or ended */
    CLV_LIVE_EV_ERROR = 16u,    /* building an engine failed (logged) */
};

/* A snapshot for status lines. */
typedef struct {
    uint64_t frames;     /* frames the audio thread processed */
    uint64_t cycles;     /* audio callbacks */
    uint64_t misses;     /* hops the audio thread needed but did not have, all engines */
    uint64_t dropped;    /* hops not queued because a worker was far behind */
    uint64_t resets;     /* history clears (transport starts, reset commands) */
    uint64_t tag_dropped; /* input samples the tagger's ring had no room for */
    float worker_load;   /* worker time / real time for one hop (current engine) */
    float dsp_mean;      /* audio-callback time / block duration, mean since the last snapshot */
    float dsp_peak;      /* ... and the largest since the last snapshot */
    int latency;         /* frames, as clv_live_core_latency() */
    int sample_rate;
    int period;
    int freewheel;       /* running the offline engine */
    float vocal_gain, accomp_gain;
    int bypass;
    ClvOperatingPoint op;
    char separator[256]; /* what the user asked for (name or path) */
    char running[64];    /* name of the separator the engine runs */
} ClvLiveStats;

/* Creates the core and its first realtime engine. cfg->separator is copied.
 * Errors (bad model file, ...) are logged. Thread: control. */
ClvStatus clv_live_core_new(const ClvLiveConfig *cfg, ClvLiveCore **out);

/* Frees everything. NULL is a no-op. Thread: control, once the backend no longer
 * calls clv_live_core_process(). */
void clv_live_core_free(ClvLiveCore *core);

/* Processes n frames (any n >= 0). in[0], in[1] are the input channels (may be the
 * same buffer for a mono source); each output pair may be NULL, else points to two
 * buffers of n frames that do not alias the input. Outputs are delayed by
 * clv_live_core_latency() frames; vocals + accomp equals the delayed input.
 * Thread: audio (realtime-safe, except in freewheel where it may wait). */
CLV_RT void clv_live_core_process(ClvLiveCore *core, const float *const *in, float *const *mix,
                                  float *const *vocals, float *const *accomp, int n,
                                  unsigned flags);

/* Latency of every output in frames, as the audio thread runs it now. Thread: any. */
CLV_RT int clv_live_core_latency(const ClvLiveCore *core);

/* Level and bypass changes (sent to the audio thread; values are clamped there, and
 * smoothed by the engine). Thread: control. */
void clv_live_core_set_gains(ClvLiveCore *core, float vocal_gain, float accomp_gain);
void clv_live_core_set_bypass(ClvLiveCore *core, int bypass);
/* Clears all audio history. Thread: control. */
void clv_live_core_reset(ClvLiveCore *core);

/* Swaps the separator (registry name or .clvm path) and operating point. On failure
 * the running separator stays and the problem is logged. Thread: control. */
ClvStatus clv_live_core_set_separator(ClvLiveCore *core, const char *name_or_path,
                                      ClvOperatingPoint op);

/* Requests from the backend's notification callbacks; acted on by the next
 * clv_live_core_poll(). Thread: any non-RT. */
void clv_live_core_request_period(ClvLiveCore *core, int period);
void clv_live_core_request_rate(ClvLiveCore *core, int sample_rate);
/* Freewheel on/off. Must be called before the first freewheel block (JACK's
 * freewheel callback is). Thread: any non-RT. */
void clv_live_core_set_freewheel(ClvLiveCore *core, int on);

/* Does the control thread's work: builds requested engines, frees retired ones.
 * Returns the CLV_LIVE_EV_* events since the last call. Thread: control. */
unsigned clv_live_core_poll(ClvLiveCore *core);

/* Snapshot of counters and settings; resets the dsp mean/peak window.
 * Thread: control. */
void clv_live_core_get_stats(ClvLiveCore *core, ClvLiveStats *st);

#ifdef __cplusplus
}
#endif
#endif
