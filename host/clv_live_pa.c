/* SPDX-License-Identifier: ISC */
/* PortAudio backend: one full-duplex, non-interleaved float stream whose callback
 * runs the live core. Glue only.
 *
 * Devices are chosen by index or by part of "host API: name" (case-insensitive), for
 * input and output together (--device) or apart. Inputs: the first two channels
 * (a mono device feeds both). Outputs: a device with six or more channels gets mix,
 * vocals and accompaniment on channels 1-6; otherwise the first two carry what
 * --monitor chose (the mix by default). The rate and period are fixed for the
 * stream's life; PortAudio has no freewheel. Over/underflows reported by the
 * callback's flags count as xruns. Pa_Initialize() probes every ALSA card and
 * prints the library's complaints on stderr; they are hidden unless
 * CLEAVE_VERBOSE is set, and our own messages say what went wrong. */
#include "clv_live_pa.h"

#include <ctype.h>
#include <fcntl.h>
#include <portaudio.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct ClvLiveBackend {
    PaStream *stream;
    ClvLiveCore *core;
    ClvLiveBackendConfig cfg;
    int pa_ok;
    int in_ch, out_ch;
    int monitor; /* 0 mix, 1 vocals, 2 accomp: the pair a 2-channel output carries */
    int rate, period;
    float *zero;   /* CLV_LIVE_MAX_BLOCK silent frames (missing output channel) */
    float *spare;  /* CLV_LIVE_MAX_BLOCK frames for a mono output's second channel */

    atomic_uint_fast64_t xruns;
    atomic_int finished;
    atomic_int stopping;
};

/* ---- audio thread ------------------------------------------------------- */

static int pa_callback(const void *input, void *output, unsigned long frames,
                       const PaStreamCallbackTimeInfo *ti, PaStreamCallbackFlags flags, void *user)
{
    (void)ti;
    ClvLiveBackend *b = user;
    if (flags & (paInputOverflow | paInputUnderflow | paOutputOverflow | paOutputUnderflow))
        atomic_fetch_add_explicit(&b->xruns, 1, memory_order_relaxed);
    const float *const *in = input;
    float *const *out = output;
    for (unsigned long off = 0; off < frames;) {
        int n = (int)(frames - off > CLV_LIVE_MAX_BLOCK ? CLV_LIVE_MAX_BLOCK : frames - off);
        const float *ip[2];
        ip[0] = in ? in[0] + off : b->zero;
        ip[1] = in && b->in_ch > 1 ? in[1] + off : ip[0];
        float *pair[3][2] = {{NULL, NULL}, {NULL, NULL}, {NULL, NULL}};
        if (b->out_ch >= 6) {
            for (int k = 0; k < 3; k++)
                for (int c = 0; c < 2; c++) pair[k][c] = out[2 * k + c] + off;
        } else {
            pair[b->monitor][0] = out[0] + off;
            pair[b->monitor][1] = b->out_ch > 1 ? out[1] + off : b->spare;
        }
        clv_live_core_process(b->core, ip, pair[0][0] ? pair[0] : NULL,
                              pair[1][0] ? pair[1] : NULL, pair[2][0] ? pair[2] : NULL, n, 0);
        /* channels beyond the six we fill stay silent */
        for (int c = b->out_ch >= 6 ? 6 : (b->out_ch > 2 ? 2 : b->out_ch); c < b->out_ch; c++)
            memset(out[c] + off, 0, sizeof(float) * (size_t)n);
        off += (unsigned long)n;
    }
    return paContinue;
}

/* ---- PortAudio's own threads ------------------------------------------------- */

static void pa_finished(void *user)
{
    ClvLiveBackend *b = user;
    if (atomic_load(&b->stopping)) return;
    atomic_store(&b->finished, 1);
    if (b->cfg.wake) b->cfg.wake(b->cfg.wake_user);
}

/* ---- main thread ---------------------------------------------------------- */

/* Pa_Initialize with the ALSA/JACK probing chatter on stderr hidden. */
static PaError pa_init_quiet(void)
{
    if (getenv("CLEAVE_VERBOSE")) return Pa_Initialize();
    fflush(stderr);
    int saved = dup(STDERR_FILENO);
    int devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (saved >= 0 && devnull >= 0) dup2(devnull, STDERR_FILENO);
    PaError e = Pa_Initialize();
    fflush(stderr);
    if (saved >= 0) {
        dup2(saved, STDERR_FILENO);
        close(saved);
    }
    if (devnull >= 0) close(devnull);
    return e;
}

static const char *api_name(const PaDeviceInfo *d)
{
    const PaHostApiInfo *h = Pa_GetHostApiInfo(d->hostApi);
    return h && h->name ? h->name : "?";
}

static int contains_ci(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    for (; *hay; hay++) {
        size_t i = 0;
        while (i < n && hay[i] && tolower((unsigned char)hay[i]) == tolower((unsigned char)needle[i]))
            i++;
        if (i == n) return 1;
    }
    return n == 0;
}

