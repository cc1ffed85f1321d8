/* SPDX-License-Identifier: ISC */
/* Clip embeddings: resampler -> log-mel -> frame ring -> the tagger's CNN up to
 * its pooled features -> optional projection head -> L2 normalisation.
 *
 * Design: the network is bound by name from the model file through the public
 * .clvm and kernel APIs (the tensors of models/train/tag_model.py, batch norm
 * folded; plus head.0 / head.2 for an embed model), so the tagger's own file
 * serves as well as a dedicated embedding model. Unlike the rolling tagger, the
 * time axis is not fixed: a clip is run over all its frames (up to
 * CLV_EMBED_MAX_FRAMES), which is what the PyTorch twin (train_embed.py,
 * clip_embedding) does, so embeddings of short library clips see the whole clip.
 * All buffers are sized for the longest pass at creation and carved from one
 * arena. Frames arrive into a ring of CLV_EMBED_MAX_FRAMES; a window runs every
 * half ring once the ring is full, and the end decides between one pass over
 * everything (short clips) and a last window ending at the final frame. */
#include "clv_embed.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clv_arena.h"
#include "clv_clvm.h"
#include "clv_mel.h"
#include "clv_nn.h"
#include "clv_registry.h"
#include "clv_resample.h"
#include "clv_tagnet.h"

#define EMB_CHUNK 4096 /* input samples per resampler call */
#define EMB_HOP (CLV_EMBED_MAX_FRAMES / 2)

struct ClvEmbedderImpl {
    ClvLog log;
    ClvClvm *model;
    ClvArena arena;
    ClvMel *mel;
    ClvResample *rs;   /* for rs_rate; NULL when the clip is at the model rate */
    int rs_rate;
    double rs_skip;    /* resampler delay still to drop, in output samples */
    const char *arch;
    int model_rate, n_mels, window, dim, pooled_dim, head_hidden;
    float log_floor;
    int clip_rate;
    int started;
    ClvTagNet net;
    ClvLinear head0, head2; /* head2.out_features == 0: no head */
    float dct[CLV_EMBED_MFCC_DIM * 1024];
    /* clip state */
    float *ring;       /* [MAX_FRAMES, n_mels] */
    int ring_head;     /* slot of the next frame */
    int64_t frames;    /* frames this clip */
    int64_t last_end;  /* frame count at the end of the last window, 0 = none */
    int windows;
    float *acc;        /* [dim] sum of normalised window embeddings */
    float *mfcc;       /* [MFCC_MAX_FRAMES, MFCC_DIM] */
    int mfcc_frames;
    /* buffers */
    float *chunk, *rs_out, *mel_out, *ordered;
    size_t rs_cap;
    int mel_cap;
    float *act_a, *act_b, *scratch, *pooled, *hidden, *emb;
};

static ClvStatus meta_int(ClvEmbedder *e, const char *key, long lo, long hi, int *out)
{
    return clv_clvm_meta_int_range(e->model, key, lo, hi, out);
}

static ClvStatus meta_float(ClvEmbedder *e, const char *key, double lo, double hi, double *out)
{
    return clv_clvm_meta_float_range(e->model, key, lo, hi, out);
}

