/* SPDX-License-Identifier: ISC */
/* The JACK backend of `cleave live`: ports in_L/in_R, mix_L/R, vocals_L/R,
 * accomp_L/R; latency, buffer-size, sample-rate, xrun, freewheel and shutdown
 * callbacks. Compiled in when libjack is found (CLV_HAVE_JACK). */
#ifndef CLV_LIVE_JACK_H
#define CLV_LIVE_JACK_H

#include "clv_live_backend.h"

/* The backend's operations. Thread: any. */
const ClvLiveBackendOps *clv_live_jack_backend(void);

#endif
