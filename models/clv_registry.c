/* SPDX-License-Identifier: ISC */
/* Registry of separators and taggers.
 *
 * Built-in DSP separators are created directly; shipped neural models are files in
 * the model directory whose metadata names the architecture, and a table maps each
 * architecture to its loader. A path given instead of a name goes the same way. */
#include "clv_registry.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "clv_azimuth.h"
#include "clv_demucs.h"    /* separation family: causal Demucs-style (sep) */
#include "clv_hourglass.h" /* separation family: stacked hourglass (sep) */
#include "clv_spatial.h"
#include "clv_waveunet.h"  /* separation family: Wave-U-Net (sep) */

#ifndef CLV_MODEL_INSTALL_DIR
#define CLV_MODEL_INSTALL_DIR "/usr/local/share/cleave/models"
#endif
#ifndef CLV_MODEL_SOURCE_DIR
#define CLV_MODEL_SOURCE_DIR "models"
#endif

static const ClvModelEntry entries[] = {
    {"centre", CLV_KIND_SEPARATOR, NULL,
     "training-free centre-channel mask (stereo coherence, vocal band), any rate", NULL},
    {"tagger", CLV_KIND_TAGGER, "tagger.clvm",
     "rolling sound-event tagger: 10 urban classes + speech, singing, music", NULL},
    {"hourglass", CLV_KIND_SEPARATOR, "hourglass.clvm", /* sep */
     "band-split stacked hourglass mask net + GRU, three stacks (MIR-1K, research use), quality "
     "point", NULL},
    {"waveunet", CLV_KIND_SEPARATOR, "waveunet.clvm", /* sep */
     "Wave-U-Net, time domain, linear interpolation upsampling, difference output (MIR-1K, "
     "research use), quality point", NULL},
    {"demucs", CLV_KIND_SEPARATOR, "demucs.clvm", /* sep */
     "hybrid Demucs-style: waveform U-Net + GRU plus a spectral mask branch; causal 12 ms net "
     "at low latency, 144 ms net with a three-stack branch at quality (MIR-1K, research use)",
     "demucs-quality.clvm"},
    /* last, so the port indices of the others stay those of earlier versions */
    {"auto", CLV_KIND_SEPARATOR, NULL,
     "the best shipped family per operating point: hourglass (quality), demucs (low latency); "
     "centre if their files are missing", NULL},
};

/* Separator architectures by the `arch` metadata of their model files. */
static const struct {
    const char *arch;
    ClvSeparatorFactory create;
} families[] = {
    {CLV_HOURGLASS_ARCH, clv_hourglass_create}, /* sep */
    {CLV_WAVEUNET_ARCH, clv_waveunet_create},   /* sep */
    {CLV_DEMUCS_ARCH, clv_demucs_create},       /* sep */
    {CLV_DEMUCS_HYBRID_ARCH, clv_demucs_create}, /* sep */
    {NULL, NULL}, /* keeps the array non-empty while no family is compiled in */
};

static char model_dir[1024];

int clv_registry_count(void) { return (int)(sizeof entries / sizeof entries[0]); }

const ClvModelEntry *clv_registry_get(int i)
{
    if (i < 0 || i >= clv_registry_count()) return NULL;
    return &entries[i];
}

const char *clv_registry_default_separator(void) { return "auto"; }

void clv_registry_set_model_dir(const char *dir)
{
    snprintf(model_dir, sizeof model_dir, "%s", dir ? dir : "");
}

static int is_file(const char *p)
{
    struct stat sb;
    return stat(p, &sb) == 0 && S_ISREG(sb.st_mode);
}

ClvStatus clv_registry_find_model(const char *file, char *out, size_t cap)
{
    const char *dirs[4] = {model_dir[0] ? model_dir : NULL, getenv("CLV_MODEL_DIR"),
                           CLV_MODEL_INSTALL_DIR, CLV_MODEL_SOURCE_DIR};
    for (int i = 0; i < 4 && file; i++) {
        if (!dirs[i] || !dirs[i][0]) continue;
        int n = snprintf(out, cap, "%s/%s", dirs[i], file);
        if (n > 0 && (size_t)n < cap && is_file(out)) return CLV_OK;
    }
    if (cap) out[0] = 0;
    return CLV_ERR_NOT_FOUND;
}

static int find_model_file(const char *file, char *out, size_t cap)
{
    return clv_registry_find_model(file, out, cap) == CLV_OK;
}

static ClvStatus create_from_file(const char *path, int sample_rate, int channels,
                                  ClvOperatingPoint op, const ClvLog *log, ClvSeparator **out)
{
    ClvClvm *m;
    ClvStatus st = clv_clvm_load(path, log, &m); /* logs what is wrong with the file */
    if (st != CLV_OK) return st;
    const char *arch = NULL;
    if (clv_clvm_meta_string(m, "arch", &arch) != CLV_OK) {
        clv_log(log, CLV_LOG_ERROR, "%s: no 'arch' metadata: not a cleave model file", path);
        clv_clvm_free(m);
        return CLV_ERR_FORMAT;
    }
    for (size_t i = 0; i < sizeof families / sizeof families[0]; i++) {
        if (families[i].arch && strcmp(families[i].arch, arch) == 0)
            return families[i].create(m, sample_rate, channels, op, log, out);
    }
    clv_log(log, CLV_LOG_ERROR, "%s: architecture '%s' is not a separator this build knows", path,
            arch);
    clv_clvm_free(m);
    return CLV_ERR_UNSUPPORTED;
}

