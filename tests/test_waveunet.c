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
 *         the low-latency point are refused with one clear error each. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clv_clvm.h"
#include "clv_resample.h"
#include "clv_waveunet.h"

#include "test_sep_model.h"
}

static const float *g_in, *g_voice, *g_vocals;
static long g_n;

/* Compares a C output (already shifted by the latency) with PyTorch's. */
static void compare_golden(const char *what, const float *c_out)
{
    double maxerr = 0;
    for (long i = 0; i < g_n; i++) maxerr = fmax(maxerr, fabs((double)c_out[i] - g_vocals[i]));
    const double snr = sdr(g_vocals, c_out, g_n);
    const double sdr_t = sdr(g_voice, g_vocals, g_n), sdr_c = sdr(g_voice, c_out, g_n);
    printf("golden %s: max |C - PyTorch| %.2e, C vs PyTorch %.1f dB, voice SDR PyTorch %.3f dB, "
           "C %.3f dB (difference %.4f dB)\n",
           what, maxerr, snr, sdr_t, sdr_c, sdr_c - sdr_t);
    CHECK(fabs(sdr_c - sdr_t) < 0.05, "%s: SDR difference %.4f dB >= 0.05 dB", what, sdr_c - sdr_t);
    CHECK(snr > 45.0, "%s: C output only %.1f dB from PyTorch's", what, snr);
}

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
    const long total = g_n + lat;
    float *x = calloc((size_t)total, sizeof(float)), *y = calloc((size_t)total, sizeof(float));
    memcpy(x, g_in, sizeof(float) * (size_t)g_n);
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
        compare_golden(what, y + lat);
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
    ClvStatus st;
    ClvSeparator *sep = make(16000, 1, CLV_OP_QUALITY, &quiet_log, &st);
    CHECK(st == CLV_OK && sep, "create at 16 kHz: %s", clv_strerror(st));
    if (!sep) return;
    const long lat = sep->latency;
    float *y = calloc((size_t)(g_n + lat), sizeof(float));
    float *xs[1] = {(float *)g_in};
    float *ys[1] = {y};
    trap_hits = 0;
    stream(sep, xs, g_n, lat, ys, 1);
    CHECK(trap_hits == 0, "%ld allocations inside process() at 16 kHz", trap_hits);
    char what[64];
    snprintf(what, sizeof what, "separator 16 kHz, hop %d, latency %ld", sep->hop, lat);
    compare_golden(what, y + lat);
    CHECK(clv_waveunet_underruns(sep) == 0, "underruns at 16 kHz");
    clv_separator_reset(sep);
    float *y2 = calloc((size_t)(g_n + lat), sizeof(float));
    float *ys2[1] = {y2};
    stream(sep, xs, g_n, lat, ys2, 1);
    CHECK(memcmp(y, y2, sizeof(float) * (size_t)(g_n + lat)) == 0, "output after reset differs");
    free(y);
    free(y2);
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
    ClvStatus st;
    ClvSeparator *sep = make(rate, 2, CLV_OP_QUALITY, &quiet_log, &st);
    CHECK(st == CLV_OK && sep, "create at %d Hz: %s", rate, clv_strerror(st));
    if (!sep) return;
    const long lat = sep->latency;
    long n = 0, nv = 0;
    float *xr = to_rate(g_in, g_n, rate, &n), *vr = to_rate(g_vocals, g_n, rate, &nv);
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
    trap_hits = 0;
    stream(sep, x, n + sh, lat + 4, y, 1);
    CHECK(trap_hits == 0, "%ld allocations inside process() at %d Hz", trap_hits, rate);
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

typedef struct {
    unsigned char *p;
    size_t n;
} Buf;

static uint32_t get32(const unsigned char *p)
{
    return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint64_t get64(const unsigned char *p) { return get32(p) | (uint64_t)get32(p + 4) << 32; }
static void set32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i));
}
static void set64(unsigned char *p, uint64_t v)
{
    set32(p, (uint32_t)v);
    set32(p + 4, (uint32_t)(v >> 32));
}

