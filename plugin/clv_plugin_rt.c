/* SPDX-License-Identifier: ISC */
/* The plugin's audio-thread half: connect_port, run and work_response.
 *
 * Nothing here allocates, locks, waits or does I/O in realtime mode. Controls are
 * read every run(), validated and clamped (a problem is counted and reported by a
 * LOG request that the worker formats, never logged here). A separator change is
 * one LOAD request to the worker at a time; while it is out, further changes only
 * update `desired`, and the next one goes when the response is in, so requests
 * never pile up. Blocks longer than the engine's max_block are cut into pieces.
 *
 * Offline render (the `offline` port) is the one mode that may wait: the engine
 * waits for its separator thread, and a separator change is loaded inline in run()
 * before the next sample, so the output equals `cleave separate` exactly. */
#include "clv_plugin.h"

#include <math.h>
#include <stddef.h>
#include <string.h>

#include <lv2/atom/util.h>
#include <lv2/patch/patch.h>

/* Input control ranges (must match cleave.ttl.in). */
static const struct {
    float lo, hi;
} ctl_range[CLV_PORT_COUNT] = {
    [CLV_PORT_VOCAL_DB] = {CLV_PLUGIN_DB_MIN, CLV_PLUGIN_DB_MAX},
    [CLV_PORT_ACCOMP_DB] = {CLV_PLUGIN_DB_MIN, CLV_PLUGIN_DB_MAX},
    [CLV_PORT_SEPARATOR] = {0.0f, 0.0f}, /* upper bound is n_separators - 1 */
    [CLV_PORT_OP] = {0.0f, 1.0f},
    [CLV_PORT_ENABLED] = {0.0f, 1.0f},
    [CLV_PORT_OFFLINE] = {0.0f, 1.0f},
};

void clv_plugin_connect_port(ClvPlugin *p, uint32_t port, void *data)
{
    switch (port) {
    case CLV_PORT_IN_L: p->in[0] = data; break;
    case CLV_PORT_IN_R: p->in[1] = data; break;
    case CLV_PORT_MIX_L: p->mix[0] = data; break;
    case CLV_PORT_MIX_R: p->mix[1] = data; break;
    case CLV_PORT_VOCALS_L: p->voc[0] = data; break;
    case CLV_PORT_VOCALS_R: p->voc[1] = data; break;
    case CLV_PORT_ACCOMP_L: p->acc[0] = data; break;
    case CLV_PORT_ACCOMP_R: p->acc[1] = data; break;
    case CLV_PORT_CONTROL: p->control = data; break;
    case CLV_PORT_NOTIFY: p->notify = data; break;
    default:
        if (port < CLV_PORT_COUNT) p->ctl[port] = data;
        break;
    }
}

/* ---- messages to the worker ------------------------------------------------ */

static int schedule(ClvPlugin *p, const void *data, uint32_t size)
{
    if (p->schedule)
        return p->schedule->schedule_work(p->schedule->handle, size, data) == LV2_WORKER_SUCCESS;
    ClvPluginMsgSlot *s = clv_ring_write_begin(p->own.req);
    if (!s) return 0;
    s->size = size;
    memcpy(s->u.bytes, data, size);
    clv_ring_write_commit(p->own.req);
    sem_post(&p->own.wake); /* a futex wake, no lock */
    return 1;
}

/* Reports a problem through the worker, at most once a second per kind and port. */
static void raise_msg(ClvPlugin *p, ClvPluginMsg msg, int a, int b, float f)
{
    const int slot = msg == CLV_MSG_PORT_NAN || msg == CLV_MSG_PORT_RANGE ? a : 0;
    if (slot < 0 || slot >= CLV_PORT_COUNT) return;
    uint64_t *last = &p->last_msg[msg][slot];
    if (*last != 0 && p->frames + 1 - *last < (uint64_t)p->rate) return;
    ClvPluginWork w;
    memset(&w, 0, offsetof(ClvPluginWork, model));
    w.kind = CLV_WORK_LOG;
    w.msg = msg;
    w.a = a;
    w.b = b;
    w.f = f;
    if (schedule(p, &w, (uint32_t)offsetof(ClvPluginWork, model))) *last = p->frames + 1;
}

