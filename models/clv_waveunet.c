/* SPDX-License-Identifier: ISC */
/* Setup of the Wave-U-Net separator: binding and validating the model file,
 * sizing the per-channel state, and the host-rate glue (a ClvRateBridge).
 *
 * Sizes. Every length follows from levels, kd, ku and block as in
 * WaveUNet.plan(): going up, level j's conv turns 2m - 1 upsampled samples into
 * 2m - ku; going down, a skip of s samples (odd) decimates to (s + 1) / 2. The
 * file's ctx and latency must agree with that plan, or the file is refused.
 *
 * Recurrent bottleneck (optional; metadata rnn_layers > 0): a GRU of rnn_hidden
 * units over the bottleneck frames and a linear layer back to the bottleneck
 * width, added to it (tensors gru.* and gru_out.*). The GRU carries past context
 * from window to window, so windows advance by hop = block rounded down to a
 * multiple of 2^levels (whole bottleneck frames) and the last block - hop output
 * samples of each block are dropped; the latency stays block + ctx.
 *
 * Latency. The network state lags its input by latency = block + ctx model
 * samples (block b is computed when input sample b*hop + block + ctx - 1 arrives,
 * and its first sample is due latency samples after it arrived). The bridge runs
 * the state in small model blocks (WUN_BRIDGE_BLOCK), so it adds only its
 * converters, an alignment of a few samples and one short hop of queueing; a
 * bridge block of `block` samples would add a whole block (128 ms) of queueing.
 *
 * Headroom. The network block (about 0.27 GFLOP per channel for the shipped
 * sizes) arrives in one burst every `block` model samples, inside one worker
 * hop; the engine's slack must cover that burst. It is declared from the
 * block's multiply-adds at a conservative WUN_HEADROOM_GFLOPS, as a fixed
 * figure (not timed at load: the reported latency must not change from run to
 * run). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clv_waveunet_impl.h"

/* model samples per bridge call: 4 ms at 16 kHz */
#define WUN_BRIDGE_BLOCK 64
/* the bridge's wide converters (256 taps per phase, -0.1 dB at 7.7 kHz, 8 ms each
 * way): the network sees its band up to the top, as the hourglass does; with
 * blocks of about 1024 samples the engine total stays far inside the quality
 * point's 250 ms, spatial refinement included */
#define WUN_BRIDGE_TAPS CLV_RATE_BRIDGE_TAPS_WIDE
/* sustained GEMM throughput assumed for the worker's headroom (one core, shared
 * with the audio thread and the host): the measured per-block rate is in
 * tests/bench_waveunet.c */
#define WUN_HEADROOM_GFLOPS 25.0

static ClvStatus meta_int(const ClvClvm *m, const char *key, int lo, int hi, int *out)
{
    return clv_clvm_meta_int_range(m, key, lo, hi, out);
}

/* WaveUNet.plan(): input length for out_len output samples, or -1 when out_len is
 * not reachable (an odd length going up, or an odd difference to the input). */
static long plan(int levels, int kd, int ku, long out_len)
{
    long m = out_len;
    for (int i = 0; i < levels; i++) {
        if ((m + ku) % 2) return -1;
        m = (m + ku) / 2;
    }
    long n = m + kd - 1;
    for (int i = 0; i < levels; i++) {
        if (n > (1L << 24)) return -1;
        n = 2 * n - 1 + kd - 1;
    }
    return (n - out_len) % 2 == 0 ? n : -1;
}

static ClvStatus bind_conv(const ClvClvm *m, const char *prefix, int cin, int cout, int k,
                           ClvConv1d *c, long *params)
{
    memset(c, 0, sizeof *c);
    c->in_ch = cin;
    c->out_ch = cout;
    c->kernel = k;
    c->stride = 1;
    c->dilation = 1;
    c->groups = 1;
    char name[96];
    snprintf(name, sizeof name, "%s.weight", prefix);
    ClvStatus st = CLV_CLVM_BIND(m, name, &c->weight, cout, cin, k);
    if (st != CLV_OK) return st;
    snprintf(name, sizeof name, "%s.bias", prefix);
    if ((st = CLV_CLVM_BIND(m, name, &c->bias, cout)) != CLV_OK) return st;
    *params += (long)cout * cin * k + cout;
    return clv_conv1d_check(c);
}

