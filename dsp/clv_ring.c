/* SPDX-License-Identifier: ISC */
/* SPSC message ring.
 *
 * head counts messages written, tail counts messages read; both only grow and wrap
 * modulo 2^N naturally (size_t). The producer owns head, the consumer owns tail.
 * The producer reads tail with acquire (so the consumer is done with the slot before
 * we overwrite it) and stores head with release (so the slot contents are visible
 * before the consumer sees the new head). The consumer mirrors this. Each index
 * sits on its own cache line to avoid false sharing. */
#include "clv_ring.h"

#include <stdalign.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct ClvRingImpl {
    alignas(64) atomic_size_t head;
    alignas(64) atomic_size_t tail;
    alignas(64) size_t mask;
    size_t msg_size;
    size_t stride;
    unsigned char *data;
};

ClvStatus clv_ring_new(size_t msg_size, size_t slots, ClvRing **out)
{
    *out = NULL;
    if (msg_size == 0 || slots == 0 || slots > ((size_t)1 << 30)) return CLV_ERR_INVALID;
    size_t n = 1;
    while (n < slots) n <<= 1;
    size_t stride = (msg_size + 15u) & ~(size_t)15u;
    if (stride > SIZE_MAX / 2 / n) return CLV_ERR_INVALID;
    ClvRing *r = aligned_alloc(64, sizeof *r);
    if (!r) return CLV_ERR_NOMEM;
    memset(r, 0, sizeof *r);
    r->data = aligned_alloc(64, ((stride * n) + 63u) & ~(size_t)63u);
    if (!r->data) {
        free(r);
        return CLV_ERR_NOMEM;
    }
    memset(r->data, 0, stride * n);
    atomic_init(&r->head, 0);
    atomic_init(&r->tail, 0);
    r->mask = n - 1;
    r->msg_size = msg_size;
    r->stride = stride;
    *out = r;
    return CLV_OK;
}

void clv_ring_free(ClvRing *r)
{
    if (!r) return;
    free(r->data);
    free(r);
}

void *clv_ring_write_begin(ClvRing *r)
{
    size_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
    size_t tail = atomic_load_explicit(&r->tail, memory_order_acquire);
    if (head - tail > r->mask) return NULL;
    return r->data + (head & r->mask) * r->stride;
}

void clv_ring_write_commit(ClvRing *r)
{
    size_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
    atomic_store_explicit(&r->head, head + 1, memory_order_release);
}

int clv_ring_write(ClvRing *r, const void *msg)
{
    void *slot = clv_ring_write_begin(r);
    if (!slot) return 0;
    memcpy(slot, msg, r->msg_size);
    clv_ring_write_commit(r);
    return 1;
}

const void *clv_ring_read_begin(ClvRing *r)
{
    size_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
    size_t head = atomic_load_explicit(&r->head, memory_order_acquire);
    if (head == tail) return NULL;
    return r->data + (tail & r->mask) * r->stride;
}

void clv_ring_read_commit(ClvRing *r)
{
    size_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
    atomic_store_explicit(&r->tail, tail + 1, memory_order_release);
}

int clv_ring_read(ClvRing *r, void *msg)
{
    const void *slot = clv_ring_read_begin(r);
    if (!slot) return 0;
    memcpy(msg, slot, r->msg_size);
    clv_ring_read_commit(r);
    return 1;
}

size_t clv_ring_count(const ClvRing *r)
{
    size_t head = atomic_load_explicit(&r->head, memory_order_acquire);
    size_t tail = atomic_load_explicit(&r->tail, memory_order_acquire);
    return head - tail;
}

size_t clv_ring_capacity(const ClvRing *r) { return r->mask + 1; }
size_t clv_ring_msg_size(const ClvRing *r) { return r->msg_size; }

void clv_ring_clear(ClvRing *r)
{
    size_t head = atomic_load_explicit(&r->head, memory_order_acquire);
    atomic_store_explicit(&r->tail, head, memory_order_release);
}