static void layout(ClvEmbedder *e, ClvArena *a)
{
    const size_t biggest = clv_tagnet_act_floats(&e->net, CLV_EMBED_MAX_FRAMES);
    const size_t scratch = clv_tagnet_scratch_floats(&e->net, CLV_EMBED_MAX_FRAMES);
    e->ring = clv_arena_floats(a, (size_t)CLV_EMBED_MAX_FRAMES * e->n_mels);
    e->ordered = clv_arena_floats(a, (size_t)CLV_EMBED_MAX_FRAMES * e->n_mels);
    e->acc = clv_arena_floats(a, (size_t)e->dim);
    e->mfcc = clv_arena_floats(a, (size_t)CLV_EMBED_MFCC_MAX_FRAMES * CLV_EMBED_MFCC_DIM);
    e->chunk = clv_arena_floats(a, EMB_CHUNK);
    e->rs_out = clv_arena_floats(a, e->rs_cap);
    e->mel_out = clv_arena_floats(a, (size_t)e->mel_cap * e->n_mels);
    e->act_a = clv_arena_floats(a, biggest);
    e->act_b = clv_arena_floats(a, biggest);
    e->scratch = clv_arena_floats(a, scratch);
    e->pooled = clv_arena_floats(a, (size_t)e->pooled_dim);
    e->hidden = clv_arena_floats(a, e->head_hidden > 0 ? (size_t)e->head_hidden : 1);
    e->emb = clv_arena_floats(a, (size_t)e->dim);
}

ClvStatus clv_embed_new(const char *path, const ClvLog *log, ClvEmbedder **out)
{
    if (!out) return CLV_ERR_INVALID;
    *out = NULL;
    ClvLog quiet = {0};
    if (!log) log = &quiet;
    if (!path) return CLV_ERR_INVALID;
    ClvEmbedder *e = calloc(1, sizeof *e);
    if (!e) return CLV_ERR_NOMEM;
    e->log = *log;
    ClvStatus st = clv_clvm_load(path, log, &e->model);
    if (st != CLV_OK) goto fail;
    if ((st = clv_clvm_meta_string(e->model, "arch", &e->arch)) != CLV_OK) goto fail;
    const int is_embed = strcmp(e->arch, "cleave-embed-cnn") == 0;
    if (!is_embed && strcmp(e->arch, "cleave-tagger-cnn") != 0) {
        clv_log(log, CLV_LOG_ERROR, "%s: architecture '%s' gives no embeddings (expected "
                "'cleave-embed-cnn' or 'cleave-tagger-cnn')", path, e->arch);
        st = CLV_ERR_UNSUPPORTED;
        goto fail;
    }
    ClvMelConfig mc;
    int nfft, hop, nmels;
    double fmin, fmax, floor_;
    if ((st = meta_int(e, "sample_rate", 8000, 48000, &e->model_rate)) != CLV_OK ||
        (st = meta_int(e, "n_fft", 16, 65536, &nfft)) != CLV_OK ||
        (st = meta_int(e, "hop", 1, 65536, &hop)) != CLV_OK ||
        (st = meta_int(e, "n_mels", CLV_EMBED_MFCC_DIM + 1, 1024, &nmels)) != CLV_OK ||
        (st = meta_float(e, "fmin", 0.0, 1e6, &fmin)) != CLV_OK ||
        (st = meta_float(e, "fmax", 0.0, 1e6, &fmax)) != CLV_OK ||
        (st = meta_float(e, "log_floor", 1e-30, 1.0, &floor_)) != CLV_OK ||
        (st = meta_int(e, "window_frames", 8, CLV_EMBED_MAX_FRAMES, &e->window)) != CLV_OK)
        goto fail;
    mc.sample_rate = e->model_rate;
    mc.n_fft = nfft;
    mc.hop = hop;
    mc.n_mels = nmels;
    mc.fmin = fmin;
    mc.fmax = fmax;
    mc.log_floor = floor_;
    if (clv_mel_config_check(&mc) != CLV_OK) {
        clv_log(log, CLV_LOG_ERROR, "%s: inconsistent front-end metadata (n_fft %d, hop %d, "
                "%d bands, %g..%g Hz)", path, nfft, hop, nmels, fmin, fmax);
        st = CLV_ERR_FORMAT;
        goto fail;
    }
    e->n_mels = nmels;
    e->log_floor = logf((float)floor_);
    if ((st = clv_tagnet_bind(&e->net, e->model, nmels, e->window, path, log)) != CLV_OK)
        goto fail;
    e->pooled_dim = clv_tagnet_pooled_dim(&e->net);
    if (is_embed) {
        if ((st = meta_int(e, "head_hidden", 1, 4096, &e->head_hidden)) != CLV_OK ||
            (st = meta_int(e, "embed_dim", 1, CLV_EMBED_MAX_DIM, &e->dim)) != CLV_OK)
            goto fail;
        if ((st = clv_nn_bind_linear(e->model, "head.0", e->pooled_dim, e->head_hidden,
                                     &e->head0)) != CLV_OK ||
            (st = clv_nn_bind_linear(e->model, "head.2", e->head_hidden, e->dim, &e->head2)) !=
                CLV_OK)
            goto fail;
    } else {
        e->dim = e->pooled_dim;
    }
    /* Orthonormal DCT-II rows k = 1..MFCC_DIM (scipy.fft.dct(norm='ortho')). */
    for (int k = 1; k <= CLV_EMBED_MFCC_DIM; k++)
        for (int n = 0; n < nmels; n++)
            e->dct[(size_t)(k - 1) * nmels + n] =
                (float)(sqrt(2.0 / nmels) * cos(M_PI * k * (2.0 * n + 1.0) / (2.0 * nmels)));
    if ((st = clv_mel_new(&mc, &e->mel)) != CLV_OK) goto fail;
    /* Largest resampler output per chunk: 8 kHz in -> 48 kHz model at most. */
    e->rs_cap = (size_t)ceil((double)EMB_CHUNK * e->model_rate / 8000.0) + 256;
    e->mel_cap = (int)(e->rs_cap / (size_t)hop) + 2;
    ClvArena sizing;
    clv_arena_init_sizing(&sizing);
    layout(e, &sizing);
    if ((st = clv_arena_new(&e->arena, clv_arena_used(&sizing))) != CLV_OK) goto fail;
    layout(e, &e->arena);
    if (clv_arena_overflowed(&e->arena)) {
        st = CLV_ERR_NOMEM;
        goto fail;
    }
    *out = e;
    return CLV_OK;
fail:
    clv_embed_free(e);
    return st;
}

