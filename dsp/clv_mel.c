/* SPDX-License-Identifier: ISC */
/* Streaming log-mel front end on the streaming STFT.
 *
 * Input samples collect in a hop-sized staging buffer; each full hop goes through
 * clv_stft_analyze() (which keeps the last n_fft samples and applies the periodic
 * sqrt-Hann window), then power, mel weighting and the floored log. The mel
 * filters are computed in double precision exactly as tag_features.py does and
 * stored sparsely (first bin + run of weights per band), so a frame costs
 * n_fft log n_fft for the FFT plus about 2 * bins multiply-adds. */
#include "clv_mel.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "clv_stft.h"

struct ClvMelImpl {
    ClvMelConfig cfg;
    int bins;
    ClvStft *stft;
    float *stage;   /* hop samples being collected */
    int staged;
    float *spec;    /* 2 * bins interleaved re/im */
    float *power;   /* bins */
    int *first;     /* per band: first bin */
    int *count;     /* per band: number of bins */
    float **w;      /* per band: weights (pointers into wbuf) */
    float *wbuf;
    float floor_;
};

void clv_mel_config_default(ClvMelConfig *cfg)
{
    cfg->sample_rate = 16000;
    cfg->n_fft = 1024;
    cfg->hop = 320;
    cfg->n_mels = 64;
    cfg->fmin = 50.0;
    cfg->fmax = 8000.0;
    cfg->log_floor = 1e-6;
}

ClvStatus clv_mel_config_check(const ClvMelConfig *c)
{
    if (!c) return CLV_ERR_INVALID;
    if (c->sample_rate < 1000 || c->sample_rate > 768000) return CLV_ERR_INVALID;
    if (c->n_fft < 16 || c->n_fft > 65536) return CLV_ERR_INVALID;
    if (c->hop < 1 || c->hop > c->n_fft) return CLV_ERR_INVALID;
    if (c->n_mels < 1 || c->n_mels > c->n_fft / 2 + 1) return CLV_ERR_INVALID;
    if (!(c->fmin >= 0.0) || !(c->fmax > c->fmin) || !(c->fmax <= c->sample_rate / 2.0))
        return CLV_ERR_INVALID;
    if (!(c->log_floor > 0.0) || !isfinite(c->log_floor)) return CLV_ERR_INVALID;
    return CLV_OK;
}

static double hz_to_mel(double f) { return 2595.0 * log10(1.0 + f / 700.0); }
static double mel_to_hz(double m) { return 700.0 * (pow(10.0, m / 2595.0) - 1.0); }

ClvStatus clv_mel_new(const ClvMelConfig *cfg, ClvMel **out)
{
    if (!out) return CLV_ERR_INVALID;
    *out = NULL;
    ClvStatus st = clv_mel_config_check(cfg);
    if (st != CLV_OK) return st;
    ClvMel *m = calloc(1, sizeof *m);
    if (!m) return CLV_ERR_NOMEM;
    m->cfg = *cfg;
    m->bins = cfg->n_fft / 2 + 1;
    m->floor_ = (float)cfg->log_floor;
    const int nb = cfg->n_mels, bins = m->bins;
    m->stage = calloc((size_t)cfg->hop, sizeof(float));
    m->spec = calloc(2 * (size_t)bins, sizeof(float));
    m->power = calloc((size_t)bins, sizeof(float));
    m->first = calloc((size_t)nb, sizeof(int));
    m->count = calloc((size_t)nb, sizeof(int));
    m->w = calloc((size_t)nb, sizeof(float *));
    double *pts = malloc(sizeof(double) * (size_t)(nb + 2));
    if (!m->stage || !m->spec || !m->power || !m->first || !m->count || !m->w || !pts) {
        st = CLV_ERR_NOMEM;
        goto fail;
    }
    /* band edges as numpy.linspace computes them: start + i * step, last = stop */
    const double m0 = hz_to_mel(cfg->fmin), m1 = hz_to_mel(cfg->fmax);
    const double step = (m1 - m0) / (nb + 1);
    for (int i = 0; i < nb + 2; i++) pts[i] = mel_to_hz(i == nb + 1 ? m1 : m0 + i * step);
    /* first pass: extents; second: weights into one buffer */
    size_t total = 0;
    for (int b = 0; b < nb; b++) {
        int lo = -1, hi = -1;
        for (int k = 0; k < bins; k++) {
            const double f = (double)k * cfg->sample_rate / cfg->n_fft;
            const double up = (f - pts[b]) / (pts[b + 1] - pts[b]);
            const double down = (pts[b + 2] - f) / (pts[b + 2] - pts[b + 1]);
            const double v = fmax(0.0, fmin(up, down));
            if (v > 0.0) {
                if (lo < 0) lo = k;
                hi = k;
            }
        }
        m->first[b] = lo < 0 ? 0 : lo;
        m->count[b] = lo < 0 ? 0 : hi - lo + 1;
        total += (size_t)m->count[b];
    }
    m->wbuf = calloc(total ? total : 1, sizeof(float));
    if (!m->wbuf) {
        st = CLV_ERR_NOMEM;
        goto fail;
    }
    float *p = m->wbuf;
    for (int b = 0; b < nb; b++) {
        m->w[b] = p;
        for (int j = 0; j < m->count[b]; j++) {
            const int k = m->first[b] + j;
            const double f = (double)k * cfg->sample_rate / cfg->n_fft;
            const double up = (f - pts[b]) / (pts[b + 1] - pts[b]);
            const double down = (pts[b + 2] - f) / (pts[b + 2] - pts[b + 1]);
            p[j] = (float)fmax(0.0, fmin(up, down));
        }
        p += m->count[b];
    }
    st = clv_stft_new(cfg->n_fft, cfg->hop, &m->stft);
    if (st != CLV_OK) goto fail;
    free(pts);
    *out = m;
    return CLV_OK;
fail:
    free(pts);
    clv_mel_free(m);
    return st;
}

