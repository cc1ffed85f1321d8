/* SPDX-License-Identifier: ISC */
/* Measurement program behind tests/bench/run_benchmarks.py (prints figures as one
 * JSON object per call; asserts nothing about speed). One process per separator and
 * operating point, so getrusage's peak resident memory belongs to that separator.
 *
 *   bench_sep --list
 *       the registry: one line per entry,
 *       "ENTRY<TAB>name<TAB>kind<TAB>file<TAB>file at the quality point" ("-": none)
 *   bench_sep --sep NAME --op quality|low-latency [--seconds S] [--dump DIR]
 *       a separator at 44.1 kHz stereo:
 *       - its process() called directly on this thread at its own hop (what the
 *         engine's worker does): CPU time per hop (median, p99, max), wall time per
 *         hop, and the one-core real-time factor (thread CPU s per audio s);
 *       - the engine in realtime mode paced at real time with 64- and 256-frame
 *         blocks: audio-thread time per block (median, p99, max; wall clock with
 *         the thread at SCHED_FIFO when allowed, and thread CPU time) and misses;
 *       - the engine in offline mode: CPU s per audio s over all threads;
 *       - peak resident memory (VmHWM) before creation and at the end.
 *       --dump writes the raw per-hop and per-block times (us, one per line).
 *   bench_sep --tagger FILE [--seconds S] [--rate HZ]
 *       the rolling tagger fed mono at HZ (44100): real-time factor and time per
 *       step (thread CPU time, and wall clock for the peer comparison).
 *   bench_sep --net-step FILE [--steps N]
 *       the network of a model file alone, one streaming step at a time (the
 *       unit the PyTorch / ONNX Runtime peers time): microseconds per step.
 *   bench_sep --clvm-info FILE
 *       file size, tensor count, parameter count (elements of every tensor).
 *
 * Inputs are synthetic (tones, noise, panning changes; fixed seed): the cost of
 * these separators does not depend on the content. Exit status: 0 measured,
 * 1 could not measure (the JSON says why), 2 usage. */
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>

#include "clv_clvm.h"
#include "clv_engine.h"
#include "clv_hourglass.h"
#include "clv_nn.h"
#include "clv_registry.h"
#include "clv_tagger.h"

#define RATE 44100

static char last_error[512];

static void on_log(void *user, ClvLogLevel level, const char *msg)
{
    (void)user;
    if (level == CLV_LOG_ERROR) snprintf(last_error, sizeof last_error, "%s", msg);
    if (level <= CLV_LOG_WARNING) fprintf(stderr, "bench_sep: %s\n", msg);
}

static const ClvLog bench_log = {on_log, NULL};

