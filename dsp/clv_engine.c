/* SPDX-License-Identifier: ISC */
/* The engine's setup and worker half (never called on the audio thread).
 *
 * A ClvPipeline bundles one separator with its worker thread and its two rings.
 * Changing separator builds a complete new pipeline here, sends its pointer to the
 * audio thread over ctrl_in, and the audio thread swaps at a block boundary and
 * returns the old pipeline over `retired`, to be joined and freed by
 * clv_engine_collect(). The dry-signal history lives in the engine, sized once for
 * the largest latency allowed (one second plus a block), so swaps never lose input. */
#include "clv_engine_impl.h"

#include <errno.h>
#include <math.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#if defined(__SSE__)
#include <xmmintrin.h>
#endif

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void store_f(atomic_uint *a, float f)
{
    unsigned u;
    memcpy(&u, &f, sizeof u);
    atomic_store_explicit(a, u, memory_order_relaxed);
}

static void *worker_main(void *arg)
{
    ClvPipeline *p = arg;
#if defined(__SSE__)
    /* flush denormals to zero: decaying recurrent states and filter tails otherwise
     * cost hundreds of cycles per operation */
    _mm_setcsr(_mm_getcsr() | 0x8040);
#endif
    const double hop_s = (double)p->hop / (double)p->sep->sample_rate;
    float load = 0.0f;
    while (!atomic_load_explicit(&p->quit, memory_order_acquire)) {
        while (sem_wait(&p->wake) != 0 && errno == EINTR) {
        }
        const unsigned char *m;
        while ((m = clv_ring_read_begin(p->in_ring)) != NULL) {
            const ClvHopHeader *h = (const ClvHopHeader *)m;
            double t0 = now_s();
            if (h->flags & CLV_HOP_DISCONT) clv_separator_reset(p->sep);
            unsigned char *slot = clv_ring_write_begin(p->out_ring);
            while (!slot && p->offline && !atomic_load(&p->quit)) {
                struct timespec ts = {0, 100000};
                nanosleep(&ts, NULL);
                slot = clv_ring_write_begin(p->out_ring);
            }
            if (slot) {
                const float *src = (const float *)(m + sizeof *h);
                float *dst = (float *)(slot + sizeof *h);
                for (int c = 0; c < p->channels; c++) {
                    p->in_ptrs[c] = src + (size_t)c * p->hop;
                    p->out_ptrs[c] = dst + (size_t)c * p->hop;
                }
                clv_separator_process(p->sep, p->in_ptrs, p->out_ptrs);
                memcpy(slot, h, sizeof *h);
                clv_ring_write_commit(p->out_ring);
            } else {
                atomic_fetch_add_explicit(p->dropped, 1, memory_order_relaxed);
            }
            clv_ring_read_commit(p->in_ring);
            atomic_fetch_add_explicit(p->hops_done, 1, memory_order_relaxed);
            float l = (float)((now_s() - t0) / hop_s);
            load = load == 0.0f ? l : 0.95f * load + 0.05f * l;
            store_f(&p->load_bits, load);
            sem_post(&p->done);
        }
    }
    return NULL;
}

/* A worker at normal priority competes with every other process on a loaded
 * machine; hosts that run their audio thread at SCHED_FIFO ask for the worker to
 * sit just below it. Refusal (no rtprio rights) is not fatal. */
static void set_worker_priority(const ClvEngine *e, ClvPipeline *p)
{
    const int prio = e->cfg.worker_priority;
    if (prio <= 0) return;
    struct sched_param sp = {.sched_priority = prio > 98 ? 98 : prio};
    int err = pthread_setschedparam(p->thread, SCHED_FIFO, &sp);
    if (err != 0)
        clv_log(&e->cfg.log, CLV_LOG_WARNING,
                "separator worker keeps normal priority (SCHED_FIFO %d refused: %s)",
                sp.sched_priority, strerror(err));
}

static void pipeline_free(ClvPipeline *p)
{
    if (!p) return;
    if (p->thread_started) {
        atomic_store_explicit(&p->quit, 1, memory_order_release);
        sem_post(&p->wake);
        pthread_join(p->thread, NULL);
        sem_destroy(&p->wake);
        sem_destroy(&p->done);
    }
    clv_ring_free(p->in_ring);
    clv_ring_free(p->out_ring);
    free(p->stage);
    free(p->vhop);
    free(p->in_ptrs);
    free(p->out_ptrs);
    clv_separator_free(p->sep);
    free(p);
}

/* Runs the separator over a few hops of quiet noise and resets it, here on the
 * control thread: the first hops on the worker would otherwise pay for page
 * faults in the weights and buffers and for cold caches, and at a low-latency
 * point that alone can miss a deadline. */
