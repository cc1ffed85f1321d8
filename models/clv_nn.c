/* SPDX-License-Identifier: ISC */
/* Neural network kernels (see clv_nn.h for layouts and the threading contract).
 *
 * Design:
 * - Everything reduces to three inner loops: a matrix-vector product (per-frame
 *   streaming: linear, RNN steps, convs with one output frame), a GEMM (convs via
 *   im2col, linear over many frames, RNN input projections, attention), and
 *   elementwise loops. They are written with GCC/Clang vector extensions so they
 *   vectorise without -ffast-math (NaN handling intact), and built for several
 *   instruction sets in one binary: explicit AVX-512 / AVX2+FMA / baseline kernels
 *   for GEMM and matrix-vector products, chosen once at load time from the CPU
 *   (clv_nn_limit_isa() lowers the choice for tests), and GCC target clones
 *   (ifunc) for the rest. No -march=native: the binary runs on any x86-64.
 * - GEMM: B is packed into 32- (AVX-512) or 16-column panels of at most 256 rows
 *   on the stack (about 34 KB, so clv_gemm needs no scratch argument); A is read
 *   in place; an 8 x 32 (AVX-512) or 6 x 16 register tile accumulates. Measured
 *   here (tests/bench_nn) the AVX-512 kernel runs at about twice the rate of
 *   OpenBLAS 0.3.21's sgemm (Haswell kernel), so OpenBLAS is used only on CPUs
 *   without AVX-512, and never for matrix-vector shapes, where its call overhead
 *   costs more than the product.
 * - Convolutions with few taps in all (cin * kernel <= 16: first layers on audio
 *   or a spectrogram) skip the GEMM: its B packing and tile write-back cost as
 *   much as a product with K this small. A direct kernel keeps 8 output channels
 *   x 32 frames (AVX-512) in registers and stores them once. Depthwise rows use
 *   a 1-D row kernel (64 outputs per block on AVX-512); both finish a row with an
 *   overlapping full vector rather than scalar edges.
 * - Per-frame products are memory-bound (the weights stream from L2/L3 each
 *   frame); the streaming objects keep a copy of their weights packed in
 *   16-row panels so each product reads memory once, sequentially.
 * - exp/sigmoid/tanh are branch-free vector polynomials (relative error ~1e-7,
 *   NaN propagates, saturation as in PyTorch).
 * - Reductions use several independent accumulators; results differ from
 *   PyTorch in the last bits, well inside 1e-4 (tests/test_nn.c).
 * - No kernel allocates; temporary space comes from the caller's scratch. With
 *   BLAS in use, OpenBLAS may take its internal buffer lock: kernels run on
 *   worker threads, never on the audio thread. */
#include "clv_nn.h"

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <xmmintrin.h>
#endif

#ifdef CLV_HAVE_BLAS
#include <cblas.h>
#endif

/* Explicit per-ISA kernels picked at load time (GCC and Clang on x86-64). */
#if defined(__GNUC__) && defined(__x86_64__) && !defined(CLV_NO_CLONES)
#define CLV_X86_DISPATCH 1
#else
#define CLV_X86_DISPATCH 0
#endif

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && !defined(CLV_NO_CLONES)
#define CLV_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define CLV_CLONES
#endif

typedef float v8f __attribute__((vector_size(32)));

static inline v8f ld8(const float *p)
{
    v8f v;
    memcpy(&v, p, sizeof v);
    return v;
}

static inline void st8(float *p, v8f v)
{
    memcpy(p, &v, sizeof v);
}

typedef int32_t v8i __attribute__((vector_size(32)));

/* Broadcast as a shuffle: one vbroadcastss. (An 8-element initialiser compiles
 * to a chain of inserts, and {0} + x loses the sign of -0.0.) */
static inline v8f splat8(float x)
{
    v8f v = {x};
#if defined(__clang__)
    return __builtin_shufflevector(v, v, 0, 0, 0, 0, 0, 0, 0, 0);
#else
    return __builtin_shuffle(v, (v8i){0});
#endif
}

static inline float hsum8(v8f v)
{
    return ((v[0] + v[4]) + (v[1] + v[5])) + ((v[2] + v[6]) + (v[3] + v[7]));
}

/* Elementwise select: m ? a : b for a comparison mask m (all ones / zeros). */
static inline v8f sel8(v8i m, v8f a, v8f b)
{
    return (v8f)(((v8i)a & m) | ((v8i)b & ~m));
}

/* exp(x) for 8 floats, branch-free so it vectorises: x = n ln2 + r with n from
 * the 1.5 * 2^23 rounding trick (no float-to-int conversion, so NaN stays NaN),
 * r in [-ln2/2, ln2/2], and Cephes' degree-6 polynomial for exp(r) (relative
 * error about 1e-7). Inputs are clamped to [-87.3, 88], where 2^n stays a
 * normal float: exp of very negative x gives ~1e-38 instead of a denormal,
 * which is zero for every use here. */
static inline v8f exp8(v8f x)
{
    const v8f hi = splat8(88.0f), lo = splat8(-87.3f);
    x = sel8(x > hi, hi, x);
    x = sel8(x < lo, lo, x);
    const v8f magic = splat8(12582912.0f); /* 1.5 * 2^23 */
    v8f t = x * splat8(1.44269504088896341f) + magic;
    v8f n = t - magic;
    v8f r = x - n * splat8(0.693359375f);
    r = r - n * splat8(-2.12194440e-4f);
    v8f p = splat8(1.9875691500e-4f);
    p = p * r + splat8(1.3981999507e-3f);
    p = p * r + splat8(8.3333451907e-3f);
    p = p * r + splat8(4.1665795894e-2f);
    p = p * r + splat8(1.6666665459e-1f);
    p = p * r + splat8(5.0000001201e-1f);
    p = p * (r * r) + r + splat8(1.0f);
    v8i ni = (v8i)t - (v8i)magic;
    v8f scale = (v8f)((ni + 127) << 23);
    return p * scale;
}

static inline v8f sigmoid8(v8f x)
{
    return splat8(1.0f) / (splat8(1.0f) + exp8(-x));
}

/* tanh: Cephes' odd polynomial for |x| < 0.625, else 1 - 2 / (exp(2|x|) + 1)
 * with the sign restored; relative error about 2e-7. */
static inline v8f tanh8(v8f x)
{
    const v8i sign = (v8i)x & (v8i)splat8(-0.0f);
    v8f ax = (v8f)((v8i)x & ~(v8i)splat8(-0.0f));
    v8f big = splat8(1.0f) - splat8(2.0f) / (exp8(ax + ax) + splat8(1.0f));
    v8f z = ax * ax;
    v8f p = splat8(-5.70498872745e-3f);
    p = p * z + splat8(2.06390887954e-2f);
    p = p * z + splat8(-5.37397155531e-2f);
    p = p * z + splat8(1.33314422036e-1f);
    p = p * z + splat8(-3.33332819422e-1f);
    v8f small = p * z * ax + ax;
    /* Both branches on |x|, sign restored last: tanh(-0) = -0, NaN stays NaN. */
    return (v8f)((v8i)sel8(ax < splat8(0.625f), small, big) | sign);
}

/* Applies f to n floats in place, 8 at a time; the tail goes through a padded
 * block so every element sees the same arithmetic. */
#define MAP8(fn, x, n)                                                                 \
    do {                                                                               \
        size_t i_ = 0;                                                                 \
        for (; i_ + 8 <= (n); i_ += 8) st8((x) + i_, fn(ld8((x) + i_)));              \
        if (i_ < (n)) {                                                                \
            float t_[8] = {0};                                                         \
            memcpy(t_, (x) + i_, ((n) - i_) * sizeof(float));                          \
            st8(t_, fn(ld8(t_)));                                                      \
            memcpy((x) + i_, t_, ((n) - i_) * sizeof(float));                          \
        }                                                                              \
    } while (0)

/* ---------------------------------------------------------------- runtime --- */

#ifdef CLV_HAVE_BLAS
/* Kernels run on one worker thread each; OpenBLAS's own thread pool would compete
 * with them (and with the audio thread) for cores. */
__attribute__((constructor)) static void clv_nn_blas_single_thread(void)
{
    openblas_set_num_threads(1);
}
#endif

/* 0 never, 1 auto (BLAS only where it beats the built-in GEMM), 2 always. */
static int blas_mode = 1;

void clv_nn_flush_denormals(void)
{
#if defined(__x86_64__) || defined(__SSE__)
    _mm_setcsr(_mm_getcsr() | 0x8040u); /* FTZ | DAZ */
#endif
}

/* ------------------------------------------------------------------- GEMM --- */

/* y[M] = A[M,K] x[K] (+ beta y), A row stride lda. Four rows at a time share the
 * x loads; two accumulators per row hide FMA latency. Compiled for the baseline
 * and AVX2+FMA (v8f), and with 16-float vectors for AVX-512. */
#define MATVEC_N_BODY \
{                                                                                              \
    int i = 0;                                                                                 \
    for (; i + 4 <= M; i += 4) {                                                               \
        const float *a0 = A + (size_t)i * lda, *a1 = a0 + lda, *a2 = a1 + lda, *a3 = a2 + lda; \
        v8f s0 = splat8(0), s1 = s0, s2 = s0, s3 = s0, t0 = s0, t1 = s0, t2 = s0, t3 = s0;     \
        int k = 0;                                                                             \
        for (; k + 16 <= K; k += 16) {                                                         \
            v8f xa = ld8(x + k), xb = ld8(x + k + 8);                                          \
            s0 += ld8(a0 + k) * xa;                                                            \
            s1 += ld8(a1 + k) * xa;                                                            \
            s2 += ld8(a2 + k) * xa;                                                            \
            s3 += ld8(a3 + k) * xa;                                                            \
            t0 += ld8(a0 + k + 8) * xb;                                                        \
            t1 += ld8(a1 + k + 8) * xb;                                                        \
            t2 += ld8(a2 + k + 8) * xb;                                                        \
            t3 += ld8(a3 + k + 8) * xb;                                                        \
        }                                                                                      \
        for (; k + 8 <= K; k += 8) {                                                           \
            v8f xa = ld8(x + k);                                                               \
            s0 += ld8(a0 + k) * xa;                                                            \
            s1 += ld8(a1 + k) * xa;                                                            \
            s2 += ld8(a2 + k) * xa;                                                            \
            s3 += ld8(a3 + k) * xa;                                                            \
        }                                                                                      \
        float r0 = hsum8(s0 + t0), r1 = hsum8(s1 + t1), r2 = hsum8(s2 + t2), r3 = hsum8(s3 + t3);\
        for (; k < K; k++) {                                                                   \
            r0 += a0[k] * x[k];                                                                \
            r1 += a1[k] * x[k];                                                                \
            r2 += a2[k] * x[k];                                                                \
            r3 += a3[k] * x[k];                                                                \
        }                                                                                      \
        float *yy = y + (size_t)i * incy;                                                      \
        if (beta == 0.0f) {                                                                    \
            yy[0] = alpha * r0;                                                                \
            yy[incy] = alpha * r1;                                                             \
            yy[2 * incy] = alpha * r2;                                                         \
            yy[3 * incy] = alpha * r3;                                                         \
        } else {                                                                               \
            yy[0] = alpha * r0 + beta * yy[0];                                                 \
            yy[incy] = alpha * r1 + beta * yy[incy];                                           \
            yy[2 * incy] = alpha * r2 + beta * yy[2 * incy];                                   \
            yy[3 * incy] = alpha * r3 + beta * yy[3 * incy];                                   \
        }                                                                                      \
    }                                                                                          \
    for (; i < M; i++) {                                                                       \
        const float *a0 = A + (size_t)i * lda;                                                 \
        v8f s0 = splat8(0);                                                                    \
        int k = 0;                                                                             \
        for (; k + 8 <= K; k += 8) s0 += ld8(a0 + k) * ld8(x + k);                             \
        float r0 = hsum8(s0);                                                                  \
        for (; k < K; k++) r0 += a0[k] * x[k];                                                 \
        float *yy = y + (size_t)i * incy;                                                      \
        *yy = beta == 0.0f ? alpha * r0 : alpha * r0 + beta * *yy;                             \
    }                                                                                          \
}                                                                                              

static void matvec_n_base(int M, int K, const float *A, int lda, const float *x, float beta,
                          float *y, int incy, float alpha)
MATVEC_N_BODY

#if CLV_X86_DISPATCH
__attribute__((target("avx2,fma")))
static void matvec_n_avx2(int M, int K, const float *A, int lda, const float *x, float beta,
                          float *y, int incy, float alpha)
MATVEC_N_BODY

