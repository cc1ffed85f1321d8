/* SPDX-License-Identifier: ISC */
/* The plugin's setup and worker half: instantiate, the worker method, state,
 * logging. Nothing here runs on the audio thread, except clv_plugin_do_load() in
 * offline mode, where run() is allowed to wait.
 *
 * Separator changes follow the LV2 worker pattern (eg-sampler): run() sends a LOAD
 * request, work() creates and warms the separator (clv_separator_create) and hands
 * it to the running engine with clv_engine_set_separator(): the worker thread is
 * the engine's control thread, and the engine swaps at a block boundary on the
 * audio thread. Retired pipelines come back to a later COLLECT request. A change of
 * engine mode (offline render on/off) builds a whole new engine here, which
 * work_response() adopts; the old engine is freed by a FREE_ENGINE request.
 * A failed load (missing or corrupt file, wrong rate) is logged here and changes
 * nothing: the previous separator keeps running.
 *
 * Hosts without worker:schedule (lv2apply, lv2bench) get the same protocol on a
 * thread of our own, fed through two SPSC rings. */
#include "clv_plugin.h"

#include <errno.h>
#include <math.h>
#include <sched.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <lv2/atom/util.h>
#include <lv2/buf-size/buf-size.h>
#include <lv2/options/options.h>
#include <lv2/patch/patch.h>

static const char *const port_symbol[CLV_PORT_COUNT] = {
    "in_l", "in_r", "out_l", "out_r", "vocals_l", "vocals_r", "accomp_l", "accomp_r",
    "control", "notify", "vocal_db", "accomp_db", "separator", "op", "enabled", "offline",
    "latency", "misses", "load", "tag", "tag_conf",
};

/* ---- logging -------------------------------------------------------------- */

static void log_bridge(void *user, ClvLogLevel level, const char *msg)
{
    ClvPlugin *p = user;
    switch (level) {
    case CLV_LOG_ERROR: lv2_log_error(&p->logger, "cleave: %s\n", msg); break;
    case CLV_LOG_WARNING: lv2_log_warning(&p->logger, "cleave: %s\n", msg); break;
    case CLV_LOG_INFO: lv2_log_note(&p->logger, "cleave: %s\n", msg); break;
    default: lv2_log_trace(&p->logger, "cleave: %s\n", msg); break;
    }
}

const char *clv_plugin_separator_name(const ClvPlugin *p, int i)
{
    if (i < 0 || i >= p->n_separators) return NULL;
    const ClvModelEntry *e = clv_registry_get(p->sep_registry[i]);
    return e ? e->name : NULL;
}

static const char *model_name(const ClvPlugin *p, const ClvPluginModel *m)
{
    if (m->use_path) return m->path;
    const char *n = clv_plugin_separator_name(p, m->sep_index);
    return n ? n : "?";
}

/* ---- the worker method ---------------------------------------------------- */

static ClvEngineConfig engine_config(const ClvPlugin *p, int offline)
{
    ClvEngineConfig cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.sample_rate = p->rate;
    cfg.channels = 2;
    cfg.max_block = p->max_block;
    /* headroom for the worker: one nominal host period when known; otherwise the
     * engine uses max_block */
    cfg.slack = p->nominal_block > 0 && p->nominal_block <= p->max_block ? p->nominal_block : 0;
    cfg.mode = offline ? CLV_ENGINE_OFFLINE : CLV_ENGINE_REALTIME;
    cfg.log = p->clog;
    return cfg;
}

