/* SPDX-License-Identifier: ISC */
/* The interface every separator implements, training-free or neural.
 *
 * A separator is a streaming object at the host sample rate. The engine's worker
 * thread feeds it one hop of `hop` input frames per call and receives `hop` frames
 * of vocal estimate. The estimate is delayed by `latency` frames: the vocals written
 * by call k belong to input frames [k*hop - latency, (k+1)*hop - latency).
 * The engine forms accompaniment = delayed input - vocals, so stems always sum to
 * the input whatever the separator does.
 *
 * Separators are created off the audio thread (`create` in a ClvSeparatorInfo),
 * driven only by the worker thread, and freed off the audio thread. */
#ifndef CLV_SEPARATOR_H
#define CLV_SEPARATOR_H

#include "clv_common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ClvSeparator ClvSeparator;

typedef struct {
    /* Process one hop. in[c] and vocals[c] hold `hop` frames for each of
     * `channels` channels. Must not allocate or lock. Thread: worker. */
    void (*process)(ClvSeparator *sep, const float *const *in, float *const *vocals);
    /* Forget all history (as if freshly created). Thread: worker. */
    void (*reset)(ClvSeparator *sep);
    /* Release everything. Thread: non-RT. */
    void (*free)(ClvSeparator *sep);
} ClvSeparatorOps;

/* Common header; implementations embed it as their first member. */
struct ClvSeparator {
    const ClvSeparatorOps *ops;
    int channels;    /* 1 or 2 */
    int sample_rate; /* host rate in Hz */
    int hop;         /* frames per process() call, >= 1 */
    int latency;     /* algorithmic delay in frames at the host rate, >= 0 */
    int headroom;    /* worker time the separator needs per hop, in frames, when its cost
                      * comes in bursts (e.g. several network frames in one hop); the
                      * engine's slack is at least this. 0 = none. */
    char name[64];   /* registry name, for messages */
};

/* Convenience wrappers. Thread: as the op. */
static inline void clv_separator_process(ClvSeparator *s, const float *const *in, float *const *v)
{
    s->ops->process(s, in, v);
}
static inline void clv_separator_reset(ClvSeparator *s) { s->ops->reset(s); }
/* Frees a separator; NULL is a no-op. Thread: non-RT. */
static inline void clv_separator_free(ClvSeparator *s)
{
    if (s) s->ops->free(s);
}

#ifdef __cplusplus
}
#endif
#endif
