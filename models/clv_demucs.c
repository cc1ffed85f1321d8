/* SPDX-License-Identifier: ISC */
/* Setup of the Demucs-style separator: binding and validating the model file,
 * sizing the per-channel streaming state, and the separator on the shared rate
 * bridge (models/clv_rate_bridge.h), which does the resampling, queues and the
 * measured integer latency.
 *
 * Latency at the model rate: bottleneck frame j needs input up to j*step + step
 * + lookahead, so fed in steps the network could hand out final samples after
 * (ceil((step + lookahead) / step) - 1) steps; the file states the latency it
 * was exported with (latency_samples_model_rate, a multiple of the step no
 * smaller than that minimum), and the output delay line makes it exactly that. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clv_demucs_impl.h"

/* Worst-case worker time of one 64-sample network step (both channels, both
 * branches) as a fraction of its 4 ms: the measured single-thread cost is about
 * 0.06 (tests/bench_demucs.c), so this leaves a factor 4 for a loaded core. It
 * sets the worker headroom at the low-latency point; the quality point, where a
 * few ms do not matter, keeps a whole hop (fewer misses at small host blocks:
 * 0 against 11 of 1503 hops at 64-frame blocks in docs/RESULTS.md's run). */
#define DM_BLOCK_LOAD 0.25

static int imax(int a, int b) { return a > b ? a : b; }

static ClvStatus meta(const ClvClvm *m, const char *key, int lo, int hi, int *out)
{
    return clv_clvm_meta_int_range(m, key, lo, hi, out); /* logs missing / out of range */
}