ClvStatus clv_waveunet_net_new(const ClvClvm *m, const ClvLog *log, ClvWaveUNetNet **out)
{
    *out = NULL;
    const char *path = clv_clvm_path(m);
    const char *arch = NULL;
    if (clv_clvm_meta_string(m, "arch", &arch) != CLV_OK) return CLV_ERR_FORMAT;
    if (strcmp(arch, CLV_WAVEUNET_ARCH) != 0) {
        clv_log(log, CLV_LOG_ERROR, "%s: architecture '%s', expected '%s'", path, arch,
                CLV_WAVEUNET_ARCH);
        return CLV_ERR_FORMAT;
    }
    ClvWaveUNetNet *n = calloc(1, sizeof *n);
    if (!n) return CLV_ERR_NOMEM;
    ClvStatus st;
    double slope = 0.0;
    if ((st = meta_int(m, "sample_rate", 8000, 48000, &n->rate)) != CLV_OK ||
        (st = meta_int(m, "levels", 1, WUN_MAX_LEVELS, &n->levels)) != CLV_OK ||
        (st = meta_int(m, "ch", 1, 1024, &n->ch)) != CLV_OK ||
        (st = meta_int(m, "kd", 1, 63, &n->kd)) != CLV_OK ||
        (st = meta_int(m, "ku", 1, 63, &n->ku)) != CLV_OK ||
        (st = meta_int(m, "block", 1, 65536, &n->block)) != CLV_OK ||
        (st = meta_int(m, "ctx", 0, 1 << 20, &n->ctx)) != CLV_OK ||
        (st = meta_int(m, "latency_samples_model_rate", 1, 1 << 21, &n->latency)) != CLV_OK ||
        (st = clv_clvm_meta_float_range(m, "slope", 0.0, 1.0, &slope)) != CLV_OK)
        goto fail;
    n->slope = (float)slope;
    if (clv_clvm_has_meta(m, "rnn_layers")) {
        if ((st = meta_int(m, "rnn_layers", 0, CLV_RNN_MAX_LAYERS, &n->rnn_layers)) != CLV_OK)
            goto fail;
        if (n->rnn_layers &&
            (st = meta_int(m, "rnn_hidden", 1, 4096, &n->rnn_hidden)) != CLV_OK)
            goto fail;
    }
    if (n->kd % 2 == 0 || n->ku % 2 == 0) {
        clv_log(log, CLV_LOG_ERROR, "%s: kernel sizes kd %d and ku %d must be odd", path, n->kd,
                n->ku);
        st = CLV_ERR_FORMAT;
        goto fail;
    }
    const long need = plan(n->levels, n->kd, n->ku, n->block);
    if (need < 0 || need - n->block != 2L * n->ctx || (long)n->ctx + n->block > (1L << 21)) {
        clv_log(log, CLV_LOG_ERROR,
                "%s: block %d and ctx %d do not fit the network (levels %d, kd %d, ku %d): %s %ld",
                path, n->block, n->ctx, n->levels, n->kd, n->ku,
                need < 0 ? "no valid input length for this block; plan gives" : "ctx should be",
                need < 0 ? need : (need - n->block) / 2);
        st = CLV_ERR_FORMAT;
        goto fail;
    }
    if (n->latency != n->block + n->ctx) {
        clv_log(log, CLV_LOG_ERROR,
                "%s: latency_samples_model_rate %d, expected block + ctx = %d", path, n->latency,
                n->block + n->ctx);
        st = CLV_ERR_FORMAT;
        goto fail;
    }
    n->win = n->block + 2 * n->ctx;
    const int L = n->levels;
    for (int i = 0; i <= L; i++) n->width[i] = n->ch * (i + 1);
    /* lengths going down from the window */
    int len = n->win;
    for (int i = 0; i < L; i++) {
        n->dlen_in[i] = len;
        n->skip_len[i] = len - n->kd + 1;
        len = (n->skip_len[i] + 1) / 2;
    }
    n->dlen_in[L] = len;
    n->bott_len = len - n->kd + 1;
    len = n->bott_len;
    for (int j = 0; j < L; j++) {
        const int i = L - 1 - j;
        n->ulen_in[j] = 2 * len - 1;
        n->ulen_out[j] = n->ulen_in[j] - n->ku + 1;
        /* plan() guarantees these; checked so a bug cannot read out of bounds */
        if (n->skip_len[i] < n->ulen_in[j] || (n->skip_len[i] - n->ulen_in[j]) % 2) {
            st = CLV_ERR_FORMAT;
            clv_log(log, CLV_LOG_ERROR, "%s: skip %d of length %d cannot be cropped to %d", path,
                    i, n->skip_len[i], n->ulen_in[j]);
            goto fail;
        }
        len = n->ulen_out[j];
    }
    if (len != n->block || n->bott_len < 1) {
        clv_log(log, CLV_LOG_ERROR, "%s: the network gives %d output samples, block is %d", path,
                len, n->block);
        st = CLV_ERR_FORMAT;
        goto fail;
    }
    n->hop = n->block;
    if (n->rnn_layers) {
        n->hop = n->block - n->block % (1 << L);
        n->hop_frames = n->hop >> L;
        if (n->hop_frames < 1 || n->hop_frames > n->bott_len) {
            clv_log(log, CLV_LOG_ERROR,
                    "%s: a recurrent bottleneck needs a block of at least %d samples and at "
                    "most %d bottleneck frames per hop (block %d, %d frames per window)",
                    path, 1 << L, n->bott_len, n->block, n->bott_len);
            st = CLV_ERR_FORMAT;
            goto fail;
        }
    }
    char p[64];
    int cin = 1;
    for (int i = 0; i < L; i++) {
        snprintf(p, sizeof p, "down.%d", i);
        if ((st = bind_conv(m, p, cin, n->width[i], n->kd, &n->down[i], &n->params)) != CLV_OK)
            goto fail;
        cin = n->width[i];
    }
    if ((st = bind_conv(m, "bottleneck", cin, n->width[L], n->kd, &n->bott, &n->params)) != CLV_OK)
        goto fail;
    cin = n->width[L];
    for (int j = 0; j < L; j++) {
        const int i = L - 1 - j;
        snprintf(p, sizeof p, "up.%d", j);
        if ((st = bind_conv(m, p, cin + n->width[i], n->width[i], n->ku, &n->up[j], &n->params)) !=
            CLV_OK)
            goto fail;
        cin = n->width[i];
    }
    if ((st = bind_conv(m, "out", cin + 1, 1, 1, &n->out, &n->params)) != CLV_OK) goto fail;
    int gin = n->width[L];
    for (int l = 0; l < n->rnn_layers; l++) {
        if ((st = clv_nn_bind_rnn_cell(m, "gru", CLV_RNN_GRU, l, 0, gin, n->rnn_hidden,
                                       &n->gru[l])) != CLV_OK)
            goto fail;
        n->params += 3L * n->rnn_hidden * (gin + n->rnn_hidden + 2);
        gin = n->rnn_hidden;
    }
    if (n->rnn_layers) {
        if ((st = clv_nn_bind_linear(m, "gru_out", n->rnn_hidden, n->width[L], &n->gru_out)) !=
            CLV_OK)
            goto fail;
        n->params += (long)n->width[L] * (n->rnn_hidden + 1);
    }
    *out = n;
    return CLV_OK;
fail:
    free(n);
    return st;
}

