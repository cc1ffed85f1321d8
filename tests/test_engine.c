/* SPDX-License-Identifier: ISC */
/* Engine: block-size invariance, reported latency equals measured latency, stems sum
 * to the input for every separator and under the late-worker fallback, realtime mode
 * without misses equals offline mode, gains/bypass on the mix, NaN input, reset and
 * separator swaps. */
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "clv_azimuth.h"
#include "clv_engine.h"
#include "clv_test.h"
#include "test_sep_util.h"

typedef struct {
    int channels, frames;
    float *x[2], *v[2], *a[2], *m[2];
} Run;

static void run_alloc(Run *r, int channels, int frames)
{
    memset(r, 0, sizeof *r);
    r->channels = channels;
    r->frames = frames;
    for (int c = 0; c < channels; c++) {
        r->x[c] = calloc((size_t)frames, sizeof(float));
        r->v[c] = calloc((size_t)frames, sizeof(float));
        r->a[c] = calloc((size_t)frames, sizeof(float));
        r->m[c] = calloc((size_t)frames, sizeof(float));
    }
}
static void run_free(Run *r)
{
    for (int c = 0; c < 2; c++) {
        free(r->x[c]);
        free(r->v[c]);
        free(r->a[c]);
        free(r->m[c]);
    }
}

/* A stereo test signal: a centre-panned harmonic "voice", wide noise, a left-panned tone. */
static void make_signal(Run *r, int rate)
{
    unsigned s1 = 1u, s2 = 7u;
    for (int i = 0; i < r->frames; i++) {
        double t = (double)i / rate;
        double voice = 0.0;
        for (int h = 1; h <= 8; h++) voice += 0.2 / h * sin(2 * M_PI * 220.0 * h * t * (1.0 + 0.01 * sin(2 * M_PI * 5 * t)));
        s1 = s1 * 1664525u + 1013904223u;
        s2 = s2 * 1664525u + 1013904223u;
        double nl = ((s1 >> 8) / 16777216.0 - 0.5) * 0.3, nr = ((s2 >> 8) / 16777216.0 - 0.5) * 0.3;
        double tone = 0.2 * sin(2 * M_PI * 660.0 * t);
        r->x[0][i] = (float)(voice + nl + tone);
        if (r->channels == 2) r->x[1][i] = (float)(voice + nr + 0.2 * tone);
        else r->x[0][i] = (float)(voice + nl);
    }
}

/* Feeds r->x through the engine in blocks of `block`; in realtime mode with
 * `wait_worker`, waits after each block until the worker has caught up (a fast
 * worker, so no misses). */
static void run_engine(ClvEngine *e, Run *r, int block, int wait_worker /* 0 or the hop */)
{
    for (int i = 0; i < r->frames; i += block) {
        int n = r->frames - i < block ? r->frames - i : block;
        const float *in[2] = {r->x[0] + i, r->channels == 2 ? r->x[1] + i : NULL};
        float *v[2] = {r->v[0] + i, r->channels == 2 ? r->v[1] + i : NULL};
        float *a[2] = {r->a[0] + i, r->channels == 2 ? r->a[1] + i : NULL};
        float *m[2] = {r->m[0] + i, r->channels == 2 ? r->m[1] + i : NULL};
        clv_engine_process(e, in, v, a, m, n);
        if (wait_worker) {
            ClvEngineStats st;
            for (;;) {
                clv_engine_get_stats(e, &st);
                /* hops pushed so far = frames / hop; wait until all are done */
                if (st.hops_done >= (uint64_t)((i + n) / wait_worker)) break;
                struct timespec ts = {0, 20000};
                nanosleep(&ts, NULL);
            }
        }
    }
}

static ClvEngine *engine(int rate, int channels, int max_block, ClvEngineMode mode, ClvSeparator *sep)
{
    ClvEngineConfig cfg = {.sample_rate = rate, .channels = channels, .max_block = max_block, .mode = mode};
    ClvEngine *e = NULL;
    ClvStatus st = clv_engine_new(&cfg, sep, &e);
    CHECK(st == CLV_OK, "engine_new: %s", clv_strerror(st));
    return e;
}

