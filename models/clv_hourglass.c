/* SPDX-License-Identifier: ISC */
/* Setup of the hourglass separator: binding the model file, sizing the per-channel
 * state, and the host-rate glue, a ClvRateBridge (models/clv_rate_bridge.h) in
 * model blocks of one STFT hop.
 *
 * Latency. The network's vocal spectrum of a frame is synthesised
 * n_fft - hop + lookahead * hop model samples after its input arrived; the bridge
 * adds its converters, an integer alignment and the queueing of whole hops, and
 * reports the exact total. The bridge's long converters (flat to about 7.4 kHz)
 * cost about 8 ms against its short ones (6.2 kHz); at the quality point that
 * buys band. Before the bridge, a private libsoxr HQ copy of this glue held the
 * samples back: 222 ms at 44.1 kHz where the model needs 112 ms. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clv_hourglass_impl.h"

/* Worst-case worker time of one network frame (both channels, the spatial
 * refinement included) as a fraction of the frame's 16 ms: the measured
 * single-thread cost is about 0.05 (tests/bench_hourglass.c), so this leaves a
 * factor 5 for a loaded core. It sets the worker headroom in the latency. */
#define HG_BLOCK_LOAD 0.25

/* Integer metadata `prefix` + `name`, checked against lo..hi. */
static ClvStatus meta_int(const ClvClvm *m, const char *prefix, const char *name, int lo, int hi,
                          const ClvLog *log, int *out)
{
    char key[64];
    snprintf(key, sizeof key, "%s%s", prefix, name);
    int64_t v;
    ClvStatus st = clv_clvm_meta_int(m, key, &v); /* logs a missing key */
    if (st != CLV_OK) return st;
    if (v < lo || v > hi) {
        clv_log(log, CLV_LOG_ERROR, "%s: metadata '%s' = %lld is outside %d..%d", clv_clvm_path(m),
                key, (long long)v, lo, hi);
        return CLV_ERR_FORMAT;
    }
    *out = (int)v;
    return CLV_OK;
}

static ClvStatus bind_band(const ClvClvm *m, const char *prefix, int nb, int cin, int cout,
                           HgBandLinear *l, long *params)
{
    char name[128];
    snprintf(name, sizeof name, "%s.weight", prefix);
    ClvStatus st = CLV_CLVM_BIND(m, name, &l->w, nb, cout, cin);
    if (st != CLV_OK) return st;
    snprintf(name, sizeof name, "%s.bias", prefix);
    if ((st = CLV_CLVM_BIND(m, name, &l->b, nb, cout)) != CLV_OK) return st;
    l->nb = nb;
    l->cin = cin;
    l->cout = cout;
    *params += (long)nb * cout * (cin + 1);
    return CLV_OK;
}

/* The net under metadata keys `mp` + name and tensors `tp` + name: "" and "" for
 * a hourglass model file, "spec_" and "spec." for a hybrid's spectral branch. */