ClvStatus clv_demucs_net_new(const ClvClvm *m, const ClvLog *log, ClvDemucsNet **out)
{
    *out = NULL;
    const char *path = clv_clvm_path(m);
    const char *arch = NULL;
    if (clv_clvm_meta_string(m, "arch", &arch) != CLV_OK) return CLV_ERR_FORMAT;
    const int hybrid = strcmp(arch, CLV_DEMUCS_HYBRID_ARCH) == 0;
    if (!hybrid && strcmp(arch, CLV_DEMUCS_ARCH) != 0) {
        clv_log(log, CLV_LOG_ERROR, "%s: architecture '%s', expected '%s' or '%s'", path, arch,
                CLV_DEMUCS_ARCH, CLV_DEMUCS_HYBRID_ARCH);
        return CLV_ERR_FORMAT;
    }
    ClvDemucsNet *n = calloc(1, sizeof *n);
    if (!n) return CLV_ERR_NOMEM;
    ClvStatus st;
    if ((st = meta(m, "sample_rate", 8000, 48000, &n->rate)) != CLV_OK ||
        (st = meta(m, "depth", 1, DM_MAX_DEPTH, &n->depth)) != CLV_OK ||
        (st = meta(m, "hidden", 1, 1024, &n->hidden)) != CLV_OK ||
        (st = meta(m, "growth", 1, 4, &n->growth)) != CLV_OK ||
        (st = meta(m, "kernel", 2, 64, &n->K)) != CLV_OK ||
        (st = meta(m, "stride", 2, 16, &n->S)) != CLV_OK ||
        (st = meta(m, "rnn_layers", 1, CLV_RNN_MAX_LAYERS, &n->rnn_layers)) != CLV_OK ||
        (st = meta(m, "step", 1, 1 << 16, &n->step)) != CLV_OK ||
        (st = meta(m, "lookahead", 0, 1 << 20, &n->lookahead)) != CLV_OK ||
        (st = meta(m, "latency_samples_model_rate", 0, 1 << 20, &n->latency)) != CLV_OK)
        goto fail;
    /* the sizes the PyTorch model derives, recomputed: the file must agree */
    long step = 1, width = n->hidden;
    for (int l = 0; l < n->depth; l++) {
        step *= n->S;
        if (l > 0) width *= n->growth;
    }
    const long la = step <= 1 ? 0 : (long)(n->K - n->S) * (step - 1) / (n->S - 1);
    const long min_lat = ((step + la + step - 1) / step - 1) * step;
    if (n->K < n->S || step != n->step || la != n->lookahead || width > 4096 ||
        n->latency < min_lat || n->latency % n->step != 0) {
        clv_log(log, CLV_LOG_ERROR,
                "%s: inconsistent sizes (depth %d, kernel %d, stride %d: step %ld and lookahead "
                "%ld expected, file says %d and %d; latency %d must be a multiple of the step and "
                "at least %ld; kernel must be >= stride; widest layer %ld must be <= 4096)",
                path, n->depth, n->K, n->S, step, la, n->step, n->lookahead, n->latency, min_lat,
                width);
        st = CLV_ERR_FORMAT;
        goto fail;
    }
    n->block = n->step;
    int cin = 1, h = n->hidden;
    char p[64];
    for (int l = 0; l < n->depth; l++) {
        DmEnc *e = &n->enc[l];
        e->cin = cin;
        e->h = h;
        e->conv = (ClvConv1d){cin, h, n->K, n->S, 0, 1, 1, NULL, NULL};
        e->glu = (ClvConv1d){h, 2 * h, 1, 1, 0, 1, 1, NULL, NULL};
        snprintf(p, sizeof p, "enc.%d.conv", l);
        if ((st = clv_nn_bind_conv1d(m, p, &e->conv)) != CLV_OK) goto fail;
        snprintf(p, sizeof p, "enc.%d.glu", l);
        if ((st = clv_nn_bind_conv1d(m, p, &e->glu)) != CLV_OK) goto fail;
        n->params += (long)h * cin * n->K + h + 2L * h * h + 2L * h;
        cin = h;
        h *= n->growth;
    }
    n->bott = cin;
    for (int i = 0; i < n->depth; i++) {
        const DmEnc *e = &n->enc[n->depth - 1 - i];
        DmDec *d = &n->dec[i];
        d->hi = e->h;
        d->co = e->cin;
        d->glu = (ClvConv1d){d->hi, 2 * d->hi, 1, 1, 0, 1, 1, NULL, NULL};
        d->convt = (ClvConvT1d){d->hi, d->co, n->K, n->S, 0, 0, 1, 1, NULL, NULL};
        snprintf(p, sizeof p, "dec.%d.glu", i);
        if ((st = clv_nn_bind_conv1d(m, p, &d->glu)) != CLV_OK) goto fail;
        snprintf(p, sizeof p, "dec.%d.convt", i);
        if ((st = clv_nn_bind_conv_transpose1d(m, p, &d->convt)) != CLV_OK) goto fail;
        d->convt_bias = d->convt.bias;
        d->convt.bias = NULL;
        n->params += 2L * d->hi * d->hi + 2L * d->hi + (long)d->hi * d->co * n->K + d->co;
    }
    for (int l = 0; l < n->rnn_layers; l++) {
        if ((st = clv_nn_bind_rnn_cell(m, "gru", CLV_RNN_GRU, l, 0, n->bott, n->bott, &n->gru[l])) !=
            CLV_OK)
            goto fail;
        n->params += 6L * n->bott * n->bott + 6L * n->bott;
    }
    if (hybrid) {
        if ((st = clv_hourglass_net_new_branch(m, "spec_", "spec.", log, &n->spec)) != CLV_OK)
            goto fail;
        const ClvHourglassNet *h = n->spec;
        const int hop = clv_hourglass_net_hop(h);
        const int lat = clv_hourglass_net_n_fft(h) - hop + clv_hourglass_net_lookahead(h) * hop;
        /* the spectral hop is whole time steps; the time branch, which may lag less,
         * is delayed to the spectral branch's latency, which the file must state */
        if (hop % n->step != 0 || hop > 4096 || lat != n->latency || lat < min_lat) {
            clv_log(log, CLV_LOG_ERROR,
                    "%s: spectral branch hop %d must be a multiple of the time branch's step %d "
                    "(at most 4096), and its latency %d samples must equal the file's latency %d "
                    "and be at least the time branch's %ld",
                    path, hop, n->step, lat, n->latency, min_lat);
            st = CLV_ERR_FORMAT;
            goto fail;
        }
        n->block = hop;
        n->params += clv_hourglass_net_params(h);
    }
    *out = n;
    return CLV_OK;
fail:
    clv_demucs_net_free(n);
    return st;
}

void clv_demucs_net_free(ClvDemucsNet *n)
{
    if (!n) return;
    clv_hourglass_net_free(n->spec);
    free(n);
}
int clv_demucs_net_step(const ClvDemucsNet *n) { return n->block; }
int clv_demucs_net_latency(const ClvDemucsNet *n) { return n->latency; }
int clv_demucs_net_quality_only(const ClvDemucsNet *n) { return 1000L * n->latency > 25L * n->rate; }
int clv_demucs_net_rate(const ClvDemucsNet *n) { return n->rate; }
long clv_demucs_net_params(const ClvDemucsNet *n) { return n->params; }