static double clock_s(clockid_t c)
{
    struct timespec ts;
    clock_gettime(c, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Peak resident memory of this process image in KiB: VmHWM from /proc/self/status.
 * getrusage()'s ru_maxrss is not used because Linux carries it across execve(): a
 * child of a large parent (the Python driver) would report the parent's size.
 * Falls back to ru_maxrss where /proc is missing. */
static long maxrss_kb(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    if (f) {
        char line[256];
        long kb = -1;
        while (fgets(line, sizeof line, f))
            if (sscanf(line, "VmHWM: %ld kB", &kb) == 1) break;
        fclose(f);
        if (kb >= 0) return kb;
    }
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Nearest-rank percentile of a sorted array (q in 0..1). */
static double pct(const double *sorted, int n, double q)
{
    if (n <= 0) return 0.0;
    int k = (int)ceil(q * n) - 1;
    if (k < 0) k = 0;
    if (k >= n) k = n - 1;
    return sorted[k];
}

/* Prints "name": {"median":..,"p99":..,"max":..,"n":..} of values in seconds, as us. */
static void print_stats(const char *name, double *v, int n, int comma)
{
    qsort(v, (size_t)n, sizeof(double), cmp_d);
    printf("  \"%s\": {\"median_us\": %.3f, \"p99_us\": %.3f, \"max_us\": %.3f, \"n\": %d}%s\n",
           name, 1e6 * pct(v, n, 0.5), 1e6 * pct(v, n, 0.99), n ? 1e6 * v[n - 1] : 0.0, n,
           comma ? "," : "");
}

static void dump(const char *dir, const char *stem, const char *what, const double *v, int n)
{
    if (!dir) return;
    char path[1024];
    snprintf(path, sizeof path, "%s/%s_%s.txt", dir, stem, what);
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "bench_sep: %s: cannot write\n", path);
        return;
    }
    for (int i = 0; i < n; i++) fprintf(f, "%.3f\n", 1e6 * v[i]);
    fclose(f);
}

/* Stereo test signal: a melody panned centre, a chord panned wide, noise. */
static void signal_fill(float *l, float *r, int n, uint32_t *seed, long t0)
{
    for (int i = 0; i < n; i++) {
        const long t = t0 + i;
        *seed = *seed * 1664525u + 1013904223u;
        const float noise = (float)((*seed >> 8) / 16777216.0 - 0.5) * 0.05f;
        const double s = (double)t / RATE;
        const double f0 = 220.0 * pow(2.0, (double)((t / 11025) % 8) / 12.0);
        const float mel = (float)(0.25 * sin(2 * M_PI * f0 * s) + 0.08 * sin(4 * M_PI * f0 * s));
        const float ch = (float)(0.15 * sin(2 * M_PI * 110.0 * s));
        const float ch2 = (float)(0.12 * sin(2 * M_PI * 164.8 * s));
        l[i] = mel + ch + noise;
        r[i] = mel + ch2 - noise;
    }
}

static void json_str(const char *s)
{
    putchar('"');
    for (; *s; s++) {
        if (*s == '"' || *s == '\\') printf("\\%c", *s);
        else if ((unsigned char)*s < 0x20) printf("\\u%04x", *s);
        else putchar(*s);
    }
    putchar('"');
}

static int list_registry(void)
{
    for (int i = 0; i < clv_registry_count(); i++) {
        const ClvModelEntry *e = clv_registry_get(i);
        /* auto only stands for another entry at each operating point: measured there */
        if (strcmp(e->name, "auto") == 0) continue;
        const char *kind = e->kind == CLV_KIND_SEPARATOR ? "separator"
                           : e->kind == CLV_KIND_TAGGER  ? "tagger"
                                                         : "other";
        printf("ENTRY\t%s\t%s\t%s\t%s\n", e->name, kind, e->file ? e->file : "-",
               e->file_quality ? e->file_quality : "-");
    }
    return 0;
}

static int clvm_info(const char *path)
{
    struct stat sb;
    ClvClvm *m;
    if (stat(path, &sb) != 0 || clv_clvm_load(path, &bench_log, &m) != CLV_OK) {
        printf("{\"available\": false, \"reason\": ");
        json_str(last_error[0] ? last_error : "cannot read the file");
        printf("}\n");
        return 1;
    }
    int64_t params = 0, f16 = 0;
    const int nt = clv_clvm_tensor_count(m);
    for (int i = 0; i < nt; i++) {
        ClvTensorInfo ti;
        if (clv_clvm_tensor_at(m, i, &ti) != CLV_OK) continue;
        params += ti.count;
        if (ti.stored == CLV_DTYPE_F16) f16 += ti.count;
    }
    const char *arch = "";
    clv_clvm_meta_string(m, "arch", &arch);
    printf("{\"available\": true, \"file_bytes\": %lld, \"tensors\": %d, \"params\": %lld, "
           "\"f16_params\": %lld, \"arch\": ",
           (long long)sb.st_size, nt, (long long)params, (long long)f16);
    json_str(arch);
    printf("}\n");
    clv_clvm_free(m);
    return 0;
}

/* Paced realtime run: audio-thread time per block of n frames over `seconds`, wall
 * clock and thread CPU time. The calling thread runs SCHED_FIFO during the run (as
 * JACK's process thread does) when the system allows it, so that the wall figures
 * show the engine and not the other processes of a shared machine; the worker
 * thread keeps the default policy (it is created before the switch). */
static int engine_blocks(const char *name, ClvOperatingPoint op, int n, double seconds,
                         double **times, double **cpu_times, int *count, ClvEngineStats *st,
                         int *fifo)
{
    ClvSeparator *sep;
    ClvEngine *e;
    if (clv_separator_create(name, RATE, 2, op, &bench_log, &sep) != CLV_OK) return 1;
    ClvEngineConfig rc = {.sample_rate = RATE, .channels = 2, .max_block = n,
                          .mode = CLV_ENGINE_REALTIME, .log = bench_log};
    if (clv_engine_new(&rc, sep, &e) != CLV_OK) return 1;
    const int nblocks = (int)(RATE * seconds / n);
    double *dt = malloc(sizeof(double) * (size_t)nblocks), *dc = malloc(sizeof(double) * (size_t)nblocks);
    float *buf = calloc((size_t)8 * (size_t)n, sizeof(float));
    if (!dt || !dc || !buf) return 1;
    struct sched_param sp = {.sched_priority = 20}, sp0 = {0};
    int pol0 = SCHED_OTHER;
    pthread_getschedparam(pthread_self(), &pol0, &sp0);
    *fifo = pthread_setschedparam(pthread_self(), SCHED_FIFO, &sp) == 0;
    float *b[8];
    for (int i = 0; i < 8; i++) b[i] = buf + (size_t)i * (size_t)n;
    uint32_t seed = 7;
    struct timespec next;
    clock_gettime(CLOCK_MONOTONIC, &next);
    const long period_ns = (long)(1e9 * n / RATE);
    for (int k = 0; k < nblocks; k++) {
        signal_fill(b[0], b[1], n, &seed, (long)k * n);
        const float *in[2] = {b[0], b[1]};
        float *v[2] = {b[2], b[3]}, *a[2] = {b[4], b[5]}, *m[2] = {b[6], b[7]};
        const double s = clock_s(CLOCK_MONOTONIC), c = clock_s(CLOCK_THREAD_CPUTIME_ID);
        clv_engine_process(e, in, v, a, m, n);
        dt[k] = clock_s(CLOCK_MONOTONIC) - s;
        dc[k] = clock_s(CLOCK_THREAD_CPUTIME_ID) - c;
        next.tv_nsec += period_ns;
        while (next.tv_nsec >= 1000000000L) {
            next.tv_nsec -= 1000000000L;
            next.tv_sec++;
        }
        clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL);
    }
    if (*fifo) pthread_setschedparam(pthread_self(), pol0, &sp0);
    clv_engine_get_stats(e, st);
    clv_engine_free(e);
    free(buf);
    *times = dt;
    *cpu_times = dc;
    *count = nblocks;
    return 0;
}

