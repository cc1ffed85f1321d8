/* SPDX-License-Identifier: ISC */
/* JACK backend: glue between a jack_client_t and the live core.
 *
 * Threads: JACK's process thread calls on_process() (realtime: port buffers,
 * transport query, the core; nothing else). JACK's notification thread calls the
 * other callbacks; they only store requests in the core, count, copy the shutdown
 * reason, and wake the main loop (a pipe write). The main loop calls
 * jack_recompute_total_latencies() when the core reports a latency change, which
 * makes JACK call on_latency() with the new value.
 *
 * Latency: outputs carry input frame t - D at frame t (D = the engine latency), so
 * the capture latency of every output is the inputs' capture latency + D, and the
 * playback latency of each input is the outputs' playback latency + D. */
#include "clv_live_jack.h"

#include <errno.h>
#include <jack/jack.h>
#include <jack/thread.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define N_IN 2
#define N_OUT 6

static const char *const in_names[N_IN] = {"in_L", "in_R"};
static const char *const out_names[N_OUT] = {"mix_L",    "mix_R",    "vocals_L",
                                             "vocals_R", "accomp_L", "accomp_R"};

struct ClvLiveBackend {
    jack_client_t *client;
    jack_port_t *in[N_IN];
    jack_port_t *out[N_OUT];
    ClvLiveCore *core;
    ClvLiveBackendConfig cfg;
    int active;

    /* (audio) */
    jack_transport_state_t last_state;
    jack_nframes_t next_frame; /* transport frame a continuing roll would be at */

    atomic_uint_fast64_t xruns;
    atomic_int period;
    atomic_int finished;
    char why[256]; /* written once before `finished` is released */
};

static void wake(ClvLiveBackend *b)
{
    if (b->cfg.wake) b->cfg.wake(b->cfg.wake_user);
}

/* ---- audio thread ------------------------------------------------------- */

static int on_process(jack_nframes_t n, void *arg)
{
    ClvLiveBackend *b = arg;
    const float *in[N_IN];
    float *out[N_OUT];
    for (int i = 0; i < N_IN; i++) in[i] = jack_port_get_buffer(b->in[i], n);
    for (int i = 0; i < N_OUT; i++) out[i] = jack_port_get_buffer(b->out[i], n);
    unsigned flags = 0;
    if (b->cfg.transport_reset) {
        /* a render or a take starts from silence, exactly like `cleave separate`:
         * reset when the transport starts rolling somewhere else than where it
         * stopped (a locate; a plain pause/resume, or a state blip during an xrun,
         * continues) */
        jack_position_t pos;
        jack_transport_state_t s = jack_transport_query(b->client, &pos);
        if (s == JackTransportRolling) {
            if (b->last_state != JackTransportRolling && pos.frame != b->next_frame)
                flags |= CLV_LIVE_RESET;
            b->next_frame = pos.frame + n;
        }
        b->last_state = s;
    }
    clv_live_core_process(b->core, in, out, out + 2, out + 4, (int)n, flags);
    return 0;
}

/* ---- notification thread ------------------------------------------------ */

static void on_latency(jack_latency_callback_mode_t mode, void *arg)
{
    ClvLiveBackend *b = arg;
    const jack_nframes_t d = (jack_nframes_t)clv_live_core_latency(b->core);
    jack_latency_range_t r = {UINT32_MAX, 0};
    jack_port_t **from = mode == JackCaptureLatency ? b->in : b->out;
    jack_port_t **to = mode == JackCaptureLatency ? b->out : b->in;
    const int n_from = mode == JackCaptureLatency ? N_IN : N_OUT;
    const int n_to = mode == JackCaptureLatency ? N_OUT : N_IN;
    for (int i = 0; i < n_from; i++) {
        jack_latency_range_t p;
        jack_port_get_latency_range(from[i], mode, &p);
        if (p.min < r.min) r.min = p.min;
        if (p.max > r.max) r.max = p.max;
    }
    if (r.min == UINT32_MAX) r.min = 0;
    r.min += d;
    r.max += d;
    for (int i = 0; i < n_to; i++) jack_port_set_latency_range(to[i], mode, &r);
}