static ClvStatus state_layout(ClvDemucsState *s, ClvArena *a)
{
    const ClvDemucsNet *n = s->net;
    const int D = n->depth, S = n->S, K = n->K;
    ClvStatus st;
    int max_in = n->step;
    size_t wenc = (size_t)n->step, scratch = 1;
    long per = 1; /* S^(l+1) */
    for (int l = 0; l < D; l++) {
        const DmEnc *e = &n->enc[l];
        st = clv_conv1d_stream_init(&s->conv[l], &e->conv, max_in, 0, a);
        if (st != CLV_OK && a->base) return st;
        const int k = clv_conv1d_stream_max_out(&s->conv[l]);
        s->enc_max[l] = k;
        per *= S;
        /* frames waiting for the decoder: those from the input one frame needs
         * beyond its own step, plus one step's worth, plus one call's output */
        s->skip_cap[l] = (int)((2 * n->step + n->lookahead) / per) + k + 2;
        s->skip[l] = clv_arena_floats(a, (size_t)e->h * s->skip_cap[l]);
        wenc = (size_t)imax((int)wenc, 2 * e->h * imax(k, 1));
        scratch = (size_t)imax((int)scratch, (int)clv_conv1d_scratch(&e->glu, k));
        max_in = k;
    }
    size_t wdec = (size_t)n->bott;
    int frames = 1;
    for (int i = 0; i < D; i++) {
        const DmDec *d = &n->dec[i];
        const int len = (frames - 1) * S + K;
        wdec = (size_t)imax((int)wdec, imax(2 * d->hi * frames, d->co * len));
        scratch = (size_t)imax((int)scratch, (int)clv_conv1d_scratch(&d->glu, frames));
        scratch = (size_t)imax((int)scratch, (int)clv_conv_transpose1d_scratch(&d->convt, frames));
        s->carry[i] = clv_arena_floats(a, (size_t)d->co * (K - S) + 1);
        frames *= S;
    }
    st = clv_rnn_stream_init(&s->gru, CLV_RNN_GRU, n->rnn_layers, n->gru, a);
    if (st != CLV_OK && a->base) return st; /* a sizing arena hands out NULL */
    s->ea = clv_arena_floats(a, wenc);
    s->eb = clv_arena_floats(a, wenc);
    s->ec = clv_arena_floats(a, wenc);
    s->da = clv_arena_floats(a, wdec);
    s->db = clv_arena_floats(a, wdec);
    s->dc = clv_arena_floats(a, wdec);
    s->scratch = clv_arena_floats(a, scratch);
    /* at a call's end it holds latency samples; a call adds block before taking block */
    s->outq_cap = n->latency + n->block + 4 * n->step;
    s->outq = clv_arena_floats(a, (size_t)s->outq_cap);
    if (n->spec) {
        const size_t bins = (size_t)clv_hourglass_net_n_fft(n->spec) / 2 + 1;
        s->sx = clv_arena_floats(a, 2 * bins);
        s->sv = clv_arena_floats(a, 2 * bins);
        s->sout = clv_arena_floats(a, (size_t)n->block);
    }
    return clv_arena_overflowed(a) ? CLV_ERR_NOMEM : CLV_OK;
}

ClvStatus clv_demucs_state_new(const ClvDemucsNet *n, ClvDemucsState **out)
{
    *out = NULL;
    ClvDemucsState *s = calloc(1, sizeof *s);
    if (!s) return CLV_ERR_NOMEM;
    s->net = n;
    ClvArena sizing;
    clv_arena_init_sizing(&sizing);
    ClvStatus st = state_layout(s, &sizing);
    if (st == CLV_OK) st = clv_arena_new(&s->arena, clv_arena_used(&sizing));
    if (st == CLV_OK) st = state_layout(s, &s->arena);
    if (st == CLV_OK && n->spec) {
        st = clv_stft_new(clv_hourglass_net_n_fft(n->spec), n->block, &s->stft);
        if (st == CLV_OK) st = clv_hourglass_state_new(n->spec, &s->spec);
    }
    if (st != CLV_OK) {
        clv_demucs_state_free(s);
        return st;
    }
    clv_demucs_state_reset(s);
    *out = s;
    return CLV_OK;
}

