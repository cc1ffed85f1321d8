/* SPDX-License-Identifier: ISC */
/* The tagging CNN of models/train/tag_model.py (TagNet), shared by the rolling
 * tagger (clv_tagger.h) and the clip embedder (clv_embed.h).
 *
 * Input: log-mel frames, normalised per band with the model's fixed statistics
 * into a [1, F, T] map. Then N blocks conv3x3 (batch norm folded) -> ReLU, 2x2
 * max pooling after all but the last; then the mean over the remaining bands,
 * then the mean and the max over time, concatenated: the pooled feature vector
 * [2 C] the classifier or the embedding reads.
 *
 * Tensors: norm_mean, norm_std [F]; convs.{i}.weight [C_i, C_i-1, 3, 3],
 * convs.{i}.bias [C_i]. Metadata: channels (C_1..C_N, N <= CLV_TAGNET_MAX_CONVS).
 *
 * The struct only points into the model file's tensors: it holds no buffers.
 * The caller sizes two activation buffers and a scratch buffer for its longest
 * pass with clv_tagnet_act_floats() / clv_tagnet_scratch_floats(). */
#ifndef CLV_TAGNET_H
#define CLV_TAGNET_H

#include <stddef.h>

#include "clv_clvm.h"
#include "clv_common.h"
#include "clv_nn.h"

#define CLV_TAGNET_MAX_CONVS 8

typedef struct {
    int n_mels, n_convs;
    int ch[CLV_TAGNET_MAX_CONVS];
    ClvConv2d conv[CLV_TAGNET_MAX_CONVS];
    int feat_ch;      /* channels of the last block (pooled = 2 * feat_ch) */
    const float *norm_mean, *norm_std;
} ClvTagNet;

/* Binds the network from model m for n_mels bands and checks that a pass over
 * min_frames frames survives the pooling; errors name `path`. Thread: any. */
ClvStatus clv_tagnet_bind(ClvTagNet *n, const ClvClvm *m, int n_mels, int min_frames,
                          const char *path, const ClvLog *log);
/* Floats each of the two activation buffers and the scratch buffer need for a
 * pass over T frames. */
size_t clv_tagnet_act_floats(const ClvTagNet *n, int T);
size_t clv_tagnet_scratch_floats(const ClvTagNet *n, int T);
/* Multiply-adds of one pass over T frames. */
double clv_tagnet_macs(const ClvTagNet *n, int T);
/* Length of the pooled feature vector (2 * feat_ch). */
int clv_tagnet_pooled_dim(const ClvTagNet *n);

/* Writes band f of frame j (frames frame-major, [count][n_mels]) normalised into
 * act [F, T] at column off + j for j < count; the other columns get the
 * normalised `pad` value (the log floor: silence). Thread: any. */
CLV_RT void clv_tagnet_load(const ClvTagNet *n, const float *frames, int count, int T, int off,
                            float pad, float *act);
/* The network on act_a ([1, F, T] from clv_tagnet_load) -> pooled [2 feat_ch].
 * act_a, act_b and scratch are clobbered. Thread: any; no allocation. */
CLV_RT void clv_tagnet_forward(const ClvTagNet *n, float *act_a, float *act_b, float *scratch,
                               int T, float *pooled);

#endif