static ClvStatus net_new(const ClvClvm *m, const char *mp, const char *tp, const ClvLog *log,
                         ClvHourglassNet **out)
{
    *out = NULL;
    const char *path = clv_clvm_path(m);
    ClvHourglassNet *n = calloc(1, sizeof *n);
    if (!n) return CLV_ERR_NOMEM;
    ClvStatus st;
    if ((st = meta_int(m, "", "sample_rate", 8000, 48000, log, &n->rate)) != CLV_OK ||
        (st = meta_int(m, mp, "n_fft", 16, 8192, log, &n->n_fft)) != CLV_OK ||
        (st = meta_int(m, mp, "hop", 1, 8192, log, &n->hop)) != CLV_OK ||
        (st = meta_int(m, mp, "stacks", 1, HG_MAX_STACKS, log, &n->stacks)) != CLV_OK ||
        (st = meta_int(m, mp, "d0", 1, 4096, log, &n->d0)) != CLV_OK ||
        (st = meta_int(m, mp, "d1", 1, 4096, log, &n->d1)) != CLV_OK ||
        (st = meta_int(m, mp, "d2", 1, 4096, log, &n->d2)) != CLV_OK ||
        (st = meta_int(m, mp, "hidden", 1, 4096, log, &n->hidden)) != CLV_OK ||
        (st = meta_int(m, mp, "lookahead", 0, 64, log, &n->lookahead)) != CLV_OK ||
        (st = meta_int(m, mp, "nb", 4, 1024, log, &n->nb)) != CLV_OK ||
        (st = meta_int(m, mp, "bw", 1, 1024, log, &n->bw)) != CLV_OK)
        goto fail;
    n->bins = n->n_fft / 2 + 1;
    n->ctx = n->lookahead + 2;
    if (n->hop > n->n_fft || n->n_fft % n->hop != 0 || n->nb % 4 != 0 ||
        n->nb * n->bw != n->n_fft / 2) {
        clv_log(log, CLV_LOG_ERROR,
                "%s: inconsistent sizes (n_fft %d, hop %d, %d bands of %d bins; need nb divisible "
                "by 4 and nb * bw = n_fft / 2)",
                path, n->n_fft, n->hop, n->nb, n->bw);
        st = CLV_ERR_FORMAT;
        goto fail;
    }
    const int F = n->nb * n->bw, nb = n->nb;
    char p[96];
    snprintf(p, sizeof p, "%sin_mean", tp);
    if ((st = CLV_CLVM_BIND(m, p, &n->in_mean, F)) != CLV_OK) goto fail;
    snprintf(p, sizeof p, "%sin_scale", tp);
    if ((st = CLV_CLVM_BIND(m, p, &n->in_scale, F)) != CLV_OK) goto fail;
    n->params = 2L * F;
    for (int k = 0; k < n->stacks; k++) {
        HgStack *s = &n->st[k];
        s->cin = k == 0 ? n->ctx * n->bw : 2 * n->bw + n->d0;
#define BAND(field, NB, CI, CO)                                                    \
    snprintf(p, sizeof p, "%sstacks.%d." #field, tp, k);                           \
    if ((st = bind_band(m, p, NB, CI, CO, &s->field, &n->params)) != CLV_OK) goto fail;
        BAND(enc0, nb, s->cin, n->d0)
        BAND(down1, nb / 2, 2 * n->d0, n->d1)
        BAND(down2, nb / 4, 2 * n->d1, n->d2)
        BAND(up2, nb / 4, n->d2, 2 * n->d1)
        BAND(up1, nb / 2, n->d1, 2 * n->d0)
        BAND(head, nb, n->d0, n->bw)
#undef BAND
        const int flat = (nb / 4) * n->d2;
        snprintf(p, sizeof p, "%sstacks.%d.bott_in", tp, k);
        if ((st = clv_nn_bind_linear(m, p, flat, n->hidden, &s->bott_in)) != CLV_OK) goto fail;
        snprintf(p, sizeof p, "%sstacks.%d.bott_out", tp, k);
        if ((st = clv_nn_bind_linear(m, p, n->hidden, flat, &s->bott_out)) != CLV_OK) goto fail;
        snprintf(p, sizeof p, "%sstacks.%d.gru", tp, k);
        if ((st = clv_nn_bind_rnn_cell(m, p, CLV_RNN_GRU, 0, 0, n->hidden, n->hidden, &s->gru)) !=
            CLV_OK)
            goto fail;
        n->params += 2L * flat * n->hidden + flat + n->hidden;
        n->params += 3L * n->hidden * (2 * n->hidden + 2);
    }
    *out = n;
    return CLV_OK;
fail:
    free(n);
    return st;
}

ClvStatus clv_hourglass_net_new(const ClvClvm *m, const ClvLog *log, ClvHourglassNet **out)
{
    *out = NULL;
    const char *arch = NULL;
    if (clv_clvm_meta_string(m, "arch", &arch) != CLV_OK) return CLV_ERR_FORMAT;
    if (strcmp(arch, CLV_HOURGLASS_ARCH) != 0) {
        clv_log(log, CLV_LOG_ERROR, "%s: architecture '%s', expected '%s'", clv_clvm_path(m),
                arch, CLV_HOURGLASS_ARCH);
        return CLV_ERR_FORMAT;
    }
    return net_new(m, "", "", log, out);
}

ClvStatus clv_hourglass_net_new_branch(const ClvClvm *m, const char *meta_prefix,
                                       const char *tensor_prefix, const ClvLog *log,
                                       ClvHourglassNet **out)
{
    return net_new(m, meta_prefix, tensor_prefix, log, out);
}

void clv_hourglass_net_free(ClvHourglassNet *n) { free(n); }
int clv_hourglass_net_lookahead(const ClvHourglassNet *n) { return n->lookahead; }
int clv_hourglass_net_n_fft(const ClvHourglassNet *n) { return n->n_fft; }
int clv_hourglass_net_hop(const ClvHourglassNet *n) { return n->hop; }
int clv_hourglass_net_rate(const ClvHourglassNet *n) { return n->rate; }
long clv_hourglass_net_params(const ClvHourglassNet *n) { return n->params; }

static int imax(int a, int b) { return a > b ? a : b; }

static ClvStatus state_layout(ClvHourglassState *s, ClvArena *a)
{
    const ClvHourglassNet *n = s->net;
    const int F = n->nb * n->bw;
    int cin = 0;
    for (int k = 0; k < n->stacks; k++) {
        cin = imax(cin, n->st[k].cin);
        ClvStatus st = clv_rnn_stream_init(&s->gru[k], CLV_RNN_GRU, 1, &n->st[k].gru, a);
        if (st != CLV_OK && a->base) return st;
    }
    const int wide = imax(imax(n->nb * n->d0, (n->nb / 2) * n->d1), (n->nb / 4) * n->d2);
    s->ring = clv_arena_floats(a, (size_t)n->ctx * F);
    s->specs = clv_arena_floats(a, (size_t)(n->lookahead + 1) * 2 * n->bins);
    s->x0 = clv_arena_floats(a, (size_t)n->nb * cin);
    s->e0 = clv_arena_floats(a, (size_t)n->nb * n->d0);
    s->e1 = clv_arena_floats(a, (size_t)(n->nb / 2) * n->d1);
    s->e2 = clv_arena_floats(a, (size_t)(n->nb / 4) * n->d2);
    s->z = clv_arena_floats(a, (size_t)n->hidden);
    s->wide = wide;
    s->t = clv_arena_floats(a, (size_t)wide);
    s->u0 = clv_arena_floats(a, (size_t)wide);
    s->mask = clv_arena_floats(a, (size_t)n->bins);
    return clv_arena_overflowed(a) ? CLV_ERR_NOMEM : CLV_OK;
}

ClvStatus clv_hourglass_state_new(const ClvHourglassNet *n, ClvHourglassState **out)
{
    *out = NULL;
    ClvHourglassState *s = calloc(1, sizeof *s);
    if (!s) return CLV_ERR_NOMEM;
    s->net = n;
    ClvArena sizing;
    clv_arena_init_sizing(&sizing);
    state_layout(s, &sizing);
    ClvStatus st = clv_arena_new(&s->arena, clv_arena_used(&sizing));
    if (st == CLV_OK) st = state_layout(s, &s->arena);
    if (st != CLV_OK) {
        clv_arena_free(&s->arena);
        free(s);
        return st;
    }
    clv_hourglass_state_reset(s);
    *out = s;
    return CLV_OK;
}

void clv_hourglass_state_free(ClvHourglassState *s)
{
    if (!s) return;
    clv_arena_free(&s->arena);
    free(s);
}

void clv_hourglass_state_set_identity(ClvHourglassState *s, int on) { s->identity = on != 0; }

/* ------------------------------------------------------------ separator --- */

static void hg_free(ClvSeparator *sep)
{
    Hourglass *h = (Hourglass *)sep;
    if (!h) return;
    clv_rate_bridge_free(h->bridge);
    for (int c = 0; c < 2; c++) {
        clv_hourglass_state_free(h->st[c]);
        clv_stft_free(h->stft[c]);
    }
    clv_hourglass_net_free(h->net);
    clv_clvm_free(h->model);
    free(h->spec);
    free(h->vspec);
    free(h);
}

static const ClvSeparatorOps hg_ops = {clv_hourglass_sep_process, clv_hourglass_sep_reset, hg_free};

void clv_hourglass_set_identity(ClvSeparator *sep, int on)
{
    Hourglass *h = (Hourglass *)sep;
    for (int c = 0; c < sep->channels; c++) clv_hourglass_state_set_identity(h->st[c], on);
}

long clv_hourglass_underruns(const ClvSeparator *sep)
{
    return clv_rate_bridge_underruns(((const Hourglass *)sep)->bridge);
}

ClvStatus clv_hourglass_create(ClvClvm *model, int sample_rate, int channels, ClvOperatingPoint op,
                               const ClvLog *log, ClvSeparator **out)
{
    *out = NULL;
    const char *path = clv_clvm_path(model);
    ClvStatus st;
    Hourglass *h = clv_rate_bridge_sep_alloc(sizeof *h, model, &hg_ops, "hourglass", sample_rate,
                                             channels, log, &st);
    if (!h) return st;
    h->model = model;
    st = clv_hourglass_net_new(model, log, &h->net);
    if (st != CLV_OK) goto fail;
    const ClvHourglassNet *n = h->net;
    const int M = n->hop, model_latency = n->n_fft - M + n->lookahead * M;
    for (int c = 0; c < channels; c++) {
        if ((st = clv_stft_new(n->n_fft, M, &h->stft[c])) != CLV_OK) goto fail;
        if ((st = clv_hourglass_state_new(n, &h->st[c])) != CLV_OK) goto fail;
    }
    h->spec = calloc(2 * (size_t)n->bins, sizeof(float));
    h->vspec = calloc(2 * (size_t)n->bins, sizeof(float));
    if (!h->spec || !h->vspec) {
        st = CLV_ERR_NOMEM;
        goto fail;
    }
    const ClvRateBridgeConfig bc = {
        .host_rate = sample_rate,
        .channels = channels,
        .model_rate = n->rate,
        .host_hop = 0,
        .model_block = M,
        .model_latency = model_latency,
        .taps = CLV_RATE_BRIDGE_TAPS_WIDE, /* the top bins matter to the masks */
        .block_load = HG_BLOCK_LOAD,
        .block = clv_hourglass_sep_block,
        .user = h,
        .name = path,
    };
    if ((st = clv_rate_bridge_new(&bc, log, &h->bridge)) != CLV_OK) goto fail;
    /* the worker's headroom is the bridge's: the measured burst of network frames
     * one hop brings, at HG_BLOCK_LOAD each */
    clv_rate_bridge_fill_sep(h->bridge, &h->base);
    const double ms = 1000.0 * h->base.latency / sample_rate;
    if (op == CLV_OP_LOW_LATENCY && ms > 25.0) {
        clv_log(log, CLV_LOG_ERROR,
                "%s: this model's latency is %.1f ms (STFT %d/%d at %d Hz, %d frames of "
                "lookahead); the low-latency point needs 25 ms or less: use --op quality",
                path, ms, n->n_fft, M, n->rate, n->lookahead);
        st = CLV_ERR_UNSUPPORTED;
        goto fail;
    }
    double d_down, d_up;
    int align, prefill;
    clv_rate_bridge_describe(h->bridge, &d_down, &d_up, &align, &prefill);
    clv_log(log, CLV_LOG_INFO,
            "%s: hourglass separator, %ld parameters, latency %d frames (%.1f ms) at %d Hz: "
            "converters %.2f + %.2f, model %d + %d alignment samples at %d Hz, queue %d",
            path, n->params, h->base.latency, ms, sample_rate, d_down, d_up, model_latency, align,
            n->rate, prefill);
    clv_hourglass_sep_reset(&h->base);
    st = CLV_OK;
    *out = &h->base;
    return st;
fail:
    hg_free(&h->base);
    return st;
}