void clv_waveunet_net_free(ClvWaveUNetNet *n) { free(n); }
int clv_waveunet_net_block(const ClvWaveUNetNet *n) { return n->block; }
int clv_waveunet_net_ctx(const ClvWaveUNetNet *n) { return n->ctx; }
int clv_waveunet_net_latency(const ClvWaveUNetNet *n) { return n->latency; }
int clv_waveunet_net_rate(const ClvWaveUNetNet *n) { return n->rate; }
long clv_waveunet_net_params(const ClvWaveUNetNet *n) { return n->params; }

static size_t zmax(size_t a, size_t b) { return a > b ? a : b; }

/* Multiply-adds of one block (one channel). */
static double block_macs(const ClvWaveUNetNet *n)
{
    double macs = 0.0;
    for (int i = 0; i < n->levels; i++)
        macs += (double)n->down[i].in_ch * n->down[i].out_ch * n->kd * n->skip_len[i];
    macs += (double)n->bott.in_ch * n->bott.out_ch * n->kd * n->bott_len;
    for (int j = 0; j < n->levels; j++)
        macs += (double)n->up[j].in_ch * n->up[j].out_ch * n->ku * n->ulen_out[j];
    macs += (double)(n->width[0] + 1) * n->block;
    /* the GRU and gru_out on one hop's new frames (a whole window after a reset) */
    int gin = n->width[n->levels];
    for (int l = 0; l < n->rnn_layers; l++) {
        macs += 3.0 * n->rnn_hidden * (gin + n->rnn_hidden) * n->bott_len;
        gin = n->rnn_hidden;
    }
    if (n->rnn_layers) macs += (double)n->rnn_hidden * n->width[n->levels] * n->bott_len;
    return macs;
}

