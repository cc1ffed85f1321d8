/* SPDX-License-Identifier: ISC */
/* Spatial refinement (dsp/clv_spatial.h) around a stand-in separator whose
 * "vocals" are its input delayed by a fixed latency, so the refinement's own
 * behaviour is what is measured:
 *  - the reported latency is the measured one (a centred tone comes out equal to
 *    the input delayed by exactly that many frames, and worse one frame off);
 *  - a centred source is kept, a hard-panned one and an anti-phase one are removed;
 *  - the inner separator's mask is kept: half-level inner vocals give half-level
 *    output;
 *  - below the low cut (250 Hz) nothing is kept;
 *  - process() allocates nothing and takes no locks (realtime trap);
 *  - the low-latency variants (a window of two STFT hops of the separator's hop
 *    or half of it) report their latency (one STFT hop) and keep and remove the
 *    same sources;
 *  - bad parameters and mono separators are refused (and the inner one freed). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "clv_rt_trap.h"
#include "clv_spatial.h"
#include "clv_test.h"

#define RATE 44100
#define HOP 704
#define DELAY 5990

typedef struct {
    ClvSeparator base;
    float gain;
    float *dl[2]; /* [DELAY + HOP] */
} Stand;

static void st_process(ClvSeparator *s, const float *const *in, float *const *v)
{
    Stand *d = (Stand *)s;
    for (int c = 0; c < s->channels; c++) {
        memcpy(d->dl[c] + DELAY, in[c], sizeof(float) * HOP);
        for (int i = 0; i < HOP; i++) v[c][i] = d->gain * d->dl[c][i];
        memmove(d->dl[c], d->dl[c] + HOP, sizeof(float) * DELAY);
    }
}

static void st_reset(ClvSeparator *s)
{
    Stand *d = (Stand *)s;
    for (int c = 0; c < s->channels; c++) memset(d->dl[c], 0, sizeof(float) * (DELAY + HOP));
}

static int freed;
static void st_free(ClvSeparator *s)
{
    Stand *d = (Stand *)s;
    for (int c = 0; c < 2; c++) free(d->dl[c]);
    free(d);
    freed++;
}

static const ClvSeparatorOps st_ops = {st_process, st_reset, st_free};

static ClvSeparator *stand(int channels, float gain)
{
    Stand *d = calloc(1, sizeof *d);
    d->base.ops = &st_ops;
    d->base.channels = channels;
    d->base.sample_rate = RATE;
    d->base.hop = HOP;
    d->base.latency = DELAY;
    d->gain = gain;
    for (int c = 0; c < 2; c++) d->dl[c] = calloc(DELAY + HOP, sizeof(float));
    return &d->base;
}

/* Runs n frames (multiple of HOP) of (l, r) through s into (vl, vr). */
static void run(ClvSeparator *s, const float *l, const float *r, float *vl, float *vr, long n,
                int trap)
{
    clv_separator_reset(s);
    for (long p = 0; p < n; p += HOP) {
        const float *in[2] = {l + p, r + p};
        float *out[2] = {vl + p, vr + p};
        if (trap) clv_trap_enter();
        clv_separator_process(s, in, out);
        if (trap) clv_trap_leave();
    }
}

static double power(const float *x, long a, long b)
{
    double e = 0.0;
    for (long i = a; i < b; i++) e += (double)x[i] * x[i];
    return e / (double)(b - a);
}

/* SNR (dB) of y against x delayed by d over the settled part. */
static double match(const float *x, const float *y, long n, long d)
{
    double e = 0.0, s = 0.0;
    for (long i = d + RATE / 5; i < n; i++) {
        e += (y[i] - x[i - d]) * (y[i] - x[i - d]);
        s += (double)x[i - d] * x[i - d];
    }
    return 10.0 * log10(s / (e + 1e-30));
}

/* The low-latency parameters with hop_div: latency, a centred tone kept, a
 * hard-panned one removed. */
