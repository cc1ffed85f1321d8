/* SPDX-License-Identifier: ISC */
/* Tests of the hourglass separator (models/clv_hourglass.[ch]).
 *
 *   test_hourglass MODEL.clvm GOLDEN.clvm
 *
 * golden: the C separator, streamed hop by hop at 16 kHz, reproduces PyTorch's
 *         output on the golden signal (models/train/export_sep.py --golden):
 *         vocal SDR against the known voice within 0.05 dB, and C-vs-PyTorch
 *         error 45 dB below the signal; reset gives the same output again.
 * latency: at 44.1, 48 and 22.05 kHz, stereo, with the identity mask, the vocals
 *         equal the band-limited input delayed by exactly the reported latency
 *         (one sample off is clearly worse), and the output queue never runs dry.
 * realtime: no malloc/calloc/realloc/free inside process() (linker --wrap).
 * rates: the trained network at 44.1 kHz stereo gives finite output of sensible
 *         level; the low-latency point is refused with an error for this model.
 * bad input: a model file of another architecture and 3 channels are refused, and
 *         so are edited copies of the model: wrong arch, a missing tensor, a tensor
 *         of the wrong shape, bands that do not tile n_fft / 2, stacks beyond the
 *         C limit.
 * registry: stereo at the quality point gets the spatial refinement, mono and
 *         --spatial off do not. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clv_hourglass.h"

#include "test_sep_model.h"

static void test_golden(void)
{
    ClvSeparator *sep = NULL;
    float *y = golden_separate(&sep);
    if (!y) return;
    const long lat = sep->latency;
    CHECK(lat == 768 + 256 * 4 || lat > 0, "latency %ld", lat);
    char lead[32];
    snprintf(lead, sizeof lead, "latency %ld, ", lat);
    golden_compare("16 kHz", lead, y + lat, "");
    free(y);
    clv_separator_free(sep);
}

static void test_latency(int rate)
{
    ClvSeparator *sep = make_ok(rate, 2, CLV_OP_QUALITY);
    if (!sep) return;
    clv_hourglass_set_identity(sep, 1);
    clv_separator_reset(sep);
    const IdentityFigures f = identity_measure(sep);
    const long lat = sep->latency;
    printf("  worst one-second identity SNR %.1f dB\n", f.worst_sec);
    printf("latency %d Hz stereo: reported %ld frames (%.2f ms), best match at %ld, identity SNR "
           "%.1f dB at the reported latency, %.1f dB one frame later; underruns %ld\n",
           rate, lat, 1000.0 * lat / rate, f.best_d, f.at_lat, f.off1,
           clv_hourglass_underruns(sep));
    identity_check(sep, &f);
    CHECK(1000.0 * lat / rate <= 250.0, "quality latency %.1f ms > 250 ms", 1000.0 * lat / rate);
    clv_separator_free(sep);
}

static void test_network_rate(int rate)
{
    ClvSeparator *sep = make_ok(rate, 2, CLV_OP_QUALITY);
    if (!sep) return;
    const long n = rate;
    float *x[2], *y[2];
    for (int c = 0; c < 2; c++) {
        x[c] = malloc(sizeof(float) * n);
        y[c] = calloc((size_t)n, sizeof(float));
        test_signal(x[c], n, rate, 3 + c);
    }
    stream_trapped(sep, x, n, 0, y);
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
    expect_low_latency_refused(rate);
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

static void m_arch(Buf *b) { mutate_arch(b); } /* "Xtacked_hourglass_band_gru" */
static void m_missing(Buf *b) { mutate_rename_tensor(b, "stacks.1.gru.weight_hh_l0"); }
static void m_shape(Buf *b) { mutate_swap_dims(b, "stacks.0.bott_in.weight"); }
static void m_bands(Buf *b) { mutate_meta_add(b, "nb", 4); }
static void m_stacks(Buf *b) { mutate_meta_set(b, "stacks", 99); }

static void test_bad_model(void)
{
    Buf b = read_model();
    if (!b.n) return;
    expect_refused(&b, "wrong arch", m_arch, CLV_ERR_FORMAT);
    expect_refused(&b, "missing tensor", m_missing, CLV_ERR_NOT_FOUND);
    expect_refused(&b, "wrong shape", m_shape, CLV_ERR_SHAPE);
    expect_refused(&b, "bands do not tile the spectrum", m_bands, CLV_ERR_FORMAT);
    expect_refused(&b, "too many stacks", m_stacks, CLV_ERR_FORMAT);
    free(b.p);
}

int main(int argc, char **argv)
{
    const int rc = sep_test_start(argc, argv, clv_hourglass_create, clv_hourglass_underruns, 0);
    if (rc >= 0) return rc;
    if (golden_load(argv[2], 0)) test_golden();
    test_latency(44100);
    test_latency(48000);
    test_latency(22050);
    test_network_rate(44100);
    engine_matches_direct(44100, CLV_OP_QUALITY);
    expect_foreign_refused(argv[2]);
    test_bad_model();
    test_spatial_default();
    return sep_test_end("hourglass");
}
