/* SPDX-License-Identifier: ISC */
/* Tests of the hourglass separator (models/clv_hourglass.[ch]).
 *
 *   test_hourglass MODEL.clvm GOLDEN.clvm
 *
 * golden: the C separator, streamed hop by hop at 16 kHz, reproduces PyTorch's
 *         output on the golden signal (models/train/export_sep.py --golden):
 *         vocal SDR against the known voice within 0.05 dB, and C-vs-PyTorch
 *         error 45 dB below the signal.
 * latency: at 44.1, 48 and 22.05 kHz, stereo, with the identity mask, the vocals
 *         equal the band-limited input delayed by exactly the reported latency
 *         (one sample off is clearly worse), and the output queue never runs dry.
 * realtime: no malloc/calloc/realloc/free inside process() (linker --wrap).
 * rates: the trained network at 44.1 kHz stereo gives finite output of sensible
 *         level; the low-latency point is refused with an error for this model.
 * bad input: a model file of another architecture and missing tensors are refused. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clv_clvm.h"
#include "clv_hourglass.h"

#include "test_sep_model.h"
}

static void test_golden(const char *golden_path)
{
    ClvClvm *g = NULL;
    if (clv_clvm_load(golden_path, &quiet_log, &g) != CLV_OK) {
        CHECK(0, "cannot load golden file %s", golden_path);
        return;
    }
    ClvTensorInfo ti, tv, to;
    if (clv_clvm_find(g, "input", &ti) != CLV_OK || clv_clvm_find(g, "voice", &tv) != CLV_OK ||
        clv_clvm_find(g, "vocals", &to) != CLV_OK || ti.count != tv.count || ti.count != to.count) {
        CHECK(0, "%s: needs tensors input, voice, vocals of one length", golden_path);
        clv_clvm_free(g);
        return;
    }
    const long n = (long)ti.count;
    ClvStatus st;
    ClvSeparator *sep = make(16000, 1, CLV_OP_QUALITY, &quiet_log, &st);
    CHECK(st == CLV_OK && sep, "create at 16 kHz: %s", clv_strerror(st));
    if (!sep) {
        clv_clvm_free(g);
        return;
    }
    const long lat = sep->latency;
    CHECK(lat == 768 + 256 * 4 || lat > 0, "latency %ld", lat);
    float *y = calloc((size_t)(n + lat), sizeof(float));
    float *xs[1] = {(float *)ti.data};
    float *ys[1] = {y};
    stream(sep, xs, n, lat, ys, 0);
    const float *ref = to.data, *c_out = y + lat;
    double maxerr = 0;
    for (long i = 0; i < n; i++) maxerr = fmax(maxerr, fabs((double)c_out[i] - ref[i]));
    const double snr = sdr(ref, c_out, n);
    const double sdr_t = sdr(tv.data, ref, n), sdr_c = sdr(tv.data, c_out, n);
    printf("golden 16 kHz: latency %ld, max |C - PyTorch| %.2e, C vs PyTorch %.1f dB, voice SDR "
           "PyTorch %.3f dB, C %.3f dB (difference %.4f dB)\n",
           lat, maxerr, snr, sdr_t, sdr_c, sdr_c - sdr_t);
    CHECK(fabs(sdr_c - sdr_t) < 0.05, "SDR difference %.4f dB >= 0.05 dB", sdr_c - sdr_t);
    CHECK(snr > 45.0, "C output only %.1f dB from PyTorch's", snr);
    CHECK(clv_hourglass_underruns(sep) == 0, "underruns at 16 kHz");
    /* reset gives the same output again */
    clv_separator_reset(sep);
    float *y2 = calloc((size_t)(n + lat), sizeof(float));
    float *ys2[1] = {y2};
    stream(sep, xs, n, lat, ys2, 1);
    CHECK(memcmp(y, y2, sizeof(float) * (size_t)(n + lat)) == 0, "output after reset differs");
    free(y);
    free(y2);
    clv_separator_free(sep);
    clv_clvm_free(g);
}