void clv_embed_free(ClvEmbedder *e)
{
    if (!e) return;
    clv_mel_free(e->mel);
    clv_resample_free(e->rs);
    clv_arena_free(&e->arena);
    clv_clvm_free(e->model);
    free(e);
}

ClvStatus clv_embed_find_default(char *out, size_t cap)
{
    if (clv_registry_find_model(CLV_EMBED_DEFAULT_FILE, out, cap) == CLV_OK) return CLV_OK;
    return clv_registry_find_model("tagger.clvm", out, cap); /* its penultimate layer */
}

int clv_embed_dim(const ClvEmbedder *e) { return e->dim; }
const char *clv_embed_arch(const ClvEmbedder *e) { return e->arch; }
int clv_embed_model_rate(const ClvEmbedder *e) { return e->model_rate; }
int clv_embed_window_frames(const ClvEmbedder *e) { return e->window; }
int clv_embed_bands(const ClvEmbedder *e) { return e->n_mels; }
int64_t clv_embed_frames(const ClvEmbedder *e) { return e->frames; }

const float *clv_embed_mfcc(const ClvEmbedder *e, int *frames)
{
    if (frames) *frames = e->mfcc_frames;
    return e->mfcc;
}

void clv_embed_mfcc_frame(const ClvEmbedder *e, const float *logmel, float *mfcc)
{
    const int F = e->n_mels;
    for (int k = 0; k < CLV_EMBED_MFCC_DIM; k++) {
        const float *row = e->dct + (size_t)k * F;
        double s = 0.0;
        for (int n = 0; n < F; n++) s += (double)row[n] * logmel[n];
        mfcc[k] = (float)s;
    }
}

static void l2_normalise(float *x, int n)
{
    double s = 0.0;
    for (int i = 0; i < n; i++) s += (double)x[i] * x[i];
    /* An all-zero vector (cannot come from a ReLU network with a head bias, but
     * could from a tagger on pure silence) stays zero: it then matches nothing. */
    const float inv = s > 1e-30 ? (float)(1.0 / sqrt(s)) : 0.0f;
    for (int i = 0; i < n; i++) x[i] *= inv;
}

