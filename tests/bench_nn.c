/* SPDX-License-Identifier: ISC */
/* Benchmark of the NN kernels (models/clv_nn.c), single thread.
 *
 *   bench_nn                 kernel table: GFLOP/s of each kernel at sizes the
 *                            separation and tagging models use, with the built-in
 *                            GEMM and with OpenBLAS, and the ratio to OpenBLAS
 *                            sgemm's GFLOP/s measured in the same run
 *   bench_nn --net FILE.clvm [STEPS]
 *                            times one streaming step of a representative network
 *                            whose weights bench_peers.py exported (arch gru-mask or
 *                            conv-enc), prints "C_STEP_US median" and the first
 *                            outputs for the cross-check with PyTorch.
 *
 * Each figure is the median of 7 repetitions of at least 20 ms each, timed in CPU
 * time of the calling thread (CLOCK_THREAD_CPUTIME_ID): on a machine shared with
 * other jobs, time spent descheduled would otherwise count as kernel time. Cache
 * and memory-bandwidth contention still show; run it a few times. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clv_arena.h"
#include "clv_clvm.h"
#include "clv_nn.h"

#ifdef CLV_HAVE_BLAS
#include <cblas.h>
#endif

#define REPS 7

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

typedef void (*BenchFn)(void *ctx);

/* Median seconds per call. */
static double time_call(BenchFn fn, void *ctx)
{
    fn(ctx); /* warm caches */
    long iters = 1;
    for (;;) {
        double t0 = now();
        for (long i = 0; i < iters; i++) fn(ctx);
        double dt = now() - t0;
        if (dt >= 0.02 || iters > (1L << 30)) break;
        iters *= dt > 0.002 ? (long)(0.025 / dt) + 1 : 10;
    }
    double r[REPS];
    for (int k = 0; k < REPS; k++) {
        double t0 = now();
        for (long i = 0; i < iters; i++) fn(ctx);
        r[k] = (now() - t0) / (double)iters;
    }
    qsort(r, REPS, sizeof *r, cmp_double);
    return r[REPS / 2];
}

static float *randbuf(size_t n, uint32_t seed)
{
    float *p = aligned_alloc(64, ((n * sizeof(float)) + 63) / 64 * 64 + 64);
    if (!p) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    uint32_t r = seed * 2654435761u + 1u;
    for (size_t i = 0; i < n; i++) {
        r = r * 1664525u + 1013904223u;
        p[i] = ((float)(r >> 8) / 16777216.0f - 0.5f) * 0.2f;
    }
    return p;
}

/* ------------------------------------------------------------- kernels --- */

typedef struct {
    int kind;
    /* operands */
    float *x, *y, *s, *w, *b, *h, *c, *w2, *b2;
    int n, in, out, L, T;
    ClvLinear lin;
    ClvConv1d conv;
    ClvConvT1d convt;
    ClvConv2d conv2;
    ClvRnnCell cell;
    ClvMha mha;
    ClvConv1dStream stream;
    ClvRnnStream rnn;
    ClvArena arena;
    int H2, W2;
    int M, N, K;
} Ctx;

enum { K_LINEAR_PACKED = 100, K_GRU_STREAM };
enum { K_SGEMM, K_GEMM, K_LINEAR, K_CONV1D, K_CONVT1D, K_CONV2D, K_GRU_STEP, K_LSTM_STEP, K_GRU_SEQ, K_MHA, K_STREAM };

