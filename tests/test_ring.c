/* SPDX-License-Identifier: ISC */
/* Ring: single-thread semantics, then a two-thread stress test with millions of
 * messages whose order and full contents are checked by the consumer. */
#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include "clv_ring.h"
#include "clv_test.h"

#define N_MSG 3000000u
#define WORDS 6

typedef struct {
    uint64_t seq;
    uint64_t words[WORDS];
} Msg;

static void fill(Msg *m, uint64_t seq)
{
    m->seq = seq;
    for (int i = 0; i < WORDS; i++) m->words[i] = seq * 2654435761u + (uint64_t)i * 0x9E3779B97F4A7C15ull;
}

static void *producer(void *arg)
{
    ClvRing *r = arg;
    for (uint64_t s = 0; s < N_MSG;) {
        Msg *slot = clv_ring_write_begin(r);
        if (!slot) continue; /* spin: the test wants maximum contention */
        fill(slot, s);
        clv_ring_write_commit(r);
        s++;
    }
    return NULL;
}

int main(void)
{
    ClvRing *r;
    CHECK(clv_ring_new(0, 4, &r) == CLV_ERR_INVALID, "zero-size messages accepted");
    CHECK(clv_ring_new(sizeof(Msg), 5, &r) == CLV_OK, "create");
    CHECK(clv_ring_capacity(r) == 8, "capacity rounds to a power of two: %zu", clv_ring_capacity(r));
    Msg m, o;
    for (uint64_t i = 0; i < 8; i++) {
        fill(&m, i);
        CHECK(clv_ring_write(r, &m) == 1, "write %d", (int)i);
    }
    CHECK(clv_ring_write(r, &m) == 0, "write to a full ring succeeded");
    CHECK(clv_ring_count(r) == 8, "count %zu", clv_ring_count(r));
    for (uint64_t i = 0; i < 8; i++) {
        CHECK(clv_ring_read(r, &o) == 1 && o.seq == i, "read %d", (int)i);
    }
    CHECK(clv_ring_read(r, &o) == 0, "read from an empty ring succeeded");
    clv_ring_free(r);
    clv_ring_free(NULL);

    CHECK(clv_ring_new(sizeof(Msg), 64, &r) == CLV_OK, "create");
    pthread_t th;
    pthread_create(&th, NULL, producer, r);
    uint64_t expect = 0, bad = 0;
    while (expect < N_MSG) {
        const Msg *in = clv_ring_read_begin(r);
        if (!in) continue;
        Msg want;
        fill(&want, expect);
        if (memcmp(in, &want, sizeof want) != 0) bad++;
        clv_ring_read_commit(r);
        expect++;
    }
    pthread_join(th, NULL);
    CHECK(bad == 0, "%llu of %u messages arrived out of order or torn", (unsigned long long)bad, N_MSG);
    CHECK(clv_ring_count(r) == 0, "ring not empty at the end");
    clv_ring_free(r);
    TEST_DONE();
}