typedef float v16f __attribute__((vector_size(64)));
#define LD16(p) __extension__({ v16f v_; memcpy(&v_, (p), sizeof v_); v_; })
#define ST16(p, v) do { v16f v_ = (v); memcpy((p), &v_, sizeof v_); } while (0)
typedef int32_t v16i __attribute__((vector_size(64)));
#if defined(__clang__)
#define SPLAT16(x) __extension__({ v16f v_ = {(x)}; __builtin_shufflevector(v_, v_, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0); })
#else
#define SPLAT16(x) __extension__({ v16f v_ = {(x)}; __builtin_shuffle(v_, (v16i){0}); })
#endif

__attribute__((target("avx512f,avx512vl,avx512dq,avx2,fma")))
static float hsum16(v16f v)
{
    v8f lo, hi;
    memcpy(&lo, &v, sizeof lo);
    memcpy(&hi, (const char *)&v + sizeof lo, sizeof hi);
    return hsum8(lo + hi);
}

__attribute__((target("avx512f,avx512vl,avx512dq,avx2,fma")))
static void matvec_n_avx512(int M, int K, const float *A, int lda, const float *x, float beta,
                            float *y, int incy, float alpha)
{
    int i = 0;
    for (; i + 4 <= M; i += 4) {
        const float *a0 = A + (size_t)i * lda, *a1 = a0 + lda, *a2 = a1 + lda, *a3 = a2 + lda;
        v16f s0 = {0}, s1 = s0, s2 = s0, s3 = s0, t0 = s0, t1 = s0, t2 = s0, t3 = s0;
        int k = 0;
        for (; k + 32 <= K; k += 32) {
            v16f xa = LD16(x + k), xb = LD16(x + k + 16);
            s0 += LD16(a0 + k) * xa;
            s1 += LD16(a1 + k) * xa;
            s2 += LD16(a2 + k) * xa;
            s3 += LD16(a3 + k) * xa;
            t0 += LD16(a0 + k + 16) * xb;
            t1 += LD16(a1 + k + 16) * xb;
            t2 += LD16(a2 + k + 16) * xb;
            t3 += LD16(a3 + k + 16) * xb;
        }
        for (; k + 16 <= K; k += 16) {
            v16f xa = LD16(x + k);
            s0 += LD16(a0 + k) * xa;
            s1 += LD16(a1 + k) * xa;
            s2 += LD16(a2 + k) * xa;
            s3 += LD16(a3 + k) * xa;
        }
        float r0 = hsum16(s0 + t0), r1 = hsum16(s1 + t1), r2 = hsum16(s2 + t2), r3 = hsum16(s3 + t3);
        for (; k < K; k++) {
            r0 += a0[k] * x[k];
            r1 += a1[k] * x[k];
            r2 += a2[k] * x[k];
            r3 += a3[k] * x[k];
        }
        float *yy = y + (size_t)i * incy;
        if (beta == 0.0f) {
            yy[0] = alpha * r0;
            yy[incy] = alpha * r1;
            yy[2 * incy] = alpha * r2;
            yy[3 * incy] = alpha * r3;
        } else {
            yy[0] = alpha * r0 + beta * yy[0];
            yy[incy] = alpha * r1 + beta * yy[incy];
            yy[2 * incy] = alpha * r2 + beta * yy[2 * incy];
            yy[3 * incy] = alpha * r3 + beta * yy[3 * incy];
        }
    }
    if (i < M) matvec_n_avx2(M - i, K, A + (size_t)i * lda, lda, x, beta, y + (size_t)i * incy, incy, alpha);
}
#endif

/* y[M] = P x (+ y when accumulate) for P packed as [ceil(M/16)][K][16]: each step
 * broadcasts x[k] and multiplies it into 16 rows; four panels at a time give
 * four independent accumulators and one sequential stream per panel. */
#define MATVEC_P_BODY(VT, LD, SPLAT, W)                                                 \
    {                                                                                   \
        const int P = (M + 15) / 16;                                                    \
        int p = 0;                                                                      \
        for (; p + 4 <= P; p += 4) {                                                    \
            const float *q = Pk + (size_t)p * 16 * K;                                   \
            const size_t ps = (size_t)16 * K;                                           \
            VT a[4 * (16 / W)];                                                         \
            for (int j = 0; j < 4 * (16 / W); j++) a[j] = SPLAT(0.0f);                  \
            for (int k = 0; k < K; k++) {                                               \
                VT xk = SPLAT(x[k]);                                                    \
                for (int j = 0; j < 16 / W; j++) {                                      \
                    a[j] += LD(q + (size_t)k * 16 + j * W) * xk;                        \
                    a[16 / W + j] += LD(q + ps + (size_t)k * 16 + j * W) * xk;          \
                    a[2 * (16 / W) + j] += LD(q + 2 * ps + (size_t)k * 16 + j * W) * xk; \
                    a[3 * (16 / W) + j] += LD(q + 3 * ps + (size_t)k * 16 + j * W) * xk; \
                }                                                                       \
            }                                                                           \
            float out[64];                                                              \
            memcpy(out, a, sizeof out);                                                 \
            int rows = M - p * 16 < 64 ? M - p * 16 : 64;                               \
            float *yy = y + (size_t)p * 16;                                             \
            if (accumulate)                                                             \
                for (int r = 0; r < rows; r++) yy[r] += out[r];                         \
            else                                                                        \
                memcpy(yy, out, (size_t)rows * sizeof *yy);                             \
        }                                                                               \
        for (; p < P; p++) {                                                            \
            const float *q = Pk + (size_t)p * 16 * K;                                   \
            VT a[16 / W];                                                               \
            for (int j = 0; j < 16 / W; j++) a[j] = SPLAT(0.0f);                        \
            for (int k = 0; k < K; k++) {                                               \
                VT xk = SPLAT(x[k]);                                                    \
                for (int j = 0; j < 16 / W; j++) a[j] += LD(q + (size_t)k * 16 + j * W) * xk; \
            }                                                                           \
            float out[16];                                                              \
            memcpy(out, a, sizeof out);                                                 \
            int rows = M - p * 16 < 16 ? M - p * 16 : 16;                               \
            float *yy = y + (size_t)p * 16;                                             \
            if (accumulate)                                                             \
                for (int r = 0; r < rows; r++) yy[r] += out[r];                         \
            else                                                                        \
                memcpy(yy, out, (size_t)rows * sizeof *yy);                             \
        }                                                                               \
    }

static void matvec_p_base(int M, int K, const float *Pk, const float *x, float *y, int accumulate)
MATVEC_P_BODY(v8f, ld8, splat8, 8)

#if CLV_X86_DISPATCH
__attribute__((target("avx2,fma")))
static void matvec_p_avx2(int M, int K, const float *Pk, const float *x, float *y, int accumulate)
MATVEC_P_BODY(v8f, ld8, splat8, 8)

__attribute__((target("avx512f,avx512vl,avx512dq,avx2,fma")))
static void matvec_p_avx512(int M, int K, const float *Pk, const float *x, float *y, int accumulate)
MATVEC_P_BODY(v16f, LD16, SPLAT16, 16)
#endif

typedef void (*MatvecPFn)(int M, int K, const float *Pk, const float *x, float *y, int accumulate);
static MatvecPFn matvec_p_fn = matvec_p_base;

/* Direct product for few taps: y[m, t] = b[m] + sum_k w[m * K + k] * rows[k][t]
 * for m < M, t < nt (y row stride ldy; b may be NULL). This is a GEMM whose B
 * rows are read in place (no packing) and whose tile is stored once, with the
 * bias, instead of being written back through a buffer: with K this small the
 * packing and the write-back of the general GEMM cost as much as the product.
 * MB output channels x two vectors of t accumulate in registers; rows past M
 * repeat row M-1 and are not stored. The last partial block of t overlaps the
 * previous one (the same values are stored twice), so every block is full. */
#define SMALLK_MAX 16
#define SMALLK_BODY(VT, LD, ST, SPLAT, W, MB)                                            \
    {                                                                                   \
        int t = 0;                                                                      \
        while (t < nt) {                                                                \
            int nv, tt = t;                                                             \
            if (nt - t >= 2 * W) nv = 2;                                                \
            else if (nt >= W) {                                                         \
                nv = 1;                                                                 \
                if (nt - t < W) tt = nt - W;                                            \
            } else nv = 0;                                                              \
            if (nv == 0) { /* fewer than W frames in all: scalar */                     \
                for (int m = 0; m < M; m++)                                             \
                    for (int u = t; u < nt; u++) {                                      \
                        float a = b ? b[m] : 0.0f;                                      \
                        for (int k = 0; k < K; k++) a += w[(size_t)m * K + k] * rows[k][u]; \
                        y[(size_t)m * ldy + u] = a;                                     \
                    }                                                               \
                break;                                                                  \
            }                                                                           \
            for (int m0 = 0; m0 < M; m0 += MB) {                                        \
                const float *wr[MB];                                                    \
                VT a0[MB], a1[MB];                                                      \
                for (int r = 0; r < MB; r++) {                                          \
                    int m = m0 + r < M ? m0 + r : M - 1;                                \
                    wr[r] = w + (size_t)m * K;                                          \
                    a0[r] = a1[r] = SPLAT(b ? b[m] : 0.0f);                             \
                }                                                                       \
                if (nv == 2) {                                                          \
                    for (int k = 0; k < K; k++) {                                       \
                        VT x0 = LD(rows[k] + tt), x1 = LD(rows[k] + tt + W);            \
                        for (int r = 0; r < MB; r++) {                                  \
                            VT wk = SPLAT(wr[r][k]);                                    \
                            a0[r] += wk * x0;                                           \
                            a1[r] += wk * x1;                                           \
                        }                                                               \
                    }                                                                   \
                } else {                                                                \
                    for (int k = 0; k < K; k++) {                                       \
                        VT x0 = LD(rows[k] + tt);                                       \
                        for (int r = 0; r < MB; r++) a0[r] += SPLAT(wr[r][k]) * x0;     \
                    }                                                                   \
                }                                                                       \
                int mr = M - m0 < MB ? M - m0 : MB;                                     \
                for (int r = 0; r < mr; r++) {                                          \
                    float *yr = y + (size_t)(m0 + r) * ldy + tt;                        \
                    ST(yr, a0[r]);                                                      \
                    if (nv == 2) ST(yr + W, a1[r]);                                     \
                }                                                                       \
            }                                                                           \
            t = tt + nv * W;                                                            \
        }                                                                               \
    }

typedef void (*SmallKFn)(int M, int K, const float *w, const float *b, const float *const *rows,
                         int nt, float *y, size_t ldy);

static void smallk_base(int M, int K, const float *w, const float *b, const float *const *rows,
                        int nt, float *y, size_t ldy)
SMALLK_BODY(v8f, ld8, st8, splat8, 8, 4)

#if CLV_X86_DISPATCH
__attribute__((target("avx2,fma")))
static void smallk_avx2(int M, int K, const float *w, const float *b, const float *const *rows,
                        int nt, float *y, size_t ldy)
SMALLK_BODY(v8f, ld8, st8, splat8, 8, 6)

__attribute__((target("avx512f,avx512vl,avx512dq,avx2,fma")))
static void smallk_avx512(int M, int K, const float *w, const float *b, const float *const *rows,
                          int nt, float *y, size_t ldy)
SMALLK_BODY(v16f, LD16, ST16, SPLAT16, 16, 8)
#endif

static SmallKFn smallk_fn = smallk_base;

/* Dispatches to the kernel in use (defined after the kernel table). */
static void matvec_n(int M, int K, const float *A, int lda, const float *x, float beta, float *y,
                     int incy, float alpha);

/* y[M] = A^T x for A[K,M] (row stride lda): a sum of scaled rows (axpy form),
 * which vectorises along M without a reduction. y must be contiguous (incy 1). */
CLV_CLONES
static void matvec_t(int M, int K, const float *A, int lda, const float *x, float beta, float *y,
                     float alpha)
{
    if (beta == 0.0f) memset(y, 0, (size_t)M * sizeof *y);
    else if (beta != 1.0f)
        for (int i = 0; i < M; i++) y[i] *= beta;
    int k = 0;
    for (; k + 4 <= K; k += 4) {
        const float *a0 = A + (size_t)k * lda, *a1 = a0 + lda, *a2 = a1 + lda, *a3 = a2 + lda;
        float x0 = alpha * x[k], x1 = alpha * x[k + 1], x2 = alpha * x[k + 2], x3 = alpha * x[k + 3];
        v8f v0 = splat8(x0), v1 = splat8(x1), v2 = splat8(x2), v3 = splat8(x3);
        int i = 0;
        for (; i + 8 <= M; i += 8)
            st8(y + i, ld8(y + i) + ld8(a0 + i) * v0 + ld8(a1 + i) * v1 + ld8(a2 + i) * v2 +
                           ld8(a3 + i) * v3);
        for (; i < M; i++) y[i] += a0[i] * x0 + a1[i] * x1 + a2[i] * x2 + a3[i] * x3;
    }
    for (; k < K; k++) {
        const float *a0 = A + (size_t)k * lda;
        float x0 = alpha * x[k];
        for (int i = 0; i < M; i++) y[i] += a0[i] * x0;
    }
}

