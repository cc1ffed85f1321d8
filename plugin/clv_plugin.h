/* SPDX-License-Identifier: ISC */
/* Private to the LV2 plugin: the instance struct shared by the realtime half
 * (clv_plugin_rt.c: connect_port, run, work_response) and the setup/worker half
 * (clv_plugin.c: instantiate, work, state, logging). Everything the audio thread
 * touches is in ClvPlugin under "audio thread"; reviewers check realtime safety by
 * reading that part and the functions in clv_plugin_rt.c.
 *
 * Threads:
 *  - audio: connect_port, run, work_response (the host's run context);
 *  - worker: work() (the host's worker, or our own fallback thread when the host
 *    has no worker:schedule; either way one call at a time). The worker is the
 *    engine's control thread: it creates separators and engines and frees them;
 *  - non-RT: instantiate, activate, state save/restore, cleanup. */
#ifndef CLV_PLUGIN_H
#define CLV_PLUGIN_H

#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdint.h>

#include <lv2/atom/atom.h>
#include <lv2/atom/forge.h>
#include <lv2/core/lv2.h>
#include <lv2/log/logger.h>
#include <lv2/state/state.h>
#include <lv2/urid/urid.h>
#include <lv2/worker/worker.h>

#include "clv_common.h"
#include "clv_engine.h"
#include "clv_registry.h"
#include "clv_ring.h"
#include "clv_tag_runner.h"

#define CLV_PLUGIN_URI "urn:cleave:plugin"
#define CLV_PLUGIN_NS "urn:cleave:"

/* Port indices; must match cleave.ttl.in. */
typedef enum {
    CLV_PORT_IN_L = 0,
    CLV_PORT_IN_R,
    CLV_PORT_MIX_L,
    CLV_PORT_MIX_R,
    CLV_PORT_VOCALS_L,
    CLV_PORT_VOCALS_R,
    CLV_PORT_ACCOMP_L,
    CLV_PORT_ACCOMP_R,
    CLV_PORT_CONTROL, /* atom in: patch:Set/Get of the model file */
    CLV_PORT_NOTIFY,  /* atom out: tag events, patch:Set replies */
    CLV_PORT_VOCAL_DB,
    CLV_PORT_ACCOMP_DB,
    CLV_PORT_SEPARATOR,
    CLV_PORT_OP,
    CLV_PORT_ENABLED,
    CLV_PORT_OFFLINE,
    CLV_PORT_LATENCY,
    CLV_PORT_MISSES,
    CLV_PORT_LOAD,
    CLV_PORT_TAG,
    CLV_PORT_TAG_CONF,
    CLV_PORT_COUNT
} ClvPluginPort;

/* Levels in dB; the minimum means -inf (muted). */
#define CLV_PLUGIN_DB_MIN (-90.0f)
#define CLV_PLUGIN_DB_MAX 12.0f

/* Longest model path accepted (bytes, with the terminating NUL). */
#define CLV_PLUGIN_PATH_MAX 1024
/* Block length assumed when the host announces none (buf-size options). */
#define CLV_PLUGIN_DEFAULT_MAX_BLOCK 4096
/* Engine limit on max_block; longer announced maxima are processed in chunks. */
#define CLV_PLUGIN_MAX_BLOCK_LIMIT 65536

/* What the separator should be: one of the registry's separators or a model file,
 * at an operating point, in a realtime or an offline (waiting) engine. */
typedef struct {
    int use_path;  /* 1: path names a .clvm file; 0: sep_index selects */
    int sep_index; /* index among the registry's separators */
    int op;        /* ClvOperatingPoint */
    int offline;   /* engine mode: 1 = CLV_ENGINE_OFFLINE */
    char path[CLV_PLUGIN_PATH_MAX];
} ClvPluginModel;

/* Worker requests (run -> work). Sent with only the used part of path. */
typedef enum {
    CLV_WORK_LOAD = 1, /* create the separator of `model`, swap it in */
    CLV_WORK_FREE_ENGINE,
    CLV_WORK_COLLECT,  /* free pipelines the audio thread has retired */
    CLV_WORK_LOG,      /* format and log a message the audio thread raised */
} ClvWorkKind;

