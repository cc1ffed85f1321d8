/* SPDX-License-Identifier: ISC */
/* Private to the engine: the structs shared by the realtime part (clv_engine_rt.c)
 * and the setup/worker part (clv_engine.c). Everything the audio thread touches is
 * in ClvEngineImpl and the ClvPipeline it currently runs. */
#ifndef CLV_ENGINE_IMPL_H
#define CLV_ENGINE_IMPL_H

#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdint.h>

#include "clv_engine.h"
#include "clv_ring.h"

#define CLV_ENGINE_MAX_CHANNELS 2
#define CLV_ENGINE_CTRL_SLOTS 16

enum { CLV_HOP_DISCONT = 1u }; /* separator must reset before this hop */

/* Header of an input-ring message (worker-bound); samples follow, planar. */
typedef struct {
    uint64_t seq;   /* hop index since the pipeline (re)started */
    uint32_t epoch; /* bumped by clv_engine_reset(); stale hops are ignored */
    uint32_t flags;
} ClvHopHeader;

/* One separator with its worker thread and rings. Created and destroyed off the
 * audio thread; the audio thread only pushes hops, pops results and reads fields
 * marked (audio). */
typedef struct ClvPipeline {
    ClvSeparator *sep;
    int channels, hop, sep_latency, slack, latency; /* latency = sep_latency + hop + slack */
    size_t msg_floats;                       /* channels * hop */

    ClvRing *in_ring;  /* audio -> worker: ClvHopHeader + samples */
    ClvRing *out_ring; /* worker -> audio: ClvHopHeader + vocals */

    /* (audio) */
    uint64_t t0;        /* engine frame at which this pipeline started */
    uint64_t hops_in;   /* hops pushed (next seq) */
    int stage_fill;     /* frames in stage */
    float *stage;       /* channels * hop, planar */
    float *vhop;        /* current vocal hop, planar */
    uint64_t vhop_seq;  /* seq held in vhop, or UINT64_MAX */
    uint64_t missed_seq;/* last seq counted as a miss, or UINT64_MAX */
    uint32_t epoch;
    uint32_t pending_flags;

    /* worker */
    pthread_t thread;
    int thread_started;
    sem_t wake; /* audio -> worker: hops are waiting */
    sem_t done; /* worker -> offline audio: a hop was finished */
    atomic_int quit;
    int offline;
    const float **in_ptrs;
    float **out_ptrs;

    atomic_uint_fast64_t *hops_done; /* the engine's counters, shared by all pipelines */
    atomic_uint_fast64_t *dropped;
    atomic_uint load_bits; /* float, worker time / hop duration, smoothed */
} ClvPipeline;

struct ClvEngineImpl {
    ClvEngineConfig cfg;
    int slack;
    int max_latency; /* largest latency a separator may have */

    /* (audio) */
    ClvPipeline *cur;
    float *dry[CLV_ENGINE_MAX_CHANNELS]; /* input history ring, dry_mask + 1 frames */
    uint64_t dry_mask;
    uint64_t t;          /* frames processed so far */
    uint64_t dry_valid;  /* frames before this read as silence (after reset) */
    float fade;          /* 0..1 separation fade after a miss */
    float fade_step;
    float gv, ga, gv_target, ga_target, gain_coef;
    float byp, byp_target, byp_step;
    uint32_t epoch;

    ClvRing *ctrl_in;  /* control -> audio: ClvPipeline * */
    ClvRing *retired;  /* audio -> control: ClvPipeline * */

    atomic_int latency;
    atomic_uint_fast64_t misses;
    atomic_uint_fast64_t hops_done;
    atomic_uint_fast64_t dropped;
    atomic_uintptr_t cur_pub; /* current pipeline, published for stats/name readers */
};

#endif