static Buf read_all(const char *path)
{
    Buf b = {0};
    FILE *f = fopen(path, "rb");
    if (!f) return b;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    b.p = n > 0 ? malloc((size_t)n) : NULL;
    if (b.p && fread(b.p, 1, (size_t)n, f) == (size_t)n) b.n = (size_t)n;
    fclose(f);
    return b;
}

/* header CRC over the fixed header, metadata and directory (see clv_clvm.c) */
static void fix_crc(Buf *b)
{
    uint32_t crc = clv_crc32(0, b->p, 80);
    crc = clv_crc32(crc, b->p + get64(b->p + 24), get64(b->p + 32));
    crc = clv_crc32(crc, b->p + get64(b->p + 40), get64(b->p + 48));
    set32(b->p + 80, crc);
}

static unsigned char *dir_entry(Buf *b, const char *name)
{
    unsigned char *e = b->p + get64(b->p + 40), *end = e + get64(b->p + 48);
    const uint32_t count = get32(b->p + 76);
    for (uint32_t i = 0; i < count && e < end; i++) {
        const uint32_t nl = get32(e), nd = get32(e + 8);
        const unsigned char *nm = e + 32 + 8 * nd;
        if (nl == strlen(name) && memcmp(nm, name, nl) == 0) return e;
        e += (32 + 8 * nd + nl + 7) / 8 * 8;
    }
    return NULL;
}

static unsigned char *meta_value(Buf *b, const char *key)
{
    unsigned char *e = b->p + get64(b->p + 24), *end = e + get64(b->p + 32);
    const uint32_t count = get32(b->p + 72);
    for (uint32_t i = 0; i < count && e < end; i++) {
        const uint32_t kl = get32(e);
        const uint64_t vs = get64(e + 8);
        if (kl == strlen(key) && memcmp(e + 16, key, kl) == 0) return e + 16 + kl;
        e += (16 + kl + vs + 7) / 8 * 8;
    }
    return NULL;
}

static int mutated; /* the mutation found its target */

static void expect_refused(const Buf *orig, const char *what, void (*mutate)(Buf *), ClvStatus want)
{
    Buf b = {malloc(orig->n), orig->n};
    memcpy(b.p, orig->p, orig->n);
    mutated = 0;
    mutate(&b);
    CHECK(mutated, "%s: the mutation found nothing to change", what);
    fix_crc(&b);
    ClvClvm *m = NULL;
    ClvSeparator *sep = NULL;
    errors_logged = 0;
    ClvStatus st = clv_clvm_load_memory(b.p, b.n, "mutated.clvm", &count_log, &m);
    CHECK(st == CLV_OK, "%s: mutated file does not load (%s)", what, clv_strerror(st));
    if (st == CLV_OK) st = clv_waveunet_create(m, 44100, 2, CLV_OP_QUALITY, &count_log, &sep);
    CHECK(st == want && !sep && errors_logged == 1, "%s: status %s (want %s), %d errors", what,
          clv_strerror(st), clv_strerror(want), errors_logged);
    clv_separator_free(sep);
    free(b.p);
}

static void add_meta(Buf *b, const char *key, int64_t delta)
{
    unsigned char *v = meta_value(b, key);
    if (v) {
        set64(v, get64(v) + (uint64_t)delta);
        mutated = 1;
    }
}
static void m_arch(Buf *b)
{
    unsigned char *v = meta_value(b, "arch");
    if (v) {
        v[0] = 'X'; /* "Xave_u_net" */
        mutated = 1;
    }
}
static void m_missing(Buf *b)
{
    unsigned char *e = dir_entry(b, "up.2.weight");
    if (e) {
        e[32 + 8 * get32(e + 8)] = 'X'; /* renamed "Xp.2.weight" */
        mutated = 1;
    }
}
static void m_shape(Buf *b)
{
    /* down.1.weight [32, 16, 15] -> [16, 32, 15]: same size, wrong shape */
    unsigned char *e = dir_entry(b, "down.1.weight");
    if (e) {
        uint64_t d0 = get64(e + 32), d1 = get64(e + 40);
        set64(e + 32, d1);
        set64(e + 40, d0);
        mutated = 1;
    }
}
static void m_ctx(Buf *b) { add_meta(b, "ctx", 2); }
static void m_block(Buf *b) { add_meta(b, "block", 1); } /* an unreachable block length */
static void m_block_ctx(Buf *b)
{
    /* both shifted so that latency still equals block + ctx: only the plan catches it */
    add_meta(b, "block", 2);
    add_meta(b, "ctx", -2);
}
static void m_latency(Buf *b) { add_meta(b, "latency_samples_model_rate", -100); }
static void m_kd_even(Buf *b) { add_meta(b, "kd", 1); }