/* Messages the audio thread raises; logged from the worker (never from run()). */
typedef enum {
    CLV_MSG_PORT_NAN = 0,   /* a = port: non-finite value ignored */
    CLV_MSG_PORT_RANGE,     /* a = port, f = value: clamped */
    CLV_MSG_BLOCK_TOO_LONG, /* a = frames, b = announced maximum */
    CLV_MSG_ATOM_BAD_VALUE, /* a = atom type URID of a patch:Set value */
    CLV_MSG_PATH_TOO_LONG,  /* a = length */
    CLV_MSG_NOTIFY_FULL,    /* notify port too small for the events */
    CLV_MSG_NO_WORKER,      /* a swap could not be scheduled (queue full) */
    CLV_MSG_COUNT
} ClvPluginMsg;

typedef struct {
    uint32_t kind;   /* ClvWorkKind */
    uint32_t serial; /* LOAD: matches the response to the request */
    ClvEngine *engine; /* LOAD: the running engine; FREE_ENGINE/COLLECT: the target */
    int engine_offline; /* LOAD: mode of `engine` */
    int msg;            /* LOG: ClvPluginMsg */
    int a, b;
    float f;
    ClvPluginModel model; /* LOAD; path is cut after its NUL when sent */
} ClvPluginWork;

/* Worker responses (work -> work_response). */
typedef enum {
    CLV_RESP_LOADED = 1, /* separator handed to the running engine */
    CLV_RESP_NEW_ENGINE, /* a new engine (mode change) is ready in `engine` */
    CLV_RESP_FAILED,     /* nothing changed; the reason was logged */
} ClvRespKind;

typedef struct {
    uint32_t kind;
    uint32_t serial;
    ClvEngine *engine;
    ClvPluginModel model;
} ClvPluginResp;

/* Largest message either way (a whole struct; sent messages may be shorter). */
#define CLV_PLUGIN_MSG_MAX \
    (sizeof(ClvPluginWork) > sizeof(ClvPluginResp) ? sizeof(ClvPluginWork) : sizeof(ClvPluginResp))

typedef struct {
    LV2_URID atom_Path, atom_String, atom_Float, atom_Double, atom_Int, atom_Long, atom_Bool,
        atom_Sequence, atom_Object, atom_Blank, atom_URID;
    LV2_URID patch_Set, patch_Get, patch_property, patch_value;
    LV2_URID clv_model, clv_separator, clv_vocal_level, clv_accomp_level, clv_op;
    LV2_URID clv_TagEvent, clv_tag_index, clv_tag_label, clv_onset, clv_offset, clv_score;
    LV2_URID bufsz_maxBlockLength, bufsz_nominalBlockLength;
} ClvPluginUris;

/* What state save() reads while run() may be running: published by the audio
 * thread under a sequence lock (writer never waits; reader retries). */
typedef struct {
    float vocal_db, accomp_db;
    ClvPluginModel model; /* the separator actually running */
} ClvPluginSnapshot;

/* Fallback worker for hosts without worker:schedule (lv2apply, lv2bench): one
 * thread and two SPSC rings of ClvPluginMsgSlot. */
typedef struct {
    uint32_t size;
    union {
        ClvPluginWork work;
        ClvPluginResp resp;
        unsigned char bytes[CLV_PLUGIN_MSG_MAX];
    } u;
} ClvPluginMsgSlot;

typedef struct {
    ClvRing *req;  /* audio -> thread */
    ClvRing *resp; /* thread -> audio */
    sem_t wake;
    pthread_t thread;
    atomic_int quit;
    int started;
} ClvPluginOwnWorker;