static void run_kernel(void *p)
{
    Ctx *c = p;
    switch (c->kind) {
    case K_SGEMM:
#ifdef CLV_HAVE_BLAS
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, c->M, c->N, c->K, 1.0f, c->w, c->K, c->x,
                    c->N, 0.0f, c->y, c->N);
#endif
        break;
    case K_GEMM: clv_gemm(0, 0, c->M, c->N, c->K, 1.0f, c->w, c->K, c->x, c->N, 0.0f, c->y, c->N); break;
    case K_LINEAR: clv_linear(&c->lin, c->x, c->n, c->y); break;
    case K_CONV1D: clv_conv1d(&c->conv, c->x, c->L, c->y, c->s); break;
    case K_CONVT1D: clv_conv_transpose1d(&c->convt, c->x, c->L, c->y, c->s); break;
    case K_CONV2D: clv_conv2d(&c->conv2, c->x, c->H2, c->W2, c->y, c->s); break;
    case K_GRU_STEP: clv_gru_step(&c->cell, c->x, c->h, c->s); break;
    case K_LSTM_STEP: clv_lstm_step(&c->cell, c->x, c->h, c->c, c->s); break;
    case K_GRU_SEQ:
        memset(c->h, 0, (size_t)c->cell.hidden_size * sizeof(float));
        clv_gru_sequence(&c->cell, c->x, c->T, 0, c->h, c->y, c->cell.hidden_size, c->s);
        break;
    case K_MHA: clv_mha_self(&c->mha, c->x, c->T, 0, c->y, c->s); break;
    case K_STREAM: clv_conv1d_stream_process(&c->stream, c->x, c->L, c->y); break;
    case K_LINEAR_PACKED: clv_linear_packed(&c->lin, c->w2, c->x, c->y); break;
    case K_GRU_STREAM: clv_rnn_stream_step(&c->rnn, c->x, c->y); break;
    }
}

static double sgemm_ref;

static void report(const char *name, double flops, Ctx *c)
{
    double t_builtin, t_blas = 0.0;
    clv_nn_use_blas(0);
    t_builtin = time_call(run_kernel, c);
    clv_nn_use_blas(2);
    int have_blas = strcmp(clv_nn_backend(), "openblas") == 0;
    if (have_blas) t_blas = time_call(run_kernel, c);
    clv_nn_use_blas(1);
    double g0 = flops / t_builtin * 1e-9, g1 = have_blas ? flops / t_blas * 1e-9 : 0.0;
    double best = g1 > g0 ? g1 : g0;
    if (have_blas)
        printf("%-44s %9.1f %8.2f %8.2f %8.2f   %5.0f%%\n", name, t_builtin * 1e6 < t_blas * 1e6 ? t_builtin * 1e6 : t_blas * 1e6,
               g0, g1, best, sgemm_ref > 0 ? 100.0 * best / sgemm_ref : 0.0);
    else
        printf("%-44s %9.1f %8.2f %8s %8.2f   %5s\n", name, t_builtin * 1e6, g0, "-", g0, "-");
}