/* Built-in GEMM. B is packed into NR-column panels of KC rows (on the stack);
 * A is read in place, MR rows at a time, broadcasting one element per row and
 * step. Three tile kernels: AVX-512 (8 x 32, 16 zmm accumulators), AVX2+FMA
 * (6 x 16, 12 ymm accumulators) and a baseline one (6 x 16 on SSE); the best one
 * the CPU supports is picked once at load time. */
#define GEMM_KC 256
#define GEMM_MR_MAX 8
#define GEMM_NR_MAX 32

typedef void (*GemmTileFn)(int trans_a, const float *A, int lda, int i0, int mr, int k0, int kc,
                           const float *bp, float *acc);

/* Packs op(B)[k0:k0+kc, j0:j0+nr] into bp[kc][NR], zero-padding columns >= nr. */
static void pack_b(int trans_b, const float *B, int ldb, int k0, int kc, int j0, int nr, int NR,
                   float *bp)
{
    if (!trans_b) {
        for (int k = 0; k < kc; k++) {
            const float *src = B + (size_t)(k0 + k) * ldb + j0;
            float *dst = bp + (size_t)k * NR;
            int j = 0;
            for (; j < nr; j++) dst[j] = src[j];
            for (; j < NR; j++) dst[j] = 0.0f;
        }
    } else {
        /* op(B)[k, j] = B[j, k] */
        for (int j = 0; j < NR; j++) {
            if (j < nr) {
                const float *src = B + (size_t)(j0 + j) * ldb + k0;
                for (int k = 0; k < kc; k++) bp[(size_t)k * NR + j] = src[k];
            } else {
                for (int k = 0; k < kc; k++) bp[(size_t)k * NR + j] = 0.0f;
            }
        }
    }
}

/* Row r of op(A) at column k (rows >= mr read as 0 by the callers' guards). */
#define A_AT(r, k) (trans_a ? A[(size_t)(k0 + (k)) * lda + i0 + (r)] : A[(size_t)(i0 + (r)) * lda + k0 + (k)])

/* acc[mr][16] += op(A)[i0 : i0 + mr, k0 : k0 + kc] * bp[kc][16], mr <= 6. The body
 * is compiled for AVX2+FMA and for the baseline (v8f lowers to SSE pairs). */
#define TILE_6x16_BODY                                                                   \
    v8f c00 = splat8(0), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;        \
    v8f c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;              \
    if (!trans_a && mr == 6) {                                                           \
        const float *a0 = A + (size_t)i0 * lda + k0, *a1 = a0 + lda, *a2 = a1 + lda;    \
        const float *a3 = a2 + lda, *a4 = a3 + lda, *a5 = a4 + lda;                     \
        for (int k = 0; k < kc; k++) {                                                   \
            v8f b0 = ld8(bp + (size_t)k * 16), b1 = ld8(bp + (size_t)k * 16 + 8), a;    \
            a = splat8(a0[k]); c00 += a * b0; c01 += a * b1;                             \
            a = splat8(a1[k]); c10 += a * b0; c11 += a * b1;                             \
            a = splat8(a2[k]); c20 += a * b0; c21 += a * b1;                             \
            a = splat8(a3[k]); c30 += a * b0; c31 += a * b1;                             \
            a = splat8(a4[k]); c40 += a * b0; c41 += a * b1;                             \
            a = splat8(a5[k]); c50 += a * b0; c51 += a * b1;                             \
        }                                                                                \
    } else {                                                                             \
        for (int k = 0; k < kc; k++) {                                                   \
            float av[6] = {0};                                                           \
            for (int r = 0; r < mr; r++) av[r] = A_AT(r, k);                             \
            v8f b0 = ld8(bp + (size_t)k * 16), b1 = ld8(bp + (size_t)k * 16 + 8), a;    \
            a = splat8(av[0]); c00 += a * b0; c01 += a * b1;                             \
            a = splat8(av[1]); c10 += a * b0; c11 += a * b1;                             \
            a = splat8(av[2]); c20 += a * b0; c21 += a * b1;                             \
            a = splat8(av[3]); c30 += a * b0; c31 += a * b1;                             \
            a = splat8(av[4]); c40 += a * b0; c41 += a * b1;                             \
            a = splat8(av[5]); c50 += a * b0; c51 += a * b1;                             \
        }                                                                                \
    }                                                                                    \
    st8(acc + 0, c00); st8(acc + 8, c01); st8(acc + 16, c10); st8(acc + 24, c11);       \
    st8(acc + 32, c20); st8(acc + 40, c21); st8(acc + 48, c30); st8(acc + 56, c31);     \
    st8(acc + 64, c40); st8(acc + 72, c41); st8(acc + 80, c50); st8(acc + 88, c51);

static void gemm_tile_6x16(int trans_a, const float *A, int lda, int i0, int mr, int k0, int kc,
                           const float *bp, float *acc)
{
    TILE_6x16_BODY
}

#if CLV_X86_DISPATCH
__attribute__((target("avx2,fma")))
static void gemm_tile_6x16_avx2(int trans_a, const float *A, int lda, int i0, int mr, int k0,
                                int kc, const float *bp, float *acc)
{
    TILE_6x16_BODY
}

/* acc[mr][32] += ..., mr <= 8: 16 zmm accumulators, two B vectors per step. */
__attribute__((target("avx512f,avx512vl,avx512dq,avx2,fma")))
static void gemm_tile_8x32_avx512(int trans_a, const float *A, int lda, int i0, int mr, int k0,
                                  int kc, const float *bp, float *acc)
{
    v16f c00 = {0}, c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00;
    v16f c40 = c00, c41 = c00, c50 = c00, c51 = c00, c60 = c00, c61 = c00, c70 = c00, c71 = c00;
#define ROW8(av0, av1, av2, av3, av4, av5, av6, av7)                                      \
    do {                                                                                  \
        v16f b0 = LD16(bp + (size_t)k * 32), b1 = LD16(bp + (size_t)k * 32 + 16), a;     \
        a = SPLAT16(av0); c00 += a * b0; c01 += a * b1;                                   \
        a = SPLAT16(av1); c10 += a * b0; c11 += a * b1;                                   \
        a = SPLAT16(av2); c20 += a * b0; c21 += a * b1;                                   \
        a = SPLAT16(av3); c30 += a * b0; c31 += a * b1;                                   \
        a = SPLAT16(av4); c40 += a * b0; c41 += a * b1;                                   \
        a = SPLAT16(av5); c50 += a * b0; c51 += a * b1;                                   \
        a = SPLAT16(av6); c60 += a * b0; c61 += a * b1;                                   \
        a = SPLAT16(av7); c70 += a * b0; c71 += a * b1;                                   \
    } while (0)
    if (!trans_a && mr == 8) {
        const float *a0 = A + (size_t)i0 * lda + k0, *a1 = a0 + lda, *a2 = a1 + lda, *a3 = a2 + lda;
        const float *a4 = a3 + lda, *a5 = a4 + lda, *a6 = a5 + lda, *a7 = a6 + lda;
        for (int k = 0; k < kc; k++) ROW8(a0[k], a1[k], a2[k], a3[k], a4[k], a5[k], a6[k], a7[k]);
    } else if (trans_a && mr == 8) {
        for (int k = 0; k < kc; k++) {
            const float *ap = A + (size_t)(k0 + k) * lda + i0;
            ROW8(ap[0], ap[1], ap[2], ap[3], ap[4], ap[5], ap[6], ap[7]);
        }
    } else {
        for (int k = 0; k < kc; k++) {
            float av[8] = {0};
            for (int r = 0; r < mr; r++) av[r] = A_AT(r, k);
            ROW8(av[0], av[1], av[2], av[3], av[4], av[5], av[6], av[7]);
        }
    }
#undef ROW8
    ST16(acc + 0, c00); ST16(acc + 16, c01); ST16(acc + 32, c10); ST16(acc + 48, c11);
    ST16(acc + 64, c20); ST16(acc + 80, c21); ST16(acc + 96, c30); ST16(acc + 112, c31);
    ST16(acc + 128, c40); ST16(acc + 144, c41); ST16(acc + 160, c50); ST16(acc + 176, c51);
    ST16(acc + 192, c60); ST16(acc + 208, c61); ST16(acc + 224, c70); ST16(acc + 240, c71);
}
#endif

typedef void (*MatvecFn)(int M, int K, const float *A, int lda, const float *x, float beta,
                         float *y, int incy, float alpha);

/* The kernels in use; chosen at load time, lowered by clv_nn_limit_isa(). */
static struct {
    int mr, nr, level;
    GemmTileFn tile;
    MatvecFn matvec;
    const char *isa;
} kern = {6, 16, 0, gemm_tile_6x16, matvec_n_base, "sse2"};
static int cpu_level; /* best level the CPU supports */

static void set_level(int level)
{
    kern.level = 0;
    kern.mr = 6;
    kern.nr = 16;
    kern.tile = gemm_tile_6x16;
    kern.matvec = matvec_n_base;
    kern.isa = "sse2";
    matvec_p_fn = matvec_p_base;
    smallk_fn = smallk_base;
#if CLV_X86_DISPATCH
    if (level >= 2) {
        matvec_p_fn = matvec_p_avx512;
        smallk_fn = smallk_avx512;
        kern.level = 2;
        kern.mr = 8;
        kern.nr = 32;
        kern.tile = gemm_tile_8x32_avx512;
        kern.matvec = matvec_n_avx512;
        kern.isa = "avx512";
    } else if (level >= 1) {
        matvec_p_fn = matvec_p_avx2;
        smallk_fn = smallk_avx2;
        kern.level = 1;
        kern.tile = gemm_tile_6x16_avx2;
        kern.matvec = matvec_n_avx2;
        kern.isa = "avx2";
    }
#else
    (void)level;
#endif
}

__attribute__((constructor)) static void clv_nn_pick_kernels(void)
{
#if CLV_X86_DISPATCH
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
        __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("fma"))
        cpu_level = 2;
    else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        cpu_level = 1;
#endif
    set_level(cpu_level);
}

static void matvec_n(int M, int K, const float *A, int lda, const float *x, float beta, float *y,
                     int incy, float alpha)
{
    kern.matvec(M, K, A, lda, x, beta, y, incy, alpha);
}

int clv_nn_limit_isa(int level)
{
    set_level(level < cpu_level ? level : cpu_level);
    return kern.level;
}

const char *clv_nn_isa(void)
{
    return kern.isa;
}

/* Whether large GEMMs go to BLAS. Measured on an AVX-512 machine (tests/bench_nn):
 * the built-in 8 x 32 AVX-512 kernel runs at about twice OpenBLAS 0.3.21's
 * sgemm (whose newest x86 kernel there is Haswell's), so "auto" keeps BLAS for
 * CPUs without AVX-512. */
static int gemm_uses_blas(void)
{
#ifdef CLV_HAVE_BLAS
    return blas_mode == 2 || (blas_mode == 1 && kern.level < 2);
#else
    return 0;
#endif
}

const char *clv_nn_backend(void)
{
    if (gemm_uses_blas()) return "openblas";
    switch (kern.level) {
    case 2: return "builtin-avx512";
    case 1: return "builtin-avx2";
    default: return "builtin-sse2";
    }
}

void clv_nn_use_blas(int mode)
{
    blas_mode = mode < 0 ? 0 : mode > 2 ? 2 : mode;
}