static int on_bufsize(jack_nframes_t n, void *arg)
{
    ClvLiveBackend *b = arg;
    atomic_store(&b->period, (int)n);
    if (b->core) clv_live_core_request_period(b->core, (int)n);
    wake(b);
    return 0;
}

static int on_rate(jack_nframes_t rate, void *arg)
{
    ClvLiveBackend *b = arg;
    if (b->core) clv_live_core_request_rate(b->core, (int)rate);
    wake(b);
    return 0;
}

static int on_xrun(void *arg)
{
    ClvLiveBackend *b = arg;
    atomic_fetch_add(&b->xruns, 1);
    return 0;
}

static void on_freewheel(int starting, void *arg)
{
    ClvLiveBackend *b = arg;
    /* JACK waits for this callback before running freewheel cycles, so the core
     * knows before the first one */
    clv_live_core_set_freewheel(b->core, starting);
    wake(b);
}

static void on_shutdown(jack_status_t code, const char *reason, void *arg)
{
    ClvLiveBackend *b = arg;
    (void)code;
    if (atomic_load(&b->finished)) return;
    snprintf(b->why, sizeof b->why, "the JACK server shut down%s%s", reason && *reason ? ": " : "",
             reason ? reason : "");
    for (char *p = b->why; *p; p++)
        if (*p == '\n' || *p == '\r') *p = ' ';
    atomic_store(&b->finished, 1);
    wake(b);
}

/* Silences JACK's own error printing; errors are reported by us, once. */
static void jack_quiet(const char *msg) { (void)msg; }

/* ---- main thread ---------------------------------------------------------- */

static void *close_client(void *arg)
{
    jack_client_close(arg);
    return NULL;
}

static void be_close(ClvLiveBackend *b)
{
    if (!b) return;
    if (b->client && !atomic_load(&b->finished)) {
        if (b->active) jack_deactivate(b->client);
        jack_client_close(b->client);
    } else if (b->client) {
        /* after a shutdown the server is gone, but the client's memory is still
         * ours to release. Closing talks to the server, which may be half-way
         * through its exit: give it 3 s on a thread of its own, then leave it
         * (the process is about to exit) rather than hang the exit. */
        pthread_t t;
        if (pthread_create(&t, NULL, close_client, b->client) == 0) {
            struct timespec until;
            clock_gettime(CLOCK_REALTIME, &until);
            until.tv_sec += 3;
            if (pthread_timedjoin_np(t, NULL, &until) != 0) pthread_detach(t);
        }
    }
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
    atomic_init(&b->period, 0);
    atomic_init(&b->finished, 0);
    b->last_state = JackTransportStopped;
    b->next_frame = UINT32_MAX;
    const char *name = cfg->client_name && *cfg->client_name ? cfg->client_name : "cleave";
    if (strlen(name) >= (size_t)jack_client_name_size()) {
        clv_log(&cfg->log, CLV_LOG_ERROR, "JACK client name '%s' is too long (at most %d bytes)",
                name, jack_client_name_size() - 1);
        free(b);
        return CLV_ERR_INVALID;
    }
    if (!getenv("CLEAVE_VERBOSE")) {
        jack_set_error_function(jack_quiet);
        jack_set_info_function(jack_quiet);
    }
    jack_status_t js = 0;
    jack_options_t opts = JackNoStartServer;
    if (cfg->server_name && *cfg->server_name) opts |= JackServerName;
    b->client = cfg->server_name && *cfg->server_name
                    ? jack_client_open(name, opts, &js, cfg->server_name)
                    : jack_client_open(name, opts, &js);
    if (!b->client) {
        const char *srv = cfg->server_name && *cfg->server_name ? cfg->server_name
                          : getenv("JACK_DEFAULT_SERVER") ? getenv("JACK_DEFAULT_SERVER")
                                                          : "default";
        if (js & JackServerFailed)
            clv_log(&cfg->log, CLV_LOG_ERROR,
                    "cannot connect to the JACK server '%s': is it running? (start one, e.g. "
                    "'jackd -d alsa', or use --backend portaudio)",
                    srv);
        else if (js & JackNameNotUnique)
            clv_log(&cfg->log, CLV_LOG_ERROR, "JACK client name '%s' is already in use", name);
        else
            clv_log(&cfg->log, CLV_LOG_ERROR, "cannot open a JACK client on server '%s' (status 0x%x)",
                    srv, (unsigned)js);
        free(b);
        return CLV_ERR_IO;
    }
    for (int i = 0; i < N_IN; i++)
        b->in[i] = jack_port_register(b->client, in_names[i], JACK_DEFAULT_AUDIO_TYPE,
                                      JackPortIsInput, 0);
    for (int i = 0; i < N_OUT; i++)
        b->out[i] = jack_port_register(b->client, out_names[i], JACK_DEFAULT_AUDIO_TYPE,
                                       JackPortIsOutput, 0);
    for (int i = 0; i < N_IN + N_OUT; i++) {
        if (!(i < N_IN ? b->in[i] : b->out[i - N_IN])) {
            clv_log(&cfg->log, CLV_LOG_ERROR, "cannot register JACK port %s",
                    i < N_IN ? in_names[i] : out_names[i - N_IN]);
            be_close(b);
            return CLV_ERR_IO;
        }
    }
    memset(info, 0, sizeof *info);
    info->sample_rate = (int)jack_get_sample_rate(b->client);
    info->period = (int)jack_get_buffer_size(b->client);
    info->rt_priority = jack_is_realtime(b->client) ? jack_client_real_time_priority(b->client) : 0;
    if (info->rt_priority < 0) info->rt_priority = 0;
    atomic_store(&b->period, info->period);
    snprintf(info->name, sizeof info->name, "%s", jack_get_client_name(b->client));
    *out = b;
    return CLV_OK;
}

