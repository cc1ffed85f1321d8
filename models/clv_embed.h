/* SPDX-License-Identifier: ISC */
/* Clip embeddings for query by example (cleave index / cleave similar).
 *
 * One vector per audio file, from the tagger's CNN: the per-band normalised
 * log-mel frames go through its four conv blocks, the frequency mean, and over
 * time the concatenation of mean and max (the tagger's penultimate layer, 2 C
 * values). A model file of arch "cleave-embed-cnn" (models/embed.clvm, written by
 * models/train/export_embed.py) adds a projection head trained with a supervised
 * contrastive loss: linear -> ReLU -> linear. A plain tagger file
 * ("cleave-tagger-cnn") is accepted too; its embedding is the penultimate layer.
 * Every embedding is L2-normalised, so cosine similarity is a dot product.
 *
 * A clip of up to CLV_EMBED_MAX_FRAMES mel frames (10 s) is embedded in one pass
 * over all its frames (clips shorter than the model's window, 3 s, are centred in
 * floor-padding, i.e. silence, as in training). Longer files are cut into windows
 * of CLV_EMBED_MAX_FRAMES frames every CLV_EMBED_MAX_FRAMES / 2 frames plus one
 * window ending at the last frame; the embedding is the normalised mean of the
 * windows' normalised embeddings. Memory does not grow with the file length.
 *
 * The same pass keeps the MFCC sequence of the first CLV_EMBED_MFCC_MAX_FRAMES
 * frames for the dynamic-time-warping baseline: coefficients 1..CLV_EMBED_MFCC_DIM
 * of the orthonormal DCT-II of each log-mel frame (c0, the loudness, is left out).
 *
 * Samples at any rate from 8 to 192 kHz are resampled to the model's rate (16 kHz)
 * with libsoxr, with the resampler's delay removed. Non-finite samples count as
 * silence. Nothing here is realtime: embedding is file work (Thread: non-RT). */
#ifndef CLV_EMBED_H
#define CLV_EMBED_H

#include <stddef.h>
#include <stdint.h>

#include "clv_common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ClvEmbedderImpl ClvEmbedder;

/* Longest single pass (and window length for longer files), in mel frames. */
#define CLV_EMBED_MAX_FRAMES 500
/* MFCC coefficients per frame (c1..c20) and the frames kept for DTW (10 s). */
#define CLV_EMBED_MFCC_DIM 20
#define CLV_EMBED_MFCC_MAX_FRAMES 500
/* Largest embedding a model may declare. */
#define CLV_EMBED_MAX_DIM 4096

/* Shipped embedding model, and the fallback when it is absent. */
#define CLV_EMBED_DEFAULT_FILE "embed.clvm"

/* Loads and validates an embedding model (arch cleave-embed-cnn) or a tagger
 * (arch cleave-tagger-cnn). Problems are logged with the file name. (An index
 * identifies the model by the file's CRC-32 and size: clv_index_file_identity.)
 * Thread: non-RT. */
ClvStatus clv_embed_new(const char *path, const ClvLog *log, ClvEmbedder **out);
/* Frees; NULL is a no-op. Thread: non-RT. */
void clv_embed_free(ClvEmbedder *e);

/* Finds the shipped model: embed.clvm, else tagger.clvm, in $CLV_MODEL_DIR, the
 * install directory, then the source tree's models/. Writes the path to out (cap
 * bytes); CLV_ERR_NOT_FOUND when none exists. Thread: non-RT. */
ClvStatus clv_embed_find_default(char *out, size_t cap);

/* Embedding length (2 C for a tagger, the head's output for an embed model).
 * Thread: any. */
int clv_embed_dim(const ClvEmbedder *e);
/* The model's arch string ("cleave-embed-cnn" or "cleave-tagger-cnn"). Thread: any. */
const char *clv_embed_arch(const ClvEmbedder *e);
/* The model's rate, window (minimum frames) and mel bands. Thread: any. */
int clv_embed_model_rate(const ClvEmbedder *e);
int clv_embed_window_frames(const ClvEmbedder *e);
int clv_embed_bands(const ClvEmbedder *e);

/* Starts a clip whose samples arrive at `sample_rate` Hz (8000..192000).
 * Thread: non-RT. */
ClvStatus clv_embed_begin(ClvEmbedder *e, int sample_rate);

/* Feeds n mono samples (n >= 0). Thread: non-RT. */
ClvStatus clv_embed_feed(ClvEmbedder *e, const float *x, int n);

/* Ends the clip and writes its L2-normalised embedding (clv_embed_dim floats).
 * After this, clv_embed_mfcc() returns the clip's MFCC sequence until the next
 * begin. Thread: non-RT. */
ClvStatus clv_embed_end(ClvEmbedder *e, float *embedding);

/* The MFCC sequence of the clip that ended last: *frames rows of
 * CLV_EMBED_MFCC_DIM floats (frame-major), at most CLV_EMBED_MFCC_MAX_FRAMES.
 * The pointer is owned by the embedder. Thread: non-RT. */
const float *clv_embed_mfcc(const ClvEmbedder *e, int *frames);

/* Mel frames the clip that ended last produced (for messages). Thread: any. */
int64_t clv_embed_frames(const ClvEmbedder *e);

/* The network alone on n log-mel frames (frame-major, n x bands; 1 <= n <=
 * CLV_EMBED_MAX_FRAMES; fewer than the window are floor-padded, centred) ->
 * L2-normalised embedding. `pooled` (may be NULL) receives the 2 C pooled
 * values before the head, unnormalised. For golden tests. Thread: non-RT. */
ClvStatus clv_embed_run_frames(ClvEmbedder *e, const float *frames, int n, float *embedding,
                               float *pooled);

/* Coefficients 1..CLV_EMBED_MFCC_DIM of the orthonormal DCT-II of one frame of
 * `bands` values (bands >= CLV_EMBED_MFCC_DIM + 1). Thread: any. */
void clv_embed_mfcc_frame(const ClvEmbedder *e, const float *logmel, float *mfcc);

#ifdef __cplusplus
}
#endif
#endif