void clv_plugin_do_load(ClvPlugin *p, const ClvPluginWork *w, ClvPluginResp *resp)
{
    memset(resp, 0, offsetof(ClvPluginResp, model));
    resp->model = w->model;
    resp->serial = w->serial;
    resp->kind = CLV_RESP_FAILED;
    const ClvPluginModel *m = &w->model;

    pthread_mutex_lock(&p->ctrl_lock);
    if (w->engine) clv_engine_collect(w->engine);
    const char *name = m->use_path ? m->path : clv_plugin_separator_name(p, m->sep_index);
    ClvSeparator *sep = NULL;
    ClvStatus st = CLV_ERR_NOT_FOUND;
    if (!name || !name[0]) {
        clv_log(&p->clog, CLV_LOG_ERROR, "separator %d does not exist; keeping the current one",
                m->sep_index);
    } else {
        st = clv_separator_create(name, p->rate, 2, m->op ? CLV_OP_LOW_LATENCY : CLV_OP_QUALITY,
                                  &p->clog, &sep);
        if (st != CLV_OK)
            clv_log(&p->clog, CLV_LOG_ERROR, "%s: cannot load (%s); keeping the current separator",
                    name, clv_strerror(st));
    }
    if (st == CLV_OK && (!w->engine || m->offline != w->engine_offline)) {
        ClvEngineConfig cfg = engine_config(p, m->offline);
        ClvEngine *e = NULL;
        st = clv_engine_new(&cfg, sep, &e); /* owns sep from here */
        if (st == CLV_OK) {
            atomic_store(&p->pending_engine, e);
            resp->engine = e;
            resp->kind = CLV_RESP_NEW_ENGINE;
            clv_log(&p->clog, CLV_LOG_INFO, "%s (%s) in a new %s engine, latency %d frames", name,
                    m->op ? "low latency" : "quality", m->offline ? "offline" : "realtime",
                    clv_engine_latency(e));
        } else {
            clv_log(&p->clog, CLV_LOG_ERROR, "%s: cannot start the engine (%s)", name,
                    clv_strerror(st));
        }
    } else if (st == CLV_OK) {
        st = clv_engine_set_separator(w->engine, sep); /* owns sep from here */
        if (st == CLV_OK) {
            resp->kind = CLV_RESP_LOADED;
            clv_log(&p->clog, CLV_LOG_INFO, "%s (%s) loaded", name,
                    m->op ? "low latency" : "quality");
        } else {
            clv_log(&p->clog, CLV_LOG_ERROR, "%s: swap refused (%s); keeping the current one", name,
                    clv_strerror(st));
        }
    }
    pthread_mutex_unlock(&p->ctrl_lock);
}

static void log_message(ClvPlugin *p, const ClvPluginWork *w)
{
    const char *sym = w->a >= 0 && w->a < CLV_PORT_COUNT ? port_symbol[w->a] : "?";
    switch (w->msg) {
    case CLV_MSG_PORT_NAN:
        clv_log(&p->clog, CLV_LOG_WARNING, "control port %s got a non-finite value; ignored", sym);
        break;
    case CLV_MSG_PORT_RANGE:
        clv_log(&p->clog, CLV_LOG_WARNING, "control port %s value %g is out of range; clamped", sym,
                (double)w->f);
        break;
    case CLV_MSG_BLOCK_TOO_LONG:
        clv_log(&p->clog, CLV_LOG_WARNING,
                "host ran a block of %d frames, above the announced maximum of %d; "
                "processing it in pieces",
                w->a, w->b);
        break;
    case CLV_MSG_ATOM_BAD_VALUE:
        clv_log(&p->clog, CLV_LOG_WARNING,
                "patch:Set of the model file with a value that is not an atom:Path or "
                "atom:String (type %d); ignored",
                w->a);
        break;
    case CLV_MSG_PATH_TOO_LONG:
        clv_log(&p->clog, CLV_LOG_WARNING,
                "model path of %d bytes is longer than %d or not terminated; ignored", w->a,
                CLV_PLUGIN_PATH_MAX - 1);
        break;
    case CLV_MSG_NOTIFY_FULL:
        clv_log(&p->clog, CLV_LOG_WARNING, "notify port buffer too small; tag events dropped");
        break;
    case CLV_MSG_NO_WORKER:
        clv_log(&p->clog, CLV_LOG_WARNING, "worker queue full; separator change postponed");
        break;
    default: break;
    }
}

