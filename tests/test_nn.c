/* SPDX-License-Identifier: ISC */
/* Golden tests of the kernels in models/clv_nn.c against PyTorch.
 *
 * tests/golden/kernels.clvm holds inputs, weights and PyTorch outputs made by
 * models/train/golden_kernels.py (fixed seeds). Every case is recomputed here and
 * compared by maximum absolute error and by the error relative to the largest
 * reference magnitude, which must stay within 1e-4. The whole suite runs twice:
 * with the built-in GEMM and (when built with BLAS) with OpenBLAS. Streaming
 * kernels are fed in chunks of 1, 7 and irregular sizes and must match the
 * whole-signal PyTorch result. Every output and scratch buffer has a guard zone
 * behind it that must stay untouched (the declared scratch sizes are enough).
 *
 * Usage: test_nn GOLDEN.clvm */
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "clv_arena.h"
#include "clv_clvm.h"
#include "clv_nn.h"
#include "clv_test.h"

/* Allocation and lock trap: the test links with -Wl,--wrap=... for these, so
 * every call from cleave's own code (the static libraries) passes through here.
 * (tests/clv_rt_trap.c interposes globally, which OpenBLAS's libgfortran start-up
 * does not survive.) */
#include <pthread.h>
void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t m);
void *__real_realloc(void *p, size_t n);
void __real_free(void *p);
void *__real_aligned_alloc(size_t a, size_t n);
int __real_pthread_mutex_lock(pthread_mutex_t *m);
int __real_pthread_once(pthread_once_t *o, void (*f)(void));
static int trap_on;
static long trap_hits, wrapped_calls;
#define TRAP() (wrapped_calls++, trap_hits += trap_on)
void *__wrap_malloc(size_t n) { TRAP(); return __real_malloc(n); }
void *__wrap_calloc(size_t n, size_t m) { TRAP(); return __real_calloc(n, m); }
void *__wrap_realloc(void *p, size_t n) { TRAP(); return __real_realloc(p, n); }
void __wrap_free(void *p) { TRAP(); __real_free(p); }
void *__wrap_aligned_alloc(size_t a, size_t n) { TRAP(); return __real_aligned_alloc(a, n); }
int __wrap_pthread_mutex_lock(pthread_mutex_t *m) { TRAP(); return __real_pthread_mutex_lock(m); }
int __wrap_pthread_once(pthread_once_t *o, void (*f)(void)) { TRAP(); return __real_pthread_once(o, f); }

#define TOL 1e-4
#define GUARD 32
#define SENTINEL 1234.5678f

static ClvClvm *G;
static int verbose = 1;
static double worst_rel;

static void log_fn(void *user, ClvLogLevel level, const char *msg)
{
    (void)user;
    (void)level;
    fprintf(stderr, "log: %s\n", msg);
}

/* Buffers with a guard zone of sentinels after n floats. */
static float *buf(size_t n)
{
    float *p = malloc((n + GUARD) * sizeof *p);
    if (!p) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    for (size_t i = 0; i < n; i++) p[i] = NAN; /* unwritten outputs show up as NaN */
    for (size_t i = 0; i < GUARD; i++) p[n + i] = SENTINEL;
    return p;
}

static void guard_ok(const float *p, size_t n, const char *what)
{
    for (size_t i = 0; i < GUARD; i++)
        if (p[n + i] != SENTINEL) {
            CHECK(0, "%s: wrote past its %zu floats (guard %zu)", what, n, i);
            return;
        }
}

static const float *T(const char *fmt, ...)
{
    char name[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(name, sizeof name, fmt, ap);
    va_end(ap);
    ClvTensorInfo info;
    if (clv_clvm_find(G, name, &info) != CLV_OK) {
        fprintf(stderr, "golden tensor '%s' missing: regenerate tests/golden/kernels.clvm\n", name);
        exit(1);
    }
    return info.data;
}

static int64_t TN(const char *name)
{
    ClvTensorInfo info;
    if (clv_clvm_find(G, name, &info) != CLV_OK) {
        fprintf(stderr, "golden tensor '%s' missing\n", name);
        exit(1);
    }
    return info.count;
}

static const int64_t *cfg(const char *c, int want)
{
    char key[128];
    snprintf(key, sizeof key, "%s.cfg", c);
    const int64_t *v;
    int n;
    if (clv_clvm_meta_ints(G, key, &v, &n) != CLV_OK || n != want) {
        fprintf(stderr, "golden metadata '%s' missing or of the wrong length\n", key);
        exit(1);
    }
    return v;
}

/* Compares n floats; fails on NaN, on max_abs / max|ref| > TOL. */
static void cmp(const char *what, const float *got, const float *ref, size_t n)
{
    double max_abs = 0.0, max_ref = 0.0;
    int bad = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)got[i] - (double)ref[i]);
        if (!(d <= max_abs)) {
            if (d != d) bad = 1;
            else max_abs = d;
        }
        if (fabs(ref[i]) > max_ref) max_ref = fabs(ref[i]);
    }
    double rel = max_abs / (max_ref > 1e-30 ? max_ref : 1e-30);
    if (rel > worst_rel) worst_rel = rel;
    if (verbose) printf("  %-28s n=%-6zu max_abs=%.3e rel=%.3e\n", what, n, max_abs, rel);
    CHECK(!bad, "%s: NaN in output", what);
    CHECK(rel <= TOL, "%s: relative error %.3e > %.0e (max_abs %.3e)", what, rel, TOL, max_abs);
}

/* ------------------------------------------------------------------ cases --- */

static void test_linear(void)
{
    for (int i = 0; i < 3; i++) {
        char c[32];
        snprintf(c, sizeof c, "linear%d", i);
        const int64_t *p = cfg(c, 4);
        int n = (int)p[0], in = (int)p[1], out = (int)p[2];
        ClvLinear l = {in, out, T("%s.w", c), p[3] ? T("%s.b", c) : NULL};
        float *y = buf((size_t)n * out);
        clv_linear(&l, T("%s.x", c), n, y);
        guard_ok(y, (size_t)n * out, c);
        cmp(c, y, T("%s.y", c), (size_t)n * out);
        /* packed weights, frame by frame */
        ClvArena a;
        const float *packed = (const float *)&a;
        clv_arena_init_sizing(&a);
        CHECK(clv_linear_pack(&l, &a, &packed) == CLV_OK && packed == NULL, "pack sizing");
        CHECK(clv_arena_used(&a) >= clv_nn_packed_floats(out, in) * sizeof(float), "packed size");
        CHECK(clv_arena_new(&a, clv_arena_used(&a)) == CLV_OK &&
                  clv_linear_pack(&l, &a, &packed) == CLV_OK && packed != NULL,
              "pack");
        for (int t = 0; t < n; t++)
            clv_linear_packed(&l, packed, T("%s.x", c) + (size_t)t * in, y + (size_t)t * out);
        guard_ok(y, (size_t)n * out, c);
        char what[64];
        snprintf(what, sizeof what, "%s packed per frame", c);
        cmp(what, y, T("%s.y", c), (size_t)n * out);
        clv_arena_free(&a);
        free(y);
    }
}