/* Sum of sines below 5 kHz, different per channel. */
static void test_signal(float *x, long n, int rate, int seed)
{
    srand((unsigned)seed);
    memset(x, 0, sizeof(float) * n);
    for (int k = 0; k < 20; k++) {
        double f = 80.0 + 4900.0 * rand() / (double)RAND_MAX, ph = 6.283 * rand() / RAND_MAX;
        for (long i = 0; i < n; i++) x[i] += (float)(0.03 * sin(6.283185307 * f * i / rate + ph));
    }
}

static void test_latency(int rate)
{
    ClvStatus st;
    ClvSeparator *sep = make(rate, 2, CLV_OP_QUALITY, &quiet_log, &st);
    CHECK(st == CLV_OK && sep, "create at %d Hz: %s", rate, clv_strerror(st));
    if (!sep) return;
    clv_hourglass_set_identity(sep, 1);
    clv_separator_reset(sep);
    const long n = rate * 10, lat = sep->latency;
    float *x[2], *y[2];
    for (int c = 0; c < 2; c++) {
        x[c] = malloc(sizeof(float) * n);
        y[c] = calloc((size_t)(n + lat + 2), sizeof(float));
        test_signal(x[c], n, rate, 11 + c);
    }
    trap_hits = 0;
    stream(sep, x, n, lat + 2, y, 1);
    CHECK(trap_hits == 0, "%ld allocations inside process() at %d Hz", trap_hits, rate);
    /* compare away from the start (converter warm-up) and the end */
    const long a = rate / 4, b = n - rate / 4;
    double best = -1e9;
    long best_d = -1;
    double at_lat = 0;
    for (long d = lat - 3; d <= lat + 2; d++) {
        double s = 0;
        for (int c = 0; c < 2; c++) s += sdr(x[c] + a, y[c] + a + d, b - a) / 2;
        if (s > best) {
            best = s;
            best_d = d;
        }
        if (d == lat) at_lat = s;
    }
    /* every second on its own too: a queue or converter fault shows as drift */
    double worst_sec = 1e9;
    for (long s0 = a; s0 + rate <= b; s0 += rate) {
        double q = 0;
        for (int c = 0; c < 2; c++) q += sdr(x[c] + s0, y[c] + s0 + lat, rate) / 2;
        if (q < worst_sec) worst_sec = q;
    }
    printf("  worst one-second identity SNR %.1f dB\n", worst_sec);
    CHECK(worst_sec > 20.0, "identity SNR falls to %.1f dB in some second at %d Hz", worst_sec, rate);
    double off1 = 0;
    for (int c = 0; c < 2; c++) off1 += sdr(x[c] + a, y[c] + a + lat + 1, b - a) / 2;
    printf("latency %d Hz stereo: reported %ld frames (%.2f ms), best match at %ld, identity SNR "
           "%.1f dB at the reported latency, %.1f dB one frame later; underruns %ld\n",
           rate, lat, 1000.0 * lat / rate, best_d, at_lat, off1, clv_hourglass_underruns(sep));
    CHECK(best_d == lat, "measured latency %ld != reported %ld", best_d, lat);
    /* the rate bridge aligns the converters' fractional delays to within 1/50
     * sample; measured identity SNR 42-95 dB with its long converters (25-30 dB
     * with the libsoxr glue before it) */
    CHECK(at_lat > 22.0, "identity path only %.1f dB at %d Hz", at_lat, rate);
    CHECK(clv_hourglass_underruns(sep) == 0, "output queue ran dry at %d Hz", rate);
    CHECK(1000.0 * lat / rate <= 250.0, "quality latency %.1f ms > 250 ms", 1000.0 * lat / rate);
    for (int c = 0; c < 2; c++) {
        free(x[c]);
        free(y[c]);
    }
    clv_separator_free(sep);
}

