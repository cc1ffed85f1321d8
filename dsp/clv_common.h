/* SPDX-License-Identifier: ISC */
/* Shared definitions: status codes, logging callback, realtime marker. */
#ifndef CLV_COMMON_H
#define CLV_COMMON_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Marks functions that are safe to call from the audio thread:
 * no allocation, no locks, no I/O, bounded time. */
#define CLV_RT

/* One status enum for the whole library. */
typedef enum {
    CLV_OK = 0,
    CLV_ERR_NOMEM,       /* allocation failed */
    CLV_ERR_INVALID,     /* argument out of range */
    CLV_ERR_IO,          /* file could not be opened, read or written */
    CLV_ERR_FORMAT,      /* data is not in the expected format */
    CLV_ERR_UNSUPPORTED, /* valid, but not something cleave handles */
    CLV_ERR_CHECKSUM,    /* stored checksum does not match the data */
    CLV_ERR_SHAPE,       /* tensor shape does not match what the network expects */
    CLV_ERR_NOT_FOUND,   /* named item (model, tensor, file) does not exist */
    CLV_ERR_THREAD,      /* worker thread could not be started */
    CLV_ERR_STATE,       /* call not valid in the current state */
    CLV_STATUS_COUNT
} ClvStatus;

/* Human-readable text for a status. Never NULL. Thread: any. */
const char *clv_strerror(ClvStatus st);

/* Log levels for ClvLogFn. */
typedef enum { CLV_LOG_ERROR = 0, CLV_LOG_WARNING, CLV_LOG_INFO, CLV_LOG_DEBUG } ClvLogLevel;

/* Logging callback the host or plugin provides. Library code never prints.
 * Called from non-realtime threads only. */
typedef void (*ClvLogFn)(void *user, ClvLogLevel level, const char *msg);

/* A logger: function plus its context. fn may be NULL (silence). */
typedef struct {
    ClvLogFn fn;
    void *user;
} ClvLog;

/* printf-style logging through a ClvLog. Thread: non-RT. */
void clv_log(const ClvLog *log, ClvLogLevel level, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* Clamp helper for control values; NaN maps to lo. Thread: any. */
static inline float clv_clampf(float x, float lo, float hi)
{
    if (!(x >= lo)) return lo; /* also catches NaN */
    if (x > hi) return hi;
    return x;
}

#ifdef __cplusplus
}
#endif
#endif