static void gemm_builtin(int trans_a, int trans_b, int M, int N, int K, float alpha,
                         const float *A, int lda, const float *B, int ldb, float beta, float *C,
                         int ldc)
{
    _Alignas(64) float bp[GEMM_KC * GEMM_NR_MAX];
    _Alignas(64) float acc[GEMM_MR_MAX * GEMM_NR_MAX];
    const int MR = kern.mr, NR = kern.nr;
    for (int k0 = 0; k0 < K; k0 += GEMM_KC) {
        int kc = K - k0 < GEMM_KC ? K - k0 : GEMM_KC;
        /* beta applies once, in the first K block; later blocks accumulate. */
        const float b = k0 == 0 ? beta : 1.0f;
        for (int j0 = 0; j0 < N; j0 += NR) {
            int nr = N - j0 < NR ? N - j0 : NR;
            pack_b(trans_b, B, ldb, k0, kc, j0, nr, NR, bp);
            for (int i0 = 0; i0 < M; i0 += MR) {
                int mr = M - i0 < MR ? M - i0 : MR;
                kern.tile(trans_a, A, lda, i0, mr, k0, kc, bp, acc);
                for (int r = 0; r < mr; r++) {
                    float *c = C + (size_t)(i0 + r) * ldc + j0;
                    const float *ar = acc + (size_t)r * NR;
                    if (b == 0.0f) /* C's old content is ignored, NaN included */
                        for (int j = 0; j < nr; j++) c[j] = alpha * ar[j];
                    else if (b == 1.0f)
                        for (int j = 0; j < nr; j++) c[j] += alpha * ar[j];
                    else
                        for (int j = 0; j < nr; j++) c[j] = b * c[j] + alpha * ar[j];
                }
            }
        }
    }
}

void clv_gemm(int trans_a, int trans_b, int M, int N, int K, float alpha, const float *A, int lda,
              const float *B, int ldb, float beta, float *C, int ldc)
{
    if (M <= 0 || N <= 0) return;
    if (K <= 0) {
        for (int i = 0; i < M; i++)
            for (int j = 0; j < N; j++)
                C[(size_t)i * ldc + j] = beta == 0.0f ? 0.0f : beta * C[(size_t)i * ldc + j];
        return;
    }
    /* Vector shapes go to the matrix-vector kernels when the vector is contiguous.
     * C[1, N]: a_k = op(A)[0, k] is contiguous unless A is transposed with lda > 1. */
    if (M == 1 && (!trans_a || lda == 1)) {
        if (trans_b) matvec_n(N, K, B, ldb, A, beta, C, 1, alpha); /* c_j = B[j,:] . a */
        else matvec_t(N, K, B, ldb, A, beta, C, alpha);            /* c = sum_k a_k B[k,:] */
        return;
    }
    /* C[M, 1]: x_k = op(B)[k, 0] is contiguous when B is transposed or ldb == 1. */
    if (N == 1 && (trans_b || ldb == 1)) {
        if (!trans_a) {
            matvec_n(M, K, A, lda, B, beta, C, ldc, alpha); /* c_i = A[i,:] . x */
            return;
        }
        if (ldc == 1) {
            matvec_t(M, K, A, lda, B, beta, C, alpha); /* c = sum_k x_k A[k,:] */
            return;
        }
    }
#ifdef CLV_HAVE_BLAS
    if (gemm_uses_blas() && (double)M * N * K >= 16384.0) {
        cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
                    trans_b ? CblasTrans : CblasNoTrans, M, N, K, alpha, A, lda, B, ldb, beta, C,
                    ldc);
        return;
    }