static ClvStatus state_layout(ClvWaveUNetState *s, ClvArena *a)
{
    const ClvWaveUNetNet *n = s->net;
    const int L = n->levels;
    size_t act = 0, scratch = 0;
    for (int i = 0; i < L; i++) {
        s->skip[i] = clv_arena_floats(a, (size_t)n->width[i] * n->skip_len[i]);
        act = zmax(act, (size_t)n->width[i] * ((n->skip_len[i] + 1) / 2));
        scratch = zmax(scratch, clv_conv1d_scratch(&n->down[i], n->dlen_in[i]));
    }
    act = zmax(act, (size_t)n->width[L] * n->bott_len);
    scratch = zmax(scratch, clv_conv1d_scratch(&n->bott, n->dlen_in[L]));
    for (int j = 0; j < L; j++) {
        act = zmax(act, (size_t)n->up[j].in_ch * n->ulen_in[j]);
        act = zmax(act, (size_t)n->up[j].out_ch * n->ulen_out[j]);
        scratch = zmax(scratch, clv_conv1d_scratch(&n->up[j], n->ulen_in[j]));
    }
    act = zmax(act, (size_t)(n->width[0] + 1) * n->block);
    scratch = zmax(scratch, clv_conv1d_scratch(&n->out, n->block));
    s->a = clv_arena_floats(a, act);
    s->b = clv_arena_floats(a, act);
    s->scratch = clv_arena_floats(a, scratch ? scratch : 1);
    s->win = clv_arena_floats(a, (size_t)n->win);
    s->vout = clv_arena_floats(a, (size_t)n->block);
    if (n->rnn_layers) {
        ClvStatus st = clv_rnn_stream_init(&s->gru, CLV_RNN_GRU, n->rnn_layers, n->gru, a);
        if (st != CLV_OK && a->base) return st; /* a sizing arena hands out NULL */
        s->gz = clv_arena_floats(a, (size_t)n->width[L] * n->bott_len);
        s->gin = clv_arena_floats(a, (size_t)n->width[L]);
        s->gy = clv_arena_floats(a, (size_t)n->width[L]);
    }
    /* queue: latency zeros + at most one block + one window of input per piece */
    s->qcap = n->latency + n->block + n->win;
    s->q = clv_arena_floats(a, (size_t)s->qcap);
    return clv_arena_overflowed(a) ? CLV_ERR_NOMEM : CLV_OK;
}

ClvStatus clv_waveunet_state_new(const ClvWaveUNetNet *n, ClvWaveUNetState **out)
{
    *out = NULL;
    ClvWaveUNetState *s = calloc(1, sizeof *s);
    if (!s) return CLV_ERR_NOMEM;
    s->net = n;
    ClvArena sizing;
    clv_arena_init_sizing(&sizing);
    state_layout(s, &sizing);
    ClvStatus st = clv_arena_overflowed(&sizing) ? CLV_ERR_NOMEM
                                                 : clv_arena_new(&s->arena, clv_arena_used(&sizing));
    if (st == CLV_OK) st = state_layout(s, &s->arena);
    if (st != CLV_OK) {
        clv_arena_free(&s->arena);
        free(s);
        return st;
    }
    clv_waveunet_state_reset(s);
    *out = s;
    return CLV_OK;
}

