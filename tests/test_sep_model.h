/* SPDX-License-Identifier: ISC */
/* Shared scaffolding of the separator-family tests (test_hourglass.c,
 * test_waveunet.c, test_demucs.c). Each test keeps only its family's own checks;
 * the machinery they have in common lives here:
 *   - checks that count failures (CHECK, from clv_test.h), an allocation trap
 *     for process() (the test links with -Wl,--wrap=malloc,calloc,realloc,free),
 *     logs that print or count errors;
 *   - creating the family's separator from model_path through sep_create,
 *     streaming a signal hop by hop (with the trap armed and checked), SDR;
 *   - the golden file (input, known voice, PyTorch's vocals): loading it, running
 *     it through the separator at 16 kHz, comparing the output with PyTorch's;
 *   - the identity-path latency measurement (families with an identity switch);
 *   - the engine against a direct stream: the same vocals, only delayed (the
 *     engine's warm-up and the reset after it leave no trace);
 *   - bad model files: the model file read into memory, one thing in it changed
 *     (metadata value, tensor name, tensor shape), its header CRC fixed, and the
 *     result refused by sep_create with one error; a file of another
 *     architecture, 3 channels and the low-latency point refused likewise;
 *   - the start (usage, skip) and the end (summary, exit status) of main.
 * Include it once, from the test's only translation unit. Helpers that not every
 * family uses are marked SEP_TEST_HELPER (no unused-function warning). */
#ifndef TEST_SEP_MODEL_H
#define TEST_SEP_MODEL_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clv_clvm.h"
#include "clv_engine.h"
#include "clv_registry.h"
#include "clv_test.h" /* CHECK, clv_test_failures, TEST_SKIP */

#define SEP_TEST_HELPER __attribute__((unused)) static

/* allocation trap: counts calls while armed */
void *__real_malloc(size_t);
void *__real_calloc(size_t, size_t);
void *__real_realloc(void *, size_t);
void __real_free(void *);
static int trap_armed;
static long trap_hits;
void *__wrap_malloc(size_t n)
{
    if (trap_armed) trap_hits++;
    return __real_malloc(n);
}
void *__wrap_calloc(size_t a, size_t b)
{
    if (trap_armed) trap_hits++;
    return __real_calloc(a, b);
}
void *__wrap_realloc(void *p, size_t n)
{
    if (trap_armed) trap_hits++;
    return __real_realloc(p, n);
}
void __wrap_free(void *p)
{
    if (trap_armed && p) trap_hits++;
    __real_free(p);
}

static void logfn(void *user, ClvLogLevel level, const char *msg)
{
    (void)user;
    if (level <= CLV_LOG_INFO) fprintf(stderr, "  log: %s\n", msg);
}
static int errors_logged;
static void countfn(void *user, ClvLogLevel level, const char *msg)
{
    (void)user;
    if (level == CLV_LOG_ERROR) {
        errors_logged++;
        fprintf(stderr, "  expected error: %s\n", msg);
    }
}
static const ClvLog quiet_log = {logfn, NULL};
static const ClvLog count_log = {countfn, NULL};

static const char *model_path;
/* the family under test (set by sep_test_start) */
static ClvSeparatorFactory sep_create;
static long (*sep_underruns)(const ClvSeparator *sep);

static ClvSeparator *make(int rate, int channels, ClvOperatingPoint op, const ClvLog *log,
                          ClvStatus *st_out)
{
    ClvClvm *m = NULL;
    ClvStatus st = clv_clvm_load(model_path, log, &m);
    ClvSeparator *sep = NULL;
    if (st == CLV_OK) st = sep_create(m, rate, channels, op, log, &sep);
    if (st_out) *st_out = st;
    return sep;
}

/* make() with the printing log, as a check: NULL (and a failed check) when the
 * separator cannot be created. */
static ClvSeparator *make_ok(int rate, int channels, ClvOperatingPoint op)
{
    ClvStatus st;
    ClvSeparator *sep = make(rate, channels, op, &quiet_log, &st);
    CHECK(st == CLV_OK && sep, "create at %d Hz, %d channel(s), %s point: %s", rate, channels,
          op == CLV_OP_LOW_LATENCY ? "low-latency" : "quality", clv_strerror(st));
    return sep;
}

