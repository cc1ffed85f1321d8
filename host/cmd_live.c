/* SPDX-License-Identifier: ISC */
/* `cleave live`: the standalone live client (JACK, or PortAudio as the alternative).
 *
 * The main thread is the control thread: it parses options, opens a backend, builds
 * the live core (clv_live_core.h) for the backend's rate and period, starts the
 * audio, and then loops on poll() over a wake pipe (signals and backend
 * notifications write to it), the keyboard (a terminal on stdin) and an optional
 * command FIFO or stdin. Each turn it lets the core build/free engines, forwards
 * latency changes to the host, and draws the status line (terminal) or writes one
 * JSON object per line on stdout (--json).
 *
 * Exit status: 0 stopped by a signal, `quit` or --duration; 1 the audio system
 * failed or went away (the reason is printed); 2 usage error. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "clv_cli.h"
#include "clv_live_backend.h"
#include "clv_live_core.h"
#include "clv_live_preset.h"
#include "clv_tag_runner.h"
#ifdef CLV_HAVE_JACK
#include "clv_live_jack.h"
#endif
#ifdef CLV_HAVE_PORTAUDIO
#include "clv_live_pa.h"
#endif

int clv_cmd_live(int argc, char **argv);

/* ---- process-wide state for signals and the wake pipe ---------------------- */

static volatile sig_atomic_t g_stop;
static int g_wake_fd[2] = {-1, -1};

static void wake_main(void *user)
{
    (void)user;
    if (g_wake_fd[1] >= 0) {
        char c = 1;
        (void)!write(g_wake_fd[1], &c, 1);
    }
}

static void on_signal(int sig)
{
    (void)sig;
    g_stop = 1;
    wake_main(NULL);
}

/* ---- output: log lines, status line, JSON ------------------------------------ */

typedef struct {
    int json;            /* JSON lines on stdout */
    int tty;             /* stderr is a terminal: draw the status line */
    int status_drawn;    /* a status line is on screen */
    int quiet;
} Out;

static Out g_out;

static void clear_status(void)
{
    if (g_out.status_drawn) {
        fputs("\r\033[K", stderr);
        g_out.status_drawn = 0;
    }
}

static void json_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\') fprintf(f, "\\%c", *p);
        else if (*p < 0x20) fprintf(f, "\\u%04x", *p);
        else fputc(*p, f);
    }
    fputc('"', f);
}

/* {"type":"event","event":NAME,"message":MSG} */
static void json_event(const char *name, const char *msg)
{
    if (!g_out.json) return;
    fputs("{\"type\":\"event\",\"event\":", stdout);
    json_str(stdout, name);
    if (msg) {
        fputs(",\"message\":", stdout);
        json_str(stdout, msg);
    }
    fputs("}\n", stdout);
    fflush(stdout);
}

/* Every message is one "cleave: ..." line on stderr (and an event in JSON mode).
 * Unlike the file commands, a live session reports every error, not only the
 * first: a failed separator swap an hour in must still be explained. */
static void live_log(void *user, ClvLogLevel level, const char *msg)
{
    (void)user;
    if (level >= CLV_LOG_INFO && !getenv("CLEAVE_VERBOSE")) return;
    clear_status();
    char line[1024];
    snprintf(line, sizeof line, "%s", msg);
    for (char *p = line; *p; p++)
        if (*p == '\n' || *p == '\r') *p = ' ';
    fprintf(stderr, "cleave: %s%s\n", level == CLV_LOG_WARNING ? "warning: " : "", line);
    fflush(stderr);
    if (level <= CLV_LOG_WARNING) json_event(level == CLV_LOG_ERROR ? "error" : "warning", line);
}

static ClvLog g_log = {live_log, NULL};