static void test_conv1d(void)
{
    for (int i = 0; i < 8; i++) {
        char c[32];
        snprintf(c, sizeof c, "conv1d%d", i);
        const int64_t *p = cfg(c, 9);
        ClvConv1d cv = {(int)p[0], (int)p[1], (int)p[2], (int)p[3], (int)p[4], (int)p[5], (int)p[6],
                        T("%s.w", c), p[7] ? T("%s.b", c) : NULL};
        int L = (int)p[8];
        CHECK(clv_conv1d_check(&cv) == CLV_OK, "%s: check", c);
        int ol = clv_conv1d_out_len(&cv, L);
        CHECK((int64_t)ol * cv.out_ch == TN(strcat(strcpy((char[64]){0}, c), ".y")), "%s: out_len", c);
        size_t ns = clv_conv1d_scratch(&cv, L);
        float *s = buf(ns), *y = buf((size_t)cv.out_ch * ol);
        clv_conv1d(&cv, T("%s.x", c), L, y, s);
        guard_ok(s, ns, c);
        guard_ok(y, (size_t)cv.out_ch * ol, c);
        cmp(c, y, T("%s.y", c), (size_t)cv.out_ch * ol);
        free(s);
        free(y);
    }
}

static void test_conv1d_stream(void)
{
    static const int chunks[] = {1, 7, 64, 0 /* irregular */};
    for (int i = 0; i < 5; i++) {
        char c[32];
        snprintf(c, sizeof c, "conv1ds%d", i);
        const int64_t *p = cfg(c, 7);
        ClvConv1d cv = {(int)p[0], (int)p[1], (int)p[2], (int)p[3], 0, (int)p[4], 1, T("%s.w", c),
                        T("%s.b", c)};
        int pad_left = (int)p[5], L = (int)p[6];
        const float *x = T("%s.x", c);
        const int64_t total = TN(strcat(strcpy((char[64]){0}, c), ".y")) / cv.out_ch;
        for (size_t k = 0; k < sizeof chunks / sizeof *chunks; k++) {
            int chunk = chunks[k] ? chunks[k] : 13;
            ClvArena a;
            ClvConv1dStream st;
            clv_arena_init_sizing(&a);
            CHECK(clv_conv1d_stream_init(&st, &cv, chunk, pad_left, &a) == CLV_OK, "%s: sizing", c);
            CHECK(clv_arena_new(&a, clv_arena_used(&a)) == CLV_OK, "arena");
            CHECK(clv_conv1d_stream_init(&st, &cv, chunk, pad_left, &a) == CLV_OK, "%s: init", c);
            CHECK(!clv_arena_overflowed(&a), "%s: arena overflow", c);
            int maxo = clv_conv1d_stream_max_out(&st);
            float *xin = buf((size_t)cv.in_ch * chunk), *yo = buf((size_t)cv.out_ch * (maxo + 1));
            float *yall = buf((size_t)cv.out_ch * (total + 1));
            int64_t got = 0;
            for (int pass = 0; pass < 2; pass++) { /* second pass checks reset */
                got = 0;
                if (pass) clv_conv1d_stream_reset(&st);
                int pos = 0, step = 0;
                while (pos < L) {
                    int n = chunks[k] ? chunk : 1 + (step * 5) % chunk; /* 1, 6, 11, 3, ... */
                    step++;
                    if (n > L - pos) n = L - pos;
                    for (int ci = 0; ci < cv.in_ch; ci++)
                        memcpy(xin + (size_t)ci * n, x + (size_t)ci * L + pos, (size_t)n * sizeof *x);
                    int no = clv_conv1d_stream_process(&st, xin, n, yo);
                    CHECK(no >= 0 && no <= maxo, "%s: %d outputs, max %d", c, no, maxo);
                    if (no < 0 || no > maxo || got + no > total) {
                        CHECK(0, "%s: too many outputs", c);
                        break;
                    }
                    for (int co = 0; co < cv.out_ch; co++)
                        memcpy(yall + (size_t)co * total + got, yo + (size_t)co * no, (size_t)no * sizeof *yo);
                    got += no;
                    pos += n;
                    /* Zero-length calls in between change nothing. */
                    CHECK(clv_conv1d_stream_process(&st, xin, 0, yo) == 0 || pad_left > 0,
                          "%s: empty call produced output", c);
                }
            }
            guard_ok(yo, (size_t)cv.out_ch * (maxo + 1), c);
            CHECK(got == total, "%s chunk %d: %lld outputs, expected %lld", c, chunk, (long long)got,
                  (long long)total);
            char what[64];
            snprintf(what, sizeof what, "%s chunk %s%d", c, chunks[k] ? "" : "~", chunk);
            if (got == total) cmp(what, yall, T("%s.y", c), (size_t)cv.out_ch * total);
            free(xin);
            free(yo);
            free(yall);
            clv_arena_free(&a);
        }
    }
}

static void test_convt1d(void)
{
    for (int i = 0; i < 4; i++) {
        char c[32];
        snprintf(c, sizeof c, "convt1d%d", i);
        const int64_t *p = cfg(c, 10);
        ClvConvT1d cv = {(int)p[0], (int)p[1], (int)p[2], (int)p[3], (int)p[4], (int)p[5], (int)p[6],
                         (int)p[7], T("%s.w", c), p[8] ? T("%s.b", c) : NULL};
        int L = (int)p[9];
        CHECK(clv_conv_transpose1d_check(&cv) == CLV_OK, "%s: check", c);
        int ol = clv_conv_transpose1d_out_len(&cv, L);
        size_t ns = clv_conv_transpose1d_scratch(&cv, L);
        float *s = buf(ns), *y = buf((size_t)cv.out_ch * ol);
        clv_conv_transpose1d(&cv, T("%s.x", c), L, y, s);
        guard_ok(s, ns, c);
        guard_ok(y, (size_t)cv.out_ch * ol, c);
        cmp(c, y, T("%s.y", c), (size_t)cv.out_ch * ol);
        free(s);
        free(y);
    }
}

static void test_conv2d(void)
{
    for (int i = 0; i < 6; i++) {
        char c[32];
        snprintf(c, sizeof c, "conv2d%d", i);
        const int64_t *p = cfg(c, 14);
        ClvConv2d cv = {(int)p[0], (int)p[1], (int)p[2], (int)p[3], (int)p[4], (int)p[5], (int)p[6],
                        (int)p[7], (int)p[8], (int)p[9], (int)p[10], T("%s.w", c),
                        p[11] ? T("%s.b", c) : NULL};
        int H = (int)p[12], W = (int)p[13];
        CHECK(clv_conv2d_check(&cv) == CLV_OK, "%s: check", c);
        size_t no = (size_t)cv.out_ch * clv_conv2d_out_h(&cv, H) * clv_conv2d_out_w(&cv, W);
        size_t ns = clv_conv2d_scratch(&cv, H, W);
        float *s = buf(ns), *y = buf(no);
        clv_conv2d(&cv, T("%s.x", c), H, W, y, s);
        guard_ok(s, ns, c);
        guard_ok(y, no, c);
        cmp(c, y, T("%s.y", c), no);
        free(s);
        free(y);
    }
}

