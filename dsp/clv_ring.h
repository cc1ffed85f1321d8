/* SPDX-License-Identifier: ISC */
/* Single-producer/single-consumer ring of fixed-size messages.
 *
 * The producer fills a slot in place (write_begin), then publishes it whole with
 * one release store (write_commit); the consumer sees either the whole message or
 * nothing. Exactly one thread may produce and one thread may consume. */
#ifndef CLV_RING_H
#define CLV_RING_H

#include <stddef.h>

#include "clv_common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ClvRingImpl ClvRing;

/* Creates a ring of `slots` messages of `msg_size` bytes each (slots is rounded up
 * to a power of two; slots >= 1). Thread: non-RT. */
ClvStatus clv_ring_new(size_t msg_size, size_t slots, ClvRing **out);
/* Frees the ring; NULL is a no-op. Thread: non-RT, with both ends idle. */
void clv_ring_free(ClvRing *r);

/* Producer: pointer to the next free slot, or NULL when full. Thread: producer. */
CLV_RT void *clv_ring_write_begin(ClvRing *r);
/* Producer: publishes the slot returned by write_begin. Thread: producer. */
CLV_RT void clv_ring_write_commit(ClvRing *r);
/* Producer: copies msg (msg_size bytes) in and publishes; 0 when full. */
CLV_RT int clv_ring_write(ClvRing *r, const void *msg);

/* Consumer: pointer to the oldest message, or NULL when empty. Thread: consumer. */
CLV_RT const void *clv_ring_read_begin(ClvRing *r);
/* Consumer: releases the message returned by read_begin. Thread: consumer. */
CLV_RT void clv_ring_read_commit(ClvRing *r);
/* Consumer: copies the oldest message out and releases it; 0 when empty. */
CLV_RT int clv_ring_read(ClvRing *r, void *msg);

/* Messages waiting (a snapshot). Thread: either end. */
CLV_RT size_t clv_ring_count(const ClvRing *r);
/* Capacity in messages and message size in bytes (fixed at creation). Thread: any. */
size_t clv_ring_capacity(const ClvRing *r);
size_t clv_ring_msg_size(const ClvRing *r);

/* Drops everything waiting. Thread: consumer. */
CLV_RT void clv_ring_clear(ClvRing *r);

#ifdef __cplusplus
}
#endif
#endif
