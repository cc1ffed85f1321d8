/* SPDX-License-Identifier: ISC */
/* Resampler: a band-limited tone survives 44.1k -> 16k -> 44.1k, the measured delay
 * is where an impulse comes out, and the one-shot helper is time-aligned. */
#include <string.h>

#include "clv_resample.h"
#include "clv_test.h"

int main(void)
{
    ClvResample *r;
    CHECK(clv_resample_new(44100, 16000, 0, &r) == CLV_ERR_INVALID, "0 channels accepted");
    CHECK(clv_resample_new(10, 16000, 1, &r) == CLV_ERR_INVALID, "10 Hz accepted");

    static const double rates[][2] = {{44100, 16000}, {48000, 16000}, {16000, 44100}, {8000, 192000}, {192000, 8000}};
    for (size_t t = 0; t < sizeof rates / sizeof rates[0]; t++) {
        const double fi = rates[t][0], fo = rates[t][1];
        const size_t n = (size_t)fi; /* one second */
        float *x = calloc(n, sizeof(float));
        for (size_t i = 0; i < n; i++) x[i] = 0.5f * sinf((float)(2.0 * M_PI * 1000.0 * (double)i / fi));
        float *y;
        size_t ny;
        CHECK(clv_resample_buffer(fi, fo, 1, x, n, &y, &ny) == CLV_OK, "buffer %g->%g", fi, fo);
        CHECK(ny == (size_t)llround(n * fo / fi), "length %zu", ny);
        double err = 0.0;
        for (size_t i = ny / 10; i < ny - ny / 10; i++) {
            double want = 0.5 * sin(2.0 * M_PI * 1000.0 * (double)i / fo);
            double d = fabs(y[i] - want);
            if (d > err) err = d;
        }
        printf("%6.0f -> %6.0f Hz: 1 kHz tone max error %.2e\n", fi, fo, err);
        CHECK(err < 2e-3, "%g->%g: aligned tone error %g", fi, fo, err);
        free(x);
        free(y);
    }

    /* streaming: impulse comes out at the reported delay */
    CHECK(clv_resample_new(16000, 48000, 1, &r) == CLV_OK, "create");
    CHECK(clv_resample_prime(r, 512) == CLV_OK, "prime");
    float in[512] = {0}, out[4096] = {0};
    in[100] = 1.0f;
    size_t got = 0;
    got += clv_resample_process(r, in, 512, out + got, 4096 - got);
    memset(in, 0, sizeof in);
    for (int k = 0; k < 4; k++) got += clv_resample_process(r, in, 512, out + got, 4096 - got);
    size_t peak = 0;
    for (size_t i = 0; i < got; i++)
        if (fabsf(out[i]) > fabsf(out[peak])) peak = i;
    double want = 300.0 + clv_resample_delay(r);
    printf("16k->48k delay %.2f, impulse at %zu (expected %.1f)\n", clv_resample_delay(r), peak, want);
    CHECK(fabs((double)peak - want) <= 1.0, "impulse at %zu, expected %.1f", peak, want);
    clv_resample_free(r);
    clv_resample_free(NULL);
    TEST_DONE();
}
