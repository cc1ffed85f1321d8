/* SPDX-License-Identifier: ISC */
/* The LV2 plugin driven like a host: dlopen()s the built cleave.so, provides URID
 * map/unmap, options (maxBlockLength 512, nominalBlockLength 256), log (messages
 * captured) and a worker (a thread fed through an SPSC ring; responses delivered
 * after run() like jalv does), then checks:
 *   1. realtime safety: run() and work_response() under the allocation/lock/IO
 *      trap at block sizes 0..512, while separators swap through the worker and a
 *      missing and a corrupt model file are requested;
 *   2. latency port updated by run(0) alone;
 *   3. stems sum to the input delayed by the reported latency, also for blocks
 *      above the announced maximum (processed in pieces, reported in the log);
 *   4. absurd control values (NaN, inf, 1e30, negative enumerations): clamped or
 *      ignored, levels behave, the log names the port;
 *   5. missing / corrupt / over-long model paths: logged with the file, the
 *      previous separator keeps running;
 *   6. patch:Get answered on notify; tag outputs valid;
 *   7. state save/restore through mapPath; bad state values rejected with a message;
 *   8. offline render mode (inline loads, new engine) and back;
 *   9. a host with no features at all (lv2apply) works.
 * Usage: test_plugin PATH/TO/cleave.so TMPDIR */
#include <dlfcn.h>
#include <math.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include <lv2/atom/atom.h>
#include <lv2/atom/forge.h>
#include <lv2/atom/util.h>
#include <lv2/buf-size/buf-size.h>
#include <lv2/core/lv2.h>
#include <lv2/log/log.h>
#include <lv2/options/options.h>
#include <lv2/patch/patch.h>
#include <lv2/state/state.h>
#include <lv2/urid/urid.h>
#include <lv2/worker/worker.h>

#include "clv_ring.h"
#include "clv_rt_trap.h"
#include "clv_test.h"

enum {
    P_IN_L, P_IN_R, P_MIX_L, P_MIX_R, P_VOC_L, P_VOC_R, P_ACC_L, P_ACC_R, P_CONTROL, P_NOTIFY,
    P_VOCAL_DB, P_ACCOMP_DB, P_SEPARATOR, P_OP, P_ENABLED, P_OFFLINE, P_LATENCY, P_MISSES,
    P_LOAD, P_TAG, P_TAG_CONF, P_COUNT
};

#define RATE 48000
#define MAXB 512
#define BIG (4 * MAXB + 37)
#define ATOM_CAP 8192

/* ---- URID map ------------------------------------------------------------------ */
static char *uris[512];
static int n_uris;
static pthread_mutex_t map_lock = PTHREAD_MUTEX_INITIALIZER;

static LV2_URID map_uri(LV2_URID_Map_Handle h, const char *uri)
{
    (void)h;
    pthread_mutex_lock(&map_lock);
    LV2_URID id = 0;
    for (int i = 0; i < n_uris && !id; i++)
        if (!strcmp(uris[i], uri)) id = (LV2_URID)(i + 1);
    if (!id && n_uris < 512) {
        uris[n_uris++] = strdup(uri);
        id = (LV2_URID)n_uris;
    }
    pthread_mutex_unlock(&map_lock);
    return id;
}

static const char *unmap_uri(LV2_URID_Unmap_Handle h, LV2_URID id)
{
    (void)h;
    return id >= 1 && (int)id <= n_uris ? uris[id - 1] : NULL;
}

/* ---- log ------------------------------------------------------------------------- */
static char logbuf[1 << 16];
static size_t loglen;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

static int log_vprintf(LV2_Log_Handle h, LV2_URID type, const char *fmt, va_list ap)
{
    (void)h;
    (void)type;
    char line[1024];
    int n = vsnprintf(line, sizeof line, fmt, ap);
    pthread_mutex_lock(&log_lock);
    fprintf(stderr, "[plugin log] %s", line);
    if (n > 0 && loglen + (size_t)n + 1 < sizeof logbuf) {
        memcpy(logbuf + loglen, line, (size_t)n);
        loglen += (size_t)n;
        logbuf[loglen] = '\0';
    }
    pthread_mutex_unlock(&log_lock);
    return n;
}

static int log_printf(LV2_Log_Handle h, LV2_URID type, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = log_vprintf(h, type, fmt, ap);
    va_end(ap);
    return n;
}

/* Count of occurrences of s in the log so far. */
static int log_count(const char *s)
{
    pthread_mutex_lock(&log_lock);
    int n = 0;
    for (const char *p = logbuf; (p = strstr(p, s)) != NULL; p += strlen(s)) n++;
    pthread_mutex_unlock(&log_lock);
    return n;
}

/* ---- worker (host side) ------------------------------------------------------------ */
typedef struct {
    uint32_t size;
    unsigned char data[4096];
} Msg;

typedef struct {
    LV2_Handle inst;
    const LV2_Worker_Interface *iface;
    ClvRing *req, *resp;
    sem_t wake;
    pthread_t th;
    atomic_int quit;
    atomic_long done;
} Worker;

