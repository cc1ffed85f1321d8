/* SPDX-License-Identifier: ISC */
/* Rolling tagger: resampler -> log-mel -> frame ring -> CNN every `step` frames
 * -> hysteresis.
 *
 * Design: everything is sized at creation from the model's metadata and carved
 * from one ClvArena, so feeding never allocates. The mel frames live in a ring of
 * `window` frames pre-filled with the log floor (what the front end gives for
 * silence), so the first steps see silence before the stream, as training's
 * floor padding does. A step copies the ring into the network's [1, F, T] input,
 * normalised per band, runs the CNN of clv_tagnet.h to its pooled features, then
 * the linear layer and the sigmoid: the network of models/train/tag_model.py.
 * Two ping-pong activation buffers hold the largest feature map. */
#include "clv_tagger.h"

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

#define TAG_CHUNK 1024 /* input samples resampled per call */

struct ClvTaggerImpl {
    ClvLog log;
    ClvClvm *model;
    ClvArena arena;
    ClvMel *mel;
    ClvResample *rs;  /* NULL at 16 kHz */
    int rate, model_rate;
    int n_labels, n_mels, window, step;
    const char *const *labels;
    float thr_on, thr_off;
    float log_floor; /* log of the front end's floor: the value of silence */
    ClvTagNet net;
    ClvLinear fc;
    /* state */
    float *ring;      /* [window, n_mels] */
    int ring_head;    /* index of the oldest frame */
    long long frames; /* mel frames so far */
    int since_step;   /* frames since the last step */
    int steps_done;
    unsigned char active[CLV_TAG_MAX_LABELS];
    double onset[CLV_TAG_MAX_LABELS];
    float peak[CLV_TAG_MAX_LABELS];
    /* buffers */
    float *chunk;     /* TAG_CHUNK sanitised input */
    float *rs_out;    /* resampled chunk */
    size_t rs_cap;
    float *mel_out;   /* frames of one resampled chunk */
    int mel_cap;
    float *act_a, *act_b, *scratch;
    float *pooled;    /* [pooled_dim] */
    float *logits;
    double macs;
};

static ClvStatus meta_int(ClvTagger *t, const char *key, long lo, long hi, int *out)
{
    return clv_clvm_meta_int_range(t->model, key, lo, hi, out);
}

static ClvStatus meta_float(ClvTagger *t, const char *key, double lo, double hi, double *out)
{
    return clv_clvm_meta_float_range(t->model, key, lo, hi, out);
}

/* Lays out all buffers (run on a sizing arena, then on the real one). */
static void layout(ClvTagger *t, ClvArena *a)
{
    const size_t biggest = clv_tagnet_act_floats(&t->net, t->window);
    const size_t scratch = clv_tagnet_scratch_floats(&t->net, t->window);
    t->ring = clv_arena_floats(a, (size_t)t->window * t->n_mels);
    t->chunk = clv_arena_floats(a, TAG_CHUNK);
    t->rs_out = clv_arena_floats(a, t->rs_cap);
    t->mel_out = clv_arena_floats(a, (size_t)t->mel_cap * t->n_mels);
    t->act_a = clv_arena_floats(a, biggest);
    t->act_b = clv_arena_floats(a, biggest);
    t->scratch = clv_arena_floats(a, scratch);
    t->pooled = clv_arena_floats(a, (size_t)clv_tagnet_pooled_dim(&t->net));
    t->logits = clv_arena_floats(a, (size_t)t->n_labels);
}

