/* SPDX-License-Identifier: ISC */
/* Rate bridge (models/clv_rate_bridge.h) with an identity network: the vocal path
 * is then just down-converter -> up-converter, delayed by the reported latency.
 * Measures, for the default (32) and the long (128) converter length at 44.1 and
 * 48 kHz host rates against a 16 kHz model:
 *   - the passband: the chain's gain for pure tones, and the first frequencies
 *     where it falls 0.1 dB and 1 dB below the gain at 1 kHz;
 *   - the stopband: output power over input power for tones from the model's
 *     Nyquist (8 kHz) up to the host's (aliases and what leaks through), and for
 *     passband tones the power of everything but the tone (images);
 *   - the latency: a 1 kHz tone comes out as the input delayed by exactly the
 *     reported number of frames;
 *   - the worker headroom: a declared block load times the largest burst of
 *     network blocks one hop runs, which no hop of a long run exceeds;
 * and checks bad converter lengths and loads are refused and taps = 0 equals
 * taps = 32. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clv_rate_bridge.h"

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

static int failures;
#define CHECK(cond, ...)                                                                   \
    do {                                                                                   \
        if (!(cond)) {                                                                     \
            failures++;                                                                    \
            fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);                           \
            fprintf(stderr, __VA_ARGS__);                                                  \
            fputc('\n', stderr);                                                           \
        }                                                                                  \
    } while (0)

#define MODEL_RATE 16000
#define BLOCK 64

static float leak; /* added to every output sample: a network's bias leaking into silence */
static int blocks_run; /* network blocks since the counter was last cleared */
static double block_load;

static void identity_block(void *user, const float *const *in, float *const *out)
{
    (void)user;
    blocks_run++;
    for (int i = 0; i < BLOCK; i++) out[0][i] = in[0][i] + leak;
}

static void quiet_log(void *user, ClvLogLevel level, const char *msg)
{
    (void)user;
    if (level <= CLV_LOG_WARNING) fprintf(stderr, "  log: %s\n", msg);
}

static ClvRateBridge *make(int rate, int taps, ClvStatus *st_out)
{
    const ClvRateBridgeConfig cfg = {
        .host_rate = rate,
        .channels = 1,
        .model_rate = MODEL_RATE,
        .host_hop = 0,
        .model_block = BLOCK,
        .model_latency = 0,
        .taps = taps,
        .block_load = block_load,
        .block = identity_block,
        .user = NULL,
        .name = "test_rate_bridge",
    };
    const ClvLog log = {quiet_log, NULL};
    ClvRateBridge *b = NULL;
    ClvStatus st = clv_rate_bridge_new(&cfg, &log, &b);
    if (st_out) *st_out = st;
    return b;
}

/* Runs n host frames of x through a fresh bridge into y. */
static void run(ClvRateBridge *b, const float *x, float *y, long n)
{
    const int H = clv_rate_bridge_hop(b);
    clv_rate_bridge_reset(b);
    float *tmp = calloc((size_t)H, sizeof(float));
    float *ob = calloc((size_t)H, sizeof(float));
    for (long pos = 0; pos < n; pos += H) {
        const int m = n - pos < H ? (int)(n - pos) : H;
        memset(tmp, 0, sizeof(float) * (size_t)H);
        memcpy(tmp, x + pos, sizeof(float) * (size_t)m);
        const float *in[1] = {tmp};
        float *out[1] = {ob};
        clv_rate_bridge_process(b, in, out);
        memcpy(y + pos, ob, sizeof(float) * (size_t)m);
    }
    free(tmp);
    free(ob);
}

typedef struct {
    double gain_db;  /* tone at f in the output relative to the input */
    double resid_db; /* everything else in the output relative to the input power */
} Tone;

