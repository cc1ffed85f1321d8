/* SPDX-License-Identifier: ISC */
/* models/clv_tag_runner: the worker thread gives the same steps as feeding the
 * tagger directly; pushing from the "audio" thread never allocates; a stalled
 * consumer loses results without blocking; drops are counted.
 * argv[1]: the tagger model file. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clv_tag_runner.h"
#include "clv_test.h"

void *__real_malloc(size_t n);
void *__real_calloc(size_t a, size_t b);
void *__real_realloc(void *p, size_t n);
void __real_free(void *p);
static _Thread_local int trap;
static int trapped;
void *__wrap_malloc(size_t n) { trapped += trap; return __real_malloc(n); }
void *__wrap_calloc(size_t a, size_t b) { trapped += trap; return __real_calloc(a, b); }
void *__wrap_realloc(void *p, size_t n) { trapped += trap; return __real_realloc(p, n); }
void __wrap_free(void *p) { trapped += trap && p; __real_free(p); }

#define MAX_STEPS 64
typedef struct {
    int n;
    ClvTagStep s[MAX_STEPS];
} Steps;

static void on_step(void *u, const ClvTagStep *s)
{
    Steps *st = u;
    if (st->n < MAX_STEPS) st->s[st->n] = *s;
    st->n++;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: test_tag_runner MODEL.clvm\n");
        return 1;
    }
    /* 5 s and a bit, a whole number of runner blocks (256): 10 steps */
    const int rate = 16000, n = 313 * 256;
    float *x = malloc(sizeof(float) * (size_t)n);
    uint32_t st = 7;
    for (int i = 0; i < n; i++) {
        st = st * 1664525u + 1013904223u;
        x[i] = (float)(0.2 * sin(2 * M_PI * 523.0 * i / rate) + 0.05 * ((st >> 8) / 8388608.0 - 1.0));
    }
    /* reference: the tagger fed directly */
    Steps *ref = calloc(1, sizeof *ref);
    ClvTagger *t = NULL;
    CHECK(clv_tagger_new(argv[1], rate, NULL, &t) == CLV_OK, "load");
    if (!t) TEST_DONE();
    clv_tagger_feed(t, x, n, on_step, NULL, ref);
    clv_tagger_free(t);
    CHECK(ref->n == 10, "%d reference steps", ref->n);

    ClvTagRunner *r = NULL;
    CHECK(clv_tag_runner_new(argv[1], rate, 10.0, NULL, &r) == CLV_OK && r, "runner");
    if (!r) TEST_DONE();
    trapped = 0;
    trap = 1;
    int dropped = 0;
    for (int i = 0; i < n; i += 64) dropped += clv_tag_runner_push(r, x + i, n - i < 64 ? n - i : 64);
    trap = 0;
    CHECK(trapped == 0, "%d allocator calls on the pushing thread", trapped);
    CHECK(dropped == 0, "%d samples dropped with a 10 s ring", dropped);
    clv_tag_runner_drain(r);
    Steps *got = calloc(1, sizeof *got);
    ClvTagStep s;
    while (clv_tag_runner_poll_step(r, &s)) on_step(got, &s);
    CHECK(got->n == ref->n, "%d steps from the worker, %d direct", got->n, ref->n);
    for (int k = 0; k < got->n && k < ref->n && k < MAX_STEPS; k++) {
        CHECK(got->s[k].t == ref->s[k].t, "step %d time %g vs %g", k, got->s[k].t, ref->s[k].t);
        CHECK(memcmp(got->s[k].score, ref->s[k].score, sizeof s.score) == 0, "step %d scores", k);
    }
    CHECK(clv_tag_runner_dropped_samples(r) == 0, "drop counter");
    clv_tag_runner_free(r);

    /* a tiny ring and a burst far larger than it: drops are counted, push never blocks */
    CHECK(clv_tag_runner_new(argv[1], rate, 0.1, NULL, &r) == CLV_OK && r, "small runner");
    if (r) {
        dropped = clv_tag_runner_push(r, x, n);
        CHECK(dropped > 0 && (uint64_t)dropped == clv_tag_runner_dropped_samples(r),
              "burst: %d dropped, counter %llu", dropped,
              (unsigned long long)clv_tag_runner_dropped_samples(r));
        clv_tag_runner_drain(r);
        clv_tag_runner_free(r);
    }
    CHECK(clv_tag_runner_new("/nonexistent.clvm", rate, 1.0, NULL, &r) != CLV_OK && !r, "missing model");
    clv_tag_runner_free(NULL);
    free(x);
    free(ref);
    free(got);
    TEST_DONE();
}
