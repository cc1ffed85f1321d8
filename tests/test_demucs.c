/* SPDX-License-Identifier: ISC */
/* Tests of the Demucs-style separator (models/clv_demucs.[ch]) and, through it,
 * the shared rate bridge (models/clv_rate_bridge.[ch]).
 *
 *   test_demucs MODEL.clvm GOLDEN.clvm      (exit 77 when either file is missing)
 *
 * MODEL is demucs.clvm (the causal 12 ms net: both operating points) or
 * demucs-quality.clvm (a hybrid whose spectral hop is several time steps and whose
 * latency is over 25 ms: the quality point only, the low-latency one refused);
 * the file's metadata tells which, and the checks follow.
 *
 * golden: the C separator, streamed hop by hop at 16 kHz, reproduces PyTorch's
 *         sep_wave.separate() on the golden signal (models/train/export_sep.py
 *         --golden): vocal SDR against the known voice within 0.05 dB, and
 *         C-vs-PyTorch error 45 dB below the signal; reset gives the same again.
 * latency: at 44.1 and 48 kHz stereo, with the identity network, the vocals equal
 *         the band-limited input delayed by exactly the reported latency (a frame
 *         off is clearly worse), the output queue never runs dry, and both
 *         operating points report <= 25 ms (a quality file: <= 250 ms, and the
 *         low-latency point refused); the trained network at 44.1 and 48 kHz gives
 *         (after resampling to 16 kHz) nearly the same vocals as the 16 kHz run on
 *         the same band-limited signal.
 * realtime: no malloc/calloc/realloc/free inside process() (linker --wrap).
 * bad input: another architecture, a missing tensor, a wrong shape, inconsistent
 *         metadata and 3 channels are refused with one error message each; for
 *         hybrid files also a spectral hop off the step and a missing spectral
 *         tensor. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clv_demucs.h"
#include "clv_resample.h"

#include "test_sep_model.h"

/* the 16 kHz C vocals (aligned with the golden input), for the host-rate test */
static float *g_v16;
/* the file's network block at 16 kHz (its spectral hop, else the time step) and
 * whether it is a quality-only file (latency over the low-latency point's 25 ms) */
static int g_block = 64, g_quality;

static void read_kind(void)
{
    Buf b = read_model();
    if (!b.n) return;
    const unsigned char *hop = meta_value(&b, "spec_hop"), *lat =
        meta_value(&b, "latency_samples_model_rate");
    if (hop) g_block = (int)get64(hop);
    g_quality = lat && get64(lat) > 400; /* 25 ms at 16 kHz */
    printf("%s: network block %d samples, %s\n", model_path, g_block,
           g_quality ? "quality point only" : "both operating points");
    free(b.p);
}

static ClvOperatingPoint best_op(void) { return g_quality ? CLV_OP_QUALITY : CLV_OP_LOW_LATENCY; }

static void test_golden(void)
{
    ClvSeparator *sep = NULL;
    float *y = golden_separate(&sep);
    if (!y) return;
    const long lat = sep->latency;
    CHECK(sep->hop == g_block, "hop %d at the model rate, expected one block of %d", sep->hop,
          g_block);
    /* one step off must be much worse: proves the reported latency is the real one */
    const double snr_off = sdr(golden.vocals, y + lat - 64, golden.n);
    char lead[32], tail[48];
    snprintf(lead, sizeof lead, "latency %ld, ", lat);
    snprintf(tail, sizeof tail, " (%.1f dB one step early)", snr_off);
    golden_compare("16 kHz", lead, y + lat, tail);
    CHECK(snr_off < 20.0, "one step early still %.1f dB: the golden check cannot see timing", snr_off);
    g_v16 = malloc(sizeof(float) * (size_t)golden.n);
    memcpy(g_v16, y + lat, sizeof(float) * (size_t)golden.n);
    free(y);
    clv_separator_free(sep);
}