/* max |v + a - x(t - D)| */
static double sum_error(const Run *r, int D)
{
    double err = 0.0;
    for (int c = 0; c < r->channels; c++)
        for (int i = 0; i < r->frames; i++) {
            double x = i >= D ? r->x[c][i - D] : 0.0;
            double d = fabs((double)r->v[c][i] + r->a[c][i] - x);
            if (d > err) err = d;
        }
    return err;
}

static ClvSeparator *centre(int rate, int channels)
{
    ClvSeparator *s = NULL;
    CHECK(clv_azimuth_new(rate, channels, NULL, &s) == CLV_OK, "azimuth_new");
    return s;
}

static void test_block_invariance(void)
{
    const int rate = 44100, frames = rate * 2;
    static const int blocks[] = {1, 7, 64, 4096};
    Run ref;
    run_alloc(&ref, 2, frames);
    make_signal(&ref, rate);
    ClvEngine *e = engine(rate, 2, 4096, CLV_ENGINE_OFFLINE, centre(rate, 2));
    run_engine(e, &ref, 4096, 0);
    const int D = clv_engine_latency(e);
    clv_engine_free(e);
    double se = sum_error(&ref, D);
    CHECK(se < 1e-6, "offline stems do not sum to the input: %g", se);
    double vpow = 0;
    for (int i = D; i < frames; i++) vpow += ref.v[0][i] * ref.v[0][i];
    CHECK(vpow > 1.0, "vocal stem is (near) silent: %g", vpow);
    for (size_t b = 0; b < sizeof blocks / sizeof blocks[0]; b++) {
        Run r;
        run_alloc(&r, 2, frames);
        memcpy(r.x[0], ref.x[0], sizeof(float) * frames);
        memcpy(r.x[1], ref.x[1], sizeof(float) * frames);
        e = engine(rate, 2, 4096, CLV_ENGINE_OFFLINE, centre(rate, 2));
        run_engine(e, &r, blocks[b], 0);
        clv_engine_free(e);
        int same = 1;
        for (int c = 0; c < 2; c++)
            same &= !memcmp(r.v[c], ref.v[c], sizeof(float) * frames)
                    && !memcmp(r.a[c], ref.a[c], sizeof(float) * frames)
                    && !memcmp(r.m[c], ref.m[c], sizeof(float) * frames);
        CHECK(same, "block size %d changes the output", blocks[b]);
        run_free(&r);
    }
    /* realtime mode, worker always on time: identical to offline */
    Run r;
    run_alloc(&r, 2, frames);
    memcpy(r.x[0], ref.x[0], sizeof(float) * frames);
    memcpy(r.x[1], ref.x[1], sizeof(float) * frames);
    e = engine(rate, 2, 4096, CLV_ENGINE_REALTIME, centre(rate, 2));
    run_engine(e, &r, 256, 512); /* centre hop at 44.1 kHz */
    ClvEngineStats st;
    clv_engine_get_stats(e, &st);
    clv_engine_free(e);
    CHECK(st.misses == 0, "realtime run with a waiting driver missed %llu hops", (unsigned long long)st.misses);
    int same = 1;
    for (int c = 0; c < 2; c++)
        same &= !memcmp(r.v[c], ref.v[c], sizeof(float) * frames) && !memcmp(r.a[c], ref.a[c], sizeof(float) * frames);
    CHECK(same, "realtime mode without misses differs from offline mode");
    run_free(&r);
    run_free(&ref);
}

static int peak_index(const float *x, int n)
{
    int p = 0;
    for (int i = 1; i < n; i++)
        if (fabsf(x[i]) > fabsf(x[p])) p = i;
    return p;
}