/* A tone of frequency f (Hz) through the bridge; the fit skips the start-up. */
static Tone tone(ClvRateBridge *b, int rate, double f, float *x, float *y, long n)
{
    for (long i = 0; i < n; i++) x[i] = (float)(0.5 * sin(2.0 * M_PI * f * i / rate));
    run(b, x, y, n);
    const long start = clv_rate_bridge_latency(b) + rate / 20;
    double scc = 0, sss = 0, scs = 0, syc = 0, sys = 0;
    for (long i = start; i < n; i++) {
        const double c = cos(2.0 * M_PI * f * i / rate), s = sin(2.0 * M_PI * f * i / rate);
        scc += c * c;
        sss += s * s;
        scs += c * s;
        syc += y[i] * c;
        sys += y[i] * s;
    }
    const double det = scc * sss - scs * scs;
    const double a = (syc * sss - sys * scs) / det, bb = (sys * scc - syc * scs) / det;
    double e = 0;
    for (long i = start; i < n; i++) {
        const double fit = a * cos(2.0 * M_PI * f * i / rate) + bb * sin(2.0 * M_PI * f * i / rate);
        e += (y[i] - fit) * (y[i] - fit);
    }
    const double pin = 0.125; /* 0.5^2 / 2 */
    Tone t;
    t.gain_db = 20.0 * log10(sqrt(a * a + bb * bb) / 0.5 + 1e-30);
    t.resid_db = 10.0 * log10(e / (double)(n - start) / pin + 1e-30);
    return t;
}

typedef struct {
    double p01, p1;    /* Hz: first tone 0.1 dB / 1 dB below the 1 kHz gain */
    double dev6k;      /* dB: largest |gain - gain(1 kHz)| up to 6 kHz */
    double image;      /* dB: largest non-tone output for tones up to p1 */
    double stop8;      /* dB: smallest rejection of tones >= 8 kHz */
    double stop85;     /* dB: smallest rejection of tones >= 8.5 kHz */
} Response;

static Response measure(int rate, int taps)
{
    Response r = {0, 0, 0, -300, 300, 300};
    ClvRateBridge *b = make(rate, taps, NULL);
    if (!b) {
        CHECK(0, "bridge %d Hz, %d taps not created", rate, taps);
        return r;
    }
    const long n = rate / 2;
    float *x = malloc(sizeof(float) * (size_t)n), *y = malloc(sizeof(float) * (size_t)n);
    const double g0 = tone(b, rate, 1000.0, x, y, n).gain_db;
    for (double f = 1000.0; f < 8000.0; f += 25.0) {
        const Tone t = tone(b, rate, f, x, y, n);
        const double d = t.gain_db - g0;
        if (r.p01 == 0 && d < -0.1) r.p01 = f;
        if (f <= 6000.0 && fabs(d) > r.dev6k) r.dev6k = fabs(d);
        if (r.p1 == 0 && t.resid_db > r.image) r.image = t.resid_db;
        if (d < -1.0) {
            r.p1 = f;
            break;
        }
    }
    for (double f = 8000.0; f < 0.5 * rate - 100.0; f += 50.0) {
        const Tone t = tone(b, rate, f, x, y, n);
        /* all output power counts: the tone (leak) and its aliases */
        const double out_db = 10.0 * log10(pow(10.0, t.gain_db / 10.0) * 1.0 +
                                           pow(10.0, t.resid_db / 10.0));
        if (-out_db < r.stop8) r.stop8 = -out_db;
        if (f >= 8500.0 && -out_db < r.stop85) r.stop85 = -out_db;
    }
    double dd, du;
    int align, prefill;
    clv_rate_bridge_describe(b, &dd, &du, &align, &prefill);
    printf("%d Hz, %3d taps: latency %d frames (%.2f ms; converters %.2f + %.2f), passband "
           "-0.1 dB at %.0f Hz, -1 dB at %.0f Hz, deviation to 6 kHz %.4f dB, images %.1f dB; stopband "
           "%.1f dB from 8 kHz, %.1f dB from 8.5 kHz\n",
           rate, taps ? taps : 32, clv_rate_bridge_latency(b),
           1000.0 * clv_rate_bridge_latency(b) / rate, dd, du, r.p01, r.p1, r.dev6k, r.image,
           r.stop8, r.stop85);
    free(x);
    free(y);
    clv_rate_bridge_free(b);
    return r;
}