static void test_network_rate(int rate)
{
    ClvStatus st;
    ClvSeparator *sep = make(rate, 2, CLV_OP_QUALITY, &quiet_log, &st);
    CHECK(st == CLV_OK && sep, "create at %d Hz: %s", rate, clv_strerror(st));
    if (!sep) return;
    const long n = rate;
    float *x[2], *y[2];
    for (int c = 0; c < 2; c++) {
        x[c] = malloc(sizeof(float) * n);
        y[c] = calloc((size_t)n, sizeof(float));
        test_signal(x[c], n, rate, 3 + c);
    }
    trap_hits = 0;
    stream(sep, x, n, 0, y, 1);
    CHECK(trap_hits == 0, "%ld allocations inside process()", trap_hits);
    double ex = 0, ey = 0;
    int finite = 1;
    for (int c = 0; c < 2; c++)
        for (long i = 0; i < n; i++) {
            finite &= isfinite(y[c][i]);
            ex += (double)x[c][i] * x[c][i];
            ey += (double)y[c][i] * y[c][i];
        }
    CHECK(finite, "non-finite output at %d Hz", rate);
    CHECK(ey < 4.0 * ex, "vocal energy %.3g above 4x the input's %.3g", ey, ex);
    for (int c = 0; c < 2; c++) {
        free(x[c]);
        free(y[c]);
    }
    clv_separator_free(sep);
    errors_logged = 0;
    sep = make(rate, 2, CLV_OP_LOW_LATENCY, &count_log, &st);
    CHECK(st == CLV_ERR_UNSUPPORTED && !sep && errors_logged == 1,
          "low-latency point: status %s, %d errors", clv_strerror(st), errors_logged);
    clv_separator_free(sep);
}

static void test_bad_model(const char *golden_path)
{
    /* the golden file is a valid .clvm of another architecture */
    ClvClvm *m = NULL;
    ClvSeparator *sep = NULL;
    errors_logged = 0;
    ClvStatus st = clv_clvm_load(golden_path, &count_log, &m);
    CHECK(st == CLV_OK, "golden file loads");
    if (st == CLV_OK) st = clv_hourglass_create(m, 44100, 2, CLV_OP_QUALITY, &count_log, &sep);
    CHECK(st != CLV_OK && !sep && errors_logged >= 1, "wrong architecture accepted");
    errors_logged = 0;
    sep = make(44100, 3, CLV_OP_QUALITY, &count_log, &st);
    CHECK(st != CLV_OK && !sep && errors_logged == 1, "3 channels accepted");
}

/* Through the registry: stereo at the quality point gets the spatial refinement
 * (longer latency, "+spatial" in the name), mono, the low-latency request and
 * --spatial off do not. */
static void test_spatial_default(void)
{
    ClvSeparator *a = NULL, *b = NULL, *c = NULL;
    const ClvSeparatorOptions off = {CLV_OP_QUALITY, CLV_SPATIAL_OFF};
    CHECK(clv_separator_create(model_path, 44100, 2, CLV_OP_QUALITY, &count_log, &a) == CLV_OK,
          "stereo via the registry");
    CHECK(clv_separator_create_opts(model_path, 44100, 2, &off, &count_log, &b) == CLV_OK,
          "stereo, spatial off");
    CHECK(clv_separator_create(model_path, 44100, 1, CLV_OP_QUALITY, &count_log, &c) == CLV_OK,
          "mono via the registry");
    if (a && b && c) {
        printf("registry: stereo '%s' %d frames, spatial off '%s' %d, mono '%s' %d\n", a->name,
               a->latency, b->name, b->latency, c->name, c->latency);
        CHECK(strstr(a->name, "+spatial") && a->latency > b->latency, "stereo not refined");
        CHECK(!strstr(b->name, "+spatial") && !strstr(c->name, "+spatial"),
              "refined although off or mono");
        CHECK(b->latency == c->latency, "the network's latency depends on the channels");
    }
    clv_separator_free(a);
    clv_separator_free(b);
    clv_separator_free(c);
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s MODEL.clvm GOLDEN.clvm\n", argv[0]);
        return 2;
    }
    model_path = argv[1];
    sep_create = clv_hourglass_create;
    test_golden(argv[2]);
    test_latency(44100);
    test_latency(48000);
    test_latency(22050);
    test_network_rate(44100);
    test_bad_model(argv[2]);
    test_spatial_default();
    if (failures) fprintf(stderr, "%d failures\n", failures);
    else printf("all hourglass tests passed\n");
    return failures ? 1 : 0;
}