void clv_mel_free(ClvMel *m)
{
    if (!m) return;
    clv_stft_free(m->stft);
    free(m->stage);
    free(m->spec);
    free(m->power);
    free(m->first);
    free(m->count);
    free(m->w);
    free(m->wbuf);
    free(m);
}

int clv_mel_bands(const ClvMel *m) { return m->cfg.n_mels; }
int clv_mel_hop(const ClvMel *m) { return m->cfg.hop; }

int clv_mel_frames_for(const ClvMel *m, int n)
{
    if (n <= 0) return 0;
    return (int)(((long long)m->staged + n) / m->cfg.hop);
}

static void mel_frame(ClvMel *m, float *out)
{
    clv_stft_analyze(m->stft, m->stage, m->spec);
    for (int k = 0; k < m->bins; k++) {
        const float re = m->spec[2 * k], im = m->spec[2 * k + 1];
        m->power[k] = re * re + im * im;
    }
    for (int b = 0; b < m->cfg.n_mels; b++) {
        const float *w = m->w[b];
        const float *pw = m->power + m->first[b];
        float acc = 0.0f;
        for (int j = 0; j < m->count[b]; j++) acc += w[j] * pw[j];
        /* the floor also maps NaN to the floor (comparison false) */
        out[b] = logf(acc > m->floor_ ? acc : m->floor_);
    }
}

int clv_mel_process(ClvMel *m, const float *x, int n, float *out, int max_frames, int *consumed)
{
    int done = 0, frames = 0;
    const int hop = m->cfg.hop;
    while (done < n) {
        const int want = hop - m->staged;
        int take = n - done < want ? n - done : want;
        if (take == want && frames >= max_frames) break; /* would complete a frame */
        memcpy(m->stage + m->staged, x + done, sizeof(float) * (size_t)take);
        m->staged += take;
        done += take;
        if (m->staged == hop) {
            mel_frame(m, out + (size_t)frames * m->cfg.n_mels);
            frames++;
            m->staged = 0;
        }
    }
    if (consumed) *consumed = done;
    return frames;
}

void clv_mel_reset(ClvMel *m)
{
    clv_stft_reset(m->stft);
    m->staged = 0;
}

ClvStatus clv_mel_filter(const ClvMel *m, int band, int *first, int *count, const float **weights)
{
    if (!m || band < 0 || band >= m->cfg.n_mels) return CLV_ERR_INVALID;
    if (first) *first = m->first[band];
    if (count) *count = m->count[band];
    if (weights) *weights = m->w[band];
    return CLV_OK;
}