/* The reported latency is the measured one: the output of a 1 kHz tone equals the
 * input delayed by exactly that many frames, and not by one more or less. */
static void check_latency(int rate, int taps)
{
    ClvRateBridge *b = make(rate, taps, NULL);
    if (!b) {
        CHECK(0, "bridge %d Hz, %d taps not created", rate, taps);
        return;
    }
    const long n = rate;
    float *x = malloc(sizeof(float) * (size_t)n), *y = malloc(sizeof(float) * (size_t)n);
    for (long i = 0; i < n; i++) x[i] = (float)(0.5 * sin(2.0 * M_PI * 1000.0 * i / rate));
    run(b, x, y, n);
    const int lat = clv_rate_bridge_latency(b);
    double snr[3];
    for (int k = -1; k <= 1; k++) {
        double e = 0, s = 0;
        for (long i = lat + rate / 20; i < n; i++) {
            const double ref = x[i - lat - k];
            e += (y[i] - ref) * (y[i] - ref);
            s += ref * ref;
        }
        snr[k + 1] = 10.0 * log10(s / (e + 1e-30));
    }
    printf("%d Hz, %3d taps: 1 kHz tone vs input delayed by the reported %d frames: %.1f dB "
           "(%.1f / %.1f dB one frame early / late); underruns %ld\n",
           rate, taps ? taps : 32, lat, snr[1], snr[0], snr[2], clv_rate_bridge_underruns(b));
    /* the bridge aligns the whole path to within 1/50 frame (clv_rate_bridge.c):
     * a 1 kHz tone off by that much matches its delayed input to
     * 20 log10(rate / (2 pi 1000 / 50)) dB, 50.9 dB at 44.1 kHz */
    const double bound = 20.0 * log10(rate / (2.0 * M_PI * 1000.0 * 0.02));
    CHECK(snr[1] > bound, "%d Hz %d taps: delayed input match %.1f dB (bound %.1f dB)", rate, taps,
          snr[1], bound);
    CHECK(snr[1] > snr[0] + 20.0 && snr[1] > snr[2] + 20.0,
          "%d Hz %d taps: the reported latency is not the best match", rate, taps);
    CHECK(clv_rate_bridge_underruns(b) == 0, "%d Hz %d taps: %ld underruns", rate, taps,
          clv_rate_bridge_underruns(b));
    free(x);
    free(y);
    clv_rate_bridge_free(b);
}