ClvStatus clv_tagger_new(const char *path, int sample_rate, const ClvLog *log, ClvTagger **out)
{
    if (!out) return CLV_ERR_INVALID;
    *out = NULL;
    ClvLog quiet = {0};
    if (!log) log = &quiet;
    if (!path) return CLV_ERR_INVALID;
    if (sample_rate < 8000 || sample_rate > 192000) {
        clv_log(log, CLV_LOG_ERROR, "tagger: sample rate %d Hz is outside 8000..192000",
                sample_rate);
        return CLV_ERR_UNSUPPORTED;
    }
    ClvTagger *t = calloc(1, sizeof *t);
    if (!t) return CLV_ERR_NOMEM;
    t->log = *log;
    ClvStatus st = clv_clvm_load(path, log, &t->model);
    if (st != CLV_OK) goto fail;
    const char *arch = NULL;
    if ((st = clv_clvm_meta_string(t->model, "arch", &arch)) != CLV_OK) goto fail;
    if (strcmp(arch, "cleave-tagger-cnn") != 0) {
        clv_log(log, CLV_LOG_ERROR, "%s: architecture '%s' is not a cleave tagger "
                "(expected 'cleave-tagger-cnn')", path, arch);
        st = CLV_ERR_UNSUPPORTED;
        goto fail;
    }
    ClvMelConfig mc;
    int nfft, hop, nmels;
    double fmin, fmax, floor_, on, off;
    if ((st = meta_int(t, "sample_rate", 8000, 48000, &t->model_rate)) != CLV_OK ||
        (st = meta_int(t, "n_fft", 16, 65536, &nfft)) != CLV_OK ||
        (st = meta_int(t, "hop", 1, 65536, &hop)) != CLV_OK ||
        (st = meta_int(t, "n_mels", 1, 1024, &nmels)) != CLV_OK ||
        (st = meta_float(t, "fmin", 0.0, 1e6, &fmin)) != CLV_OK ||
        (st = meta_float(t, "fmax", 0.0, 1e6, &fmax)) != CLV_OK ||
        (st = meta_float(t, "log_floor", 1e-30, 1.0, &floor_)) != CLV_OK ||
        (st = meta_int(t, "window_frames", 8, 4096, &t->window)) != CLV_OK ||
        (st = meta_int(t, "step_frames", 1, 4096, &t->step)) != CLV_OK ||
        (st = meta_float(t, "threshold_on", 0.0, 1.0, &on)) != CLV_OK ||
        (st = meta_float(t, "threshold_off", 0.0, 1.0, &off)) != CLV_OK)
        goto fail;
    mc.sample_rate = t->model_rate;
    mc.n_fft = nfft;
    mc.hop = hop;
    mc.n_mels = nmels;
    mc.fmin = fmin;
    mc.fmax = fmax;
    mc.log_floor = floor_;
    if (clv_mel_config_check(&mc) != CLV_OK || t->step > t->window) {
        clv_log(log, CLV_LOG_ERROR, "%s: inconsistent front-end metadata (n_fft %d, hop %d, "
                "%d bands, %g..%g Hz, window %d, step %d)", path, nfft, hop, nmels, fmin, fmax,
                t->window, t->step);
        st = CLV_ERR_FORMAT;
        goto fail;
    }
    t->n_mels = nmels;
    t->log_floor = logf((float)floor_);
    int nl = 0;
    if ((st = clv_clvm_meta_strings(t->model, "labels", &t->labels, &nl)) != CLV_OK) goto fail;
    if (nl < 1 || nl > CLV_TAG_MAX_LABELS) {
        clv_log(log, CLV_LOG_ERROR, "%s: %d labels (1..%d supported)", path, nl,
                CLV_TAG_MAX_LABELS);
        st = CLV_ERR_UNSUPPORTED;
        goto fail;
    }
    t->n_labels = nl;
    if ((st = clv_tagnet_bind(&t->net, t->model, nmels, t->window, path, log)) != CLV_OK)
        goto fail;
    const int pooled = clv_tagnet_pooled_dim(&t->net);
    if ((st = clv_nn_bind_linear(t->model, "fc", pooled, nl, &t->fc)) != CLV_OK) goto fail;
    t->macs = clv_tagnet_macs(&t->net, t->window) + (double)pooled * nl;
    t->rate = sample_rate;
    if ((st = clv_mel_new(&mc, &t->mel)) != CLV_OK) goto fail;
    if (sample_rate != t->model_rate) {
        if ((st = clv_resample_new(sample_rate, t->model_rate, 1, &t->rs)) != CLV_OK) goto fail;
        if ((st = clv_resample_prime(t->rs, TAG_CHUNK)) != CLV_OK) goto fail;
        t->rs_cap = (size_t)ceil((double)TAG_CHUNK * t->model_rate / sample_rate) + 256;
    } else {
        t->rs_cap = TAG_CHUNK;
    }
    t->mel_cap = (int)(t->rs_cap / (size_t)hop) + 2;
    ClvArena sizing;
    clv_arena_init_sizing(&sizing);
    layout(t, &sizing);
    if ((st = clv_arena_new(&t->arena, clv_arena_used(&sizing))) != CLV_OK) goto fail;
    layout(t, &t->arena);
    if (clv_arena_overflowed(&t->arena)) {
        st = CLV_ERR_NOMEM;
        goto fail;
    }
    clv_tagger_set_thresholds(t, (float)on, (float)off);
    clv_tagger_reset(t);
    *out = t;
    return CLV_OK;
fail:
    clv_tagger_free(t);
    return st;
}

