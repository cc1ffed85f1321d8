/* SPDX-License-Identifier: ISC */
/* STFT: analysis then synthesis reproduces the input, delayed by n_fft - hop, for
 * several sizes and hops (including hops that do not divide the frame). */
#include <string.h>

#include "clv_stft.h"
#include "clv_test.h"

static double roundtrip(int n_fft, int hop)
{
    ClvStft *s;
    if (clv_stft_new(n_fft, hop, &s) != CLV_OK) return 1e9;
    const int hops = 40 + 4 * n_fft / hop;
    const int len = hops * hop;
    float *x = malloc(sizeof(float) * (size_t)len), *y = malloc(sizeof(float) * (size_t)len);
    float *spec = malloc(sizeof(float) * 2 * (size_t)clv_stft_bins(s));
    unsigned seed = 12345u;
    for (int i = 0; i < len; i++) {
        seed = seed * 1664525u + 1013904223u;
        x[i] = (float)((seed >> 8) / 16777216.0 - 0.5) + 0.3f * sinf(0.01f * (float)i);
    }
    for (int k = 0; k < hops; k++) {
        clv_stft_analyze(s, x + k * hop, spec);
        clv_stft_synthesize(s, spec, y + k * hop);
    }
    const int lat = clv_stft_latency(s);
    double err = 0.0;
    /* skip the first frame's worth where the window has not overlapped fully */
    for (int i = n_fft + lat; i < len; i++) {
        double d = fabs((double)y[i] - (double)x[i - lat]);
        if (d > err) err = d;
    }
    free(x);
    free(y);
    free(spec);
    clv_stft_free(s);
    return err;
}

int main(void)
{
    static const int cfg[][2] = {{256, 64}, {512, 128}, {1024, 256}, {1024, 512}, {2048, 512},
                                 {4096, 1024}, {1000, 250}, {768, 200}, {512, 96}, {64, 64},
                                 {1024, 1}};
    for (size_t i = 0; i < sizeof cfg / sizeof cfg[0]; i++) {
        double e = roundtrip(cfg[i][0], cfg[i][1]);
        printf("n_fft %5d hop %4d  max error %.3g\n", cfg[i][0], cfg[i][1], e);
        CHECK(e < 1e-5, "n_fft %d hop %d: round-trip error %g", cfg[i][0], cfg[i][1], e);
    }
    ClvStft *s;
    CHECK(clv_stft_new(1, 1, &s) == CLV_ERR_INVALID, "n_fft 1 accepted");
    CHECK(clv_stft_new(512, 0, &s) == CLV_ERR_INVALID, "hop 0 accepted");
    CHECK(clv_stft_new(512, 513, &s) == CLV_ERR_INVALID, "hop > n_fft accepted");
    clv_stft_free(NULL);
    TEST_DONE();
}
