/* SPDX-License-Identifier: ISC */
/* Test helper for the live client: a JACK player and recorder.
 *
 *   test_live_jackio --play IN.wav --to A,B --record OUT.wav --from P1,P2,...
 *                    [--tail FRAMES] [--freewheel] [--timeout SEC] [--settle SEC]
 *
 * Two clients (clvtest_play, clvtest_rec), so the graph runs player -> cleave ->
 * recorder in one cycle with no feedback loop. Both follow the JACK transport: the
 * helper locates to frame 0 and starts the transport; in every rolling cycle the
 * player writes file frames [pos, pos + n) and the recorder stores what arrives at
 * the same frames, so recording frame t holds the client's output for input frame
 * t - latency. With --freewheel the whole run happens in freewheel mode.
 *
 * At the end it writes OUT.wav (float, one channel per --from port, then two masks:
 * 1 where the player / the recorder really ran that frame, 0 where JACK skipped
 * the cycle) and prints one
 * JSON line: the capture latency of each --from port, the playback latency of each
 * --to port, frames recorded, xruns seen. Exit status 0, or 1 with a message. */
#include <jack/jack.h>
#include <math.h>
#include <sndfile.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_REC 8

typedef struct {
    jack_client_t *pc, *rc;
    jack_port_t *pout[2];
    jack_port_t *rin[MAX_REC];
    int n_rec;
    float *play[2];
    long play_len;
    float *rec[MAX_REC];
    long rec_len;
    /* frames each side really handled: a cycle JACK skipped (xrun) leaves 0 */
    unsigned char *played, *recorded;
    atomic_long rec_max; /* highest frame recorded + 1 */
    atomic_int fw_on;
    atomic_long xruns;
    atomic_int rolling;
    long xrun_frame[64]; /* transport frames at which xruns were reported */
} Io;

static int play_process(jack_nframes_t n, void *arg)
{
    Io *io = arg;
    jack_position_t pos;
    jack_transport_state_t st = jack_transport_query(io->pc, &pos);
    for (int c = 0; c < 2; c++) {
        float *out = jack_port_get_buffer(io->pout[c], n);
        for (jack_nframes_t i = 0; i < n; i++) {
            long idx = (long)pos.frame + (long)i;
            out[i] = st == JackTransportRolling && idx < io->play_len ? io->play[c][idx] : 0.0f;
        }
    }
    if (st == JackTransportRolling)
        for (jack_nframes_t i = 0; i < n; i++)
            if ((long)pos.frame + (long)i < io->rec_len) io->played[pos.frame + i] = 1;
    return 0;
}

static int rec_process(jack_nframes_t n, void *arg)
{
    Io *io = arg;
    jack_position_t pos;
    jack_transport_state_t st = jack_transport_query(io->rc, &pos);
    if (st != JackTransportRolling) return 0;
    for (int c = 0; c < io->n_rec; c++) {
        const float *in = jack_port_get_buffer(io->rin[c], n);
        for (jack_nframes_t i = 0; i < n; i++) {
            long idx = (long)pos.frame + (long)i;
            if (idx < io->rec_len) io->rec[c][idx] = in[i];
        }
    }
    for (jack_nframes_t i = 0; i < n; i++)
        if ((long)pos.frame + (long)i < io->rec_len) io->recorded[pos.frame + i] = 1;
    long end = (long)pos.frame + (long)n;
    if (end > atomic_load(&io->rec_max)) atomic_store(&io->rec_max, end);
    return 0;
}

static void on_fw(int on, void *arg) { atomic_store(&((Io *)arg)->fw_on, on); }

static int on_xrun(void *arg)
{
    Io *io = arg;
    long k = atomic_fetch_add(&io->xruns, 1);
    if (k < 64) io->xrun_frame[k] = atomic_load(&io->rolling)
                                        ? (long)jack_get_current_transport_frame(io->rc) : 0;
    return 0;
}

static int split(char *list, char **out, int cap)
{
    int n = 0;
    for (char *tok = strtok(list, ","); tok && n < cap; tok = strtok(NULL, ",")) out[n++] = tok;
    return n;
}

static void sleep_s(double s)
{
    struct timespec ts = {(time_t)s, (long)((s - floor(s)) * 1e9)};
    nanosleep(&ts, NULL);
}

