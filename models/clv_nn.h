/* SPDX-License-Identifier: ISC */
/* Neural network kernels in single precision: plain functions over float arrays.
 *
 * Layouts (batch size is always 1; a batch is a loop in the caller):
 *   - weights are in PyTorch order, exactly as nn.Module.state_dict() holds them,
 *     so tensors bound from a .clvm file are used as they are;
 *   - convolution activations are channel-major: 1-D [C, L], 2-D [C, H, W]
 *     (PyTorch [1, C, L] / [1, C, H, W] without the batch dim);
 *   - sequence activations (linear, RNN, attention, layer norm) are time-major
 *     [T, F] (PyTorch batch_first [1, T, F] without the batch dim);
 *   - all arrays are row-major, last dim contiguous, no padding between rows.
 *
 * Memory: no kernel allocates. Kernels that need temporary space take a
 * `scratch` pointer of at least the number of floats the matching `_scratch()`
 * function returns; carve it from a ClvArena at setup. Outputs never alias
 * inputs unless a comment says in-place.
 *
 * Every CLV_RT function allocates nothing, takes no lock of its own and does no
 * I/O (tests/test_nn.c traps allocations and locks around the streaming paths);
 * GEMM uses up to ~40 KB of stack. When large products go to OpenBLAS (see
 * clv_nn_use_blas) its internal buffer lock may be taken, so run networks on
 * worker threads, not on the audio thread. One thread at a time per output or
 * state buffer; weights are read-only and may be shared by many threads.
 * Denormals: call clv_nn_flush_denormals() once on each thread that runs kernels.
 *
 * Descriptors (ClvLinear, ClvConv1d, ...) are plain structs the caller fills
 * (or the clv_nn_bind_* helpers fill from a .clvm file); the `_check` functions
 * validate their sizes once at setup so the kernels need not. */
#ifndef CLV_NN_H
#define CLV_NN_H

#include <stddef.h>

#include "clv_arena.h"
#include "clv_clvm.h"
#include "clv_common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------- runtime --- */

/* Sets flush-to-zero and denormals-are-zero for the calling thread (x86 SSE;
 * no-op elsewhere). Thread: the thread that will run kernels. */
void clv_nn_flush_denormals(void);

/* Which GEMM runs large products: "openblas", or the built-in kernels
 * "builtin-avx512" / "builtin-avx2" / "builtin-sse2". Thread: any. */
const char *clv_nn_backend(void);

/* BLAS policy (only when built with BLAS, CLV_HAVE_BLAS): 0 never, 1 auto (the
 * default: BLAS only where it beats the built-in kernels, i.e. on CPUs without
 * AVX-512), 2 always for large products. For benchmarks and tests.
 * Thread: non-RT, while no kernel runs. */
void clv_nn_use_blas(int mode);

/* Instruction set of the built-in kernels in use: "avx512", "avx2" or "sse2",
 * picked at load time from what the CPU supports. Thread: any. */
const char *clv_nn_isa(void);

/* Limits the built-in kernels to at most `level` (0 sse2, 1 avx2+fma, 2 avx512)
 * and returns the level in effect (never above the CPU's). For tests and
 * benchmarks. Thread: non-RT, while no kernel runs. */
int clv_nn_limit_isa(int level);

/* Row-major GEMM: C[M,N] = alpha * op(A) * op(B) + beta * C, op(X) = X or X^T
 * when trans_x is nonzero (A is [M,K] or [K,M]; B is [K,N] or [N,K]); lda/ldb/ldc
 * are row strides in floats. beta == 0 ignores the old C (NaN included).
 * Matrix-vector shapes use the built-in kernels; other products use sgemm when
 * the BLAS policy says so (clv_nn_use_blas) and the product is large enough.
 * Thread: any (single-threaded, no allocation). */
CLV_RT void clv_gemm(int trans_a, int trans_b, int M, int N, int K, float alpha,
                     const float *A, int lda, const float *B, int ldb, float beta,
                     float *C, int ldc);

/* ----------------------------------------------------------------- linear --- */

typedef struct {
    int in_features, out_features;
    const float *weight; /* [out_features, in_features] */
    const float *bias;   /* [out_features] or NULL */
} ClvLinear;

/* y[n, out] = x[n, in] * weight^T + bias. n = 1 is a matrix-vector product (one
 * frame per step). Thread: any. */
CLV_RT void clv_linear(const ClvLinear *l, const float *x, int n, float *y);