int main(void)
{
    /* bad lengths are refused with a message, not clamped */
    const int bad[] = {-1, 1, CLV_RATE_BRIDGE_TAPS_MIN - 1, CLV_RATE_BRIDGE_TAPS_MAX + 1, 100000};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ClvStatus st;
        ClvRateBridge *b = make(44100, bad[i], &st);
        CHECK(!b && st == CLV_ERR_INVALID, "taps %d accepted (status %d)", bad[i], (int)st);
        clv_rate_bridge_free(b);
    }

    /* 0 is the default length exactly */
    {
        const long n = 44100 / 4;
        float *x = malloc(sizeof(float) * (size_t)n), *y0 = malloc(sizeof(float) * (size_t)n),
              *y1 = malloc(sizeof(float) * (size_t)n);
        unsigned s = 1;
        for (long i = 0; i < n; i++) {
            s = s * 1664525u + 1013904223u;
            x[i] = (float)((double)(s >> 8) / (1 << 24) - 0.5);
        }
        ClvRateBridge *a = make(44100, 0, NULL), *b = make(44100, CLV_RATE_BRIDGE_TAPS_SHORT, NULL);
        CHECK(a && b, "default bridges not created");
        if (a && b) {
            run(a, x, y0, n);
            run(b, x, y1, n);
            CHECK(clv_rate_bridge_latency(a) == clv_rate_bridge_latency(b) &&
                      memcmp(y0, y1, sizeof(float) * (size_t)n) == 0,
                  "taps 0 and taps %d differ", CLV_RATE_BRIDGE_TAPS_SHORT);
        }
        clv_rate_bridge_free(a);
        clv_rate_bridge_free(b);
        free(x);
        free(y0);
        free(y1);
    }

    /* loads outside 0..4 are refused */
    const double bad_load[] = {-0.1, 4.5, NAN};
    for (size_t i = 0; i < sizeof bad_load / sizeof bad_load[0]; i++) {
        ClvStatus st;
        block_load = bad_load[i];
        ClvRateBridge *b = make(44100, 0, &st);
        block_load = 0.0;
        CHECK(!b && st == CLV_ERR_INVALID, "block load %g accepted (status %d)", bad_load[i],
              (int)st);
        clv_rate_bridge_free(b);
    }

    const int rates[] = {44100, 48000, 22050, 16000, 96000};
    /* headroom: a whole hop without a load; with one, the load times the measured
     * burst, and no hop of a long run brings more blocks than that burst */
    for (int i = 0; i < 5; i++) {
        const int rate = rates[i];
        ClvRateBridge *b0 = make(rate, 0, NULL);
        block_load = 0.25;
        ClvRateBridge *b = make(rate, 0, NULL);
        block_load = 0.0;
        CHECK(b0 && b, "%d Hz: bridges not created", rate);
        if (!b0 || !b) {
            clv_rate_bridge_free(b0);
            clv_rate_bridge_free(b);
            continue;
        }
        const int H = clv_rate_bridge_hop(b);
        CHECK(clv_rate_bridge_headroom(b0) == H, "%d Hz: headroom %d without a load, hop %d",
              rate, clv_rate_bridge_headroom(b0), H);
        const double per_block = 0.25 * BLOCK * rate / MODEL_RATE;
        const int head = clv_rate_bridge_headroom(b);
        const int burst = (int)lround(head / per_block);
        CHECK(burst >= 1 && head == (int)ceil(burst * per_block),
              "%d Hz: headroom %d is not a whole burst of %.2f-frame blocks", rate, head,
              per_block);
        float *tmp = calloc((size_t)H, sizeof(float)), *ob = calloc((size_t)H, sizeof(float));
        unsigned s = 7;
        int most = 0;
        clv_rate_bridge_reset(b);
        for (int k = 0; k < 4 * rate / H + 100; k++) {
            for (int j = 0; j < H; j++) {
                s = s * 1664525u + 1013904223u;
                tmp[j] = (float)((double)(s >> 8) / (1 << 24) - 0.5);
            }
            const float *in[1] = {tmp};
            float *out[1] = {ob};
            blocks_run = 0;
            clv_rate_bridge_process(b, in, out);
            if (blocks_run > most) most = blocks_run;
        }
        printf("headroom at %d Hz: hop %d, burst %d block(s), %d frames at load 0.25 "
               "(largest burst in 4 s: %d)\n",
               rate, H, burst, head, most);
        CHECK(most >= 1 && most <= burst, "%d Hz: a hop ran %d blocks, measured burst %d",
              rate, most, burst);
        free(tmp);
        free(ob);
        clv_rate_bridge_free(b0);
        clv_rate_bridge_free(b);
    }

    for (int i = 0; i < 2; i++) {
        const int rate = rates[i];
        const int taps[] = {0, CLV_RATE_BRIDGE_TAPS_LONG, CLV_RATE_BRIDGE_TAPS_WIDE};
        for (int t = 0; t < 3; t++) check_latency(rate, taps[t]);
        const Response s = measure(rate, 0);
        const Response l = measure(rate, CLV_RATE_BRIDGE_TAPS_LONG);
        const Response w = measure(rate, CLV_RATE_BRIDGE_TAPS_WIDE);
        /* the wide setting: flatter than the long one, the same stopband */
        CHECK(w.p01 > l.p01 + 100.0 && w.p1 < 8000.0, "%d Hz wide: -0.1 dB at %.0f Hz (long %.0f)",
              rate, w.p01, l.p01);
        CHECK(w.stop8 >= 80.0 && w.image <= -80.0, "%d Hz wide: stopband %.1f dB, images %.1f dB",
              rate, w.stop8, w.image);
        /* the default's documented figures (about 5.9 kHz flat, ~75 dB above 8.5 kHz) */
        CHECK(s.p01 >= 5500.0 && s.p01 <= 6500.0, "%d Hz default: -0.1 dB at %.0f Hz", rate,
              s.p01);
        CHECK(s.stop85 >= 70.0, "%d Hz default: stopband from 8.5 kHz %.1f dB", rate, s.stop85);
        CHECK(s.image <= -70.0, "%d Hz default: images %.1f dB", rate, s.image);
        /* the long setting: flat to 7.2 kHz or more, >= 80 dB from the model's Nyquist */
        CHECK(l.p01 >= 7200.0, "%d Hz long: -0.1 dB at %.0f Hz", rate, l.p01);
        CHECK(l.p1 > l.p01 && l.p1 < 8000.0, "%d Hz long: -1 dB at %.0f Hz", rate, l.p1);
        CHECK(l.dev6k <= 0.01, "%d Hz long: %.4f dB off flat below 6 kHz", rate, l.dev6k);
        CHECK(l.stop8 >= 80.0, "%d Hz long: stopband from 8 kHz %.1f dB", rate, l.stop8);
        CHECK(l.image <= -80.0, "%d Hz long: images %.1f dB", rate, l.image);
    }
    /* the quiet gate: a network that leaks a constant into silence gives exact zeros
     * before and after a tone, and its full output (leak included) wherever the
     * input it belongs to is sound */
    {
        const int rate = 44100;
        const long n = 3 * rate / 2, on = rate / 2, off = rate;
        float *x = calloc((size_t)n, sizeof(float)), *y = calloc((size_t)n, sizeof(float));
        for (long i = on; i < off; i++) x[i] = (float)(0.5 * sin(2.0 * M_PI * 440.0 * i / rate));
        ClvRateBridge *b = make(rate, 0, NULL);
        CHECK(b != NULL, "bridge not created");
        if (b) {
            leak = 0.01f;
            run(b, x, y, n);
            leak = 0.0f;
            const int lat = clv_rate_bridge_latency(b), H = clv_rate_bridge_hop(b);
            long before = 0, after = 0, gated_sound = 0;
            double dc = 0.0;
            for (long i = 0; i < on - H; i++) before += y[i] != 0.0f;
            for (long i = off + lat + 256 + 1; i < n; i++) after += y[i] != 0.0f;
            for (long i = on + lat; i < off + lat; i++) gated_sound += y[i] == 0.0f;
            for (long i = on + lat + 1000; i < off + lat - 1000; i++) dc += y[i] - x[i - lat];
            dc /= (double)(off - on - 2000);
            printf("quiet gate: %ld / %ld non-zero frames before the tone, %ld / %ld after it, "
                   "%ld zeroed frames of sound, leak in the tone %.4f\n",
                   before, on - H, after, n - (off + lat + 257), gated_sound, dc);
            CHECK(before == 0 && after == 0, "silence leaks through the gate (%ld, %ld frames)",
                  before, after);
            CHECK(gated_sound == 0, "the gate zeroed %ld frames of sound", gated_sound);
            CHECK(fabs(dc - 0.01) < 0.002, "the network's output is altered in sound (%.4f)", dc);
        }
        clv_rate_bridge_free(b);
        free(x);
        free(y);
    }
    if (failures) {
        fprintf(stderr, "%d failure(s)\n", failures);
        return 1;
    }
    printf("rate bridge: all checks passed\n");
    return 0;
}