static int schedule_engine_op(ClvPlugin *p, ClvWorkKind kind, ClvEngine *e)
{
    ClvPluginWork w;
    memset(&w, 0, offsetof(ClvPluginWork, model));
    w.kind = kind;
    w.engine = e;
    return schedule(p, &w, (uint32_t)offsetof(ClvPluginWork, model));
}

/* ---- responses -------------------------------------------------------------- */

static int model_equal(const ClvPluginModel *a, const ClvPluginModel *b)
{
    if (a->use_path != b->use_path || a->op != b->op || a->offline != b->offline) return 0;
    if (a->use_path) return strcmp(a->path, b->path) == 0;
    return a->sep_index == b->sep_index;
}

static void copy_model(ClvPluginModel *dst, const ClvPluginModel *src)
{
    dst->use_path = src->use_path;
    dst->sep_index = src->sep_index;
    dst->op = src->op;
    dst->offline = src->offline;
    const size_t n = strnlen(src->path, CLV_PLUGIN_PATH_MAX - 1);
    memcpy(dst->path, src->path, n);
    dst->path[n] = '\0';
}

static void adopt_engine(ClvPlugin *p, ClvEngine *e, int offline)
{
    ClvEngine *expect = e;
    atomic_compare_exchange_strong(&p->pending_engine, &expect, NULL);
    ClvEngine *old = p->engine;
    ClvEngineStats st;
    clv_engine_get_stats(old, &st);
    p->misses_base += st.misses;
    p->engine = e;
    p->engine_offline = offline;
    /* the worker frees the old engine after anything still queued for it (FIFO);
     * when the queue is full, run() retries */
    if (!schedule_engine_op(p, CLV_WORK_FREE_ENGINE, old)) p->to_free = old;
}

static void apply_response(ClvPlugin *p, const ClvPluginResp *r)
{
    if (r->serial != p->serial) {
        /* not the request we wait for (cannot happen with one in flight, but an
         * engine must never leak) */
        if (r->kind == CLV_RESP_NEW_ENGINE && r->engine) {
            ClvEngine *expect = r->engine;
            atomic_compare_exchange_strong(&p->pending_engine, &expect, NULL);
            schedule_engine_op(p, CLV_WORK_FREE_ENGINE, r->engine);
        }
        return;
    }
    p->in_flight = 0;
    switch (r->kind) {
    case CLV_RESP_LOADED:
        copy_model(&p->active, &r->model);
        p->collect_pending = 1;
        break;
    case CLV_RESP_NEW_ENGINE:
        if (r->engine) {
            adopt_engine(p, r->engine, r->model.offline);
            copy_model(&p->active, &r->model);
        }
        break;
    default:
        /* failed: the previous separator keeps running. Drop the request (so an
         * operating-point change applies to the running separator instead of
         * retrying a missing file); a new port value or path asks again. */
        if (model_equal(&p->desired, &r->model)) copy_model(&p->desired, &p->active);
        copy_model(&p->requested, &p->active);
        break;
    }
    p->notify_model = 1;
}

LV2_Worker_Status clv_plugin_work_response(ClvPlugin *p, uint32_t size, const void *body)
{
    if (!body || size < offsetof(ClvPluginResp, model.path) + 1 || size > sizeof(ClvPluginResp))
        return LV2_WORKER_ERR_UNKNOWN;
    /* the host's copy may be unaligned: read through memcpy into our own struct
     * (a fixed-size stack copy, no allocation) */
    ClvPluginResp r;
    memcpy(&r, body, size);
    r.model.path[size - offsetof(ClvPluginResp, model.path) - 1] = '\0';
    apply_response(p, &r);
    return LV2_WORKER_SUCCESS;
}

/* ---- controls and messages ------------------------------------------------- */