static int bench_separator(const char *name, ClvOperatingPoint op, double seconds, const char *dir)
{
    const char *opname = op == CLV_OP_LOW_LATENCY ? "low-latency" : "quality";
    const long rss0 = maxrss_kb();
    ClvSeparator *sep;
    printf("{\n  \"name\": ");
    json_str(name);
    printf(",\n  \"op\": \"%s\",\n", opname);
    if (clv_separator_create(name, RATE, 2, op, &bench_log, &sep) != CLV_OK) {
        printf("  \"available\": false,\n  \"reason\": ");
        json_str(last_error[0] ? last_error : "could not be created");
        printf("\n}\n");
        return 1;
    }
    const int hop = sep->hop, lat = sep->latency;
    char stem[160];
    snprintf(stem, sizeof stem, "%s_%s", name, opname);

    /* 1. process() directly at the hop, this thread only */
    float *buf = calloc((size_t)4 * (size_t)hop, sizeof(float));
    const int warm = 16, nhops = (int)(RATE * seconds / hop);
    double *cpu = malloc(sizeof(double) * (size_t)nhops), *wall = malloc(sizeof(double) * (size_t)nhops);
    if (!buf || !cpu || !wall) return 1;
    uint32_t seed = 1;
    double cpu_total = 0.0, wall_total = 0.0;
    for (int k = -warm; k < nhops; k++) {
        signal_fill(buf, buf + hop, hop, &seed, (long)(k + warm) * hop);
        const float *in[2] = {buf, buf + hop};
        float *v[2] = {buf + 2 * hop, buf + 3 * hop};
        const double c0 = clock_s(CLOCK_THREAD_CPUTIME_ID), w0 = clock_s(CLOCK_MONOTONIC);
        clv_separator_process(sep, in, v);
        const double c1 = clock_s(CLOCK_THREAD_CPUTIME_ID), w1 = clock_s(CLOCK_MONOTONIC);
        if (k < 0) continue;
        cpu[k] = c1 - c0;
        wall[k] = w1 - w0;
        cpu_total += c1 - c0;
        wall_total += w1 - w0;
    }
    clv_separator_free(sep);
    free(buf);
    const double audio_s = (double)nhops * hop / RATE;
    printf("  \"available\": true,\n  \"sample_rate\": %d,\n  \"channels\": 2,\n", RATE);
    printf("  \"hop\": %d,\n  \"latency_frames\": %d,\n  \"latency_ms\": %.3f,\n", hop, lat,
           1000.0 * lat / RATE);
    printf("  \"hop_budget_us\": %.3f,\n", 1e6 * hop / RATE);
    printf("  \"rtf_one_core\": %.5f,\n  \"rtf_one_core_wall\": %.5f,\n  \"audio_seconds\": %.3f,\n",
           cpu_total / audio_s, wall_total / audio_s, audio_s);
    dump(dir, stem, "hop_cpu", cpu, nhops);
    dump(dir, stem, "hop_wall", wall, nhops);
    print_stats("hop_cpu", cpu, nhops, 1);
    print_stats("hop_wall", wall, nhops, 1);
    free(cpu);
    free(wall);

    /* 2. engine, realtime mode, paced: audio-thread time per block */
    static const int blocks[] = {64, 256};
    for (int b = 0; b < 2; b++) {
        double *dt, *dc;
        int n, fifo = 0;
        ClvEngineStats st;
        if (engine_blocks(name, op, blocks[b], seconds < 6.0 ? seconds : 6.0, &dt, &dc, &n, &st,
                          &fifo) != 0) {
            printf("  \"engine_error\": ");
            json_str(last_error);
            printf(",\n");
            continue;
        }
        char what[32];
        snprintf(what, sizeof what, "block%d", blocks[b]);
        dump(dir, stem, what, dt, n);
        printf("  \"%s_engine_latency_frames\": %d,\n  \"%s_misses\": %llu,\n  \"%s_sched_fifo\": %s,\n",
               what, st.latency, what, (unsigned long long)st.misses, what, fifo ? "true" : "false");
        print_stats(what, dt, n, 1);
        char cw[48];
        snprintf(cw, sizeof cw, "%s_cpu", what);
        print_stats(cw, dc, n, 1);
        free(dt);
        free(dc);
    }

    /* 3. engine, offline mode: every thread's CPU time per audio second */
    {
        ClvEngine *e;
        const int block = 512;
        if (clv_separator_create(name, RATE, 2, op, &bench_log, &sep) == CLV_OK) {
            ClvEngineConfig cfg = {.sample_rate = RATE, .channels = 2, .max_block = block,
                                   .mode = CLV_ENGINE_OFFLINE, .log = bench_log};
            if (clv_engine_new(&cfg, sep, &e) == CLV_OK) {
                float *eb = calloc((size_t)8 * block, sizeof(float));
                float *p[8];
                for (int i = 0; i < 8; i++) p[i] = eb + (size_t)i * block;
                const long total = (long)(RATE * seconds);
                seed = 3;
                const double c0 = clock_s(CLOCK_PROCESS_CPUTIME_ID);
                for (long t = 0; t < total; t += block) {
                    signal_fill(p[0], p[1], block, &seed, t);
                    const float *in[2] = {p[0], p[1]};
                    float *v[2] = {p[2], p[3]}, *a[2] = {p[4], p[5]}, *m[2] = {p[6], p[7]};
                    clv_engine_process(e, in, v, a, m, block);
                }
                const double c = clock_s(CLOCK_PROCESS_CPUTIME_ID) - c0;
                printf("  \"engine_latency_frames\": %d,\n", clv_engine_latency(e));
                printf("  \"rtf_engine_offline_all_threads\": %.5f,\n", c * RATE / (double)total);
                clv_engine_free(e);
                free(eb);
            }
        }
    }
    printf("  \"maxrss_before_kb\": %ld,\n  \"maxrss_kb\": %ld\n}\n", rss0, maxrss_kb());
    return 0;
}