#endif
    gemm_builtin(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

/* ----------------------------------------------------------------- linear --- */

size_t clv_nn_packed_floats(int rows, int cols)
{
    if (rows <= 0 || cols <= 0) return 0;
    return (size_t)((rows + 15) / 16) * 16 * (size_t)cols;
}

void clv_nn_pack(const float *w, int rows, int cols, float *dst)
{
    const int P = (rows + 15) / 16;
    for (int p = 0; p < P; p++)
        for (int k = 0; k < cols; k++)
            for (int r = 0; r < 16; r++) {
                int row = p * 16 + r;
                dst[((size_t)p * cols + k) * 16 + r] = row < rows ? w[(size_t)row * cols + k] : 0.0f;
            }
}

/* Packed copy of w[rows, cols] from the arena; NULL on a sizing pass. */
static const float *pack_into(ClvArena *a, const float *w, int rows, int cols)
{
    float *p = clv_arena_floats(a, clv_nn_packed_floats(rows, cols));
    if (p) clv_nn_pack(w, rows, cols, p);
    return p;
}

/* y[M] = P x + y (accumulate) or P x. */
static void matvec_p(int M, int K, const float *P, const float *x, float *y, int accumulate)
{
    matvec_p_fn(M, K, P, x, y, accumulate);
}

ClvStatus clv_linear_pack(const ClvLinear *l, ClvArena *a, const float **packed)
{
    if (!packed) return CLV_ERR_INVALID;
    *packed = NULL;
    if (!l || !a || !l->weight || l->in_features < 1 || l->out_features < 1) return CLV_ERR_INVALID;
    *packed = pack_into(a, l->weight, l->out_features, l->in_features);
    return clv_arena_overflowed(a) ? CLV_ERR_NOMEM : CLV_OK;
}

void clv_linear_packed(const ClvLinear *l, const float *packed, const float *x, float *y)
{
    if (l->bias) memcpy(y, l->bias, (size_t)l->out_features * sizeof *y);
    matvec_p(l->out_features, l->in_features, packed, x, y, l->bias != NULL);
}

void clv_linear(const ClvLinear *l, const float *x, int n, float *y)
{
    const int in = l->in_features, out = l->out_features;
    if (n <= 0) return;
    if (l->bias) {
        for (int t = 0; t < n; t++) memcpy(y + (size_t)t * out, l->bias, (size_t)out * sizeof *y);
        clv_gemm(0, 1, n, out, in, 1.0f, x, in, l->weight, in, 1.0f, y, out);
    } else {
        clv_gemm(0, 1, n, out, in, 1.0f, x, in, l->weight, in, 0.0f, y, out);
    }
}

/* -------------------------------------------------------------- conv 1-D --- */

ClvStatus clv_conv1d_check(const ClvConv1d *c)
{
    if (!c || c->in_ch < 1 || c->out_ch < 1 || c->kernel < 1 || c->stride < 1 || c->padding < 0 ||
        c->dilation < 1 || c->groups < 1 || c->in_ch % c->groups || c->out_ch % c->groups ||
        !c->weight)
        return CLV_ERR_INVALID;
    if ((int64_t)c->dilation * (c->kernel - 1) > INT32_MAX / 2) return CLV_ERR_INVALID;
    return CLV_OK;
}

int clv_conv1d_out_len(const ClvConv1d *c, int in_len)
{
    int64_t span = (int64_t)c->dilation * (c->kernel - 1) + 1;
    int64_t avail = (int64_t)in_len + 2 * (int64_t)c->padding - span;
    if (in_len < 0 || avail < 0) return 0;
    return (int)(avail / c->stride + 1);
}

size_t clv_conv1d_scratch(const ClvConv1d *c, int in_len)
{
    int out = clv_conv1d_out_len(c, in_len);
    if (out <= 0) return 0;
    return (size_t)(c->in_ch / c->groups) * (size_t)c->kernel * (size_t)out;
}

/* im2col for 1-D: col[(ci * K + k), t] = x[ci, t * s + k * d - pad] (zero outside
 * [0, in_len)); x rows have stride x_stride. */
static void im2col1d(const float *x, int x_stride, int in_len, int cin, int K, int s, int d,
                     int pad, int out_len, float *col)
{
    for (int ci = 0; ci < cin; ci++) {
        const float *xr = x + (size_t)ci * x_stride;
        for (int k = 0; k < K; k++) {
            float *cr = col + ((size_t)ci * K + k) * out_len;
            int off = k * d - pad;
            /* Valid t: 0 <= t*s + off < in_len */
            int t_lo = off >= 0 ? 0 : (-off + s - 1) / s;
            int t_hi = in_len - off <= 0 ? 0 : (in_len - off - 1) / s + 1; /* exclusive */
            if (t_hi > out_len) t_hi = out_len;
            if (t_lo > out_len) t_lo = out_len;
            int t = 0;
            for (; t < t_lo; t++) cr[t] = 0.0f;
            if (s == 1) {
                if (t_hi > t_lo) memcpy(cr + t_lo, xr + t_lo + off, (size_t)(t_hi - t_lo) * sizeof *cr);
                t = t_hi > t_lo ? t_hi : t_lo;
            } else {
                for (; t < t_hi; t++) cr[t] = xr[(size_t)t * s + off];
            }
            for (; t < out_len; t++) cr[t] = 0.0f;
        }
    }
}

/* One output row of a stride-1 conv with a single input channel:
 * y[t] = b + sum_k w[k] * x[t + k*d - pad] (x zero outside [0, in_len)). All taps
 * accumulate in registers and y is stored once, which also avoids the
 * store-to-load stalls of one pass per tap when x and y rows alias in the
 * cache's address bits. */
CLV_CLONES
static void conv_row_1ch(float *restrict y, const float *restrict x, const float *w, float b, int K,
                         int d, int pad, int in_len, int out_len, int accumulate)
{
    /* Interior [t0, t1): every tap inside x. */
    int t0 = pad < out_len ? pad : out_len;
    int t1 = in_len - ((K - 1) * d - pad);
    if (t1 > out_len) t1 = out_len;
    if (t1 < t0) t1 = t0;
    for (int t = 0; t < out_len; t++) {
        if (t == t0) {
            /* 32 outputs per block: each broadcast tap feeds four FMAs. */
            for (; t + 32 <= t1; t += 32) {
                v8f a0, a1, a2, a3;
                if (accumulate) {
                    a0 = ld8(y + t);
                    a1 = ld8(y + t + 8);
                    a2 = ld8(y + t + 16);
                    a3 = ld8(y + t + 24);
                } else {
                    a0 = a1 = a2 = a3 = splat8(b);
                }
                const float *xp = x + t - pad;
                for (int k = 0; k < K; k++, xp += d) {
                    v8f wk = splat8(w[k]);
                    a0 += wk * ld8(xp);
                    a1 += wk * ld8(xp + 8);
                    a2 += wk * ld8(xp + 16);
                    a3 += wk * ld8(xp + 24);
                }
                st8(y + t, a0);
                st8(y + t + 8, a1);
                st8(y + t + 16, a2);
                st8(y + t + 24, a3);
            }
            for (; t + 8 <= t1; t += 8) {
                v8f a = accumulate ? ld8(y + t) : splat8(b);
                for (int k = 0; k < K; k++) a += splat8(w[k]) * ld8(x + t + k * d - pad);
                st8(y + t, a);
            }
            if (t >= out_len) break;
        }
        float a = accumulate ? y[t] : b;
        for (int k = 0; k < K; k++) {
            int i = t + k * d - pad;
            if (i >= 0 && i < in_len) a += w[k] * x[i];
        }
        y[t] = a;
    }
}

#if CLV_X86_DISPATCH
/* conv_row_1ch() with 16-float vectors, 64 outputs per block and the taps (up to
 * 8) held in registers; the edges take the scalar path. */
__attribute__((target("avx512f,avx512vl,avx512dq,avx2,fma")))
static void conv_row_1ch_avx512(float *restrict y, const float *restrict x, const float *w, float b,
                                int K, int d, int pad, int in_len, int out_len, int accumulate)
{
    int t0 = pad < out_len ? pad : out_len;
    int t1 = in_len - ((K - 1) * d - pad);
    if (t1 > out_len) t1 = out_len;
    if (t1 < t0) t1 = t0;
    v16f wk[8];
    const int kr = K < 8 ? K : 8;
    for (int k = 0; k < kr; k++) wk[k] = SPLAT16(w[k]);
    for (int t = 0; t < out_len; t++) {
        if (t == t0) {
            for (; t + 64 <= t1; t += 64) {
                v16f a0, a1, a2, a3;
                if (accumulate) {
                    a0 = LD16(y + t);
                    a1 = LD16(y + t + 16);
                    a2 = LD16(y + t + 32);
                    a3 = LD16(y + t + 48);
                } else {
                    a0 = a1 = a2 = a3 = SPLAT16(b);
                }
                const float *xp = x + t - pad;
                int k = 0;
                for (; k < kr; k++, xp += d) {
                    a0 += wk[k] * LD16(xp);
                    a1 += wk[k] * LD16(xp + 16);
                    a2 += wk[k] * LD16(xp + 32);
                    a3 += wk[k] * LD16(xp + 48);
                }
                for (; k < K; k++, xp += d) {
                    v16f v = SPLAT16(w[k]);
                    a0 += v * LD16(xp);
                    a1 += v * LD16(xp + 16);
                    a2 += v * LD16(xp + 32);
                    a3 += v * LD16(xp + 48);
                }
                ST16(y + t, a0);
                ST16(y + t + 16, a1);
                ST16(y + t + 32, a2);
                ST16(y + t + 48, a3);
            }
            for (; t + 16 <= t1; t += 16) {
                v16f a = accumulate ? LD16(y + t) : SPLAT16(b);
                for (int k = 0; k < K; k++) a += SPLAT16(w[k]) * LD16(x + t + k * d - pad);
                ST16(y + t, a);
            }
            /* The rest of the interior: one vector ending at t1 that overlaps the
             * last block (same values stored twice) when y is only written, else
             * 8 and then 1 at a time. Scalar edges cost ~10 cycles per output. */
            if (t < t1 && !accumulate && t1 - t0 >= 16) {
                v16f a = SPLAT16(b);
                for (int k = 0; k < K; k++) a += SPLAT16(w[k]) * LD16(x + t1 - 16 + k * d - pad);
                ST16(y + t1 - 16, a);
                t = t1;
            }
            for (; t + 8 <= t1; t += 8) {
                v8f a = accumulate ? ld8(y + t) : splat8(b);
                for (int k = 0; k < K; k++) a += splat8(w[k]) * ld8(x + t + k * d - pad);
                st8(y + t, a);
            }
            if (t >= out_len) break;
        }
        float a = accumulate ? y[t] : b;
        for (int k = 0; k < K; k++) {
            int i = t + k * d - pad;
            if (i >= 0 && i < in_len) a += w[k] * x[i];
        }
        y[t] = a;
    }
}
#endif

/* The row kernel for the ISA in use. */
static void conv_row(float *y, const float *x, const float *w, float b, int K, int d, int pad,
                     int in_len, int out_len, int accumulate)
{
#if CLV_X86_DISPATCH
    if (kern.level >= 2) {
        conv_row_1ch_avx512(y, x, w, b, K, d, pad, in_len, out_len, accumulate);
        return;
    }
#endif
    conv_row_1ch(y, x, w, b, K, d, pad, in_len, out_len, accumulate);
}

/* Conv over x[in_ch, in_len] (row stride x_stride) with `pad` zeros on the left
 * (and implicitly on the right), writing out_len frames. */
static void conv1d_core(const ClvConv1d *c, const float *packed, const float *x, int x_stride,
                        int in_len, int pad, int out_len, float *y, float *scratch)
{
    const int G = c->groups, cin = c->in_ch / G, cout = c->out_ch / G, K = c->kernel;
    const int s = c->stride, d = c->dilation;
    if (out_len <= 0) return;
    if (cin == 1 && s == 1) {
        /* One input channel per group (depthwise and channel-multiplier convs):
         * direct shifted multiply-adds, no im2col. */
        for (int co = 0; co < c->out_ch; co++) {
            conv_row(y + (size_t)co * out_len, x + (size_t)(co / cout) * x_stride,
                         c->weight + (size_t)co * K, c->bias ? c->bias[co] : 0.0f, K, d, pad, in_len,
                         out_len, 0);
        }
        return;
    }
    if (G == 1 && cin * K <= SMALLK_MAX && out_len >= 8) {
        /* Few taps in all (a first layer on audio: one input channel, strided):
         * the direct small-K product, reading x in place when it can. */
        const float *rows[SMALLK_MAX];
        if (s == 1 && pad == 0) {
            for (int ci = 0; ci < cin; ci++)
                for (int k = 0; k < K; k++) rows[ci * K + k] = x + (size_t)ci * x_stride + (size_t)k * d;
        } else {
            im2col1d(x, x_stride, in_len, cin, K, s, d, pad, out_len, scratch);
            for (int r = 0; r < cin * K; r++) rows[r] = scratch + (size_t)r * out_len;
        }
        smallk_fn(c->out_ch, cin * K, c->weight, c->bias, rows, out_len, y, (size_t)out_len);
        return;
    }
    for (int co = 0; co < c->out_ch; co++) {
        float b = c->bias ? c->bias[co] : 0.0f;
        float *yr = y + (size_t)co * out_len;
        for (int t = 0; t < out_len; t++) yr[t] = b;
    }
    const int direct = K == 1 && s == 1 && pad == 0 && x_stride == out_len;
    if (out_len == 1 && G == 1 && packed) {
        /* One output frame: a matrix-vector product over the packed weights. */
        const float *col = x;
        if (!direct && pad == 0) {
            /* The window is inside x: gather it (im2col's per-row bookkeeping and
             * copies would cost a quarter of the product at 256 x 3 taps). */
            for (int ci = 0; ci < cin; ci++) {
                const float *xr = x + (size_t)ci * x_stride;
                float *cr = scratch + (size_t)ci * K;
                for (int k = 0; k < K; k++) cr[k] = xr[(size_t)k * d];
            }
            col = scratch;
        } else if (!direct) {
            im2col1d(x, x_stride, in_len, cin, K, s, d, pad, 1, scratch);
            col = scratch;
        }
        matvec_p(c->out_ch, cin * K, packed, col, y, 1);
        return;
    }
    for (int g = 0; g < G; g++) {
        const float *xg = x + (size_t)g * cin * x_stride;
        const float *col = xg;
        if (!direct) {
            im2col1d(xg, x_stride, in_len, cin, K, s, d, pad, out_len, scratch);
            col = scratch;
        }
        clv_gemm(0, 0, cout, out_len, cin * K, 1.0f, c->weight + (size_t)g * cout * cin * K, cin * K,
                 col, out_len, 1.0f, y + (size_t)g * cout * out_len, out_len);
    }
}

void clv_conv1d(const ClvConv1d *c, const float *x, int in_len, float *y, float *scratch)
{
    conv1d_core(c, NULL, x, in_len, in_len, c->padding, clv_conv1d_out_len(c, in_len), y, scratch);
}

ClvStatus clv_conv1d_stream_init(ClvConv1dStream *s, const ClvConv1d *c, int max_in, int pad_left,
                                 ClvArena *a)
{
    if (!s || !a || clv_conv1d_check(c) != CLV_OK || max_in < 0 || pad_left < 0)
        return CLV_ERR_INVALID;
    memset(s, 0, sizeof *s);
    const int span = c->dilation * (c->kernel - 1) + 1;
    int keep = span - 1 > pad_left ? span - 1 : pad_left;
    if ((int64_t)keep + max_in > INT32_MAX / 2) return CLV_ERR_INVALID;
    s->conv = c;
    if (c->groups == 1) s->packed = pack_into(a, c->weight, c->out_ch, c->in_ch * c->kernel);
    s->max_in = max_in;
    s->pad_left = pad_left;
    s->cap = keep + max_in;
    s->buf = clv_arena_floats(a, (size_t)c->in_ch * (size_t)(s->cap ? s->cap : 1));
    ClvConv1d nopad = *c;
    nopad.padding = 0;
    s->scratch = clv_arena_floats(a, clv_conv1d_scratch(&nopad, s->cap) + 1);
    if (clv_arena_overflowed(a)) return CLV_ERR_NOMEM;
    if (s->buf) clv_conv1d_stream_reset(s);
    return CLV_OK;
}

int clv_conv1d_stream_max_out(const ClvConv1dStream *s)
{
    const ClvConv1d *c = s->conv;
    const int span = c->dilation * (c->kernel - 1) + 1;
    if (s->cap < span) return 0;
    return (s->cap - span) / c->stride + 1;
}

void clv_conv1d_stream_reset(ClvConv1dStream *s)
{
    memset(s->buf, 0, (size_t)s->conv->in_ch * (size_t)s->cap * sizeof *s->buf);
    s->have = s->pad_left; /* the left padding is history made of zeros */
    s->skip = 0;
}

int clv_conv1d_stream_process(ClvConv1dStream *s, const float *x, int n, float *y)
{
    const ClvConv1d *c = s->conv;
    const int C = c->in_ch, cap = s->cap, st = c->stride;
    const int span = c->dilation * (c->kernel - 1) + 1;
    if (n < 0) n = 0;
    if (n > s->max_in) n = s->max_in; /* contract violation; never write out of bounds */
    /* Frames the next window does not need yet to start (stride > span). */
    int drop = s->skip < n ? s->skip : n;
    s->skip -= drop;
    int add = n - drop;
    /* Per-frame calls move a frame or two per channel: plain loops, not a
     * library call per channel. */
    for (int ci = 0; ci < C; ci++) {
        float *dst = s->buf + (size_t)ci * cap + s->have;
        const float *src = x + (size_t)ci * n + drop;
        if (add <= 8)
            for (int i = 0; i < add; i++) dst[i] = src[i];
        else
            memcpy(dst, src, (size_t)add * sizeof *x);
    }
    s->have += add;
    if (s->have < span) return 0;
    int nout = (s->have - span) / st + 1;
    conv1d_core(c, s->packed, s->buf, cap, s->have, 0, nout, y, s->scratch);
    /* The next window starts at nout * stride; keep from there on. */
    int next = nout * st;
    if (next >= s->have) {
        s->skip = next - s->have;
        s->have = 0;
    } else {
        int keep = s->have - next;
        for (int ci = 0; ci < C; ci++) {
            float *row = s->buf + (size_t)ci * cap;
            if (keep <= 8) /* forward copy: the destination is below the source */
                for (int i = 0; i < keep; i++) row[i] = row[next + i];
            else
                memmove(row, row + next, (size_t)keep * sizeof *row);
        }
        s->have = keep;
    }
    return nout;
}

/* ---------------------------------------------------- transposed conv 1-D --- */

ClvStatus clv_conv_transpose1d_check(const ClvConvT1d *c)
{
    if (!c || c->in_ch < 1 || c->out_ch < 1 || c->kernel < 1 || c->stride < 1 || c->padding < 0 ||
        c->output_padding < 0 || c->dilation < 1 || c->groups < 1 || c->in_ch % c->groups ||
        c->out_ch % c->groups || !c->weight)
        return CLV_ERR_INVALID;
    if (c->output_padding >= c->stride && c->output_padding >= c->dilation) return CLV_ERR_INVALID;
    return CLV_OK;
}

int clv_conv_transpose1d_out_len(const ClvConvT1d *c, int in_len)
{
    if (in_len <= 0) return 0;
    int64_t n = (int64_t)(in_len - 1) * c->stride - 2 * (int64_t)c->padding +
                (int64_t)c->dilation * (c->kernel - 1) + c->output_padding + 1;
    return n > 0 && n <= INT32_MAX ? (int)n : 0;
}

size_t clv_conv_transpose1d_scratch(const ClvConvT1d *c, int in_len)
{
    if (in_len <= 0) return 0;
    return (size_t)(c->out_ch / c->groups) * (size_t)c->kernel * (size_t)in_len;
}

void clv_conv_transpose1d(const ClvConvT1d *c, const float *x, int in_len, float *y, float *scratch)
{
    const int G = c->groups, cin = c->in_ch / G, cout = c->out_ch / G, K = c->kernel;
    const int s = c->stride, d = c->dilation, p = c->padding;
    const int out_len = clv_conv_transpose1d_out_len(c, in_len);
    if (out_len <= 0) return;
    for (int co = 0; co < c->out_ch; co++) {
        float b = c->bias ? c->bias[co] : 0.0f;
        float *yr = y + (size_t)co * out_len;
        for (int t = 0; t < out_len; t++) yr[t] = b;
    }
    for (int g = 0; g < G; g++) {
        /* col[cout*K, in_len] = W_g^T x_g with W_g = weight rows of this group's
         * input channels, each row [cout * K]. */
        clv_gemm(1, 0, cout * K, in_len, cin, 1.0f, c->weight + (size_t)g * cin * cout * K, cout * K,
                 x + (size_t)g * cin * in_len, in_len, 0.0f, scratch, in_len);
        for (int co = 0; co < cout; co++) {
            float *yr = y + (size_t)(g * cout + co) * out_len;
            for (int k = 0; k < K; k++) {
                const float *cr = scratch + ((size_t)co * K + k) * in_len;
                int off = k * d - p;
                /* Valid t: 0 <= t*s + off < out_len */
                int t_lo = off >= 0 ? 0 : (-off + s - 1) / s;
                int t_hi = out_len - off <= 0 ? 0 : (out_len - off - 1) / s + 1;
                if (t_hi > in_len) t_hi = in_len;
                if (s == 1) {
                    float *yo = yr + off;
                    for (int t = t_lo; t < t_hi; t++) yo[t] += cr[t];
                } else {
                    for (int t = t_lo; t < t_hi; t++) yr[(size_t)t * s + off] += cr[t];
                }
            }
        }
    }
}

/* -------------------------------------------------------------- conv 2-D --- */

ClvStatus clv_conv2d_check(const ClvConv2d *c)
{
    if (!c || c->in_ch < 1 || c->out_ch < 1 || c->kh < 1 || c->kw < 1 || c->sh < 1 || c->sw < 1 ||
        c->ph < 0 || c->pw < 0 || c->dh < 1 || c->dw < 1 || c->groups < 1 ||
        c->in_ch % c->groups || c->out_ch % c->groups || !c->weight)
        return CLV_ERR_INVALID;
    return CLV_OK;
}

static int out_dim(int n, int k, int s, int p, int d)
{
    int64_t avail = (int64_t)n + 2 * (int64_t)p - ((int64_t)d * (k - 1) + 1);
    if (n < 0 || avail < 0) return 0;
    return (int)(avail / s + 1);
}

int clv_conv2d_out_h(const ClvConv2d *c, int h)
{
    return out_dim(h, c->kh, c->sh, c->ph, c->dh);
}

int clv_conv2d_out_w(const ClvConv2d *c, int w)
{
    return out_dim(w, c->kw, c->sw, c->pw, c->dw);
}

size_t clv_conv2d_scratch(const ClvConv2d *c, int h, int w)
{
    int oh = clv_conv2d_out_h(c, h), ow = clv_conv2d_out_w(c, w);
    if (oh <= 0 || ow <= 0) return 0;
    return (size_t)(c->in_ch / c->groups) * c->kh * c->kw * (size_t)oh * ow;
}

void clv_conv2d(const ClvConv2d *c, const float *x, int h, int w, float *y, float *scratch)
{
    const int G = c->groups, cin = c->in_ch / G, cout = c->out_ch / G;
    const int oh = clv_conv2d_out_h(c, h), ow = clv_conv2d_out_w(c, w);
    if (oh <= 0 || ow <= 0) return;
    const size_t on = (size_t)oh * ow;
    if (cin == 1 && cout <= 4 && c->sh == 1 && c->sw == 1) {
        /* Depthwise (one input channel and few outputs per group): each kernel row
         * is a stride-1 1-D conv along the row, accumulated. With many outputs per
         * input channel (a first layer on a spectrogram) im2col + GEMM measured
         * faster: the GEMM reuses each input load across output channels. */
        for (int co = 0; co < c->out_ch; co++) {
            const float *xc = x + (size_t)(co / cout) * h * w;
            const float *wc = c->weight + (size_t)co * c->kh * c->kw;
            float b = c->bias ? c->bias[co] : 0.0f;
            for (int oy = 0; oy < oh; oy++) {
                float *yr = y + (size_t)co * on + (size_t)oy * ow;
                int first = 1;
                for (int ki = 0; ki < c->kh; ki++) {
                    int iy = oy + ki * c->dh - c->ph;
                    if (iy < 0 || iy >= h) continue;
                    conv_row(yr, xc + (size_t)iy * w, wc + (size_t)ki * c->kw, b, c->kw, c->dw,
                                 c->pw, w, ow, !first);
                    first = 0;
                }
                if (first)
                    for (int t = 0; t < ow; t++) yr[t] = b;
            }
        }
        return;
    }
    const int KK = c->kh * c->kw;
    const size_t Hp = (size_t)h + 2 * (size_t)c->ph, Wp = (size_t)w + 2 * (size_t)c->pw;
    if (G == 1 && cin == 1 && KK <= SMALLK_MAX && c->sh == 1 && c->sw == 1 && ow >= 8 &&
        Hp * Wp <= (size_t)KK * on) {
        /* One input channel, many outputs (a first layer on a spectrogram): the
         * direct small-K product over each output row, its taps read in place from
         * the input (zero-padded once into the scratch when there is padding). */
        const float *xs = x;
        size_t xw = (size_t)w;
        if (c->ph || c->pw) {
            memset(scratch, 0, Hp * Wp * sizeof *scratch);
            for (int iy = 0; iy < h; iy++)
                memcpy(scratch + (size_t)(iy + c->ph) * Wp + c->pw, x + (size_t)iy * w,
                       (size_t)w * sizeof *x);
            xs = scratch;
            xw = Wp;
        }
        for (int oy = 0; oy < oh; oy++) {
            const float *rows[SMALLK_MAX];
            for (int ki = 0; ki < c->kh; ki++)
                for (int kj = 0; kj < c->kw; kj++)
                    rows[ki * c->kw + kj] = xs + (size_t)(oy + ki * c->dh) * xw + (size_t)kj * c->dw;
            smallk_fn(c->out_ch, KK, c->weight, c->bias, rows, ow, y + (size_t)oy * ow, on);
        }
        return;
    }
    for (int co = 0; co < c->out_ch; co++) {
        float b = c->bias ? c->bias[co] : 0.0f;
        for (size_t t = 0; t < on; t++) y[co * on + t] = b;
    }
    const int direct = KK == 1 && c->sh == 1 && c->sw == 1 && c->ph == 0 && c->pw == 0;
    for (int g = 0; g < G; g++) {
        const float *xg = x + (size_t)g * cin * h * w;
        const float *col = xg;
        if (!direct) {
            for (int ci = 0; ci < cin; ci++) {
                const float *xc = xg + (size_t)ci * h * w;
                for (int ki = 0; ki < c->kh; ki++) {
                    for (int kj = 0; kj < c->kw; kj++) {
                        float *cr = scratch + ((size_t)(ci * c->kh + ki) * c->kw + kj) * on;
                        for (int oy = 0; oy < oh; oy++) {
                            int iy = oy * c->sh + ki * c->dh - c->ph;
                            float *dst = cr + (size_t)oy * ow;
                            if (iy < 0 || iy >= h) {
                                memset(dst, 0, (size_t)ow * sizeof *dst);
                                continue;
                            }
                            const float *src = xc + (size_t)iy * w;
                            int off = kj * c->dw - c->pw;
                            for (int ox = 0; ox < ow; ox++) {
                                int ix = ox * c->sw + off;
                                dst[ox] = (ix >= 0 && ix < w) ? src[ix] : 0.0f;
                            }
                        }
                    }
                }
            }
            col = scratch;
        }
        clv_gemm(0, 0, cout, (int)on, cin * KK, 1.0f, c->weight + (size_t)g * cout * cin * KK,
                 cin * KK, col, (int)on, 1.0f, y + (size_t)g * cout * on, (int)on);
    }
}

/* ----------------------------------------------------------- activations --- */

CLV_CLONES
static void sigmoid_n(float *x, size_t n)
{
    MAP8(sigmoid8, x, n);
}

CLV_CLONES
static void tanh_n(float *x, size_t n)
{
    MAP8(tanh8, x, n);
}

void clv_relu(float *x, size_t n)
{
    for (size_t i = 0; i < n; i++) x[i] = x[i] > 0.0f ? x[i] : (x[i] != x[i] ? x[i] : 0.0f);
}

void clv_leaky_relu(float *x, size_t n, float slope)
{
    for (size_t i = 0; i < n; i++) x[i] = x[i] > 0.0f ? x[i] : x[i] * slope;
}

void clv_gelu(float *x, size_t n)
{
    for (size_t i = 0; i < n; i++) x[i] = 0.5f * x[i] * (1.0f + erff(x[i] * 0.70710678118654752f));
}

void clv_gelu_tanh(float *x, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        float v = x[i];
        x[i] = 0.5f * v * (1.0f + tanhf(0.79788456080286536f * (v + 0.044715f * v * v * v)));
    }
}