static void read_controls(ClvPlugin *p)
{
    /* values restored from state hold until the port itself moves */
    for (int i = CLV_PORT_VOCAL_DB; i <= CLV_PORT_OFFLINE; i++) {
        if ((p->restored_mask & (1u << i)) && p->ctl[i]) p->last_port[i] = *p->ctl[i];
    }
    p->restored_mask = 0;

    for (int i = CLV_PORT_VOCAL_DB; i <= CLV_PORT_OFFLINE; i++) {
        if (!p->ctl[i]) continue;
        float v = *p->ctl[i];
        if (v == p->last_port[i]) continue;
        if (isnan(v)) {
            raise_msg(p, CLV_MSG_PORT_NAN, i, 0, 0.0f);
            continue; /* keep the previous value */
        }
        p->last_port[i] = v;
        float lo = ctl_range[i].lo, hi = ctl_range[i].hi;
        if (i == CLV_PORT_SEPARATOR) hi = (float)(p->n_separators - 1);
        const int muting = (i == CLV_PORT_VOCAL_DB || i == CLV_PORT_ACCOMP_DB) && v == -INFINITY;
        if (!(v >= lo && v <= hi)) {
            if (!muting) raise_msg(p, CLV_MSG_PORT_RANGE, i, 0, v);
            v = v < lo ? lo : hi;
        }
        switch (i) {
        case CLV_PORT_VOCAL_DB: p->vocal_db = v; break;
        case CLV_PORT_ACCOMP_DB: p->accomp_db = v; break;
        case CLV_PORT_SEPARATOR:
            p->desired.sep_index = (int)lrintf(v);
            p->desired.use_path = 0;
            break;
        case CLV_PORT_OP: p->desired.op = v >= 0.5f ? CLV_OP_LOW_LATENCY : CLV_OP_QUALITY; break;
        case CLV_PORT_ENABLED: p->enabled = v >= 0.5f; break;
        case CLV_PORT_OFFLINE: p->desired.offline = v >= 0.5f; break;
        default: break;
        }
    }
}

static void set_model_path(ClvPlugin *p, const LV2_Atom *val)
{
    const ClvPluginUris *u = &p->uris;
    if (val->type != u->atom_Path && val->type != u->atom_String) {
        raise_msg(p, CLV_MSG_ATOM_BAD_VALUE, (int)val->type, 0, 0.0f);
        return;
    }
    const char *s = LV2_ATOM_BODY_CONST(val);
    const uint32_t size = val->size;
    const size_t len = size ? strnlen(s, size) : 0;
    if (size == 0 || len >= CLV_PLUGIN_PATH_MAX || len == size) {
        raise_msg(p, CLV_MSG_PATH_TOO_LONG, (int)size, 0, 0.0f);
        return;
    }
    if (len == 0) { /* empty path: back to the enumerated separator */
        p->desired.use_path = 0;
        p->desired.path[0] = '\0';
        return;
    }
    memcpy(p->desired.path, s, len + 1);
    p->desired.use_path = 1;
}

static void read_atoms(ClvPlugin *p)
{
    if (!p->map || !p->control) return;
    const ClvPluginUris *u = &p->uris;
    if (p->control->atom.type != u->atom_Sequence) return;
    LV2_ATOM_SEQUENCE_FOREACH (p->control, ev) {
        if (ev->body.type != u->atom_Object && ev->body.type != u->atom_Blank) continue;
        const LV2_Atom_Object *obj = (const LV2_Atom_Object *)&ev->body;
        if (obj->body.otype == u->patch_Set) {
            const LV2_Atom *prop = NULL, *val = NULL;
            lv2_atom_object_get(obj, u->patch_property, &prop, u->patch_value, &val, 0);
            if (!prop || prop->type != u->atom_URID || !val) continue;
            if (((const LV2_Atom_URID *)prop)->body == u->clv_model) set_model_path(p, val);
        } else if (obj->body.otype == u->patch_Get) {
            p->notify_model = 1;
        }
    }
}

/* Sends a LOAD for `desired` when it differs from what was last requested. */
static void reconfigure(ClvPlugin *p)
{
    if (p->in_flight || model_equal(&p->desired, &p->requested)) return;
    ClvPluginWork w;
    memset(&w, 0, offsetof(ClvPluginWork, model));
    w.kind = CLV_WORK_LOAD;
    w.serial = ++p->serial;
    w.engine = p->engine;
    w.engine_offline = p->engine_offline;
    copy_model(&w.model, &p->desired);
    if (p->desired.offline) {
        /* offline render: load here and now, so the next sample already uses it */
        ClvPluginResp r;
        clv_plugin_do_load(p, &w, &r);
        copy_model(&p->requested, &p->desired);
        apply_response(p, &r);
        return;
    }
    const uint32_t size = (uint32_t)(offsetof(ClvPluginWork, model.path) + strlen(w.model.path) + 1);
    if (schedule(p, &w, size)) {
        p->in_flight = 1;
        copy_model(&p->requested, &p->desired);
    } else {
        p->serial--;
        raise_msg(p, CLV_MSG_NO_WORKER, 0, 0, 0.0f);
    }
}