static long tag_steps;
static void on_tag_step(void *u, const ClvTagStep *s)
{
    (void)u;
    (void)s;
    tag_steps++;
}

static int bench_tagger(const char *path, double seconds, int rate)
{
    const long rss0 = maxrss_kb();
    ClvTagger *t;
    printf("{\n  \"file\": ");
    json_str(path);
    printf(",\n");
    if (clv_tagger_new(path, rate, &bench_log, &t) != CLV_OK) {
        printf("  \"available\": false,\n  \"reason\": ");
        json_str(last_error[0] ? last_error : "could not be loaded");
        printf("\n}\n");
        return 1;
    }
    const int block = 512;
    const long total = (long)(rate * seconds);
    float *b = malloc(sizeof(float) * 2 * block);
    if (!b) return 1;
    uint32_t seed = 5;
    double cpu = 0.0, wall = 0.0;
    int warm = 1;
    for (long s = 0; s < total; s += block) {
        signal_fill(b, b + block, block, &seed, s);
        for (int i = 0; i < block; i++) b[i] = 0.5f * (b[i] + b[block + i]);
        const double c0 = clock_s(CLOCK_THREAD_CPUTIME_ID), w0 = clock_s(CLOCK_MONOTONIC);
        clv_tagger_feed(t, b, block, on_tag_step, NULL, NULL);
        if (!warm) {
            cpu += clock_s(CLOCK_THREAD_CPUTIME_ID) - c0;
            wall += clock_s(CLOCK_MONOTONIC) - w0;
        }
        if (warm && tag_steps > 0) { /* the first step pays for page faults */
            warm = 0;
            tag_steps = 0;
        }
    }
    printf("  \"available\": true,\n  \"sample_rate\": %d,\n  \"step_s\": %.3f,\n  \"window_s\": %.3f,\n",
           rate, clv_tagger_step_seconds(t), clv_tagger_window_seconds(t));
    printf("  \"macs_per_step\": %.0f,\n  \"steps\": %ld,\n", clv_tagger_macs_per_step(t), tag_steps);
    printf("  \"rtf_one_core\": %.5f,\n  \"step_us\": %.3f,\n  \"step_wall_us\": %.3f,\n",
           cpu / (tag_steps * clv_tagger_step_seconds(t)), tag_steps ? 1e6 * cpu / tag_steps : 0.0,
           tag_steps ? 1e6 * wall / tag_steps : 0.0);
    clv_tagger_free(t);
    free(b);
    printf("  \"maxrss_before_kb\": %ld,\n  \"maxrss_kb\": %ld\n}\n", rss0, maxrss_kb());
    return 0;
}