/* Finds a device by index or name part that has at least one channel in the wanted
 * direction; logs and returns paNoDevice when there is none. */
static PaDeviceIndex find_device(const ClvLog *log, const char *spec, int want_input)
{
    const int count = Pa_GetDeviceCount();
    if (!spec) {
        PaDeviceIndex d = want_input ? Pa_GetDefaultInputDevice() : Pa_GetDefaultOutputDevice();
        if (d == paNoDevice)
            clv_log(log, CLV_LOG_ERROR, "PortAudio has no default %s device (see 'cleave live "
                    "--backend portaudio --list-devices' and use --device)",
                    want_input ? "input" : "output");
        return d;
    }
    char *end;
    long idx = strtol(spec, &end, 10);
    if (*spec && !*end) {
        if (idx < 0 || idx >= count) {
            clv_log(log, CLV_LOG_ERROR, "PortAudio device %ld does not exist (%d devices; see "
                    "--list-devices)", idx, count);
            return paNoDevice;
        }
        const PaDeviceInfo *d = Pa_GetDeviceInfo((PaDeviceIndex)idx);
        if ((want_input ? d->maxInputChannels : d->maxOutputChannels) < 1) {
            clv_log(log, CLV_LOG_ERROR, "PortAudio device %ld (%s) has no %s channels", idx, d->name,
                    want_input ? "input" : "output");
            return paNoDevice;
        }
        return (PaDeviceIndex)idx;
    }
    for (int pass = 0; pass < 2; pass++) {
        for (PaDeviceIndex i = 0; i < count; i++) {
            const PaDeviceInfo *d = Pa_GetDeviceInfo(i);
            if (!d || (want_input ? d->maxInputChannels : d->maxOutputChannels) < 1) continue;
            char full[512];
            snprintf(full, sizeof full, "%s: %s", api_name(d), d->name);
            /* exact names first, so "default" is not taken for "sysdefault" */
            if (pass == 0 ? !strcasecmp(d->name, spec) : contains_ci(full, spec)) return i;
        }
    }
    clv_log(log, CLV_LOG_ERROR, "no PortAudio %s device matches '%s' (see 'cleave live --backend "
            "portaudio --list-devices')", want_input ? "input" : "output", spec);
    return paNoDevice;
}

static void be_close(ClvLiveBackend *b)
{
    if (!b) return;
    if (b->stream) {
        atomic_store(&b->stopping, 1);
        if (Pa_IsStreamActive(b->stream) == 1) Pa_StopStream(b->stream);
        Pa_CloseStream(b->stream);
    }
    if (b->pa_ok) Pa_Terminate();
    free(b->zero);
    free(b->spare);
    free(b);
}

static ClvStatus be_open(const ClvLiveBackendConfig *cfg, ClvLiveBackend **out,
                         ClvLiveStreamInfo *info)
{
    *out = NULL;
    ClvLiveBackend *b = calloc(1, sizeof *b);
    if (!b) return CLV_ERR_NOMEM;
    b->cfg = *cfg;
    atomic_init(&b->xruns, 0);
    atomic_init(&b->finished, 0);
    atomic_init(&b->stopping, 0);
    b->zero = calloc(CLV_LIVE_MAX_BLOCK, sizeof(float));
    b->spare = calloc(CLV_LIVE_MAX_BLOCK, sizeof(float));
    if (!b->zero || !b->spare) {
        be_close(b);
        return CLV_ERR_NOMEM;
    }
    PaError e = pa_init_quiet();
    if (e != paNoError) {
        clv_log(&cfg->log, CLV_LOG_ERROR, "cannot start PortAudio: %s", Pa_GetErrorText(e));
        be_close(b);
        return CLV_ERR_IO;
    }
    b->pa_ok = 1;
    const ClvLog *log = &cfg->log;
    const char *ispec = cfg->in_device ? cfg->in_device : cfg->device;
    const char *ospec = cfg->out_device ? cfg->out_device : cfg->device;
    PaDeviceIndex di = find_device(log, ispec, 1);
    PaDeviceIndex dout = di == paNoDevice ? paNoDevice : find_device(log, ospec, 0);
    if (di == paNoDevice || dout == paNoDevice) {
        be_close(b);
        return CLV_ERR_NOT_FOUND;
    }
    const PaDeviceInfo *ii = Pa_GetDeviceInfo(di), *oi = Pa_GetDeviceInfo(dout);
    b->in_ch = ii->maxInputChannels >= 2 ? 2 : 1;
    b->out_ch = oi->maxOutputChannels >= 6 ? 6 : oi->maxOutputChannels >= 2 ? 2 : 1;
    b->monitor = !cfg->monitor || !strcmp(cfg->monitor, "mix") ? 0
                 : !strcmp(cfg->monitor, "vocals")            ? 1
                                                              : 2;
    b->rate = cfg->sample_rate > 0 ? cfg->sample_rate : (int)(oi->defaultSampleRate + 0.5);
    b->period = cfg->period > 0 ? cfg->period : 256;
    PaStreamParameters ip = {di, b->in_ch, paFloat32 | paNonInterleaved,
                             ii->defaultLowInputLatency, NULL};
    PaStreamParameters op = {dout, b->out_ch, paFloat32 | paNonInterleaved,
                             oi->defaultLowOutputLatency, NULL};
    e = Pa_IsFormatSupported(&ip, &op, b->rate);
    if (e != paFormatIsSupported) {
        clv_log(log, CLV_LOG_ERROR, "PortAudio devices '%s' -> '%s' cannot run %d Hz float "
                "(%d in, %d out): %s", ii->name, oi->name, b->rate, b->in_ch, b->out_ch,
                Pa_GetErrorText(e));
        be_close(b);
        return CLV_ERR_UNSUPPORTED;
    }
    e = Pa_OpenStream(&b->stream, &ip, &op, b->rate, (unsigned long)b->period, paClipOff,
                      pa_callback, b);
    if (e != paNoError) {
        b->stream = NULL;
        clv_log(log, CLV_LOG_ERROR, "cannot open PortAudio devices '%s' -> '%s': %s", ii->name,
                oi->name, Pa_GetErrorText(e));
        be_close(b);
        return CLV_ERR_IO;
    }
    Pa_SetStreamFinishedCallback(b->stream, pa_finished);
    memset(info, 0, sizeof *info);
    info->sample_rate = b->rate;
    info->period = b->period;
    if (di == dout) snprintf(info->name, sizeof info->name, "%s: %s", api_name(ii), ii->name);
    else snprintf(info->name, sizeof info->name, "%s -> %s", ii->name, oi->name);
    *out = b;
    return CLV_OK;
}