static void test_latency(void)
{
    struct { int rate, channels, hop, lat, max_block, slack; } cases[] = {
        {48000, 2, 100, 37, 64, 0}, {44100, 1, 256, 768, 512, 0}, {8000, 1, 1, 0, 1, 0}, {96000, 2, 480, 1000, 256, 1024}};
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        const int frames = 20000, t0 = 1234;
        Run r;
        run_alloc(&r, cases[k].channels, frames);
        for (int c = 0; c < cases[k].channels; c++) r.x[c][t0] = 1.0f;
        ClvEngineConfig cfg = {.sample_rate = cases[k].rate, .channels = cases[k].channels,
                               .max_block = cases[k].max_block, .slack = cases[k].slack,
                               .mode = CLV_ENGINE_OFFLINE};
        ClvEngine *e = NULL;
        CHECK(clv_engine_new(&cfg, delay_sep_new(cases[k].rate, cases[k].channels, cases[k].hop, cases[k].lat, 0.5f), &e) == CLV_OK, "new");
        run_engine(e, &r, cases[k].max_block, 0);
        const int D = clv_engine_latency(e);
        const int slack = cases[k].slack ? cases[k].slack : cases[k].max_block;
        CHECK(D == cases[k].lat + cases[k].hop + slack, "latency %d", D);
        clv_engine_free(e);
        for (int c = 0; c < cases[k].channels; c++) {
            int pv = peak_index(r.v[c], frames), pa = peak_index(r.a[c], frames);
            CHECK(pv - t0 == D, "case %zu: vocal impulse after %d frames, reported latency %d", k, pv - t0, D);
            CHECK(pa - t0 == D, "case %zu: accompaniment impulse after %d frames, reported %d", k, pa - t0, D);
            CHECK(fabsf(r.v[c][pv] - 0.5f) < 1e-6f && fabsf(r.a[c][pa] - 0.5f) < 1e-6f, "impulse split 0.5/0.5");
        }
        CHECK(sum_error(&r, D) < 1e-7, "delay separator: stems do not sum");
        run_free(&r);
    }
    /* the centre separator: a centre impulse comes out of the vocal stem at the latency */
    static const int rates[] = {8000, 16000, 44100, 48000, 96000, 192000};
    for (size_t k = 0; k < sizeof rates / sizeof rates[0]; k++) {
        for (int ll = 0; ll < 2; ll++) {
            const int rate = rates[k], frames = rate, t0 = rate / 4;
            Run r;
            run_alloc(&r, 2, frames);
            r.x[0][t0] = r.x[1][t0] = 1.0f;
            ClvAzimuthParams p = clv_azimuth_default_params();
            p.low_latency = ll;
            ClvSeparator *s;
            CHECK(clv_azimuth_new(rate, 2, &p, &s) == CLV_OK, "azimuth");
            ClvEngine *e = engine(rate, 2, 256, CLV_ENGINE_OFFLINE, s);
            run_engine(e, &r, 256, 0);
            const int D = clv_engine_latency(e);
            clv_engine_free(e);
            int pv = peak_index(r.v[0], frames);
            CHECK(pv - t0 == D, "centre at %d Hz (ll %d): impulse after %d, reported %d", rate, ll, pv - t0, D);
            CHECK(sum_error(&r, D) < 1e-6, "centre at %d Hz: stems do not sum", rate);
            if (rate == 44100) printf("centre at 44.1 kHz, %s: engine latency %d frames (%.1f ms)\n", ll ? "low-latency" : "quality", D, 1000.0 * D / rate);
            run_free(&r);
        }
    }
}

static void test_separation_sanity(void)
{
    /* centre voice + wide noise: vocal stem is closer to the voice than the mix is */
    const int rate = 44100, frames = rate * 3;
    Run r;
    run_alloc(&r, 2, frames);
    make_signal(&r, rate);
    float *voice = calloc(frames, sizeof(float));
    for (int i = 0; i < frames; i++) {
        double t = (double)i / rate, v = 0;
        for (int h = 1; h <= 8; h++) v += 0.2 / h * sin(2 * M_PI * 220.0 * h * t * (1.0 + 0.01 * sin(2 * M_PI * 5 * t)));
        voice[i] = (float)v;
    }
    ClvEngine *e = engine(rate, 2, 512, CLV_ENGINE_OFFLINE, centre(rate, 2));
    run_engine(e, &r, 512, 0);
    const int D = clv_engine_latency(e);
    clv_engine_free(e);
    double ev = 0, em = 0, p = 0;
    for (int i = rate / 2 + D; i < frames; i++) {
        double s = voice[i - D];
        p += s * s;
        ev += (r.v[0][i] - s) * (r.v[0][i] - s);
        em += (r.x[0][i - D] - s) * (r.x[0][i - D] - s);
    }
    double sdr_v = 10 * log10(p / ev), sdr_m = 10 * log10(p / em);
    printf("synthetic centre voice: SDR mixture %.2f dB, vocal stem %.2f dB\n", sdr_m, sdr_v);
    CHECK(sdr_v > sdr_m + 3.0, "centre separator does not improve SDR: %.2f vs %.2f", sdr_v, sdr_m);
    free(voice);
    run_free(&r);
}