/* Streams n frames per channel (then `tail` zeros) through sep; out gets n + tail. */
static void stream(ClvSeparator *sep, float *const *x, long n, long tail, float *const *out,
                   int trap)
{
    const int C = sep->channels, H = sep->hop;
    float *inb[2], *outb[2];
    for (int c = 0; c < C; c++) {
        inb[c] = malloc(sizeof(float) * H);
        outb[c] = malloc(sizeof(float) * H);
    }
    for (long pos = 0; pos < n + tail; pos += H) {
        for (int c = 0; c < C; c++)
            for (int i = 0; i < H; i++) inb[c][i] = pos + i < n ? x[c][pos + i] : 0.0f;
        trap_armed = trap;
        clv_separator_process(sep, (const float *const *)inb, outb);
        trap_armed = 0;
        for (int c = 0; c < C; c++)
            for (int i = 0; i < H && pos + i < n + tail; i++) out[c][pos + i] = outb[c][i];
    }
    for (int c = 0; c < C; c++) {
        free(inb[c]);
        free(outb[c]);
    }
}

/* stream() with the allocation trap armed, checking that process() allocated nothing. */
static void stream_trapped(ClvSeparator *sep, float *const *x, long n, long tail,
                           float *const *out)
{
    trap_hits = 0;
    stream(sep, x, n, tail, out, 1);
    CHECK(trap_hits == 0, "%ld allocations inside process() at %d Hz", trap_hits,
          sep->sample_rate);
}

static double sdr(const float *ref, const float *est, long n)
{
    double s = 0, e = 0;
    for (long i = 0; i < n; i++) {
        s += (double)ref[i] * ref[i];
        e += ((double)ref[i] - est[i]) * ((double)ref[i] - est[i]);
    }
    return 10.0 * log10((s + 1e-30) / (e + 1e-30));
}

/* --- golden: the C separator against PyTorch --------------------------------- */

/* The golden file of models/train/export_sep.py --golden: an input, the known
 * voice in it and PyTorch's vocals for it, n samples each at 16 kHz. */
typedef struct {
    ClvClvm *file; /* owns the three arrays */
    const float *in, *voice, *vocals;
    long n;
} Golden;
static Golden golden;

/* Loads `golden` from path (at least min_n samples): 1, or 0 and a failed check. */
static int golden_load(const char *path, long min_n)
{
    if (clv_clvm_load(path, &quiet_log, &golden.file) != CLV_OK) {
        CHECK(0, "cannot load golden file %s", path);
        return 0;
    }
    ClvTensorInfo ti, tv, to;
    if (clv_clvm_find(golden.file, "input", &ti) != CLV_OK ||
        clv_clvm_find(golden.file, "voice", &tv) != CLV_OK ||
        clv_clvm_find(golden.file, "vocals", &to) != CLV_OK || ti.count != tv.count ||
        ti.count != to.count || ti.count < min_n) {
        CHECK(0, "%s: needs tensors input, voice, vocals of one length (>= %ld samples)", path,
              min_n);
        clv_clvm_free(golden.file);
        golden.file = NULL;
        return 0;
    }
    golden.in = ti.data;
    golden.voice = tv.data;
    golden.vocals = to.data;
    golden.n = (long)ti.count;
    return 1;
}

/* The golden input through the family's separator at 16 kHz mono (the model
 * rate), hop by hop with the allocation trap armed; checks that the output queue
 * never runs dry and that reset gives the same output again. Returns the output,
 * n + latency samples, and the separator in *sep_out (the caller frees both), or
 * NULL (and a failed check) when the separator cannot be created. */
static float *golden_separate(ClvSeparator **sep_out)
{
    ClvSeparator *sep = make_ok(16000, 1, CLV_OP_QUALITY);
    *sep_out = sep;
    if (!sep) return NULL;
    const long n = golden.n, lat = sep->latency;
    float *y = calloc((size_t)(n + lat), sizeof(float));
    float *y2 = calloc((size_t)(n + lat), sizeof(float));
    float *xs[1] = {(float *)golden.in};
    float *ys[1] = {y}, *ys2[1] = {y2};
    stream_trapped(sep, xs, n, lat, ys);
    CHECK(sep_underruns(sep) == 0, "underruns at 16 kHz");
    clv_separator_reset(sep);
    stream_trapped(sep, xs, n, lat, ys2);
    CHECK(memcmp(y, y2, sizeof(float) * (size_t)(n + lat)) == 0, "output after reset differs");
    free(y2);
    return y;
}