LV2_Worker_Status clv_plugin_work(ClvPlugin *p, LV2_Worker_Respond_Function respond,
                                  LV2_Worker_Respond_Handle handle, uint32_t size,
                                  const void *data)
{
    /* the message is ours, but check its size before trusting its fields */
    ClvPluginWork w;
    if (!data || size < offsetof(ClvPluginWork, model) || size > sizeof w)
        return LV2_WORKER_ERR_UNKNOWN;
    memset(&w, 0, sizeof w);
    memcpy(&w, data, size);
    w.model.path[CLV_PLUGIN_PATH_MAX - 1] = '\0';
    switch (w.kind) {
    case CLV_WORK_LOAD: {
        ClvPluginResp r;
        clv_plugin_do_load(p, &w, &r);
        const uint32_t n = (uint32_t)(offsetof(ClvPluginResp, model.path) + strlen(r.model.path) + 1);
        if (respond(handle, n, &r) != LV2_WORKER_SUCCESS && r.kind == CLV_RESP_NEW_ENGINE) {
            /* the audio thread will never adopt it */
            ClvEngine *e = atomic_exchange(&p->pending_engine, NULL);
            clv_engine_free(e);
        }
        break;
    }
    case CLV_WORK_FREE_ENGINE:
        pthread_mutex_lock(&p->ctrl_lock);
        clv_engine_free(w.engine);
        pthread_mutex_unlock(&p->ctrl_lock);
        break;
    case CLV_WORK_COLLECT:
        pthread_mutex_lock(&p->ctrl_lock);
        if (w.engine) clv_engine_collect(w.engine);
        pthread_mutex_unlock(&p->ctrl_lock);
        break;
    case CLV_WORK_LOG: log_message(p, &w); break;
    default: return LV2_WORKER_ERR_UNKNOWN;
    }
    return LV2_WORKER_SUCCESS;
}

/* ---- own worker (hosts without worker:schedule) ---------------------------- */

static LV2_Worker_Status own_respond(LV2_Worker_Respond_Handle h, uint32_t size, const void *data)
{
    ClvPlugin *p = h;
    if (size > CLV_PLUGIN_MSG_MAX) return LV2_WORKER_ERR_UNKNOWN;
    ClvPluginMsgSlot *s = clv_ring_write_begin(p->own.resp);
    if (!s) return LV2_WORKER_ERR_NO_SPACE;
    s->size = size;
    memcpy(s->u.bytes, data, size);
    clv_ring_write_commit(p->own.resp);
    return LV2_WORKER_SUCCESS;
}

static void *own_worker_main(void *arg)
{
    ClvPlugin *p = arg;
    while (!atomic_load_explicit(&p->own.quit, memory_order_acquire)) {
        while (sem_wait(&p->own.wake) != 0 && errno == EINTR) {
        }
        const ClvPluginMsgSlot *s;
        while ((s = clv_ring_read_begin(p->own.req)) != NULL) {
            clv_plugin_work(p, own_respond, p, s->size, s->u.bytes);
            clv_ring_read_commit(p->own.req);
        }
    }
    return NULL;
}

static ClvStatus own_worker_start(ClvPlugin *p)
{
    ClvStatus st = clv_ring_new(sizeof(ClvPluginMsgSlot), 32, &p->own.req);
    if (st == CLV_OK) st = clv_ring_new(sizeof(ClvPluginMsgSlot), 32, &p->own.resp);
    if (st != CLV_OK) return st;
    if (sem_init(&p->own.wake, 0, 0) != 0) return CLV_ERR_THREAD;
    atomic_init(&p->own.quit, 0);
    if (pthread_create(&p->own.thread, NULL, own_worker_main, p) != 0) {
        sem_destroy(&p->own.wake);
        return CLV_ERR_THREAD;
    }
    p->own.started = 1;
    return CLV_OK;
}

static void own_worker_stop(ClvPlugin *p)
{
    if (p->own.started) {
        atomic_store_explicit(&p->own.quit, 1, memory_order_release);
        sem_post(&p->own.wake);
        pthread_join(p->own.thread, NULL);
        sem_destroy(&p->own.wake);
        p->own.started = 0;
    }
    clv_ring_free(p->own.req);
    clv_ring_free(p->own.resp);
    p->own.req = p->own.resp = NULL;
}

/* ---- instantiate / cleanup -------------------------------------------------- */