/* ---- notify output ------------------------------------------------------------ */

static int notify_begin(ClvPlugin *p, LV2_Atom_Forge_Frame *frame)
{
    if (!p->map || !p->notify) return 0;
    const uint32_t cap = p->notify->atom.size;
    if (cap < sizeof(LV2_Atom_Sequence)) return 0;
    lv2_atom_forge_set_buffer(&p->forge, (uint8_t *)p->notify, cap);
    return lv2_atom_forge_sequence_head(&p->forge, frame, 0) != 0;
}

static int notify_model(ClvPlugin *p, int64_t t)
{
    const ClvPluginUris *u = &p->uris;
    LV2_Atom_Forge *f = &p->forge;
    LV2_Atom_Forge_Frame of;
    const char *path = p->active.use_path ? p->active.path : "";
    if (!lv2_atom_forge_frame_time(f, t)) return 0;
    if (!lv2_atom_forge_object(f, &of, 0, u->patch_Set)) return 0;
    lv2_atom_forge_key(f, u->patch_property);
    lv2_atom_forge_urid(f, u->clv_model);
    lv2_atom_forge_key(f, u->patch_value);
    if (!lv2_atom_forge_path(f, path, (uint32_t)strlen(path))) return 0;
    lv2_atom_forge_pop(f, &of);
    return 1;
}

static int notify_tag(ClvPlugin *p, int64_t t, const ClvTagEvent *ev)
{
    const ClvPluginUris *u = &p->uris;
    LV2_Atom_Forge *f = &p->forge;
    LV2_Atom_Forge_Frame of;
    const char *label = clv_tagger_label(clv_tag_runner_tagger(p->tags), ev->label);
    if (!label) label = "";
    if (!lv2_atom_forge_frame_time(f, t)) return 0;
    if (!lv2_atom_forge_object(f, &of, 0, u->clv_TagEvent)) return 0;
    lv2_atom_forge_key(f, u->clv_tag_index);
    lv2_atom_forge_int(f, ev->label);
    lv2_atom_forge_key(f, u->clv_tag_label);
    lv2_atom_forge_string(f, label, (uint32_t)strlen(label));
    lv2_atom_forge_key(f, u->clv_onset);
    lv2_atom_forge_double(f, ev->onset);
    lv2_atom_forge_key(f, u->clv_offset);
    lv2_atom_forge_double(f, ev->offset);
    lv2_atom_forge_key(f, u->clv_score);
    if (!lv2_atom_forge_float(f, ev->peak)) return 0;
    lv2_atom_forge_pop(f, &of);
    return 1;
}

static void publish_snapshot(ClvPlugin *p)
{
    ClvPluginSnapshot *s = &p->snap;
    if (s->vocal_db == p->vocal_db && s->accomp_db == p->accomp_db
        && model_equal(&s->model, &p->active))
        return;
    /* sequence lock: odd while writing; save() retries until it reads an even,
     * unchanged count. The writer never waits. */
    const unsigned seq = atomic_load_explicit(&p->snap_seq, memory_order_relaxed);
    atomic_store_explicit(&p->snap_seq, seq + 1u, memory_order_relaxed);
    atomic_thread_fence(memory_order_release);
    s->vocal_db = p->vocal_db;
    s->accomp_db = p->accomp_db;
    copy_model(&s->model, &p->active);
    atomic_store_explicit(&p->snap_seq, seq + 2u, memory_order_release);
}

static float db_to_gain(float db)
{
    return db <= CLV_PLUGIN_DB_MIN + 1e-3f ? 0.0f : powf(10.0f, db / 20.0f);
}

/* ---- run ------------------------------------------------------------------------ */

static void drain_own_worker(ClvPlugin *p)
{
    const ClvPluginMsgSlot *s;
    while ((s = clv_ring_read_begin(p->own.resp)) != NULL) {
        clv_plugin_work_response(p, s->size, s->u.bytes);
        clv_ring_read_commit(p->own.resp);
    }
}