static void test_bad_model(const char *golden_path)
{
    ClvClvm *m = NULL;
    ClvSeparator *sep = NULL;
    errors_logged = 0;
    /* the golden file is a valid .clvm of another architecture */
    ClvStatus st = clv_clvm_load(golden_path, &count_log, &m);
    CHECK(st == CLV_OK, "golden file loads");
    if (st == CLV_OK) st = clv_waveunet_create(m, 44100, 2, CLV_OP_QUALITY, &count_log, &sep);
    CHECK(st == CLV_ERR_FORMAT && !sep && errors_logged == 1, "golden file accepted as a model");
    errors_logged = 0;
    sep = make(44100, 3, CLV_OP_QUALITY, &count_log, &st);
    CHECK(st != CLV_OK && !sep && errors_logged == 1, "3 channels accepted");
    errors_logged = 0;
    sep = make(44100, 2, CLV_OP_LOW_LATENCY, &count_log, &st);
    CHECK(st == CLV_ERR_UNSUPPORTED && !sep && errors_logged == 1,
          "low-latency point: status %s, %d errors", clv_strerror(st), errors_logged);
    Buf b = read_all(model_path);
    CHECK(b.n > 96, "cannot read %s", model_path);
    if (b.n <= 96) return;
    expect_refused(&b, "wrong arch", m_arch, CLV_ERR_FORMAT);
    expect_refused(&b, "missing tensor", m_missing, CLV_ERR_NOT_FOUND);
    expect_refused(&b, "wrong shape", m_shape, CLV_ERR_SHAPE);
    expect_refused(&b, "inconsistent ctx", m_ctx, CLV_ERR_FORMAT);
    expect_refused(&b, "unreachable block", m_block, CLV_ERR_FORMAT);
    expect_refused(&b, "block/ctx moved together", m_block_ctx, CLV_ERR_FORMAT);
    expect_refused(&b, "wrong latency", m_latency, CLV_ERR_FORMAT);
    expect_refused(&b, "even kernel", m_kd_even, CLV_ERR_FORMAT);
    free(b.p);
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s MODEL.clvm GOLDEN.clvm\n", argv[0]);
        return 2;
    }
    FILE *f1 = fopen(argv[1], "rb"), *f2 = fopen(argv[2], "rb");
    if (f1) fclose(f1);
    if (f2) fclose(f2);
    if (!f1 || !f2) {
        printf("SKIP: %s or %s is missing (exported by models/train/export_sep.py)\n", argv[1],
               argv[2]);
        return 77;
    }
    model_path = argv[1];
    sep_create = clv_waveunet_create;
    ClvClvm *g = NULL;
    ClvTensorInfo ti, tv, to;
    if (clv_clvm_load(argv[2], &quiet_log, &g) != CLV_OK || clv_clvm_find(g, "input", &ti) != CLV_OK ||
        clv_clvm_find(g, "voice", &tv) != CLV_OK || clv_clvm_find(g, "vocals", &to) != CLV_OK ||
        ti.count != tv.count || ti.count != to.count || ti.count < 16000) {
        fprintf(stderr, "%s: needs tensors input, voice, vocals of one length (>= 1 s)\n", argv[2]);
        clv_clvm_free(g);
        return 1;
    }
    g_in = ti.data;
    g_voice = tv.data;
    g_vocals = to.data;
    g_n = (long)ti.count;
    test_golden();
    test_latency(44100);
    test_latency(48000);
    test_bad_model(argv[2]);
    clv_clvm_free(g);
    if (failures) fprintf(stderr, "%d failures\n", failures);
    else printf("all waveunet tests passed\n");
    return failures ? 1 : 0;
}
