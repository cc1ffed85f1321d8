/* SPDX-License-Identifier: ISC */
/* Tagger worker thread between three SPSC rings.
 *
 * in:     audio thread -> worker, messages of CLV_TAG_RUNNER_BLOCK samples. The
 *         producer fills the slot it got from write_begin across push calls and
 *         publishes it (one release store in clv_ring_write_commit) only when full,
 *         so the worker never sees a partial block; the last partial block (at
 *         most 255 samples) waits for more audio.
 * steps, events: worker -> consumer, whole ClvTagStep / ClvTagEvent messages.
 * The worker sleeps 2 ms when the input ring is empty (no locks or condition
 * variables the audio thread would have to signal). */
#include "clv_tag_runner.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clv_ring.h"

#define CLV_TAG_RUNNER_BLOCK 256

typedef struct {
    float x[CLV_TAG_RUNNER_BLOCK];
} Block;

struct ClvTagRunnerImpl {
    ClvTagger *tagger;
    ClvRing *in, *steps, *events;
    /* producer side (audio thread) */
    Block *cur;     /* slot being filled, NULL when none is held */
    int fill;
    /* shared */
    atomic_int stop;
    atomic_ullong pushed_blocks;    /* blocks published by the producer */
    atomic_ullong processed_blocks; /* blocks the worker has fed */
    atomic_ullong dropped, lost;
    pthread_t thread;
    int started;
};

static void put_step(void *user, const ClvTagStep *s)
{
    ClvTagRunner *r = user;
    if (!clv_ring_write(r->steps, s)) atomic_fetch_add_explicit(&r->lost, 1, memory_order_relaxed);
}

static void put_event(void *user, const ClvTagEvent *e)
{
    ClvTagRunner *r = user;
    if (!clv_ring_write(r->events, e)) atomic_fetch_add_explicit(&r->lost, 1, memory_order_relaxed);
}

static void *worker(void *arg)
{
    ClvTagRunner *r = arg;
    while (!atomic_load_explicit(&r->stop, memory_order_acquire)) {
        const Block *b = clv_ring_read_begin(r->in);
        if (!b) {
            struct timespec ts = {0, 2000000};
            nanosleep(&ts, NULL);
            continue;
        }
        clv_tagger_feed(r->tagger, b->x, CLV_TAG_RUNNER_BLOCK, put_step, put_event, r);
        clv_ring_read_commit(r->in);
        atomic_fetch_add_explicit(&r->processed_blocks, 1, memory_order_release);
    }
    return NULL;
}

ClvStatus clv_tag_runner_new(const char *model_path, int sample_rate, double buffer_seconds,
                             const ClvLog *log, ClvTagRunner **out)
{
    if (!out) return CLV_ERR_INVALID;
    *out = NULL;
    ClvTagRunner *r = calloc(1, sizeof *r);
    if (!r) return CLV_ERR_NOMEM;
    ClvStatus st = clv_tagger_new(model_path, sample_rate, log, &r->tagger);
    if (st != CLV_OK) goto fail;
    const double secs = clv_clampf((float)buffer_seconds, 0.1f, 60.0f);
    size_t slots = (size_t)(secs * sample_rate / CLV_TAG_RUNNER_BLOCK) + 2;
    if ((st = clv_ring_new(sizeof(Block), slots, &r->in)) != CLV_OK) goto fail;
    if ((st = clv_ring_new(sizeof(ClvTagStep), 256, &r->steps)) != CLV_OK) goto fail;
    if ((st = clv_ring_new(sizeof(ClvTagEvent), 256, &r->events)) != CLV_OK) goto fail;
    atomic_init(&r->stop, 0);
    atomic_init(&r->pushed_blocks, 0);
    atomic_init(&r->processed_blocks, 0);
    atomic_init(&r->dropped, 0);
    atomic_init(&r->lost, 0);
    if (pthread_create(&r->thread, NULL, worker, r) != 0) {
        clv_log(log, CLV_LOG_ERROR, "%s: could not start the tagger thread", model_path);
        st = CLV_ERR_THREAD;
        goto fail;
    }
    r->started = 1;
    *out = r;
    return CLV_OK;
fail:
    clv_tag_runner_free(r);
    return st;
}

void clv_tag_runner_free(ClvTagRunner *r)
{
    if (!r) return;
    if (r->started) {
        atomic_store_explicit(&r->stop, 1, memory_order_release);
        pthread_join(r->thread, NULL);
    }
    clv_ring_free(r->in);
    clv_ring_free(r->steps);
    clv_ring_free(r->events);
    clv_tagger_free(r->tagger);
    free(r);
}

int clv_tag_runner_push(ClvTagRunner *r, const float *x, int n)
{
    int dropped = 0;
    int i = 0;
    while (i < n) {
        if (!r->cur) {
            r->cur = clv_ring_write_begin(r->in);
            r->fill = 0;
            if (!r->cur) { /* worker behind: drop the rest of this call */
                dropped = n - i;
                atomic_fetch_add_explicit(&r->dropped, (unsigned long long)dropped,
                                          memory_order_relaxed);
                return dropped;
            }
        }
        int take = CLV_TAG_RUNNER_BLOCK - r->fill;
        if (take > n - i) take = n - i;
        memcpy(r->cur->x + r->fill, x + i, sizeof(float) * (size_t)take);
        r->fill += take;
        i += take;
        if (r->fill == CLV_TAG_RUNNER_BLOCK) {
            clv_ring_write_commit(r->in);
            r->cur = NULL;
            atomic_fetch_add_explicit(&r->pushed_blocks, 1, memory_order_release);
        }
    }
    return dropped;
}

int clv_tag_runner_poll_step(ClvTagRunner *r, ClvTagStep *out)
{
    return clv_ring_read(r->steps, out);
}

int clv_tag_runner_poll_event(ClvTagRunner *r, ClvTagEvent *out)
{
    return clv_ring_read(r->events, out);
}

uint64_t clv_tag_runner_dropped_samples(const ClvTagRunner *r)
{
    return atomic_load_explicit(&((ClvTagRunner *)r)->dropped, memory_order_relaxed);
}

uint64_t clv_tag_runner_lost_results(const ClvTagRunner *r)
{
    return atomic_load_explicit(&((ClvTagRunner *)r)->lost, memory_order_relaxed);
}

void clv_tag_runner_drain(ClvTagRunner *r)
{
    const unsigned long long want = atomic_load_explicit(&r->pushed_blocks, memory_order_acquire);
    while (atomic_load_explicit(&r->processed_blocks, memory_order_acquire) < want) {
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
}

const ClvTagger *clv_tag_runner_tagger(const ClvTagRunner *r) { return r->tagger; }