static ClvStatus be_start(ClvLiveBackend *b, ClvLiveCore *core)
{
    b->core = core;
    int err = jack_set_process_callback(b->client, on_process, b);
    err |= jack_set_latency_callback(b->client, on_latency, b);
    err |= jack_set_buffer_size_callback(b->client, on_bufsize, b);
    err |= jack_set_sample_rate_callback(b->client, on_rate, b);
    err |= jack_set_xrun_callback(b->client, on_xrun, b);
    err |= jack_set_freewheel_callback(b->client, on_freewheel, b);
    if (err) {
        clv_log(&b->cfg.log, CLV_LOG_ERROR, "cannot set the JACK callbacks");
        return CLV_ERR_IO;
    }
    jack_on_info_shutdown(b->client, on_shutdown, b);
    if (jack_activate(b->client) != 0) {
        clv_log(&b->cfg.log, CLV_LOG_ERROR, "cannot activate the JACK client");
        return CLV_ERR_IO;
    }
    b->active = 1;
    return CLV_OK;
}

/* Splits "a,b" into at most two names. */
static int split2(const char *list, char names[2][256])
{
    int n = 0;
    const char *p = list;
    while (*p && n < 2) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len >= 256) return -1;
        if (len > 0) {
            memcpy(names[n], p, len);
            names[n][len] = '\0';
            n++;
        }
        p += len;
        if (*p == ',') p++;
    }
    if (*p) return -1; /* more than two */
    return n;
}

static int connect_one(ClvLiveBackend *b, const char *src, const char *dst)
{
    int r = jack_connect(b->client, src, dst);
    if (r == 0 || r == EEXIST) return 0;
    const char *missing = !jack_port_by_name(b->client, src) ? src
                          : !jack_port_by_name(b->client, dst) ? dst
                                                               : NULL;
    if (missing)
        clv_log(&b->cfg.log, CLV_LOG_ERROR, "cannot connect %s to %s: no JACK port '%s' (see jack_lsp)",
                src, dst, missing);
    else
        clv_log(&b->cfg.log, CLV_LOG_ERROR, "cannot connect %s to %s", src, dst);
    return -1;
}

