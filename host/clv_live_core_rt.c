/* SPDX-License-Identifier: ISC */
/* The live core's audio-thread half. It touches only ClvLiveCoreImpl (audio and
 * atomic fields) and the engines it runs, reads control messages from one ring and
 * hands engines back over another. No allocation, locks or I/O; clock_gettime
 * (vDSO) measures the callback's load. The only wait is in freewheel, where JACK
 * runs the graph as fast as it can and not in real time: there we wait for the
 * offline engine the control thread builds, so every freewheel block is rendered
 * by an engine that never misses. */
#include "clv_live_core_impl.h"

#include <errno.h>
#include <string.h>
#include <time.h>

static inline void store_f(atomic_uint *a, float f)
{
    unsigned u;
    memcpy(&u, &f, sizeof u);
    atomic_store_explicit(a, u, memory_order_relaxed);
}

static inline float load_f(const atomic_uint *a)
{
    unsigned u = atomic_load_explicit((atomic_uint *)a, memory_order_relaxed);
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static inline uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Hands an engine back to the control thread. The ring has more slots than
 * engines can exist, so this never fails in practice; if it did we would rather
 * leak than free on the audio thread. */
static void retire(ClvLiveCore *L, ClvLiveEngine *w)
{
    if (!w) return;
    if (!clv_ring_write(L->retired, &w))
        atomic_fetch_add_explicit(&L->lost, 1, memory_order_relaxed);
}

static void apply_controls(ClvLiveCore *L, ClvLiveEngine *w)
{
    if (!w) return;
    clv_engine_set_gains(w->eng, L->vg, L->ag);
    clv_engine_set_bypass(w->eng, L->bypass);
}

/* Makes w the engine whose output goes out. Misses it had while warming up (its
 * output was not used) are not counted. */
static void activate(ClvLiveCore *L, ClvLiveEngine *w)
{
    ClvEngineStats st;
    clv_engine_get_stats(w->eng, &st);
    L->cur = w;
    L->cur_misses = st.misses;
    L->cur_dropped = st.dropped;
    atomic_store_explicit(&L->latency, clv_engine_latency(w->eng), memory_order_relaxed);
    atomic_store_explicit(&L->running_pub, (uintptr_t)w->eng, memory_order_release);
}

/* Adds cur's counters since the last look to the totals. */
static void account(ClvLiveCore *L)
{
    ClvEngineStats st;
    clv_engine_get_stats(L->cur->eng, &st);
    if (st.misses > L->cur_misses)
        atomic_fetch_add_explicit(&L->misses, st.misses - L->cur_misses, memory_order_relaxed);
    if (st.dropped > L->cur_dropped)
        atomic_fetch_add_explicit(&L->dropped, st.dropped - L->cur_dropped, memory_order_relaxed);
    L->cur_misses = st.misses;
    L->cur_dropped = st.dropped;
    store_f(&L->load_bits, st.worker_load);
    /* the engine's latency changes when a separator swap lands */
    atomic_store_explicit(&L->latency, st.latency, memory_order_relaxed);
}

static void reset_all(ClvLiveCore *L)
{
    clv_engine_reset(L->cur->eng);
    if (L->next) {
        clv_engine_reset(L->next->eng);
        L->next_frames = 0;
    }
    atomic_fetch_add_explicit(&L->resets, 1, memory_order_relaxed);
}

static void take_engine(ClvLiveCore *L, const ClvLiveMsg *m, int fw, uint32_t gen)
{
    ClvLiveEngine *w = m->w;
    apply_controls(L, w);
    if (m->kind == CLV_LIVE_MSG_ENGINE_FW) {
        if (!fw || w->fw_gen != gen || L->fw_active) {
            retire(L, w); /* freewheel ended or restarted meanwhile */
            return;
        }
        account(L);
        /* the newest realtime engine waits, parked, for the end of freewheel */
        if (L->next) {
            retire(L, L->cur);
            L->parked = L->next;
            L->next = NULL;
        } else {
            L->parked = L->cur;
        }
        L->fw_active = 1;
        activate(L, w);
        return;
    }
    if (L->fw_active) {
        /* a new realtime engine while freewheeling replaces the parked one */
        retire(L, L->parked);
        L->parked = w;
        return;
    }
    if (m->kind == CLV_LIVE_MSG_ENGINE_NOW) {
        account(L);
        retire(L, L->cur);
        retire(L, L->next);
        L->next = NULL;
        activate(L, w);
        return;
    }
    /* warm up beside cur: the new engine needs its whole latency of history, and
     * as much again for the separator's analysis window to be filled with input */
    retire(L, L->next);
    L->next = w;
    L->next_frames = 0;
    L->next_need = 2 * (int64_t)clv_engine_latency(w->eng);
}

static void drain(ClvLiveCore *L, int fw, uint32_t gen)
{
    ClvLiveMsg m;
    while (clv_ring_read(L->to_audio, &m)) {
        switch (m.kind) {
        case CLV_LIVE_MSG_GAINS:
            L->vg = clv_clampf(m.a, 0.0f, 16.0f);
            L->ag = clv_clampf(m.b, 0.0f, 16.0f);
            apply_controls(L, L->cur);
            apply_controls(L, L->next);
            apply_controls(L, L->parked);
            break;
        case CLV_LIVE_MSG_BYPASS:
            L->bypass = m.a != 0.0f;
            apply_controls(L, L->cur);
            apply_controls(L, L->next);
            apply_controls(L, L->parked);
            break;
        case CLV_LIVE_MSG_RESET: reset_all(L); break;
        case CLV_LIVE_MSG_ENGINE_WARM:
        case CLV_LIVE_MSG_ENGINE_NOW:
        case CLV_LIVE_MSG_ENGINE_FW: take_engine(L, &m, fw, gen); break;
        }
    }
}

/* Freewheel only (not real time): wait up to ten seconds for the offline engine. */
static void wait_for_offline(ClvLiveCore *L, uint32_t gen)
{
    for (int i = 0; i < 200 && !L->fw_active; i++) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 50 * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        if (L->fw_sem_ok) {
            while (sem_timedwait(&L->fw_ready, &ts) != 0 && errno == EINTR) {
            }
        }
        if (!atomic_load_explicit(&L->freewheel, memory_order_acquire)) return;
        drain(L, 1, gen);
    }
    if (!L->fw_active) L->fw_given_up = gen; /* go on with the realtime engine */
}