ClvStatus clv_tagger_find_default(char *out, size_t cap)
{
    return clv_registry_find_model(CLV_TAGGER_DEFAULT_FILE, out, cap);
}

void clv_tagger_free(ClvTagger *t)
{
    if (!t) return;
    clv_mel_free(t->mel);
    clv_resample_free(t->rs);
    clv_arena_free(&t->arena);
    clv_clvm_free(t->model);
    free(t);
}

int clv_tagger_label_count(const ClvTagger *t) { return t->n_labels; }
const char *clv_tagger_label(const ClvTagger *t, int i)
{
    return i >= 0 && i < t->n_labels ? t->labels[i] : "";
}
double clv_tagger_step_seconds(const ClvTagger *t)
{
    return (double)t->step * clv_mel_hop(t->mel) / t->model_rate;
}
double clv_tagger_window_seconds(const ClvTagger *t)
{
    return (double)t->window * clv_mel_hop(t->mel) / t->model_rate;
}
double clv_tagger_macs_per_step(const ClvTagger *t) { return t->macs; }
int clv_tagger_window_frames(const ClvTagger *t) { return t->window; }
int clv_tagger_bands(const ClvTagger *t) { return t->n_mels; }

float clv_tagger_threshold_on(const ClvTagger *t) { return t->thr_on; }
float clv_tagger_threshold_off(const ClvTagger *t) { return t->thr_off; }

void clv_tagger_set_thresholds(ClvTagger *t, float on, float off)
{
    on = clv_clampf(on, 0.01f, 0.99f);
    off = clv_clampf(off, 0.01f, 0.99f);
    if (off > on) off = on;
    t->thr_on = on;
    t->thr_off = off;
}

void clv_tagger_reset(ClvTagger *t)
{
    const float v = t->log_floor;
    for (size_t i = 0; i < (size_t)t->window * t->n_mels; i++) t->ring[i] = v;
    t->ring_head = 0;
    t->frames = 0;
    t->since_step = 0;
    t->steps_done = 0;
    memset(t->active, 0, sizeof t->active);
    clv_mel_reset(t->mel);
    if (t->rs) clv_resample_reset(t->rs);
}

/* The network on t->act_a holding the normalised [1, F, T] input. */
static void run_net(ClvTagger *t, float *scores)
{
    clv_tagnet_forward(&t->net, t->act_a, t->act_b, t->scratch, t->window, t->pooled);
    clv_linear(&t->fc, t->pooled, 1, t->logits);
    for (int l = 0; l < t->n_labels; l++) scores[l] = t->logits[l];
    clv_sigmoid(scores, (size_t)t->n_labels);
}

ClvStatus clv_tagger_run_window(ClvTagger *t, const float *frames, float *scores)
{
    if (!t || !frames || !scores) return CLV_ERR_INVALID;
    clv_tagnet_load(&t->net, frames, t->window, t->window, 0, 0.0f, t->act_a);
    run_net(t, scores);
    return CLV_OK;
}

