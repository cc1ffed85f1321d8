/* SPDX-License-Identifier: ISC */
/* Tests of the Wave-U-Net separator (models/clv_waveunet.[ch]).
 *
 *   test_waveunet MODEL.clvm GOLDEN.clvm     (exit 77 when either file is missing)
 *
 * golden: the network state streamed in chunks of 1, 7, 64, 333, 2053 and 4999
 *         samples, and the separator streamed hop by hop at 16 kHz, reproduce
 *         PyTorch's sep_wave.separate() on the golden signal once shifted by the
 *         reported latency: voice SDR within 0.05 dB of PyTorch's and C-vs-PyTorch
 *         error 45 dB below the signal; reset gives the same output again.
 * latency: at 44.1 and 48 kHz stereo, the vocals of the golden input resampled to
 *         that rate match PyTorch's vocals resampled the same way, delayed by
 *         exactly the reported latency; one frame of shift either way is clearly
 *         worse; the output queue never runs dry; total engine latency (separator
 *         + hop + headroom) <= 250 ms.
 * realtime: no malloc/calloc/realloc/free inside process() (linker --wrap).
 * bad input: another architecture, a missing tensor, a wrong shape, a ctx and a
 *         block that disagree with the network, a wrong latency, 3 channels, and
 *         the low-latency point are refused with one clear error each; with a
 *         recurrent bottleneck also a missing gru_out, a GRU width and a GRU
 *         depth that disagree with the tensors.
 * The golden signal (2 s) spans many windows (31 with the shipped hop of 1024), so
 * with a recurrent bottleneck it also checks that the GRU state and the kept GRU
 * frames carry from window to window. models_waveunet_plain runs the same tests on
 * a small net without the recurrent bottleneck (tests/golden/waveunet_plain*). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clv_resample.h"
#include "clv_waveunet.h"

#include "test_sep_model.h"

/* The network state alone, fed in chunks of the given sizes (cycled). */
static void test_state_chunks(const ClvWaveUNetNet *net)
{
    static const int chunk_sets[][3] = {{1, 1, 1}, {7, 7, 7}, {64, 64, 64}, {333, 1, 4999},
                                        {2053, 2053, 2053}, {4999, 17, 0}};
    const int lat = clv_waveunet_net_latency(net);
    CHECK(lat == clv_waveunet_net_block(net) + clv_waveunet_net_ctx(net), "latency %d", lat);
    ClvWaveUNetState *s = NULL;
    CHECK(clv_waveunet_state_new(net, &s) == CLV_OK, "state_new");
    if (!s) return;
    const long total = golden.n + lat;
    float *x = calloc((size_t)total, sizeof(float)), *y = calloc((size_t)total, sizeof(float));
    memcpy(x, golden.in, sizeof(float) * (size_t)golden.n);
    for (size_t k = 0; k < sizeof chunk_sets / sizeof chunk_sets[0]; k++) {
        clv_waveunet_state_reset(s);
        memset(y, 0xff, sizeof(float) * (size_t)total); /* NaN: every sample must be written */
        long pos = 0;
        int i = 0;
        trap_hits = 0;
        while (pos < total) {
            int m = chunk_sets[k][i++ % 3];
            if (pos + m > total) m = (int)(total - pos);
            trap_armed = 1;
            clv_waveunet_state_process(s, x + pos, m, y + pos);
            trap_armed = 0;
            pos += m;
        }
        CHECK(trap_hits == 0, "%ld allocations in state_process", trap_hits);
        int zero_head = 1;
        for (long t = 0; t < lat; t++) zero_head &= y[t] == 0.0f;
        CHECK(zero_head, "chunks %d: the first %d outputs are not zeros", chunk_sets[k][0], lat);
        char what[64];
        snprintf(what, sizeof what, "state, chunks %d/%d/%d", chunk_sets[k][0], chunk_sets[k][1],
                 chunk_sets[k][2]);
        golden_compare(what, "", y + lat, "");
    }
    /* in place (x aliasing y) gives the same */
    float *z = malloc(sizeof(float) * (size_t)total);
    memcpy(z, x, sizeof(float) * (size_t)total);
    clv_waveunet_state_reset(s);
    for (long pos = 0; pos < total; pos += 100)
        clv_waveunet_state_process(s, z + pos, (int)(total - pos < 100 ? total - pos : 100), z + pos);
    CHECK(memcmp(z, y, sizeof(float) * (size_t)total) == 0, "in-place processing differs");
    free(z);
    free(x);
    free(y);
    clv_waveunet_state_free(s);
}