void clv_tanh(float *x, size_t n)
{
    tanh_n(x, n);
}

void clv_sigmoid(float *x, size_t n)
{
    sigmoid_n(x, n);
}

void clv_softmax(float *x, int n, int F)
{
    for (int r = 0; r < n; r++) {
        float *v = x + (size_t)r * F;
        float mx = -INFINITY;
        for (int j = 0; j < F; j++) mx = v[j] > mx ? v[j] : mx;
        if (mx == -INFINITY) mx = 0.0f; /* all -inf: exp gives 0s, then NaN as PyTorch */
        float sum = 0.0f;
        for (int j = 0; j < F; j++) {
            v[j] = expf(v[j] - mx);
            sum += v[j];
        }
        float inv = 1.0f / sum;
        for (int j = 0; j < F; j++) v[j] *= inv;
    }
}

CLV_CLONES
static void glu_block(const float *a, const float *b, float *y, size_t n)
{
    size_t i = 0;
    for (; i + 8 <= n; i += 8) st8(y + i, ld8(a + i) * sigmoid8(ld8(b + i)));
    for (; i < n; i++) {
        y[i] = b[i];
        sigmoid_n(y + i, 1);
        y[i] *= a[i];
    }
}

void clv_glu(const float *x, int outer, int half, int inner, float *y)
{
    const size_t blk = (size_t)half * inner;
    for (int o = 0; o < outer; o++) {
        const float *a = x + (size_t)o * 2 * blk;
        glu_block(a, a + blk, y + (size_t)o * blk, blk);
    }
}

/* ------------------------------------------------------------ recurrent --- */

ClvStatus clv_rnn_cell_check(const ClvRnnCell *c)
{
    if (!c || c->input_size < 1 || c->hidden_size < 1 || !c->w_ih || !c->w_hh) return CLV_ERR_INVALID;
    if (c->hidden_size > INT32_MAX / 8 || c->input_size > INT32_MAX / 8) return CLV_ERR_INVALID;
    return CLV_OK;
}

size_t clv_rnn_step_scratch(ClvRnnKind kind, const ClvRnnCell *c)
{
    return (size_t)(kind == CLV_RNN_GRU ? 6 : 4) * (size_t)c->hidden_size;
}

size_t clv_rnn_sequence_scratch(ClvRnnKind kind, const ClvRnnCell *c, int T)
{
    size_t g = (size_t)(kind == CLV_RNN_GRU ? 3 : 4) * (size_t)c->hidden_size;
    return (T > 0 ? (size_t)T : 1) * g + 2 * g;
}

/* GRU update from precomputed gi = W_ih x + b_ih and gh = W_hh h + b_hh
 * (gh is overwritten). */
CLV_CLONES
static void gru_gates(int H, const float *gi, float *gh, float *h)
{
    int j = 0;
    for (; j + 8 <= H; j += 8) {
        v8f r = sigmoid8(ld8(gi + j) + ld8(gh + j));
        v8f z = sigmoid8(ld8(gi + H + j) + ld8(gh + H + j));
        v8f nn = tanh8(ld8(gi + 2 * H + j) + r * ld8(gh + 2 * H + j));
        st8(h + j, nn + z * (ld8(h + j) - nn)); /* (1 - z) * n + z * h */
    }
    for (; j < H; j++) {
        float r = gi[j] + gh[j], z = gi[H + j] + gh[H + j];
        sigmoid_n(&r, 1);
        sigmoid_n(&z, 1);
        float nn = gi[2 * H + j] + r * gh[2 * H + j];
        tanh_n(&nn, 1);
        h[j] = nn + z * (h[j] - nn);
    }
}

/* out[G] = W x + b (b may be NULL), from the packed copy P when there is one. */
static void affine_vec(const float *W, const float *P, const float *b, int G, int in,
                       const float *x, float *out)
{
    if (P) {
        if (b) memcpy(out, b, (size_t)G * sizeof *out);
        matvec_p(G, in, P, x, out, b != NULL);
    } else if (b) {
        memcpy(out, b, (size_t)G * sizeof *out);
        matvec_n(G, in, W, in, x, 1.0f, out, 1, 1.0f);
    } else {
        matvec_n(G, in, W, in, x, 0.0f, out, 1, 1.0f);
    }
}

static void gru_step_p(const ClvRnnCell *c, const float *pih, const float *phh, const float *x,
                       float *h, float *scratch)
{
    const int H = c->hidden_size;
    float *gi = scratch, *gh = scratch + 3 * H;
    affine_vec(c->w_ih, pih, c->b_ih, 3 * H, c->input_size, x, gi);
    affine_vec(c->w_hh, phh, c->b_hh, 3 * H, H, h, gh);
    gru_gates(H, gi, gh, h);
}

void clv_gru_step(const ClvRnnCell *c, const float *x, float *h, float *scratch)
{
    gru_step_p(c, NULL, NULL, x, h, scratch);
}

/* LSTM update from the summed gate pre-activations g[4H] (overwritten). */
static void lstm_gates(int H, float *g, float *h, float *cell)
{
    sigmoid_n(g, 2 * (size_t)H);                  /* i, f */
    tanh_n(g + 2 * H, (size_t)H);                 /* g */
    sigmoid_n(g + 3 * H, (size_t)H);              /* o */
    for (int j = 0; j < H; j++) cell[j] = g[H + j] * cell[j] + g[j] * g[2 * H + j];
    memcpy(h, cell, (size_t)H * sizeof *h);
    tanh_n(h, (size_t)H);
    for (int j = 0; j < H; j++) h[j] *= g[3 * H + j];
}