static void leave_freewheel(ClvLiveCore *L)
{
    account(L);
    retire(L, L->cur);
    L->fw_active = 0;
    ClvLiveEngine *w = L->parked;
    L->parked = NULL;
    /* the stream before freewheel is long gone: start from silence */
    clv_engine_reset(w->eng);
    apply_controls(L, w);
    activate(L, w);
}

/* Crossfades from cur's output (in out) to the warm engine's output (in nw) over
 * the m frames of this chunk. */
static void crossfade(float *const *out, float *const *nw, int m)
{
    if (!out) return;
    const float step = 1.0f / (float)m;
    for (int c = 0; c < CLV_LIVE_CHANNELS; c++) {
        for (int j = 0; j < m; j++) {
            const float g = (float)(j + 1) * step;
            out[c][j] += g * (nw[c][j] - out[c][j]);
        }
    }
}

void clv_live_core_process(ClvLiveCore *L, const float *const *in, float *const *mix,
                           float *const *vocals, float *const *accomp, int n, unsigned flags)
{
    const uint64_t t_start = now_ns();
    const int fw = atomic_load_explicit(&L->freewheel, memory_order_acquire);
    const uint32_t gen = atomic_load_explicit(&L->fw_gen, memory_order_acquire);
    drain(L, fw, gen);
    if (fw && !L->fw_active && L->fw_given_up != gen) wait_for_offline(L, gen);
    if (!fw && L->fw_active) leave_freewheel(L);
    if (flags & CLV_LIVE_RESET) reset_all(L);
    if (n < 0) n = 0;

    for (int off = 0; off < n;) {
        int m = n - off;
        if (m > CLV_LIVE_MAX_BLOCK) m = CLV_LIVE_MAX_BLOCK;
        const float *ip[CLV_LIVE_CHANNELS] = {in[0] + off, in[1] + off};
        float *mp[CLV_LIVE_CHANNELS], *vp[CLV_LIVE_CHANNELS], *ap[CLV_LIVE_CHANNELS];
        for (int c = 0; c < CLV_LIVE_CHANNELS; c++) {
            mp[c] = mix ? mix[c] + off : NULL;
            vp[c] = vocals ? vocals[c] + off : NULL;
            ap[c] = accomp ? accomp[c] + off : NULL;
        }
        float *const *mo = mix ? mp : NULL, *const *vo = vocals ? vp : NULL;
        float *const *ao = accomp ? ap : NULL;
        int switch_now = 0;
        if (L->next) {
            float *const sm[CLV_LIVE_CHANNELS] = {L->scratch[0], L->scratch[1]};
            float *const sv[CLV_LIVE_CHANNELS] = {L->scratch[2], L->scratch[3]};
            float *const sa[CLV_LIVE_CHANNELS] = {L->scratch[4], L->scratch[5]};
            clv_engine_process(L->next->eng, ip, sv, sa, sm, m);
            L->next_frames += m;
            switch_now = L->next_frames >= L->next_need;
        }
        clv_engine_process(L->cur->eng, ip, vo, ao, mo, m);
        if (L->tagger) {
            /* the tagger listens to the input: what is playing, not what is left */
            for (int j = 0; j < m; j++) L->mono[j] = 0.5f * (ip[0][j] + ip[1][j]);
            const int lost = clv_tag_runner_push(L->tagger, L->mono, m);
            if (lost > 0)
                atomic_fetch_add_explicit(&L->tag_dropped, (uint64_t)lost, memory_order_relaxed);
        }
        if (switch_now) {
            float *const sm[CLV_LIVE_CHANNELS] = {L->scratch[0], L->scratch[1]};
            float *const sv[CLV_LIVE_CHANNELS] = {L->scratch[2], L->scratch[3]};
            float *const sa[CLV_LIVE_CHANNELS] = {L->scratch[4], L->scratch[5]};
            crossfade(mo, sm, m);
            crossfade(vo, sv, m);
            crossfade(ao, sa, m);
            account(L);
            retire(L, L->cur);
            ClvLiveEngine *w = L->next;
            L->next = NULL;
            activate(L, w);
        }
        off += m;
    }
    if (L->cur) account(L);

    atomic_fetch_add_explicit(&L->frames, (uint64_t)n, memory_order_relaxed);
    atomic_fetch_add_explicit(&L->cycles, 1, memory_order_relaxed);
    atomic_store_explicit(&L->fw_pub, L->fw_active, memory_order_relaxed);
    if (!fw && n > 0) {
        /* load = time spent / time the block lasts */
        const uint64_t dt = now_ns() - t_start;
        atomic_fetch_add_explicit(&L->busy_ns, dt, memory_order_relaxed);
        atomic_fetch_add_explicit(&L->busy_frames, (uint64_t)n, memory_order_relaxed);
        const int rate = L->cur ? L->cur->sample_rate : 48000;
        const float load = (float)((double)dt * 1e-9 * (double)rate / (double)n);
        if (load > load_f(&L->peak_bits)) store_f(&L->peak_bits, load);
    }
}

int clv_live_core_latency(const ClvLiveCore *L)
{
    return atomic_load_explicit(&((ClvLiveCore *)L)->latency, memory_order_relaxed);
}