static void test_golden(void)
{
    ClvClvm *m = NULL;
    CHECK(clv_clvm_load(model_path, &quiet_log, &m) == CLV_OK, "load %s", model_path);
    if (!m) return;
    ClvWaveUNetNet *net = NULL;
    CHECK(clv_waveunet_net_new(m, &quiet_log, &net) == CLV_OK, "bind %s", model_path);
    if (net) {
        printf("network: %ld parameters, block %d, ctx %d, latency %d samples at %d Hz\n",
               clv_waveunet_net_params(net), clv_waveunet_net_block(net), clv_waveunet_net_ctx(net),
               clv_waveunet_net_latency(net), clv_waveunet_net_rate(net));
        test_state_chunks(net);
    }
    clv_waveunet_net_free(net);
    clv_clvm_free(m);

    /* the separator at the model rate, hop by hop */
    ClvSeparator *sep = NULL;
    float *y = golden_separate(&sep);
    if (!y) return;
    char what[64];
    snprintf(what, sizeof what, "separator 16 kHz, hop %d, latency %d", sep->hop, sep->latency);
    golden_compare(what, "", y + sep->latency, "");
    free(y);
    clv_separator_free(sep);
}

/* Streams src through a fresh 16 kHz -> rate converter (same delay every time). */
static float *to_rate(const float *src, long n, int rate, long *n_out)
{
    ClvResample *r = NULL;
    if (clv_resample_new(16000, rate, 1, &r) != CLV_OK) return NULL;
    const long cap = (long)ceil((double)n * rate / 16000) + 4096;
    float *out = calloc((size_t)cap, sizeof(float));
    long got = 0;
    for (long pos = 0; pos < n; pos += 1000) {
        const long m = n - pos < 1000 ? n - pos : 1000;
        got += (long)clv_resample_process(r, src + pos, (size_t)m, out + got, (size_t)(cap - got));
    }
    clv_resample_free(r);
    *n_out = got;
    return out;
}