static void check_low_latency(int hop_div, const float *tone, float *zeros, float *vl, float *vr,
                              long n)
{
    const ClvSpatialParams p = clv_spatial_low_latency_params(hop_div);
    ClvSeparator *s = NULL;
    CHECK(clv_spatial_wrap(stand(2, 1.0f), &p, &s) == CLV_OK && s, "wrap, hop_div %d", hop_div);
    if (!s) return;
    const int h = HOP / hop_div, lat = s->latency;
    CHECK(lat == DELAY + h && clv_spatial_added_latency(s, &p) >= 0,
          "hop_div %d: latency %d, expected %d + %d", hop_div, lat, DELAY, h);
    run(s, tone, tone, vl, vr, n, 1);
    const double m0 = match(tone, vl, n, lat), m_early = match(tone, vl, n, lat - 1),
                 m_late = match(tone, vl, n, lat + 1);
    clv_separator_reset(s);
    run(s, tone, zeros, vl, vr, n, 0);
    const double pan_db =
        10.0 * log10(power(vl, RATE / 2, n) / power(tone, RATE / 2, n) + 1e-30);
    printf("low latency, STFT hop %d (window %d): latency %d frames (+%d); centred tone %.1f dB "
           "(one frame early %.1f, late %.1f); left-only tone at %.1f dB\n",
           h, 2 * h, lat, lat - DELAY, m0, m_early, m_late, pan_db);
    CHECK(m0 > 40.0 && m0 > m_early + 10.0 && m0 > m_late + 10.0,
          "hop_div %d: centred tone %.1f dB at the reported latency (%.1f / %.1f off by one)",
          hop_div, m0, m_early, m_late);
    CHECK(pan_db < -30.0, "hop_div %d: hard-panned source kept (%.1f dB)", hop_div, pan_db);
    clv_separator_free(s);
}