static LV2_Worker_Status schedule_work(LV2_Worker_Schedule_Handle h, uint32_t size, const void *data)
{
    Worker *w = h;
    if (size > sizeof(((Msg *)0)->data)) return LV2_WORKER_ERR_NO_SPACE;
    Msg *m = clv_ring_write_begin(w->req);
    if (!m) return LV2_WORKER_ERR_NO_SPACE;
    m->size = size;
    memcpy(m->data, data, size);
    clv_ring_write_commit(w->req);
    sem_post(&w->wake);
    return LV2_WORKER_SUCCESS;
}

static LV2_Worker_Status respond(LV2_Worker_Respond_Handle h, uint32_t size, const void *data)
{
    Worker *w = h;
    if (size > sizeof(((Msg *)0)->data)) return LV2_WORKER_ERR_NO_SPACE;
    Msg *m = clv_ring_write_begin(w->resp);
    if (!m) return LV2_WORKER_ERR_NO_SPACE;
    m->size = size;
    memcpy(m->data, data, size);
    clv_ring_write_commit(w->resp);
    return LV2_WORKER_SUCCESS;
}

static void *worker_main(void *arg)
{
    Worker *w = arg;
    while (!atomic_load(&w->quit)) {
        sem_wait(&w->wake);
        const Msg *m;
        while ((m = clv_ring_read_begin(w->req)) != NULL) {
            w->iface->work(w->inst, respond, w, m->size, m->data);
            clv_ring_read_commit(w->req);
            atomic_fetch_add(&w->done, 1);
        }
    }
    return NULL;
}

/* ---- the host ------------------------------------------------------------------------- */
typedef struct {
    const LV2_Descriptor *desc;
    LV2_Handle inst;
    const LV2_State_Interface *state;
    Worker worker;
    LV2_Worker_Schedule sched; /* must outlive the instance */
    int has_worker;
    float *audio[8];
    float ctl[P_COUNT];
    LV2_Atom_Sequence *control, *notify;
    LV2_Atom_Forge forge;
    uint64_t t; /* frames fed */
    int tag_events, bad_tag_events; /* clv:TagEvent objects seen on notify */
} Host;

static LV2_URID_Map map = {NULL, map_uri};
static LV2_URID_Unmap unmap = {NULL, unmap_uri};
static LV2_Log_Log logf_ = {NULL, log_printf, log_vprintf};

static float input_at(int c, uint64_t t)
{
    const double x = (double)t;
    /* per-channel low tones, a centred 535 Hz tone (what the centre separator
     * takes for vocals), an off-centre 2.4 kHz tone */
    return (float)(0.3 * sin(0.013 * x * (c + 1)) + 0.25 * sin(0.07 * x) + 0.05 * sin(0.31 * x + c));
}

static int host_open(Host *h, const LV2_Descriptor *desc, int features_on)
{
    memset(h, 0, sizeof *h);
    h->desc = desc;
    static int32_t maxb = MAXB, nomb = 256;
    LV2_URID t_int = map_uri(NULL, LV2_ATOM__Int);
    LV2_Options_Option opts[] = {
        {LV2_OPTIONS_INSTANCE, 0, map_uri(NULL, LV2_BUF_SIZE__maxBlockLength), sizeof(int32_t), t_int, &maxb},
        {LV2_OPTIONS_INSTANCE, 0, map_uri(NULL, LV2_BUF_SIZE__nominalBlockLength), sizeof(int32_t), t_int, &nomb},
        {LV2_OPTIONS_INSTANCE, 0, 0, 0, 0, NULL},
    };
    h->sched.handle = &h->worker;
    h->sched.schedule_work = schedule_work;
    LV2_Feature f_map = {LV2_URID__map, &map}, f_unmap = {LV2_URID__unmap, &unmap},
                f_log = {LV2_LOG__log, &logf_}, f_opts = {LV2_OPTIONS__options, opts},
                f_sched = {LV2_WORKER__schedule, &h->sched}, f_bounded = {LV2_BUF_SIZE__boundedBlockLength, NULL};
    const LV2_Feature *features[] = {&f_map, &f_unmap, &f_log, &f_opts, &f_sched, &f_bounded, NULL};
    if (features_on) {
        clv_ring_new(sizeof(Msg), 64, &h->worker.req);
        clv_ring_new(sizeof(Msg), 64, &h->worker.resp);
        sem_init(&h->worker.wake, 0, 0);
        h->has_worker = 1;
    }
    h->inst = desc->instantiate(desc, RATE, "/nonexistent-bundle/", features_on ? features : NULL);
    if (!h->inst) return 0;
    if (features_on) {
        h->worker.inst = h->inst;
        h->worker.iface = desc->extension_data(LV2_WORKER__interface);
        h->state = desc->extension_data(LV2_STATE__interface);
        if (!h->worker.iface) return 0;
        pthread_create(&h->worker.th, NULL, worker_main, &h->worker);
    }
    for (int i = 0; i < 8; i++) {
        h->audio[i] = calloc(BIG, sizeof(float));
        desc->connect_port(h->inst, (uint32_t)i, h->audio[i]);
    }
    h->ctl[P_VOCAL_DB] = 0.0f;
    h->ctl[P_ACCOMP_DB] = 0.0f;
    h->ctl[P_SEPARATOR] = 0.0f;
    h->ctl[P_OP] = 0.0f;
    h->ctl[P_ENABLED] = 1.0f;
    h->ctl[P_OFFLINE] = 0.0f;
    for (int i = P_VOCAL_DB; i < P_COUNT; i++) desc->connect_port(h->inst, (uint32_t)i, &h->ctl[i]);
    h->ctl[P_LATENCY] = -1.0f;
    if (features_on) {
        h->control = calloc(1, ATOM_CAP);
        h->notify = calloc(1, ATOM_CAP);
        lv2_atom_forge_init(&h->forge, &map);
        desc->connect_port(h->inst, P_CONTROL, h->control);
        desc->connect_port(h->inst, P_NOTIFY, h->notify);
    } else {
        desc->connect_port(h->inst, P_CONTROL, NULL);
        desc->connect_port(h->inst, P_NOTIFY, NULL);
    }
    desc->activate(h->inst);
    return 1;
}