static void test_fallback(void)
{
    /* a worker that sleeps 30 ms every 20th hop (5.8 ms of audio per hop): misses */
    const int rate = 44100, frames = rate * 2, block = 64;
    Run r;
    run_alloc(&r, 2, frames);
    make_signal(&r, rate);
    ClvSeparator *s = delay_sep_new(rate, 2, 256, 256, 1.0f);
    ((DelaySep *)s)->slow_every = 20;
    ((DelaySep *)s)->slow_ms = 30;
    ClvEngine *e = engine(rate, 2, block, CLV_ENGINE_REALTIME, s);
    const double block_s = (double)block / rate;
    struct timespec next;
    clock_gettime(CLOCK_MONOTONIC, &next);
    for (int i = 0; i < frames; i += block) {
        const float *in[2] = {r.x[0] + i, r.x[1] + i};
        float *v[2] = {r.v[0] + i, r.v[1] + i}, *a[2] = {r.a[0] + i, r.a[1] + i};
        clv_engine_process(e, in, v, a, NULL, frames - i < block ? frames - i : block);
        next.tv_nsec += (long)(block_s * 1e9);
        while (next.tv_nsec >= 1000000000L) {
            next.tv_nsec -= 1000000000L;
            next.tv_sec++;
        }
        clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL);
    }
    ClvEngineStats st;
    clv_engine_get_stats(e, &st);
    const int D = clv_engine_latency(e);
    clv_engine_free(e);
    printf("slow worker: %llu misses of %llu hops\n", (unsigned long long)st.misses, (unsigned long long)st.hops_done);
    CHECK(st.misses > 0, "a worker sleeping 30 ms per 20 hops caused no misses");
    CHECK(sum_error(&r, D) < 1e-6, "stems do not sum under fallback: %g", sum_error(&r, D));
    /* during a miss vocals are silent and accompaniment carries the dry input */
    int silent = 0, full = 0;
    for (int i = D + 2048; i < frames; i++) {
        if (r.v[0][i] == 0.0f && r.x[0][i - D] != 0.0f) silent++;
        if (fabsf(r.v[0][i] - r.x[0][i - D]) < 1e-6f) full++;
    }
    CHECK(silent > 0, "no silent vocal frames during misses");
    CHECK(full > frames / 4, "separation did not come back after misses (%d frames)", full);
    run_free(&r);
}