static void say(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;

/* An informational line on stderr ("cleave live: ..."). */
static void say(const char *fmt, ...)
{
    if (g_out.quiet) return;
    clear_status();
    va_list ap;
    va_start(ap, fmt);
    fputs("cleave live: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    fflush(stderr);
}

static double gain_db(float g) { return g > 0.0f ? 20.0 * log10((double)g) : -INFINITY; }

static float db_gain(double db) { return isfinite(db) ? (float)pow(10.0, db / 20.0) : 0.0f; }

static const char *op_name(ClvOperatingPoint op)
{
    return op == CLV_OP_LOW_LATENCY ? "low-latency" : "quality";
}

static void fmt_db(char *buf, size_t cap, float g)
{
    if (g <= 0.0f) snprintf(buf, cap, "off");
    else snprintf(buf, cap, "%+.1f dB", gain_db(g));
}

static void json_db(FILE *f, const char *key, float g)
{
    fprintf(f, ",\"%s\":", key);
    if (g <= 0.0f) fputs("null", f);
    else fprintf(f, "%.2f", gain_db(g));
}

typedef struct {
    const ClvLiveBackendOps *ops;
    ClvLiveBackend *be;
    ClvLiveCore *core;
    ClvLiveStreamInfo info;
    double t0;
    ClvTagRunner *tags; /* NULL: no tagging */
    ClvTagStep step;    /* the latest tagging step */
    int have_step;
} Session;

/* Active labels of the latest step, highest score first. Returns the count. */
static int active_tags(const Session *s, int *idx, int cap)
{
    if (!s->tags || !s->have_step) return 0;
    int n = 0;
    for (int i = 0; i < s->step.n_labels && n < cap; i++)
        if (s->step.active[i]) idx[n++] = i;
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0 && s->step.score[idx[j]] > s->step.score[idx[j - 1]]; j--) {
            int t = idx[j];
            idx[j] = idx[j - 1];
            idx[j - 1] = t;
        }
    return n;
}

/* Reads the tagger's results; events go out as JSON lines. */
static void poll_tags(Session *s)
{
    if (!s->tags) return;
    ClvTagStep st;
    while (clv_tag_runner_poll_step(s->tags, &st)) {
        s->step = st;
        s->have_step = 1;
    }
    ClvTagEvent ev;
    const ClvTagger *tg = clv_tag_runner_tagger(s->tags);
    while (clv_tag_runner_poll_event(s->tags, &ev)) {
        if (!g_out.json) continue;
        fputs("{\"type\":\"tag\",\"label\":", stdout);
        json_str(stdout, clv_tagger_label(tg, ev.label));
        fprintf(stdout, ",\"onset\":%.2f,\"offset\":", ev.onset);
        if (ev.offset < 0) fputs("null", stdout);
        else fprintf(stdout, "%.2f", ev.offset);
        fprintf(stdout, ",\"peak\":%.3f}\n", ev.peak);
        fflush(stdout);
    }
}

static void emit_status(Session *s, int force_json)
{
    ClvLiveStats st;
    ClvLiveBackendStatus bs;
    clv_live_core_get_stats(s->core, &st);
    s->ops->status(s->be, &bs);
    const double rate = st.sample_rate > 0 ? st.sample_rate : 1;
    const int total = bs.capture_latency + st.latency + bs.playback_latency;
    if (g_out.json || force_json) {
        FILE *f = stdout;
        fprintf(f, "{\"type\":\"status\",\"time\":%.3f,\"backend\":", clv_cli_now() - s->t0);
        json_str(f, s->ops->name);
        fprintf(f, ",\"rate\":%d,\"period\":%d,\"latency\":%d,\"latency_ms\":%.2f",
                st.sample_rate, st.period, st.latency, 1000.0 * st.latency / rate);
        fprintf(f, ",\"total_latency\":%d,\"total_latency_ms\":%.2f", total, 1000.0 * total / rate);
        fprintf(f, ",\"frames\":%llu,\"cycles\":%llu,\"misses\":%llu,\"dropped\":%llu,"
                "\"xruns\":%llu,\"resets\":%llu",
                (unsigned long long)st.frames, (unsigned long long)st.cycles,
                (unsigned long long)st.misses, (unsigned long long)st.dropped,
                (unsigned long long)bs.xruns, (unsigned long long)st.resets);
        fprintf(f, ",\"dsp_load\":%.4f,\"dsp_peak\":%.4f,\"worker_load\":%.4f",
                st.dsp_mean, st.dsp_peak, st.worker_load);
        if (bs.host_load >= 0.0f) fprintf(f, ",\"host_load\":%.2f", bs.host_load);
        json_db(f, "vocals_db", st.vocal_gain);
        json_db(f, "accomp_db", st.accomp_gain);
        fprintf(f, ",\"bypass\":%s,\"freewheel\":%s,\"separator\":", st.bypass ? "true" : "false",
                st.freewheel ? "true" : "false");
        json_str(f, st.separator);
        fputs(",\"running\":", f);
        json_str(f, st.running);
        fputs(",\"op\":", f);
        json_str(f, op_name(st.op));
        if (!s->tags) {
            fputs(",\"tags\":null", f);
        } else {
            int idx[CLV_TAG_MAX_LABELS];
            int n = active_tags(s, idx, CLV_TAG_MAX_LABELS);
            const ClvTagger *tg = clv_tag_runner_tagger(s->tags);
            fputs(",\"tags\":[", f);
            for (int i = 0; i < n; i++) {
                fputs(i ? ",{\"label\":" : "{\"label\":", f);
                json_str(f, clv_tagger_label(tg, idx[i]));
                fprintf(f, ",\"score\":%.3f}", s->step.score[idx[i]]);
            }
            fprintf(f, "],\"tag_time\":%.2f,\"tag_dropped\":%llu",
                    s->have_step ? s->step.t : 0.0, (unsigned long long)st.tag_dropped);
        }
        fputs("}\n", f);
        fflush(f);
    }
    if (g_out.tty && !g_out.quiet) {
        char v[16], a[16];
        fmt_db(v, sizeof v, st.vocal_gain);
        fmt_db(a, sizeof a, st.accomp_gain);
        char tags[128] = "";
        int idx[CLV_TAG_MAX_LABELS];
        int n = active_tags(s, idx, CLV_TAG_MAX_LABELS);
        for (int i = 0, len = 0; i < n && i < 3 && len < (int)sizeof tags - 40; i++)
            len += snprintf(tags + len, sizeof tags - (size_t)len, "%s%s %.0f%%", i ? ", " : " | ",
                            clv_tagger_label(clv_tag_runner_tagger(s->tags), idx[i]),
                            100.0 * s->step.score[idx[i]]);
        fprintf(stderr, "\r\033[K%s %d Hz/%d | latency %d (%.1f ms) | misses %llu xruns %llu | "
                "dsp %.0f%%/%.0f%% worker %.0f%% | vocals %s accomp %s%s | %s%s%s",
                s->ops->name, st.sample_rate, st.period, st.latency, 1000.0 * st.latency / rate,
                (unsigned long long)st.misses, (unsigned long long)bs.xruns, 100.0 * st.dsp_mean,
                100.0 * st.dsp_peak, 100.0 * st.worker_load, v, a, st.bypass ? " BYPASS" : "",
                st.running, st.freewheel ? " [freewheel]" : "", tags);
        fflush(stderr);
        g_out.status_drawn = 1;
    }
}

/* ---- options -------------------------------------------------------------- */

typedef struct {
    const char *backend;
    const char *model;
    ClvOperatingPoint op;
    double vocal_db, accomp_db;
    int bypass;
    int set_model, set_op, set_vocal, set_accomp, set_bypass;
    const char *preset;
    double interval;
    double duration;
    int headroom;
    const char *control;
    int list_devices;
    int list_presets;
    const char *tagger;
    int no_tags;
    ClvLiveBackendConfig bcfg;
    ClvLiveConnections conn;
} Options;

static void usage(FILE *f)
{
    fprintf(f,
"Usage: cleave live [options]\n"
"\n"
"Separates live audio into vocals and accompaniment. With JACK (the default) it is\n"
"a client with inputs in_L, in_R and outputs mix_L/R (the stems at their levels),\n"
"vocals_L/R and accomp_L/R. It connects nothing unless asked, and runs until\n"
"stopped (Ctrl-C, SIGTERM, 'q' or a 'quit' command).\n"
"\n"
"Sound:\n"
"  -m, --model NAME|FILE   separator (see 'cleave models'; default %s)\n"
"      --op quality|low-latency   operating point (default quality)\n"
"      --vocals DB|off     vocal level in dB (default 0)\n"
"      --accomp DB|off     accompaniment level in dB (default 0)\n"
"      --bypass            start bypassed (mix = input, delayed)\n"
"      --preset FILE[#NAME]|NAME   an LV2 preset of cleave.lv2; options given\n"
"                          on the command line override its values\n"
"      --list-presets      list the presets found and exit\n"
"      --tagger FILE       sound-event tagger model (default: the shipped\n"
"                          tagger.clvm when found); its tags show in the status\n"
"      --no-tags           no tagging (saves the tagger's CPU time)\n"
"Audio system:\n"
"      --backend jack|portaudio   (default jack)\n"
"  -n, --name NAME         JACK client name (default cleave)\n"
"      --server NAME       JACK server name\n"
"      --connect           connect the physical capture ports to the inputs and\n"
"                          the mix to the physical playback ports\n"
"      --input PORTS       connect these ports (one, or two separated by a comma)\n"
"                          to in_L, in_R\n"
"      --output PORTS      connect mix_L, mix_R to these ports\n"
"      --vocals-output PORTS, --accomp-output PORTS   the same for the stems\n"
"      --headroom FRAMES   extra time for the separator's worker thread, added\n"
"                          to the latency (default 0: one period); raise it when\n"
"                          the status shows missed hops on a busy machine\n"
"      --transport-reset   clear the history when the JACK transport starts\n"
"                          rolling (a render then equals 'cleave separate')\n"
"      --list-devices      PortAudio: list the devices and exit\n"
"      --device N|NAME     PortAudio: device index or part of its name\n"
"      --input-device, --output-device N|NAME   PortAudio: separate devices\n"
"      --rate HZ           PortAudio: sample rate (default: the device's)\n"
"      --period FRAMES     PortAudio: frames per callback (default 256)\n"
"      --monitor mix|vocals|accomp   PortAudio: what a two-channel output carries\n"
"                          (devices with 6 outputs get mix, vocals, accomp)\n"
"Control and status:\n"
"      --json              one JSON object per line on stdout (status, events)\n"
"      --interval SEC      seconds between status updates (default 1)\n"
"      --control PATH|-    read commands, one per line, from a FIFO (created if\n"
"                          missing) or from stdin ('-')\n"
"      --duration SEC      stop after SEC seconds\n"
"  -q, --quiet             no status line or informational messages\n"
"\n"
"Keys (stdin on a terminal): v/V vocals -/+1 dB, a/A accompaniment -/+1 dB,\n"
"k karaoke (vocals off/on), b bypass, s next separator, o operating point,\n"
"r reset, j print a JSON status line, q quit.\n"
"Commands (--control): vocals DB|off, accomp DB|off, bypass on|off,\n"
"separator NAME|FILE, op quality|low-latency, reset, status, quit.\n",
            clv_registry_default_separator());
}

static int parse_db(const char *s, double *out)
{
    if (!strcmp(s, "off") || !strcmp(s, "-inf") || !strcmp(s, "mute")) {
        *out = -INFINITY;
        return 0;
    }
    double v;
    if (clv_cli_parse_double(s, -1000.0, 24.0, &v) != 0) return -1;
    *out = v <= -90.0 ? -INFINITY : v;
    return 0;
}

static int parse_op(const char *s, ClvOperatingPoint *op)
{
    if (!strcmp(s, "quality")) *op = CLV_OP_QUALITY;
    else if (!strcmp(s, "low-latency") || !strcmp(s, "low_latency") || !strcmp(s, "ll"))
        *op = CLV_OP_LOW_LATENCY;
    else return -1;
    return 0;
}

enum {
    OPT_OP = 256, OPT_VOCALS, OPT_ACCOMP, OPT_BYPASS, OPT_PRESET, OPT_LIST_PRESETS, OPT_BACKEND,
    OPT_SERVER, OPT_CONNECT, OPT_INPUT, OPT_OUTPUT, OPT_VOUT, OPT_AOUT, OPT_TRANSPORT,
    OPT_LIST_DEVICES, OPT_DEVICE, OPT_IN_DEVICE, OPT_OUT_DEVICE, OPT_RATE, OPT_PERIOD,
    OPT_MONITOR, OPT_JSON, OPT_INTERVAL, OPT_CONTROL, OPT_DURATION, OPT_HEADROOM, OPT_TAGGER,
    OPT_NO_TAGS,
};

static int parse_options(int argc, char **argv, Options *o)
{
    static const struct option longopts[] = {
        {"model", required_argument, NULL, 'm'},
        {"separator", required_argument, NULL, 'm'},
        {"op", required_argument, NULL, OPT_OP},
        {"vocals", required_argument, NULL, OPT_VOCALS},
        {"accomp", required_argument, NULL, OPT_ACCOMP},
        {"bypass", no_argument, NULL, OPT_BYPASS},
        {"preset", required_argument, NULL, OPT_PRESET},
        {"list-presets", no_argument, NULL, OPT_LIST_PRESETS},
        {"backend", required_argument, NULL, OPT_BACKEND},
        {"name", required_argument, NULL, 'n'},
        {"server", required_argument, NULL, OPT_SERVER},
        {"connect", no_argument, NULL, OPT_CONNECT},
        {"input", required_argument, NULL, OPT_INPUT},
        {"output", required_argument, NULL, OPT_OUTPUT},
        {"vocals-output", required_argument, NULL, OPT_VOUT},
        {"accomp-output", required_argument, NULL, OPT_AOUT},
        {"transport-reset", no_argument, NULL, OPT_TRANSPORT},
        {"headroom", required_argument, NULL, OPT_HEADROOM},
        {"tagger", required_argument, NULL, OPT_TAGGER},
        {"no-tags", no_argument, NULL, OPT_NO_TAGS},
        {"list-devices", no_argument, NULL, OPT_LIST_DEVICES},
        {"device", required_argument, NULL, OPT_DEVICE},
        {"input-device", required_argument, NULL, OPT_IN_DEVICE},
        {"output-device", required_argument, NULL, OPT_OUT_DEVICE},
        {"rate", required_argument, NULL, OPT_RATE},
        {"period", required_argument, NULL, OPT_PERIOD},
        {"monitor", required_argument, NULL, OPT_MONITOR},
        {"json", no_argument, NULL, OPT_JSON},
        {"interval", required_argument, NULL, OPT_INTERVAL},
        {"control", required_argument, NULL, OPT_CONTROL},
        {"duration", required_argument, NULL, OPT_DURATION},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    memset(o, 0, sizeof *o);
    o->op = CLV_OP_QUALITY;
    o->interval = 1.0;
    o->bcfg.log = g_log;
    o->bcfg.wake = wake_main;
#ifdef CLV_HAVE_JACK
    o->backend = "jack";
#else
    o->backend = "portaudio";
#endif
    optind = 1;
    opterr = 0;
    int c;
    long lv;
    while ((c = getopt_long(argc, argv, ":m:n:qh", longopts, NULL)) != -1) {
        switch (c) {
        case 'm': o->model = optarg; o->set_model = 1; break;
        case OPT_OP:
            if (parse_op(optarg, &o->op))
                return clv_cli_usage_error("live", "--op: expected quality or low-latency, got '%s'",
                                           optarg);
            o->set_op = 1;
            break;
        case OPT_VOCALS:
            if (parse_db(optarg, &o->vocal_db))
                return clv_cli_usage_error("live", "--vocals: expected a level in dB up to +24, "
                                           "or off, got '%s'", optarg);
            o->set_vocal = 1;
            break;
        case OPT_ACCOMP:
            if (parse_db(optarg, &o->accomp_db))
                return clv_cli_usage_error("live", "--accomp: expected a level in dB up to +24, "
                                           "or off, got '%s'", optarg);
            o->set_accomp = 1;
            break;
        case OPT_BYPASS: o->bypass = 1; o->set_bypass = 1; break;
        case OPT_PRESET: o->preset = optarg; break;
        case OPT_LIST_PRESETS: o->list_presets = 1; break;
        case OPT_BACKEND:
            if (strcmp(optarg, "jack") && strcmp(optarg, "portaudio") && strcmp(optarg, "pa"))
                return clv_cli_usage_error("live", "--backend: expected jack or portaudio, got '%s'",
                                           optarg);
            o->backend = strcmp(optarg, "pa") ? optarg : "portaudio";
            break;
        case 'n':
            if (!*optarg) return clv_cli_usage_error("live", "--name: empty client name");
            o->bcfg.client_name = optarg;
            break;
        case OPT_SERVER: o->bcfg.server_name = optarg; break;
        case OPT_CONNECT: o->conn.system = 1; break;
        case OPT_INPUT: o->conn.inputs = optarg; break;
        case OPT_OUTPUT: o->conn.mix = optarg; break;
        case OPT_VOUT: o->conn.vocals = optarg; break;
        case OPT_AOUT: o->conn.accomp = optarg; break;
        case OPT_TRANSPORT: o->bcfg.transport_reset = 1; break;
        case OPT_TAGGER: o->tagger = optarg; break;
        case OPT_NO_TAGS: o->no_tags = 1; break;
        case OPT_HEADROOM:
            if (clv_cli_parse_int(optarg, 0, 65536, &lv))
                return clv_cli_usage_error("live", "--headroom: expected 0..65536 frames, got '%s'",
                                           optarg);
            o->headroom = (int)lv;
            break;
        case OPT_LIST_DEVICES: o->list_devices = 1; break;
        case OPT_DEVICE: o->bcfg.device = optarg; break;
        case OPT_IN_DEVICE: o->bcfg.in_device = optarg; break;
        case OPT_OUT_DEVICE: o->bcfg.out_device = optarg; break;
        case OPT_RATE:
            if (clv_cli_parse_int(optarg, 8000, 192000, &lv))
                return clv_cli_usage_error("live", "--rate: expected 8000..192000 Hz, got '%s'",
                                           optarg);
            o->bcfg.sample_rate = (int)lv;
            break;
        case OPT_PERIOD:
            if (clv_cli_parse_int(optarg, 16, CLV_LIVE_MAX_BLOCK, &lv))
                return clv_cli_usage_error("live", "--period: expected 16..%d frames, got '%s'",
                                           CLV_LIVE_MAX_BLOCK, optarg);
            o->bcfg.period = (int)lv;
            break;
        case OPT_MONITOR:
            if (strcmp(optarg, "mix") && strcmp(optarg, "vocals") && strcmp(optarg, "accomp"))
                return clv_cli_usage_error("live", "--monitor: expected mix, vocals or accomp, "
                                           "got '%s'", optarg);
            o->bcfg.monitor = optarg;
            break;
        case OPT_JSON: g_out.json = 1; break;
        case OPT_INTERVAL:
            if (clv_cli_parse_double(optarg, 0.05, 3600.0, &o->interval))
                return clv_cli_usage_error("live", "--interval: expected 0.05..3600 seconds, "
                                           "got '%s'", optarg);
            break;
        case OPT_CONTROL: o->control = optarg; break;
        case OPT_DURATION:
            if (clv_cli_parse_double(optarg, 0.0, 1e9, &o->duration) || o->duration <= 0.0)
                return clv_cli_usage_error("live", "--duration: expected seconds > 0, got '%s'",
                                           optarg);
            break;
        case 'q': g_out.quiet = 1; break;
        case 'h': usage(stdout); return -1;
        case ':':
            return clv_cli_usage_error("live", "option '%s' needs a value", argv[optind - 1]);
        default:
            return clv_cli_usage_error("live", "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return clv_cli_usage_error("live", "unexpected argument '%s'", argv[optind]);
    return 0;
}

/* ---- commands --------------------------------------------------------------- */

typedef struct {
    Session *s;
    int quit;
    int sep_index; /* for the 's' key: position in the registry's separators */
} Control;

static void ack(const char *cmd, int ok, const char *err)
{
    if (!g_out.json) return;
    fputs("{\"type\":\"ack\",\"command\":", stdout);
    json_str(stdout, cmd);
    fprintf(stdout, ",\"ok\":%s", ok ? "true" : "false");
    if (err) {
        fputs(",\"error\":", stdout);
        json_str(stdout, err);
    }
    fputs("}\n", stdout);
    fflush(stdout);
}

static void change_levels(Control *k, float vg, float ag)
{
    clv_live_core_set_gains(k->s->core, vg, ag);
    char v[16], a[16];
    fmt_db(v, sizeof v, vg);
    fmt_db(a, sizeof a, ag);
    say("vocals %s, accompaniment %s", v, a);
}

static int change_separator(Control *k, const char *name, ClvOperatingPoint op)
{
    if (clv_live_core_set_separator(k->s->core, name, op) != CLV_OK) return -1;
    say("separator %s (%s)", name, op_name(op));
    return 0;
}

/* Runs one text command; returns 0 when it was understood and done. */
static int run_command(Control *k, char *line)
{
    char *cmd = strtok(line, " \t\r\n");
    char *arg = strtok(NULL, " \t\r\n");
    char *extra = strtok(NULL, " \t\r\n");
    if (!cmd) return 0;
    ClvLiveStats st;
    clv_live_core_get_stats(k->s->core, &st);
    const char *err = NULL;
    char msg[512];
    if (extra) {
        err = "too many arguments";
    } else if (!strcmp(cmd, "vocals") || !strcmp(cmd, "accomp")) {
        double db;
        if (!arg || parse_db(arg, &db)) {
            err = "expected a level in dB up to +24, or off";
        } else {
            float vg = st.vocal_gain, ag = st.accomp_gain;
            if (cmd[0] == 'v') vg = db_gain(db);
            else ag = db_gain(db);
            change_levels(k, vg, ag);
        }
    } else if (!strcmp(cmd, "bypass")) {
        if (!arg || (strcmp(arg, "on") && strcmp(arg, "off") && strcmp(arg, "toggle"))) {
            err = "expected on, off or toggle";
        } else {
            int b = !strcmp(arg, "toggle") ? !st.bypass : !strcmp(arg, "on");
            clv_live_core_set_bypass(k->s->core, b);
            say("bypass %s", b ? "on" : "off");
        }
    } else if (!strcmp(cmd, "separator") || !strcmp(cmd, "model")) {
        if (!arg) err = "expected a separator name or model file";
        else if (change_separator(k, arg, st.op)) err = "cannot use that separator (see the log)";
    } else if (!strcmp(cmd, "op")) {
        ClvOperatingPoint op;
        if (!arg || parse_op(arg, &op)) err = "expected quality or low-latency";
        else if (change_separator(k, st.separator, op)) err = "cannot change the operating point";
    } else if (!strcmp(cmd, "reset") && !arg) {
        clv_live_core_reset(k->s->core);
        say("reset");
    } else if (!strcmp(cmd, "status") && !arg) {
        emit_status(k->s, 1);
    } else if (!strcmp(cmd, "quit") && !arg) {
        k->quit = 1;
    } else {
        snprintf(msg, sizeof msg, "unknown command '%s'", cmd);
        err = msg;
    }
    if (err) {
        clear_status();
        fprintf(stderr, "cleave: %s: %s\n", cmd, err);
    }
    char full[600];
    snprintf(full, sizeof full, "%s%s%s", cmd, arg ? " " : "", arg ? arg : "");
    ack(full, err == NULL, err);
    return err ? -1 : 0;
}

static void next_separator(Control *k)
{
    int n = clv_registry_count();
    ClvLiveStats st;
    clv_live_core_get_stats(k->s->core, &st);
    for (int tries = 0; tries < n; tries++) {
        k->sep_index = (k->sep_index + 1) % n;
        const ClvModelEntry *e = clv_registry_get(k->sep_index);
        if (!e || e->kind != CLV_KIND_SEPARATOR) continue;
        if (!strcmp(e->name, st.separator)) continue;
        if (change_separator(k, e->name, st.op) == 0) return;
    }
    say("no other separator is available");
}

static void run_key(Control *k, int key)
{
    ClvLiveStats st;
    clv_live_core_get_stats(k->s->core, &st);
    float vg = st.vocal_gain, ag = st.accomp_gain;
    /* one dB per key press; from "off" the first step up is -40 dB */
    double vdb = vg > 0.0f ? gain_db(vg) : -41.0, adb = ag > 0.0f ? gain_db(ag) : -41.0;
    switch (key) {
    case 'v': change_levels(k, vdb - 1.0 <= -40.0 ? 0.0f : db_gain(vdb - 1.0), ag); break;
    case 'V': change_levels(k, db_gain(fmin(vdb + 1.0, 24.0)), ag); break;
    case 'a': change_levels(k, vg, adb - 1.0 <= -40.0 ? 0.0f : db_gain(adb - 1.0)); break;
    case 'A': change_levels(k, vg, db_gain(fmin(adb + 1.0, 24.0))); break;
    case 'k': change_levels(k, vg > 0.0f ? 0.0f : 1.0f, ag); break;
    case 'b':
        clv_live_core_set_bypass(k->s->core, !st.bypass);
        say("bypass %s", st.bypass ? "off" : "on");
        break;
    case 's': next_separator(k); break;
    case 'o':
        change_separator(k, st.separator,
                         st.op == CLV_OP_QUALITY ? CLV_OP_LOW_LATENCY : CLV_OP_QUALITY);
        break;
    case 'r':
        clv_live_core_reset(k->s->core);
        say("reset");
        break;
    case 'j': emit_status(k->s, 1); break;
    case 'q':
    case 3: /* Ctrl-C in raw mode */
        k->quit = 1;
        break;
    case 'h':
    case '?':
        say("keys: v/V vocals -/+1 dB, a/A accompaniment -/+1 dB, k karaoke, b bypass, "
            "s next separator, o operating point, r reset, j JSON status, q quit");
        break;
    default: break;
    }
}

/* Line reader for the command FIFO / stdin. */
typedef struct {
    int fd;
    char buf[1024];
    size_t len;
    int overflow;
} LineIn;

/* Reads what is there; runs each complete line. Returns -1 at end of file. */
static int read_lines(LineIn *li, Control *k)
{
    char tmp[512];
    ssize_t r = read(li->fd, tmp, sizeof tmp);
    if (r == 0) return -1;
    if (r < 0) return (errno == EAGAIN || errno == EINTR) ? 0 : -1;
    for (ssize_t i = 0; i < r; i++) {
        if (tmp[i] == '\n') {
            li->buf[li->len] = '\0';
            if (li->overflow) {
                clv_log(&g_log, CLV_LOG_ERROR, "command line too long; ignored");
            } else {
                run_command(k, li->buf);
            }
            li->len = 0;
            li->overflow = 0;
        } else if (li->len + 1 < sizeof li->buf) {
            li->buf[li->len++] = tmp[i];
        } else {
            li->overflow = 1;
        }
    }
    return 0;
}

/* ---- main ------------------------------------------------------------------- */

static struct termios g_saved_tio;
static int g_tio_saved;

static void restore_terminal(void)
{
    if (g_tio_saved) {
        tcsetattr(STDIN_FILENO, TCSANOW, &g_saved_tio);
        g_tio_saved = 0;
    }
}

static int apply_preset(Options *o)
{
    ClvLivePreset p;
    if (clv_live_preset_load(o->preset, &g_log, &p) != CLV_OK) return -1;
    if (p.has_vocal && !o->set_vocal) o->vocal_db = p.vocal_db;
    if (p.has_accomp && !o->set_accomp) o->accomp_db = p.accomp_db;
    if (p.has_op && !o->set_op) o->op = p.op;
    if (p.has_bypass && !o->set_bypass) o->bypass = p.bypass;
    static char sep[256];
    if (p.has_separator && !o->set_model) {
        snprintf(sep, sizeof sep, "%s", p.separator);
        o->model = sep;
    }
    say("preset '%s'", p.label);
    return 0;
}

int clv_cmd_live(int argc, char **argv)
{
    memset(&g_out, 0, sizeof g_out);
    g_stop = 0;
    Options o;
    int rc = parse_options(argc, argv, &o);
    if (rc < 0) return CLV_EXIT_OK; /* --help */
    if (rc > 0) return rc;
    g_out.tty = isatty(STDERR_FILENO) && !g_out.quiet;

    const ClvLiveBackendOps *ops = NULL;
    if (!strcmp(o.backend, "jack")) {
#ifdef CLV_HAVE_JACK
        ops = clv_live_jack_backend();
#endif
    } else {
#ifdef CLV_HAVE_PORTAUDIO
        ops = clv_live_pa_backend();
#endif
    }
    if (!ops) {
        clv_cli_error("this cleave was built without %s support (install its -dev package and "
                      "reconfigure)", !strcmp(o.backend, "jack") ? "JACK" : "PortAudio");
        return CLV_EXIT_FAIL;
    }
    if (o.list_presets) {
        clv_live_preset_list(stdout, &g_log);
        return CLV_EXIT_OK;
    }
    if (o.list_devices) {
        if (!ops->list_devices) {
            clv_cli_error("--list-devices: the %s backend has no devices to list (see jack_lsp "
                          "for ports)", ops->name);
            return CLV_EXIT_FAIL;
        }
        return ops->list_devices(&o.bcfg, stdout) == CLV_OK ? CLV_EXIT_OK : CLV_EXIT_FAIL;
    }
    if (!ops->connect && (o.conn.system || o.conn.inputs || o.conn.mix || o.conn.vocals
                          || o.conn.accomp))
        return clv_cli_usage_error("live", "port connections are for --backend jack; PortAudio "
                                   "uses --device");
    if (o.preset && apply_preset(&o) != 0) return CLV_EXIT_FAIL;

    Session s;
    memset(&s, 0, sizeof s);
    s.ops = ops;
    s.t0 = clv_cli_now();
    LineIn li = {-1, {0}, 0, 0};
    int fifo_created = 0;
    int exit_code = CLV_EXIT_FAIL;
    struct sigaction sa, old_int, old_term;
    int handlers = 0;

    if (pipe(g_wake_fd) != 0) {
        clv_cli_error("cannot create a pipe: %s", strerror(errno));
        return CLV_EXIT_FAIL;
    }
    for (int i = 0; i < 2; i++) {
        fcntl(g_wake_fd[i], F_SETFL, fcntl(g_wake_fd[i], F_GETFL) | O_NONBLOCK);
        fcntl(g_wake_fd[i], F_SETFD, FD_CLOEXEC);
    }
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    handlers = 1;
    signal(SIGPIPE, SIG_IGN);

    if (o.control) {
        if (!strcmp(o.control, "-")) {
            li.fd = STDIN_FILENO;
        } else {
            struct stat stt;
            if (stat(o.control, &stt) != 0) {
                if (mkfifo(o.control, 0600) != 0) {
                    clv_cli_error("%s: cannot create the control FIFO: %s", o.control,
                                  strerror(errno));
                    goto done;
                }
                fifo_created = 1;
            } else if (!S_ISFIFO(stt.st_mode)) {
                clv_cli_error("%s: --control needs a FIFO (mkfifo) or '-', and this is not one",
                              o.control);
                goto done;
            }
            /* read-write, so the FIFO never reports end of file when a writer leaves */
            li.fd = open(o.control, O_RDWR | O_NONBLOCK | O_CLOEXEC);
            if (li.fd < 0) {
                clv_cli_error("%s: cannot open the control FIFO: %s", o.control, strerror(errno));
                goto done;
            }
        }
    }

    if (ops->open(&o.bcfg, &s.be, &s.info) != CLV_OK) goto done;
    ClvLiveConfig lc;
    memset(&lc, 0, sizeof lc);
    lc.sample_rate = s.info.sample_rate;
    lc.period = s.info.period > CLV_LIVE_MAX_BLOCK ? CLV_LIVE_MAX_BLOCK : s.info.period;
    lc.separator = o.model;
    lc.op = o.op;
    lc.headroom = o.headroom;
    lc.vocal_gain = db_gain(o.vocal_db); /* 0 dB unless an option or the preset says */
    lc.accomp_gain = db_gain(o.accomp_db);
    lc.bypass = o.bypass;
    lc.log = g_log;
    if (!o.no_tags) {
        char tpath[4096];
        const char *tp = o.tagger;
        if (!tp && clv_tagger_find_default(tpath, sizeof tpath) == CLV_OK) tp = tpath;
        if (tp) {
            /* four seconds of ring: the tagger's worker runs a step every half second */
            if (clv_tag_runner_new(tp, s.info.sample_rate, 4.0, &g_log, &s.tags) != CLV_OK) {
                if (o.tagger) goto done; /* asked for by name: a failure is an error */
                clv_log(&g_log, CLV_LOG_WARNING, "%s: tagging is off", tp);
                s.tags = NULL;
            }
        } else {
            say("no tagger model found (%s): tagging is off", CLV_TAGGER_DEFAULT_FILE);
        }
    }
    lc.tagger = s.tags;
    /* the separator worker runs just below the audio thread when the host is realtime */
    lc.worker_priority = s.info.rt_priority > 10 ? s.info.rt_priority - 10 : 0;
    if (s.info.sample_rate < 8000 || s.info.sample_rate > 192000) {
        clv_cli_error("the audio system runs at %d Hz; cleave handles 8000..192000 Hz",
                      s.info.sample_rate);
        goto done;
    }
    if (clv_live_core_new(&lc, &s.core) != CLV_OK) goto done;
    if (ops->start(s.be, s.core) != CLV_OK) goto done;
    if (ops->connect && ops->connect(s.be, &o.conn) != CLV_OK) goto done;

    {
        ClvLiveStats st;
        clv_live_core_get_stats(s.core, &st);
        say("%s '%s' at %d Hz, period %d: latency %d frames (%.1f ms), separator %s (%s)",
            ops->name, s.info.name, st.sample_rate, st.period, st.latency,
            1000.0 * st.latency / st.sample_rate, st.running, op_name(st.op));
        if (g_out.json) {
            printf("{\"type\":\"event\",\"event\":\"started\",\"backend\":");
            json_str(stdout, ops->name);
            printf(",\"name\":");
            json_str(stdout, s.info.name);
            printf(",\"rate\":%d,\"period\":%d,\"latency\":%d,\"separator\":", st.sample_rate,
                   st.period, st.latency);
            json_str(stdout, st.running);
            printf("}\n");
            fflush(stdout);
        }
    }

    /* keyboard: a terminal on stdin that is not the command stream */
    int keyboard = li.fd != STDIN_FILENO && isatty(STDIN_FILENO);
    if (keyboard && tcgetattr(STDIN_FILENO, &g_saved_tio) == 0) {
        struct termios raw = g_saved_tio;
        raw.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
        raw.c_cc[VMIN] = 0;
        raw.c_cc[VTIME] = 0;
        if (tcsetattr(STDIN_FILENO, TCSANOW, &raw) == 0) g_tio_saved = 1;
        say("keys: v/V a/A levels, k karaoke, b bypass, s separator, o op, r reset, q quit");
    } else {
        keyboard = 0;
    }

    Control k = {&s, 0, 0};
    for (int i = 0; i < clv_registry_count(); i++)
        if (!strcmp(clv_registry_get(i)->name, o.model ? o.model : clv_registry_default_separator()))
            k.sep_index = i;
    double next_status = clv_cli_now() + o.interval;
    const double t_end = o.duration > 0.0 ? s.t0 + o.duration : INFINITY;
    char why[256];
    exit_code = CLV_EXIT_OK;
    for (;;) {
        if (g_stop) {
            say("stopping (signal)");
            json_event("stopped", "signal");
            break;
        }
        if (k.quit) {
            say("stopping (quit)");
            json_event("stopped", "quit");
            break;
        }
        if (ops->finished(s.be, why, sizeof why)) {
            clear_status();
            clv_cli_error("%s", why);
            json_event("shutdown", why);
            exit_code = CLV_EXIT_FAIL;
            break;
        }
        double now = clv_cli_now();
        if (now >= t_end) {
            json_event("stopped", "duration");
            break;
        }
        unsigned ev = clv_live_core_poll(s.core);
        if (ev & CLV_LIVE_EV_LATENCY) ops->latency_changed(s.be);
        if (ev & (CLV_LIVE_EV_PERIOD | CLV_LIVE_EV_RATE | CLV_LIVE_EV_FREEWHEEL
                  | CLV_LIVE_EV_LATENCY)) {
            ClvLiveStats st;
            clv_live_core_get_stats(s.core, &st);
            char m[256];
            snprintf(m, sizeof m, "%s: %d Hz, period %d, latency %d frames (%.1f ms)",
                     ev & CLV_LIVE_EV_FREEWHEEL ? (st.freewheel ? "freewheel on" : "freewheel off")
                     : ev & CLV_LIVE_EV_RATE    ? "sample rate changed"
                     : ev & CLV_LIVE_EV_PERIOD  ? "period changed"
                                                : "latency changed",
                     st.sample_rate, st.period, st.latency,
                     1000.0 * st.latency / (st.sample_rate > 0 ? st.sample_rate : 1));
            say("%s", m);
            json_event(ev & CLV_LIVE_EV_FREEWHEEL ? "freewheel"
                       : ev & CLV_LIVE_EV_RATE    ? "rate"
                       : ev & CLV_LIVE_EV_PERIOD  ? "period"
                                                  : "latency",
                       m);
        }
        poll_tags(&s);
        if (now >= next_status) {
            emit_status(&s, 0);
            next_status = now + o.interval;
        }
        struct pollfd pf[3];
        int npf = 0;
        pf[npf++] = (struct pollfd){g_wake_fd[0], POLLIN, 0};
        int li_at = -1, kb_at = -1;
        if (li.fd >= 0) {
            li_at = npf;
            pf[npf++] = (struct pollfd){li.fd, POLLIN, 0};
        }
        if (keyboard) {
            kb_at = npf;
            pf[npf++] = (struct pollfd){STDIN_FILENO, POLLIN, 0};
        }
        double wait = fmin(next_status, t_end) - clv_cli_now();
        int timeout = wait <= 0.0 ? 0 : wait > 0.05 ? 50 : (int)(wait * 1000.0) + 1;
        int r = poll(pf, (nfds_t)npf, timeout);
        if (r <= 0) continue;
        if (pf[0].revents & POLLIN) {
            char drain[64];
            while (read(g_wake_fd[0], drain, sizeof drain) > 0) {
            }
        }
        if (li_at >= 0 && (pf[li_at].revents & (POLLIN | POLLHUP))) {
            if (read_lines(&li, &k) < 0) {
                /* stdin closed: no more commands, keep running */
                li.fd = -1;
            }
        }
        if (kb_at >= 0 && (pf[kb_at].revents & POLLIN)) {
            char keys[16];
            ssize_t nk = read(STDIN_FILENO, keys, sizeof keys);
            for (ssize_t i = 0; i < nk; i++) run_key(&k, (unsigned char)keys[i]);
        }
    }

done:
    restore_terminal();
    clear_status();
    if (ops && s.be) ops->close(s.be);
    if (s.core && exit_code == CLV_EXIT_OK && !g_out.quiet) {
        ClvLiveStats st;
        clv_live_core_get_stats(s.core, &st);
        say("ran %.1f s: %llu frames, %llu missed hops", clv_cli_now() - s.t0,
            (unsigned long long)st.frames, (unsigned long long)st.misses);
    }
    clv_live_core_free(s.core);
    clv_tag_runner_free(s.tags); /* after the audio thread that fed it is gone */
    if (li.fd >= 0 && li.fd != STDIN_FILENO) close(li.fd);
    if (fifo_created) unlink(o.control);
    if (handlers) {
        sigaction(SIGINT, &old_int, NULL);
        sigaction(SIGTERM, &old_term, NULL);
    }
    for (int i = 0; i < 2; i++) {
        if (g_wake_fd[i] >= 0) close(g_wake_fd[i]);
        g_wake_fd[i] = -1;
    }
    return exit_code;
}