static void kernel_table(void)
{
    Ctx c;
    printf("single thread; built-in kernels: %s; default GEMM: %s\n", clv_nn_isa(), clv_nn_backend());
    printf("GFLOP/s = useful FLOPs (2 per multiply-add) / median time\n");
#ifdef CLV_HAVE_BLAS
    memset(&c, 0, sizeof c);
    c.kind = K_SGEMM;
    c.M = c.N = c.K = 512;
    c.w = randbuf(512 * 512, 1);
    c.x = randbuf(512 * 512, 2);
    c.y = randbuf(512 * 512, 3);
    sgemm_ref = 2.0 * 512 * 512 * 512 / time_call(run_kernel, &c) * 1e-9;
    c.M = 256;
    c.N = 256;
    c.K = 768;
    double sg2 = 2.0 * 256 * 256 * 768 / time_call(run_kernel, &c) * 1e-9;
    printf("OpenBLAS sgemm 512x512x512: %.2f GFLOP/s (the reference, 100%%); 256x256x768: %.2f GFLOP/s\n",
           sgemm_ref, sg2);
    free(c.w);
    free(c.x);
    free(c.y);
#else
    printf("built without BLAS: no sgemm reference\n");
#endif
    printf("%-44s %9s %8s %8s %8s   %6s\n", "kernel (size)", "best us", "builtin", "openblas", "best",
           "/sgemm");

    /* GEMM itself */
    memset(&c, 0, sizeof c);
    c.kind = K_GEMM;
    c.M = c.N = c.K = 512;
    c.w = randbuf(512 * 512, 1);
    c.x = randbuf(512 * 512, 2);
    c.y = randbuf(512 * 512, 3);
    report("clv_gemm 512x512x512", 2.0 * 512 * 512 * 512, &c);
    free(c.w);
    free(c.x);
    free(c.y);

    /* linear, per frame and over a block of frames */
    static const int lin[][3] = {{1, 513, 256}, {1, 256, 513}, {1, 256, 768}, {64, 513, 256}, {256, 256, 256}};
    for (size_t i = 0; i < sizeof lin / sizeof *lin; i++) {
        memset(&c, 0, sizeof c);
        c.kind = K_LINEAR;
        c.n = lin[i][0];
        c.lin = (ClvLinear){lin[i][1], lin[i][2], randbuf((size_t)lin[i][1] * lin[i][2], 4), randbuf(lin[i][2], 5)};
        c.x = randbuf((size_t)c.n * lin[i][1], 6);
        c.y = randbuf((size_t)c.n * lin[i][2], 7);
        char name[96];
        snprintf(name, sizeof name, "linear n=%d %d->%d%s", c.n, lin[i][1], lin[i][2], c.n == 1 ? " (matvec)" : "");
        report(name, 2.0 * c.n * lin[i][1] * lin[i][2], &c);
        if (c.n == 1) {
            c.kind = K_LINEAR_PACKED;
            clv_arena_init_sizing(&c.arena);
            clv_linear_pack(&c.lin, &c.arena, (const float **)&c.w2);
            if (clv_arena_new(&c.arena, clv_arena_used(&c.arena)) != CLV_OK ||
                clv_linear_pack(&c.lin, &c.arena, (const float **)&c.w2) != CLV_OK)
                exit(1);
            snprintf(name, sizeof name, "linear packed %d->%d (matvec)", lin[i][1], lin[i][2]);
            report(name, 2.0 * lin[i][1] * lin[i][2], &c);
            clv_arena_free(&c.arena);
        }
        free((void *)c.lin.weight);
        free((void *)c.lin.bias);
        free(c.x);
        free(c.y);
    }

    /* conv1d: cin, cout, k, stride, pad, groups, L */
    static const int cv[][7] = {
        {48, 96, 8, 4, 0, 1, 8192},  /* Demucs encoder layer 2 */
        {96, 192, 1, 1, 0, 1, 2048}, /* Demucs 1x1 rewrite */
        {24, 48, 15, 1, 7, 1, 4096}, /* Wave-U-Net downsampling block */
        {72, 48, 5, 1, 2, 1, 4096},  /* Wave-U-Net upsampling block */
        {16, 16, 3, 1, 1, 1, 513},   /* per-frame conv over frequency */
        {256, 256, 3, 1, 1, 1, 64},  /* temporal conv over a block of frames */
        {192, 192, 3, 1, 1, 192, 2048}, /* depthwise */
    };
    for (size_t i = 0; i < sizeof cv / sizeof *cv; i++) {
        memset(&c, 0, sizeof c);
        c.kind = K_CONV1D;
        c.conv = (ClvConv1d){cv[i][0], cv[i][1], cv[i][2], cv[i][3], cv[i][4], 1, cv[i][5], NULL, NULL};
        c.conv.weight = randbuf((size_t)cv[i][1] * (cv[i][0] / cv[i][5]) * cv[i][2], 8);
        c.conv.bias = randbuf((size_t)cv[i][1], 9);
        c.L = cv[i][6];
        int ol = clv_conv1d_out_len(&c.conv, c.L);
        c.x = randbuf((size_t)cv[i][0] * c.L, 10);
        c.y = randbuf((size_t)cv[i][1] * ol, 11);
        c.s = randbuf(clv_conv1d_scratch(&c.conv, c.L) + 1, 12);
        char name[96];
        snprintf(name, sizeof name, "conv1d %d->%d k%d s%d g%d L%d", cv[i][0], cv[i][1], cv[i][2], cv[i][3],
                 cv[i][5], c.L);
        report(name, 2.0 * cv[i][1] * (cv[i][0] / cv[i][5]) * cv[i][2] * ol, &c);
        free((void *)c.conv.weight);
        free((void *)c.conv.bias);
        free(c.x);
        free(c.y);
        free(c.s);
    }

    /* streaming conv1d, one frame per call (per-frame temporal conv) and a hop of samples */
    static const int sc[][5] = {{256, 256, 3, 1, 1}, {1, 48, 8, 4, 1024}, {48, 96, 8, 4, 256}};
    for (size_t i = 0; i < sizeof sc / sizeof *sc; i++) {
        memset(&c, 0, sizeof c);
        c.kind = K_STREAM;
        c.conv = (ClvConv1d){sc[i][0], sc[i][1], sc[i][2], sc[i][3], 0, 1, 1, NULL, NULL};
        c.conv.weight = randbuf((size_t)sc[i][1] * sc[i][0] * sc[i][2], 13);
        c.conv.bias = randbuf((size_t)sc[i][1], 14);
        c.L = sc[i][4];
        clv_arena_init_sizing(&c.arena);
        clv_conv1d_stream_init(&c.stream, &c.conv, c.L, 0, &c.arena);
        if (clv_arena_new(&c.arena, clv_arena_used(&c.arena)) != CLV_OK ||
            clv_conv1d_stream_init(&c.stream, &c.conv, c.L, 0, &c.arena) != CLV_OK) {
            fprintf(stderr, "stream init failed\n");
            exit(1);
        }
        c.x = randbuf((size_t)sc[i][0] * c.L, 15);
        c.y = randbuf((size_t)sc[i][1] * (clv_conv1d_stream_max_out(&c.stream) + 1), 16);
        int outs = c.L / sc[i][3];
        char name[96];
        snprintf(name, sizeof name, "conv1d stream %d->%d k%d s%d, %d in/call", sc[i][0], sc[i][1], sc[i][2],
                 sc[i][3], c.L);
        report(name, 2.0 * sc[i][1] * sc[i][0] * sc[i][2] * outs, &c);
        clv_arena_free(&c.arena);
        free((void *)c.conv.weight);
        free((void *)c.conv.bias);
        free(c.x);
        free(c.y);
    }

    /* transposed conv (Demucs decoder) */
    memset(&c, 0, sizeof c);
    c.kind = K_CONVT1D;
    c.convt = (ClvConvT1d){96, 48, 8, 4, 0, 0, 1, 1, NULL, NULL};
    c.convt.weight = randbuf(96 * 48 * 8, 17);
    c.convt.bias = randbuf(48, 18);
    c.L = 2048;
    c.x = randbuf((size_t)96 * c.L, 19);
    c.y = randbuf((size_t)48 * clv_conv_transpose1d_out_len(&c.convt, c.L), 20);
    c.s = randbuf(clv_conv_transpose1d_scratch(&c.convt, c.L), 21);
    report("conv_transpose1d 96->48 k8 s4 L2048", 2.0 * 96 * 48 * 8 * c.L, &c);
    free((void *)c.convt.weight);
    free((void *)c.convt.bias);
    free(c.x);
    free(c.y);
    free(c.s);

    /* conv2d (tagger CNN on log-mel) */
    static const int c2[][5] = {{1, 32, 64, 100, 1}, {32, 64, 32, 50, 1}, {64, 64, 16, 25, 1}};
    for (size_t i = 0; i < sizeof c2 / sizeof *c2; i++) {
        memset(&c, 0, sizeof c);
        c.kind = K_CONV2D;
        c.conv2 = (ClvConv2d){c2[i][0], c2[i][1], 3, 3, 1, 1, 1, 1, 1, 1, 1, NULL, NULL};
        c.conv2.weight = randbuf((size_t)c2[i][1] * c2[i][0] * 9, 22);
        c.conv2.bias = randbuf((size_t)c2[i][1], 23);
        c.H2 = c2[i][2];
        c.W2 = c2[i][3];
        c.x = randbuf((size_t)c2[i][0] * c.H2 * c.W2, 24);
        c.y = randbuf((size_t)c2[i][1] * c.H2 * c.W2, 25);
        c.s = randbuf(clv_conv2d_scratch(&c.conv2, c.H2, c.W2), 26);
        char name[96];
        snprintf(name, sizeof name, "conv2d %d->%d 3x3 p1 %dx%d", c2[i][0], c2[i][1], c.H2, c.W2);
        report(name, 2.0 * c2[i][1] * c2[i][0] * 9 * c.H2 * c.W2, &c);
        free((void *)c.conv2.weight);
        free((void *)c.conv2.bias);
        free(c.x);
        free(c.y);
        free(c.s);
    }

    /* recurrent */
    for (int kind = 0; kind < 3; kind++) {
        const int H = 256, in = 256, G = (kind == 1 ? 4 : 3) * H;
        memset(&c, 0, sizeof c);
        c.kind = kind == 0 ? K_GRU_STEP : kind == 1 ? K_LSTM_STEP : K_GRU_SEQ;
        c.cell = (ClvRnnCell){in, H, randbuf((size_t)G * in, 27), randbuf((size_t)G * H, 28), randbuf(G, 29),
                              randbuf(G, 30)};
        c.T = 64;
        c.x = randbuf((size_t)c.T * in, 31);
        c.h = randbuf(H, 32);
        c.c = randbuf(H, 33);
        c.y = randbuf((size_t)c.T * H, 34);
        c.s = randbuf(clv_rnn_sequence_scratch(kind == 1 ? CLV_RNN_LSTM : CLV_RNN_GRU, &c.cell, c.T), 35);
        double f = 2.0 * G * (in + H);
        if (kind == 0) {
            report("GRU step 256->256 (per frame)", f, &c);
            c.kind = K_GRU_STREAM;
            clv_arena_init_sizing(&c.arena);
            clv_rnn_stream_init(&c.rnn, CLV_RNN_GRU, 1, &c.cell, &c.arena);
            if (clv_arena_new(&c.arena, clv_arena_used(&c.arena)) != CLV_OK ||
                clv_rnn_stream_init(&c.rnn, CLV_RNN_GRU, 1, &c.cell, &c.arena) != CLV_OK)
                exit(1);
            report("GRU stream step 256->256 (packed)", f, &c);
            clv_arena_free(&c.arena);
        }
        else if (kind == 1) report("LSTM step 256->256 (per frame)", f, &c);
        else report("GRU sequence 256->256 T=64", f * c.T, &c);
        free((void *)c.cell.w_ih);
        free((void *)c.cell.w_hh);
        free((void *)c.cell.b_ih);
        free((void *)c.cell.b_hh);
        free(c.x);
        free(c.h);
        free(c.c);
        free(c.y);
        free(c.s);
    }

    /* attention bottleneck */
    memset(&c, 0, sizeof c);
    c.kind = K_MHA;
    c.T = 128;
    const int E = 256;
    c.mha = (ClvMha){E, 8, randbuf(3 * E * E, 36), randbuf(3 * E, 37), randbuf(E * E, 38), randbuf(E, 39)};
    c.x = randbuf((size_t)c.T * E, 40);
    c.y = randbuf((size_t)c.T * E, 41);
    c.s = randbuf(clv_mha_scratch(&c.mha, c.T), 42);
    report("MHA self E=256 heads=8 T=128", 2.0 * c.T * E * 3 * E + 4.0 * c.T * c.T * E + 2.0 * c.T * E * E,
           &c);
    free((void *)c.mha.in_proj_weight);
    free((void *)c.mha.in_proj_bias);
    free((void *)c.mha.out_proj_weight);
    free((void *)c.mha.out_proj_bias);
    free(c.x);
    free(c.y);
    free(c.s);
}