static void lstm_step_p(const ClvRnnCell *c, const float *pih, const float *phh, const float *x,
                        float *h, float *cell, float *scratch)
{
    const int H = c->hidden_size;
    float *g = scratch;
    affine_vec(c->w_ih, pih, c->b_ih, 4 * H, c->input_size, x, g);
    if (c->b_hh)
        for (int j = 0; j < 4 * H; j++) g[j] += c->b_hh[j];
    if (phh) matvec_p(4 * H, H, phh, h, g, 1);
    else matvec_n(4 * H, H, c->w_hh, H, h, 1.0f, g, 1, 1.0f);
    lstm_gates(H, g, h, cell);
}

void clv_lstm_step(const ClvRnnCell *c, const float *x, float *h, float *cell, float *scratch)
{
    lstm_step_p(c, NULL, NULL, x, h, cell, scratch);
}

/* gi[T, G] = x[T, in] W^T + b for the whole sequence (one GEMM). */
static void input_proj(const float *W, const float *b, int G, int in, const float *x, int T, float *gi)
{
    if (b) {
        for (int t = 0; t < T; t++) memcpy(gi + (size_t)t * G, b, (size_t)G * sizeof *gi);
        clv_gemm(0, 1, T, G, in, 1.0f, x, in, W, in, 1.0f, gi, G);
    } else {
        clv_gemm(0, 1, T, G, in, 1.0f, x, in, W, in, 0.0f, gi, G);
    }
}

void clv_gru_sequence(const ClvRnnCell *c, const float *x, int T, int reverse, float *h, float *y,
                      int y_stride, float *scratch)
{
    const int H = c->hidden_size, G = 3 * H;
    if (T <= 0) return;
    float *gi = scratch, *gh = scratch + (size_t)T * G;
    input_proj(c->w_ih, c->b_ih, G, c->input_size, x, T, gi);
    for (int s = 0; s < T; s++) {
        int t = reverse ? T - 1 - s : s;
        affine_vec(c->w_hh, NULL, c->b_hh, G, H, h, gh);
        gru_gates(H, gi + (size_t)t * G, gh, h);
        memcpy(y + (size_t)t * y_stride, h, (size_t)H * sizeof *h);
    }
}

void clv_lstm_sequence(const ClvRnnCell *c, const float *x, int T, int reverse, float *h,
                       float *cell, float *y, int y_stride, float *scratch)
{
    const int H = c->hidden_size, G = 4 * H;
    if (T <= 0) return;
    float *gi = scratch, *g = scratch + (size_t)T * G;
    input_proj(c->w_ih, c->b_ih, G, c->input_size, x, T, gi);
    if (c->b_hh)
        for (int t = 0; t < T; t++)
            for (int j = 0; j < G; j++) gi[(size_t)t * G + j] += c->b_hh[j];
    for (int s = 0; s < T; s++) {
        int t = reverse ? T - 1 - s : s;
        memcpy(g, gi + (size_t)t * G, (size_t)G * sizeof *g);
        matvec_n(G, H, c->w_hh, H, h, 1.0f, g, 1, 1.0f);
        lstm_gates(H, g, h, cell);
        memcpy(y + (size_t)t * y_stride, h, (size_t)H * sizeof *h);
    }
}

ClvStatus clv_rnn_stream_init(ClvRnnStream *s, ClvRnnKind kind, int layers, const ClvRnnCell *cells,
                              ClvArena *a)
{
    if (!s || !a || !cells || layers < 1 || layers > CLV_RNN_MAX_LAYERS ||
        (kind != CLV_RNN_GRU && kind != CLV_RNN_LSTM))
        return CLV_ERR_INVALID;
    memset(s, 0, sizeof *s);
    size_t total = 0, scratch = 0;
    for (int l = 0; l < layers; l++) {
        if (clv_rnn_cell_check(&cells[l]) != CLV_OK) return CLV_ERR_INVALID;
        if (l > 0 && cells[l].input_size != cells[l - 1].hidden_size) return CLV_ERR_SHAPE;
        s->cell[l] = cells[l];
        const int G = (kind == CLV_RNN_GRU ? 3 : 4) * cells[l].hidden_size;
        s->packed_ih[l] = pack_into(a, cells[l].w_ih, G, cells[l].input_size);
        s->packed_hh[l] = pack_into(a, cells[l].w_hh, G, cells[l].hidden_size);
        total += (size_t)cells[l].hidden_size;
        size_t sc = clv_rnn_step_scratch(kind, &cells[l]);
        if (sc > scratch) scratch = sc;
    }
    s->kind = kind;
    s->layers = layers;
    s->h = clv_arena_floats(a, total);
    if (kind == CLV_RNN_LSTM) s->c = clv_arena_floats(a, total);
    s->scratch = clv_arena_floats(a, scratch);
    return clv_arena_overflowed(a) ? CLV_ERR_NOMEM : CLV_OK;
}

void clv_rnn_stream_reset(ClvRnnStream *s)
{
    size_t total = 0;
    for (int l = 0; l < s->layers; l++) total += (size_t)s->cell[l].hidden_size;
    memset(s->h, 0, total * sizeof *s->h);
    if (s->c) memset(s->c, 0, total * sizeof *s->c);
}

void clv_rnn_stream_step(ClvRnnStream *s, const float *x, float *y)
{
    const float *in = x;
    float *h = s->h, *c = s->c;
    for (int l = 0; l < s->layers; l++) {
        const ClvRnnCell *cell = &s->cell[l];
        if (s->kind == CLV_RNN_GRU) {
            gru_step_p(cell, s->packed_ih[l], s->packed_hh[l], in, h, s->scratch);
        } else {
            lstm_step_p(cell, s->packed_ih[l], s->packed_hh[l], in, h, c, s->scratch);
            c += cell->hidden_size;
        }
        in = h;
        h += cell->hidden_size;
    }
    if (y) memcpy(y, in, (size_t)s->cell[s->layers - 1].hidden_size * sizeof *y);
}

const float *clv_rnn_stream_output(const ClvRnnStream *s)
{
    size_t off = 0;
    for (int l = 0; l + 1 < s->layers; l++) off += (size_t)s->cell[l].hidden_size;
    return s->h + off;
}

/* ------------------------------------------------------------ attention --- */

ClvStatus clv_mha_check(const ClvMha *a)
{
    if (!a || a->embed_dim < 1 || a->num_heads < 1 || a->embed_dim % a->num_heads ||
        !a->in_proj_weight || !a->out_proj_weight)
        return CLV_ERR_INVALID;
    return CLV_OK;
}

size_t clv_mha_scratch(const ClvMha *a, int T)
{
    if (T < 1) T = 1;
    return (size_t)T * 3 * a->embed_dim + (size_t)T * T + (size_t)T * a->embed_dim;
}

void clv_mha_self(const ClvMha *a, const float *x, int T, int causal, float *y, float *scratch)
{
    const int E = a->embed_dim, nh = a->num_heads, hd = E / nh;
    if (T <= 0) return;
    float *qkv = scratch;                               /* [T, 3E] */
    float *sc = qkv + (size_t)T * 3 * E;                /* [T, T] */
    float *att = sc + (size_t)T * T;                    /* [T, E] */
    ClvLinear in = {E, 3 * E, a->in_proj_weight, a->in_proj_bias};
    clv_linear(&in, x, T, qkv);
    const float scale = 1.0f / sqrtf((float)hd);
    for (int hh = 0; hh < nh; hh++) {
        const float *q = qkv + (size_t)hh * hd, *k = q + E, *v = q + 2 * E;
        /* scores = (q * scale) k^T; PyTorch scales q before the product. */
        clv_gemm(0, 1, T, T, hd, scale, q, 3 * E, k, 3 * E, 0.0f, sc, T);
        if (causal)
            for (int i = 0; i < T; i++)
                for (int j = i + 1; j < T; j++) sc[(size_t)i * T + j] = -INFINITY;
        clv_softmax(sc, T, T);
        clv_gemm(0, 0, T, hd, T, 1.0f, sc, T, v, 3 * E, 0.0f, att + (size_t)hh * hd, E);
    }
    ClvLinear out = {E, E, a->out_proj_weight, a->out_proj_bias};
    clv_linear(&out, att, T, y);
}

/* --------------------------------------------------------- normalisation --- */

void clv_layernorm(const float *x, int n, int F, const float *gamma, const float *beta, float eps,
                   float *y)
{
    for (int r = 0; r < n; r++) {
        const float *v = x + (size_t)r * F;
        float *o = y + (size_t)r * F;
        double sum = 0.0, sq = 0.0;
        for (int j = 0; j < F; j++) sum += v[j];
        double mean = sum / F;
        for (int j = 0; j < F; j++) {
            double d = v[j] - mean;
            sq += d * d;
        }
        float inv = (float)(1.0 / sqrt(sq / F + eps));
        float m = (float)mean;
        for (int j = 0; j < F; j++) {
            float t = (v[j] - m) * inv;
            o[j] = t * (gamma ? gamma[j] : 1.0f) + (beta ? beta[j] : 0.0f);
        }
    }
}

void clv_groupnorm(const float *x, int C, int L, int groups, const float *gamma, const float *beta,
                   float eps, float *y)
{
    const int cg = C / groups;
    const size_t n = (size_t)cg * L;
    for (int g = 0; g < groups; g++) {
        const float *v = x + (size_t)g * n;
        float *o = y + (size_t)g * n;
        double sum = 0.0, sq = 0.0;
        for (size_t i = 0; i < n; i++) sum += v[i];
        double mean = sum / (double)n;
        for (size_t i = 0; i < n; i++) {
            double d = v[i] - mean;
            sq += d * d;
        }
        float inv = (float)(1.0 / sqrt(sq / (double)n + eps));
        float m = (float)mean;
        for (int c = 0; c < cg; c++) {
            int ch = g * cg + c;
            float ga = gamma ? gamma[ch] : 1.0f, be = beta ? beta[ch] : 0.0f;
            const float *vr = v + (size_t)c * L;
            float *orow = o + (size_t)c * L;
            for (int t = 0; t < L; t++) orow[t] = (vr[t] - m) * inv * ga + be;
        }
    }
}

void clv_batchnorm(const float *x, int C, int L, const float *mean, const float *var,
                   const float *gamma, const float *beta, float eps, float *y)
{
    for (int c = 0; c < C; c++) {
        float inv = 1.0f / sqrtf(var[c] + eps);
        float sc = (gamma ? gamma[c] : 1.0f) * inv;
        float sh = (beta ? beta[c] : 0.0f) - mean[c] * sc;
        const float *v = x + (size_t)c * L;
        float *o = y + (size_t)c * L;
        for (int t = 0; t < L; t++) o[t] = v[t] * sc + sh;
    }
}

/* --------------------------------------------------------------- pooling --- */

int clv_pool_out_len(int len, int k, int stride, int pad)
{
    if (len < 0 || k < 1 || stride < 1 || pad < 0) return 0;
    int64_t avail = (int64_t)len + 2 * (int64_t)pad - k;
    if (avail < 0) return 0;
    return (int)(avail / stride + 1);
}

void clv_maxpool1d(const float *x, int C, int L, int k, int stride, int pad, float *y)
{
    clv_maxpool2d(x, C, 1, L, 1, k, 1, stride, 0, pad, y);
}

void clv_avgpool1d(const float *x, int C, int L, int k, int stride, int pad, float *y)
{
    clv_avgpool2d(x, C, 1, L, 1, k, 1, stride, 0, pad, y);
}

void clv_maxpool2d(const float *x, int C, int H, int W, int kh, int kw, int sh, int sw, int ph,
                   int pw, float *y)
{
    const int oh = clv_pool_out_len(H, kh, sh, ph), ow = clv_pool_out_len(W, kw, sw, pw);
    for (int c = 0; c < C; c++) {
        const float *xc = x + (size_t)c * H * W;
        float *yc = y + (size_t)c * oh * ow;
        for (int oy = 0; oy < oh; oy++) {
            for (int ox = 0; ox < ow; ox++) {
                float m = -INFINITY;
                int nan = 0;
                for (int i = 0; i < kh; i++) {
                    int iy = oy * sh - ph + i;
                    if (iy < 0 || iy >= H) continue;
                    for (int j = 0; j < kw; j++) {
                        int ix = ox * sw - pw + j;
                        if (ix < 0 || ix >= W) continue;
                        float v = xc[(size_t)iy * W + ix];
                        if (v != v) nan = 1;
                        if (v > m) m = v;
                    }
                }
                yc[(size_t)oy * ow + ox] = nan ? NAN : m; /* PyTorch propagates NaN */
            }
        }
    }
}