/* Compares a C output (already shifted by the latency) with PyTorch's vocals:
 * prints "golden WHAT: LEADmax |C - PyTorch| ..., C vs PyTorch X dBTAIL, voice SDR
 * PyTorch ..., C ... (difference ...)" and checks that the voice SDR is within
 * 0.05 dB of PyTorch's and the C-vs-PyTorch error 45 dB below the signal. */
static void golden_compare(const char *what, const char *lead, const float *c_out,
                           const char *tail)
{
    const long n = golden.n;
    double maxerr = 0;
    for (long i = 0; i < n; i++) maxerr = fmax(maxerr, fabs((double)c_out[i] - golden.vocals[i]));
    const double snr = sdr(golden.vocals, c_out, n);
    const double sdr_t = sdr(golden.voice, golden.vocals, n), sdr_c = sdr(golden.voice, c_out, n);
    printf("golden %s: %smax |C - PyTorch| %.2e, C vs PyTorch %.1f dB%s, voice SDR PyTorch "
           "%.3f dB, C %.3f dB (difference %.4f dB)\n",
           what, lead, maxerr, snr, tail, sdr_t, sdr_c, sdr_c - sdr_t);
    CHECK(fabs(sdr_c - sdr_t) < 0.05, "%s: SDR difference %.4f dB >= 0.05 dB", what, sdr_c - sdr_t);
    CHECK(snr > 45.0, "%s: C output only %.1f dB from PyTorch's", what, snr);
}

/* --- latency through the identity path ---------------------------------------- */

/* Sum of sines below 5 kHz, different per seed. */
SEP_TEST_HELPER void test_signal(float *x, long n, int rate, int seed)
{
    srand((unsigned)seed);
    memset(x, 0, sizeof(float) * n);
    for (int k = 0; k < 20; k++) {
        double f = 80.0 + 4900.0 * rand() / (double)RAND_MAX, ph = 6.283 * rand() / RAND_MAX;
        for (long i = 0; i < n; i++) x[i] += (float)(0.03 * sin(6.283185307 * f * i / rate + ph));
    }
}

/* What identity_measure finds: SNR of the vocals against the input delayed by d
 * frames, for d from latency - 3 to latency + 2. */
typedef struct {
    long best_d;      /* the delay that matches best */
    double at_lat;    /* SNR at the reported latency */
    double off1;      /* SNR one frame later */
    double worst_sec; /* the worst one-second SNR at the reported latency */
} IdentityFigures;

/* 10 s of test_signal in stereo (another signal per channel) through sep, whose
 * network the caller has set to identity (and reset), hop by hop with the
 * allocation trap armed. Compared away from the start (converter warm-up) and
 * the end. */
SEP_TEST_HELPER IdentityFigures identity_measure(ClvSeparator *sep)
{
    const int rate = sep->sample_rate;
    const long n = rate * 10, lat = sep->latency;
    float *x[2], *y[2];
    for (int c = 0; c < 2; c++) {
        x[c] = malloc(sizeof(float) * n);
        y[c] = calloc((size_t)(n + lat + 2), sizeof(float));
        test_signal(x[c], n, rate, 11 + c);
    }
    stream_trapped(sep, x, n, lat + 2, y);
    const long a = rate / 4, b = n - rate / 4;
    IdentityFigures f = {-1, 0, 0, 1e9};
    double best = -1e9;
    for (long d = lat - 3; d <= lat + 2; d++) {
        double s = 0;
        for (int c = 0; c < 2; c++) s += sdr(x[c] + a, y[c] + a + d, b - a) / 2;
        if (s > best) {
            best = s;
            f.best_d = d;
        }
        if (d == lat) f.at_lat = s;
        if (d == lat + 1) f.off1 = s;
    }
    /* every second on its own too: a queue or converter fault shows as drift */
    for (long s0 = a; s0 + rate <= b; s0 += rate) {
        double q = 0;
        for (int c = 0; c < 2; c++) q += sdr(x[c] + s0, y[c] + s0 + lat, rate) / 2;
        if (q < f.worst_sec) f.worst_sec = q;
    }
    for (int c = 0; c < 2; c++) {
        free(x[c]);
        free(y[c]);
    }
    return f;
}