static void map_uris(ClvPlugin *p)
{
    LV2_URID_Map *m = p->map;
    ClvPluginUris *u = &p->uris;
    u->atom_Path = m->map(m->handle, LV2_ATOM__Path);
    u->atom_String = m->map(m->handle, LV2_ATOM__String);
    u->atom_Float = m->map(m->handle, LV2_ATOM__Float);
    u->atom_Double = m->map(m->handle, LV2_ATOM__Double);
    u->atom_Int = m->map(m->handle, LV2_ATOM__Int);
    u->atom_Long = m->map(m->handle, LV2_ATOM__Long);
    u->atom_Bool = m->map(m->handle, LV2_ATOM__Bool);
    u->atom_Sequence = m->map(m->handle, LV2_ATOM__Sequence);
    u->atom_Object = m->map(m->handle, LV2_ATOM__Object);
    u->atom_Blank = m->map(m->handle, LV2_ATOM__Blank);
    u->atom_URID = m->map(m->handle, LV2_ATOM__URID);
    u->patch_Set = m->map(m->handle, LV2_PATCH__Set);
    u->patch_Get = m->map(m->handle, LV2_PATCH__Get);
    u->patch_property = m->map(m->handle, LV2_PATCH__property);
    u->patch_value = m->map(m->handle, LV2_PATCH__value);
    u->clv_model = m->map(m->handle, CLV_PLUGIN_NS "model");
    u->clv_separator = m->map(m->handle, CLV_PLUGIN_NS "separator");
    u->clv_vocal_level = m->map(m->handle, CLV_PLUGIN_NS "vocalLevel");
    u->clv_accomp_level = m->map(m->handle, CLV_PLUGIN_NS "accompLevel");
    u->clv_op = m->map(m->handle, CLV_PLUGIN_NS "operatingPoint");
    u->clv_TagEvent = m->map(m->handle, CLV_PLUGIN_NS "TagEvent");
    u->clv_tag_index = m->map(m->handle, CLV_PLUGIN_NS "tagIndex");
    u->clv_tag_label = m->map(m->handle, CLV_PLUGIN_NS "tagLabel");
    u->clv_onset = m->map(m->handle, CLV_PLUGIN_NS "onset");
    u->clv_offset = m->map(m->handle, CLV_PLUGIN_NS "offset");
    u->clv_score = m->map(m->handle, CLV_PLUGIN_NS "score");
    u->bufsz_maxBlockLength = m->map(m->handle, LV2_BUF_SIZE__maxBlockLength);
    u->bufsz_nominalBlockLength = m->map(m->handle, LV2_BUF_SIZE__nominalBlockLength);
}

/* An integer option value of any integer atom type; -1 when unusable. */
static long option_int(const ClvPlugin *p, const LV2_Options_Option *o)
{
    if (!o->value) return -1;
    if (o->type == p->uris.atom_Int && o->size == sizeof(int32_t)) return *(const int32_t *)o->value;
    if (o->type == p->uris.atom_Long && o->size == sizeof(int64_t)) {
        int64_t v = *(const int64_t *)o->value;
        return v > 0 && v < (1 << 30) ? (long)v : -1;
    }
    return -1;
}

static void read_options(ClvPlugin *p, const LV2_Options_Option *opts)
{
    for (const LV2_Options_Option *o = opts; o && o->key; o++) {
        if (o->context != LV2_OPTIONS_INSTANCE) continue;
        long v = option_int(p, o);
        if (o->key == p->uris.bufsz_maxBlockLength) {
            if (v < 1) {
                clv_log(&p->clog, CLV_LOG_WARNING, "ignoring maxBlockLength option (%ld)", v);
                continue;
            }
            p->max_block = v > CLV_PLUGIN_MAX_BLOCK_LIMIT ? CLV_PLUGIN_MAX_BLOCK_LIMIT : (int)v;
        } else if (o->key == p->uris.bufsz_nominalBlockLength) {
            if (v >= 1 && v <= CLV_PLUGIN_MAX_BLOCK_LIMIT) p->nominal_block = (int)v;
        }
    }
    if (p->nominal_block > p->max_block) p->nominal_block = p->max_block;
}

static void start_tagger(ClvPlugin *p)
{
    char path[CLV_PLUGIN_PATH_MAX];
    if (clv_tagger_find_default(path, sizeof path) != CLV_OK) {
        clv_log(&p->clog, CLV_LOG_INFO,
                "no tagger model (%s) found; the tag outputs stay at none (-1)",
                CLV_TAGGER_DEFAULT_FILE);
        return;
    }
    ClvStatus st = clv_tag_runner_new(path, p->rate, 4.0, &p->clog, &p->tags);
    if (st != CLV_OK) {
        p->tags = NULL;
        clv_log(&p->clog, CLV_LOG_WARNING, "%s: tagging off (%s)", path, clv_strerror(st));
    }
}

