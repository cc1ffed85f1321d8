/* SPDX-License-Identifier: ISC */
/* Status strings and the logging helper. */
#include "clv_common.h"

#include <stdarg.h>
#include <stdio.h>

const char *clv_strerror(ClvStatus st)
{
    switch (st) {
    case CLV_OK: return "success";
    case CLV_ERR_NOMEM: return "out of memory";
    case CLV_ERR_INVALID: return "invalid argument";
    case CLV_ERR_IO: return "input/output error";
    case CLV_ERR_FORMAT: return "malformed data";
    case CLV_ERR_UNSUPPORTED: return "unsupported";
    case CLV_ERR_CHECKSUM: return "checksum mismatch";
    case CLV_ERR_SHAPE: return "tensor shape mismatch";
    case CLV_ERR_NOT_FOUND: return "not found";
    case CLV_ERR_THREAD: return "could not start thread";
    case CLV_ERR_STATE: return "invalid state";
    case CLV_STATUS_COUNT: break;
    }
    return "unknown error";
}

void clv_log(const ClvLog *log, ClvLogLevel level, const char *fmt, ...)
{
    if (!log || !log->fn) return;
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    log->fn(log->user, level, buf);
}