/* ------------------------------------------------------ network steps --- */

typedef struct {
    int conv_enc;
    /* gru-mask */
    int bins, hidden;
    ClvLinear fc_in, fc_out;
    const float *p_in, *p_out; /* packed weights for the per-frame products */
    ClvRnnStream rnn;
    float *h, *mask;
    const float *frame;
    /* conv-enc */
    int hop;
    ClvConv1d e0, e1, e2, e3;
    ClvConv1dStream s0, s2;
    float *t0, *t1, *t2, *t3, *out;
    int out_frames;
    ClvArena arena;
} Net;

static void net_layout(Net *n, ClvArena *a)
{
    if (!n->conv_enc) {
        clv_rnn_stream_init(&n->rnn, CLV_RNN_GRU, 2, (ClvRnnCell[2]){n->rnn.cell[0], n->rnn.cell[1]}, a);
        clv_linear_pack(&n->fc_in, a, &n->p_in);
        clv_linear_pack(&n->fc_out, a, &n->p_out);
        n->h = clv_arena_floats(a, (size_t)n->hidden);
        n->mask = clv_arena_floats(a, (size_t)n->bins);
    } else {
        clv_conv1d_stream_init(&n->s0, &n->e0, n->hop, 0, a);
        int m0 = n->hop / n->e0.stride + 1;
        n->t0 = clv_arena_floats(a, (size_t)n->e0.out_ch * m0);
        n->t1 = clv_arena_floats(a, (size_t)n->e1.out_ch * m0);
        n->t2 = clv_arena_floats(a, (size_t)(n->e1.out_ch / 2) * m0);
        clv_conv1d_stream_init(&n->s2, &n->e2, m0, 0, a);
        int m2 = m0 / n->e2.stride + 1;
        n->t3 = clv_arena_floats(a, (size_t)n->e2.out_ch * m2);
        n->out = clv_arena_floats(a, (size_t)n->e3.out_ch * m2);
    }
}

