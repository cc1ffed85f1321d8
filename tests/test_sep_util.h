/* SPDX-License-Identifier: ISC */
/* Test separators with exactly known behaviour: vocals = gain * input delayed by
 * `latency` frames; optionally slow (sleeps on some hops) to provoke misses. */
#ifndef TEST_SEP_UTIL_H
#define TEST_SEP_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clv_separator.h"

typedef struct {
    ClvSeparator base;
    float gain;
    int slow_every; /* 0: never sleep */
    int slow_ms;
    long calls;
    float *hist[2]; /* delay line, latency + hop */
    int hist_len;
} DelaySep;

static void dsep_process(ClvSeparator *s, const float *const *in, float *const *v)
{
    DelaySep *d = (DelaySep *)s;
    const int H = s->hop, L = s->latency;
    for (int c = 0; c < s->channels; c++) {
        float *h = d->hist[c];
        memmove(h, h + H, sizeof(float) * (size_t)L);
        memcpy(h + L, in[c], sizeof(float) * (size_t)H);
        for (int i = 0; i < H; i++) v[c][i] = d->gain * h[i];
    }
    d->calls++;
    if (d->slow_every && d->calls % d->slow_every == 0) {
        struct timespec ts = {0, (long)d->slow_ms * 1000000L};
        nanosleep(&ts, NULL);
    }
}
static void dsep_reset(ClvSeparator *s)
{
    DelaySep *d = (DelaySep *)s;
    for (int c = 0; c < s->channels; c++) memset(d->hist[c], 0, sizeof(float) * (size_t)d->hist_len);
}
static void dsep_free(ClvSeparator *s)
{
    DelaySep *d = (DelaySep *)s;
    free(d->hist[0]);
    free(d->hist[1]);
    free(d);
}
static const ClvSeparatorOps dsep_ops = {dsep_process, dsep_reset, dsep_free};

static ClvSeparator *delay_sep_new(int rate, int channels, int hop, int latency, float gain)
{
    DelaySep *d = calloc(1, sizeof *d);
    d->base.ops = &dsep_ops;
    d->base.channels = channels;
    d->base.sample_rate = rate;
    d->base.hop = hop;
    d->base.latency = latency;
    snprintf(d->base.name, sizeof d->base.name, "delay%d", latency);
    d->gain = gain;
    d->hist_len = latency + hop;
    for (int c = 0; c < channels; c++) d->hist[c] = calloc((size_t)d->hist_len, sizeof(float));
    return &d->base;
}

#endif