void clv_waveunet_state_free(ClvWaveUNetState *s)
{
    if (!s) return;
    clv_arena_free(&s->arena);
    free(s);
}

/* ------------------------------------------------------------ separator --- */

static void wun_free(ClvSeparator *sep)
{
    WaveUNet *w = (WaveUNet *)sep;
    if (!w) return;
    clv_rate_bridge_free(w->bridge);
    for (int c = 0; c < 2; c++) clv_waveunet_state_free(w->st[c]);
    clv_waveunet_net_free(w->net);
    clv_clvm_free(w->model);
    free(w);
}

static const ClvSeparatorOps wun_ops = {clv_waveunet_sep_process, clv_waveunet_sep_reset, wun_free};

long clv_waveunet_underruns(const ClvSeparator *sep)
{
    return clv_rate_bridge_underruns(((const WaveUNet *)sep)->bridge);
}

ClvStatus clv_waveunet_create(ClvClvm *model, int sample_rate, int channels, ClvOperatingPoint op,
                              const ClvLog *log, ClvSeparator **out)
{
    *out = NULL;
    const char *path = clv_clvm_path(model);
    ClvStatus st;
    WaveUNet *w = clv_rate_bridge_sep_alloc(sizeof *w, model, &wun_ops, "waveunet", sample_rate,
                                            channels, log, &st);
    if (!w) return st;
    w->model = model;
    st = clv_waveunet_net_new(model, log, &w->net);
    if (st != CLV_OK) goto fail;
    const ClvWaveUNetNet *n = w->net;
    const double model_ms = 1000.0 * n->latency / n->rate;
    if (op == CLV_OP_LOW_LATENCY) {
        clv_log(log, CLV_LOG_ERROR,
                "%s: Wave-U-Net runs in blocks of %d samples with %d samples of context at %d Hz "
                "(%.0f ms of latency before resampling); the low-latency point needs 25 ms or "
                "less: use --op quality",
                path, n->block, n->ctx, n->rate, model_ms);
        st = CLV_ERR_UNSUPPORTED;
        goto fail;
    }
    for (int c = 0; c < channels; c++)
        if ((st = clv_waveunet_state_new(n, &w->st[c])) != CLV_OK) goto fail;
    w->mblock = WUN_BRIDGE_BLOCK;
    const ClvRateBridgeConfig bc = {
        .host_rate = sample_rate,
        .channels = channels,
        .model_rate = n->rate,
        .host_hop = 0,
        .model_block = w->mblock,
        .model_latency = n->latency,
        .taps = WUN_BRIDGE_TAPS,
        .block = clv_waveunet_sep_block,
        .user = w,
        .name = path,
    };
    if ((st = clv_rate_bridge_new(&bc, log, &w->bridge)) != CLV_OK) goto fail;
    clv_rate_bridge_fill_sep(w->bridge, &w->base);
    /* the whole network block of every channel lands in one hop (see the top) */
    const double burst_s = block_macs(n) * 2.0 * channels / (WUN_HEADROOM_GFLOPS * 1e9);
    const int burst = (int)ceil(burst_s * sample_rate);
    w->base.headroom += burst;
    clv_waveunet_sep_reset(&w->base);
    double d_down, d_up;
    int align, prefill;
    clv_rate_bridge_describe(w->bridge, &d_down, &d_up, &align, &prefill);
    clv_log(log, CLV_LOG_INFO,
            "%s: Wave-U-Net separator%s, %ld parameters, latency %d frames (%.1f ms) at %d Hz: "
            "converters %.2f + %.2f, model %d + %d alignment samples at %d Hz, queue %d; "
            "worker headroom %d frames (%.1f ms)",
            path, n->rnn_layers ? " (recurrent bottleneck)" : "", n->params, w->base.latency,
            1000.0 * w->base.latency / sample_rate, sample_rate,
            d_down, d_up, n->latency, align, n->rate, prefill, w->base.headroom,
            1000.0 * w->base.headroom / sample_rate);
    *out = &w->base;
    return CLV_OK;
fail:
    wun_free(&w->base);
    return st;
}