static ClvStatus be_start(ClvLiveBackend *b, ClvLiveCore *core)
{
    b->core = core;
    PaError e = Pa_StartStream(b->stream);
    if (e != paNoError) {
        clv_log(&b->cfg.log, CLV_LOG_ERROR, "cannot start the PortAudio stream: %s",
                Pa_GetErrorText(e));
        return CLV_ERR_IO;
    }
    return CLV_OK;
}

/* PortAudio has no host to tell; the status shows the total. */
static void be_latency_changed(ClvLiveBackend *b) { (void)b; }

static void be_status(ClvLiveBackend *b, ClvLiveBackendStatus *st)
{
    memset(st, 0, sizeof *st);
    st->xruns = atomic_load(&b->xruns);
    st->period = b->period;
    st->host_load = b->stream ? (float)(100.0 * Pa_GetStreamCpuLoad(b->stream)) : -1.0f;
    const PaStreamInfo *si = b->stream ? Pa_GetStreamInfo(b->stream) : NULL;
    if (si) {
        st->capture_latency = (int)(si->inputLatency * b->rate + 0.5);
        st->playback_latency = (int)(si->outputLatency * b->rate + 0.5);
    }
}

static int be_finished(ClvLiveBackend *b, char *why, size_t cap)
{
    if (!atomic_load(&b->finished)) return 0;
    if (why && cap) snprintf(why, cap, "the PortAudio stream stopped (device lost?)");
    return 1;
}

static ClvStatus be_list(const ClvLiveBackendConfig *cfg, void *fp)
{
    FILE *f = fp;
    PaError e = pa_init_quiet();
    if (e != paNoError) {
        clv_log(&cfg->log, CLV_LOG_ERROR, "cannot start PortAudio: %s", Pa_GetErrorText(e));
        return CLV_ERR_IO;
    }
    const int count = Pa_GetDeviceCount();
    const PaDeviceIndex din = Pa_GetDefaultInputDevice(), dout = Pa_GetDefaultOutputDevice();
    fprintf(f, "PortAudio devices (use --device N or part of the name; * = default):\n");
    for (PaDeviceIndex i = 0; i < count; i++) {
        const PaDeviceInfo *d = Pa_GetDeviceInfo(i);
        if (!d) continue;
        fprintf(f, "%3d%c %-12s %-40s in %2d  out %2d  %6.0f Hz\n", i,
                i == din || i == dout ? '*' : ' ', api_name(d), d->name, d->maxInputChannels,
                d->maxOutputChannels, d->defaultSampleRate);
    }
    if (count <= 0) fprintf(f, "  (none)\n");
    Pa_Terminate();
    return CLV_OK;
}

static const ClvLiveBackendOps pa_ops = {
    .name = "portaudio",
    .open = be_open,
    .start = be_start,
    .connect = NULL,
    .latency_changed = be_latency_changed,
    .status = be_status,
    .finished = be_finished,
    .close = be_close,
    .list_devices = be_list,
};

const ClvLiveBackendOps *clv_live_pa_backend(void) { return &pa_ops; }
