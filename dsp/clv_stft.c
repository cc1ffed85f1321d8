/* SPDX-License-Identifier: ISC */
/* Streaming STFT/iSTFT.
 *
 * Analysis keeps the last n_fft input samples in a linear buffer (shifted by hop on
 * each call; n_fft is small enough that memmove beats index arithmetic in the FFT
 * input copy). Synthesis accumulates windowed inverse frames in an n_fft buffer and
 * emits its first hop samples, then shifts.
 *
 * Perfect reconstruction for any hop: with analysis window a[n], the synthesis window
 * s[n] = a[n] / (N * sum_k a[n + k*hop]^2) makes sum_k a*s over overlapping frames
 * equal 1/N at every sample, and the 1/N undoes FFTW's unnormalised inverse. For hops
 * that divide n_fft/2 this is the usual constant sqrt-Hann normalisation. */
#include "clv_stft.h"

#include <fftw3.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct ClvStftImpl {
    int n_fft, hop, bins;
    float *win_a;   /* analysis window */
    float *win_s;   /* synthesis window, dual of win_a, includes 1/N */
    float *hist;    /* last n_fft inputs */
    float *ola;     /* overlap-add accumulator, n_fft */
    float *tbuf;    /* FFT time-domain buffer */
    fftwf_complex *fbuf;
    fftwf_plan fwd, inv;
};

/* FFTW's planner is not thread-safe; creation may happen on several threads. */
static pthread_mutex_t planner_lock = PTHREAD_MUTEX_INITIALIZER;

ClvStatus clv_stft_new(int n_fft, int hop, ClvStft **out)
{
    *out = NULL;
    if (n_fft < 2 || n_fft > (1 << 20) || hop < 1 || hop > n_fft) return CLV_ERR_INVALID;
    ClvStft *s = calloc(1, sizeof *s);
    if (!s) return CLV_ERR_NOMEM;
    s->n_fft = n_fft;
    s->hop = hop;
    s->bins = n_fft / 2 + 1;
    s->win_a = calloc((size_t)n_fft, sizeof(float));
    s->win_s = calloc((size_t)n_fft, sizeof(float));
    s->hist = calloc((size_t)n_fft, sizeof(float));
    s->ola = calloc((size_t)n_fft, sizeof(float));
    s->tbuf = fftwf_malloc(sizeof(float) * (size_t)n_fft);
    s->fbuf = fftwf_malloc(sizeof(fftwf_complex) * (size_t)s->bins);
    if (!s->win_a || !s->win_s || !s->hist || !s->ola || !s->tbuf || !s->fbuf) {
        clv_stft_free(s);
        return CLV_ERR_NOMEM;
    }
    for (int i = 0; i < n_fft; i++)
        s->win_a[i] = (float)sqrt(0.5 - 0.5 * cos(2.0 * M_PI * i / n_fft));
    if (hop == n_fft) { /* no overlap: a rectangular analysis window is the only exact choice */
        for (int i = 0; i < n_fft; i++) s->win_a[i] = 1.0f;
    }
    for (int i = 0; i < n_fft; i++) {
        double den = 0.0;
        /* all frame offsets that overlap sample i: i + k*hop in [0, n_fft) */
        for (int j = i % hop; j < n_fft; j += hop) den += (double)s->win_a[j] * s->win_a[j];
        s->win_s[i] = den > 1e-12 ? (float)(s->win_a[i] / (den * n_fft)) : 0.0f;
    }
    pthread_mutex_lock(&planner_lock);
    s->fwd = fftwf_plan_dft_r2c_1d(n_fft, s->tbuf, s->fbuf, FFTW_ESTIMATE);
    s->inv = fftwf_plan_dft_c2r_1d(n_fft, s->fbuf, s->tbuf, FFTW_ESTIMATE);
    pthread_mutex_unlock(&planner_lock);
    if (!s->fwd || !s->inv) {
        clv_stft_free(s);
        return CLV_ERR_NOMEM;
    }
    *out = s;
    return CLV_OK;
}

void clv_stft_free(ClvStft *s)
{
    if (!s) return;
    pthread_mutex_lock(&planner_lock);
    if (s->fwd) fftwf_destroy_plan(s->fwd);
    if (s->inv) fftwf_destroy_plan(s->inv);
    pthread_mutex_unlock(&planner_lock);
    fftwf_free(s->tbuf);
    fftwf_free(s->fbuf);
    free(s->win_a);
    free(s->win_s);
    free(s->hist);
    free(s->ola);
    free(s);
}

int clv_stft_bins(const ClvStft *s) { return s->bins; }
int clv_stft_n_fft(const ClvStft *s) { return s->n_fft; }
int clv_stft_hop(const ClvStft *s) { return s->hop; }
int clv_stft_latency(const ClvStft *s) { return s->n_fft - s->hop; }
const float *clv_stft_window(const ClvStft *s) { return s->win_a; }

void clv_stft_analyze(ClvStft *s, const float *hop_in, float *spec)
{
    const int n = s->n_fft, h = s->hop;
    memmove(s->hist, s->hist + h, sizeof(float) * (size_t)(n - h));
    memcpy(s->hist + (n - h), hop_in, sizeof(float) * (size_t)h);
    for (int i = 0; i < n; i++) s->tbuf[i] = s->hist[i] * s->win_a[i];
    fftwf_execute(s->fwd);
    memcpy(spec, s->fbuf, sizeof(float) * 2 * (size_t)s->bins);
}

void clv_stft_synthesize(ClvStft *s, const float *spec, float *hop_out)
{
    const int n = s->n_fft, h = s->hop;
    memcpy(s->fbuf, spec, sizeof(float) * 2 * (size_t)s->bins);
    fftwf_execute(s->inv); /* c2r may clobber fbuf: that is our scratch copy */
    for (int i = 0; i < n; i++) s->ola[i] += s->tbuf[i] * s->win_s[i];
    memcpy(hop_out, s->ola, sizeof(float) * (size_t)h);
    memmove(s->ola, s->ola + h, sizeof(float) * (size_t)(n - h));
    memset(s->ola + (n - h), 0, sizeof(float) * (size_t)h);
}

void clv_stft_reset(ClvStft *s)
{
    memset(s->hist, 0, sizeof(float) * (size_t)s->n_fft);
    memset(s->ola, 0, sizeof(float) * (size_t)s->n_fft);
}