typedef struct ClvPlugin {
    /* ---- host, set at instantiate (read-only afterwards) ---- */
    LV2_URID_Map *map; /* NULL: no atoms, no state keys */
    LV2_Log_Logger logger;
    LV2_Worker_Schedule *schedule; /* NULL: own worker */
    ClvPluginUris uris;
    ClvLog clog; /* library logging into the LV2 log (non-RT threads only) */
    int rate;
    int max_block;     /* frames per engine call */
    int nominal_block; /* 0 when unknown */
    int n_separators;
    int sep_registry[64]; /* enumeration value -> registry index */
    ClvPluginOwnWorker own;
    int own_worker;

    /* ---- audio thread ---- */
    const float *in[2];
    float *mix[2], *voc[2], *acc[2];
    const LV2_Atom_Sequence *control;
    LV2_Atom_Sequence *notify;
    float *ctl[CLV_PORT_COUNT]; /* control ports by index (NULL for others) */

    ClvEngine *engine;
    int engine_offline;
    ClvEngine *to_free; /* replaced engine whose FREE request is still to be queued */
    float *scratch[2]; /* input copy, max_block frames each */
    float *sink;       /* output for unconnected channels */
    float *mono;       /* tagger feed */
    LV2_Atom_Forge forge;

    float last_port[CLV_PORT_COUNT]; /* last value seen on each input control */
    float vocal_db, accomp_db;
    int enabled;
    ClvPluginModel desired;   /* what ports, patch:Set and state ask for */
    ClvPluginModel requested; /* last one sent to the worker (or loaded inline) */
    ClvPluginModel active;    /* what runs */
    int in_flight;            /* a LOAD is with the worker */
    uint32_t serial;
    int collect_pending;
    int notify_model;         /* send the model path on notify */
    unsigned restored_mask;   /* ports whose value came from restore() (bit = port) */
    uint64_t frames;
    uint64_t misses_base; /* misses of engines replaced so far */
    uint64_t last_msg[CLV_MSG_COUNT][CLV_PORT_COUNT]; /* frames + 1 when last raised, 0 never */
    int tag_index;
    float tag_conf;

    /* ---- worker / control thread ---- */
    pthread_mutex_t ctrl_lock; /* serialises engine control (work(), offline inline loads) */
    _Atomic(ClvEngine *) pending_engine; /* created by work, not yet adopted */

    /* ---- tagging ---- */
    ClvTagRunner *tags; /* NULL when no tagger model is available */

    /* ---- state snapshot ---- */
    atomic_uint snap_seq;
    ClvPluginSnapshot snap;
} ClvPlugin;

/* clv_plugin.c (non-RT unless noted) */

/* Creates an instance. Thread: non-RT (LV2 instantiation class). */
ClvPlugin *clv_plugin_new(double rate, const char *bundle_path, const LV2_Feature *const *features);
/* Frees everything; NULL is a no-op. Thread: non-RT. */
void clv_plugin_free(ClvPlugin *p);
/* Clears audio history before processing restarts. Thread: non-RT (not with run). */
void clv_plugin_activate(ClvPlugin *p);
/* The worker method. Thread: worker. */
LV2_Worker_Status clv_plugin_work(ClvPlugin *p, LV2_Worker_Respond_Function respond,
                                  LV2_Worker_Respond_Handle handle, uint32_t size,
                                  const void *data);
/* Handles a LOAD request in the calling thread, filling `resp`. Used by work() and,
 * in offline mode only, by run() itself. Thread: worker, or audio when offline. */
void clv_plugin_do_load(ClvPlugin *p, const ClvPluginWork *w, ClvPluginResp *resp);
/* State interface. Thread: non-RT (save may run beside run()). */
LV2_State_Status clv_plugin_save(ClvPlugin *p, LV2_State_Store_Function store,
                                 LV2_State_Handle handle, uint32_t flags,
                                 const LV2_Feature *const *features);
LV2_State_Status clv_plugin_restore(ClvPlugin *p, LV2_State_Retrieve_Function retrieve,
                                    LV2_State_Handle handle, uint32_t flags,
                                    const LV2_Feature *const *features);
/* Registry name of enumeration value i, or NULL. Thread: any. */
const char *clv_plugin_separator_name(const ClvPlugin *p, int i);

/* clv_plugin_rt.c (audio thread) */

/* Thread: audio. */
CLV_RT void clv_plugin_connect_port(ClvPlugin *p, uint32_t port, void *data);
/* Processes n frames (any n, also 0 and above the announced maximum). Thread: audio. */
CLV_RT void clv_plugin_run(ClvPlugin *p, uint32_t n);
/* Applies a worker response. Thread: audio. */
CLV_RT LV2_Worker_Status clv_plugin_work_response(ClvPlugin *p, uint32_t size, const void *body);

#endif