static void test_controls(void)
{
    const int rate = 48000, frames = rate;
    Run r;
    run_alloc(&r, 2, frames);
    make_signal(&r, rate);
    r.x[0][1000] = NAN;
    r.x[1][2000] = INFINITY;
    ClvEngine *e = engine(rate, 2, 128, CLV_ENGINE_OFFLINE, delay_sep_new(rate, 2, 128, 64, 0.25f));
    clv_engine_set_gains(e, NAN, 1e9f); /* clamped: 0 and 16 */
    clv_engine_set_gains(e, 0.5f, 2.0f);
    run_engine(e, &r, 128, 0);
    const int D = clv_engine_latency(e);
    int finite = 1;
    for (int c = 0; c < 2; c++)
        for (int i = 0; i < frames; i++) finite &= isfinite(r.v[c][i]) && isfinite(r.a[c][i]) && isfinite(r.m[c][i]);
    CHECK(finite, "NaN/Inf input leaked into the output");
    double err = 0;
    for (int i = frames / 2; i < frames; i++) {
        double want = 0.5 * r.v[0][i] + 2.0 * r.a[0][i];
        if (fabs(r.m[0][i] - want) > err) err = fabs(r.m[0][i] - want);
    }
    CHECK(err < 1e-5, "mix is not 0.5 v + 2 a after smoothing: %g", err);
    /* bypass: mix becomes the delayed input, with a crossfade (no jump) */
    clv_engine_set_bypass(e, 1);
    Run b;
    run_alloc(&b, 2, frames);
    memcpy(b.x[0], r.x[0], sizeof(float) * frames);
    memcpy(b.x[1], r.x[1], sizeof(float) * frames);
    run_engine(e, &b, 128, 0);
    double maxstep = 0;
    for (int i = 1; i < 4096; i++) maxstep = fmax(maxstep, fabs(b.m[0][i] - b.m[0][i - 1]));
    err = 0;
    for (int i = frames / 2; i < frames; i++) err = fmax(err, fabs(b.m[0][i] - b.x[0][i - D]));
    CHECK(err < 1e-6, "bypassed mix is not the delayed input: %g", err);
    CHECK(maxstep < 0.5, "bypass switch jumps by %g", maxstep);
    /* reset: history forgotten, output starts again from silence */
    clv_engine_reset(e);
    Run z;
    run_alloc(&z, 2, 4096);
    run_engine(e, &z, 128, 0);
    double mx = 0;
    for (int i = 0; i < 4096; i++) mx = fmax(mx, fabs(z.m[0][i]) + fabs(z.v[0][i]) + fabs(z.a[0][i]));
    CHECK(mx == 0.0, "after reset, silent input gives output %g", mx);
    clv_engine_free(e);
    run_free(&z);
    run_free(&b);
    run_free(&r);
}

static void test_swap(void)
{
    const int rate = 44100, frames = 256 * 344;
    Run r;
    run_alloc(&r, 2, frames);
    make_signal(&r, rate);
    ClvEngine *e = engine(rate, 2, 256, CLV_ENGINE_OFFLINE, delay_sep_new(rate, 2, 128, 64, 1.0f));
    const int D1 = clv_engine_latency(e);
    int swapped_at = -1;
    for (int i = 0; i < frames; i += 256) {
        if (i == frames / 2) {
            CHECK(clv_engine_set_separator(e, centre(rate, 2)) == CLV_OK, "swap");
            swapped_at = i;
        }
        const float *in[2] = {r.x[0] + i, r.x[1] + i};
        float *v[2] = {r.v[0] + i, r.v[1] + i}, *a[2] = {r.a[0] + i, r.a[1] + i};
        clv_engine_process(e, in, v, a, NULL, 256);
        clv_engine_collect(e);
    }
    const int D2 = clv_engine_latency(e);
    CHECK(D2 != D1, "latency did not change with the separator");
    CHECK(strcmp(clv_engine_separator_name(e), "centre") == 0, "name after swap: %s", clv_engine_separator_name(e));
    double err = 0;
    for (int c = 0; c < 2; c++)
        for (int i = 0; i < frames; i++) {
            int D = i < swapped_at ? D1 : D2;
            double x = i >= D ? r.x[c][i - D] : 0.0;
            err = fmax(err, fabs(r.v[c][i] + r.a[c][i] - x));
        }
    CHECK(err < 1e-6, "stems do not sum across a swap: %g", err);
    /* mismatched separator is refused */
    CHECK(clv_engine_set_separator(e, delay_sep_new(22050, 2, 128, 0, 1.0f)) == CLV_ERR_INVALID, "rate mismatch accepted");
    clv_engine_free(e);
    clv_engine_free(NULL);
    run_free(&r);
}

int main(void)
{
    ClvEngineConfig bad = {.sample_rate = 4000, .channels = 2, .max_block = 64};
    ClvEngine *e;
    CHECK(clv_engine_new(&bad, NULL, &e) == CLV_ERR_INVALID, "4 kHz accepted");
    test_block_invariance();
    test_latency();
    test_separation_sanity();
    test_fallback();
    test_controls();
    test_swap();
    TEST_DONE();
}