/* Median over 7 repetitions of >= 20 ms of steps (as tests/bench_peers.py). */
static int net_step(const char *path, int steps_hint)
{
    (void)steps_hint;
    ClvClvm *m;
    if (clv_clvm_load(path, &bench_log, &m) != CLV_OK) {
        printf("{\"available\": false, \"reason\": ");
        json_str(last_error);
        printf("}\n");
        return 1;
    }
    const char *arch = "";
    clv_clvm_meta_string(m, "arch", &arch);
    if (strcmp(arch, CLV_HOURGLASS_ARCH) != 0) {
        printf("{\"available\": false, \"arch\": ");
        json_str(arch);
        printf(", \"reason\": \"no C step timer for this architecture\"}\n");
        clv_clvm_free(m);
        return 1;
    }
    ClvHourglassNet *net;
    ClvHourglassState *s;
    if (clv_hourglass_net_new(m, &bench_log, &net) != CLV_OK ||
        clv_hourglass_state_new(net, &s) != CLV_OK) {
        printf("{\"available\": false, \"reason\": ");
        json_str(last_error);
        printf("}\n");
        return 1;
    }
    const int bins = clv_hourglass_net_n_fft(net) / 2 + 1;
    const int nframes = 64;
    float *spec = malloc(sizeof(float) * 2 * (size_t)bins * nframes);
    float *vspec = malloc(sizeof(float) * 2 * (size_t)bins);
    if (!spec || !vspec) return 1;
    uint32_t seed = 11;
    for (int i = 0; i < 2 * bins * nframes; i++) {
        seed = seed * 1664525u + 1013904223u;
        spec[i] = (float)((seed >> 8) / 8388608.0 - 1.0) * 4.0f;
    }
    long k = 0;
    int iters = 1;
    for (;;) {
        const double t0 = clock_s(CLOCK_MONOTONIC);
        for (int i = 0; i < iters; i++, k++)
            clv_hourglass_step(s, spec + 2 * (size_t)bins * (size_t)(k % nframes), vspec);
        const double dt = clock_s(CLOCK_MONOTONIC) - t0;
        if (dt >= 0.02) break;
        iters *= dt > 0.002 ? (int)(0.025 / dt) + 1 : 10;
    }
    /* wall clock, as the PyTorch and ONNX Runtime timers; thread CPU time beside it
     * (on a loaded machine the wall figure includes time other processes took) */
    double r[7], rc[7];
    for (int rep = 0; rep < 7; rep++) {
        const double t0 = clock_s(CLOCK_MONOTONIC), c0 = clock_s(CLOCK_THREAD_CPUTIME_ID);
        for (int i = 0; i < iters; i++, k++)
            clv_hourglass_step(s, spec + 2 * (size_t)bins * (size_t)(k % nframes), vspec);
        r[rep] = (clock_s(CLOCK_MONOTONIC) - t0) / iters;
        rc[rep] = (clock_s(CLOCK_THREAD_CPUTIME_ID) - c0) / iters;
    }
    qsort(r, 7, sizeof(double), cmp_d);
    qsort(rc, 7, sizeof(double), cmp_d);
    printf("{\"available\": true, \"arch\": \"%s\", \"us_per_step\": %.3f, \"cpu_us_per_step\": %.3f, "
           "\"params\": %ld, \"step_hop\": %d, \"step_rate\": %d}\n",
           arch, 1e6 * r[3], 1e6 * rc[3], clv_hourglass_net_params(net), clv_hourglass_net_hop(net),
           clv_hourglass_net_rate(net));
    clv_hourglass_state_free(s);
    clv_hourglass_net_free(net);
    clv_clvm_free(m);
    free(spec);
    free(vspec);
    return 0;
}