ClvPlugin *clv_plugin_new(double rate, const char *bundle_path, const LV2_Feature *const *features)
{
    (void)bundle_path;
    ClvPlugin *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    if (pthread_mutex_init(&p->ctrl_lock, NULL) != 0) {
        free(p);
        return NULL;
    }
    atomic_init(&p->pending_engine, NULL);
    atomic_init(&p->snap_seq, 0u);

    LV2_Log_Log *log = NULL;
    const LV2_Options_Option *opts = NULL;
    for (int i = 0; features && features[i]; i++) {
        const LV2_Feature *f = features[i];
        if (!f->URI) continue;
        if (!strcmp(f->URI, LV2_URID__map)) p->map = f->data;
        else if (!strcmp(f->URI, LV2_WORKER__schedule)) p->schedule = f->data;
        else if (!strcmp(f->URI, LV2_LOG__log)) log = f->data;
        else if (!strcmp(f->URI, LV2_OPTIONS__options)) opts = f->data;
    }
    if (p->map && !p->map->map) p->map = NULL;
    if (p->schedule && !p->schedule->schedule_work) p->schedule = NULL;
    /* without a URID map the logger falls back to stderr */
    lv2_log_logger_init(&p->logger, p->map, p->map ? log : NULL);
    p->clog.fn = log_bridge;
    p->clog.user = p;

    p->max_block = CLV_PLUGIN_DEFAULT_MAX_BLOCK;
    if (p->map) {
        map_uris(p);
        lv2_atom_forge_init(&p->forge, p->map);
        read_options(p, opts);
    }
    if (!(rate >= 8000.0 && rate <= 192000.0) || rate != floor(rate)) {
        clv_log(&p->clog, CLV_LOG_ERROR, "sample rate %g Hz is not supported (8000..192000, whole Hz)",
                rate);
        clv_plugin_free(p);
        return NULL;
    }
    p->rate = (int)rate;

    for (int i = 0; i < clv_registry_count() && p->n_separators < 64; i++) {
        const ClvModelEntry *e = clv_registry_get(i);
        if (e && e->kind == CLV_KIND_SEPARATOR) p->sep_registry[p->n_separators++] = i;
    }
    int def = 0;
    for (int i = 0; i < p->n_separators; i++)
        if (!strcmp(clv_plugin_separator_name(p, i), clv_registry_default_separator())) def = i;

    for (int c = 0; c < 2; c++) p->scratch[c] = calloc((size_t)p->max_block, sizeof(float));
    p->sink = calloc((size_t)p->max_block, sizeof(float));
    p->mono = calloc((size_t)p->max_block, sizeof(float));
    if (!p->scratch[0] || !p->scratch[1] || !p->sink || !p->mono) {
        clv_plugin_free(p);
        return NULL;
    }

    /* the engine starts with the default separator (auto: the hourglass, or the
     * training-free centre when its file is missing, so always available) at the
     * quality point, realtime; run() asks the worker for whatever the ports select */
    ClvPluginModel *m = &p->active;
    m->sep_index = def;
    m->op = CLV_OP_QUALITY;
    ClvSeparator *sep = NULL;
    ClvStatus st = clv_separator_create(clv_plugin_separator_name(p, def), p->rate, 2,
                                        CLV_OP_QUALITY, &p->clog, &sep);
    if (st == CLV_OK) {
        ClvEngineConfig cfg = engine_config(p, 0);
        st = clv_engine_new(&cfg, sep, &p->engine);
    }
    if (st != CLV_OK) {
        clv_log(&p->clog, CLV_LOG_ERROR, "cannot start the engine: %s", clv_strerror(st));
        clv_plugin_free(p);
        return NULL;
    }
    p->requested = p->active;
    p->desired = p->active;
    p->snap.model = p->active;
    p->vocal_db = p->accomp_db = 0.0f;
    p->enabled = 1;
    p->tag_index = -1;
    for (int i = 0; i < CLV_PORT_COUNT; i++) p->last_port[i] = NAN;

    if (!p->schedule) {
        st = own_worker_start(p);
        if (st != CLV_OK) {
            clv_log(&p->clog, CLV_LOG_ERROR, "cannot start the worker thread: %s", clv_strerror(st));
            clv_plugin_free(p);
            return NULL;
        }
        p->own_worker = 1;
    }
    start_tagger(p);
    return p;
}

