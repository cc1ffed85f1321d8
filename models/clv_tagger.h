/* SPDX-License-Identifier: ISC */
/* Rolling sound-event tagger: 13 labels (the ten UrbanSound8K classes, speech,
 * singing, music), multi-label sigmoid scores every 0.5 s over the last 3 s, and
 * hysteresis that turns the scores into events with onset and offset times.
 *
 * Mono samples at any host rate go in (resampled to the model's 16 kHz with
 * libsoxr, then the log-mel front end of clv_mel.h); every `step` mel frames the
 * CNN of models/tagger.clvm runs on the last `window` frames (silence before the
 * start of the stream). All memory is allocated at creation; feeding allocates
 * nothing. The tagger is heavy work and runs on a worker thread, never the audio
 * thread: the engine copies audio to the worker through a ClvRing and the worker
 * calls clv_tagger_feed() (see clv_tag_runner.h for that plumbing).
 *
 * Results come out through callbacks during feed/finish: one ClvTagStep per
 * inference step, one ClvTagEvent when a label switches on (offset < 0) and one
 * when it switches off. Times are seconds of input since creation or reset. */
#ifndef CLV_TAGGER_H
#define CLV_TAGGER_H

#include <stddef.h>

#include "clv_common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ClvTaggerImpl ClvTagger;

#define CLV_TAG_MAX_LABELS 32

/* One inference step. */
typedef struct {
    double t;          /* seconds of input at the end of the analysed window */
    float fill;        /* share of the window holding input (the rest is the
                          silence before the stream), 0..1 */
    int n_labels;
    float score[CLV_TAG_MAX_LABELS];  /* sigmoid scores, 0..1 */
    unsigned char active[CLV_TAG_MAX_LABELS]; /* hysteresis state after this step */
} ClvTagStep;

/* A label switching on (offset < 0) or off (offset >= onset). Times are
 * estimates: onset is the step before the score crossed the on-threshold, offset
 * the time the score fell below the off-threshold minus the window length
 * (when the sound left the analysed window), never before the onset. */
typedef struct {
    int label;
    double onset;
    double offset;
    float peak;        /* highest score while active */
} ClvTagEvent;

typedef void (*ClvTagStepFn)(void *user, const ClvTagStep *step);
typedef void (*ClvTagEventFn)(void *user, const ClvTagEvent *event);

/* Loads and validates a tagger model file for input at `sample_rate` Hz
 * (8000..192000). Problems are logged with the file name. Thread: non-RT. */
ClvStatus clv_tagger_new(const char *path, int sample_rate, const ClvLog *log, ClvTagger **out);
/* Frees; NULL is a no-op. Thread: non-RT. */
void clv_tagger_free(ClvTagger *t);

/* File name of the shipped tagger. */
#define CLV_TAGGER_DEFAULT_FILE "tagger.clvm"

/* Finds the shipped tagger: $CLV_MODEL_DIR, then the install directory, then the
 * source tree's models/. Writes the path to out (cap bytes); CLV_ERR_NOT_FOUND
 * when none exists. Thread: non-RT. */
ClvStatus clv_tagger_find_default(char *out, size_t cap);

/* Labels of the model. Thread: any. */
int clv_tagger_label_count(const ClvTagger *t);
const char *clv_tagger_label(const ClvTagger *t, int i);
/* Step and window length in seconds. Thread: any. */
double clv_tagger_step_seconds(const ClvTagger *t);
double clv_tagger_window_seconds(const ClvTagger *t);
/* Multiply-accumulates of one inference step (for reports). Thread: any. */
double clv_tagger_macs_per_step(const ClvTagger *t);

/* Current on / off thresholds. Thread: any. */
float clv_tagger_threshold_on(const ClvTagger *t);
float clv_tagger_threshold_off(const ClvTagger *t);

/* Hysteresis thresholds (0 < off <= on < 1; out-of-range values are clamped,
 * off is kept <= on). Defaults come from the model file. Thread: the feeding
 * thread, between feeds. */
void clv_tagger_set_thresholds(ClvTagger *t, float on, float off);

/* Feeds n mono samples (n >= 0) and runs every inference step they complete,
 * calling on_step / on_event (either may be NULL) for each. Non-finite samples
 * count as silence. Thread: the tagger's worker (one thread at a time); no
 * allocation, locks or I/O. */
ClvStatus clv_tagger_feed(ClvTagger *t, const float *x, int n, ClvTagStepFn on_step,
                          ClvTagEventFn on_event, void *user);

/* End of input: flushes the resampler, runs a last step over whatever arrived
 * since the previous one (or a first step if none ran yet) and closes open
 * events at the end time. Call reset before feeding again. Thread: as feed. */
ClvStatus clv_tagger_finish(ClvTagger *t, ClvTagStepFn on_step, ClvTagEventFn on_event,
                            void *user);

/* Back to the state after creation (time 0, silence history, no events).
 * Thread: as feed. */
void clv_tagger_reset(ClvTagger *t);

/* The network alone on one window of log-mel frames (window x n_mels floats,
 * frame-major) -> n_labels sigmoid scores. For golden tests. Thread: as feed. */
ClvStatus clv_tagger_run_window(ClvTagger *t, const float *frames, float *scores);

/* Window length in frames and mel bands (for clv_tagger_run_window). Thread: any. */
int clv_tagger_window_frames(const ClvTagger *t);
int clv_tagger_bands(const ClvTagger *t);

#ifdef __cplusplus
}
#endif
#endif