/* The identity path matches best at exactly the reported latency, at > 22 dB
 * overall and > 20 dB in every second, and the output queue never ran dry. */
SEP_TEST_HELPER void identity_check(ClvSeparator *sep, const IdentityFigures *f)
{
    const int rate = sep->sample_rate;
    CHECK(f->best_d == sep->latency, "measured latency %ld != reported %d", f->best_d,
          sep->latency);
    /* the rate bridge aligns the converters' fractional delays to within 1/50
     * sample; measured identity SNR 42-95 dB with its long converters (25-30 dB
     * with the libsoxr glue before it) */
    CHECK(f->at_lat > 22.0, "identity path only %.1f dB at %d Hz", f->at_lat, rate);
    CHECK(f->worst_sec > 20.0, "identity SNR falls to %.1f dB in some second at %d Hz",
          f->worst_sec, rate);
    CHECK(sep_underruns(sep) == 0, "output queue ran dry at %d Hz", rate);
}

/* --- bad input: other files, channel counts, operating points ----------------- */

/* The golden file (a valid .clvm of another architecture) and 3 channels are
 * refused, each with one error. */
static void expect_foreign_refused(const char *golden_path)
{
    ClvClvm *m = NULL;
    ClvSeparator *sep = NULL;
    errors_logged = 0;
    ClvStatus st = clv_clvm_load(golden_path, &count_log, &m);
    CHECK(st == CLV_OK, "golden file loads");
    if (st == CLV_OK) st = sep_create(m, 44100, 2, CLV_OP_QUALITY, &count_log, &sep);
    CHECK(st == CLV_ERR_FORMAT && !sep && errors_logged == 1,
          "golden file accepted as a model: status %s, %d errors", clv_strerror(st),
          errors_logged);
    clv_separator_free(sep);
    errors_logged = 0;
    sep = make(44100, 3, CLV_OP_QUALITY, &count_log, &st);
    CHECK(st != CLV_OK && !sep && errors_logged == 1, "3 channels accepted");
    clv_separator_free(sep);
}

/* The low-latency point is refused at `rate` with one error (families whose
 * latency is above it). */
SEP_TEST_HELPER void expect_low_latency_refused(int rate)
{
    ClvStatus st;
    errors_logged = 0;
    ClvSeparator *sep = make(rate, 2, CLV_OP_LOW_LATENCY, &count_log, &st);
    CHECK(st == CLV_ERR_UNSUPPORTED && !sep && errors_logged == 1,
          "low-latency point: status %s, %d errors", clv_strerror(st), errors_logged);
    clv_separator_free(sep);
}

/* --- bad model files: the model file with one thing changed ------------------- */

typedef struct {
    unsigned char *p;
    size_t n;
} Buf;

SEP_TEST_HELPER uint32_t get32(const unsigned char *p)
{
    return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}
SEP_TEST_HELPER uint64_t get64(const unsigned char *p)
{
    return get32(p) | (uint64_t)get32(p + 4) << 32;
}
SEP_TEST_HELPER void set32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i));
}
SEP_TEST_HELPER void set64(unsigned char *p, uint64_t v)
{
    set32(p, (uint32_t)v);
    set32(p + 4, (uint32_t)(v >> 32));
}

/* model_path's bytes; n == 0 (and a failed check) when it cannot be read whole. */
SEP_TEST_HELPER Buf read_model(void)
{
    Buf b = {0};
    FILE *f = fopen(model_path, "rb");
    if (f) {
        fseek(f, 0, SEEK_END);
        long n = ftell(f);
        fseek(f, 0, SEEK_SET);
        b.p = n > 0 ? malloc((size_t)n) : NULL;
        if (b.p && fread(b.p, 1, (size_t)n, f) == (size_t)n) b.n = (size_t)n;
        fclose(f);
    }
    CHECK(b.n > 96, "cannot read %s", model_path);
    if (b.n <= 96) {
        free(b.p);
        b.p = NULL;
        b.n = 0;
    }
    return b;
}