/* Whole-sequence multi-layer (bi)directional RNN from bound cells; y [T, dirs*H]. */
static void rnn_forward(ClvRnnKind kind, const char *prefix, int in, int H, int layers, int bidir,
                        const float *x, int Tn, float *y)
{
    const int dirs = bidir ? 2 : 1;
    float *h = buf((size_t)H), *cs = buf((size_t)H), *prev = NULL;
    const float *lin = x;
    for (int l = 0; l < layers; l++) {
        float *out = l == layers - 1 ? y : buf((size_t)Tn * dirs * H);
        for (int d = 0; d < dirs; d++) {
            ClvRnnCell cell;
            CHECK(clv_nn_bind_rnn_cell(G, prefix, kind, l, d, l ? dirs * H : in, H, &cell) == CLV_OK,
                  "%s: bind layer %d dir %d", prefix, l, d);
            size_t ns = clv_rnn_sequence_scratch(kind, &cell, Tn);
            float *s = buf(ns);
            memset(h, 0, (size_t)H * sizeof *h);
            memset(cs, 0, (size_t)H * sizeof *cs);
            if (kind == CLV_RNN_GRU) clv_gru_sequence(&cell, lin, Tn, d, h, out + d * H, dirs * H, s);
            else clv_lstm_sequence(&cell, lin, Tn, d, h, cs, out + d * H, dirs * H, s);
            guard_ok(s, ns, prefix);
            free(s);
        }
        free(prev);
        prev = l == layers - 1 ? NULL : out;
        lin = out;
    }
    free(prev);
    free(h);
    free(cs);
}

static void test_rnn(void)
{
    for (int i = 0; i < 5; i++) {
        char c[32];
        snprintf(c, sizeof c, "rnn%d", i);
        const int64_t *p = cfg(c, 7);
        ClvRnnKind kind = p[0] ? CLV_RNN_LSTM : CLV_RNN_GRU;
        int in = (int)p[1], H = (int)p[2], layers = (int)p[3], bidir = (int)p[4], Tn = (int)p[6];
        int dirs = bidir ? 2 : 1;
        const float *x = T("%s.x", c), *yref = T("%s.y", c);
        float *y = buf((size_t)Tn * dirs * H);
        rnn_forward(kind, c, in, H, layers, bidir, x, Tn, y);
        guard_ok(y, (size_t)Tn * dirs * H, c);
        cmp(c, y, yref, (size_t)Tn * dirs * H);
        free(y);
        if (bidir) continue;
        /* Streaming: the same stack stepped one frame at a time. */
        ClvRnnCell cells[CLV_RNN_MAX_LAYERS];
        for (int l = 0; l < layers; l++)
            CHECK(clv_nn_bind_rnn_cell(G, c, kind, l, 0, l ? H : in, H, &cells[l]) == CLV_OK, "bind");
        ClvArena a;
        ClvRnnStream st;
        clv_arena_init_sizing(&a);
        clv_rnn_stream_init(&st, kind, layers, cells, &a);
        CHECK(clv_arena_new(&a, clv_arena_used(&a)) == CLV_OK, "arena");
        CHECK(clv_rnn_stream_init(&st, kind, layers, cells, &a) == CLV_OK, "%s: stream init", c);
        float *ys = buf((size_t)Tn * H);
        for (int pass = 0; pass < 2; pass++) {
            if (pass) clv_rnn_stream_reset(&st);
            for (int t = 0; t < Tn; t++) clv_rnn_stream_step(&st, x + (size_t)t * in, ys + (size_t)t * H);
        }
        CHECK(memcmp(clv_rnn_stream_output(&st), ys + (size_t)(Tn - 1) * H, (size_t)H * sizeof *ys) == 0,
              "%s: stream output", c);
        char what[48];
        snprintf(what, sizeof what, "%s stream step", c);
        cmp(what, ys, yref, (size_t)Tn * H);
        free(ys);
        clv_arena_free(&a);
    }
}

static void test_mha(void)
{
    for (int i = 0; i < 3; i++) {
        char c[32];
        snprintf(c, sizeof c, "mha%d", i);
        const int64_t *p = cfg(c, 5);
        int E = (int)p[0], Tn = (int)p[2];
        ClvMha m = {E, (int)p[1], T("%s.in_w", c), p[4] ? T("%s.in_b", c) : NULL, T("%s.out_w", c),
                    p[4] ? T("%s.out_b", c) : NULL};
        CHECK(clv_mha_check(&m) == CLV_OK, "%s: check", c);
        size_t ns = clv_mha_scratch(&m, Tn);
        float *s = buf(ns), *y = buf((size_t)Tn * E);
        clv_mha_self(&m, T("%s.x", c), Tn, (int)p[3], y, s);
        guard_ok(s, ns, c);
        cmp(c, y, T("%s.y", c), (size_t)Tn * E);
        free(s);
        free(y);
    }
}

static void test_norms(void)
{
    float *y = buf(6 * 20);
    clv_layernorm(T("layernorm.x"), 6, 20, T("layernorm.g"), T("layernorm.b"), 1e-5f, y);
    cmp("layernorm", y, T("layernorm.y"), 6 * 20);
    memcpy(y, T("layernorm.x"), 6 * 20 * sizeof *y); /* in place */
    clv_layernorm(y, 6, 20, T("layernorm.g"), T("layernorm.b"), 1e-5f, y);
    cmp("layernorm in place", y, T("layernorm.y"), 6 * 20);
    free(y);
    y = buf(8 * 15);
    clv_groupnorm(T("groupnorm.x"), 8, 15, 4, T("groupnorm.g"), T("groupnorm.b"), 1e-5f, y);
    cmp("groupnorm", y, T("groupnorm.y"), 8 * 15);
    free(y);
    y = buf(5 * 11);
    clv_batchnorm(T("batchnorm.x"), 5, 11, T("batchnorm.mean"), T("batchnorm.var"), T("batchnorm.g"),
                  T("batchnorm.b"), 1e-5f, y);
    cmp("batchnorm", y, T("batchnorm.y"), 5 * 11);
    free(y);
}

static void test_activations(void)
{
    const size_t n = (size_t)TN("act.x");
    float *y = buf(n);
#define ACT(name, call)                                                                  \
    do {                                                                                 \
        memcpy(y, T("act.x"), n * sizeof *y);                                            \
        call;                                                                            \
        guard_ok(y, n, name);                                                            \
        cmp(name, y, T("act." name), n);                                                 \
    } while (0)
    ACT("relu", clv_relu(y, n));
    ACT("leaky", clv_leaky_relu(y, n, 0.1f));
    ACT("gelu", clv_gelu(y, n));
    ACT("gelu_tanh", clv_gelu_tanh(y, n));
    ACT("tanh", clv_tanh(y, n));
    ACT("sigmoid", clv_sigmoid(y, n));
#undef ACT
    free(y);
    y = buf(5 * 13);
    memcpy(y, T("softmax.x"), 5 * 13 * sizeof *y);
    clv_softmax(y, 5, 13);
    cmp("softmax", y, T("softmax.y"), 5 * 13);
    free(y);
    y = buf(4 * 9);
    clv_glu(T("glu0.x"), 1, 4, 9, y);
    guard_ok(y, 4 * 9, "glu0");
    cmp("glu dim 0", y, T("glu0.y"), 4 * 9);
    free(y);
    y = buf(5 * 6);
    clv_glu(T("glu1.x"), 5, 6, 1, y);
    cmp("glu dim -1", y, T("glu1.y"), 5 * 6);
    free(y);
}