void clv_plugin_activate(ClvPlugin *p)
{
    /* not concurrent with run(): the audio-thread reset is safe here */
    clv_engine_reset(p->engine);
}

void clv_plugin_free(ClvPlugin *p)
{
    if (!p) return;
    own_worker_stop(p);
    clv_tag_runner_free(p->tags);
    clv_engine_free(atomic_exchange(&p->pending_engine, NULL));
    clv_engine_free(p->to_free);
    clv_engine_free(p->engine);
    for (int c = 0; c < 2; c++) free(p->scratch[c]);
    free(p->sink);
    free(p->mono);
    pthread_mutex_destroy(&p->ctrl_lock);
    free(p);
}

/* ---- state ------------------------------------------------------------------ */

static const void *feature_data(const LV2_Feature *const *features, const char *uri)
{
    for (int i = 0; features && features[i]; i++)
        if (features[i]->URI && !strcmp(features[i]->URI, uri)) return features[i]->data;
    return NULL;
}

static void read_snapshot(ClvPlugin *p, ClvPluginSnapshot *out)
{
    for (;;) {
        unsigned s1 = atomic_load_explicit(&p->snap_seq, memory_order_acquire);
        if (s1 & 1u) {
            sched_yield();
            continue;
        }
        memcpy(out, &p->snap, sizeof *out);
        atomic_thread_fence(memory_order_acquire);
        unsigned s2 = atomic_load_explicit(&p->snap_seq, memory_order_relaxed);
        if (s1 == s2) return;
    }
}

LV2_State_Status clv_plugin_save(ClvPlugin *p, LV2_State_Store_Function store,
                                 LV2_State_Handle handle, uint32_t flags,
                                 const LV2_Feature *const *features)
{
    (void)flags;
    if (!p->map) return LV2_STATE_ERR_NO_FEATURE;
    ClvPluginSnapshot s;
    read_snapshot(p, &s);
    const ClvPluginUris *u = &p->uris;
    const uint32_t pod = LV2_STATE_IS_POD | LV2_STATE_IS_PORTABLE;
    store(handle, u->clv_vocal_level, &s.vocal_db, sizeof(float), u->atom_Float, pod);
    store(handle, u->clv_accomp_level, &s.accomp_db, sizeof(float), u->atom_Float, pod);
    int32_t op = s.model.op;
    store(handle, u->clv_op, &op, sizeof op, u->atom_Int, pod);
    const char *name = clv_plugin_separator_name(p, s.model.sep_index);
    if (!s.model.use_path && name) {
        store(handle, u->clv_separator, name, strlen(name) + 1, u->atom_String, pod);
    } else if (s.model.use_path) {
        s.model.path[CLV_PLUGIN_PATH_MAX - 1] = '\0';
        const LV2_State_Map_Path *mp = feature_data(features, LV2_STATE__mapPath);
        const LV2_State_Free_Path *fp = feature_data(features, LV2_STATE__freePath);
        char *apath = mp ? mp->abstract_path(mp->handle, s.model.path) : NULL;
        const char *v = apath ? apath : s.model.path;
        store(handle, u->clv_model, v, strlen(v) + 1, u->atom_Path, pod);
        if (apath) {
            if (fp) fp->free_path(fp->handle, apath);
            else free(apath);
        }
    }
    return LV2_STATE_SUCCESS;
}

/* A stored number of any numeric atom type; 0 when absent or unusable. */
static int retrieve_number(ClvPlugin *p, LV2_State_Retrieve_Function retrieve,
                           LV2_State_Handle handle, LV2_URID key, const char *what, double *out)
{
    size_t size = 0;
    uint32_t type = 0, fl = 0;
    const void *v = retrieve(handle, key, &size, &type, &fl);
    if (!v) return 0;
    const ClvPluginUris *u = &p->uris;
    double d;
    if (type == u->atom_Float && size == sizeof(float)) d = *(const float *)v;
    else if (type == u->atom_Double && size == sizeof(double)) d = *(const double *)v;
    else if (type == u->atom_Int && size == sizeof(int32_t)) d = *(const int32_t *)v;
    else if (type == u->atom_Long && size == sizeof(int64_t)) d = (double)*(const int64_t *)v;
    else {
        clv_log(&p->clog, CLV_LOG_WARNING, "state: %s is not a number (type %u, %zu bytes); ignored",
                what, type, size);
        return 0;
    }
    if (!isfinite(d)) {
        clv_log(&p->clog, CLV_LOG_WARNING, "state: %s is not finite; ignored", what);
        return 0;
    }
    *out = d;
    return 1;
}