static void warm_up(ClvPipeline *p)
{
    int hops = p->sep_latency / p->hop + 4;
    if (hops > 64) hops = 64;
    uint32_t seed = 0x9e3779b9u;
    for (int k = 0; k < hops; k++) {
        for (size_t i = 0; i < p->msg_floats; i++) {
            seed = seed * 1664525u + 1013904223u;
            p->stage[i] = 0.01f * ((float)(seed >> 8) / 8388608.0f - 1.0f);
        }
        for (int c = 0; c < p->channels; c++) {
            p->in_ptrs[c] = p->stage + (size_t)c * p->hop;
            p->out_ptrs[c] = p->vhop + (size_t)c * p->hop;
        }
        clv_separator_process(p->sep, p->in_ptrs, p->out_ptrs);
    }
    clv_separator_reset(p->sep);
    memset(p->stage, 0, sizeof(float) * p->msg_floats);
    memset(p->vhop, 0, sizeof(float) * p->msg_floats);
}

static ClvStatus pipeline_new(const ClvEngine *e, ClvSeparator *sep, ClvPipeline **out)
{
    *out = NULL;
    const ClvEngineConfig *cfg = &e->cfg;
    if (!sep) return CLV_ERR_INVALID;
    if (sep->channels != cfg->channels || sep->sample_rate != cfg->sample_rate || sep->hop < 1
        || sep->latency < 0) {
        clv_log(&cfg->log, CLV_LOG_ERROR,
                "separator %s does not fit the engine (%d ch at %d Hz, hop %d, latency %d; "
                "engine %d ch at %d Hz)",
                sep->name, sep->channels, sep->sample_rate, sep->hop, sep->latency,
                cfg->channels, cfg->sample_rate);
        clv_separator_free(sep);
        return CLV_ERR_INVALID;
    }
    const int slack = sep->headroom > e->slack ? sep->headroom : e->slack;
    if (sep->headroom < 0 || (int64_t)sep->latency + sep->hop + slack > e->max_latency) {
        clv_log(&cfg->log, CLV_LOG_ERROR, "separator %s: latency %d + hop %d exceeds %d frames",
                sep->name, sep->latency, sep->hop, e->max_latency);
        clv_separator_free(sep);
        return CLV_ERR_UNSUPPORTED;
    }
    ClvPipeline *p = calloc(1, sizeof *p);
    if (!p) {
        clv_separator_free(sep);
        return CLV_ERR_NOMEM;
    }
    p->sep = sep;
    p->channels = cfg->channels;
    p->hop = sep->hop;
    p->sep_latency = sep->latency;
    p->slack = slack;
    p->latency = sep->latency + sep->hop + slack;
    p->msg_floats = (size_t)p->channels * (size_t)p->hop;
    p->offline = cfg->mode == CLV_ENGINE_OFFLINE;
    p->vhop_seq = UINT64_MAX;
    p->missed_seq = UINT64_MAX;
    atomic_init(&p->quit, 0);
    p->hops_done = &((ClvEngine *)e)->hops_done;
    p->dropped = &((ClvEngine *)e)->dropped;
    atomic_init(&p->load_bits, 0u);
    /* enough slots that neither ring fills while the worker keeps up: everything in
     * flight spans at most latency + block frames */
    size_t slots = (size_t)((p->latency + cfg->max_block) / p->hop) + 8;
    size_t msg = sizeof(ClvHopHeader) + sizeof(float) * p->msg_floats;
    ClvStatus st = clv_ring_new(msg, slots, &p->in_ring);
    if (st == CLV_OK) st = clv_ring_new(msg, slots, &p->out_ring);
    p->stage = calloc(p->msg_floats, sizeof(float));
    p->vhop = calloc(p->msg_floats, sizeof(float));
    p->in_ptrs = calloc((size_t)p->channels, sizeof *p->in_ptrs);
    p->out_ptrs = calloc((size_t)p->channels, sizeof *p->out_ptrs);
    if (st == CLV_OK && (!p->stage || !p->vhop || !p->in_ptrs || !p->out_ptrs)) st = CLV_ERR_NOMEM;
    if (st == CLV_OK) warm_up(p);
    if (st == CLV_OK && (sem_init(&p->wake, 0, 0) != 0 || sem_init(&p->done, 0, 0) != 0))
        st = CLV_ERR_THREAD;
    if (st == CLV_OK) {
        if (pthread_create(&p->thread, NULL, worker_main, p) != 0) {
            sem_destroy(&p->wake);
            sem_destroy(&p->done);
            st = CLV_ERR_THREAD;
        } else {
            p->thread_started = 1;
            set_worker_priority(e, p);
        }
    }
    if (st != CLV_OK) {
        pipeline_free(p);
        return st;
    }
    *out = p;
    return CLV_OK;
}