static void test_pool_upsample(void)
{
    int ol = clv_pool_out_len(21, 3, 2, 1);
    float *y = buf((size_t)4 * ol);
    clv_maxpool1d(T("pool1d.x"), 4, 21, 3, 2, 1, y);
    cmp("maxpool1d", y, T("pool1d.max"), (size_t)4 * ol);
    clv_avgpool1d(T("pool1d.x"), 4, 21, 3, 2, 1, y);
    cmp("avgpool1d", y, T("pool1d.avg"), (size_t)4 * ol);
    clv_global_avgpool(T("pool1d.x"), 4, 21, y);
    cmp("global avgpool", y, T("pool1d.gavg"), 4);
    clv_global_maxpool(T("pool1d.x"), 4, 21, y);
    cmp("global maxpool", y, T("pool1d.gmax"), 4);
    free(y);
    int oh = clv_pool_out_len(10, 3, 2, 1), ow = clv_pool_out_len(9, 2, 2, 0);
    y = buf((size_t)3 * oh * ow);
    clv_maxpool2d(T("pool2d.x"), 3, 10, 9, 3, 2, 2, 2, 1, 0, y);
    guard_ok(y, (size_t)3 * oh * ow, "maxpool2d");
    cmp("maxpool2d", y, T("pool2d.max"), (size_t)3 * oh * ow);
    clv_avgpool2d(T("pool2d.x"), 3, 10, 9, 3, 2, 2, 2, 1, 0, y);
    cmp("avgpool2d", y, T("pool2d.avg"), (size_t)3 * oh * ow);
    free(y);
    y = buf(3 * 30);
    clv_upsample_linear(T("upsample.x"), 3, 11, 21, 1, y);
    cmp("upsample linear ac", y, T("upsample.lin_ac"), 3 * 21);
    clv_upsample_linear(T("upsample.x"), 3, 11, 30, 0, y);
    guard_ok(y, 3 * 30, "upsample");
    cmp("upsample linear", y, T("upsample.lin"), 3 * 30);
    clv_upsample_linear(T("upsample.x"), 3, 11, 7, 0, y);
    cmp("downsample linear", y, T("upsample.lin_down"), 3 * 7);
    clv_upsample_nearest(T("upsample.x"), 3, 11, 25, y);
    cmp("upsample nearest", y, T("upsample.nearest"), 3 * 25);
    free(y);
}

/* --------------------------------------------------------------- networks --- */

static void test_masknet(void)
{
    const int bins = 33, H = 24, Tn = 12;
    ClvLinear fin, fout;
    ClvRnnCell cells[2];
    CHECK(clv_nn_bind_linear(G, "masknet.fc_in", bins, H, &fin) == CLV_OK, "bind");
    CHECK(clv_nn_bind_linear(G, "masknet.fc_out", H, bins, &fout) == CLV_OK, "bind");
    for (int l = 0; l < 2; l++)
        CHECK(clv_nn_bind_rnn_cell(G, "masknet.gru", CLV_RNN_GRU, l, 0, H, H, &cells[l]) == CLV_OK, "bind");
    ClvArena a;
    ClvRnnStream st;
    float *h = NULL, *y = NULL;
    const float *pin = NULL, *pout = NULL;
    for (int pass = 0; pass < 2; pass++) { /* sizing, then real: the network's layout function */
        if (pass == 0) clv_arena_init_sizing(&a);
        else CHECK(clv_arena_new(&a, clv_arena_used(&a)) == CLV_OK, "arena");
        clv_rnn_stream_init(&st, CLV_RNN_GRU, 2, cells, &a);
        clv_linear_pack(&fin, &a, &pin);
        clv_linear_pack(&fout, &a, &pout);
        h = clv_arena_floats(&a, (size_t)H);
        y = clv_arena_floats(&a, (size_t)Tn * bins);
    }
    CHECK(!clv_arena_overflowed(&a) && h && y && pin && pout, "arena layout");
    const float *x = T("masknet.x");
    for (int t = 0; t < Tn; t++) {
        clv_linear_packed(&fin, pin, x + (size_t)t * bins, h);
        clv_relu(h, (size_t)H);
        clv_rnn_stream_step(&st, h, h);
        clv_linear_packed(&fout, pout, h, y + (size_t)t * bins);
        clv_sigmoid(y + (size_t)t * bins, (size_t)bins);
    }
    cmp("net: GRU mask (streaming)", y, T("masknet.y"), (size_t)Tn * bins);
    clv_arena_free(&a);
}

static void conv1d_layer(const char *prefix, int cin, int cout, int k, int stride, int pad,
                         const float *x, int L, float *y, int *out_len)
{
    ClvConv1d c = {cin, cout, k, stride, pad, 1, 1, NULL, NULL};
    CHECK(clv_nn_bind_conv1d(G, prefix, &c) == CLV_OK, "bind %s", prefix);
    *out_len = clv_conv1d_out_len(&c, L);
    float *s = buf(clv_conv1d_scratch(&c, L));
    clv_conv1d(&c, x, L, y, s);
    free(s);
}

static void test_waveunet(void)
{
    const int ch = 4, L0 = 81;
    const float *x = T("waveunet.x");
    float *s1 = buf(4096), *h = buf(4096), *s2 = buf(4096), *u = buf(4096), *cat = buf(8192);
    int l1, l2, lh, lu;
    conv1d_layer("waveunet.d1", 1, ch, 5, 1, 0, x, L0, s1, &l1);
    clv_leaky_relu(s1, (size_t)ch * l1, 0.1f);
    clv_decimate1d(s1, ch, l1, 2, h);
    lh = (l1 + 1) / 2;
    conv1d_layer("waveunet.d2", ch, 2 * ch, 5, 1, 0, h, lh, s2, &l2);
    clv_leaky_relu(s2, (size_t)2 * ch * l2, 0.1f);
    clv_decimate1d(s2, 2 * ch, l2, 2, h);
    lh = (l2 + 1) / 2;
    conv1d_layer("waveunet.mid", 2 * ch, 2 * ch, 3, 1, 0, h, lh, u, &lu);
    clv_leaky_relu(u, (size_t)2 * ch * lu, 0.1f);
    clv_upsample_linear(u, 2 * ch, lu, 2 * lu - 1, 1, h);
    lh = 2 * lu - 1;
    /* crop s2 to lh centrally and concat after h along channels */
    clv_crop1d(s2, 2 * ch, l2, clv_crop_center(l2, lh), lh, u);
    clv_concat(h, (size_t)2 * ch * lh, u, (size_t)2 * ch * lh, 1, cat);
    conv1d_layer("waveunet.u2", 4 * ch, ch, 5, 1, 0, cat, lh, u, &lu);
    clv_leaky_relu(u, (size_t)ch * lu, 0.1f);
    clv_upsample_linear(u, ch, lu, 2 * lu - 1, 1, h);
    lh = 2 * lu - 1;
    clv_crop1d(s1, ch, l1, clv_crop_center(l1, lh), lh, u);
    clv_concat(h, (size_t)ch * lh, u, (size_t)ch * lh, 1, cat);
    conv1d_layer("waveunet.u1", 2 * ch, ch, 5, 1, 0, cat, lh, u, &lu);
    clv_leaky_relu(u, (size_t)ch * lu, 0.1f);
    clv_crop1d(x, 1, L0, clv_crop_center(L0, lu), lu, h);
    clv_concat(u, (size_t)ch * lu, h, (size_t)lu, 1, cat);
    conv1d_layer("waveunet.out", ch + 1, 1, 1, 1, 0, cat, lu, h, &lh);
    clv_tanh(h, (size_t)lh);
    CHECK(lh == TN("waveunet.y"), "waveunet: length %d", lh);
    cmp("net: Wave-U-Net", h, T("waveunet.y"), (size_t)lh);
    free(s1);
    free(h);
    free(s2);
    free(u);
    free(cat);
}