static void test_latency(int rate)
{
    ClvSeparator *sep = make_ok(rate, 2, best_op());
    if (!sep) return;
    const double ms = 1000.0 * sep->latency / rate;
    if (g_quality)
        CHECK(ms + 1000.0 * sep->hop / rate <= 250.0, "quality point: %.2f ms + hop > 250 ms at %d Hz",
              ms, rate);
    else
        CHECK(ms <= 25.0, "low-latency point: %.2f ms > 25 ms at %d Hz", ms, rate);
    clv_demucs_set_identity(sep, 1);
    clv_separator_reset(sep);
    const IdentityFigures f = identity_measure(sep);
    const long lat = sep->latency;
    printf("latency %d Hz stereo: reported %ld frames (%.2f ms), hop %d, best match at %ld, "
           "identity SNR %.1f dB at the reported latency (worst second %.1f dB), %.1f dB one "
           "frame later; underruns %ld\n",
           rate, lat, ms, sep->hop, f.best_d, f.at_lat, f.worst_sec, f.off1,
           clv_demucs_underruns(sep));
    identity_check(sep, &f);
    clv_separator_free(sep);
    ClvStatus st;
    if (g_quality) {
        /* a quality-only file is refused at the low-latency point, with a reason */
        errors_logged = 0;
        sep = make(rate, 2, CLV_OP_LOW_LATENCY, &count_log, &st);
        CHECK(st == CLV_ERR_UNSUPPORTED && !sep && errors_logged == 1,
              "low-latency point with a %.0f ms file at %d Hz: %s, %d error(s)", ms, rate,
              clv_strerror(st), errors_logged);
        clv_separator_free(sep);
        return;
    }
    /* the quality point is the same network and latency */
    sep = make(rate, 2, CLV_OP_QUALITY, &quiet_log, &st);
    CHECK(st == CLV_OK && sep && sep->latency == lat, "quality point at %d Hz: %s, latency %d",
          rate, clv_strerror(st), sep ? sep->latency : -1);
    clv_separator_free(sep);
}

/* Vocals of a voice-like centred tone (440 Hz with vibrato and two harmonics)
 * under a left-only tone (2 kHz, more than two bins of the 4 ms window at 44.1
 * kHz from the nearest harmonic: closer sources share bins) through sep: the
 * right channel's vocal power (the voice, dB) and the left vocals' 2 kHz
 * amplitude against the tone's (dB), over the second second; with the
 * allocation trap armed. */
static void panned_test(ClvSeparator *sep, double *voice, double *pan)
{
    const int rate = sep->sample_rate;
    const long n = 2L * rate;
    float *x[2], *y[2];
    for (int c = 0; c < 2; c++) {
        x[c] = calloc((size_t)n, sizeof(float));
        y[c] = calloc((size_t)n, sizeof(float));
    }
    double ph = 0.0;
    for (long i = 0; i < n; i++) {
        ph += 2 * M_PI * 440.0 * (1.0 + 0.01 * sin(2 * M_PI * 5.0 * i / rate)) / rate;
        const float v = (float)(0.2 * (sin(ph) + 0.5 * sin(2 * ph) + 0.25 * sin(3 * ph)));
        x[0][i] = v + (float)(0.2 * sin(2 * M_PI * 2000.0 * i / rate));
        x[1][i] = v;
    }
    stream_trapped(sep, x, n, 0, y);
    double pr = 0.0, re = 0.0, im = 0.0;
    for (long i = n / 2; i < n; i++) {
        pr += (double)y[1][i] * y[1][i];
        re += y[0][i] * cos(2 * M_PI * 2000.0 * i / rate);
        im += y[0][i] * sin(2 * M_PI * 2000.0 * i / rate);
    }
    *voice = 10.0 * log10(pr / (n / 2) + 1e-30);
    *pan = 20.0 * log10(2.0 * hypot(re, im) / (n / 2) / 0.2 + 1e-30);
    for (int c = 0; c < 2; c++) {
        free(x[c]);
        free(y[c]);
    }
}

/* On stereo at the low-latency point the registry wraps the network in the
 * short-window spatial refinement: separator and hop stay within 25 ms, the
 * panned tone drops against the network alone while the centred voice stays,
 * and nothing allocates while it runs (FFT sizes FFTW runs without allocating). */