static ClvStatus refine(ClvStatus st, int channels, const ClvSeparatorOptions *o,
                        const ClvLog *log, ClvSeparator **out)
{
    if (st != CLV_OK || channels != 2 || o->spatial == CLV_SPATIAL_OFF) return st;
    ClvSeparator *inner = *out;
    char name[64];
    snprintf(name, sizeof name, "%s", inner->name);
    /* the quality point promises 250 ms in all: leave the engine its share. The
     * low-latency point promises 25 ms with the engine's hop: the longest window
     * (the fewest STFT hops per separator hop) that fits. */
    const int ll = o->op == CLV_OP_LOW_LATENCY;
    const double limit =
        (ll ? CLV_SPATIAL_MAX_LATENCY_LL_S : CLV_SPATIAL_MAX_LATENCY_S) * inner->sample_rate -
        (ll ? inner->hop : 0);
    ClvSpatialParams prm = clv_spatial_default_params();
    int added = clv_spatial_added_latency(inner, &prm);
    for (int div = 1; ll && div <= 8; div *= 2) {
        prm = clv_spatial_low_latency_params(div);
        added = clv_spatial_added_latency(inner, &prm);
        if (added >= 0 && inner->latency + added <= limit) break;
    }
    if (added < 0) {
        clv_log(log, CLV_LOG_INFO, "%s: spatial refinement off: no realtime FFT size fits its "
                "%d-frame hop", name, inner->hop);
        return st;
    }
    if (inner->latency + added > limit) {
        clv_log(log, CLV_LOG_INFO, "%s: spatial refinement off: it would bring the latency to "
                "%.1f ms", name, 1000.0 * (inner->latency + added) / inner->sample_rate);
        return st;
    }
    *out = NULL;
    st = clv_spatial_wrap(inner, &prm, out); /* frees inner on failure */
    if (st != CLV_OK)
        clv_log(log, CLV_LOG_ERROR, "%s: spatial refinement failed (status %d)", name, (int)st);
    else
        clv_log(log, CLV_LOG_INFO, "%s: spatial refinement on, latency %d frames", name,
                (*out)->latency);
    return st;
}

ClvStatus clv_separator_create(const char *name_or_path, int sample_rate, int channels,
                               ClvOperatingPoint op, const ClvLog *log, ClvSeparator **out)
{
    const ClvSeparatorOptions o = {op, CLV_SPATIAL_AUTO};
    return clv_separator_create_opts(name_or_path, sample_rate, channels, &o, log, out);
}

static const char *entry_file(const char *name)
{
    for (int i = 0; i < clv_registry_count(); i++)
        if (strcmp(entries[i].name, name) == 0) return entries[i].file;
    return NULL;
}

const char *clv_registry_resolve_separator(const char *name_or_path, ClvOperatingPoint op)
{
    if (name_or_path && name_or_path[0] && strcmp(name_or_path, "auto") != 0) return name_or_path;
    const char *pick = op == CLV_OP_LOW_LATENCY ? "demucs" : "hourglass";
    char path[1200];
    const char *file = entry_file(pick);
    return file && find_model_file(file, path, sizeof path) ? pick : "centre";
}

ClvStatus clv_separator_create_opts(const char *name_or_path, int sample_rate, int channels,
                                    const ClvSeparatorOptions *opts, const ClvLog *log,
                                    ClvSeparator **out)
{
    *out = NULL;
    const ClvSeparatorOptions dflt = {CLV_OP_QUALITY, CLV_SPATIAL_AUTO};
    const ClvSeparatorOptions *o = opts ? opts : &dflt;
    const ClvOperatingPoint op = o->op;
    if (!name_or_path || !name_or_path[0] || strcmp(name_or_path, "auto") == 0) {
        name_or_path = clv_registry_resolve_separator(name_or_path, op);
        clv_log(log, CLV_LOG_INFO, "auto: %s separator at the %s point", name_or_path,
                op == CLV_OP_LOW_LATENCY ? "low-latency" : "quality");
    }
    if (sample_rate < 8000 || sample_rate > 192000) {
        clv_log(log, CLV_LOG_ERROR, "sample rate %d Hz is outside 8000..192000", sample_rate);
        return CLV_ERR_UNSUPPORTED;
    }
    if (channels < 1 || channels > 2) {
        clv_log(log, CLV_LOG_ERROR, "%d channels: only mono and stereo are supported", channels);
        return CLV_ERR_UNSUPPORTED;
    }
    if (strcmp(name_or_path, "centre") == 0 || strcmp(name_or_path, "center") == 0) {
        ClvAzimuthParams p = clv_azimuth_default_params();
        p.low_latency = op == CLV_OP_LOW_LATENCY;
        return clv_azimuth_new(sample_rate, channels, &p, out);
    }
    for (int i = 0; i < clv_registry_count(); i++) {
        const ClvModelEntry *e = &entries[i];
        if (e->kind != CLV_KIND_SEPARATOR || !e->file || strcmp(e->name, name_or_path) != 0)
            continue;
        char path[1200];
        const int quality_file = op == CLV_OP_QUALITY && e->file_quality &&
                                 find_model_file(e->file_quality, path, sizeof path);
        if (!quality_file && !find_model_file(e->file, path, sizeof path)) {
            clv_log(log, CLV_LOG_ERROR, "model %s: file %s not found (set CLV_MODEL_DIR)", e->name,
                    e->file);
            return CLV_ERR_NOT_FOUND;
        }
        return refine(create_from_file(path, sample_rate, channels, op, log, out), channels, o,
                      log, out);
    }
    if (is_file(name_or_path))
        return refine(create_from_file(name_or_path, sample_rate, channels, op, log, out),
                      channels, o, log, out);
    clv_log(log, CLV_LOG_ERROR, "%s: no such separator or model file (see `cleave models`)",
            name_or_path);
    return CLV_ERR_NOT_FOUND;
}
