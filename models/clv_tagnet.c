/* SPDX-License-Identifier: ISC */
/* The tagging CNN shared by the tagger and the embedder (see clv_tagnet.h). */
#include "clv_tagnet.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static void conv3x3(ClvConv2d *c, int in_ch, int out_ch)
{
    memset(c, 0, sizeof *c);
    c->in_ch = in_ch;
    c->out_ch = out_ch;
    c->kh = c->kw = 3;
    c->sh = c->sw = 1;
    c->ph = c->pw = 1;
    c->dh = c->dw = 1;
    c->groups = 1;
}

ClvStatus clv_tagnet_bind(ClvTagNet *n, const ClvClvm *m, int n_mels, int min_frames,
                          const char *path, const ClvLog *log)
{
    ClvStatus st;
    memset(n, 0, sizeof *n);
    n->n_mels = n_mels;
    const int64_t *chans = NULL;
    int nc = 0;
    if ((st = clv_clvm_meta_ints(m, "channels", &chans, &nc)) != CLV_OK) return st;
    if (nc < 1 || nc > CLV_TAGNET_MAX_CONVS) {
        clv_log(log, CLV_LOG_ERROR, "%s: %d conv blocks (1..%d supported)", path, nc,
                CLV_TAGNET_MAX_CONVS);
        return CLV_ERR_UNSUPPORTED;
    }
    n->n_convs = nc;
    int in_ch = 1, hh = n_mels, ww = min_frames;
    for (int i = 0; i < nc; i++) {
        if (chans[i] < 1 || chans[i] > 1024) {
            clv_log(log, CLV_LOG_ERROR, "%s: channels[%d] = %lld is out of range 1..1024", path,
                    i, (long long)chans[i]);
            return CLV_ERR_FORMAT;
        }
        n->ch[i] = (int)chans[i];
        conv3x3(&n->conv[i], in_ch, n->ch[i]);
        char name[32];
        snprintf(name, sizeof name, "convs.%d", i);
        if ((st = clv_nn_bind_conv2d(m, name, &n->conv[i])) != CLV_OK) return st;
        in_ch = n->ch[i];
        if (i < nc - 1) {
            hh /= 2;
            ww /= 2;
        }
        if (hh < 1 || ww < 1) {
            clv_log(log, CLV_LOG_ERROR, "%s: %d frames x %d bands is too small for the pooling",
                    path, min_frames, n_mels);
            return CLV_ERR_FORMAT;
        }
    }
    n->feat_ch = in_ch;
    if ((st = CLV_CLVM_BIND(m, "norm_mean", &n->norm_mean, n_mels)) != CLV_OK) return st;
    if ((st = CLV_CLVM_BIND(m, "norm_std", &n->norm_std, n_mels)) != CLV_OK) return st;
    for (int i = 0; i < n_mels; i++) {
        if (!(n->norm_std[i] > 0.0f) || !isfinite(n->norm_mean[i]) || !isfinite(n->norm_std[i])) {
            clv_log(log, CLV_LOG_ERROR, "%s: norm_std[%d] = %g must be positive and finite", path,
                    i, n->norm_std[i]);
            return CLV_ERR_FORMAT;
        }
    }
    return CLV_OK;
}

/* The conv layers in order with the map size at their input; returns how many. */
static int layers(const ClvTagNet *n, int T, const ClvConv2d **c, int *h, int *w)
{
    int k = 0, hh = n->n_mels, ww = T;
    for (int i = 0; i < n->n_convs; i++, k++) {
        c[k] = &n->conv[i];
        h[k] = hh;
        w[k] = ww;
        if (i < n->n_convs - 1) {
            hh /= 2;
            ww /= 2;
        }
    }
    return k;
}

size_t clv_tagnet_act_floats(const ClvTagNet *n, int T)
{
    const ClvConv2d *c[CLV_TAGNET_MAX_CONVS];
    int h[CLV_TAGNET_MAX_CONVS], w[CLV_TAGNET_MAX_CONVS];
    size_t biggest = 1;
    for (int i = 0, k = layers(n, T, c, h, w); i < k; i++) {
        const size_t in = (size_t)c[i]->in_ch * h[i] * w[i];
        const size_t out = (size_t)c[i]->out_ch * h[i] * w[i];
        if (in > biggest) biggest = in;
        if (out > biggest) biggest = out;
    }
    return biggest;
}

size_t clv_tagnet_scratch_floats(const ClvTagNet *n, int T)
{
    const ClvConv2d *c[CLV_TAGNET_MAX_CONVS];
    int h[CLV_TAGNET_MAX_CONVS], w[CLV_TAGNET_MAX_CONVS];
    size_t s = 1;
    for (int i = 0, k = layers(n, T, c, h, w); i < k; i++) {
        const size_t need = clv_conv2d_scratch(c[i], h[i], w[i]);
        if (need > s) s = need;
    }
    return s;
}

double clv_tagnet_macs(const ClvTagNet *n, int T)
{
    const ClvConv2d *c[CLV_TAGNET_MAX_CONVS];
    int h[CLV_TAGNET_MAX_CONVS], w[CLV_TAGNET_MAX_CONVS];
    double macs = 0.0;
    for (int i = 0, k = layers(n, T, c, h, w); i < k; i++) {
        macs += (double)c[i]->out_ch * c[i]->in_ch * c[i]->kh * c[i]->kw * h[i] * w[i];
    }
    return macs;
}

int clv_tagnet_pooled_dim(const ClvTagNet *n) { return 2 * n->feat_ch; }

void clv_tagnet_load(const ClvTagNet *n, const float *frames, int count, int T, int off,
                     float pad, float *act)
{
    const int F = n->n_mels;
    for (int f = 0; f < F; f++) {
        const float mu = n->norm_mean[f], s = 1.0f / n->norm_std[f];
        const float padn = (pad - mu) * s;
        float *row = act + (size_t)f * T;
        for (int j = 0; j < T; j++) {
            const int src = j - off;
            row[j] = src >= 0 && src < count ? (frames[(size_t)src * F + f] - mu) * s : padn;
        }
    }
}

void clv_tagnet_forward(const ClvTagNet *n, float *act_a, float *act_b, float *scratch, int T,
                        float *pooled)
{
    int h = n->n_mels, w = T;
    float *x = act_a, *y = act_b;
    for (int i = 0; i < n->n_convs; i++) {
        clv_conv2d(&n->conv[i], x, h, w, y, scratch);
        clv_relu(y, (size_t)n->ch[i] * h * w);
        if (i < n->n_convs - 1) {
            clv_maxpool2d(y, n->ch[i], h, w, 2, 2, 2, 2, 0, 0, x);
            h /= 2;
            w /= 2;
        } else {
            float *s = x;
            x = y;
            y = s;
        }
    }
    /* x: [C, h, w]; mean over the bands into y: [C, w] */
    const int C = n->feat_ch;
    for (int c = 0; c < C; c++) {
        float *dst = y + (size_t)c * w;
        const float *src = x + (size_t)c * h * w;
        for (int j = 0; j < w; j++) dst[j] = 0.0f;
        for (int r = 0; r < h; r++)
            for (int j = 0; j < w; j++) dst[j] += src[(size_t)r * w + j];
        for (int j = 0; j < w; j++) dst[j] /= (float)h;
    }
    clv_global_avgpool(y, n->feat_ch, w, pooled);
    clv_global_maxpool(y, n->feat_ch, w, pooled + n->feat_ch);
}