/* A stored string of type String or Path, NUL-terminated within its size. */
static const char *retrieve_string(ClvPlugin *p, LV2_State_Retrieve_Function retrieve,
                                   LV2_State_Handle handle, LV2_URID key, const char *what)
{
    size_t size = 0;
    uint32_t type = 0, fl = 0;
    const char *v = retrieve(handle, key, &size, &type, &fl);
    if (!v) return NULL;
    if ((type != p->uris.atom_String && type != p->uris.atom_Path) || size == 0
        || memchr(v, '\0', size) == NULL) {
        clv_log(&p->clog, CLV_LOG_WARNING, "state: %s is not a terminated string (type %u); ignored",
                what, type);
        return NULL;
    }
    return v;
}

static float clamp_db(double d)
{
    return (float)(d < CLV_PLUGIN_DB_MIN ? CLV_PLUGIN_DB_MIN : d > CLV_PLUGIN_DB_MAX ? CLV_PLUGIN_DB_MAX : d);
}

LV2_State_Status clv_plugin_restore(ClvPlugin *p, LV2_State_Retrieve_Function retrieve,
                                    LV2_State_Handle handle, uint32_t flags,
                                    const LV2_Feature *const *features)
{
    (void)flags;
    if (!p->map) return LV2_STATE_ERR_NO_FEATURE;
    /* restore() is not concurrent with run() (no threadSafeRestore): it sets what
     * run() should do; run() swaps through the worker while audio keeps flowing */
    const ClvPluginUris *u = &p->uris;
    double d;
    if (retrieve_number(p, retrieve, handle, u->clv_vocal_level, "vocal level", &d)) {
        p->vocal_db = clamp_db(d);
        p->restored_mask |= 1u << CLV_PORT_VOCAL_DB;
    }
    if (retrieve_number(p, retrieve, handle, u->clv_accomp_level, "accompaniment level", &d)) {
        p->accomp_db = clamp_db(d);
        p->restored_mask |= 1u << CLV_PORT_ACCOMP_DB;
    }
    if (retrieve_number(p, retrieve, handle, u->clv_op, "operating point", &d)) {
        p->desired.op = d >= 0.5 ? CLV_OP_LOW_LATENCY : CLV_OP_QUALITY;
        p->restored_mask |= 1u << CLV_PORT_OP;
    }
    const char *name = retrieve_string(p, retrieve, handle, u->clv_separator, "separator");
    if (name) {
        int found = -1;
        for (int i = 0; i < p->n_separators; i++)
            if (!strcmp(clv_plugin_separator_name(p, i), name)) found = i;
        if (found < 0) {
            clv_log(&p->clog, CLV_LOG_WARNING,
                    "state: separator '%.64s' is not in this build; keeping %s", name,
                    model_name(p, &p->desired));
        } else {
            p->desired.sep_index = found;
            p->desired.use_path = 0;
            p->restored_mask |= 1u << CLV_PORT_SEPARATOR;
        }
    }
    const char *apath = retrieve_string(p, retrieve, handle, u->clv_model, "model file");
    if (apath) {
        const LV2_State_Map_Path *mp = feature_data(features, LV2_STATE__mapPath);
        const LV2_State_Free_Path *fp = feature_data(features, LV2_STATE__freePath);
        char *abs = mp ? mp->absolute_path(mp->handle, apath) : NULL;
        const char *path = abs ? abs : apath;
        const size_t len = strlen(path);
        if (len == 0 || len >= CLV_PLUGIN_PATH_MAX) {
            clv_log(&p->clog, CLV_LOG_WARNING, "state: model path of %zu bytes ignored", len);
        } else {
            memcpy(p->desired.path, path, len + 1);
            p->desired.use_path = 1;
            p->restored_mask |= 1u << CLV_PORT_SEPARATOR;
        }
        if (abs) {
            if (fp) fp->free_path(fp->handle, abs);
            else free(abs);
        }
    }
    return LV2_STATE_SUCCESS;
}