static int fail(const char *msg, const char *arg)
{
    fprintf(stderr, "test_live_jackio: %s%s%s\n", msg, arg ? ": " : "", arg ? arg : "");
    return 1;
}

int main(int argc, char **argv)
{
    const char *play_path = NULL, *rec_path = NULL;
    char *to_list = NULL, *from_list = NULL;
    long tail = 48000;
    int freewheel = 0;
    double timeout = 120.0, settle = 0.5;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--freewheel")) {
            freewheel = 1;
            continue;
        }
        if (!v) return fail("option needs a value", a);
        i++;
        if (!strcmp(a, "--play")) play_path = v;
        else if (!strcmp(a, "--record")) rec_path = v;
        else if (!strcmp(a, "--to")) to_list = strdup(v);
        else if (!strcmp(a, "--from")) from_list = strdup(v);
        else if (!strcmp(a, "--tail")) tail = atol(v);
        else if (!strcmp(a, "--timeout")) timeout = atof(v);
        else if (!strcmp(a, "--settle")) settle = atof(v);
        else return fail("unknown option", a);
    }
    if (!play_path || !rec_path || !to_list || !from_list) return fail("usage: see the source", NULL);

    static Io io;
    char *to[2], *from[MAX_REC];
    int n_to = split(to_list, to, 2);
    io.n_rec = split(from_list, from, MAX_REC);
    if (n_to < 1 || io.n_rec < 1) return fail("--to and --from need port names", NULL);

    SF_INFO info;
    memset(&info, 0, sizeof info);
    SNDFILE *sf = sf_open(play_path, SFM_READ, &info);
    if (!sf) return fail("cannot read", play_path);
    if (info.channels < 1 || info.channels > 2) return fail("need a mono or stereo file", play_path);
    float *inter = malloc(sizeof(float) * (size_t)info.frames * (size_t)info.channels);
    io.play_len = (long)info.frames;
    for (int c = 0; c < 2; c++) io.play[c] = malloc(sizeof(float) * (size_t)io.play_len);
    if (!inter || !io.play[0] || !io.play[1]) return fail("out of memory", NULL);
    sf_readf_float(sf, inter, info.frames);
    sf_close(sf);
    for (long i = 0; i < io.play_len; i++)
        for (int c = 0; c < 2; c++)
            io.play[c][i] = inter[i * info.channels + (info.channels == 2 ? c : 0)];
    free(inter);
    io.rec_len = io.play_len + tail;
    for (int c = 0; c < io.n_rec; c++) {
        io.rec[c] = calloc((size_t)io.rec_len, sizeof(float));
        if (!io.rec[c]) return fail("out of memory", NULL);
    }
    io.played = calloc((size_t)io.rec_len, 1);
    io.recorded = calloc((size_t)io.rec_len, 1);
    if (!io.played || !io.recorded) return fail("out of memory", NULL);

    jack_status_t js;
    io.pc = jack_client_open("clvtest_play", JackNoStartServer, &js);
    io.rc = jack_client_open("clvtest_rec", JackNoStartServer, &js);
    if (!io.pc || !io.rc) return fail("cannot open JACK clients (server running?)", NULL);
    if ((int)jack_get_sample_rate(io.pc) != info.samplerate)
        fprintf(stderr, "test_live_jackio: warning: file at %d Hz, JACK at %u Hz\n",
                info.samplerate, jack_get_sample_rate(io.pc));
    for (int c = 0; c < 2; c++) {
        char name[16];
        snprintf(name, sizeof name, "out_%d", c + 1);
        io.pout[c] = jack_port_register(io.pc, name, JACK_DEFAULT_AUDIO_TYPE, JackPortIsOutput, 0);
    }
    for (int c = 0; c < io.n_rec; c++) {
        char name[16];
        snprintf(name, sizeof name, "in_%d", c + 1);
        io.rin[c] = jack_port_register(io.rc, name, JACK_DEFAULT_AUDIO_TYPE, JackPortIsInput, 0);
    }
    jack_set_process_callback(io.pc, play_process, &io);
    jack_set_process_callback(io.rc, rec_process, &io);
    jack_set_freewheel_callback(io.pc, on_fw, &io);
    jack_set_xrun_callback(io.rc, on_xrun, &io);
    jack_transport_stop(io.pc);
    jack_transport_locate(io.pc, 0);
    if (jack_activate(io.pc) || jack_activate(io.rc)) return fail("cannot activate", NULL);
    for (int c = 0; c < 2; c++)
        if (jack_connect(io.pc, jack_port_name(io.pout[c]), to[n_to == 1 ? 0 : c]))
            return fail("cannot connect to", to[n_to == 1 ? 0 : c]);
    for (int c = 0; c < io.n_rec; c++)
        if (jack_connect(io.rc, from[c], jack_port_name(io.rin[c])))
            return fail("cannot connect from", from[c]);
    if (freewheel) {
        if (jack_set_freewheel(io.pc, 1)) return fail("cannot start freewheel", NULL);
        for (int i = 0; i < 500 && !atomic_load(&io.fw_on); i++) sleep_s(0.01);
        if (!atomic_load(&io.fw_on)) return fail("freewheel did not start", NULL);
    }
    sleep_s(settle);
    atomic_store(&io.rolling, 1);
    jack_transport_start(io.pc);
    double waited = 0.0;
    while (atomic_load(&io.rec_max) < io.rec_len && waited < timeout) {
        sleep_s(0.01);
        waited += 0.01;
    }
    jack_transport_stop(io.pc);
    if (freewheel) jack_set_freewheel(io.pc, 0);
    int ok = atomic_load(&io.rec_max) >= io.rec_len;

    printf("{\"frames\":%ld,\"complete\":%s,\"xruns\":%ld,\"rate\":%u,\"period\":%u,"
           "\"capture_latency\":[",
           atomic_load(&io.rec_max) < io.rec_len ? atomic_load(&io.rec_max) : io.rec_len,
           ok ? "true" : "false", atomic_load(&io.xruns), jack_get_sample_rate(io.pc),
           jack_get_buffer_size(io.pc));
    for (int c = 0; c < io.n_rec; c++) {
        jack_latency_range_t r = {0, 0};
        jack_port_t *p = jack_port_by_name(io.rc, from[c]);
        if (p) jack_port_get_latency_range(p, JackCaptureLatency, &r);
        printf("%s[%u,%u]", c ? "," : "", r.min, r.max);
    }
    printf("],\"xrun_frames\":[");
    for (long k = 0; k < atomic_load(&io.xruns) && k < 64; k++)
        printf("%s%ld", k ? "," : "", io.xrun_frame[k]);
    printf("],\"playback_latency\":[");
    for (int c = 0; c < n_to; c++) {
        jack_latency_range_t r = {0, 0};
        jack_port_t *p = jack_port_by_name(io.pc, to[c]);
        if (p) jack_port_get_latency_range(p, JackPlaybackLatency, &r);
        printf("%s[%u,%u]", c ? "," : "", r.min, r.max);
    }
    printf("]}\n");
    fflush(stdout);
    jack_deactivate(io.pc);
    jack_deactivate(io.rc);
    jack_client_close(io.pc);
    jack_client_close(io.rc);

    SF_INFO oi;
    memset(&oi, 0, sizeof oi);
    oi.samplerate = info.samplerate;
    oi.channels = io.n_rec + 2; /* + played and recorded masks */
    oi.format = SF_FORMAT_WAV | SF_FORMAT_FLOAT;
    SNDFILE *of = sf_open(rec_path, SFM_WRITE, &oi);
    if (!of) return fail("cannot write", rec_path);
    const int nch = io.n_rec + 2;
    float *frame = malloc(sizeof(float) * (size_t)nch * (size_t)io.rec_len);
    if (!frame) return fail("out of memory", NULL);
    for (long i = 0; i < io.rec_len; i++) {
        for (int c = 0; c < io.n_rec; c++) frame[i * nch + c] = io.rec[c][i];
        frame[i * nch + io.n_rec] = io.played[i];
        frame[i * nch + io.n_rec + 1] = io.recorded[i];
    }
    sf_writef_float(of, frame, io.rec_len);
    sf_close(of);
    free(frame);
    for (int c = 0; c < io.n_rec; c++) free(io.rec[c]);
    free(io.played);
    free(io.recorded);
    free(io.play[0]);
    free(io.play[1]);
    free(to_list);
    free(from_list);
    if (!ok) return fail("the recording did not complete before the timeout", NULL);
    return 0;
}