/* Packed weights for per-frame (matrix-vector) products: the [rows, cols] matrix
 * stored as panels of 16 rows, [ceil(rows/16)][cols][16], so the product streams
 * through memory once, in order (about 1.5x faster than rows at a time when the
 * weights come from L2/L3). Costs a copy of the weights in the arena. */
size_t clv_nn_packed_floats(int rows, int cols);
/* Packs w[rows, cols] into dst (clv_nn_packed_floats() floats). Thread: any. */
void clv_nn_pack(const float *w, int rows, int cols, float *dst);
/* Packs l's weight into memory from `a` and hands it back in *packed (NULL on a
 * sizing arena). Thread: non-RT. */
ClvStatus clv_linear_pack(const ClvLinear *l, ClvArena *a, const float **packed);
/* clv_linear() for one frame from the packed weight: y[out] = W x + bias.
 * Thread: any. */
CLV_RT void clv_linear_packed(const ClvLinear *l, const float *packed, const float *x, float *y);

/* -------------------------------------------------------------- conv 1-D --- */

typedef struct {
    int in_ch, out_ch, kernel;
    int stride, padding, dilation, groups; /* padding: zeros, both sides (as PyTorch) */
    const float *weight; /* [out_ch, in_ch / groups, kernel] */
    const float *bias;   /* [out_ch] or NULL */
} ClvConv1d;

/* Validates the sizes (positive, groups dividing both channel counts, pointers
 * set); CLV_ERR_INVALID otherwise. Thread: any. */
ClvStatus clv_conv1d_check(const ClvConv1d *c);
/* Output length for in_len input frames; <= 0 when the input is too short. */
int clv_conv1d_out_len(const ClvConv1d *c, int in_len);
/* Scratch floats clv_conv1d() needs for in_len frames. */
size_t clv_conv1d_scratch(const ClvConv1d *c, int in_len);
/* y[out_ch, out_len] = conv1d(x[in_ch, in_len]). Thread: any. */
CLV_RT void clv_conv1d(const ClvConv1d *c, const float *x, int in_len, float *y, float *scratch);

/* Streaming 1-D convolution over time. Chunks of any length 0..max_in go in;
 * each output frame comes out as soon as its last input frame has arrived. The
 * concatenated outputs equal clv_conv1d() (same weights, stride, dilation) of the
 * concatenated inputs with `pad_left` zeros in front and no padding at the end;
 * the conv's own `padding` field is ignored. For a causal "same length" conv
 * use pad_left = (kernel - 1) * dilation. State lives in the arena. */
typedef struct {
    const ClvConv1d *conv;
    const float *packed; /* packed weight for one-frame outputs (groups 1), or NULL */
    int max_in, pad_left;
    int cap;      /* frames the history buffer holds */
    int have;     /* valid frames in buf (per channel) */
    int skip;     /* frames still to drop before the next window starts (stride) */
    float *buf;   /* [in_ch, cap] history + new input */
    float *scratch;
} ClvConv1dStream;

/* Sizes and initialises the stream from `a` (run on a sizing arena first; see
 * clv_arena.h); packs the weights into the arena when groups is 1. The stream
 * keeps a pointer to `c`, which must stay valid. Thread: non-RT. */
ClvStatus clv_conv1d_stream_init(ClvConv1dStream *s, const ClvConv1d *c, int max_in,
                                 int pad_left, ClvArena *a);
/* Largest number of frames one call can output. */
int clv_conv1d_stream_max_out(const ClvConv1dStream *s);
/* Feeds n frames x[in_ch, n] (row stride n) and writes the finished output
 * frames y[out_ch, k] (row stride k); returns k. Thread: one at a time. */
CLV_RT int clv_conv1d_stream_process(ClvConv1dStream *s, const float *x, int n, float *y);
/* Back to the initial state (pad_left zeros of history). */
CLV_RT void clv_conv1d_stream_reset(ClvConv1dStream *s);

/* ---------------------------------------------------- transposed conv 1-D --- */

typedef struct {
    int in_ch, out_ch, kernel;
    int stride, padding, output_padding, dilation, groups;
    const float *weight; /* [in_ch, out_ch / groups, kernel] (PyTorch ConvTranspose1d) */
    const float *bias;   /* [out_ch] or NULL */
} ClvConvT1d;

