/* SPDX-License-Identifier: ISC */
/* dsp/clv_mel: golden frames from models/train/tag_features.py (by maximum error),
 * block-size invariance, the filterbank's shape, bad configurations, NaN input. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clv_mel.h"
#include "clv_test.h"
#include "golden/mel_golden.h"

/* The test signal of models/train/tag_golden_mel.py, bit for bit. */
static void make_signal(float *x, int n)
{
    uint32_t st = 12345;
    for (int i = 0; i < n; i++) {
        st = st * 1664525u + 1013904223u;
        const double noise = (double)(st >> 8) / 16777216.0 * 2.0 - 1.0;
        double v = 0.3 * sin(2 * M_PI * 440.0 * i / 16000.0) +
                   0.1 * sin(2 * M_PI * (1000.0 + 2000.0 * i / n) * i / 16000.0) + 0.05 * noise;
        if (i >= 8000 && i < 10000) v = 0.0;
        if (i >= 16000 && i < 17000) v *= 3.0;
        x[i] = (float)v;
    }
}

static int run_blocks(ClvMel *m, const float *x, int n, int block, float *out, int max_frames)
{
    int frames = 0;
    for (int s = 0; s < n; s += block) {
        const int len = n - s < block ? n - s : block;
        int used = 0;
        frames += clv_mel_process(m, x + s, len, out + (size_t)frames * MEL_GOLDEN_BANDS,
                                  max_frames - frames, &used);
        if (used != len) return -1;
    }
    return frames;
}

int main(void)
{
    ClvMelConfig cfg;
    clv_mel_config_default(&cfg);
    ClvMel *m = NULL;
    CHECK(clv_mel_new(&cfg, &m) == CLV_OK, "create");
    if (!m) TEST_DONE();
    CHECK(clv_mel_bands(m) == MEL_GOLDEN_BANDS, "bands %d", clv_mel_bands(m));

    const int n = MEL_GOLDEN_N, nf = MEL_GOLDEN_FRAMES, nb = MEL_GOLDEN_BANDS;
    float *x = malloc(sizeof(float) * (size_t)n);
    float *out = malloc(sizeof(float) * (size_t)(nf + 1) * nb);
    float *ref = malloc(sizeof(float) * (size_t)(nf + 1) * nb);
    make_signal(x, n);

    /* golden: one call with the whole signal */
    CHECK(clv_mel_frames_for(m, n) == nf, "frames_for %d", clv_mel_frames_for(m, n));
    int got = clv_mel_process(m, x, n, out, nf + 1, NULL);
    CHECK(got == nf, "frames %d, expected %d", got, nf);
    double max_err = 0.0;
    int floors = 0;
    for (int i = 0; i < got * nb; i++) {
        const double e = fabs((double)out[i] - mel_golden[i]);
        if (e > max_err || isnan(e)) max_err = isnan(e) ? INFINITY : e;
        if (mel_golden[i] <= (float)log(1e-6) + 1e-6f) floors++;
    }
    printf("mel golden: %d frames x %d bands, max abs error %.3g (log domain), %d floor cells\n",
           got, nb, max_err, floors);
    CHECK(max_err < 2e-3, "max error %g against PyTorch/numpy reference", max_err);
    CHECK(floors > 0, "the silent gap must reach the floor");
    memcpy(ref, out, sizeof(float) * (size_t)got * nb);

    /* block-size invariance (bit-exact: the same arithmetic in the same order) */
    const int blocks[] = {1, 7, 64, 320, 4096};
    for (size_t b = 0; b < sizeof blocks / sizeof blocks[0]; b++) {
        clv_mel_reset(m);
        const int k = run_blocks(m, x, n, blocks[b], out, nf + 1);
        CHECK(k == nf, "block %d: %d frames", blocks[b], k);
        CHECK(k == nf && memcmp(out, ref, sizeof(float) * (size_t)nf * nb) == 0,
              "block %d differs from one call", blocks[b]);
    }

    /* max_frames stops consumption exactly at the frame boundary */
    clv_mel_reset(m);
    int used = -1;
    got = clv_mel_process(m, x, n, out, 3, &used);
    CHECK(got == 3 && used == 3 * cfg.hop, "limited: %d frames, %d used", got, used);
    got = clv_mel_process(m, x + used, n - used, out + 3 * nb, nf - 3, &used);
    CHECK(got == nf - 3 && memcmp(out, ref, sizeof(float) * (size_t)nf * nb) == 0,
          "resumed after a limited call");
    CHECK(clv_mel_process(m, NULL, 0, out, 1, &used) == 0 && used == 0, "empty call");

    /* filterbank: triangles within range, peaks <= 1, every band non-empty */
    for (int b = 0; b < nb; b++) {
        int first = 0, count = 0;
        const float *w = NULL;
        CHECK(clv_mel_filter(m, b, &first, &count, &w) == CLV_OK, "filter %d", b);
        CHECK(count > 0, "band %d is empty", b);
        for (int j = 0; j < count; j++)
            CHECK(w[j] > 0.0f && w[j] <= 1.0f, "band %d weight %d = %g", b, j, w[j]);
        const double lo = (double)first * cfg.sample_rate / cfg.n_fft;
        CHECK(lo >= cfg.fmin - 1e-9, "band %d starts at %g Hz below fmin", b, lo);
    }
    CHECK(clv_mel_filter(m, nb, NULL, NULL, NULL) == CLV_ERR_INVALID, "band out of range");

    /* NaN input gives finite output after the history flushes (floor maps NaN) */
    clv_mel_reset(m);
    for (int i = 0; i < 2048; i++) x[i] = NAN;
    got = clv_mel_process(m, x, 2048, out, nf, NULL);
    int finite = 1;
    for (int i = 0; i < got * nb; i++) finite &= !isnan(out[i]) && out[i] < 1e30f;
    CHECK(finite, "NaN input produced NaN/inf output");

    /* bad configurations */
    ClvMelConfig bad;
    ClvMel *mb = (ClvMel *)&bad;
    bad = cfg; bad.hop = 0;
    CHECK(clv_mel_new(&bad, &mb) == CLV_ERR_INVALID && mb == NULL, "hop 0");
    bad = cfg; bad.fmax = 9000.0;
    CHECK(clv_mel_new(&bad, &mb) == CLV_ERR_INVALID, "fmax above Nyquist");
    bad = cfg; bad.n_mels = 0;
    CHECK(clv_mel_new(&bad, &mb) == CLV_ERR_INVALID, "no bands");
    bad = cfg; bad.log_floor = 0.0;
    CHECK(clv_mel_new(&bad, &mb) == CLV_ERR_INVALID, "floor 0");
    bad = cfg; bad.fmin = NAN;
    CHECK(clv_mel_new(&bad, &mb) == CLV_ERR_INVALID, "fmin NaN");
    CHECK(clv_mel_new(NULL, &mb) == CLV_ERR_INVALID, "NULL config");

    clv_mel_free(m);
    clv_mel_free(NULL);
    free(x);
    free(out);
    free(ref);
    TEST_DONE();
}
