/* SPDX-License-Identifier: ISC */
/* The PortAudio backend of `cleave live`, for machines without JACK: one full-duplex
 * stream, device listing and selection. Compiled in when PortAudio is found
 * (CLV_HAVE_PORTAUDIO). */
#ifndef CLV_LIVE_PA_H
#define CLV_LIVE_PA_H

#include "clv_live_backend.h"

/* The backend's operations. Thread: any. */
const ClvLiveBackendOps *clv_live_pa_backend(void);

#endif