static void test_low_latency_spatial(int rate)
{
    ClvSeparatorOptions o = {CLV_OP_LOW_LATENCY, CLV_SPATIAL_AUTO};
    ClvSeparator *sep = NULL, *alone = NULL;
    ClvStatus st = clv_separator_create_opts(model_path, rate, 2, &o, &quiet_log, &sep);
    CHECK(st == CLV_OK && sep && strstr(sep->name, "+spatial"),
          "low-latency point at %d Hz: %s, separator %s", rate, clv_strerror(st),
          sep ? sep->name : "none");
    o.spatial = CLV_SPATIAL_OFF;
    st = clv_separator_create_opts(model_path, rate, 2, &o, &quiet_log, &alone);
    CHECK(st == CLV_OK && alone && !strstr(alone->name, "+spatial"), "--spatial off at %d Hz",
          rate);
    if (sep && alone) {
        const double ms = 1000.0 * (sep->latency + sep->hop) / rate;
        CHECK(ms <= 25.0, "low-latency point, refined: %.2f ms with the hop at %d Hz", ms, rate);
        double v1, p1, v0, p0;
        panned_test(sep, &v1, &p1);
        panned_test(alone, &v0, &p0);
        printf("low-latency point, %d Hz stereo: %s, %d frames (%.2f ms with the hop); "
               "left-only tone at %.1f dB of its input level (network alone %.1f dB), "
               "voice %.1f dB (alone %.1f dB)\n",
               rate, sep->name, sep->latency, ms, p1, p0, v1, v0);
        CHECK(p1 < p0 - 3.0, "refinement does not drop the panned tone (%.1f vs %.1f dB)", p1, p0);
        CHECK(v1 > v0 - 3.0, "refinement drops the centred voice (%.1f vs %.1f dB)", v1, v0);
    }
    clv_separator_free(sep);
    clv_separator_free(alone);
}

/* 88.2 kHz: a 353-frame hop, prime, so no realtime-safe refinement window: the
 * network runs alone rather than with an FFT that allocates. */
static void test_low_latency_no_window(void)
{
    const ClvSeparatorOptions o = {CLV_OP_LOW_LATENCY, CLV_SPATIAL_AUTO};
    ClvSeparator *s = NULL;
    ClvStatus st = clv_separator_create_opts(model_path, 88200, 2, &o, &quiet_log, &s);
    CHECK(st == CLV_OK && s && !strstr(s->name, "+spatial"), "88.2 kHz low-latency point: %s, %s",
          clv_strerror(st), s ? s->name : "none");
    clv_separator_free(s);
}

/* The 16 kHz separator (at the file's operating point) on a 16 kHz signal,
 * aligned with it (the latency taken off); NULL on failure. */
static float *run_16k(const float *x, long n)
{
    ClvSeparator *sep = make_ok(16000, 1, best_op());
    if (!sep) return NULL;
    const long lat = sep->latency;
    float *y = calloc((size_t)(n + lat), sizeof(float));
    float *xs[1] = {(float *)x}, *ys[1] = {y};
    stream_trapped(sep, xs, n, lat, ys);
    memmove(y, y + lat, sizeof(float) * (size_t)n);
    clv_separator_free(sep);
    return y;
}

/* The trained network at a host rate: the golden signal upsampled to `rate`, run
 * in stereo (same signal both channels), shifted by the reported latency and
 * brought back to 16 kHz, must match a 16 kHz network run: on the full-band
 * signal, or on the signal after a round trip (16 kHz -> rate -> 16 kHz, which
 * band-limits it to about 7 kHz, as the short host-path converters do), whichever
 * is closer: what differs then is the converters inside the bridge and their
 * timing, not the network's input. The band limit costs a mask branch more (about
 * 2.5 dB on this synthetic voice in PyTorch, for the hourglass alone too) than
 * the causal net (about 0.2 dB), which is why quality files get the wide
 * converters. */