static void host_close(Host *h)
{
    h->desc->deactivate(h->inst);
    if (h->has_worker) {
        /* let queued work (frees) finish before cleanup, as hosts do */
        for (int i = 0; i < 100 && clv_ring_count(h->worker.req); i++) usleep(2000);
        atomic_store(&h->worker.quit, 1);
        sem_post(&h->worker.wake);
        pthread_join(h->worker.th, NULL);
    }
    h->desc->cleanup(h->inst);
    if (h->has_worker) {
        clv_ring_free(h->worker.req);
        clv_ring_free(h->worker.resp);
        sem_destroy(&h->worker.wake);
    }
    for (int i = 0; i < 8; i++) free(h->audio[i]);
    free(h->control);
    free(h->notify);
}

/* mapped once (map_uri locks, and cycle() runs in the trap) */
static LV2_URID urid_Sequence, urid_Chunk, urid_Object, urid_String, urid_Int, urid_TagEvent,
    urid_tagIndex, urid_tagLabel;

/* Counts the tag events run() wrote on notify and checks their fields. */
static void scan_notify(Host *h)
{
    if (!h->notify || h->notify->atom.type != urid_Sequence) return;
    LV2_ATOM_SEQUENCE_FOREACH (h->notify, ev) {
        if (ev->body.type != urid_Object) continue;
        const LV2_Atom_Object *o = (const LV2_Atom_Object *)&ev->body;
        if (o->body.otype != urid_TagEvent) continue;
        const LV2_Atom *idx = NULL, *label = NULL;
        lv2_atom_object_get(o, urid_tagIndex, &idx, urid_tagLabel, &label, 0);
        h->tag_events++;
        if (!idx || idx->type != urid_Int || ((const LV2_Atom_Int *)idx)->body < 0 || !label
            || label->type != urid_String || label->size < 2)
            h->bad_tag_events++;
    }
}

/* Empty input sequence and a fresh notify buffer, as a host does before run(). */
static void prepare_atoms(Host *h)
{
    if (!h->control) return;
    h->control->atom.type = urid_Sequence;
    h->control->atom.size = sizeof(LV2_Atom_Sequence_Body);
    h->control->body.unit = 0;
    h->control->body.pad = 0;
    h->notify->atom.type = urid_Chunk;
    h->notify->atom.size = ATOM_CAP - sizeof(LV2_Atom);
}

/* Puts a patch:Set of the model file (or a patch:Get when path is NULL) in the
 * control sequence for the next run. */
static void send_patch(Host *h, const char *path, uint32_t forced_type)
{
    LV2_Atom_Forge *f = &h->forge;
    lv2_atom_forge_set_buffer(f, (uint8_t *)h->control, ATOM_CAP);
    LV2_Atom_Forge_Frame seq, obj;
    lv2_atom_forge_sequence_head(f, &seq, 0);
    lv2_atom_forge_frame_time(f, 0);
    if (path) {
        lv2_atom_forge_object(f, &obj, 0, map_uri(NULL, LV2_PATCH__Set));
        lv2_atom_forge_key(f, map_uri(NULL, LV2_PATCH__property));
        lv2_atom_forge_urid(f, map_uri(NULL, "urn:cleave:model"));
        lv2_atom_forge_key(f, map_uri(NULL, LV2_PATCH__value));
        if (forced_type) {
            lv2_atom_forge_atom(f, (uint32_t)strlen(path) + 1, forced_type);
            lv2_atom_forge_write(f, path, (uint32_t)strlen(path) + 1);
        } else {
            lv2_atom_forge_path(f, path, (uint32_t)strlen(path));
        }
    } else {
        lv2_atom_forge_object(f, &obj, 0, map_uri(NULL, LV2_PATCH__Get));
    }
    lv2_atom_forge_pop(f, &obj);
    lv2_atom_forge_pop(f, &seq);
}

