/* SPDX-License-Identifier: ISC */
/* The live core (host/clv_live_core.h) without an audio system:
 * - realtime safety: clv_live_core_process() makes no allocation, lock or file I/O
 *   (the trap of clv_rt_trap.c) while a control thread changes levels, bypass,
 *   separator, operating point and period, and frees what comes back;
 * - blocks of 0, 1, 7, 64, 256, 4096 and 10000 frames (above the engines' maximum,
 *   so processed in chunks): stems sum to the input delayed by the latency;
 * - a period change: the new engine warms up beside the old one, the output
 *   switches from the old latency to the new within one block, and never stops;
 * - freewheel: the offline engine's output equals an offline ClvEngine fed the same
 *   input (exact renders), and realtime resumes afterwards;
 * - reset flag, levels. */
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

#include "clv_engine.h"
#include "clv_live_core.h"
#include "clv_registry.h"
#include "clv_rt_trap.h"
#include "clv_test.h"

#define RATE 48000
#define TOTAL (RATE * 40)

static float *xin[2];   /* the whole input signal */
static float *yout[6];  /* mix L/R, vocals L/R, accomp L/R for every frame processed */
static long pos;        /* frames processed so far */

static void make_input(void)
{
    uint32_t s = 12345;
    for (int c = 0; c < 2; c++) xin[c] = calloc(TOTAL, sizeof(float));
    for (int i = 0; i < 6; i++) yout[i] = calloc(TOTAL, sizeof(float));
    for (long i = 0; i < TOTAL; i++) {
        s = s * 1664525u + 1013904223u;
        float n1 = (float)(s >> 8) / 16777216.0f - 0.5f;
        s = s * 1664525u + 1013904223u;
        float n2 = (float)(s >> 8) / 16777216.0f - 0.5f;
        float centre = 0.4f * sinf(2.0f * 3.14159265f * 440.0f * (float)i / RATE)
                       * (0.6f + 0.4f * sinf((float)i * 1e-4f));
        xin[0][i] = centre + 0.2f * n1;
        xin[1][i] = centre + 0.2f * n2;
    }
}

/* Runs one block through the core with the audio thread trapped. */
static void block(ClvLiveCore *core, int n, unsigned flags)
{
    if (pos + n > TOTAL) n = (int)(TOTAL - pos);
    const float *in[2] = {xin[0] + pos, xin[1] + pos};
    float *mix[2] = {yout[0] + pos, yout[1] + pos};
    float *voc[2] = {yout[2] + pos, yout[3] + pos};
    float *acc[2] = {yout[4] + pos, yout[5] + pos};
    clv_trap_enter();
    clv_live_core_process(core, in, mix, voc, acc, n, flags);
    clv_trap_leave();
    pos += n;
}

/* Largest |mix - input delayed by d| over output frames [a, b) (input before
 * `from` counts as silence: history cleared there). */
static float mix_err(long a, long b, int d, long from)
{
    float e = 0.0f;
    for (long t = a; t < b; t++)
        for (int c = 0; c < 2; c++) {
            float want = t - d >= from ? xin[c][t - d] : 0.0f;
            float got = yout[c][t];
            e = fmaxf(e, fabsf(got - want));
        }
    return e;
}

static float sum_err(long a, long b, int d, long from)
{
    float e = 0.0f;
    for (long t = a; t < b; t++)
        for (int c = 0; c < 2; c++) {
            float want = t - d >= from ? xin[c][t - d] : 0.0f;
            e = fmaxf(e, fabsf(yout[2 + c][t] + yout[4 + c][t] - want));
        }
    return e;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {0, ms * 1000000L};
    nanosleep(&ts, NULL);
}

/* ---- control thread for the realtime-safety run --------------------------- */

static atomic_int stop_control;
static atomic_int control_rounds;

static void *control_main(void *arg)
{
    ClvLiveCore *core = arg;
    int k = 0;
    while (!atomic_load(&stop_control)) {
        switch (k++ % 5) {
        case 0: clv_live_core_set_gains(core, (k & 8) ? 0.0f : 1.0f, 0.5f + 0.1f * (float)(k % 7)); break;
        case 1: clv_live_core_set_bypass(core, k & 2); break;
        case 2: clv_live_core_set_separator(core, "centre", (k & 4) ? CLV_OP_LOW_LATENCY : CLV_OP_QUALITY); break;
        case 3: clv_live_core_request_period(core, (k & 2) ? 512 : 256); break;
        case 4: clv_live_core_reset(core); break;
        }
        clv_live_core_poll(core);
        atomic_fetch_add(&control_rounds, 1);
        sleep_ms(15);
    }
    clv_live_core_poll(core);
    return NULL;
}