/* Connects the named ports of `list` to (outputs=0) or from (outputs=1) our pair. */
static int connect_list(ClvLiveBackend *b, const char *what, const char *list, jack_port_t **ours,
                        int ours_are_outputs)
{
    char names[2][256];
    int n = split2(list, names);
    if (n <= 0) {
        clv_log(&b->cfg.log, CLV_LOG_ERROR, "--%s: expected one or two JACK port names "
                "separated by a comma, got '%s'", what, list);
        return -1;
    }
    for (int c = 0; c < 2; c++) {
        const char *other = names[n == 1 ? 0 : c];
        const char *mine = jack_port_name(ours[c]);
        if (ours_are_outputs ? connect_one(b, mine, other) : connect_one(b, other, mine)) return -1;
    }
    return 0;
}

static ClvStatus be_connect(ClvLiveBackend *b, const ClvLiveConnections *c)
{
    int bad = 0;
    if (c->inputs) bad |= connect_list(b, "input", c->inputs, b->in, 0);
    if (c->mix) bad |= connect_list(b, "output", c->mix, b->out, 1);
    if (c->vocals) bad |= connect_list(b, "vocals-output", c->vocals, b->out + 2, 1);
    if (c->accomp) bad |= connect_list(b, "accomp-output", c->accomp, b->out + 4, 1);
    if (c->system && (!c->inputs || !c->mix)) {
        if (!c->inputs) {
            const char **cap = jack_get_ports(b->client, NULL, JACK_DEFAULT_AUDIO_TYPE,
                                              JackPortIsPhysical | JackPortIsOutput);
            if (!cap || !cap[0]) {
                clv_log(&b->cfg.log, CLV_LOG_ERROR, "--connect: the JACK server has no "
                        "physical capture ports");
                bad = 1;
            } else {
                for (int i = 0; i < N_IN && !bad; i++)
                    bad |= connect_one(b, cap[cap[1] ? i : 0], jack_port_name(b->in[i]));
            }
            jack_free(cap);
        }
        if (!c->mix) {
            const char **pb = jack_get_ports(b->client, NULL, JACK_DEFAULT_AUDIO_TYPE,
                                             JackPortIsPhysical | JackPortIsInput);
            if (!pb || !pb[0]) {
                clv_log(&b->cfg.log, CLV_LOG_ERROR, "--connect: the JACK server has no "
                        "physical playback ports");
                bad = 1;
            } else {
                for (int i = 0; i < 2 && !bad; i++)
                    bad |= connect_one(b, jack_port_name(b->out[i]), pb[pb[1] ? i : 0]);
            }
            jack_free(pb);
        }
    }
    return bad ? CLV_ERR_IO : CLV_OK;
}

static void be_latency_changed(ClvLiveBackend *b)
{
    if (b->active && !atomic_load(&b->finished)) jack_recompute_total_latencies(b->client);
}

static void be_status(ClvLiveBackend *b, ClvLiveBackendStatus *st)
{
    memset(st, 0, sizeof *st);
    st->xruns = atomic_load(&b->xruns);
    st->period = atomic_load(&b->period);
    st->host_load = -1.0f;
    if (atomic_load(&b->finished)) return;
    st->host_load = jack_cpu_load(b->client);
    jack_latency_range_t r;
    int cap = 0, pb = 0;
    for (int i = 0; i < N_IN; i++) {
        jack_port_get_latency_range(b->in[i], JackCaptureLatency, &r);
        if ((int)r.max > cap) cap = (int)r.max;
    }
    for (int i = 0; i < N_OUT; i++) {
        jack_port_get_latency_range(b->out[i], JackPlaybackLatency, &r);
        if ((int)r.max > pb) pb = (int)r.max;
    }
    st->capture_latency = cap;
    st->playback_latency = pb;
}

static int be_finished(ClvLiveBackend *b, char *why, size_t cap)
{
    if (!atomic_load(&b->finished)) return 0;
    if (why && cap) snprintf(why, cap, "%s", b->why);
    return 1;
}

static const ClvLiveBackendOps jack_ops = {
    .name = "jack",
    .open = be_open,
    .start = be_start,
    .connect = be_connect,
    .latency_changed = be_latency_changed,
    .status = be_status,
    .finished = be_finished,
    .close = be_close,
    .list_devices = NULL,
};

const ClvLiveBackendOps *clv_live_jack_backend(void) { return &jack_ops; }
