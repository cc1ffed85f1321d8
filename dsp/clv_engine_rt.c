/* SPDX-License-Identifier: ISC */
/* The engine's audio-thread half. Everything here is realtime-safe: it touches only
 * ClvEngineImpl and its current ClvPipeline, moves samples through SPSC rings, posts
 * a semaphore to wake the worker (sem_post is a lock-free futex operation), and in
 * offline mode, only there, waits for the worker.
 *
 * Timing: with hop H, separator latency L and slack S, the output at frame t carries
 * input frame t - D, D = L + H + S. The vocals for input frame s come from hop
 * k = (s + L) / H of the current pipeline, which is complete once input frame
 * t0 + (k+1)H - 1 has arrived; it is needed at frame t0 + kH + o + H + S, i.e. at
 * least S + 1 frames later. With S >= the block length the worker always has a
 * full block period. A hop that is not there when needed is a miss: the vocals go
 * silent (accompaniment = dry input, stems still sum to the input) and separation
 * fades back in once hops arrive again. */
#include "clv_engine_impl.h"

#include <math.h>
#include <string.h>

static inline float load_f(atomic_uint *a)
{
    unsigned u = atomic_load_explicit(a, memory_order_relaxed);
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* Swaps in a pipeline sent by the control thread, at a block boundary. */
static void take_new_pipeline(ClvEngine *e)
{
    ClvPipeline *np;
    while (clv_ring_read(e->ctrl_in, &np)) {
        ClvPipeline *old = e->cur;
        np->t0 = e->t;
        np->epoch = e->epoch;
        e->cur = np;
        atomic_store_explicit(&e->cur_pub, (uintptr_t)np, memory_order_release);
        atomic_store_explicit(&e->latency, np->latency, memory_order_relaxed);
        e->fade = 0.0f; /* the new separator fades in once its first hop is there */
        /* retired has as many slots as ctrl_in, so this cannot fail */
        if (old) clv_ring_write(e->retired, &old);
    }
}

/* Pushes the staged hop to the worker; in offline mode waits for room. */
static void push_hop(ClvEngine *e, ClvPipeline *p)
{
    unsigned char *slot = clv_ring_write_begin(p->in_ring);
    while (!slot && p->offline) {
        sem_wait(&p->done);
        slot = clv_ring_write_begin(p->in_ring);
    }
    if (!slot) {
        /* worker far behind: drop this hop; the separator restarts at the next one */
        atomic_fetch_add_explicit(p->dropped, 1, memory_order_relaxed);
        p->pending_flags |= CLV_HOP_DISCONT;
        p->hops_in++;
        return;
    }
    ClvHopHeader *h = (ClvHopHeader *)slot;
    h->seq = p->hops_in++;
    h->epoch = e->epoch;
    h->flags = p->pending_flags;
    p->pending_flags = 0;
    memcpy(slot + sizeof *h, p->stage, sizeof(float) * p->msg_floats);
    clv_ring_write_commit(p->in_ring);
    sem_post(&p->wake);
}

/* Makes vhop hold hop k if it can; returns 1 on success. */
static int fetch_hop(ClvEngine *e, ClvPipeline *p, uint64_t k)
{
    if (p->vhop_seq == k) return 1;
    for (;;) {
        const unsigned char *m = clv_ring_read_begin(p->out_ring);
        if (!m) {
            if (!p->offline || k >= p->hops_in) return 0;
            sem_wait(&p->done); /* offline: the hop was pushed, wait for the worker */
            continue;
        }
        const ClvHopHeader *h = (const ClvHopHeader *)m;
        if (h->epoch != e->epoch || h->seq < k) { /* stale */
            clv_ring_read_commit(p->out_ring);
            continue;
        }
        if (h->seq > k) return 0; /* k was dropped; keep the later hop for later */
        memcpy(p->vhop, m + sizeof *h, sizeof(float) * p->msg_floats);
        p->vhop_seq = k;
        clv_ring_read_commit(p->out_ring);
        return 1;
    }
}

void clv_engine_process(ClvEngine *e, const float *const *in, float *const *vocals,
                        float *const *accomp, float *const *mix, int n)
{
    take_new_pipeline(e);
    if (n <= 0) return;
    if (n > e->cfg.max_block) n = e->cfg.max_block; /* callers are told; never overrun */
    ClvPipeline *p = e->cur;
    const int C = e->cfg.channels;
    const int H = p->hop;

    /* 1. input: history for the dry path, hops for the worker */
    for (int i = 0; i < n;) {
        int take = H - p->stage_fill;
        if (take > n - i) take = n - i;
        for (int c = 0; c < C; c++) {
            float *st = p->stage + (size_t)c * H + p->stage_fill;
            const float *src = in[c] + i;
            for (int j = 0; j < take; j++) {
                float x = src[j];
                /* NaN/Inf would poison the separator state forever: treat as silence */
                if (!(x > -1e30f && x < 1e30f)) x = 0.0f;
                st[j] = x;
                e->dry[c][(e->t + (uint64_t)(i + j)) & e->dry_mask] = x;
            }
        }
        p->stage_fill += take;
        i += take;
        if (p->stage_fill == H) {
            push_hop(e, p);
            p->stage_fill = 0;
        }
    }

    /* 2. output */
    const uint64_t lead = (uint64_t)H + (uint64_t)p->slack;
    const uint64_t D = (uint64_t)p->latency;
    for (int i = 0; i < n;) {
        const uint64_t t = e->t + (uint64_t)i;
        /* u: position in the pipeline's hop output stream */
        const int64_t u = (int64_t)(t - p->t0) - (int64_t)lead;
        int run;
        const float *vsrc[CLV_ENGINE_MAX_CHANNELS] = {NULL, NULL};
        int have = 0;
        if (u < 0) {
            run = (int)((-u) < (int64_t)(n - i) ? -u : (n - i)); /* warming up: no hop yet */
        } else {
            const uint64_t k = (uint64_t)u / (uint64_t)H;
            const int o = (int)((uint64_t)u % (uint64_t)H);
            run = H - o;
            if (run > n - i) run = n - i;
            have = fetch_hop(e, p, k);
            if (have) {
                for (int c = 0; c < C; c++) vsrc[c] = p->vhop + (size_t)c * H + o;
            } else if (p->missed_seq != k) {
                p->missed_seq = k;
                atomic_fetch_add_explicit(&e->misses, 1, memory_order_relaxed);
            }
        }
        for (int j = 0; j < run; j++) {
            const uint64_t tt = t + (uint64_t)j;
            const int dry_ok = tt >= D && tt - D >= e->dry_valid;
            const uint64_t di = (tt - D) & e->dry_mask;
            float f;
            if (have) {
                f = e->fade + e->fade_step;
                e->fade = f > 1.0f ? 1.0f : f;
            } else {
                e->fade = 0.0f;
            }
            f = e->fade;
            /* one-pole gain smoothing; snap when close: in float the step would
             * stall short of the target (step below half an ulp) */
            e->gv += (e->gv_target - e->gv) * e->gain_coef;
            e->ga += (e->ga_target - e->ga) * e->gain_coef;
            if (fabsf(e->gv - e->gv_target) < 1e-4f) e->gv = e->gv_target;
            if (fabsf(e->ga - e->ga_target) < 1e-4f) e->ga = e->ga_target;
            if (e->byp < e->byp_target) {
                e->byp += e->byp_step;
                if (e->byp > e->byp_target) e->byp = e->byp_target;
            } else if (e->byp > e->byp_target) {
                e->byp -= e->byp_step;
                if (e->byp < e->byp_target) e->byp = e->byp_target;
            }
            for (int c = 0; c < C; c++) {
                const float d = dry_ok ? e->dry[c][di] : 0.0f;
                const float v = have ? f * vsrc[c][j] : 0.0f;
                const float a = d - v;
                const int idx = i + j;
                if (vocals) vocals[c][idx] = v;
                if (accomp) accomp[c][idx] = a;
                if (mix) mix[c][idx] = (1.0f - e->byp) * (e->gv * v + e->ga * a) + e->byp * d;
            }
        }
        i += run;
    }
    e->t += (uint64_t)n;
}

void clv_engine_set_gains(ClvEngine *e, float vocal_gain, float accomp_gain)
{
    e->gv_target = clv_clampf(vocal_gain, 0.0f, 16.0f);
    e->ga_target = clv_clampf(accomp_gain, 0.0f, 16.0f);
}

void clv_engine_set_bypass(ClvEngine *e, int bypass) { e->byp_target = bypass ? 1.0f : 0.0f; }

void clv_engine_reset(ClvEngine *e)
{
    ClvPipeline *p = e->cur;
    e->epoch++;
    e->dry_valid = e->t;
    e->fade = 0.0f;
    clv_ring_clear(p->out_ring);
    p->t0 = e->t;
    p->hops_in = 0;
    p->stage_fill = 0;
    p->vhop_seq = UINT64_MAX;
    p->missed_seq = UINT64_MAX;
    p->pending_flags |= CLV_HOP_DISCONT;
}

int clv_engine_latency(const ClvEngine *e)
{
    return atomic_load_explicit(&((ClvEngine *)e)->latency, memory_order_relaxed);
}

void clv_engine_get_stats(const ClvEngine *ec, ClvEngineStats *st)
{
    ClvEngine *e = (ClvEngine *)ec;
    ClvPipeline *p = (ClvPipeline *)atomic_load_explicit(&e->cur_pub, memory_order_acquire);
    st->misses = atomic_load_explicit(&e->misses, memory_order_relaxed);
    st->latency = atomic_load_explicit(&e->latency, memory_order_relaxed);
    st->hops_done = atomic_load_explicit(&e->hops_done, memory_order_relaxed);
    st->dropped = atomic_load_explicit(&e->dropped, memory_order_relaxed);
    st->worker_load = p ? load_f(&p->load_bits) : 0.0f;
}
