/* SPDX-License-Identifier: ISC */
/* Realtime part of the rate bridge: one host hop. Nothing here allocates, locks
 * or does I/O; every buffer was sized in clv_rate_bridge.c.
 *
 * Host input -> down-converter -> model-rate fifo (interleaved); each full block
 * is de-interleaved, run through the callback, re-interleaved; the vocals of all
 * blocks of this hop go through the up-converter in one call into the host-rate
 * queue, which was pre-filled at reset so that each hop hands out exactly `hop`
 * frames. */
#include <string.h>

#include "clv_rate_bridge_impl.h"

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
    if (nb == 0) return;
    const size_t n_in = (size_t)nb * M;
    size_t got;
    if (b->up) {
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
        for (int i = 0; i < H; i++) b->inter[(size_t)i * C + c] = in[c][i];
    if (b->down) {
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
    for (int c = 0; c < C; c++) {
        for (int i = 0; i < n; i++) vocals[c][i] = b->outq[(size_t)i * C + c];
        for (int i = n; i < H; i++) vocals[c][i] = 0.0f;
    }
    b->nout -= n;
    memmove(b->outq, b->outq + (size_t)n * C, sizeof(float) * (size_t)b->nout * C);
}

void clv_rate_bridge_reset(ClvRateBridge *b)
{
    const int C = b->C;
    if (b->down) clv_resample_reset(b->down);
    b->nfifo = 0;
    b->nout = b->prefill;
    b->produced = b->prefill;
    memset(b->outq, 0, sizeof(float) * (size_t)b->prefill * C);
    if (b->up) {
        clv_resample_reset(b->up);
        if (b->align > 0) {
            size_t got = clv_resample_process(b->up, b->zeros, (size_t)b->align,
                                              b->outq + (size_t)b->nout * C,
                                              (size_t)(b->cap_out - b->nout));
            b->nout += (int)got;
            b->produced += (long)got;
        }
    }
}