/* The network on e->act_a holding the normalised [1, F, T] input -> e->pooled
 * (2 C) and e->emb (dim, normalised). */
static void run_net(ClvEmbedder *e, int T)
{
    clv_tagnet_forward(&e->net, e->act_a, e->act_b, e->scratch, T, e->pooled);
    if (e->head_hidden > 0) {
        clv_linear(&e->head0, e->pooled, 1, e->hidden);
        clv_relu(e->hidden, (size_t)e->head_hidden);
        clv_linear(&e->head2, e->hidden, 1, e->emb);
    } else {
        memcpy(e->emb, e->pooled, sizeof(float) * (size_t)e->dim);
    }
    l2_normalise(e->emb, e->dim);
}

/* Normalises n frames (frame-major) into act_a [F, T], T = max(n, window), the
 * frames centred in floor padding when n < window; returns T. */
static int load_input(ClvEmbedder *e, const float *frames, int n)
{
    const int T = n < e->window ? e->window : n;
    clv_tagnet_load(&e->net, frames, n, T, (T - n) / 2, e->log_floor, e->act_a);
    return T;
}

ClvStatus clv_embed_run_frames(ClvEmbedder *e, const float *frames, int n, float *embedding,
                               float *pooled)
{
    if (!e || !frames || !embedding || n < 1 || n > CLV_EMBED_MAX_FRAMES) return CLV_ERR_INVALID;
    run_net(e, load_input(e, frames, n));
    memcpy(embedding, e->emb, sizeof(float) * (size_t)e->dim);
    if (pooled) memcpy(pooled, e->pooled, sizeof(float) * (size_t)e->pooled_dim);
    return CLV_OK;
}

/* Runs the last n frames of the ring (oldest first) and adds the embedding to acc. */
static void window_from_ring(ClvEmbedder *e, int n)
{
    const int F = e->n_mels, R = CLV_EMBED_MAX_FRAMES;
    for (int j = 0; j < n; j++) {
        const int slot = ((e->ring_head - n + j) % R + R) % R;
        memcpy(e->ordered + (size_t)j * F, e->ring + (size_t)slot * F, sizeof(float) * (size_t)F);
    }
    run_net(e, load_input(e, e->ordered, n));
    for (int i = 0; i < e->dim; i++) e->acc[i] += e->emb[i];
    e->windows++;
    e->last_end = e->frames;
}

static void push_frames(ClvEmbedder *e, const float *x, size_t n)
{
    const int F = e->n_mels;
    size_t done = 0;
    while (done < n) {
        int used = 0;
        const int chunk = n - done > (size_t)EMB_CHUNK ? EMB_CHUNK : (int)(n - done);
        const int k = clv_mel_process(e->mel, x + done, chunk, e->mel_out, e->mel_cap, &used);
        done += (size_t)used;
        for (int i = 0; i < k; i++) {
            const float *fr = e->mel_out + (size_t)i * F;
            if (e->mfcc_frames < CLV_EMBED_MFCC_MAX_FRAMES)
                clv_embed_mfcc_frame(e, fr, e->mfcc + (size_t)e->mfcc_frames++ * CLV_EMBED_MFCC_DIM);
            memcpy(e->ring + (size_t)e->ring_head * F, fr, sizeof(float) * (size_t)F);
            e->ring_head = (e->ring_head + 1) % CLV_EMBED_MAX_FRAMES;
            e->frames++;
            if (e->frames >= CLV_EMBED_MAX_FRAMES &&
                (e->frames - CLV_EMBED_MAX_FRAMES) % EMB_HOP == 0)
                window_from_ring(e, CLV_EMBED_MAX_FRAMES);
        }
        if (used == 0 && k == 0) break;
    }
}