static void convt_layer(const char *prefix, int cin, int cout, int k, int stride, const float *x,
                        int L, float *y, int *out_len)
{
    ClvConvT1d c = {cin, cout, k, stride, 0, 0, 1, 1, NULL, NULL};
    CHECK(clv_nn_bind_conv_transpose1d(G, prefix, &c) == CLV_OK, "bind %s", prefix);
    *out_len = clv_conv_transpose1d_out_len(&c, L);
    float *s = buf(clv_conv_transpose1d_scratch(&c, L));
    clv_conv_transpose1d(&c, x, L, y, s);
    free(s);
}

static void test_demucs(void)
{
    const int ch = 4, L0 = 340;
    const float *x = T("demucs.x");
    float *a = buf(8192), *b = buf(8192), *s1 = buf(4096), *s2 = buf(4096), *t = buf(4096);
    int l1, l2, l;
    const float *g, *be;
    /* encoder 1: conv(8, 4) -> GroupNorm -> ReLU -> 1x1 conv -> GLU */
    conv1d_layer("demucs.e1", 1, ch, 8, 4, 0, x, L0, a, &l1);
    CHECK(clv_nn_bind_norm(G, "demucs.gn", ch, &g, &be) == CLV_OK && g && be, "bind gn");
    clv_groupnorm(a, ch, l1, 2, g, be, 1e-5f, a);
    clv_relu(a, (size_t)ch * l1);
    conv1d_layer("demucs.e1b", ch, 2 * ch, 1, 1, 0, a, l1, b, &l);
    clv_glu(b, 1, ch, l1, s1);
    /* encoder 2 */
    conv1d_layer("demucs.e2", ch, 2 * ch, 8, 4, 0, s1, l1, a, &l2);
    clv_relu(a, (size_t)2 * ch * l2);
    conv1d_layer("demucs.e2b", 2 * ch, 4 * ch, 1, 1, 0, a, l2, b, &l);
    clv_glu(b, 1, 2 * ch, l2, s2);
    /* BiLSTM bottleneck over time, then linear back to 2ch */
    clv_transpose(s2, 2 * ch, l2, t); /* [l2, 2ch] */
    rnn_forward(CLV_RNN_LSTM, "demucs.lstm", 2 * ch, 2 * ch, 1, 1, t, l2, a); /* [l2, 4ch] */
    ClvLinear lin;
    CHECK(clv_nn_bind_linear(G, "demucs.lin", 4 * ch, 2 * ch, &lin) == CLV_OK, "bind lin");
    clv_linear(&lin, a, l2, b); /* [l2, 2ch] */
    clv_transpose(b, l2, 2 * ch, a); /* [2ch, l2] */
    clv_add(a, s2, (size_t)2 * ch * l2);
    /* decoder 2: conv3 -> GLU -> convT(8, 4) -> ReLU, + skip */
    conv1d_layer("demucs.d2a", 2 * ch, 4 * ch, 3, 1, 1, a, l2, b, &l);
    clv_glu(b, 1, 2 * ch, l2, t);
    convt_layer("demucs.d2", 2 * ch, ch, 8, 4, t, l2, a, &l);
    clv_relu(a, (size_t)ch * l);
    clv_crop1d(s1, ch, l1, 0, l, b);
    clv_add(a, b, (size_t)ch * l);
    /* decoder 1 */
    conv1d_layer("demucs.d1a", ch, 2 * ch, 3, 1, 1, a, l, b, &l1);
    clv_glu(b, 1, ch, l1, t);
    convt_layer("demucs.d1", ch, 1, 8, 4, t, l1, a, &l);
    CHECK(l == TN("demucs.y"), "demucs: length %d", l);
    cmp("net: Demucs-like", a, T("demucs.y"), (size_t)l);
    free(a);
    free(b);
    free(s1);
    free(s2);
    free(t);
}

static void test_tagger(void)
{
    const int mels = 16, frames = 20, classes = 5;
    float *a = buf(8192), *b = buf(8192), *s = buf(8192);
    ClvConv2d c1 = {1, 6, 3, 3, 1, 1, 1, 1, 1, 1, 1, NULL, NULL};
    ClvConv2d c2 = {6, 8, 3, 3, 1, 1, 1, 1, 1, 1, 1, NULL, NULL};
    CHECK(clv_nn_bind_conv2d(G, "tagger.c1", &c1) == CLV_OK, "bind c1");
    CHECK(clv_nn_bind_conv2d(G, "tagger.c2", &c2) == CLV_OK, "bind c2");
    clv_conv2d(&c1, T("tagger.x"), mels, frames, a, s); /* BN folded at export */
    clv_relu(a, (size_t)6 * mels * frames);
    clv_maxpool2d(a, 6, mels, frames, 2, 2, 2, 2, 0, 0, b);
    int h = mels / 2, w = frames / 2;
    clv_conv2d(&c2, b, h, w, a, s);
    clv_relu(a, (size_t)8 * h * w);
    clv_maxpool2d(a, 8, h, w, 2, 2, 2, 2, 0, 0, b);
    h /= 2;
    w /= 2;
    /* mean over frequency -> [frames, 8] */
    for (int t = 0; t < w; t++)
        for (int c = 0; c < 8; c++) {
            float m = 0.0f;
            for (int f = 0; f < h; f++) m += b[((size_t)c * h + f) * w + t];
            a[(size_t)t * 8 + c] = m / (float)h;
        }
    rnn_forward(CLV_RNN_GRU, "tagger.gru", 8, 12, 1, 0, a, w, b); /* [w, 12] */
    ClvLinear fc;
    CHECK(clv_nn_bind_linear(G, "tagger.fc", 12, classes, &fc) == CLV_OK, "bind fc");
    clv_linear(&fc, b, w, a); /* [w, classes] */
    clv_transpose(a, w, classes, b);
    clv_global_avgpool(b, classes, w, a);
    clv_softmax(a, 1, classes);
    cmp("net: CRNN tagger", a, T("tagger.y"), (size_t)classes);
    free(a);
    free(b);
    free(s);
}