static void test_latency(int rate)
{
    ClvSeparator *sep = make_ok(rate, 2, CLV_OP_QUALITY);
    if (!sep) return;
    const long lat = sep->latency;
    long n = 0, nv = 0;
    float *xr = to_rate(golden.in, golden.n, rate, &n);
    float *vr = to_rate(golden.vocals, golden.n, rate, &nv);
    CHECK(xr && vr && n == nv && n > rate, "resampling the golden signal to %d Hz", rate);
    if (!xr || !vr || n != nv || n <= rate) {
        free(xr);
        free(vr);
        clv_separator_free(sep);
        return;
    }
    /* channel 1 is the same signal shifted by 1234 frames: a channel mix-up or a
     * per-channel offset shows */
    const long sh = 1234;
    float *x[2], *y[2];
    for (int c = 0; c < 2; c++) {
        x[c] = calloc((size_t)(n + sh), sizeof(float));
        y[c] = calloc((size_t)(n + sh + lat + 4), sizeof(float));
    }
    memcpy(x[0], xr, sizeof(float) * (size_t)n);
    memcpy(x[1] + sh, xr, sizeof(float) * (size_t)n);
    stream_trapped(sep, x, n + sh, lat + 4, y);
    /* compare away from the start (converter warm-up) and the end */
    const long a = rate / 8, b = n - rate / 8;
    double at[5];
    for (int k = 0; k < 5; k++) {
        const long d = lat - 2 + k;
        at[k] = (sdr(vr + a, y[0] + a + d, b - a) + sdr(vr + a, y[1] + a + sh + d, b - a)) / 2;
    }
    double best = at[0];
    int best_k = 0;
    for (int k = 1; k < 5; k++)
        if (at[k] > best) {
            best = at[k];
            best_k = k;
        }
    /* the same on first differences (weights the upper band, where one frame of
     * shift costs most), and the lag of the cross-correlation peak, refined by a
     * parabola through its neighbours: it must sit within 0.25 frame of the
     * reported latency */
    double atd[5], xc[7];
    for (int k = 0; k < 5; k++) {
        const long d = lat - 2 + k;
        double s2 = 0;
        for (int c = 0; c < 2; c++) {
            const float *yy = y[c] + (c ? sh : 0) + d;
            double es = 0, ee = 0;
            for (long i = a + 1; i < b; i++) {
                const double r = (double)vr[i] - vr[i - 1], e = r - ((double)yy[i] - yy[i - 1]);
                es += r * r;
                ee += e * e;
            }
            s2 += 10.0 * log10(es / (ee + 1e-30)) / 2;
        }
        atd[k] = s2;
    }
    int pk = 0;
    for (int k = 0; k < 7; k++) {
        const long d = lat - 3 + k;
        xc[k] = 0;
        for (int c = 0; c < 2; c++)
            for (long i = a; i < b; i++) xc[k] += (double)vr[i] * y[c][i + (c ? sh : 0) + d];
        if (xc[k] > xc[pk]) pk = k;
    }
    double peak = (double)(lat - 3 + pk);
    if (pk > 0 && pk < 6) {
        const double den = xc[pk - 1] - 2 * xc[pk] + xc[pk + 1];
        if (den < 0) peak += 0.5 * (xc[pk - 1] - xc[pk + 1]) / den;
    }
    printf("  first differences: %.1f dB at the reported latency, %.1f / %.1f dB one frame early "
           "/ late; cross-correlation peak at %.3f frames\n",
           atd[2], atd[1], atd[3], peak);
    CHECK(fabs(peak - (double)lat) < 0.25, "cross-correlation peak at %.3f, reported %ld", peak, lat);
    CHECK(atd[2] > atd[1] + 3.0 && atd[2] > atd[3] + 3.0,
          "one frame of shift is not clearly worse on differences (%.1f vs %.1f / %.1f dB)",
          atd[2], atd[1], atd[3]);
    const double total_ms = 1000.0 * (lat + sep->hop + sep->headroom) / rate;
    printf("latency %d Hz stereo: reported %ld frames (%.2f ms), hop %d, headroom %d, engine total "
           "%ld frames (%.1f ms); vocals vs PyTorch resampled: %.1f dB at the reported latency, "
           "%.1f / %.1f dB one frame early / late, best at %+d; underruns %ld\n",
           rate, lat, 1000.0 * lat / rate, sep->hop, sep->headroom, lat + sep->hop + sep->headroom,
           total_ms, at[2], at[1], at[3], best_k - 2, clv_waveunet_underruns(sep));
    CHECK(best_k == 2, "measured latency %ld != reported %ld", lat - 2 + best_k, lat);
    CHECK(at[2] > 20.0, "only %.1f dB from PyTorch's vocals at %d Hz", at[2], rate);
    CHECK(at[2] > at[1] + 2.0 && at[2] > at[3] + 2.0,
          "one frame of shift is not clearly worse (%.1f vs %.1f / %.1f dB)", at[2], at[1], at[3]);
    CHECK(clv_waveunet_underruns(sep) == 0, "output queue ran dry at %d Hz", rate);
    CHECK(total_ms <= 250.0, "quality latency %.1f ms > 250 ms", total_ms);
    for (int c = 0; c < 2; c++) {
        free(x[c]);
        free(y[c]);
    }
    free(xr);
    free(vr);
    clv_separator_free(sep);
}

