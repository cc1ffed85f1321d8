/* SPDX-License-Identifier: ISC */
/* Realtime part of the rate bridge: one host hop. Nothing here allocates, locks
 * or does I/O; every buffer was sized in clv_rate_bridge.c.
 *
 * Host input -> down-converter -> model-rate fifo (interleaved); each full block
 * is de-interleaved, run through the callback, re-interleaved; the vocals of all
 * blocks of this hop go through the up-converter in one call into the host-rate
 * queue, which was pre-filled at reset so that each hop hands out exactly `hop`
 * frames. */
#include <math.h>
#include <string.h>

#include "clv_rate_bridge_impl.h"

/* sum of g[k] x[k], k < T: eight partial sums, so the multiply-adds do not wait on
 * one another (one running sum made the 256-tap converters cost about 0.04 of a
 * core at 44.1 kHz stereo) and the compiler can keep them in one vector */
static inline float dot(const float *g, const float *x, int T)
{
    float a[8] = {0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f};
    int k = 0;
    for (; k + 8 <= T; k += 8)
        for (int j = 0; j < 8; j++) a[j] += g[k + j] * x[k + j];
    float acc = ((a[0] + a[4]) + (a[1] + a[5])) + ((a[2] + a[6]) + (a[3] + a[7]));
    for (; k < T; k++) acc += g[k] * x[k];
    return acc;
}

size_t clv_br_fir_process(BrFir *f, const float *in, size_t n, float *out, size_t max_out)
{
    const int T = f->T, C = f->C;
    size_t got = 0;
    for (size_t i = 0; i < n; i++) {
        f->p = f->p + 1 == T ? 0 : f->p + 1;
        for (int c = 0; c < C; c++) {
            const float v = in ? in[i * C + c] : 0.0f;
            f->hist[(size_t)c * 2 * T + f->p] = v;
            f->hist[(size_t)c * 2 * T + f->p + T] = v;
        }
        while (f->t < f->L) {
            if (got < max_out) {
                const float *g = f->g + (size_t)f->t * T;
                for (int c = 0; c < C; c++) {
                    out[got * C + c] = dot(g, f->hist + (size_t)c * 2 * T + f->p + 1, T);
                }
                got++;
            }
            f->t += f->M;
        }
        f->t -= f->L;
    }
    return got;
}

void clv_br_fir_reset(BrFir *f)
{
    memset(f->hist, 0, sizeof(float) * (size_t)f->C * 2 * f->T);
    f->p = 0;
    f->t = 0;
}

static void run_blocks(ClvRateBridge *b)
{
    const int C = b->C, M = b->M;
    int nb = 0;
    while (b->nfifo >= M && nb < b->max_blocks) {
        for (int c = 0; c < C; c++)
            for (int i = 0; i < M; i++) b->bin[c][i] = b->fifo[(size_t)i * C + c];
        if (b->measuring) {
            for (int c = 0; c < C; c++) memset(b->bout[c], 0, sizeof(float) * (size_t)M);
        } else {
            b->cfg.block(b->cfg.user, (const float *const *)b->bin, b->bout);
        }
        float *dst = b->vm + (size_t)nb * M * C;
        for (int c = 0; c < C; c++)
            for (int i = 0; i < M; i++) dst[(size_t)i * C + c] = b->bout[c][i];
        nb++;
        b->nfifo -= M;
        memmove(b->fifo, b->fifo + (size_t)M * C, sizeof(float) * (size_t)b->nfifo * C);
    }
    if (b->measuring && nb > b->burst) b->burst = nb;
    if (nb == 0) return;
    const size_t n_in = (size_t)nb * M;
    size_t got;
    if (b->fup) {
        got = clv_br_fir_process(b->fup, b->vm, n_in, b->outq + (size_t)b->nout * C,
                                 (size_t)(b->cap_out - b->nout));
    } else if (b->up) {
        got = clv_resample_process(b->up, b->vm, n_in, b->outq + (size_t)b->nout * C,
                                   (size_t)(b->cap_out - b->nout));
    } else {
        size_t room = (size_t)(b->cap_out - b->nout);
        got = n_in < room ? n_in : room;
        memcpy(b->outq + (size_t)b->nout * C, b->vm, sizeof(float) * got * C);
    }
    b->nout += (int)got;
    b->produced += (long)got;
}

void clv_rate_bridge_process(ClvRateBridge *b, const float *const *in, float *const *vocals)
{
    const int C = b->C, H = b->H;
    for (int c = 0; c < C; c++)
        for (int i = 0; i < H; i++) {
            b->inter[(size_t)i * C + c] = in[c][i];
            if (fabsf(in[c][i]) >= CLV_BR_QUIET && b->frames_in + i > b->last_loud)
                b->last_loud = b->frames_in + i; /* channels are visited one after the other */
        }
    if (b->fdown) {
        size_t got = clv_br_fir_process(b->fdown, b->inter, (size_t)H,
                                        b->fifo + (size_t)b->nfifo * C,
                                        (size_t)(b->cap_fifo - b->nfifo));
        b->nfifo += (int)got;
    } else if (b->down) {
        size_t got = clv_resample_process(b->down, b->inter, (size_t)H,
                                          b->fifo + (size_t)b->nfifo * C,
                                          (size_t)(b->cap_fifo - b->nfifo));
        b->nfifo += (int)got;
    } else {
        int n = b->cap_fifo - b->nfifo < H ? b->cap_fifo - b->nfifo : H;
        memcpy(b->fifo + (size_t)b->nfifo * C, b->inter, sizeof(float) * (size_t)n * C);
        b->nfifo += n;
    }
    run_blocks(b);
    const int n = b->nout < H ? b->nout : H;
    if (n < H) b->underruns++; /* never in a correct setup: the prefill covers the worst case */
    /* Output frame i belongs to input frame t = frames_in + i - latency; the input
     * from t - guard up to now is all quiet when last_loud < t - guard, which holds
     * from frame `gate` of this hop on. */
    long g = b->last_loud - b->frames_in + b->latency + CLV_BR_QUIET_GUARD + 1;
    const int gate = g < 0 ? 0 : g > n ? n : (int)g;
    for (int c = 0; c < C; c++) {
        for (int i = 0; i < gate; i++) vocals[c][i] = b->outq[(size_t)i * C + c];
        for (int i = gate; i < H; i++) vocals[c][i] = 0.0f;
    }
    b->frames_in += H;
    b->nout -= n;
    memmove(b->outq, b->outq + (size_t)n * C, sizeof(float) * (size_t)b->nout * C);
}

void clv_rate_bridge_reset(ClvRateBridge *b)
{
    const int C = b->C;
    if (b->down) clv_resample_reset(b->down);
    if (b->fdown) clv_br_fir_reset(b->fdown);
    b->nfifo = 0;
    b->frames_in = 0;
    b->last_loud = -(1L << 40);
    b->nout = b->prefill;
    b->produced = b->prefill;
    memset(b->outq, 0, sizeof(float) * (size_t)b->prefill * C);
    if (b->up || b->fup) {
        if (b->up) clv_resample_reset(b->up);
        if (b->fup) clv_br_fir_reset(b->fup);
        if (b->align > 0) {
            float *dst = b->outq + (size_t)b->nout * C;
            const size_t room = (size_t)(b->cap_out - b->nout);
            size_t got = b->fup ? clv_br_fir_process(b->fup, b->zeros, (size_t)b->align, dst, room)
                                : clv_resample_process(b->up, b->zeros, (size_t)b->align, dst, room);
            b->nout += (int)got;
            b->produced += (long)got;
        }
    }
}