ClvStatus clv_conv_transpose1d_check(const ClvConvT1d *c);
/* (in_len - 1) * stride - 2 * padding + dilation * (kernel - 1) + output_padding + 1 */
int clv_conv_transpose1d_out_len(const ClvConvT1d *c, int in_len);
size_t clv_conv_transpose1d_scratch(const ClvConvT1d *c, int in_len);
/* y[out_ch, out_len] = conv_transpose1d(x[in_ch, in_len]). Thread: any. */
CLV_RT void clv_conv_transpose1d(const ClvConvT1d *c, const float *x, int in_len, float *y,
                                 float *scratch);

/* -------------------------------------------------------------- conv 2-D --- */

typedef struct {
    int in_ch, out_ch, kh, kw;
    int sh, sw, ph, pw, dh, dw, groups; /* stride, zero padding, dilation (rows, cols) */
    const float *weight; /* [out_ch, in_ch / groups, kh, kw] */
    const float *bias;   /* [out_ch] or NULL */
} ClvConv2d;

ClvStatus clv_conv2d_check(const ClvConv2d *c);
/* Output height / width; <= 0 when the input is too small. */
int clv_conv2d_out_h(const ClvConv2d *c, int h);
int clv_conv2d_out_w(const ClvConv2d *c, int w);
size_t clv_conv2d_scratch(const ClvConv2d *c, int h, int w);
/* y[out_ch, oh, ow] = conv2d(x[in_ch, h, w]). Thread: any. */
CLV_RT void clv_conv2d(const ClvConv2d *c, const float *x, int h, int w, float *y,
                       float *scratch);

/* ------------------------------------------------------------ recurrent --- */

/* One layer and direction of a GRU or LSTM, in nn.GRU / nn.LSTM parameter order.
 * GRU gates are (r, z, n) in blocks of H rows; LSTM gates (i, f, g, o). */
typedef struct {
    int input_size, hidden_size;
    const float *w_ih; /* GRU [3H, input_size], LSTM [4H, input_size] */
    const float *w_hh; /* GRU [3H, H],          LSTM [4H, H] */
    const float *b_ih; /* [3H] / [4H] or NULL */
    const float *b_hh; /* [3H] / [4H] or NULL */
} ClvRnnCell;

typedef enum { CLV_RNN_GRU = 0, CLV_RNN_LSTM = 1 } ClvRnnKind;

ClvStatus clv_rnn_cell_check(const ClvRnnCell *c);

/* Scratch floats for one step / for a sequence of T steps. */
size_t clv_rnn_step_scratch(ClvRnnKind kind, const ClvRnnCell *c);
size_t clv_rnn_sequence_scratch(ClvRnnKind kind, const ClvRnnCell *c, int T);

/* One time step: x[input_size] in, h[H] (and LSTM cell state c[H]) updated in
 * place. Thread: one at a time per state. */
CLV_RT void clv_gru_step(const ClvRnnCell *c, const float *x, float *h, float *scratch);
CLV_RT void clv_lstm_step(const ClvRnnCell *c, const float *x, float *h, float *cell,
                          float *scratch);

/* A whole sequence x[T, input_size] (row stride input_size). h (and cell) hold the
 * initial state on entry (zeros for PyTorch's default) and the final state on
 * exit. Output of step t goes to y + t * y_stride (H floats), so a bidirectional
 * layer is two calls writing y and y + H with y_stride = 2H. reverse != 0 runs
 * from t = T-1 down to 0 (the reverse direction of a bidirectional RNN).
 * Thread: any. */
CLV_RT void clv_gru_sequence(const ClvRnnCell *c, const float *x, int T, int reverse, float *h,
                             float *y, int y_stride, float *scratch);
CLV_RT void clv_lstm_sequence(const ClvRnnCell *c, const float *x, int T, int reverse, float *h,
                              float *cell, float *y, int y_stride, float *scratch);

/* A stack of unidirectional layers with its hidden state, stepped one frame at a
 * time for streaming (the state carries across calls). Layer l's input size must
 * be layer l-1's hidden size. */
#define CLV_RNN_MAX_LAYERS 8
typedef struct {
    ClvRnnKind kind;
    int layers;
    ClvRnnCell cell[CLV_RNN_MAX_LAYERS];
    const float *packed_ih[CLV_RNN_MAX_LAYERS]; /* packed weights (see clv_nn_pack) */
    const float *packed_hh[CLV_RNN_MAX_LAYERS];
    float *h;       /* [layers, H_l] concatenated, zero after init/reset */
    float *c;       /* LSTM only, same layout as h */
    float *scratch;
} ClvRnnStream;

/* Copies the cell descriptors, packs their weights and carves the state from
 * `a`. Thread: non-RT. */