/* --- bad model files: the model file with one thing changed ------------- */

static void m_arch(Buf *b) { mutate_arch(b); } /* "Xave_u_net" */
static void m_missing(Buf *b) { mutate_rename_tensor(b, "up.2.weight"); }
/* down.1.weight [32, 16, 15] -> [16, 32, 15]: same size, wrong shape */
static void m_shape(Buf *b) { mutate_swap_dims(b, "down.1.weight"); }
static void m_ctx(Buf *b) { mutate_meta_add(b, "ctx", 2); }
static void m_block(Buf *b) { mutate_meta_add(b, "block", 1); } /* an unreachable block length */
static void m_block_ctx(Buf *b)
{
    /* both shifted so that latency still equals block + ctx: only the plan catches it */
    mutate_meta_add(b, "block", 2);
    mutate_meta_add(b, "ctx", -2);
}
static void m_latency(Buf *b) { mutate_meta_add(b, "latency_samples_model_rate", -100); }
static void m_kd_even(Buf *b) { mutate_meta_add(b, "kd", 1); }
static void m_gru_out(Buf *b) { mutate_rename_tensor(b, "gru_out.weight"); }
static void m_rnn_hidden(Buf *b) { mutate_meta_add(b, "rnn_hidden", 8); }
static void m_rnn_layers(Buf *b) { mutate_meta_add(b, "rnn_layers", 1); }

static int model_has_rnn(void)
{
    ClvClvm *m = NULL;
    if (clv_clvm_load(model_path, &quiet_log, &m) != CLV_OK) return 0;
    int64_t layers = 0;
    const int rnn = clv_clvm_has_meta(m, "rnn_layers") &&
                    clv_clvm_meta_int(m, "rnn_layers", &layers) == CLV_OK && layers > 0;
    clv_clvm_free(m);
    return rnn;
}

static void test_bad_model(const char *golden_path)
{
    expect_foreign_refused(golden_path);
    expect_low_latency_refused(44100);
    Buf b = read_model();
    if (!b.n) return;
    expect_refused(&b, "wrong arch", m_arch, CLV_ERR_FORMAT);
    expect_refused(&b, "missing tensor", m_missing, CLV_ERR_NOT_FOUND);
    expect_refused(&b, "wrong shape", m_shape, CLV_ERR_SHAPE);
    expect_refused(&b, "inconsistent ctx", m_ctx, CLV_ERR_FORMAT);
    expect_refused(&b, "unreachable block", m_block, CLV_ERR_FORMAT);
    expect_refused(&b, "block/ctx moved together", m_block_ctx, CLV_ERR_FORMAT);
    expect_refused(&b, "wrong latency", m_latency, CLV_ERR_FORMAT);
    expect_refused(&b, "even kernel", m_kd_even, CLV_ERR_FORMAT);
    if (model_has_rnn()) {
        expect_refused(&b, "missing gru_out", m_gru_out, CLV_ERR_NOT_FOUND);
        expect_refused(&b, "GRU width", m_rnn_hidden, CLV_ERR_SHAPE);
        expect_refused(&b, "GRU depth", m_rnn_layers, CLV_ERR_NOT_FOUND);
    }
    free(b.p);
}

int main(int argc, char **argv)
{
    const int rc = sep_test_start(argc, argv, clv_waveunet_create, clv_waveunet_underruns, 1);
    if (rc >= 0) return rc;
    if (!golden_load(argv[2], 16000)) return sep_test_end("waveunet");
    test_golden();
    test_latency(44100);
    test_latency(48000);
    engine_matches_direct(44100, CLV_OP_QUALITY);
    test_bad_model(argv[2]);
    return sep_test_end("waveunet");
}