static void *poller_main(void *arg)
{
    ClvLiveCore *core = arg;
    while (!atomic_load(&stop_control)) {
        clv_live_core_poll(core);
        sleep_ms(2);
    }
    return NULL;
}

int main(void)
{
    void *volatile p;
    fprintf(stderr, "trap self-test, one report expected:\n");
    clv_trap_enter();
    p = malloc(16);
    clv_trap_leave();
    free(p);
    CHECK(clv_trap_count() == 1, "trap did not catch malloc (%ld)", clv_trap_count());
    const long base = clv_trap_count();
    make_input();

    ClvLiveConfig cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.sample_rate = RATE;
    cfg.period = 256;
    cfg.separator = "centre";
    cfg.op = CLV_OP_QUALITY;
    cfg.vocal_gain = 1.0f;
    cfg.accomp_gain = 1.0f;
    ClvLiveCore *core = NULL;
    CHECK(clv_live_core_new(&cfg, &core) == CLV_OK, "core");
    if (!core) TEST_DONE();

    /* bad configurations are refused */
    ClvLiveCore *bad = NULL;
    ClvLiveConfig bc = cfg;
    bc.period = 0;
    CHECK(clv_live_core_new(&bc, &bad) == CLV_ERR_INVALID && !bad, "period 0 accepted");
    bc = cfg;
    bc.separator = "no-such-separator";
    CHECK(clv_live_core_new(&bc, &bad) != CLV_OK && !bad, "unknown separator accepted");

    /* 1. block sizes; stems sum to the delayed input, mix equals it (gains 1) */
    const int d0 = clv_live_core_latency(core);
    CHECK(d0 > 256, "latency %d", d0);
    static const int sizes[] = {0, 1, 7, 64, 256, 4096, 10000, 256, 256};
    for (int r = 0; r < 20; r++)
        for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) block(core, sizes[i], 0);
    CHECK(mix_err(0, pos, d0, 0) < 1e-5f, "mix != delayed input: %g", mix_err(0, pos, d0, 0));
    CHECK(sum_err(0, pos, d0, 0) < 1e-5f, "stems do not sum: %g", sum_err(0, pos, d0, 0));
    CHECK(clv_live_core_poll(core) == 0, "events without changes");

    /* 2. period change: warm up beside, switch within one block, latency follows */
    clv_live_core_request_period(core, 1024);
    unsigned ev = clv_live_core_poll(core);
    CHECK(ev & CLV_LIVE_EV_PERIOD, "no period event (%u)", ev);
    CHECK(clv_live_core_latency(core) == d0, "latency changed before the switch");
    const long t_req = pos;
    long t_switch = -1;
    for (int i = 0; i < 200; i++) {
        const long before = pos;
        block(core, 1024, 0);
        if (t_switch < 0 && clv_live_core_latency(core) != d0) t_switch = before;
    }
    const int d1 = clv_live_core_latency(core);
    CHECK(d1 == d0 + 1024 - 256, "latency %d after the period change (was %d)", d1, d0);
    CHECK(t_switch > t_req, "no switch");
    CHECK(t_switch - t_req <= 4 * (long)d1 + 1024, "switch took %ld frames", t_switch - t_req);
    ev = clv_live_core_poll(core);
    CHECK(ev & CLV_LIVE_EV_LATENCY, "no latency event (%u)", ev);
    CHECK(mix_err(t_req, t_switch, d0, 0) < 1e-5f, "old engine's output broke during warm-up");
    CHECK(mix_err(t_switch + 1024, pos, d1, 0) < 1e-5f, "new engine's output wrong: %g",
          mix_err(t_switch + 1024, pos, d1, 0));
    /* the crossfade block carries signal: no gap */
    double energy = 0.0;
    for (long t = t_switch; t < t_switch + 1024; t++) energy += (double)yout[0][t] * yout[0][t];
    CHECK(energy > 1.0, "silence at the switch (energy %g)", energy);

    /* 3. reset flag: history cleared at this block */
    const long t_reset = pos;
    for (int i = 0; i < 20; i++) block(core, 1024, i == 0 ? CLV_LIVE_RESET : 0);
    CHECK(mix_err(t_reset, pos, d1, t_reset) < 1e-5f, "reset: output not from silence: %g",
          mix_err(t_reset, pos, d1, t_reset));
    ClvLiveStats st;
    clv_live_core_get_stats(core, &st);
    CHECK(st.resets == 1, "resets %llu", (unsigned long long)st.resets);
    CHECK(st.frames == (uint64_t)pos, "frames %llu != %ld", (unsigned long long)st.frames, pos);
    CHECK(st.period == 1024 && st.latency == d1, "stats period %d latency %d", st.period, st.latency);

    /* 4. levels: vocals off -> mix equals the accompaniment (after smoothing) */
    clv_live_core_set_gains(core, 0.0f, 1.0f);
    const long t_gain = pos;
    for (int i = 0; i < 30; i++) block(core, 1024, 0);
    float ge = 0.0f;
    for (long t = t_gain + RATE / 5; t < pos; t++) ge = fmaxf(ge, fabsf(yout[0][t] - yout[4][t]));
    CHECK(ge < 1e-5f, "vocals off: mix != accomp (%g)", ge);
    clv_live_core_set_gains(core, 1.0f, 1.0f);

    /* 5. freewheel: exact, like an offline engine fed the same input */
    pthread_t poller;
    atomic_store(&stop_control, 0);
    pthread_create(&poller, NULL, poller_main, core);
    clv_live_core_set_freewheel(core, 1);
    const long t_fw = pos;
    for (int i = 0; i < 100; i++) {
        /* in freewheel the audio thread may wait; only realtime blocks are trapped */
        const float *in[2] = {xin[0] + pos, xin[1] + pos};
        float *mix[2] = {yout[0] + pos, yout[1] + pos};
        float *voc[2] = {yout[2] + pos, yout[3] + pos};
        float *acc[2] = {yout[4] + pos, yout[5] + pos};
        clv_live_core_process(core, in, mix, voc, acc, 1024, 0);
        pos += 1024;
    }
    clv_live_core_get_stats(core, &st);
    CHECK(st.freewheel == 1, "not freewheeling");
    ClvSeparator *sep = NULL;
    CHECK(clv_separator_create("centre", RATE, 2, CLV_OP_QUALITY, NULL, &sep) == CLV_OK, "sep");
    ClvEngineConfig ec = {.sample_rate = RATE, .channels = 2, .max_block = 1024, .slack = 1024,
                          .mode = CLV_ENGINE_OFFLINE};
    ClvEngine *off = NULL;
    CHECK(clv_engine_new(&ec, sep, &off) == CLV_OK, "offline engine");
    float *ref[2] = {calloc(1024, sizeof(float)), calloc(1024, sizeof(float))};
    float verr = 0.0f;
    for (long t = t_fw; t < pos; t += 1024) {
        const float *in[2] = {xin[0] + t, xin[1] + t};
        clv_engine_process(off, in, ref, NULL, NULL, 1024);
        for (int c = 0; c < 2; c++)
            for (int j = 0; j < 1024; j++) verr = fmaxf(verr, fabsf(ref[c][j] - yout[2 + c][t + j]));
    }
    CHECK(clv_engine_latency(off) == d1, "offline latency %d != %d", clv_engine_latency(off), d1);
    CHECK(verr < 1e-6f, "freewheel vocals differ from an offline engine: %g", verr);
    clv_engine_free(off);
    free(ref[0]);
    free(ref[1]);
    CHECK(mix_err(t_fw, pos, d1, t_fw) < 1e-5f, "freewheel mix");
    clv_live_core_set_freewheel(core, 0);
    const long t_rt = pos;
    for (int i = 0; i < 50; i++) block(core, 1024, 0);
    clv_live_core_get_stats(core, &st);
    CHECK(st.freewheel == 0, "still freewheeling");
    CHECK(clv_live_core_latency(core) == d1, "latency after freewheel %d", clv_live_core_latency(core));
    /* the vocal level set just before freewheel is still smoothing towards 1 */
    CHECK(sum_err(t_rt, pos, d1, t_rt) < 1e-5f, "after freewheel: %g", sum_err(t_rt, pos, d1, t_rt));
    CHECK(mix_err(t_rt + RATE / 5, pos, d1, t_rt) < 1e-5f, "after freewheel: %g",
          mix_err(t_rt + RATE / 5, pos, d1, t_rt));
    atomic_store(&stop_control, 1);
    pthread_join(poller, NULL);
    CHECK(clv_trap_count() == base, "the audio thread called forbidden functions (%ld)",
          clv_trap_count() - base);

    /* 6. sample-rate change: a new engine at once (no warm-up: the old stream is
     * at another rate), the latency follows the rate */
    clv_live_core_request_rate(core, 44100);
    ev = clv_live_core_poll(core);
    CHECK(ev & CLV_LIVE_EV_RATE, "no rate event (%u)", ev);
    block(core, 1024, 0);
    clv_live_core_get_stats(core, &st);
    CHECK(st.sample_rate == 44100, "rate %d", st.sample_rate);
    const int d2 = clv_live_core_latency(core);
    ClvSeparator *s441 = NULL;
    CHECK(clv_separator_create("centre", 44100, 2, CLV_OP_QUALITY, NULL, &s441) == CLV_OK, "sep");
    if (s441) {
        CHECK(d2 == s441->latency + s441->hop + 1024, "latency at 44.1 kHz %d, want %d", d2,
              s441->latency + s441->hop + 1024);
        CHECK(s441->sample_rate == 44100, "separator rate");
        clv_separator_free(s441);
    }
    const long t_rate = pos;
    for (int i = 0; i < 30; i++) block(core, 1024, 0);
    CHECK(mix_err(t_rate, pos, d2, t_rate - 1024) < 1e-5f, "after the rate change: %g",
          mix_err(t_rate, pos, d2, t_rate - 1024));
    clv_live_core_request_rate(core, 1000); /* out of range: ignored */
    clv_live_core_poll(core);
    clv_live_core_get_stats(core, &st);
    CHECK(st.sample_rate == 44100, "bad rate accepted");
    clv_live_core_request_rate(core, RATE);
    clv_live_core_poll(core);

    /* 7. everything at once from a control thread, realtime paced loosely */
    atomic_store(&stop_control, 0);
    pthread_t ctl;
    pthread_create(&ctl, NULL, control_main, core);
    static const int sz2[] = {256, 1, 7, 64, 256, 4096, 0, 512};
    while (atomic_load(&control_rounds) < 60) {
        if (pos > TOTAL - 20000) pos = TOTAL / 2; /* no checks on this output: wrap */
        for (size_t i = 0; i < sizeof sz2 / sizeof sz2[0]; i++) block(core, sz2[i], 0);
        sleep_ms(1);
    }
    atomic_store(&stop_control, 1);
    pthread_join(ctl, NULL);
    CHECK(atomic_load(&control_rounds) >= 60, "control thread made %d rounds",
          atomic_load(&control_rounds));
    CHECK(clv_trap_count() == base, "the audio thread called forbidden functions (%ld)",
          clv_trap_count() - base);
    clv_live_core_get_stats(core, &st);
    fprintf(stderr, "frames %llu, misses %llu, dropped %llu, dsp mean %.3f peak %.3f\n",
            (unsigned long long)st.frames, (unsigned long long)st.misses,
            (unsigned long long)st.dropped, st.dsp_mean, st.dsp_peak);
    clv_live_core_free(core);

    /* 8. with the tagger fed from the audio thread (when its model ships) */
    char tpath[4096];
    ClvTagRunner *tags = NULL;
    if (clv_tagger_find_default(tpath, sizeof tpath) == CLV_OK
        && clv_tag_runner_new(tpath, RATE, 4.0, NULL, &tags) == CLV_OK) {
        cfg.tagger = tags;
        CHECK(clv_live_core_new(&cfg, &core) == CLV_OK, "core with tagger");
        pos = 0;
        for (int i = 0; i < 3 * RATE / 256; i++) block(core, 256, 0);
        CHECK(clv_trap_count() == base, "tagger feed: forbidden calls on the audio thread (%ld)",
              clv_trap_count() - base);
        clv_tag_runner_drain(tags);
        ClvTagStep step;
        int steps = 0;
        while (clv_tag_runner_poll_step(tags, &step)) steps++;
        clv_live_core_get_stats(core, &st);
        CHECK(steps >= 4 || st.tag_dropped > 0, "tagger ran %d steps over 3 s", steps);
        fprintf(stderr, "tagger: %d steps, %llu samples dropped\n", steps,
                (unsigned long long)st.tag_dropped);
        clv_live_core_free(core);
        clv_tag_runner_free(tags);
    } else {
        fprintf(stderr, "no tagger model: tagging part skipped\n");
    }
    for (int c = 0; c < 2; c++) free(xin[c]);
    for (int i = 0; i < 6; i++) free(yout[i]);
    TEST_DONE();
}
