/* SPDX-License-Identifier: ISC */
/* The live core's control half (never called on the audio thread).
 *
 * The control thread owns engine construction and destruction. It keeps pointers
 * to the newest realtime engine it sent (c_rt: separator swaps go to it) and to
 * the offline engine of the current freewheel (c_off). Engines the audio thread no
 * longer runs come back over `retired` and are freed here; because only this
 * thread frees, c_rt/c_off stay valid until they come back (then they are
 * cleared). Requests from the backend's notification threads (period, rate,
 * freewheel) are atomics that clv_live_core_poll() acts on. */
#include "clv_live_core_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static float load_f(const atomic_uint *a)
{
    unsigned u = atomic_load_explicit((atomic_uint *)a, memory_order_relaxed);
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static void engine_free(ClvLiveEngine *w)
{
    if (!w) return;
    clv_engine_free(w->eng);
    free(w);
}

/* Builds an engine for the current separator, rate and period. */
static ClvStatus engine_build(ClvLiveCore *L, ClvLiveEngineKind kind, ClvLiveEngine **out)
{
    *out = NULL;
    ClvSeparator *sep = NULL;
    ClvStatus st = clv_separator_create(L->separator, L->rate, CLV_LIVE_CHANNELS, L->op, &L->log,
                                        &sep);
    if (st != CLV_OK) {
        clv_log(&L->log, CLV_LOG_ERROR, "%s: cannot create separator: %s", L->separator,
                clv_strerror(st));
        return st;
    }
    ClvLiveEngine *w = calloc(1, sizeof *w);
    if (!w) {
        clv_separator_free(sep);
        return CLV_ERR_NOMEM;
    }
    ClvEngineConfig cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.sample_rate = L->rate;
    cfg.channels = CLV_LIVE_CHANNELS;
    cfg.max_block = CLV_LIVE_MAX_BLOCK;
    cfg.slack = L->period + L->headroom;
    cfg.mode = kind == CLV_LIVE_ENG_OFFLINE ? CLV_ENGINE_OFFLINE : CLV_ENGINE_REALTIME;
    cfg.worker_priority = L->cfg_worker_priority;
    cfg.log = L->log;
    st = clv_engine_new(&cfg, sep, &w->eng);
    if (st != CLV_OK) {
        clv_log(&L->log, CLV_LOG_ERROR, "cannot start the engine: %s", clv_strerror(st));
        free(w);
        return st;
    }
    w->kind = kind;
    w->period = L->period;
    w->sample_rate = L->rate;
    clv_engine_set_gains(w->eng, L->c_vg, L->c_ag);
    clv_engine_set_bypass(w->eng, L->c_bypass);
    *out = w;
    return CLV_OK;
}

static int send(ClvLiveCore *L, const ClvLiveMsg *m)
{
    if (clv_ring_write(L->to_audio, m)) return 1;
    clv_log(&L->log, CLV_LOG_WARNING, "the audio thread is not taking messages (stalled?)");
    return 0;
}

ClvStatus clv_live_core_new(const ClvLiveConfig *cfg, ClvLiveCore **out)
{
    *out = NULL;
    if (!cfg || cfg->sample_rate < 8000 || cfg->sample_rate > 192000 || cfg->period < 1
        || cfg->period > CLV_LIVE_MAX_BLOCK || cfg->headroom < 0 || cfg->headroom > 65536)
        return CLV_ERR_INVALID;
    const char *sep = cfg->separator && *cfg->separator ? cfg->separator
                                                        : clv_registry_default_separator();
    if (strlen(sep) >= sizeof((ClvLiveCore *)0)->separator) {
        clv_log(&cfg->log, CLV_LOG_ERROR, "%s: model path too long", sep);
        return CLV_ERR_INVALID;
    }
    ClvLiveCore *L = calloc(1, sizeof *L);
    if (!L) return CLV_ERR_NOMEM;
    L->log = cfg->log;
    L->rate = cfg->sample_rate;
    L->period = cfg->period;
    L->headroom = cfg->headroom;
    L->cfg_worker_priority = cfg->worker_priority;
    snprintf(L->separator, sizeof L->separator, "%s", sep);
    L->op = cfg->op;
    L->c_vg = L->vg = clv_clampf(cfg->vocal_gain, 0.0f, 16.0f);
    L->c_ag = L->ag = clv_clampf(cfg->accomp_gain, 0.0f, 16.0f);
    L->c_bypass = L->bypass = cfg->bypass != 0;
    L->fw_given_up = UINT32_MAX;
    L->tagger = cfg->tagger;
    atomic_init(&L->tag_dropped, 0);
    atomic_init(&L->freewheel, 0);
    atomic_init(&L->fw_gen, 0);
    atomic_init(&L->req_period, 0);
    atomic_init(&L->req_rate, 0);
    atomic_init(&L->latency, 0);
    atomic_init(&L->fw_pub, 0);
    atomic_init(&L->frames, 0);
    atomic_init(&L->cycles, 0);
    atomic_init(&L->misses, 0);
    atomic_init(&L->dropped, 0);
    atomic_init(&L->resets, 0);
    atomic_init(&L->busy_ns, 0);
    atomic_init(&L->busy_frames, 0);
    atomic_init(&L->load_bits, 0u);
    atomic_init(&L->peak_bits, 0u);
    atomic_init(&L->running_pub, 0);
    atomic_init(&L->lost, 0);

    ClvStatus st = CLV_OK;
    for (int i = 0; i < 6 && st == CLV_OK; i++) {
        L->scratch[i] = calloc(CLV_LIVE_MAX_BLOCK, sizeof(float));
        if (!L->scratch[i]) st = CLV_ERR_NOMEM;
    }
    if (st == CLV_OK && !(L->mono = calloc(CLV_LIVE_MAX_BLOCK, sizeof(float)))) st = CLV_ERR_NOMEM;
    if (st == CLV_OK) st = clv_ring_new(sizeof(ClvLiveMsg), CLV_LIVE_RING_SLOTS, &L->to_audio);
    /* every engine ever in flight fits: at most a few exist at once */
    if (st == CLV_OK)
        st = clv_ring_new(sizeof(ClvLiveEngine *), CLV_LIVE_RING_SLOTS * 2, &L->retired);
    if (st == CLV_OK) {
        if (sem_init(&L->fw_ready, 0, 0) == 0) L->fw_sem_ok = 1;
        else st = CLV_ERR_THREAD;
    }
    if (st == CLV_OK) st = engine_build(L, CLV_LIVE_ENG_REALTIME, &L->c_rt);
    if (st != CLV_OK) {
        clv_live_core_free(L);
        return st;
    }
    /* the audio thread is not running yet: set its side directly */
    L->cur = L->c_rt;
    atomic_store(&L->latency, clv_engine_latency(L->cur->eng));
    atomic_store(&L->running_pub, (uintptr_t)L->cur->eng);
    L->last_latency = clv_engine_latency(L->cur->eng);
    *out = L;
    return CLV_OK;
}

void clv_live_core_free(ClvLiveCore *L)
{
    if (!L) return;
    ClvLiveEngine *w;
    if (L->retired)
        while (clv_ring_read(L->retired, &w)) engine_free(w);
    if (L->to_audio) {
        ClvLiveMsg m;
        while (clv_ring_read(L->to_audio, &m)) /* never taken by the audio thread */
            if (m.kind >= CLV_LIVE_MSG_ENGINE_WARM) engine_free(m.w);
    }
    engine_free(L->cur);
    engine_free(L->next);
    engine_free(L->parked);
    clv_ring_free(L->to_audio);
    clv_ring_free(L->retired);
    if (L->fw_sem_ok) sem_destroy(&L->fw_ready);
    for (int i = 0; i < 6; i++) free(L->scratch[i]);
    free(L->mono);
    free(L);
}

void clv_live_core_set_gains(ClvLiveCore *L, float vg, float ag)
{
    L->c_vg = clv_clampf(vg, 0.0f, 16.0f);
    L->c_ag = clv_clampf(ag, 0.0f, 16.0f);
    ClvLiveMsg m = {CLV_LIVE_MSG_GAINS, L->c_vg, L->c_ag, NULL};
    send(L, &m);
}

void clv_live_core_set_bypass(ClvLiveCore *L, int bypass)
{
    L->c_bypass = bypass != 0;
    ClvLiveMsg m = {CLV_LIVE_MSG_BYPASS, (float)L->c_bypass, 0.0f, NULL};
    send(L, &m);
}

void clv_live_core_reset(ClvLiveCore *L)
{
    ClvLiveMsg m = {CLV_LIVE_MSG_RESET, 0.0f, 0.0f, NULL};
    send(L, &m);
}

/* Gives `w` a new separator of the current choice. */
static ClvStatus swap_into(ClvLiveCore *L, ClvLiveEngine *w)
{
    ClvSeparator *sep = NULL;
    ClvStatus st = clv_separator_create(L->separator, w->sample_rate, CLV_LIVE_CHANNELS, L->op,
                                        &L->log, &sep);
    if (st != CLV_OK) return st;
    st = clv_engine_set_separator(w->eng, sep);
    if (st != CLV_OK)
        clv_log(&L->log, CLV_LOG_ERROR, "%s: cannot swap the separator in: %s", L->separator,
                clv_strerror(st));
    return st;
}

ClvStatus clv_live_core_set_separator(ClvLiveCore *L, const char *name, ClvOperatingPoint op)
{
    if (!name || !*name) name = clv_registry_default_separator();
    if (strlen(name) >= sizeof L->separator) {
        clv_log(&L->log, CLV_LOG_ERROR, "%s: model path too long", name);
        return CLV_ERR_INVALID;
    }
    /* try it first, so a bad name or file leaves everything as it was */
    ClvSeparator *probe = NULL;
    ClvStatus st = clv_separator_create(name, L->rate, CLV_LIVE_CHANNELS, op, &L->log, &probe);
    if (st != CLV_OK) {
        clv_log(&L->log, CLV_LOG_ERROR, "%s: cannot create separator: %s; keeping %s", name,
                clv_strerror(st), L->separator);
        return st;
    }
    char old[sizeof L->separator];
    ClvOperatingPoint old_op = L->op;
    snprintf(old, sizeof old, "%s", L->separator);
    snprintf(L->separator, sizeof L->separator, "%s", name);
    L->op = op;
    if (L->c_rt) clv_engine_collect(L->c_rt->eng);
    st = L->c_rt ? clv_engine_set_separator(L->c_rt->eng, probe) : CLV_ERR_STATE;
    if (st == CLV_OK && L->c_off) st = swap_into(L, L->c_off);
    if (st != CLV_OK) {
        snprintf(L->separator, sizeof L->separator, "%s", old);
        L->op = old_op;
    }
    return st;
}

void clv_live_core_request_period(ClvLiveCore *L, int period)
{
    if (period < 1) return;
    if (period > CLV_LIVE_MAX_BLOCK) period = CLV_LIVE_MAX_BLOCK; /* blocks are chunked */
    atomic_store_explicit(&L->req_period, period, memory_order_relaxed);
}

void clv_live_core_request_rate(ClvLiveCore *L, int rate)
{
    atomic_store_explicit(&L->req_rate, rate, memory_order_relaxed);
}

void clv_live_core_set_freewheel(ClvLiveCore *L, int on)
{
    if (on) atomic_fetch_add_explicit(&L->fw_gen, 1, memory_order_acq_rel);
    atomic_store_explicit(&L->freewheel, on != 0, memory_order_release);
}

static unsigned send_engine(ClvLiveCore *L, ClvLiveEngineKind kind, ClvLiveMsgKind how,
                            uint32_t gen, ClvLiveEngine **slot)
{
    ClvLiveEngine *w = NULL;
    if (engine_build(L, kind, &w) != CLV_OK) return CLV_LIVE_EV_ERROR;
    w->fw_gen = gen;
    ClvLiveMsg m = {how, 0.0f, 0.0f, w};
    if (!send(L, &m)) {
        engine_free(w);
        return CLV_LIVE_EV_ERROR;
    }
    *slot = w;
    return 0;
}

unsigned clv_live_core_poll(ClvLiveCore *L)
{
    unsigned ev = 0;
    /* freewheel first, so c_off is settled before retired engines are freed */
    const int fw = atomic_load_explicit(&L->freewheel, memory_order_acquire);
    const uint32_t gen = atomic_load_explicit(&L->fw_gen, memory_order_acquire);
    if (fw && (!L->c_off || L->c_off_gen != gen)) {
        ev |= send_engine(L, CLV_LIVE_ENG_OFFLINE, CLV_LIVE_MSG_ENGINE_FW, gen, &L->c_off);
        L->c_off_gen = gen; /* one try per freewheel: the audio thread stops waiting */
        if (L->fw_sem_ok) sem_post(&L->fw_ready);
    } else if (!fw) {
        L->c_off = NULL;
    }
    const int fw_now = atomic_load_explicit(&L->fw_pub, memory_order_relaxed);
    if (fw_now != L->last_fw) {
        L->last_fw = fw_now;
        ev |= CLV_LIVE_EV_FREEWHEEL;
    }

    ClvLiveEngine *w;
    while (clv_ring_read(L->retired, &w)) {
        if (w == L->c_off) L->c_off = NULL;
        if (w == L->c_rt) L->c_rt = NULL; /* cannot happen: the newest is never retired */
        engine_free(w);
    }
    if (L->c_rt) clv_engine_collect(L->c_rt->eng);
    if (L->c_off) clv_engine_collect(L->c_off->eng);

    const int rate = atomic_exchange_explicit(&L->req_rate, 0, memory_order_relaxed);
    if (rate >= 8000 && rate <= 192000 && rate != L->rate) {
        L->rate = rate;
        unsigned e = send_engine(L, CLV_LIVE_ENG_REALTIME, CLV_LIVE_MSG_ENGINE_NOW, 0, &L->c_rt);
        ev |= e ? e : CLV_LIVE_EV_RATE;
    } else if (rate) {
        clv_log(&L->log, rate == L->rate ? CLV_LOG_DEBUG : CLV_LOG_ERROR,
                "sample rate %d Hz %s", rate,
                rate == L->rate ? "unchanged" : "is out of range (8000..192000); ignored");
    }
    const int period = atomic_exchange_explicit(&L->req_period, 0, memory_order_relaxed);
    if (period > 0 && period != L->period) {
        const int old = L->period;
        L->period = period;
        unsigned e = send_engine(L, CLV_LIVE_ENG_REALTIME, CLV_LIVE_MSG_ENGINE_WARM, 0, &L->c_rt);
        if (e) L->period = old;
        ev |= e ? e : CLV_LIVE_EV_PERIOD;
    }

    const int lat = clv_live_core_latency(L);
    if (lat != L->last_latency) {
        L->last_latency = lat;
        ev |= CLV_LIVE_EV_LATENCY;
    }
    return ev;
}

void clv_live_core_get_stats(ClvLiveCore *L, ClvLiveStats *st)
{
    memset(st, 0, sizeof *st);
    st->frames = atomic_load_explicit(&L->frames, memory_order_relaxed);
    st->cycles = atomic_load_explicit(&L->cycles, memory_order_relaxed);
    st->misses = atomic_load_explicit(&L->misses, memory_order_relaxed);
    st->dropped = atomic_load_explicit(&L->dropped, memory_order_relaxed);
    st->resets = atomic_load_explicit(&L->resets, memory_order_relaxed);
    st->tag_dropped = atomic_load_explicit(&L->tag_dropped, memory_order_relaxed);
    st->worker_load = load_f(&L->load_bits);
    const uint64_t bn = atomic_load_explicit(&L->busy_ns, memory_order_relaxed);
    const uint64_t bf = atomic_load_explicit(&L->busy_frames, memory_order_relaxed);
    if (bf > L->last_busy_frames)
        st->dsp_mean = (float)((double)(bn - L->last_busy_ns) * 1e-9 * (double)L->rate
                               / (double)(bf - L->last_busy_frames));
    L->last_busy_ns = bn;
    L->last_busy_frames = bf;
    unsigned pk = atomic_exchange_explicit(&L->peak_bits, 0u, memory_order_relaxed);
    memcpy(&st->dsp_peak, &pk, sizeof pk);
    st->latency = clv_live_core_latency(L);
    st->sample_rate = L->rate;
    st->period = L->period;
    st->freewheel = atomic_load_explicit(&L->fw_pub, memory_order_relaxed);
    st->vocal_gain = L->c_vg;
    st->accomp_gain = L->c_ag;
    st->bypass = L->c_bypass;
    st->op = L->op;
    snprintf(st->separator, sizeof st->separator, "%s", L->separator);
    /* the engine the audio thread runs is alive until it comes back over
     * `retired`, and only this thread frees engines */
    const ClvEngine *eng =
        (const ClvEngine *)atomic_load_explicit(&L->running_pub, memory_order_acquire);
    snprintf(st->running, sizeof st->running, "%s", eng ? clv_engine_separator_name(eng) : "");
}