static void set_out(float *port, float v)
{
    if (port) *port = v;
}

void clv_plugin_run(ClvPlugin *p, uint32_t n_frames)
{
    if (p->own_worker) drain_own_worker(p);
    /* an old engine whose FREE could not be queued earlier */
    if (p->to_free && schedule_engine_op(p, CLV_WORK_FREE_ENGINE, p->to_free)) p->to_free = NULL;

    read_controls(p);
    read_atoms(p);
    reconfigure(p);

    ClvEngine *e = p->engine;
    clv_engine_set_gains(e, db_to_gain(p->vocal_db), db_to_gain(p->accomp_db));
    clv_engine_set_bypass(e, !p->enabled);

    if (n_frames == 0) {
        clv_engine_process(e, NULL, NULL, NULL, NULL, 0); /* takes a pending swap */
    } else if (n_frames > (uint32_t)p->max_block) {
        raise_msg(p, CLV_MSG_BLOCK_TOO_LONG, n_frames > 0x7fffffffu ? 0x7fffffff : (int)n_frames,
                  p->max_block, 0.0f);
    }
    for (uint32_t done = 0; done < n_frames;) {
        const int m = (int)(n_frames - done < (uint32_t)p->max_block ? n_frames - done : (uint32_t)p->max_block);
        /* a private copy of the input: hosts may hand the same buffer in and out */
        for (int c = 0; c < 2; c++) {
            if (p->in[c]) memcpy(p->scratch[c], p->in[c] + done, sizeof(float) * (size_t)m);
            else memset(p->scratch[c], 0, sizeof(float) * (size_t)m);
        }
        float *v[2], *a[2], *x[2];
        for (int c = 0; c < 2; c++) {
            v[c] = p->voc[c] ? p->voc[c] + done : p->sink;
            a[c] = p->acc[c] ? p->acc[c] + done : p->sink;
            x[c] = p->mix[c] ? p->mix[c] + done : p->sink;
        }
        const float *in[2] = {p->scratch[0], p->scratch[1]};
        clv_engine_process(e, in, v, a, x, m);
        if (p->tags) {
            for (int j = 0; j < m; j++) p->mono[j] = 0.5f * (p->scratch[0][j] + p->scratch[1][j]);
            clv_tag_runner_push(p->tags, p->mono, m);
        }
        done += (uint32_t)m;
    }

    LV2_Atom_Forge_Frame seq;
    const int notifying = notify_begin(p, &seq);
    int overflow = 0;
    if (p->tags) {
        ClvTagStep step;
        while (clv_tag_runner_poll_step(p->tags, &step)) {
            int best = -1;
            for (int i = 0; i < step.n_labels && i < CLV_TAG_MAX_LABELS; i++)
                if (best < 0 || step.score[i] > step.score[best]) best = i;
            p->tag_index = best;
            p->tag_conf = best >= 0 ? step.score[best] : 0.0f;
        }
        ClvTagEvent ev;
        while (clv_tag_runner_poll_event(p->tags, &ev)) {
            if (notifying && !overflow && !notify_tag(p, 0, &ev)) overflow = 1;
        }
    }
    if (notifying && p->notify_model && !overflow) {
        if (notify_model(p, 0)) p->notify_model = 0;
        else overflow = 1;
    }
    if (notifying) lv2_atom_forge_pop(&p->forge, &seq);
    if (overflow) raise_msg(p, CLV_MSG_NOTIFY_FULL, 0, 0, 0.0f);

    ClvEngineStats st;
    clv_engine_get_stats(e, &st);
    set_out(p->ctl[CLV_PORT_LATENCY], (float)clv_engine_latency(e));
    set_out(p->ctl[CLV_PORT_MISSES], (float)(p->misses_base + st.misses));
    set_out(p->ctl[CLV_PORT_LOAD], 100.0f * st.worker_load);
    set_out(p->ctl[CLV_PORT_TAG], (float)p->tag_index);
    set_out(p->ctl[CLV_PORT_TAG_CONF], p->tag_conf);

    /* the pipeline swapped in by this run's process() is retired now */
    if (p->collect_pending && schedule_engine_op(p, CLV_WORK_COLLECT, e)) p->collect_pending = 0;
    publish_snapshot(p);
    p->frames += n_frames;
}