static void net_step(void *p)
{
    Net *n = p;
    if (!n->conv_enc) {
        clv_linear_packed(&n->fc_in, n->p_in, n->frame, n->h);
        clv_relu(n->h, (size_t)n->hidden);
        clv_rnn_stream_step(&n->rnn, n->h, n->h);
        clv_linear_packed(&n->fc_out, n->p_out, n->h, n->mask);
        clv_sigmoid(n->mask, (size_t)n->bins);
    } else {
        float dummy[1];
        int k0 = clv_conv1d_stream_process(&n->s0, n->frame, n->hop, n->t0);
        clv_relu(n->t0, (size_t)n->e0.out_ch * k0);
        clv_conv1d(&n->e1, n->t0, k0, n->t1, dummy);
        clv_glu(n->t1, 1, n->e1.out_ch / 2, k0, n->t2);
        int k2 = clv_conv1d_stream_process(&n->s2, n->t2, k0, n->t3);
        clv_relu(n->t3, (size_t)n->e2.out_ch * k2);
        clv_conv1d(&n->e3, n->t3, k2, n->t1, dummy);
        clv_glu(n->t1, 1, n->e3.out_ch / 2, k2, n->out);
        n->out_frames = k2;
    }
}

static int net_bench(const char *path, int steps)
{
    ClvLog log = {NULL, NULL};
    ClvClvm *m;
    if (clv_clvm_load(path, &log, &m) != CLV_OK) {
        fprintf(stderr, "%s: cannot load\n", path);
        return 1;
    }
    const char *arch;
    Net n;
    memset(&n, 0, sizeof n);
    ClvStatus st = clv_clvm_meta_string(m, "arch", &arch);
    if (st == CLV_OK && strcmp(arch, "gru-mask") == 0) {
        int64_t bins, hidden;
        clv_clvm_meta_int(m, "bins", &bins);
        clv_clvm_meta_int(m, "hidden", &hidden);
        n.bins = (int)bins;
        n.hidden = (int)hidden;
        st = clv_nn_bind_linear(m, "fc_in", n.bins, n.hidden, &n.fc_in);
        if (!st) st = clv_nn_bind_linear(m, "fc_out", n.hidden, n.bins, &n.fc_out);
        for (int l = 0; l < 2 && !st; l++)
            st = clv_nn_bind_rnn_cell(m, "gru", CLV_RNN_GRU, l, 0, n.hidden, n.hidden, &n.rnn.cell[l]);
    } else if (st == CLV_OK && strcmp(arch, "conv-enc") == 0) {
        int64_t hop;
        clv_clvm_meta_int(m, "hop", &hop);
        n.conv_enc = 1;
        n.hop = (int)hop;
        n.e0 = (ClvConv1d){1, 48, 8, 4, 0, 1, 1, NULL, NULL};
        n.e1 = (ClvConv1d){48, 96, 1, 1, 0, 1, 1, NULL, NULL};
        n.e2 = (ClvConv1d){48, 96, 8, 4, 0, 1, 1, NULL, NULL};
        n.e3 = (ClvConv1d){96, 192, 1, 1, 0, 1, 1, NULL, NULL};
        st = clv_nn_bind_conv1d(m, "enc.0", &n.e0);
        if (!st) st = clv_nn_bind_conv1d(m, "enc.1", &n.e1);
        if (!st) st = clv_nn_bind_conv1d(m, "enc.2", &n.e2);
        if (!st) st = clv_nn_bind_conv1d(m, "enc.3", &n.e3);
    } else {
        st = CLV_ERR_UNSUPPORTED;
    }
    if (st != CLV_OK) {
        fprintf(stderr, "%s: not a benchmark network (%s)\n", path, clv_strerror(st));
        clv_clvm_free(m);
        return 1;
    }
    clv_arena_init_sizing(&n.arena);
    net_layout(&n, &n.arena);
    if (clv_arena_new(&n.arena, clv_arena_used(&n.arena)) != CLV_OK) return 1;
    net_layout(&n, &n.arena);
    if (clv_arena_overflowed(&n.arena)) {
        fprintf(stderr, "arena overflow\n");
        return 1;
    }
    /* Input: the "x" tensor of the file (a frame, or a hop of samples), the same
     * input PyTorch used, so the first outputs can be compared. */
    ClvTensorInfo xi;
    if (clv_clvm_find(m, "x", &xi) != CLV_OK) return 1;
    n.frame = xi.data;
    /* Outputs of step 1..3 for the cross-check (state carried as in streaming). */
    for (int s = 0; s < 3; s++) {
        net_step(&n);
        const float *o = n.conv_enc ? n.out : n.mask;
        size_t cnt = n.conv_enc ? (size_t)(n.e3.out_ch / 2) * n.out_frames : (size_t)n.bins;
        double sum = 0;
        for (size_t i = 0; i < cnt; i++) sum += o[i];
        printf("C_STEP_OUT %d %zu %.9g %.9g %.9g\n", s, cnt, sum, (double)o[0], (double)o[cnt - 1]);
    }
    /* The default policy is what a user gets; the other two show what BLAS adds. */
    clv_nn_use_blas(1);
    const char *dflt = clv_nn_backend();
    double t_default = time_call(net_step, &n);
    clv_nn_use_blas(0);
    double t_builtin = time_call(net_step, &n);
    clv_nn_use_blas(2);
    double t_blas = time_call(net_step, &n);
    const char *forced = clv_nn_backend();
    clv_nn_use_blas(1);
    (void)steps;
    printf("C_STEP_US %.3f default(%s) builtin(%s) %.3f %s %.3f\n", t_default * 1e6, dflt, clv_nn_isa(),
           t_builtin * 1e6, forced, t_blas * 1e6);
    clv_arena_free(&n.arena);
    clv_clvm_free(m);
    return 0;
}

int main(int argc, char **argv)
{
    clv_nn_flush_denormals();
    if (argc >= 3 && strcmp(argv[1], "--net") == 0) return net_bench(argv[2], argc > 3 ? atoi(argv[3]) : 0);
    kernel_table();
    return 0;
}