void clv_demucs_state_free(ClvDemucsState *s)
{
    if (!s) return;
    clv_hourglass_state_free(s->spec);
    clv_stft_free(s->stft);
    clv_arena_free(&s->arena);
    free(s);
}

void clv_demucs_state_set_identity(ClvDemucsState *s, int on) { s->identity = on != 0; }

/* ------------------------------------------------------------ separator --- */

static void dm_free(ClvSeparator *sep)
{
    Demucs *d = (Demucs *)sep;
    if (!d) return;
    clv_rate_bridge_free(d->bridge);
    for (int c = 0; c < 2; c++) clv_demucs_state_free(d->st[c]);
    clv_demucs_net_free(d->net);
    clv_clvm_free(d->model);
    free(d);
}

static const ClvSeparatorOps dm_ops = {clv_demucs_sep_process, clv_demucs_sep_reset, dm_free};

void clv_demucs_set_identity(ClvSeparator *sep, int on)
{
    Demucs *d = (Demucs *)sep;
    for (int c = 0; c < sep->channels; c++) clv_demucs_state_set_identity(d->st[c], on);
}

long clv_demucs_underruns(const ClvSeparator *sep)
{
    return clv_rate_bridge_underruns(((const Demucs *)sep)->bridge);
}

ClvStatus clv_demucs_create(ClvClvm *model, int sample_rate, int channels, ClvOperatingPoint op,
                            const ClvLog *log, ClvSeparator **out)
{
    *out = NULL;
    const char *path = clv_clvm_path(model);
    ClvStatus st;
    Demucs *d = clv_rate_bridge_sep_alloc(sizeof *d, model, &dm_ops, "demucs", sample_rate,
                                          channels, log, &st);
    if (!d) return st;
    d->model = model;
    st = clv_demucs_net_new(model, log, &d->net);
    if (st != CLV_OK) goto fail;
    const ClvDemucsNet *n = d->net;
    for (int c = 0; c < channels; c++)
        if ((st = clv_demucs_state_new(n, &d->st[c])) != CLV_OK) goto fail;
    const ClvRateBridgeConfig bc = {
        .host_rate = sample_rate,
        .channels = channels,
        .model_rate = n->rate,
        .host_hop = 0,
        .model_block = n->block,
        .model_latency = n->latency,
        .block_load = op == CLV_OP_LOW_LATENCY ? DM_BLOCK_LOAD : 0.0,
        /* a quality-only file (latency over 25 ms at the model rate) affords the
         * wide converters, flat to near 8 kHz instead of 6.2 kHz, as the hourglass
         * does: its mask branch wants the top of the band */
        .taps = clv_demucs_net_quality_only(n) ? CLV_RATE_BRIDGE_TAPS_WIDE : 0,
        .block = clv_demucs_bridge_block,
        .user = d,
        .name = path,
    };
    if ((st = clv_rate_bridge_new(&bc, log, &d->bridge)) != CLV_OK) goto fail;
    clv_rate_bridge_fill_sep(d->bridge, &d->base);
    const double ms = 1000.0 * d->base.latency / sample_rate;
    double d_down, d_up;
    int align, prefill;
    clv_rate_bridge_describe(d->bridge, &d_down, &d_up, &align, &prefill);
    if (op == CLV_OP_LOW_LATENCY && ms > 25.0) {
        clv_log(log, CLV_LOG_ERROR,
                "%s: latency %.1f ms at %d Hz (network %d samples at %d Hz); the low-latency "
                "point needs 25 ms or less: use --op quality",
                path, ms, sample_rate, n->latency, n->rate);
        st = CLV_ERR_UNSUPPORTED;
        goto fail;
    }
    clv_log(log, CLV_LOG_INFO,
            "%s: demucs separator, %ld parameters, latency %d frames (%.1f ms) at %d Hz: "
            "converters %.2f + %.2f, network %d + %d alignment samples at %d Hz, queue %d",
            path, n->params, d->base.latency, ms, sample_rate, d_down, d_up, n->latency, align,
            n->rate, prefill);
    clv_demucs_sep_reset(&d->base);
    *out = &d->base;
    return CLV_OK;
fail:
    dm_free(&d->base);
    return st;
}