static void test_network_rate(int rate)
{
    if (!g_v16) return;
    ClvSeparator *sep = make_ok(rate, 2, best_op());
    if (!sep) return;
    float *up = NULL, *down = NULL, *bl = NULL, *ref = NULL;
    size_t n_up = 0, n_down = 0, n_bl = 0;
    if (clv_resample_buffer(16000, rate, 1, golden.in, (size_t)golden.n, &up, &n_up) != CLV_OK ||
        clv_resample_buffer(rate, 16000, 1, up, n_up, &bl, &n_bl) != CLV_OK) {
        CHECK(0, "resample to %d Hz and back", rate);
        free(up);
        clv_separator_free(sep);
        return;
    }
    const long lat = sep->latency;
    float *y[2];
    for (int c = 0; c < 2; c++) y[c] = calloc(n_up + (size_t)lat, sizeof(float));
    float *x[2] = {up, up};
    stream_trapped(sep, x, (long)n_up, lat, y);
    int finite = 1, same = 1;
    for (size_t i = 0; i < n_up + (size_t)lat; i++) {
        finite &= isfinite(y[0][i]) && isfinite(y[1][i]);
        same &= y[0][i] == y[1][i];
    }
    CHECK(finite, "non-finite output at %d Hz", rate);
    CHECK(same, "the two channels differ for the same input at %d Hz", rate);
    const long m0 = (long)n_bl < golden.n ? (long)n_bl : golden.n;
    ref = run_16k(bl, m0);
    if (ref && clv_resample_buffer(rate, 16000, 1, y[0] + lat, n_up, &down, &n_down) == CLV_OK) {
        const long m = (long)n_down < m0 ? (long)n_down : m0;
        const long a = 1600, b = m - 1600; /* away from the converters' edges */
        /* the reference is whichever 16 kHz run the host output is closer to: the
         * wide converters (quality files) pass nearly the whole band, the short
         * ones (the low-latency file) less than the round trip */
        const double s_bl = sdr(ref + a, down + a, b - a), s_fb = sdr(g_v16 + a, down + a, b - a);
        const float *r16 = s_fb > s_bl ? g_v16 : ref;
        const double s = s_fb > s_bl ? s_fb : s_bl;
        const double s1 = sdr(r16 + a, down + a + 1, b - a - 1);
        const double v_host = sdr(golden.voice + a, down + a, b - a);
        const double v_ref = sdr(golden.voice + a, r16 + a, b - a);
        const double v_bl = sdr(golden.voice + a, ref + a, b - a);
        const double v_16 = sdr(golden.voice + a, g_v16 + a, b - a);
        printf("network at %d Hz stereo vs 16 kHz run on the %s signal: %.1f dB (%.1f dB one "
               "16 kHz sample off; %.1f dB against the %s run); voice SDR %.2f dB at %d Hz, "
               "%.2f dB at 16 kHz band-limited, %.2f dB at 16 kHz full band\n",
               rate, r16 == g_v16 ? "full-band" : "same band-limited", s, s1,
               r16 == g_v16 ? s_bl : s_fb, r16 == g_v16 ? "band-limited" : "full-band", v_host,
               rate, v_bl, v_16);
        /* not identical: the bridge's converters are not the round trip's, and the
         * network is not linear */
        CHECK(s > 12.0, "vocals at %d Hz only %.1f dB from the 16 kHz run", rate, s);
        CHECK(s > s1 + 1.0, "timing at %d Hz not better than one sample off", rate);
        CHECK(fabs(v_host - v_ref) < 0.5, "voice SDR %.2f dB at %d Hz vs %.2f dB at 16 kHz", v_host,
              rate, v_ref);
    } else {
        CHECK(0, "16 kHz reference run or resample back from %d Hz", rate);
    }
    free(up);
    free(bl);
    free(ref);
    free(down);
    free(y[0]);
    free(y[1]);
    clv_separator_free(sep);
}

/* Through the registry: `--model demucs` runs this file at its operating point
 * (a quality file at the quality point, the causal file at the low-latency one),
 * when the file under test is the shipped one. */
