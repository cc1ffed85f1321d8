/* SPDX-License-Identifier: ISC */
/* Realtime safety: the engine's audio-thread calls (process at block sizes 0, 1, 7,
 * 64, 256 and 4096, gains, bypass, reset, stats, latency) make no allocation, lock
 * or file I/O, in realtime mode, while a control thread swaps separators and
 * collects the old ones. The trap is shown to work first. */
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

#include "clv_azimuth.h"
#include "clv_engine.h"
#include "clv_rt_trap.h"
#include "clv_test.h"

static atomic_int stop;

static void *control(void *arg)
{
    ClvEngine *e = arg;
    int ll = 0;
    while (!atomic_load(&stop)) {
        ClvAzimuthParams p = clv_azimuth_default_params();
        p.low_latency = ll ^= 1;
        ClvSeparator *s;
        if (clv_azimuth_new(48000, 2, &p, &s) == CLV_OK) clv_engine_set_separator(e, s);
        struct timespec ts = {0, 50 * 1000000L};
        nanosleep(&ts, NULL);
        clv_engine_collect(e);
    }
    return NULL;
}

int main(void)
{
    /* the trap itself works */
    void *volatile p;
    fprintf(stderr, "trap self-test, one report expected:\n");
    clv_trap_enter();
    p = malloc(16);
    clv_trap_leave();
    free(p);
    CHECK(clv_trap_count() == 1, "trap did not catch malloc (%ld)", clv_trap_count());
    const long base = clv_trap_count();

    const int rate = 48000, maxb = 4096;
    ClvEngineConfig cfg = {.sample_rate = rate, .channels = 2, .max_block = maxb, .slack = 512, .mode = CLV_ENGINE_REALTIME};
    ClvSeparator *s;
    CHECK(clv_azimuth_new(rate, 2, NULL, &s) == CLV_OK, "azimuth");
    ClvEngine *e;
    CHECK(clv_engine_new(&cfg, s, &e) == CLV_OK, "engine");
    float *buf[8];
    for (int i = 0; i < 8; i++) buf[i] = calloc(maxb, sizeof(float));
    for (int i = 0; i < maxb; i++) buf[0][i] = buf[1][i] = sinf(0.05f * i);
    pthread_t th;
    pthread_create(&th, NULL, control, e);
    static const int sizes[] = {0, 1, 7, 64, 256, 4096};
    long frames = 0;
    ClvEngineStats st;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int round = 0; frames < rate * 4; round++) {
        const int n = sizes[round % 6];
        const float *in[2] = {buf[0], buf[1]};
        float *v[2] = {buf[2], buf[3]}, *a[2] = {buf[4], buf[5]}, *m[2] = {buf[6], buf[7]};
        clv_trap_enter();
        clv_engine_set_gains(e, (float)(round % 3), 1.0f);
        clv_engine_set_bypass(e, round % 50 == 0);
        if (round % 97 == 0) clv_engine_reset(e);
        clv_engine_process(e, in, v, a, m, n);
        clv_engine_get_stats(e, &st);
        (void)clv_engine_latency(e);
        clv_trap_leave();
        frames += n;
        if (n >= 256) {
            struct timespec ts = {0, (long)(1e9 * n / rate / 4)};
            nanosleep(&ts, NULL);
        }
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    atomic_store(&stop, 1);
    pthread_join(th, NULL);
    printf("%ld frames through the engine with separator swaps; %llu hops, %llu misses\n", frames,
           (unsigned long long)st.hops_done, (unsigned long long)st.misses);
    CHECK(clv_trap_count() == base, "%ld forbidden calls on the audio thread", clv_trap_count() - base);
    CHECK(st.hops_done > 0, "worker did nothing");
    clv_engine_free(e);
    for (int i = 0; i < 8; i++) free(buf[i]);
    TEST_DONE();
}