static int usage(void)
{
    fprintf(stderr, "usage: bench_sep --list | --sep NAME --op quality|low-latency [--seconds S] "
                    "[--dump DIR] | --tagger FILE [--seconds S] [--rate HZ] | --net-step FILE | "
                    "--clvm-info FILE\n");
    return 2;
}

int main(int argc, char **argv)
{
    const char *sep = NULL, *tagger = NULL, *netf = NULL, *info = NULL, *dir = NULL;
    const char *op = "quality";
    double seconds = 20.0;
    int rate = RATE;
    int list = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--list") == 0) list = 1;
        else if (strcmp(a, "--sep") == 0 && v) sep = argv[++i];
        else if (strcmp(a, "--op") == 0 && v) op = argv[++i];
        else if (strcmp(a, "--seconds") == 0 && v) seconds = atof(argv[++i]);
        else if (strcmp(a, "--dump") == 0 && v) dir = argv[++i];
        else if (strcmp(a, "--rate") == 0 && v) rate = atoi(argv[++i]);
        else if (strcmp(a, "--tagger") == 0 && v) tagger = argv[++i];
        else if (strcmp(a, "--net-step") == 0 && v) netf = argv[++i];
        else if (strcmp(a, "--clvm-info") == 0 && v) info = argv[++i];
        else return usage();
    }
    if (!(seconds >= 1.0 && seconds <= 3600.0)) {
        fprintf(stderr, "bench_sep: --seconds must be 1..3600\n");
        return 2;
    }
    clv_nn_flush_denormals();
    if (list) return list_registry();
    if (info) return clvm_info(info);
    if (netf) return net_step(netf, 0);
    if (rate < 8000 || rate > 192000) {
        fprintf(stderr, "bench_sep: --rate must be 8000..192000\n");
        return 2;
    }
    if (tagger) return bench_tagger(tagger, seconds, rate);
    if (sep) {
        ClvOperatingPoint p;
        if (strcmp(op, "quality") == 0) p = CLV_OP_QUALITY;
        else if (strcmp(op, "low-latency") == 0) p = CLV_OP_LOW_LATENCY;
        else return usage();
        return bench_separator(sep, p, seconds, dir);
    }
    return usage();
}
