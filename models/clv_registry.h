/* SPDX-License-Identifier: ISC */
/* The list of separators and taggers cleave knows, and creation by name or file.
 * Hosts and the plugin go through here so they offer the same choices. */
#ifndef CLV_REGISTRY_H
#define CLV_REGISTRY_H

#include "clv_clvm.h"
#include "clv_common.h"
#include "clv_separator.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Latency/quality trade-off a separator is created for. */
typedef enum { CLV_OP_QUALITY = 0, CLV_OP_LOW_LATENCY = 1 } ClvOperatingPoint;

typedef enum { CLV_KIND_SEPARATOR = 0, CLV_KIND_TAGGER = 1 } ClvModelKind;

/* One entry of the built-in list. */
typedef struct {
    const char *name;        /* what --model takes, e.g. "centre" */
    ClvModelKind kind;
    const char *file;        /* model file name under the model directory, or NULL (built-in DSP) */
    const char *description; /* one line */
    const char *file_quality; /* used instead of `file` at the quality point when it is found,
                                 or NULL */
} ClvModelEntry;

/* Number of built-in entries and entry i. Thread: any. */
int clv_registry_count(void);
const ClvModelEntry *clv_registry_get(int i);

/* Default separator name: "auto", which resolves per operating point to the best
 * shipped family for it (clv_registry_resolve_separator). Thread: any. */
const char *clv_registry_default_separator(void);

/* What a separator name stands for at an operating point: "auto" (or NULL or "")
 * becomes "hourglass" at the quality point and "demucs" at the low-latency point,
 * or "centre" when that model's file cannot be found; any other name is returned
 * as it is. Thread: non-RT (looks for model files). */
const char *clv_registry_resolve_separator(const char *name_or_path, ClvOperatingPoint op);

/* Finds a shipped model file by name (e.g. "tagger.clvm") in, in order, the
 * directory set below, $CLV_MODEL_DIR, the install directory and the source
 * tree's models/; writes its path to out. CLV_ERR_NOT_FOUND (out = "") when none
 * has it. Thread: non-RT. */
ClvStatus clv_registry_find_model(const char *file, char *out, size_t cap);

/* Sets the directory searched for shipped model files (default: compiled-in
 * install path, then CLV_MODEL_DIR from the environment). Thread: non-RT. */
void clv_registry_set_model_dir(const char *dir);

/* Builds a separator of one architecture from a loaded model file. Takes ownership
 * of `model` (keeps it as long as it needs the weights, frees it on failure).
 * Thread: non-RT. */
typedef ClvStatus (*ClvSeparatorFactory)(ClvClvm *model, int sample_rate, int channels,
                                         ClvOperatingPoint op, const ClvLog *log,
                                         ClvSeparator **out);

/* Creates a separator from a registry name or a path to a .clvm file, for the
 * given host rate and channel count. Errors are logged with the file and problem.
 * Thread: non-RT. */
ClvStatus clv_separator_create(const char *name_or_path, int sample_rate, int channels,
                               ClvOperatingPoint op, const ClvLog *log, ClvSeparator **out);

/* Spatial refinement of a neural separator (dsp/clv_spatial.h). AUTO: on for
 * stereo input; at the quality point (it adds about 30-45 ms) when the
 * separator's latency stays within CLV_SPATIAL_MAX_LATENCY_S (so the engine's
 * total stays within the quality point's 250 ms); at the low-latency point with
 * a window of two short STFT hops (clv_spatial_low_latency_params) when the
 * separator and its hop stay within CLV_SPATIAL_MAX_LATENCY_LL_S. Off otherwise
 * and for the training-free centre separator, which is spatial already. */
#define CLV_SPATIAL_MAX_LATENCY_S 0.210
#define CLV_SPATIAL_MAX_LATENCY_LL_S 0.025 /* low-latency point: separator and hop */
typedef enum { CLV_SPATIAL_AUTO = 0, CLV_SPATIAL_OFF = 1 } ClvSpatialMode;

typedef struct {
    ClvOperatingPoint op;
    ClvSpatialMode spatial;
} ClvSeparatorOptions;

/* clv_separator_create() with options (that one is this with spatial AUTO).
 * Thread: non-RT. */
ClvStatus clv_separator_create_opts(const char *name_or_path, int sample_rate, int channels,
                                    const ClvSeparatorOptions *opts, const ClvLog *log,
                                    ClvSeparator **out);

#ifdef __cplusplus
}
#endif
#endif