/* --------------------------------------------------- direct GEMM checks --- */

/* clv_gemm against a double-precision reference, every transpose combination and
 * odd sizes (tile edges), both backends. */
static void test_gemm(void)
{
    static const int sizes[][3] = {{1, 1, 1}, {1, 37, 19}, {23, 1, 17}, {7, 33, 300}, {61, 45, 29},
                                   {96, 100, 257}, {5, 200, 1}};
    for (size_t si = 0; si < sizeof sizes / sizeof *sizes; si++) {
        int M = sizes[si][0], N = sizes[si][1], K = sizes[si][2];
        for (int ta = 0; ta < 2; ta++)
            for (int tb = 0; tb < 2; tb++) {
                float *A = buf((size_t)M * K), *B = buf((size_t)K * N), *C = buf((size_t)M * N),
                      *R = buf((size_t)M * N);
                uint32_t r = 12345u + (uint32_t)si;
                for (int i = 0; i < M * K; i++) A[i] = (float)((r = r * 1664525u + 1013904223u) >> 8) / 16777216.0f - 0.5f;
                for (int i = 0; i < K * N; i++) B[i] = (float)((r = r * 1664525u + 1013904223u) >> 8) / 16777216.0f - 0.5f;
                for (int i = 0; i < M * N; i++) C[i] = R[i] = (float)i * 0.01f;
                const float alpha = 0.75f, beta = 0.5f;
                int lda = ta ? M : K, ldb = tb ? K : N;
                for (int i = 0; i < M; i++)
                    for (int j = 0; j < N; j++) {
                        double s = 0;
                        for (int k = 0; k < K; k++)
                            s += (double)(ta ? A[(size_t)k * lda + i] : A[(size_t)i * lda + k]) *
                                 (tb ? B[(size_t)j * ldb + k] : B[(size_t)k * ldb + j]);
                        R[(size_t)i * N + j] = (float)(alpha * s + beta * R[(size_t)i * N + j]);
                    }
                clv_gemm(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, N);
                guard_ok(C, (size_t)M * N, "gemm");
                char what[64];
                snprintf(what, sizeof what, "gemm %dx%dx%d %c%c", M, N, K, ta ? 'T' : 'N', tb ? 'T' : 'N');
                cmp(what, C, R, (size_t)M * N);
                /* beta = 0 must ignore NaN in C */
                for (int i = 0; i < M * N; i++) C[i] = NAN;
                clv_gemm(ta, tb, M, N, K, 1.0f, A, lda, B, ldb, 0.0f, C, N);
                int nan = 0;
                for (int i = 0; i < M * N; i++) nan |= C[i] != C[i];
                CHECK(!nan, "%s: beta 0 kept a NaN", what);
                free(A);
                free(B);
                free(C);
                free(R);
            }
    }
}

static char last_log[512];

static void capture_fn(void *user, ClvLogLevel level, const char *msg)
{
    (void)user;
    (void)level;
    snprintf(last_log, sizeof last_log, "%s", msg);
}

static void test_bind_errors(const char *path)
{
    /* Errors name the file, the tensor and both shapes. */
    ClvLog cap = {capture_fn, NULL};
    ClvClvm *m;
    CHECK(clv_clvm_load(path, &cap, &m) == CLV_OK, "reload");
    if (!m) return;
    ClvLinear l;
    last_log[0] = 0;
    ClvStatus st = clv_nn_bind_linear(m, "masknet.fc_in", 128, 24, &l);
    CHECK(st == CLV_ERR_SHAPE, "wrong in_features: %s", clv_strerror(st));
    CHECK(strstr(last_log, "masknet.fc_in.weight") && strstr(last_log, "[24, 33]") &&
              strstr(last_log, "[24, 128]") && strstr(last_log, path),
          "shape message: '%s'", last_log);
    st = clv_nn_bind_linear(m, "nonexistent", 128, 64, &l);
    CHECK(st == CLV_ERR_NOT_FOUND && strstr(last_log, "nonexistent.weight"), "missing layer: %s '%s'",
          clv_strerror(st), last_log);
    ClvConv1d c = {1, 4, 5, 1, 0, 1, 1, NULL, NULL};
    CHECK(clv_nn_bind_conv1d(m, "waveunet.d1", &c) == CLV_OK && c.weight && c.bias, "conv1d bind");
    c.kernel = 4;
    CHECK(clv_nn_bind_conv1d(m, "waveunet.d1", &c) == CLV_ERR_SHAPE, "conv1d wrong kernel");
    ClvRnnCell cell;
    CHECK(clv_nn_bind_rnn_cell(m, "masknet.gru", CLV_RNN_LSTM, 0, 0, 24, 24, &cell) == CLV_ERR_SHAPE,
          "GRU weights bound as LSTM");
    CHECK(strstr(last_log, "[72, 24]") && strstr(last_log, "[96, 24]"), "rnn message '%s'", last_log);
    const float *w;
    CHECK(CLV_CLVM_BIND(m, "masknet.fc_in.weight", &w, -1, 33) == CLV_OK && w, "wildcard dim");
    CHECK(CLV_CLVM_BIND(m, "masknet.fc_in.weight", &w, 24) == CLV_ERR_SHAPE && !w, "rank mismatch");
    clv_clvm_free(m);
}

/* The vectorised sigmoid / tanh against double-precision libm over a dense grid,
 * elementwise (relative error where |f| >= 1e-30, else absolute), plus the
 * special values PyTorch defines: NaN stays NaN, +-inf saturate, -0 stays -0. */
static void test_math(void)
{
    const int n = 200001;
    float *x = buf((size_t)n), *s = buf((size_t)n), *t = buf((size_t)n);
    for (int i = 0; i < n; i++) x[i] = -100.0f + 200.0f * (float)i / (float)(n - 1);
    x[n / 2] = -0.0f;
    memcpy(s, x, (size_t)n * sizeof *x);
    memcpy(t, x, (size_t)n * sizeof *x);
    clv_sigmoid(s, (size_t)n);
    clv_tanh(t, (size_t)n);
    double es = 0, et = 0;
    for (int i = 0; i < n; i++) {
        double rs = 1.0 / (1.0 + exp(-(double)x[i])), rt = tanh((double)x[i]);
        double ds = fabs(s[i] - rs) / (rs > 1e-30 ? rs : 1.0);
        double dt = fabs(t[i] - rt) / (fabs(rt) > 1e-30 ? fabs(rt) : 1.0);
        /* sigmoid below exp(-87) is clamped near 1e-38 (zero after FTZ): absolute */
        if (x[i] < -87.0f) ds = fabs(s[i] - rs);
        if (!(ds <= es)) es = ds;
        if (!(dt <= et)) et = dt;
    }
    if (verbose) printf("  %-28s sigmoid max rel %.2e, tanh max rel %.2e\n", "vector math vs libm", es, et);
    CHECK(es < 2e-6 && et < 2e-6, "sigmoid %.3e tanh %.3e", es, et);
    CHECK(signbit(t[n / 2]) && t[n / 2] == 0.0f, "tanh(-0) = -0");
    float sp[5] = {NAN, INFINITY, -INFINITY, 1e30f, -1e30f};
    float tp[5];
    memcpy(tp, sp, sizeof sp);
    clv_sigmoid(sp, 5);
    clv_tanh(tp, 5);
    CHECK(isnan(sp[0]) && isnan(tp[0]), "NaN propagates");
    CHECK(sp[1] == 1.0f && sp[2] < 1e-30f && sp[2] >= 0.0f && sp[3] == 1.0f && sp[4] < 1e-30f,
          "sigmoid saturation %g %g %g %g", sp[1], sp[2], sp[3], sp[4]);
    CHECK(tp[1] == 1.0f && tp[2] == -1.0f && tp[3] == 1.0f && tp[4] == -1.0f, "tanh saturation");
    free(x);
    free(s);
    free(t);
}

