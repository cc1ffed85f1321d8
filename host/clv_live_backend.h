/* SPDX-License-Identifier: ISC */
/* The interface a live audio backend (JACK, PortAudio) implements for `cleave live`.
 * A backend is glue only: it opens the audio system, calls clv_live_core_process()
 * from its audio callback, and forwards the host's notifications (period, rate,
 * freewheel, xruns, shutdown) to the core and to the main loop.
 *
 * Life cycle, all on the main (control) thread: open -> (the caller builds the
 * core for the rate and period open reported) -> start -> connect -> ...
 * status/latency_changed/finished while running ... -> close. Every operation:
 * Thread: main (the control thread). */
#ifndef CLV_LIVE_BACKEND_H
#define CLV_LIVE_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#include "clv_common.h"
#include "clv_live_core.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ClvLiveBackend ClvLiveBackend;

typedef struct {
    const char *client_name;  /* JACK client name (default "cleave") */
    const char *server_name;  /* JACK server; NULL = default (or $JACK_DEFAULT_SERVER) */
    const char *device;       /* PortAudio: device index or part of its name; NULL = default */
    const char *in_device;    /* PortAudio: input device, overrides device */
    const char *out_device;   /* PortAudio: output device, overrides device */
    int sample_rate;          /* PortAudio: requested rate, 0 = the device's default */
    int period;               /* PortAudio: frames per callback, 0 = 256 */
    const char *monitor;      /* PortAudio, two-channel outputs: "mix", "vocals" or "accomp" */
    int transport_reset;      /* JACK: clear history when the transport starts rolling */
    /* Called from backend threads (never the audio thread) when something needs
     * the main loop's attention; must be async-signal-safe-ish (write to a pipe). */
    void (*wake)(void *user);
    void *wake_user;
    ClvLog log;
} ClvLiveBackendConfig;

/* What open() found. */
typedef struct {
    int sample_rate;
    int period;           /* nominal frames per callback */
    int rt_priority;      /* audio thread's SCHED_FIFO priority, 0 if not realtime */
    char name[128];       /* client name as the server knows it, or the device name */
} ClvLiveStreamInfo;

/* Ports to connect (JACK). Each is a comma-separated list of one or two port
 * names, or NULL. system=1 connects the physical capture ports to the inputs and
 * the mix to the physical playback ports (unless named ports are given). */
typedef struct {
    int system;
    const char *inputs;
    const char *mix;
    const char *vocals;
    const char *accomp;
} ClvLiveConnections;

typedef struct {
    uint64_t xruns;          /* over/underruns the host reported */
    float host_load;         /* host's DSP load estimate, percent (-1 unknown) */
    int capture_latency;     /* frames between the inputs' sources and the inputs (max) */
    int playback_latency;    /* frames between the outputs and their destinations (max) */
    int period;              /* current frames per callback */
} ClvLiveBackendStatus;

typedef struct {
    const char *name; /* "jack", "portaudio" */
    /* Opens the audio system (not yet running). Problems are logged. */
    ClvStatus (*open)(const ClvLiveBackendConfig *cfg, ClvLiveBackend **out,
                      ClvLiveStreamInfo *info);
    /* Starts calling the core from the audio thread. */
    ClvStatus (*start)(ClvLiveBackend *b, ClvLiveCore *core);
    /* Makes the connections asked for (NULL when the backend has none). */
    ClvStatus (*connect)(ClvLiveBackend *b, const ClvLiveConnections *c);
    /* The core's latency changed: tell the host (off the audio thread). */
    void (*latency_changed)(ClvLiveBackend *b);
    void (*status)(ClvLiveBackend *b, ClvLiveBackendStatus *st);
    /* Nonzero once the audio system is gone (server shut down, device lost);
     * `why` receives the reason. */
    int (*finished)(ClvLiveBackend *b, char *why, size_t cap);
    /* Stops the audio thread and closes; NULL is a no-op. */
    void (*close)(ClvLiveBackend *b);
    /* Prints the devices (PortAudio) on f; NULL when the backend has none. */
    ClvStatus (*list_devices)(const ClvLiveBackendConfig *cfg, void *f);
} ClvLiveBackendOps;

#ifdef __cplusplus
}
#endif
#endif