/* header CRC over the fixed header, metadata and directory (see clv_clvm.c) */
SEP_TEST_HELPER void fix_crc(Buf *b)
{
    uint32_t crc = clv_crc32(0, b->p, 80);
    crc = clv_crc32(crc, b->p + get64(b->p + 24), get64(b->p + 32));
    crc = clv_crc32(crc, b->p + get64(b->p + 40), get64(b->p + 48));
    set32(b->p + 80, crc);
}

/* Directory entry of tensor `name`, or NULL. */
SEP_TEST_HELPER unsigned char *dir_entry(Buf *b, const char *name)
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

/* Value bytes of metadata `key`, or NULL. */
SEP_TEST_HELPER unsigned char *meta_value(Buf *b, const char *key)
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

/* Edits for the mutations; each sets `mutated` when it found its target, and
 * expect_refused fails a mutation that found nothing to change. */
static int mutated;

/* First letter of the "arch" string to 'X'. */
SEP_TEST_HELPER void mutate_arch(Buf *b)
{
    unsigned char *v = meta_value(b, "arch");
    if (v) {
        v[0] = 'X';
        mutated = 1;
    }
}
/* Integer metadata `key` plus delta. */
SEP_TEST_HELPER void mutate_meta_add(Buf *b, const char *key, int64_t delta)
{
    unsigned char *v = meta_value(b, key);
    if (v) {
        set64(v, get64(v) + (uint64_t)delta);
        mutated = 1;
    }
}
/* Integer metadata `key` set to value. */
SEP_TEST_HELPER void mutate_meta_set(Buf *b, const char *key, uint64_t value)
{
    unsigned char *v = meta_value(b, key);
    if (v) {
        set64(v, value);
        mutated = 1;
    }
}
/* Tensor `name` renamed (its first letter to 'X'): the tensor is missing. */
SEP_TEST_HELPER void mutate_rename_tensor(Buf *b, const char *name)
{
    unsigned char *e = dir_entry(b, name);
    if (e) {
        e[32 + 8 * get32(e + 8)] = 'X';
        mutated = 1;
    }
}
/* The first two dimensions of tensor `name` swapped: same size, wrong shape. */
SEP_TEST_HELPER void mutate_swap_dims(Buf *b, const char *name)
{
    unsigned char *e = dir_entry(b, name);
    if (e) {
        uint64_t d0 = get64(e + 32), d1 = get64(e + 40);
        set64(e + 32, d1);
        set64(e + 40, d0);
        mutated = 1;
    }
}

/* A copy of orig changed by `mutate`, its CRC fixed, must load (else the
 * mutation is wrong) and then be refused by sep_create with status `want` and
 * exactly one error. */
SEP_TEST_HELPER void expect_refused(const Buf *orig, const char *what, void (*mutate)(Buf *),
                                    ClvStatus want)
{
    Buf b = {malloc(orig->n), orig->n};
    memcpy(b.p, orig->p, orig->n);
    mutated = 0;
    mutate(&b);
    CHECK(mutated, "%s: the mutation found nothing to change", what);
    fix_crc(&b);
    ClvClvm *m = NULL;
    ClvSeparator *sep = NULL;
    errors_logged = 0; /* the reader logs binding errors through the load-time log */
    ClvStatus st = clv_clvm_load_memory(b.p, b.n, "mutated.clvm", &count_log, &m);
    CHECK(st == CLV_OK, "%s: mutated file does not load (%s): the mutation is wrong", what,
          clv_strerror(st));
    if (st == CLV_OK) st = sep_create(m, 44100, 2, CLV_OP_QUALITY, &count_log, &sep);
    CHECK(st == want && !sep && errors_logged == 1, "%s: status %s (want %s), %d errors", what,
          clv_strerror(st), clv_strerror(want), errors_logged);
    clv_separator_free(sep);
    free(b.p);
}

/* --- the engine against a direct stream -------------------------------------------- */

/* Two seconds of stereo test signal (tones, a sweep and noise, different per
 * channel) through the separator streamed directly and through an offline engine
 * made with a second separator from the same file: the engine's vocals at frame t
 * must be the direct vocals at t - (engine latency - separator latency). */