static void test_registry_pick(void)
{
    char shipped[1200];
    const char *name = g_quality ? "demucs-quality.clvm" : "demucs.clvm";
    if (clv_registry_find_model(name, shipped, sizeof shipped) != CLV_OK || !strstr(model_path, name)) {
        printf("registry: %s is not the shipped file here; pick not checked\n", model_path);
        return;
    }
    const ClvSeparatorOptions o = {best_op(), CLV_SPATIAL_OFF};
    ClvSeparator *by_name = NULL, *by_file = make_ok(44100, 1, best_op());
    const ClvStatus st = clv_separator_create_opts("demucs", 44100, 1, &o, &quiet_log, &by_name);
    CHECK(st == CLV_OK && by_name && by_file && by_name->latency == by_file->latency,
          "--model demucs at the %s point: %s, latency %d, this file's %d",
          g_quality ? "quality" : "low-latency", clv_strerror(st), by_name ? by_name->latency : -1,
          by_file ? by_file->latency : -1);
    printf("registry: --model demucs at the %s point runs %s (latency %d frames)\n",
           g_quality ? "quality" : "low-latency", name, by_name ? by_name->latency : -1);
    clv_separator_free(by_name);
    clv_separator_free(by_file);
}

/* --- bad model files: the shipped file with one thing changed ------------ */

static void m_arch(Buf *b) { mutate_arch(b); } /* "Xemucs_stream" */
static void m_missing(Buf *b) { mutate_rename_tensor(b, "dec.1.convt.weight"); }
/* enc.1.conv.weight [96, 48, 8] -> [48, 96, 8]: same size, wrong shape */
static void m_shape(Buf *b) { mutate_swap_dims(b, "enc.1.conv.weight"); }
static void m_lookahead(Buf *b) { mutate_meta_add(b, "lookahead", 1); }
/* below what the network needs */
static void m_latency(Buf *b) { mutate_meta_set(b, "latency_samples_model_rate", 64); }

/* hybrid files: the spectral branch must stream in the time branch's steps, and
 * its tensors are checked like the rest */
static void m_spec_hop(Buf *b)
{
    unsigned char *v = meta_value(b, "spec_hop");
    if (v) mutate_meta_set(b, "spec_hop", get64(v) / 2); /* hop 32 against a step of 64 */
}
static void m_spec_missing(Buf *b) { mutate_rename_tensor(b, "spec.stacks.0.head.weight"); }

static void test_bad_model(const char *golden_path)
{
    expect_foreign_refused(golden_path);
    Buf b = read_model();
    if (!b.n) return;
    expect_refused(&b, "wrong arch", m_arch, CLV_ERR_FORMAT);
    expect_refused(&b, "missing tensor", m_missing, CLV_ERR_NOT_FOUND);
    expect_refused(&b, "wrong shape", m_shape, CLV_ERR_SHAPE);
    expect_refused(&b, "inconsistent lookahead", m_lookahead, CLV_ERR_FORMAT);
    expect_refused(&b, "latency too small", m_latency, CLV_ERR_FORMAT);
    if (meta_value(&b, "spec_hop")) {
        expect_refused(&b, "spectral hop off the step", m_spec_hop, CLV_ERR_FORMAT);
        expect_refused(&b, "spectral tensor missing", m_spec_missing, CLV_ERR_NOT_FOUND);
    } else {
        printf("not a hybrid: the spectral-branch checks do not apply\n");
    }
    free(b.p);
}

int main(int argc, char **argv)
{
    const int rc = sep_test_start(argc, argv, clv_demucs_create, clv_demucs_underruns, 1);
    if (rc >= 0) return rc;
    read_kind();
    if (golden_load(argv[2], 0)) test_golden();
    test_latency(44100);
    test_latency(48000);
    test_network_rate(44100);
    test_network_rate(48000);
    engine_matches_direct(44100, best_op());
    if (!g_quality) {
        test_low_latency_spatial(44100);
        test_low_latency_spatial(48000);
        test_low_latency_no_window();
    }
    engine_matches_direct(48000, CLV_OP_QUALITY);
    test_registry_pick();
    test_bad_model(argv[2]);
    free(g_v16);
    return sep_test_end("demucs");
}