ClvStatus clv_rnn_stream_init(ClvRnnStream *s, ClvRnnKind kind, int layers,
                              const ClvRnnCell *cells, ClvArena *a);
/* Zeroes the hidden state. Thread: one at a time. */
CLV_RT void clv_rnn_stream_reset(ClvRnnStream *s);
/* One frame: x[input_size of layer 0] in, y[H of the last layer] out (y may be
 * NULL; the last layer's state is also at clv_rnn_stream_output()). */
CLV_RT void clv_rnn_stream_step(ClvRnnStream *s, const float *x, float *y);
/* Hidden state of the last layer (valid after a step). */
const float *clv_rnn_stream_output(const ClvRnnStream *s);

/* ------------------------------------------------------------ attention --- */

/* nn.MultiheadAttention (batch_first, self-attention, no dropout). */
typedef struct {
    int embed_dim, num_heads;
    const float *in_proj_weight;  /* [3E, E]: q, k, v projections */
    const float *in_proj_bias;    /* [3E] or NULL */
    const float *out_proj_weight; /* [E, E] */
    const float *out_proj_bias;   /* [E] or NULL */
} ClvMha;

ClvStatus clv_mha_check(const ClvMha *a);
size_t clv_mha_scratch(const ClvMha *a, int T);
/* y[T, E] = MHA(x, x, x) for x[T, E]; causal != 0 masks future positions
 * (attn_mask = upper triangle of -inf). Thread: any. */
CLV_RT void clv_mha_self(const ClvMha *a, const float *x, int T, int causal, float *y,
                         float *scratch);

/* --------------------------------------------------------- normalisation --- */

/* LayerNorm over the last dim: x[n, F]; gamma/beta [F] or NULL (1 / 0).
 * In-place allowed (y == x). Thread: any. */
CLV_RT void clv_layernorm(const float *x, int n, int F, const float *gamma, const float *beta,
                          float eps, float *y);
/* GroupNorm: x[C, L] (L = product of spatial dims), C divisible by groups;
 * gamma/beta [C] or NULL. In-place allowed. Thread: any. */
CLV_RT void clv_groupnorm(const float *x, int C, int L, int groups, const float *gamma,
                          const float *beta, float eps, float *y);
/* BatchNorm in inference mode (running statistics) on x[C, L]; prefer folding it
 * into the preceding conv at export (models/train/clvm.py: fold_batchnorm).
 * gamma/beta may be NULL. In-place allowed. Thread: any. */
CLV_RT void clv_batchnorm(const float *x, int C, int L, const float *mean, const float *var,
                          const float *gamma, const float *beta, float eps, float *y);

/* ----------------------------------------------------------- activations --- */
/* All in place over n floats. Thread: any. */
CLV_RT void clv_relu(float *x, size_t n);
CLV_RT void clv_leaky_relu(float *x, size_t n, float slope);
CLV_RT void clv_gelu(float *x, size_t n);      /* exact erf form (PyTorch default) */
CLV_RT void clv_gelu_tanh(float *x, size_t n); /* approximate='tanh' */
CLV_RT void clv_tanh(float *x, size_t n);
CLV_RT void clv_sigmoid(float *x, size_t n);
/* Softmax over the last dim of x[n, F], in place. */
CLV_RT void clv_softmax(float *x, int n, int F);
/* GLU: x viewed as [outer, 2 * half, inner] is split in the middle dim into a and
 * b; y[outer, half, inner] = a * sigmoid(b). F.glu(x, dim) for the dim whose size
 * is 2 * half (e.g. [C2, L] by channels: outer 1, half C2/2, inner L). */
CLV_RT void clv_glu(const float *x, int outer, int half, int inner, float *y);

/* --------------------------------------------------------------- pooling --- */

/* Output length of a pooling window: (len + 2 * pad - k) / stride + 1. */
int clv_pool_out_len(int len, int k, int stride, int pad);
/* x[C, L] -> y[C, out]. Max pooling pads with -inf; average pooling counts the
 * zero padding (PyTorch count_include_pad=True). Thread: any. */
CLV_RT void clv_maxpool1d(const float *x, int C, int L, int k, int stride, int pad, float *y);
CLV_RT void clv_avgpool1d(const float *x, int C, int L, int k, int stride, int pad, float *y);
/* x[C, H, W] -> y[C, oh, ow]. Thread: any. */
CLV_RT void clv_maxpool2d(const float *x, int C, int H, int W, int kh, int kw, int sh, int sw,
                          int ph, int pw, float *y);