void clv_avgpool2d(const float *x, int C, int H, int W, int kh, int kw, int sh, int sw, int ph,
                   int pw, float *y)
{
    const int oh = clv_pool_out_len(H, kh, sh, ph), ow = clv_pool_out_len(W, kw, sw, pw);
    const float inv = 1.0f / (float)(kh * kw);
    for (int c = 0; c < C; c++) {
        const float *xc = x + (size_t)c * H * W;
        float *yc = y + (size_t)c * oh * ow;
        for (int oy = 0; oy < oh; oy++) {
            for (int ox = 0; ox < ow; ox++) {
                float s = 0.0f;
                for (int i = 0; i < kh; i++) {
                    int iy = oy * sh - ph + i;
                    if (iy < 0 || iy >= H) continue;
                    for (int j = 0; j < kw; j++) {
                        int ix = ox * sw - pw + j;
                        if (ix >= 0 && ix < W) s += xc[(size_t)iy * W + ix];
                    }
                }
                yc[(size_t)oy * ow + ox] = s * inv;
            }
        }
    }
}

void clv_global_avgpool(const float *x, int C, int L, float *y)
{
    for (int c = 0; c < C; c++) {
        const float *v = x + (size_t)c * L;
        double s = 0.0;
        for (int t = 0; t < L; t++) s += v[t];
        y[c] = L > 0 ? (float)(s / L) : 0.0f;
    }
}

void clv_global_maxpool(const float *x, int C, int L, float *y)
{
    clv_maxpool1d(x, C, L, L, L, 0, y);
}

/* ---------------------------------------------------- resampling, shapes --- */

void clv_upsample_linear(const float *x, int C, int in_len, int out_len, int align_corners, float *y)
{
    if (out_len <= 0 || in_len <= 0) return;
    float scale;
    if (align_corners) scale = out_len > 1 ? (float)(in_len - 1) / (float)(out_len - 1) : 0.0f;
    else scale = (float)in_len / (float)out_len;
    for (int t = 0; t < out_len; t++) {
        float src = align_corners ? scale * (float)t : scale * ((float)t + 0.5f) - 0.5f;
        if (src < 0.0f) src = 0.0f;
        int i0 = (int)src;
        if (i0 > in_len - 1) i0 = in_len - 1;
        int i1 = i0 + (i0 < in_len - 1);
        float l1 = src - (float)i0, l0 = 1.0f - l1;
        for (int c = 0; c < C; c++) {
            const float *xr = x + (size_t)c * in_len;
            y[(size_t)c * out_len + t] = l0 * xr[i0] + l1 * xr[i1];
        }
    }
}

void clv_upsample_nearest(const float *x, int C, int in_len, int out_len, float *y)
{
    if (out_len <= 0 || in_len <= 0) return;
    const float scale = (float)in_len / (float)out_len;
    for (int t = 0; t < out_len; t++) {
        int i = (int)floorf((float)t * scale);
        if (i > in_len - 1) i = in_len - 1;
        for (int c = 0; c < C; c++) y[(size_t)c * out_len + t] = x[(size_t)c * in_len + i];
    }
}

void clv_concat(const float *a, size_t a_inner, const float *b, size_t b_inner, size_t outer, float *y)
{
    for (size_t o = 0; o < outer; o++) {
        float *yo = y + o * (a_inner + b_inner);
        memcpy(yo, a + o * a_inner, a_inner * sizeof *y);
        memcpy(yo + a_inner, b + o * b_inner, b_inner * sizeof *y);
    }
}

void clv_decimate1d(const float *x, int C, int in_len, int factor, float *y)
{
    const int out_len = (in_len + factor - 1) / factor;
    for (int c = 0; c < C; c++)
        for (int t = 0; t < out_len; t++)
            y[(size_t)c * out_len + t] = x[(size_t)c * in_len + (size_t)t * factor];
}

void clv_crop1d(const float *x, int C, int in_len, int start, int out_len, float *y)
{
    for (int c = 0; c < C; c++)
        memcpy(y + (size_t)c * out_len, x + (size_t)c * in_len + start, (size_t)out_len * sizeof *y);
}

void clv_transpose(const float *x, int rows, int cols, float *y)
{
    /* 8 x 8 tiles keep both sides in cache lines. */
    for (int r0 = 0; r0 < rows; r0 += 8)
        for (int c0 = 0; c0 < cols; c0 += 8)
            for (int r = r0; r < r0 + 8 && r < rows; r++)
                for (int c = c0; c < c0 + 8 && c < cols; c++)
                    y[(size_t)c * rows + r] = x[(size_t)r * cols + c];
}

void clv_add(float *y, const float *x, size_t n)
{
    for (size_t i = 0; i < n; i++) y[i] += x[i];
}

void clv_mul(float *y, const float *x, size_t n)
{
    for (size_t i = 0; i < n; i++) y[i] *= x[i];
}

void clv_scale_shift(float *y, size_t n, float s, float t)
{
    for (size_t i = 0; i < n; i++) y[i] = y[i] * s + t;
}

/* ------------------------------------------------- binding from a .clvm --- */

static ClvStatus join(char *buf, size_t cap, const char *prefix, const char *suffix)
{
    int n = (prefix && prefix[0]) ? snprintf(buf, cap, "%s.%s", prefix, suffix)
                                  : snprintf(buf, cap, "%s", suffix);
    return (n < 0 || (size_t)n >= cap) ? CLV_ERR_INVALID : CLV_OK;
}

ClvStatus clv_nn_bind_linear(const ClvClvm *m, const char *prefix, int in_features, int out_features,
                             ClvLinear *out)
{
    char name[CLV_CLVM_MAX_NAME + 1];
    ClvStatus st;
    if (!out || in_features < 1 || out_features < 1) return CLV_ERR_INVALID;
    out->in_features = in_features;
    out->out_features = out_features;
    if ((st = join(name, sizeof name, prefix, "weight")) != CLV_OK) return st;
    if ((st = CLV_CLVM_BIND(m, name, &out->weight, out_features, in_features)) != CLV_OK) return st;
    if ((st = join(name, sizeof name, prefix, "bias")) != CLV_OK) return st;
    return CLV_CLVM_BIND_OPTIONAL(m, name, &out->bias, out_features);
}

ClvStatus clv_nn_bind_conv1d(const ClvClvm *m, const char *prefix, ClvConv1d *c)
{
    char name[CLV_CLVM_MAX_NAME + 1];
    ClvStatus st;
    if (!c || c->in_ch < 1 || c->out_ch < 1 || c->kernel < 1 || c->groups < 1 || c->in_ch % c->groups)
        return CLV_ERR_INVALID;
    if ((st = join(name, sizeof name, prefix, "weight")) != CLV_OK) return st;
    if ((st = CLV_CLVM_BIND(m, name, &c->weight, c->out_ch, c->in_ch / c->groups, c->kernel)) != CLV_OK)
        return st;
    if ((st = join(name, sizeof name, prefix, "bias")) != CLV_OK) return st;
    if ((st = CLV_CLVM_BIND_OPTIONAL(m, name, &c->bias, c->out_ch)) != CLV_OK) return st;
    return clv_conv1d_check(c);
}

ClvStatus clv_nn_bind_conv_transpose1d(const ClvClvm *m, const char *prefix, ClvConvT1d *c)
{
    char name[CLV_CLVM_MAX_NAME + 1];
    ClvStatus st;
    if (!c || c->in_ch < 1 || c->out_ch < 1 || c->kernel < 1 || c->groups < 1 || c->out_ch % c->groups)
        return CLV_ERR_INVALID;
    if ((st = join(name, sizeof name, prefix, "weight")) != CLV_OK) return st;
    if ((st = CLV_CLVM_BIND(m, name, &c->weight, c->in_ch, c->out_ch / c->groups, c->kernel)) != CLV_OK)
        return st;
    if ((st = join(name, sizeof name, prefix, "bias")) != CLV_OK) return st;
    if ((st = CLV_CLVM_BIND_OPTIONAL(m, name, &c->bias, c->out_ch)) != CLV_OK) return st;
    return clv_conv_transpose1d_check(c);
}

ClvStatus clv_nn_bind_conv2d(const ClvClvm *m, const char *prefix, ClvConv2d *c)
{
    char name[CLV_CLVM_MAX_NAME + 1];
    ClvStatus st;
    if (!c || c->in_ch < 1 || c->out_ch < 1 || c->kh < 1 || c->kw < 1 || c->groups < 1 ||
        c->in_ch % c->groups)
        return CLV_ERR_INVALID;
    if ((st = join(name, sizeof name, prefix, "weight")) != CLV_OK) return st;
    if ((st = CLV_CLVM_BIND(m, name, &c->weight, c->out_ch, c->in_ch / c->groups, c->kh, c->kw)) != CLV_OK)
        return st;
    if ((st = join(name, sizeof name, prefix, "bias")) != CLV_OK) return st;
    if ((st = CLV_CLVM_BIND_OPTIONAL(m, name, &c->bias, c->out_ch)) != CLV_OK) return st;
    return clv_conv2d_check(c);
}

ClvStatus clv_nn_bind_rnn_cell(const ClvClvm *m, const char *prefix, ClvRnnKind kind, int layer,
                               int reverse, int input_size, int hidden_size, ClvRnnCell *out)
{
    char name[CLV_CLVM_MAX_NAME + 1], suffix[64];
    ClvStatus st;
    if (!out || layer < 0 || input_size < 1 || hidden_size < 1) return CLV_ERR_INVALID;
    const int64_t G = (int64_t)(kind == CLV_RNN_GRU ? 3 : 4) * hidden_size;
    const char *rev = reverse ? "_reverse" : "";
    out->input_size = input_size;
    out->hidden_size = hidden_size;
    snprintf(suffix, sizeof suffix, "weight_ih_l%d%s", layer, rev);
    if ((st = join(name, sizeof name, prefix, suffix)) != CLV_OK) return st;
    if ((st = CLV_CLVM_BIND(m, name, &out->w_ih, G, input_size)) != CLV_OK) return st;
    snprintf(suffix, sizeof suffix, "weight_hh_l%d%s", layer, rev);
    if ((st = join(name, sizeof name, prefix, suffix)) != CLV_OK) return st;
    if ((st = CLV_CLVM_BIND(m, name, &out->w_hh, G, hidden_size)) != CLV_OK) return st;
    snprintf(suffix, sizeof suffix, "bias_ih_l%d%s", layer, rev);
    if ((st = join(name, sizeof name, prefix, suffix)) != CLV_OK) return st;
    if ((st = CLV_CLVM_BIND_OPTIONAL(m, name, &out->b_ih, G)) != CLV_OK) return st;
    snprintf(suffix, sizeof suffix, "bias_hh_l%d%s", layer, rev);
    if ((st = join(name, sizeof name, prefix, suffix)) != CLV_OK) return st;
    return CLV_CLVM_BIND_OPTIONAL(m, name, &out->b_hh, G);
}

ClvStatus clv_nn_bind_norm(const ClvClvm *m, const char *prefix, int C, const float **gamma,
                           const float **beta)
{
    char name[CLV_CLVM_MAX_NAME + 1];
    ClvStatus st;
    if (!gamma || !beta || C < 1) return CLV_ERR_INVALID;
    if ((st = join(name, sizeof name, prefix, "weight")) != CLV_OK) return st;
    if ((st = CLV_CLVM_BIND_OPTIONAL(m, name, gamma, C)) != CLV_OK) return st;
    if ((st = join(name, sizeof name, prefix, "bias")) != CLV_OK) return st;
    return CLV_CLVM_BIND_OPTIONAL(m, name, beta, C);
}

ClvStatus clv_nn_bind_mha(const ClvClvm *m, const char *prefix, int embed_dim, int num_heads,
                          ClvMha *out)
{
    char name[CLV_CLVM_MAX_NAME + 1];
    ClvStatus st;
    if (!out || embed_dim < 1 || num_heads < 1 || embed_dim % num_heads) return CLV_ERR_INVALID;
    out->embed_dim = embed_dim;
    out->num_heads = num_heads;
    if ((st = join(name, sizeof name, prefix, "in_proj_weight")) != CLV_OK) return st;
    if ((st = CLV_CLVM_BIND(m, name, &out->in_proj_weight, 3 * embed_dim, embed_dim)) != CLV_OK) return st;
    if ((st = join(name, sizeof name, prefix, "in_proj_bias")) != CLV_OK) return st;
    if ((st = CLV_CLVM_BIND_OPTIONAL(m, name, &out->in_proj_bias, 3 * embed_dim)) != CLV_OK) return st;
    if ((st = join(name, sizeof name, prefix, "out_proj.weight")) != CLV_OK) return st;
    if ((st = CLV_CLVM_BIND(m, name, &out->out_proj_weight, embed_dim, embed_dim)) != CLV_OK) return st;
    if ((st = join(name, sizeof name, prefix, "out_proj.bias")) != CLV_OK) return st;
    return CLV_CLVM_BIND_OPTIONAL(m, name, &out->out_proj_bias, embed_dim);
}