static void do_step(ClvTagger *t, ClvTagStepFn on_step, ClvTagEventFn on_event, void *user)
{
    const int F = t->n_mels, T = t->window;
    /* ring (oldest first) -> normalised [F, T] */
    for (int j = 0; j < T; j++) {
        const float *fr = t->ring + (size_t)((t->ring_head + j) % T) * F;
        for (int f = 0; f < F; f++)
            t->act_a[(size_t)f * T + j] = (fr[f] - t->net.norm_mean[f]) / t->net.norm_std[f];
    }
    ClvTagStep s;
    memset(&s, 0, sizeof s);
    s.t = (double)t->frames * clv_mel_hop(t->mel) / t->model_rate;
    s.n_labels = t->n_labels;
    s.fill = t->frames >= t->window ? 1.0f : (float)t->frames / (float)t->window;
    run_net(t, s.score);
    const double step_s = clv_tagger_step_seconds(t), win_s = clv_tagger_window_seconds(t);
    for (int l = 0; l < t->n_labels; l++) {
        const float v = s.score[l];
        if (!t->active[l] && v >= t->thr_on) {
            t->active[l] = 1;
            t->onset[l] = s.t - step_s > 0.0 ? s.t - step_s : 0.0;
            t->peak[l] = v;
            if (on_event) {
                ClvTagEvent e = {l, t->onset[l], -1.0, v};
                on_event(user, &e);
            }
        } else if (t->active[l]) {
            if (v > t->peak[l]) t->peak[l] = v;
            if (v < t->thr_off) {
                t->active[l] = 0;
                double off = s.t - win_s;
                if (off < t->onset[l]) off = t->onset[l];
                if (on_event) {
                    ClvTagEvent e = {l, t->onset[l], off, t->peak[l]};
                    on_event(user, &e);
                }
            }
        }
        s.active[l] = t->active[l];
    }
    t->since_step = 0;
    t->steps_done++;
    if (on_step) on_step(user, &s);
}

/* Pushes resampled samples through the front end, stepping as frames complete. */
static void push16k(ClvTagger *t, const float *x, size_t n, ClvTagStepFn on_step,
                    ClvTagEventFn on_event, void *user)
{
    const int F = t->n_mels;
    size_t done = 0;
    while (done < n) {
        int used = 0;
        int chunk = n - done > (size_t)TAG_CHUNK ? TAG_CHUNK : (int)(n - done);
        int k = clv_mel_process(t->mel, x + done, chunk, t->mel_out, t->mel_cap, &used);
        done += (size_t)used;
        for (int i = 0; i < k; i++) {
            memcpy(t->ring + (size_t)t->ring_head * F, t->mel_out + (size_t)i * F,
                   sizeof(float) * (size_t)F);
            t->ring_head = (t->ring_head + 1) % t->window;
            t->frames++;
            if (++t->since_step >= t->step) do_step(t, on_step, on_event, user);
        }
        if (used == 0 && k == 0) break; /* cannot happen with mel_cap >= 1; be safe */
    }
}

ClvStatus clv_tagger_feed(ClvTagger *t, const float *x, int n, ClvTagStepFn on_step,
                          ClvTagEventFn on_event, void *user)
{
    if (!t || n < 0 || (n > 0 && !x)) return CLV_ERR_INVALID;
    int done = 0;
    while (done < n) {
        const int len = n - done > TAG_CHUNK ? TAG_CHUNK : n - done;
        for (int i = 0; i < len; i++) {
            const float v = x[done + i];
            t->chunk[i] = isfinite(v) ? clv_clampf(v, -1e4f, 1e4f) : 0.0f;
        }
        if (t->rs) {
            size_t got = clv_resample_process(t->rs, t->chunk, (size_t)len, t->rs_out, t->rs_cap);
            push16k(t, t->rs_out, got, on_step, on_event, user);
        } else {
            push16k(t, t->chunk, (size_t)len, on_step, on_event, user);
        }
        done += len;
    }
    return CLV_OK;
}

ClvStatus clv_tagger_finish(ClvTagger *t, ClvTagStepFn on_step, ClvTagEventFn on_event,
                            void *user)
{
    if (!t) return CLV_ERR_INVALID;
    if (t->rs) {
        for (int guard = 0; guard < 64; guard++) {
            size_t got = clv_resample_process(t->rs, NULL, 0, t->rs_out, t->rs_cap);
            if (got == 0) break;
            push16k(t, t->rs_out, got, on_step, on_event, user);
        }
    }
    if (t->since_step > 0 || t->steps_done == 0) do_step(t, on_step, on_event, user);
    const double end = (double)t->frames * clv_mel_hop(t->mel) / t->model_rate;
    for (int l = 0; l < t->n_labels; l++) {
        if (!t->active[l]) continue;
        t->active[l] = 0;
        if (on_event) {
            ClvTagEvent e = {l, t->onset[l], end > t->onset[l] ? end : t->onset[l], t->peak[l]};
            on_event(user, &e);
        }
    }
    return CLV_OK;
}
