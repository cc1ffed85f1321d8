/* SPDX-License-Identifier: ISC */
/* Benchmark (meson benchmark, not a test): time the live client's audio callback,
 * clv_live_core_process(), per JACK period, for each separator the registry can
 * create, at 48 kHz with periods of 64, 256 and 1024 frames. Blocks are fed at the
 * pace of real time (the worker gets a fair chance, as under JACK); prints the mean,
 * 99th percentile and largest callback time as a fraction of the period, and the
 * hops the worker missed. The timing thread asks for SCHED_FIFO like a JACK
 * client's (when allowed), so the figures are the callback's own cost rather than
 * time it was preempted by the separator's worker. */
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clv_live_core.h"
#include "clv_registry.h"

#define RATE 48000

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void sleep_until(double t)
{
    double d = t - now_s();
    if (d <= 0) return;
    struct timespec ts = {(time_t)d, (long)((d - (double)(time_t)d) * 1e9)};
    nanosleep(&ts, NULL);
}

int main(void)
{
    const double seconds = 3.0;
    struct sched_param sp = {.sched_priority = 10};
    const int rt = pthread_setschedparam(pthread_self(), SCHED_FIFO, &sp) == 0;
    printf("timing thread: %s\n", rt ? "SCHED_FIFO 10" : "normal priority (no RT permission)");
    float *buf[8];
    for (int i = 0; i < 8; i++) buf[i] = calloc(1024, sizeof(float));
    uint32_t s = 1;
    for (int i = 0; i < 1024; i++) {
        s = s * 1664525u + 1013904223u;
        buf[0][i] = buf[1][i] = 0.1f * ((float)(s >> 8) / 16777216.0f - 0.5f);
    }
    printf("%-12s %6s %9s %9s %9s %7s %8s\n", "separator", "period", "mean", "p99", "max",
           "misses", "latency");
    for (int r = 0; r < clv_registry_count(); r++) {
        const ClvModelEntry *e = clv_registry_get(r);
        if (e->kind != CLV_KIND_SEPARATOR) continue;
        static const int periods[] = {64, 256, 1024};
        for (int pi = 0; pi < 3; pi++) {
            const int period = periods[pi];
            ClvLiveConfig cfg;
            memset(&cfg, 0, sizeof cfg);
            cfg.sample_rate = RATE;
            cfg.period = period;
            cfg.separator = e->name;
            cfg.vocal_gain = cfg.accomp_gain = 1.0f;
            ClvLiveCore *core = NULL;
            if (clv_live_core_new(&cfg, &core) != CLV_OK) {
                printf("%-12s %6d  (not available)\n", e->name, period);
                break;
            }
            const int n = (int)(seconds * RATE / period);
            double *t = malloc(sizeof(double) * (size_t)n);
            const float *in[2] = {buf[0], buf[1]};
            float *mix[2] = {buf[2], buf[3]}, *voc[2] = {buf[4], buf[5]}, *acc[2] = {buf[6], buf[7]};
            const double dt = (double)period / RATE;
            double next = now_s();
            for (int i = 0; i < n; i++) {
                sleep_until(next);
                next += dt;
                double t0 = now_s();
                clv_live_core_process(core, in, mix, voc, acc, period, 0);
                t[i] = (now_s() - t0) / dt;
                if ((i & 63) == 0) clv_live_core_poll(core);
            }
            ClvLiveStats st;
            clv_live_core_get_stats(core, &st);
            qsort(t, (size_t)n, sizeof *t, cmp_d);
            double mean = 0;
            for (int i = 0; i < n; i++) mean += t[i];
            mean /= n;
            printf("%-12s %6d %8.3f%% %8.3f%% %8.3f%% %7llu %8d\n", e->name, period, 100 * mean,
                   100 * t[(int)(0.99 * (n - 1))], 100 * t[n - 1], (unsigned long long)st.misses,
                   st.latency);
            fflush(stdout);
            free(t);
            clv_live_core_free(core);
        }
    }
    for (int i = 0; i < 8; i++) free(buf[i]);
    return 0;
}