ClvStatus clv_engine_new(const ClvEngineConfig *cfg, ClvSeparator *sep, ClvEngine **out)
{
    *out = NULL;
    if (!cfg || cfg->sample_rate < 8000 || cfg->sample_rate > 192000 || cfg->channels < 1
        || cfg->channels > CLV_ENGINE_MAX_CHANNELS || cfg->max_block < 1
        || cfg->max_block > (1 << 16) || cfg->slack < 0 || cfg->slack > (1 << 18)
        || cfg->worker_priority < 0 || cfg->worker_priority > 99) {
        clv_separator_free(sep);
        return CLV_ERR_INVALID;
    }
    ClvEngine *e = calloc(1, sizeof *e);
    if (!e) {
        clv_separator_free(sep);
        return CLV_ERR_NOMEM;
    }
    e->cfg = *cfg;
    e->slack = cfg->slack > 0 ? cfg->slack : cfg->max_block;
    e->max_latency = cfg->sample_rate + e->slack + cfg->max_block; /* one second of model delay */
    uint64_t need = (uint64_t)e->max_latency + (uint64_t)cfg->max_block + 1, size = 1;
    while (size < need) size <<= 1;
    e->dry_mask = size - 1;
    ClvStatus st = CLV_OK;
    for (int c = 0; c < cfg->channels && st == CLV_OK; c++) {
        e->dry[c] = calloc(size, sizeof(float));
        if (!e->dry[c]) st = CLV_ERR_NOMEM;
    }
    if (st == CLV_OK) st = clv_ring_new(sizeof(ClvPipeline *), CLV_ENGINE_CTRL_SLOTS, &e->ctrl_in);
    if (st == CLV_OK) st = clv_ring_new(sizeof(ClvPipeline *), CLV_ENGINE_CTRL_SLOTS, &e->retired);
    if (st != CLV_OK) {
        clv_separator_free(sep);
        clv_engine_free(e);
        return st;
    }
    e->gv = e->gv_target = 1.0f;
    e->ga = e->ga_target = 1.0f;
    /* ~10 ms gain time constant, ~20 ms bypass crossfade, ~3 ms separation fade-in */
    e->gain_coef = (float)(1.0 - exp(-1.0 / (0.010 * cfg->sample_rate)));
    e->byp_step = (float)(1.0 / (0.020 * cfg->sample_rate));
    e->fade_step = (float)(1.0 / (0.003 * cfg->sample_rate));
    atomic_init(&e->latency, 0);
    atomic_init(&e->misses, 0);
    atomic_init(&e->hops_done, 0);
    atomic_init(&e->dropped, 0);
    atomic_init(&e->cur_pub, 0);
    ClvPipeline *p;
    st = pipeline_new(e, sep, &p);
    if (st != CLV_OK) {
        clv_engine_free(e);
        return st;
    }
    e->cur = p;
    atomic_store(&e->cur_pub, (uintptr_t)p);
    atomic_store(&e->latency, p->latency);
    *out = e;
    return CLV_OK;
}

void clv_engine_collect(ClvEngine *e)
{
    ClvPipeline *p;
    while (clv_ring_read(e->retired, &p)) pipeline_free(p);
}

void clv_engine_free(ClvEngine *e)
{
    if (!e) return;
    if (e->retired) clv_engine_collect(e);
    ClvPipeline *p;
    if (e->ctrl_in)
        while (clv_ring_read(e->ctrl_in, &p)) pipeline_free(p); /* never swapped in */
    pipeline_free(e->cur);
    for (int c = 0; c < CLV_ENGINE_MAX_CHANNELS; c++) free(e->dry[c]);
    clv_ring_free(e->ctrl_in);
    clv_ring_free(e->retired);
    free(e);
}

ClvStatus clv_engine_set_separator(ClvEngine *e, ClvSeparator *sep)
{
    clv_engine_collect(e);
    ClvPipeline *p;
    ClvStatus st = pipeline_new(e, sep, &p);
    if (st != CLV_OK) return st;
    if (!clv_ring_write(e->ctrl_in, &p)) {
        pipeline_free(p);
        return CLV_ERR_STATE; /* too many swaps pending: the audio thread is not running */
    }
    return CLV_OK;
}

const char *clv_engine_separator_name(const ClvEngine *ec)
{
    ClvEngine *e = (ClvEngine *)ec;
    ClvPipeline *p = (ClvPipeline *)atomic_load_explicit(&e->cur_pub, memory_order_acquire);
    return p ? p->sep->name : "";
}