int main(void)
{
    const long n = (long)HOP * 125; /* 2 s */
    float *l = calloc(n, sizeof(float)), *r = calloc(n, sizeof(float));
    float *vl = calloc(n, sizeof(float)), *vr = calloc(n, sizeof(float));

    ClvSeparator *s = NULL;
    CHECK(clv_spatial_wrap(stand(2, 1.0f), NULL, &s) == CLV_OK && s, "wrap failed");
    if (!s) TEST_DONE();
    const int lat = s->latency;
    CHECK(s->hop == HOP && lat > DELAY && s->channels == 2, "hop %d latency %d", s->hop, lat);

    /* a centred 1 kHz tone: kept, delayed by exactly the reported latency */
    for (long i = 0; i < n; i++) l[i] = r[i] = (float)(0.3 * sin(2.0 * M_PI * 1000.0 * i / RATE));
    run(s, l, r, vl, vr, n, 1);
    const double m0 = match(l, vl, n, lat), m_early = match(l, vl, n, lat - 1),
                 m_late = match(l, vl, n, lat + 1), m_r = match(r, vr, n, lat);
    printf("centred tone vs input delayed by the reported %d frames: %.1f dB (L), %.1f dB (R); "
           "one frame early %.1f dB, late %.1f dB\n", lat, m0, m_r, m_early, m_late);
    CHECK(m0 > 40.0 && m_r > 40.0, "centred tone not kept (%.1f, %.1f dB)", m0, m_r);
    CHECK(m0 > m_early + 10.0 && m0 > m_late + 10.0, "reported latency is not the best match");

    /* hard-panned (left only) and anti-phase sources are not vocals */
    for (long i = 0; i < n; i++) r[i] = 0.0f;
    run(s, l, r, vl, vr, n, 0);
    const double pan_db = 10.0 * log10(power(vl, RATE / 2, n) / power(l, RATE / 2, n) + 1e-30);
    for (long i = 0; i < n; i++) r[i] = -l[i];
    run(s, l, r, vl, vr, n, 0);
    const double anti_db = 10.0 * log10(power(vl, RATE / 2, n) / power(l, RATE / 2, n) + 1e-30);
    printf("left-only tone: vocals at %.1f dB; anti-phase tone: %.1f dB\n", pan_db, anti_db);
    CHECK(pan_db < -40.0, "hard-panned source kept (%.1f dB)", pan_db);
    CHECK(anti_db < -40.0, "anti-phase source kept (%.1f dB)", anti_db);

    /* the inner mask is respected: half-level inner vocals, half-level output */
    ClvSeparator *h = NULL;
    CHECK(clv_spatial_wrap(stand(2, 0.5f), NULL, &h) == CLV_OK, "wrap (half) failed");
    for (long i = 0; i < n; i++) r[i] = l[i];
    if (h) {
        run(h, l, r, vl, vr, n, 0);
        const double g = 10.0 * log10(power(vl, RATE / 2, n) / power(l, RATE / 2, n));
        printf("inner vocals at -6.02 dB: refined vocals at %.2f dB\n", g);
        CHECK(fabs(g + 6.02) < 0.1, "inner mask not kept (%.2f dB)", g);
        clv_separator_free(h);
    }

    /* below the low cut: a centred 80 Hz tone is not vocals */
    for (long i = 0; i < n; i++) l[i] = r[i] = (float)(0.3 * sin(2.0 * M_PI * 80.0 * i / RATE));
    run(s, l, r, vl, vr, n, 0);
    const double low_db = 10.0 * log10(power(vl, RATE / 2, n) / power(l, RATE / 2, n) + 1e-30);
    printf("centred 80 Hz tone: vocals at %.1f dB\n", low_db);
    CHECK(low_db < -30.0, "bass kept as vocals (%.1f dB)", low_db);
    clv_separator_free(s);

    for (long i = 0; i < n; i++) {
        l[i] = (float)(0.3 * sin(2.0 * M_PI * 1000.0 * i / RATE));
        r[i] = 0.0f;
    }
    check_low_latency(1, l, r, vl, vr, n);
    check_low_latency(2, l, r, vl, vr, n);
    CHECK(clv_trap_count() == 0, "process() allocated or locked %ld times", clv_trap_count());

    /* refusals free the inner separator */
    freed = 0;
    ClvSeparator *bad = NULL;
    ClvSpatialParams p = clv_spatial_default_params();
    p.threshold = 1.0f;
    CHECK(clv_spatial_wrap(stand(2, 1.0f), &p, &bad) == CLV_ERR_INVALID && !bad, "threshold 1");
    p = clv_spatial_default_params();
    p.band_lo = NAN;
    CHECK(clv_spatial_wrap(stand(2, 1.0f), &p, &bad) == CLV_ERR_INVALID && !bad, "NaN low cut");
    CHECK(clv_spatial_wrap(stand(1, 1.0f), NULL, &bad) == CLV_ERR_INVALID && !bad, "mono");
    p = clv_spatial_low_latency_params(3); /* 704 / 3 is not whole */
    CHECK(clv_spatial_wrap(stand(2, 1.0f), &p, &bad) == CLV_ERR_INVALID && !bad, "hop_div 3");
    /* a 2 x 706 = 4 x 353 window: FFTW would allocate while it runs (Rader) */
    ClvSeparator *odd = stand(2, 1.0f);
    odd->hop = 706;
    p = clv_spatial_low_latency_params(1);
    CHECK(clv_spatial_added_latency(odd, &p) == -1, "706-frame hop: latency for a 1412 window");
    CHECK(clv_spatial_wrap(odd, &p, &bad) == CLV_ERR_UNSUPPORTED && !bad, "1412-frame window");
    p = clv_spatial_low_latency_params(1);
    p.window_hops = 1;
    CHECK(clv_spatial_wrap(stand(2, 1.0f), &p, &bad) == CLV_ERR_INVALID && !bad, "window 1 hop");
    CHECK(freed == 6, "refused inner separators freed: %d of 6", freed);
    CHECK(clv_spatial_wrap(NULL, NULL, &bad) == CLV_ERR_INVALID, "NULL inner");

    free(l);
    free(r);
    free(vl);
    free(vr);
    TEST_DONE();
}