SEP_TEST_HELPER void engine_matches_direct(int rate, ClvOperatingPoint op)
{
    const long n = 2L * rate;
    ClvSeparator *a = make_ok(rate, 2, op), *b = make_ok(rate, 2, op);
    float *x[2], *d[2], *v[2];
    for (int c = 0; c < 2; c++) {
        x[c] = calloc((size_t)n, sizeof(float));
        d[c] = calloc((size_t)n, sizeof(float));
        v[c] = calloc((size_t)n, sizeof(float));
    }
    uint32_t s = 12345u;
    for (long i = 0; i < n; i++) {
        const double t = (double)i / rate;
        for (int c = 0; c < 2; c++) {
            s = s * 1664525u + 1013904223u;
            x[c][i] = (float)(0.2 * sin(2 * M_PI * (220.0 + 110.0 * c) * t) +
                              0.1 * sin(2 * M_PI * (200.0 + 900.0 * t) * t) +
                              0.05 * ((double)(s >> 8) / (1 << 23) - 1.0));
        }
    }
    ClvEngine *e = NULL;
    if (a && b) {
        const ClvEngineConfig cfg = {.sample_rate = rate, .channels = 2, .max_block = 1024,
                                     .mode = CLV_ENGINE_OFFLINE, .log = quiet_log};
        const int L = a->latency;
        stream(a, x, n, 0, d, 0);
        ClvStatus st = clv_engine_new(&cfg, b, &e);
        b = NULL; /* the engine owns it */
        CHECK(st == CLV_OK, "engine at %d Hz: %s", rate, clv_strerror(st));
        if (e) {
            for (long pos = 0; pos < n; pos += 1024) {
                const int m = n - pos < 1024 ? (int)(n - pos) : 1024;
                const float *in[2] = {x[0] + pos, x[1] + pos};
                float *vo[2] = {v[0] + pos, v[1] + pos};
                clv_engine_process(e, in, vo, NULL, NULL, m);
            }
            const long lag = clv_engine_latency(e) - L;
            double diff = 0.0, peak = 0.0;
            /* from 0.1 s after the first hop out: the engine fades separation in */
            for (int c = 0; c < 2; c++)
                for (long i = lag + rate / 10; i < n; i++) {
                    diff = fmax(diff, fabs((double)v[c][i] - d[c][i - lag]));
                    peak = fmax(peak, fabs((double)d[c][i - lag]));
                }
            printf("engine vs direct stream at %d Hz, %s point: vocals peak %.3f, largest "
                   "difference %.2g (engine latency %d = separator %d + %ld)\n",
                   rate, op == CLV_OP_LOW_LATENCY ? "low-latency" : "quality", peak, diff,
                   clv_engine_latency(e), L, lag);
            CHECK(peak > 1e-3 && diff <= 1e-6, "engine and direct vocals differ by %.3g "
                  "(peak %.3g)", diff, peak);
        }
    }
    clv_engine_free(e);
    clv_separator_free(a);
    clv_separator_free(b);
    for (int c = 0; c < 2; c++) {
        free(x[c]);
        free(d[c]);
        free(v[c]);
    }
}

/* --- main ------------------------------------------------------------------------ */

/* The start of main for "PROG MODEL.clvm GOLDEN.clvm": sets model_path and the
 * family (create, underruns). With skip_missing, a missing file is a skip (exit
 * code 77 for meson). Returns -1 to go on, else main's exit code. */
static int sep_test_start(int argc, char **argv, ClvSeparatorFactory create,
                          long (*underruns)(const ClvSeparator *), int skip_missing)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s MODEL.clvm GOLDEN.clvm\n", argv[0]);
        return 2;
    }
    for (int i = 1; i <= 2 && skip_missing; i++) {
        FILE *f = fopen(argv[i], "rb");
        if (!f) {
            printf("SKIP: %s not found (export it with models/train/export_sep.py)\n", argv[i]);
            return TEST_SKIP;
        }
        fclose(f);
    }
    model_path = argv[1];
    sep_create = create;
    sep_underruns = underruns;
    return -1;
}

/* The end of main: the summary line and the exit code; frees `golden`. */
static int sep_test_end(const char *family)
{
    clv_clvm_free(golden.file);
    golden.file = NULL;
    if (clv_test_failures) fprintf(stderr, "%d failures\n", clv_test_failures);
    else printf("all %s tests passed\n", family);
    return clv_test_failures ? 1 : 0;
}

#endif