/* The per-frame streaming paths allocate nothing and take no lock: run them with
 * the trap armed (see __wrap_malloc above). */
static void test_realtime(void)
{
    const int H = 24, bins = 33;
    ClvRnnCell g[2], l[1];
    ClvLinear fin, fout;
    ClvConv1d cv = {4, 6, 3, 1, 0, 2, 1, T("conv1ds0.w"), T("conv1ds0.b")};
    CHECK(clv_nn_bind_linear(G, "masknet.fc_in", bins, H, &fin) == CLV_OK, "bind");
    CHECK(clv_nn_bind_linear(G, "masknet.fc_out", H, bins, &fout) == CLV_OK, "bind");
    for (int i = 0; i < 2; i++)
        CHECK(clv_nn_bind_rnn_cell(G, "masknet.gru", CLV_RNN_GRU, i, 0, H, H, &g[i]) == CLV_OK, "bind");
    CHECK(clv_nn_bind_rnn_cell(G, "rnn2", CLV_RNN_LSTM, 0, 0, 12, 16, &l[0]) == CLV_OK, "bind");
    ClvArena a;
    ClvRnnStream gs, ls;
    ClvConv1dStream cs;
    const float *pin = NULL;
    float *h = NULL, *y = NULL, *co = NULL;
    for (int pass = 0; pass < 2; pass++) {
        if (pass == 0) clv_arena_init_sizing(&a);
        else CHECK(clv_arena_new(&a, clv_arena_used(&a)) == CLV_OK, "arena");
        clv_rnn_stream_init(&gs, CLV_RNN_GRU, 2, g, &a);
        clv_rnn_stream_init(&ls, CLV_RNN_LSTM, 1, l, &a);
        clv_conv1d_stream_init(&cs, &cv, 16, 4, &a);
        clv_linear_pack(&fin, &a, &pin);
        h = clv_arena_floats(&a, (size_t)H);
        y = clv_arena_floats(&a, (size_t)bins);
        co = clv_arena_floats(&a, (size_t)6 * 32);
    }
    CHECK(!clv_arena_overflowed(&a) && co, "arena layout");
    if (!co) return;
    trap_hits = 0;
    trap_on = 1;
    for (int t = 0; t < 50; t++) {
        const float *x = T("masknet.x") + (size_t)(t % 12) * bins;
        clv_linear_packed(&fin, pin, x, h);
        clv_relu(h, (size_t)H);
        clv_rnn_stream_step(&gs, h, h);
        clv_linear(&fout, h, 1, y);
        clv_sigmoid(y, (size_t)bins);
        clv_rnn_stream_step(&ls, x, NULL);
        clv_conv1d_stream_process(&cs, T("conv1ds0.x"), t % 16, co);
    }
    clv_rnn_stream_reset(&gs);
    clv_conv1d_stream_reset(&cs);
    trap_on = 0;
    CHECK(trap_hits == 0, "%ld allocations or locks in streaming kernels", trap_hits);
    /* The trap sees the library's own allocations (arena: aligned_alloc + free). */
    long calls = wrapped_calls;
    ClvArena probe;
    if (clv_arena_new(&probe, 100) == CLV_OK) clv_arena_free(&probe);
    CHECK(wrapped_calls == calls + 2, "allocation wrapping not active (%ld calls)", wrapped_calls - calls);
    clv_arena_free(&a);
}

/* Naive double-precision references for the direct small-K paths (few taps in
 * all), which the golden cases do not reach at every shape: odd channel counts
 * (rows past a register block), lengths that leave a partial vector block, and
 * the padded and strided variants. */
static float lcg_val(uint32_t *r)
{
    *r = *r * 1664525u + 1013904223u;
    return ((float)(*r >> 8) / 16777216.0f - 0.5f) * 2.0f;
}

static float *rand_buf(size_t n, uint32_t seed)
{
    float *p = buf(n);
    uint32_t r = seed;
    for (size_t i = 0; i < n; i++) p[i] = lcg_val(&r);
    return p;
}

static void ref_conv1d(const ClvConv1d *c, const float *x, int L, float *y)
{
    const int cin = c->in_ch / c->groups, cout = c->out_ch / c->groups;
    const int ol = clv_conv1d_out_len(c, L);
    for (int co = 0; co < c->out_ch; co++)
        for (int t = 0; t < ol; t++) {
            double a = c->bias ? c->bias[co] : 0.0;
            int g = co / cout;
            for (int ci = 0; ci < cin; ci++)
                for (int k = 0; k < c->kernel; k++) {
                    int i = t * c->stride + k * c->dilation - c->padding;
                    if (i >= 0 && i < L)
                        a += (double)c->weight[((size_t)co * cin + ci) * c->kernel + k] *
                             x[(size_t)(g * cin + ci) * L + i];
                }
            y[(size_t)co * ol + t] = (float)a;
        }
}

static void ref_conv2d(const ClvConv2d *c, const float *x, int H, int W, float *y)
{
    const int oh = clv_conv2d_out_h(c, H), ow = clv_conv2d_out_w(c, W);
    const int cin = c->in_ch / c->groups, cout = c->out_ch / c->groups;
    for (int co = 0; co < c->out_ch; co++)
        for (int oy = 0; oy < oh; oy++)
            for (int ox = 0; ox < ow; ox++) {
                double a = c->bias ? c->bias[co] : 0.0;
                int g = co / cout;
                for (int ci = 0; ci < cin; ci++)
                    for (int ki = 0; ki < c->kh; ki++)
                        for (int kj = 0; kj < c->kw; kj++) {
                            int iy = oy * c->sh + ki * c->dh - c->ph, ix = ox * c->sw + kj * c->dw - c->pw;
                            if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
                            a += (double)c->weight[(((size_t)co * cin + ci) * c->kh + ki) * c->kw + kj] *
                                 x[((size_t)(g * cin + ci) * H + iy) * W + ix];
                        }
                y[((size_t)co * oh + oy) * ow + ox] = (float)a;
            }
}

