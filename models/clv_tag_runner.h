/* SPDX-License-Identifier: ISC */
/* Runs a ClvTagger on its own worker thread, fed from the audio thread.
 *
 * The audio thread pushes mono samples (clv_tag_runner_push: realtime-safe, copies
 * into fixed-size messages of an SPSC ring and never waits; when the worker falls
 * behind and the ring is full the samples are dropped and counted). The worker
 * drains the ring, feeds the tagger and publishes every step and event whole on
 * two more rings, which one consumer thread (UI, plugin's run(), CLI) polls. */
#ifndef CLV_TAG_RUNNER_H
#define CLV_TAG_RUNNER_H

#include <stdint.h>

#include "clv_common.h"
#include "clv_tagger.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ClvTagRunnerImpl ClvTagRunner;

/* Loads the model for `sample_rate` and starts the worker. Ring capacity holds
 * `buffer_seconds` of audio (0.1..60; clamped). Thread: non-RT. */
ClvStatus clv_tag_runner_new(const char *model_path, int sample_rate, double buffer_seconds,
                             const ClvLog *log, ClvTagRunner **out);
/* Stops and joins the worker, frees everything; NULL is a no-op. Thread: non-RT,
 * with the producer and consumer no longer calling. */
void clv_tag_runner_free(ClvTagRunner *r);

/* Producer: queues n mono samples (any n >= 0). Returns the number dropped
 * because the ring was full. Thread: audio (one producer). */
CLV_RT int clv_tag_runner_push(ClvTagRunner *r, const float *x, int n);

/* Consumer: pops the oldest step / event not yet read; 1 when one was written,
 * 0 when none is waiting. Thread: one consumer. */
CLV_RT int clv_tag_runner_poll_step(ClvTagRunner *r, ClvTagStep *out);
CLV_RT int clv_tag_runner_poll_event(ClvTagRunner *r, ClvTagEvent *out);

/* Samples dropped on push, steps/events lost because the consumer did not poll
 * (snapshots). Thread: any. */
uint64_t clv_tag_runner_dropped_samples(const ClvTagRunner *r);
uint64_t clv_tag_runner_lost_results(const ClvTagRunner *r);

/* Waits until the worker has processed everything pushed so far (for tests and
 * file tools; polls, never called on the audio thread). Thread: non-RT. */
void clv_tag_runner_drain(ClvTagRunner *r);

/* The tagger (labels, step length); do not feed it directly. Thread: any. */
const ClvTagger *clv_tag_runner_tagger(const ClvTagRunner *r);

#ifdef __cplusplus
}
#endif
#endif