/* Model-rate samples after dropping what is left of the resampler's delay. */
static void push_resampled(ClvEmbedder *e, const float *x, size_t n)
{
    if (e->rs_skip >= 1.0) {
        const size_t drop = (size_t)e->rs_skip < n ? (size_t)e->rs_skip : n;
        e->rs_skip -= (double)drop;
        x += drop;
        n -= drop;
    }
    if (n) push_frames(e, x, n);
}

ClvStatus clv_embed_begin(ClvEmbedder *e, int sample_rate)
{
    if (!e) return CLV_ERR_INVALID;
    if (sample_rate < 8000 || sample_rate > 192000) {
        clv_log(&e->log, CLV_LOG_ERROR, "embedding: sample rate %d Hz is outside 8000..192000",
                sample_rate);
        return CLV_ERR_UNSUPPORTED;
    }
    if (sample_rate != e->model_rate) {
        if (!e->rs || e->rs_rate != sample_rate) {
            clv_resample_free(e->rs);
            e->rs = NULL;
            ClvStatus st = clv_resample_new(sample_rate, e->model_rate, 1, &e->rs);
            if (st != CLV_OK) return st;
            e->rs_rate = sample_rate;
        } else {
            clv_resample_reset(e->rs);
        }
        e->rs_skip = floor(clv_resample_delay(e->rs) + 0.5);
    }
    e->clip_rate = sample_rate;
    clv_mel_reset(e->mel);
    e->ring_head = 0;
    e->frames = 0;
    e->last_end = 0;
    e->windows = 0;
    e->mfcc_frames = 0;
    memset(e->acc, 0, sizeof(float) * (size_t)e->dim);
    e->started = 1;
    return CLV_OK;
}

ClvStatus clv_embed_feed(ClvEmbedder *e, const float *x, int n)
{
    if (!e || n < 0 || (n > 0 && !x)) return CLV_ERR_INVALID;
    if (!e->started) return CLV_ERR_STATE;
    int done = 0;
    while (done < n) {
        const int len = n - done > EMB_CHUNK ? EMB_CHUNK : n - done;
        for (int i = 0; i < len; i++) {
            const float v = x[done + i];
            e->chunk[i] = isfinite(v) ? clv_clampf(v, -1e4f, 1e4f) : 0.0f;
        }
        if (e->clip_rate != e->model_rate) {
            const size_t got = clv_resample_process(e->rs, e->chunk, (size_t)len, e->rs_out,
                                                    e->rs_cap);
            push_resampled(e, e->rs_out, got);
        } else {
            push_frames(e, e->chunk, (size_t)len);
        }
        done += len;
    }
    return CLV_OK;
}

ClvStatus clv_embed_end(ClvEmbedder *e, float *embedding)
{
    if (!e || !embedding) return CLV_ERR_INVALID;
    if (!e->started) return CLV_ERR_STATE;
    if (e->clip_rate != e->model_rate) {
        for (int guard = 0; guard < 256; guard++) {
            const size_t got = clv_resample_process(e->rs, NULL, 0, e->rs_out, e->rs_cap);
            if (got == 0) break;
            push_resampled(e, e->rs_out, got);
        }
    }
    if (e->windows == 0) {
        /* One pass over the whole clip (at least one frame: an empty clip is silence). */
        const int n = e->frames > 0 ? (int)e->frames : 1;
        if (e->frames == 0)
            for (int f = 0; f < e->n_mels; f++) e->ring[f] = e->log_floor;
        if (e->frames == 0) e->ring_head = 1;
        window_from_ring(e, n);
    } else if (e->last_end < e->frames) {
        window_from_ring(e, CLV_EMBED_MAX_FRAMES);
    }
    for (int i = 0; i < e->dim; i++) embedding[i] = e->acc[i];
    l2_normalise(embedding, e->dim);
    e->started = 0;
    return CLV_OK;
}
