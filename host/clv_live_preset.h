/* SPDX-License-Identifier: ISC */
/* Reads the LV2 presets of cleave.lv2 (the .ttl files in presets/, shared with the plugin) for
 * `cleave live --preset`: only the control values the live client has (vocal and
 * accompaniment level in dB, separator, operating point, bypass). A file may hold
 * several presets; one is chosen by its label or the last part of its URI.
 *
 * Port symbols understood (pset:value of lv2:port [ lv2:symbol ... ]):
 *   vocal level:  vocal_level, vocals_level, vocal_gain, vocals, vocal_db   (dB, <= -90 = off)
 *   accompaniment: accomp_level, accompaniment_level, accomp_gain, accomp, accomp_db
 *   separator:    separator, model (index among the registry's separators, or a name)
 *   operating point: op, operating_point, mode, low_latency (0 = quality, 1 = low latency)
 *   bypass:       enabled (lv2:enabled, 0 = bypassed), bypass (1 = bypassed)
 * Other symbols are ignored. */
#ifndef CLV_LIVE_PRESET_H
#define CLV_LIVE_PRESET_H

#include <stddef.h>

#include "clv_common.h"
#include "clv_registry.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    char label[128];     /* rdfs:label, or the URI's last part */
    int has_vocal, has_accomp, has_separator, has_op, has_bypass;
    double vocal_db;     /* -INFINITY = off */
    double accomp_db;
    char separator[256]; /* registry name */
    ClvOperatingPoint op;
    int bypass;
} ClvLivePreset;

/* Loads a preset. `spec` is FILE, FILE#NAME (NAME = label or URI fragment; needed
 * when FILE holds several presets), or NAME alone, looked up in the preset
 * directories ($CLV_PRESET_DIR, the installed bundle, the source tree's presets/).
 * Every problem is logged naming the file. Thread: non-RT. */
ClvStatus clv_live_preset_load(const char *spec, const ClvLog *log, ClvLivePreset *out);

/* Writes the labels of the presets found in the preset directories, one per line,
 * to f (a FILE *). Thread: non-RT. */
void clv_live_preset_list(void *f, const ClvLog *log);

#ifdef __cplusplus
}
#endif
#endif