CLV_RT void clv_avgpool2d(const float *x, int C, int H, int W, int kh, int kw, int sh, int sw,
                          int ph, int pw, float *y);
/* Mean / max over L for each of C channels: x[C, L] -> y[C]. Thread: any. */
CLV_RT void clv_global_avgpool(const float *x, int C, int L, float *y);
CLV_RT void clv_global_maxpool(const float *x, int C, int L, float *y);

/* ---------------------------------------------------- resampling, shapes --- */

/* Linear interpolation along L: x[C, in_len] -> y[C, out_len], as
 * F.interpolate(mode='linear', size=out_len, align_corners=...). Wave-U-Net's
 * upsampling is align_corners=1 with out_len = 2 * in_len - 1. Thread: any. */
CLV_RT void clv_upsample_linear(const float *x, int C, int in_len, int out_len,
                                int align_corners, float *y);
/* Nearest-neighbour (F.interpolate mode='nearest'). Thread: any. */
CLV_RT void clv_upsample_nearest(const float *x, int C, int in_len, int out_len, float *y);

/* Concatenation along one dim: a is [outer, a_inner], b is [outer, b_inner]
 * (inner = size in the concat dim times the trailing dims); y is
 * [outer, a_inner + b_inner]. Channels of [C, L]: outer 1, a_inner Ca*L;
 * features of [T, F]: outer T, a_inner Fa. Thread: any. */
CLV_RT void clv_concat(const float *a, size_t a_inner, const float *b, size_t b_inner,
                       size_t outer, float *y);
/* Keeps every factor-th frame (Wave-U-Net's decimation, x[:, ::factor]):
 * x[C, in_len] -> y[C, (in_len + factor - 1) / factor]. Thread: any. */
CLV_RT void clv_decimate1d(const float *x, int C, int in_len, int factor, float *y);
/* y[C, out_len] = x[C, start : start + out_len] of x[C, in_len]. Thread: any. */
CLV_RT void clv_crop1d(const float *x, int C, int in_len, int start, int out_len, float *y);
/* Start of a centred crop (Wave-U-Net's skip connections). Thread: any. */
static inline int clv_crop_center(int in_len, int out_len) { return (in_len - out_len) / 2; }
/* y[cols, rows] = x[rows, cols]^T (between [C, T] and [T, C] layouts). Thread: any. */
CLV_RT void clv_transpose(const float *x, int rows, int cols, float *y);
/* y += x, y *= x, y = y * s + t, over n floats. Thread: any. */
CLV_RT void clv_add(float *y, const float *x, size_t n);
CLV_RT void clv_mul(float *y, const float *x, size_t n);
CLV_RT void clv_scale_shift(float *y, size_t n, float s, float t);

/* ------------------------------------------------- binding from a .clvm --- */
/* These fill descriptors with tensors bound from a model (PyTorch state_dict
 * names under `prefix`), checking shapes; errors are logged by the reader with
 * the file, the tensor and both shapes. A missing bias gives bias = NULL.
 * The model must outlive the descriptors. Thread: non-RT. */

/* prefix.weight [out, in], prefix.bias [out]. */
ClvStatus clv_nn_bind_linear(const ClvClvm *m, const char *prefix, int in_features,
                             int out_features, ClvLinear *out);
/* Fills weight/bias of a descriptor whose sizes are already set. */
ClvStatus clv_nn_bind_conv1d(const ClvClvm *m, const char *prefix, ClvConv1d *c);
ClvStatus clv_nn_bind_conv_transpose1d(const ClvClvm *m, const char *prefix, ClvConvT1d *c);
ClvStatus clv_nn_bind_conv2d(const ClvClvm *m, const char *prefix, ClvConv2d *c);
/* prefix.weight_ih_l{layer}[_reverse], weight_hh_, bias_ih_, bias_hh_. */
ClvStatus clv_nn_bind_rnn_cell(const ClvClvm *m, const char *prefix, ClvRnnKind kind, int layer,
                               int reverse, int input_size, int hidden_size, ClvRnnCell *out);
/* prefix.weight [C] and prefix.bias [C] of a LayerNorm / GroupNorm (both optional). */
ClvStatus clv_nn_bind_norm(const ClvClvm *m, const char *prefix, int C, const float **gamma,
                           const float **beta);
/* prefix.in_proj_weight, in_proj_bias, out_proj.weight, out_proj.bias. */
ClvStatus clv_nn_bind_mha(const ClvClvm *m, const char *prefix, int embed_dim, int num_heads,
                          ClvMha *out);

#ifdef __cplusplus
}
#endif
#endif