static long trap_base;

/* One host cycle: run(n) then deliver responses, like jalv. Input follows
 * input_at(); `trapped` wraps both calls in the realtime trap. */
static void cycle(Host *h, uint32_t n, int trapped, int keep_control)
{
    for (uint32_t i = 0; i < n; i++)
        for (int c = 0; c < 2; c++) h->audio[c][i] = input_at(c, h->t + i);
    if (h->control && !keep_control) prepare_atoms(h);
    else if (h->notify) {
        h->notify->atom.type = urid_Chunk;
        h->notify->atom.size = ATOM_CAP - sizeof(LV2_Atom);
    }
    if (trapped) clv_trap_enter();
    h->desc->run(h->inst, n);
    if (h->has_worker) {
        const Msg *m;
        while ((m = clv_ring_read_begin(h->worker.resp)) != NULL) {
            h->worker.iface->work_response(h->inst, m->size, m->data);
            clv_ring_read_commit(h->worker.resp);
        }
    }
    if (trapped) clv_trap_leave();
    scan_notify(h);
    h->t += n;
}

/* Runs `frames` in blocks of `block` frames, sleeping a little for the worker. */
static void pump(Host *h, long frames, uint32_t block, int trapped)
{
    for (long done = 0; done < frames; done += block) {
        cycle(h, block, trapped, 0);
        struct timespec ts = {0, 200000};
        nanosleep(&ts, NULL);
    }
}

/* Max |vocals + accomp - input(t - D)| over the last block of n frames. */
static double sum_error(Host *h, uint32_t n, int *checked)
{
    const int D = (int)lrintf(h->ctl[P_LATENCY]);
    double err = 0.0;
    *checked = 0;
    for (uint32_t i = 0; i < n; i++) {
        const uint64_t t = h->t - n + i;
        if (t < (uint64_t)D + 4096) continue;
        for (int c = 0; c < 2; c++) {
            double e = fabs((double)h->audio[P_VOC_L + c][i] + h->audio[P_ACC_L + c][i]
                            - input_at(c, t - (uint64_t)D));
            if (e > err) err = e;
        }
        (*checked)++;
    }
    return err;
}

/* Max |mix - (gv*vocals + ga*accomp)| over the last block. */
static double mix_error(Host *h, uint32_t n, double gv, double ga)
{
    double err = 0.0;
    for (uint32_t i = 0; i < n; i++)
        for (int c = 0; c < 2; c++) {
            double e = fabs(h->audio[P_MIX_L + c][i]
                            - (gv * h->audio[P_VOC_L + c][i] + ga * h->audio[P_ACC_L + c][i]));
            if (e > err) err = e;
        }
    return err;
}

static int all_finite(Host *h, uint32_t n)
{
    for (int p = P_MIX_L; p <= P_ACC_R; p++)
        for (uint32_t i = 0; i < n; i++)
            if (!isfinite(h->audio[p][i])) return 0;
    return isfinite(h->ctl[P_LATENCY]) && isfinite(h->ctl[P_LOAD]) && isfinite(h->ctl[P_TAG_CONF]);
}

/* Cycles until `n` separators have been reported loaded and the worker is idle, for
 * up to 10 s (a loaded CI machine can take seconds to load and warm a separator
 * up); returns whether that happened. */
static int wait_loaded(Host *h, int n)
{
    for (int i = 0; i < 2000; i++) {
        cycle(h, 0, 0, 0);
        if (log_count("loaded") >= n && !clv_ring_count(h->worker.req)) {
            cycle(h, 0, 0, 0);
            return 1;
        }
        usleep(5000);
    }
    return 0;
}

/* Cycles until the worker has done every request. */
static void wait_worker(Host *h) { wait_loaded(h, 0); }

/* ---- state store -------------------------------------------------------------------- */
typedef struct {
    uint32_t key, type;
    size_t size;
    char value[2048];
} Prop;
static Prop props[16];
static int n_props;

static LV2_State_Status store(LV2_State_Handle h, uint32_t key, const void *value, size_t size,
                              uint32_t type, uint32_t flags)
{
    (void)h;
    (void)flags;
    if (n_props >= 16 || size > sizeof props[0].value) return LV2_STATE_ERR_NO_SPACE;
    props[n_props].key = key;
    props[n_props].type = type;
    props[n_props].size = size;
    memcpy(props[n_props].value, value, size);
    n_props++;
    return LV2_STATE_SUCCESS;
}

static const void *retrieve(LV2_State_Handle h, uint32_t key, size_t *size, uint32_t *type,
                            uint32_t *flags)
{
    (void)h;
    for (int i = 0; i < n_props; i++)
        if (props[i].key == key) {
            *size = props[i].size;
            *type = props[i].type;
            *flags = LV2_STATE_IS_POD | LV2_STATE_IS_PORTABLE;
            return props[i].value;
        }
    return NULL;
}

