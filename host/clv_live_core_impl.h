/* SPDX-License-Identifier: ISC */
/* Private to the live core: the struct shared by the audio half
 * (clv_live_core_rt.c) and the control half (clv_live_core.c). Fields marked
 * (audio) are touched only by the audio thread, (control) only by the control
 * thread; everything else is an atomic or set before the audio thread starts. */
#ifndef CLV_LIVE_CORE_IMPL_H
#define CLV_LIVE_CORE_IMPL_H

#include <semaphore.h>
#include <stdatomic.h>
#include <stdint.h>

#include "clv_engine.h"
#include "clv_live_core.h"
#include "clv_ring.h"

#define CLV_LIVE_RING_SLOTS 64

typedef enum { CLV_LIVE_ENG_REALTIME = 0, CLV_LIVE_ENG_OFFLINE = 1 } ClvLiveEngineKind;

/* One engine as the control thread built it; the audio thread takes it over and
 * hands it back over `retired`. */
typedef struct {
    ClvEngine *eng;
    ClvLiveEngineKind kind;
    uint32_t fw_gen; /* offline engines: the freewheel generation they were built for */
    int period;      /* slack the engine was built with */
    int sample_rate;
} ClvLiveEngine;

typedef enum {
    CLV_LIVE_MSG_GAINS = 0,
    CLV_LIVE_MSG_BYPASS,
    CLV_LIVE_MSG_RESET,
    CLV_LIVE_MSG_ENGINE_WARM, /* realtime engine: warm up beside the current one, then switch */
    CLV_LIVE_MSG_ENGINE_NOW,  /* realtime engine: switch at once (sample-rate change) */
    CLV_LIVE_MSG_ENGINE_FW,   /* offline engine for freewheel generation fw_gen */
} ClvLiveMsgKind;

/* control -> audio */
typedef struct {
    ClvLiveMsgKind kind;
    float a, b;
    ClvLiveEngine *w;
} ClvLiveMsg;

struct ClvLiveCoreImpl {
    ClvLog log;

    /* (audio) */
    ClvLiveEngine *cur;    /* the engine whose output goes out */
    ClvLiveEngine *next;   /* warming up, or NULL */
    ClvLiveEngine *parked; /* the realtime engine while freewheeling, or NULL */
    int64_t next_frames;   /* frames the warming engine has processed */
    int64_t next_need;     /* frames it needs before the switch */
    float vg, ag;          /* current level targets */
    int bypass;
    int fw_active;         /* cur is the offline engine */
    uint32_t fw_given_up;  /* generation for which no offline engine came in time */
    uint64_t cur_misses, cur_dropped; /* cur's counters at the last look */
    float *scratch[6];     /* the warming engine's outputs, CLV_LIVE_MAX_BLOCK each */
    float *mono;           /* input downmix for the tagger, CLV_LIVE_MAX_BLOCK */
    ClvTagRunner *tagger;  /* not owned; NULL = none */

    ClvRing *to_audio; /* ClvLiveMsg */
    ClvRing *retired;  /* ClvLiveEngine * */
    sem_t fw_ready;    /* control -> audio: an offline engine was sent */
    int fw_sem_ok;

    /* shared */
    atomic_int freewheel;   /* backend: in freewheel */
    atomic_uint fw_gen;     /* bumped each time freewheel starts */
    atomic_int req_period;  /* 0 = none */
    atomic_int req_rate;
    atomic_int latency;     /* of cur */
    atomic_int fw_pub;      /* audio's fw_active */
    atomic_uint_fast64_t frames, cycles, misses, dropped, resets, busy_ns, busy_frames;
    atomic_uint_fast64_t tag_dropped;
    atomic_uint load_bits;  /* float: worker load of cur */
    atomic_uint peak_bits;  /* float: largest callback load since the last snapshot */
    atomic_uintptr_t running_pub; /* ClvEngine * of cur, for its separator name */
    atomic_uint_fast64_t lost;    /* engines the audio thread could not hand back */

    /* (control) */
    ClvLiveEngine *c_rt;  /* newest realtime engine sent */
    ClvLiveEngine *c_off; /* newest offline engine sent, while freewheel lasts */
    uint32_t c_off_gen;
    int rate, period, headroom;
    int cfg_worker_priority; /* SCHED_FIFO priority for separator workers, 0 = normal */
    char separator[256];
    ClvOperatingPoint op;
    float c_vg, c_ag;
    int c_bypass;
    int last_latency;
    int last_fw;
    uint64_t last_busy_ns, last_busy_frames;
};

#endif