static void test_small_k(void)
{
    /* cin, cout, k, stride, pad, dilation, bias, L */
    static const int c1[][8] = {
        {1, 48, 8, 4, 0, 1, 1, 1024}, /* Demucs-like first layer */
        {1, 11, 8, 4, 2, 1, 1, 203},  /* padded: im2col path, 11 rows, partial block */
        {2, 13, 3, 1, 0, 2, 0, 77},   /* two channels read in place, dilated, no bias */
        {1, 5, 4, 2, 1, 1, 1, 19},    /* 9 outputs: one overlapping vector block at most */
        {1, 7, 5, 3, 0, 1, 1, 20},    /* 6 outputs: scalar */
    };
    for (size_t i = 0; i < sizeof c1 / sizeof *c1; i++) {
        const int *p = c1[i];
        char what[64];
        snprintf(what, sizeof what, "smallk conv1d%zu", i);
        float *w = rand_buf((size_t)p[1] * p[0] * p[2], 700 + (uint32_t)i);
        float *b = rand_buf((size_t)p[1], 710 + (uint32_t)i);
        float *x = rand_buf((size_t)p[0] * p[7], 720 + (uint32_t)i);
        ClvConv1d cv = {p[0], p[1], p[2], p[3], p[4], p[5], 1, w, p[6] ? b : NULL};
        CHECK(clv_conv1d_check(&cv) == CLV_OK, "%s: check", what);
        int ol = clv_conv1d_out_len(&cv, p[7]);
        size_t ns = clv_conv1d_scratch(&cv, p[7]), ny = (size_t)p[1] * ol;
        float *s = buf(ns), *y = buf(ny), *r = buf(ny);
        clv_conv1d(&cv, x, p[7], y, s);
        ref_conv1d(&cv, x, p[7], r);
        guard_ok(s, ns, what);
        guard_ok(y, ny, what);
        cmp(what, y, r, ny);
        /* The same conv streamed in chunks of 37 frames (pad 0 so the whole-signal
         * result is the reference), under the allocation trap. */
        if (p[4] == 0) {
            ClvArena a;
            ClvConv1dStream st;
            clv_arena_init_sizing(&a);
            clv_conv1d_stream_init(&st, &cv, 37, 0, &a);
            CHECK(clv_arena_new(&a, clv_arena_used(&a)) == CLV_OK, "%s: arena", what);
            CHECK(clv_conv1d_stream_init(&st, &cv, 37, 0, &a) == CLV_OK, "%s: stream init", what);
            int mo = clv_conv1d_stream_max_out(&st);
            float *yo = buf((size_t)p[1] * mo), *ys = buf(ny);
            int done = 0;
            trap_hits = 0;
            trap_on = 1;
            for (int t0 = 0; t0 < p[7]; t0 += 37) {
                int n = p[7] - t0 < 37 ? p[7] - t0 : 37;
                float xin[2 * 37];
                for (int ci = 0; ci < p[0]; ci++)
                    memcpy(xin + (size_t)ci * n, x + (size_t)ci * p[7] + t0, (size_t)n * sizeof *x);
                int k = clv_conv1d_stream_process(&st, xin, n, yo);
                for (int co = 0; co < p[1] && done + k <= ol; co++)
                    memcpy(ys + (size_t)co * ol + done, yo + (size_t)co * k, (size_t)k * sizeof *yo);
                done += k;
            }
            trap_on = 0;
            CHECK(trap_hits == 0, "%s: %ld allocations or locks while streaming", what, trap_hits);
            CHECK(done == ol, "%s: streamed %d frames, want %d", what, done, ol);
            snprintf(what, sizeof what, "smallk conv1d%zu stream", i);
            if (done == ol) cmp(what, ys, r, ny);
            free(yo);
            free(ys);
            clv_arena_free(&a);
        }
        free(w);
        free(b);
        free(x);
        free(s);
        free(y);
        free(r);
    }
    /* cout, kh, kw, ph, pw, dh, dw, H, W */
    static const int c2[][9] = {
        {32, 3, 3, 1, 1, 1, 1, 64, 100}, /* tagger first layer */
        {13, 3, 3, 1, 1, 1, 1, 9, 21},   /* odd channels, partial block */
        {12, 2, 3, 0, 0, 2, 1, 10, 40},  /* no padding (read in place), dilated rows */
        {9, 3, 5, 2, 0, 1, 2, 7, 30},    /* padding in one dim only */
        {6, 3, 3, 1, 1, 1, 1, 5, 5},     /* 5 columns: the GEMM path */
    };
    for (size_t i = 0; i < sizeof c2 / sizeof *c2; i++) {
        const int *p = c2[i];
        char what[64];
        snprintf(what, sizeof what, "smallk conv2d%zu", i);
        float *w = rand_buf((size_t)p[0] * p[1] * p[2], 730 + (uint32_t)i);
        float *b = rand_buf((size_t)p[0], 740 + (uint32_t)i);
        float *x = rand_buf((size_t)p[7] * p[8], 750 + (uint32_t)i);
        ClvConv2d cv = {1, p[0], p[1], p[2], 1, 1, p[3], p[4], p[5], p[6], 1, w, b};
        CHECK(clv_conv2d_check(&cv) == CLV_OK, "%s: check", what);
        size_t ny = (size_t)p[0] * clv_conv2d_out_h(&cv, p[7]) * clv_conv2d_out_w(&cv, p[8]);
        size_t ns = clv_conv2d_scratch(&cv, p[7], p[8]);
        float *s = buf(ns), *y = buf(ny), *r = buf(ny);
        clv_conv2d(&cv, x, p[7], p[8], y, s);
        ref_conv2d(&cv, x, p[7], p[8], r);
        guard_ok(s, ns, what);
        guard_ok(y, ny, what);
        cmp(what, y, r, ny);
        free(w);
        free(b);
        free(x);
        free(s);
        free(y);
        free(r);
    }
}

static void run_all(void)
{
    test_realtime();
    test_math();
    worst_rel = 0;
    test_gemm();
    test_linear();
    test_conv1d();
    test_conv1d_stream();
    test_convt1d();
    test_conv2d();
    test_small_k();
    test_rnn();
    test_mha();
    test_norms();
    test_activations();
    test_pool_upsample();
    test_masknet();
    test_waveunet();
    test_demucs();
    test_tagger();
    printf("  worst relative error: %.3e (limit %.0e)\n", worst_rel, TOL);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s GOLDEN.clvm\n", argv[0]);
        return 2;
    }
    clv_nn_flush_denormals();
    ClvLog log = {log_fn, NULL};
    ClvStatus st = clv_clvm_load(argv[1], &log, &G);
    CHECK(st == CLV_OK, "loading %s: %s", argv[1], clv_strerror(st));
    if (st != CLV_OK) TEST_DONE();
    test_bind_errors(argv[1]);
    /* Every built-in kernel level this CPU has, then OpenBLAS for large products. */
    int top = clv_nn_limit_isa(2);
    clv_nn_use_blas(0);
    for (int level = 0; level <= top; level++) {
        clv_nn_limit_isa(level);
        printf("backend %s\n", clv_nn_backend());
        run_all();
    }
    clv_nn_limit_isa(top);
    clv_nn_use_blas(2);
    if (strcmp(clv_nn_backend(), "openblas") == 0) {
        printf("backend %s\n", clv_nn_backend());
        run_all();
    }
    clv_nn_use_blas(1);
    clv_clvm_free(G);
    TEST_DONE();
}