static Prop *find_prop(const char *uri)
{
    uint32_t k = map_uri(NULL, uri);
    for (int i = 0; i < n_props; i++)
        if (props[i].key == k) return &props[i];
    return NULL;
}

static void set_prop(const char *uri, const char *type_uri, const void *v, size_t size)
{
    Prop *p = find_prop(uri);
    if (!p) p = &props[n_props++];
    p->key = map_uri(NULL, uri);
    p->type = map_uri(NULL, type_uri);
    p->size = size;
    memcpy(p->value, v, size);
}

static char *abstract_path(LV2_State_Map_Path_Handle h, const char *abs)
{
    (void)h;
    char *s = malloc(strlen(abs) + 8);
    sprintf(s, "ABS:%s", abs);
    return s;
}

static char *absolute_path(LV2_State_Map_Path_Handle h, const char *a)
{
    (void)h;
    return strdup(strncmp(a, "ABS:", 4) == 0 ? a + 4 : a);
}

/* ---- main ------------------------------------------------------------------------------ */
int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: test_plugin cleave.so TMPDIR\n");
        return 2;
    }
    mkdir(argv[2], 0755);
    urid_Sequence = map_uri(NULL, LV2_ATOM__Sequence);
    urid_Chunk = map_uri(NULL, LV2_ATOM__Chunk);
    urid_Object = map_uri(NULL, LV2_ATOM__Object);
    urid_String = map_uri(NULL, LV2_ATOM__String);
    urid_Int = map_uri(NULL, LV2_ATOM__Int);
    urid_TagEvent = map_uri(NULL, "urn:cleave:TagEvent");
    urid_tagIndex = map_uri(NULL, "urn:cleave:tagIndex");
    urid_tagLabel = map_uri(NULL, "urn:cleave:tagLabel");
    /* the trap works at all (and sees calls made inside the dlopened plugin,
     * which needs this executable's symbols exported: -rdynamic) */
    void *volatile probe;
    clv_trap_enter();
    probe = malloc(16);
    clv_trap_leave();
    free(probe);
    CHECK(clv_trap_count() == 1, "trap did not catch malloc (%ld)", clv_trap_count());
    trap_base = clv_trap_count();

    void *so = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    if (!so) {
        fprintf(stderr, "dlopen %s: %s\n", argv[1], dlerror());
        return 1;
    }
    const LV2_Descriptor *(*get)(uint32_t) = (const LV2_Descriptor *(*)(uint32_t))dlsym(so, "lv2_descriptor");
    CHECK(get != NULL, "no lv2_descriptor");
    if (!get) TEST_DONE();
    const LV2_Descriptor *desc = get(0);
    CHECK(desc && !strcmp(desc->URI, "urn:cleave:plugin"), "descriptor 0 is not urn:cleave:plugin");
    CHECK(get(1) == NULL, "more than one descriptor");
    if (!desc) TEST_DONE();

    /* bad sample rates are refused cleanly */
    CHECK(desc->instantiate(desc, 1000.0, "/", NULL) == NULL, "1 kHz accepted");
    CHECK(desc->instantiate(desc, NAN, "/", NULL) == NULL, "NaN rate accepted");

    Host h;
    CHECK(host_open(&h, desc, 1), "instantiate with all features failed");
    if (!h.inst) TEST_DONE();

    /* 2. run(0) alone publishes the latency (once the first separator is in) */
    CHECK(wait_loaded(&h, 1), "no separator loaded within 10 s of instantiation");
    cycle(&h, 0, 1, 0);
    const float lat_q = h.ctl[P_LATENCY];
    CHECK(lat_q > 0.0f, "latency not published by run(0): %g", (double)lat_q);
    h.ctl[P_OP] = 1.0f;
    int ll_loaded = log_count("loaded");
    cycle(&h, 0, 1, 0); /* the plugin sees the new operating point and asks its worker */
    wait_loaded(&h, ll_loaded + 1);
    cycle(&h, 0, 1, 0); /* the swap happens at this block boundary */
    CHECK(log_count("loaded") == ll_loaded + 1, "low-latency separator not loaded");
    CHECK(h.ctl[P_LATENCY] < lat_q, "latency after switching to low latency by run(0) only: %g (was %g)",
          (double)h.ctl[P_LATENCY], (double)lat_q);
    printf("latency quality %g, low latency %g frames (max block 512, nominal 256)\n", (double)lat_q,
           (double)h.ctl[P_LATENCY]);

    /* 1. realtime safety while separators swap and bad models are requested */
    char missing[512], corrupt[512];
    snprintf(missing, sizeof missing, "%s/does-not-exist.clvm", argv[2]);
    snprintf(corrupt, sizeof corrupt, "%s/corrupt.clvm", argv[2]);
    FILE *cf = fopen(corrupt, "wb");
    if (cf) {
        for (int i = 0; i < 3000; i++) fputc((i * 7919) & 0xff, cf);
        fclose(cf);
    }
    /* phase a: operating-point swaps (centre); phase b: separator swaps (a neural
     * model, when the registry has a second separator, loads and warms on the
     * worker; with one separator, 1 is clamped to 0); phase c: a missing file, a
     * corrupt file and a patch:Get, each given time to finish so that requests do
     * not coalesce. Every run() and work_response() is under the trap. */
    static const uint32_t sizes[] = {0, 1, 7, 64, 256, 512, 33, 128};
    long frames = 0;
    int rounds = 0;
    int swaps[2] = {0, 0}, loaded[2];
    for (int phase = 0; phase < 3; phase++) {
        const int loaded0 = log_count("loaded");
        h.ctl[P_OP] = 0.0f;
        h.ctl[P_SEPARATOR] = 0.0f;
        for (long pf = 0, r = 0; pf < 2L * RATE; rounds++, r++) {
            const uint32_t n = sizes[rounds % 8];
            int keep = 0;
            if (phase == 0 && r % 200 == 100) {
                h.ctl[P_OP] = h.ctl[P_OP] > 0.5f ? 0.0f : 1.0f;
                swaps[0]++;
            } else if (phase == 1 && r % 600 == 300) {
                h.ctl[P_SEPARATOR] = h.ctl[P_SEPARATOR] > 0.5f ? 0.0f : 1.0f;
                swaps[1]++;
            } else if (phase == 2 && (r == 100 || r == 700 || r == 1300)) {
                send_patch(&h, r == 100 ? missing : r == 700 ? corrupt : NULL, 0);
                keep = 1;
            }
            h.ctl[P_VOCAL_DB] = (float)(rounds % 13) - 6.0f;
            cycle(&h, n, 1, keep);
            pf += n;
            frames += n;
            if (n >= 256) {
                struct timespec ts = {0, (long)(1e9 * n / RATE / 2)};
                nanosleep(&ts, NULL);
            }
        }
        wait_worker(&h);
        if (phase < 2) loaded[phase] = log_count("loaded") - loaded0;
    }
    printf("%ld frames in blocks of 0..512 frames, %d operating-point and %d separator swaps "
           "(%d and %d loaded): %ld forbidden calls on the audio thread\n",
           frames, swaps[0], swaps[1], loaded[0], loaded[1], clv_trap_count() - trap_base);
    CHECK(clv_trap_count() == trap_base, "%ld allocation/lock/IO calls in run()/work_response()",
          clv_trap_count() - trap_base);
    /* a swap requested while one is in flight may coalesce with the next */
    CHECK(loaded[0] >= swaps[0] / 2, "operating-point swaps did not go through (%d of %d)", loaded[0],
          swaps[0]);
    CHECK(loaded[1] >= 1 || log_count("cannot load") > 0, "separator swaps neither loaded nor failed");
    CHECK(log_count(missing) >= 1, "missing model file not named in the log");
    CHECK(log_count(corrupt) >= 1, "corrupt model file not named in the log");
    CHECK(log_count("keeping the current separator") >= 2, "log does not say the separator was kept");

    /* 3. stems sum to the delayed input, also in blocks above the maximum */
    h.ctl[P_VOCAL_DB] = 0.0f;
    pump(&h, RATE / 2, 256, 0);
    int checked = 0;
    double err = sum_error(&h, 256, &checked);
    CHECK(checked > 0 && err < 1e-5, "stems do not sum to the delayed input (err %g, %d checked)", err, checked);
    double vpk = 0.0;
    for (int i = 0; i < 256; i++) vpk = fmax(vpk, fabs(h.audio[P_VOC_L][i]));
    CHECK(vpk > 1e-3, "no vocals separated after the failed loads (peak %g)", vpk);
    const int too_long0 = log_count("above the announced maximum");
    cycle(&h, BIG, 1, 0);
    err = sum_error(&h, BIG, &checked);
    CHECK(checked == BIG && err < 1e-5, "oversized block: stems do not sum (err %g, %d checked)", err, checked);
    CHECK(all_finite(&h, BIG), "oversized block: non-finite output");
    wait_worker(&h);
    CHECK(log_count("above the announced maximum") == too_long0 + 1, "oversized block not reported");
    CHECK(clv_trap_count() == trap_base, "oversized block: %ld forbidden calls", clv_trap_count() - trap_base);

    /* 4. absurd control values */
    h.ctl[P_VOCAL_DB] = NAN;
    h.ctl[P_ACCOMP_DB] = 1e30f;
    h.ctl[P_SEPARATOR] = 1e9f;
    h.ctl[P_ENABLED] = NAN;
    h.ctl[P_OFFLINE] = NAN;
    pump(&h, RATE / 4, 256, 1);
    wait_worker(&h);
    CHECK(all_finite(&h, 256), "non-finite output after absurd controls");
    err = mix_error(&h, 256, 1.0, pow(10.0, 12.0 / 20.0));
    CHECK(err < 1e-4, "vocal NaN should keep 0 dB and accomp 1e30 clamp to +12 dB (err %g)", err);
    CHECK(h.ctl[P_LATENCY] > 0.0f, "no latency after absurd separator/offline values");
    CHECK(log_count("vocal_db got a non-finite value") >= 1, "NaN on vocal_db not logged");
    CHECK(log_count("accomp_db value 1e+30 is out of range") >= 1, "1e30 on accomp_db not logged");
    CHECK(log_count("separator value 1e+09 is out of range") >= 1, "1e9 on separator not logged");
    CHECK(log_count("offline got a non-finite value") >= 1, "NaN on offline not logged");
    h.ctl[P_VOCAL_DB] = -INFINITY;
    h.ctl[P_ACCOMP_DB] = -6.0f;
    h.ctl[P_SEPARATOR] = -3.0f;
    h.ctl[P_ENABLED] = 1.0f;
    h.ctl[P_OFFLINE] = 0.0f;
    pump(&h, RATE / 4, 256, 1);
    err = mix_error(&h, 256, 0.0, pow(10.0, -6.0 / 20.0));
    CHECK(err < 1e-4, "vocal -inf should mute, accomp -6 dB (err %g)", err);
    CHECK(clv_trap_count() == trap_base, "absurd controls: %ld forbidden calls", clv_trap_count() - trap_base);

    /* 5. over-long path and a value of the wrong type */
    char longpath[1500];
    memset(longpath, 'x', sizeof longpath - 1);
    longpath[sizeof longpath - 1] = '\0';
    send_patch(&h, longpath, 0);
    cycle(&h, 64, 1, 1);
    send_patch(&h, "/tmp/x.clvm", map_uri(NULL, LV2_ATOM__Chunk));
    cycle(&h, 64, 1, 1);
    wait_worker(&h);
    CHECK(log_count("is longer than 1023") >= 1, "over-long path not reported");
    CHECK(log_count("not an atom:Path") >= 1, "wrong value type not reported");

    /* 6. patch:Get is answered with the running model on notify */
    send_patch(&h, NULL, 0);
    cycle(&h, 64, 1, 1);
    int got_set = 0;
    if (h.notify->atom.type == map_uri(NULL, LV2_ATOM__Sequence)) {
        LV2_ATOM_SEQUENCE_FOREACH (h.notify, ev) {
            const LV2_Atom_Object *o = (const LV2_Atom_Object *)&ev->body;
            if (ev->body.type == map_uri(NULL, LV2_ATOM__Object) && o->body.otype == map_uri(NULL, LV2_PATCH__Set))
                got_set = 1;
        }
    }
    CHECK(got_set, "no patch:Set on notify after patch:Get");
    /* tags: after several seconds the tagger has stepped, unless there is no model */
    if (log_count("no tagger model") == 0) {
        pump(&h, RATE, 512, 0);
        usleep(300000);
        pump(&h, 4096, 512, 0);
        CHECK(h.ctl[P_TAG] >= 0.0f && h.ctl[P_TAG] <= 31.0f, "tag port %g after seconds of audio",
              (double)h.ctl[P_TAG]);
        CHECK(h.ctl[P_TAG_CONF] >= 0.0f && h.ctl[P_TAG_CONF] <= 1.0f, "tag confidence %g",
              (double)h.ctl[P_TAG_CONF]);
        CHECK(h.tag_events >= 1, "no tag event on notify after seconds of audio");
        CHECK(h.bad_tag_events == 0, "%d malformed tag events", h.bad_tag_events);
        printf("top tag %g with confidence %.3f; %d tag events on notify\n", (double)h.ctl[P_TAG],
               (double)h.ctl[P_TAG_CONF], h.tag_events);
    } else {
        CHECK(h.ctl[P_TAG] == -1.0f, "tag port without a tagger: %g", (double)h.ctl[P_TAG]);
    }

    /* 7. state: save, then restore into a fresh instance */
    h.ctl[P_VOCAL_DB] = -12.0f;
    h.ctl[P_ACCOMP_DB] = 3.0f;
    h.ctl[P_OP] = 0.0f;
    pump(&h, 2048, 256, 0);
    wait_worker(&h);
    pump(&h, 512, 256, 0);
    LV2_State_Map_Path mp = {NULL, abstract_path, absolute_path};
    LV2_Feature f_mp = {LV2_STATE__mapPath, &mp};
    const LV2_Feature *sfeat[] = {&f_mp, NULL};
    CHECK(h.state != NULL, "no state interface");
    n_props = 0;
    if (h.state) h.state->save(h.inst, store, NULL, LV2_STATE_IS_POD | LV2_STATE_IS_PORTABLE, sfeat);
    Prop *pv = find_prop("urn:cleave:vocalLevel"), *pa = find_prop("urn:cleave:accompLevel"),
         *ps = find_prop("urn:cleave:separator"), *po = find_prop("urn:cleave:operatingPoint");
    CHECK(pv && pv->size == 4 && *(float *)pv->value == -12.0f, "saved vocal level");
    CHECK(pa && pa->size == 4 && *(float *)pa->value == 3.0f, "saved accompaniment level");
    CHECK(ps && !strcmp(ps->value, "centre"), "saved separator name");
    CHECK(po && *(int32_t *)po->value == 0, "saved operating point");

    Host g;
    CHECK(host_open(&g, desc, 1), "second instance");
    pump(&g, 2048, 256, 0);
    /* restored values hold although the ports (0 dB) did not move */
    float vl = -20.0f;
    set_prop("urn:cleave:vocalLevel", LV2_ATOM__Float, &vl, sizeof vl);
    char apath[600];
    snprintf(apath, sizeof apath, "ABS:%s/restored-missing.clvm", argv[2]);
    set_prop("urn:cleave:model", LV2_ATOM__Path, apath, strlen(apath) + 1);
    const int kept0 = log_count("keeping the current separator");
    g.state->restore(g.inst, retrieve, NULL, 0, sfeat);
    pump(&g, RATE / 4, 256, 1);
    err = sum_error(&g, 256, &checked);
    CHECK(checked > 0 && err < 1e-5, "after restore: stems do not sum (err %g)", err);
    wait_worker(&g);
    pump(&g, 1024, 256, 0);
    err = mix_error(&g, 256, pow(10.0, -20.0 / 20.0), pow(10.0, 3.0 / 20.0));
    CHECK(err < 1e-4, "restored levels (-20 dB / +3 dB) not applied (err %g)", err);
    CHECK(log_count("restored-missing.clvm") >= 1 && !strstr(logbuf, "ABS:"),
          "restored model path not mapped to an absolute path / not reported");
    CHECK(log_count("keeping the current separator") == kept0 + 1, "restored missing model not kept out");
    /* moving the port wins over the restored value */
    g.ctl[P_VOCAL_DB] = -6.0f;
    pump(&g, RATE / 4, 256, 0);
    err = mix_error(&g, 256, pow(10.0, -6.0 / 20.0), pow(10.0, 3.0 / 20.0));
    CHECK(err < 1e-4, "port change after restore not applied (err %g)", err);
    /* bad state values are refused with a message */
    n_props = 0;
    set_prop("urn:cleave:vocalLevel", LV2_ATOM__String, "loud", 5);
    set_prop("urn:cleave:separator", LV2_ATOM__String, "no-such-separator", 18);
    char unterminated[4] = {'a', 'b', 'c', 'd'};
    set_prop("urn:cleave:model", LV2_ATOM__Path, unterminated, 4);
    g.state->restore(g.inst, retrieve, NULL, 0, sfeat);
    CHECK(log_count("state: vocal level is not a number") == 1, "bad vocal level in state not reported");
    CHECK(log_count("no-such-separator") == 1, "unknown separator in state not reported");
    CHECK(log_count("state: model file is not a terminated string") == 1, "unterminated path not reported");
    pump(&g, 4096, 256, 0);
    CHECK(all_finite(&g, 256), "non-finite output after bad state");

    /* 8. offline render: the engine is replaced inline, then back to realtime */
    g.ctl[P_OFFLINE] = 1.0f;
    cycle(&g, 256, 0, 0);
    CHECK(log_count("new offline engine") == 1, "offline mode did not build an offline engine");
    pump(&g, RATE / 2, 256, 0);
    err = sum_error(&g, 256, &checked);
    CHECK(checked > 0 && err < 1e-5, "offline: stems do not sum (err %g)", err);
    g.ctl[P_OFFLINE] = 0.0f;
    pump(&g, 2048, 256, 0);
    wait_worker(&g);
    pump(&g, RATE / 2, 256, 1);
    CHECK(log_count("new realtime engine") == 1, "back to realtime did not build a realtime engine");
    err = sum_error(&g, 256, &checked);
    CHECK(checked > 0 && err < 1e-5, "realtime again: stems do not sum (err %g)", err);
    CHECK(clv_trap_count() == trap_base, "after offline: %ld forbidden calls", clv_trap_count() - trap_base);
    host_close(&g);
    host_close(&h);

    /* 9. no features at all (lv2apply): own worker thread, stderr log */
    Host b;
    CHECK(host_open(&b, desc, 0), "instantiate without features failed");
    if (b.inst) {
        b.ctl[P_OP] = 1.0f;
        for (int i = 0; i < 3000; i++) cycle(&b, 1, 0, 0);
        usleep(100000);
        for (int i = 0; i < RATE / 4; i++) cycle(&b, 1, 0, 0);
        err = sum_error(&b, 1, &checked);
        CHECK(checked == 1 && err < 1e-5, "featureless host: stems do not sum (err %g)", err);
        CHECK(all_finite(&b, 1), "featureless host: non-finite output");
        CHECK(b.ctl[P_LATENCY] > 0.0f && b.ctl[P_LATENCY] < lat_q + 8192.0f, "featureless latency %g",
              (double)b.ctl[P_LATENCY]);
        host_close(&b);
    }
    /* CLV_TEST_KEEP_PLUGIN=1 keeps the module mapped so valgrind can name leaks */
    if (!getenv("CLV_TEST_KEEP_PLUGIN")) dlclose(so);
    TEST_DONE();
}
