/* SPDX-License-Identifier: ISC */
/* Engine benchmark (prints figures; asserts nothing about speed):
 *  - real-time factor of the whole engine with each built-in separator at 44.1 kHz
 *    stereo, offline mode (CPU seconds per second of audio, all threads),
 *  - audio-thread time per block for 64- and 256-frame blocks in realtime mode,
 *    paced at real time: median, 99th percentile, maximum, and misses.
 * Usage: bench_engine [separator ...]   (default: centre) */
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clv_engine.h"
#include "clv_registry.h"

static double now(clockid_t c)
{
    struct timespec ts;
    clock_gettime(c, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void signal_fill(float *l, float *r, int n, unsigned *seed, long t0)
{
    for (int i = 0; i < n; i++) {
        *seed = *seed * 1664525u + 1013904223u;
        float noise = (float)((*seed >> 8) / 16777216.0 - 0.5) * 0.2f;
        float v = 0.3f * sinf(0.0314f * (float)(t0 + i));
        l[i] = v + noise;
        r[i] = v - noise;
    }
}

static int bench(const char *name, ClvOperatingPoint op, int prio)
{
    const int rate = 44100, block = 512, seconds = 30;
    ClvLog log = {0};
    ClvSeparator *sep;
    if (clv_separator_create(name, rate, 2, op, &log, &sep) != CLV_OK) {
        printf("%-24s unavailable\n", name);
        return 1;
    }
    char label[96];
    snprintf(label, sizeof label, "%s (%s)", name, op == CLV_OP_LOW_LATENCY ? "low-latency" : "quality");
    ClvEngineConfig cfg = {.sample_rate = rate, .channels = 2, .max_block = block, .mode = CLV_ENGINE_OFFLINE};
    ClvEngine *e;
    if (clv_engine_new(&cfg, sep, &e) != CLV_OK) return 1;
    float *buf[8];
    for (int i = 0; i < 8; i++) buf[i] = calloc(4096, sizeof(float));
    unsigned seed = 1;
    const long total = (long)rate * seconds;
    double c0 = now(CLOCK_PROCESS_CPUTIME_ID), w0 = now(CLOCK_MONOTONIC);
    for (long t = 0; t < total; t += block) {
        signal_fill(buf[0], buf[1], block, &seed, t);
        const float *in[2] = {buf[0], buf[1]};
        float *v[2] = {buf[2], buf[3]}, *a[2] = {buf[4], buf[5]}, *m[2] = {buf[6], buf[7]};
        clv_engine_process(e, in, v, a, m, block);
    }
    double cpu = now(CLOCK_PROCESS_CPUTIME_ID) - c0, wall = now(CLOCK_MONOTONIC) - w0;
    const int lat = clv_engine_latency(e);
    clv_engine_free(e);
    printf("%-26s latency %5d frames (%5.1f ms)  RTF %.4f (CPU s per audio s, all threads; wall %.4f)\n",
           label, lat, 1000.0 * lat / rate, cpu / seconds, wall / seconds);

    /* audio-thread time per block, realtime mode, paced */
    static const int blocks[] = {64, 256};
    for (int b = 0; b < 2; b++) {
        const int n = blocks[b];
        if (clv_separator_create(name, rate, 2, op, &log, &sep) != CLV_OK) return 1;
        ClvEngineConfig rc = {.sample_rate = rate, .channels = 2, .max_block = n, .mode = CLV_ENGINE_REALTIME,
                              .worker_priority = prio};
        if (clv_engine_new(&rc, sep, &e) != CLV_OK) return 1;
        const int nblocks = (int)((long)rate * 8 / n);
        /* as in a realtime host: the audio thread above the worker */
        struct sched_param sp = {.sched_priority = prio ? prio + 10 : 0};
        int audio_rt = prio && pthread_setschedparam(pthread_self(), SCHED_FIFO, &sp) == 0;
        double *dt = malloc(sizeof(double) * (size_t)nblocks);
        struct timespec next;
        clock_gettime(CLOCK_MONOTONIC, &next);
        const long period_ns = (long)(1e9 * n / rate);
        for (int k = 0; k < nblocks; k++) {
            signal_fill(buf[0], buf[1], n, &seed, (long)k * n);
            const float *in[2] = {buf[0], buf[1]};
            float *v[2] = {buf[2], buf[3]}, *a[2] = {buf[4], buf[5]}, *m[2] = {buf[6], buf[7]};
            double s = now(CLOCK_MONOTONIC);
            clv_engine_process(e, in, v, a, m, n);
            dt[k] = now(CLOCK_MONOTONIC) - s;
            next.tv_nsec += period_ns;
            while (next.tv_nsec >= 1000000000L) {
                next.tv_nsec -= 1000000000L;
                next.tv_sec++;
            }
            clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL);
        }
        if (audio_rt) {
            sp.sched_priority = 0;
            pthread_setschedparam(pthread_self(), SCHED_OTHER, &sp);
        }
        ClvEngineStats st;
        clv_engine_get_stats(e, &st);
        clv_engine_free(e);
        qsort(dt, (size_t)nblocks, sizeof(double), cmp_d);
        printf("    audio thread, %3d-frame blocks (%.2f ms), worker %s: median %6.2f us, p99 %6.2f us,"
               " max %7.2f us; worker load %.3f; misses %llu of %d blocks\n",
               n, 1000.0 * n / rate, prio ? "SCHED_FIFO under a SCHED_FIFO audio thread" : "normal prio", 1e6 * dt[nblocks / 2], 1e6 * dt[(int)(nblocks * 0.99)],
               1e6 * dt[nblocks - 1], st.worker_load, (unsigned long long)st.misses, nblocks);
        free(dt);
    }
    for (int i = 0; i < 8; i++) free(buf[i]);
    return 0;
}

int main(int argc, char **argv)
{
    printf("cleave engine benchmark: 44.1 kHz stereo\n");
    /* timing of the audio thread with the worker at normal priority, then (when the
     * process may use SCHED_FIFO) with the worker below a realtime audio thread */
    static const char *def[] = {"centre"};
    const char *const *names = argc < 2 ? def : (const char *const *)argv + 1;
    const int count = argc < 2 ? 1 : argc - 1;
    for (int i = 0; i < count; i++)
        for (int prio = 0; prio <= 60; prio += 60) {
            bench(names[i], CLV_OP_QUALITY, prio);
            bench(names[i], CLV_OP_LOW_LATENCY, prio);
        }
    return 0;
}
