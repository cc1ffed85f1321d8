/* SPDX-License-Identifier: ISC */
/* models/clv_tagger: rolling scores against PyTorch (golden, by maximum error),
 * block-size invariance, other host rates, hysteresis events, no allocation while
 * feeding, bad model files and bad input.
 *
 * argv[1]: the shipped models/tagger.clvm; argv[2]: a scratch directory. The golden
 * scores (tests/golden/tagger_golden.h, for the test signal of
 * models/train/tag_golden_mel.py at TAG_GOLDEN_N samples) are written by models/train/export_tag.py
 * together with the model file. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clv_tagger.h"
#include "clv_test.h"
#include "golden/tagger_golden.h"

/* Allocation trap: the test links with -Wl,--wrap for these, so every call from
 * the cleave libraries (static) is counted while `trap` is set. */
void *__real_malloc(size_t n);
void *__real_calloc(size_t a, size_t b);
void *__real_realloc(void *p, size_t n);
void __real_free(void *p);
static int trap, trapped;
void *__wrap_malloc(size_t n) { trapped += trap; return __real_malloc(n); }
void *__wrap_calloc(size_t a, size_t b) { trapped += trap; return __real_calloc(a, b); }
void *__wrap_realloc(void *p, size_t n) { trapped += trap; return __real_realloc(p, n); }
void __wrap_free(void *p) { trapped += trap && p; __real_free(p); }

static void make_signal(float *x, int n)
{
    uint32_t st = 12345;
    for (int i = 0; i < n; i++) {
        st = st * 1664525u + 1013904223u;
        const double noise = (double)(st >> 8) / 16777216.0 * 2.0 - 1.0;
        double v = 0.3 * sin(2 * M_PI * 440.0 * i / 16000.0) +
                   0.1 * sin(2 * M_PI * (1000.0 + 2000.0 * i / n) * i / 16000.0) + 0.05 * noise;
        if (i >= 8000 && i < 10000) v = 0.0;
        if (i >= 16000 && i < 17000) v *= 3.0;
        x[i] = (float)v;
    }
}

#define MAX_STEPS 256
typedef struct {
    int n;
    double t[MAX_STEPS];
    float score[MAX_STEPS][CLV_TAG_MAX_LABELS];
    int events_on, events_off;
    int bad_event;
} Steps;

static void on_step(void *user, const ClvTagStep *s)
{
    Steps *st = user;
    if (st->n < MAX_STEPS) {
        st->t[st->n] = s->t;
        memcpy(st->score[st->n], s->score, sizeof s->score);
    }
    st->n++;
}

static void on_event(void *user, const ClvTagEvent *e)
{
    Steps *st = user;
    if (e->offset < 0) st->events_on++;
    else {
        st->events_off++;
        if (e->offset < e->onset || e->onset < 0 || !(e->peak >= 0 && e->peak <= 1)) st->bad_event++;
    }
}

static void feed_blocks(ClvTagger *t, const float *x, int n, int block, Steps *s)
{
    for (int i = 0; i < n; i += block)
        clv_tagger_feed(t, x + i, n - i < block ? n - i : block, on_step, on_event, s);
}

static void write_file(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f) return;
    fwrite(data, 1, n, f);
    fclose(f);
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: test_tagger MODEL.clvm SCRATCH_DIR\n");
        return 1;
    }
    const char *model = argv[1];
    ClvTagger *t = NULL;
    ClvStatus st = clv_tagger_new(model, 16000, NULL, &t);
    CHECK(st == CLV_OK, "load %s: %s", model, clv_strerror(st));
    if (!t) TEST_DONE();
    CHECK(clv_tagger_label_count(t) == TAG_GOLDEN_LABELS, "labels %d", clv_tagger_label_count(t));
    CHECK(strcmp(clv_tagger_label(t, 0), "air_conditioner") == 0, "label 0 %s", clv_tagger_label(t, 0));
    CHECK(strcmp(clv_tagger_label(t, 10), "speech") == 0, "label 10");
    CHECK(fabs(clv_tagger_step_seconds(t) - 0.5) < 1e-9, "step %g s", clv_tagger_step_seconds(t));
    CHECK(clv_tagger_window_seconds(t) >= 1.0 && clv_tagger_window_seconds(t) <= 4.0, "window");

    const int n = TAG_GOLDEN_N;
    float *x = malloc(sizeof(float) * (size_t)(n > 96000 ? n : 96000));
    make_signal(x, n);
    Steps *ref = calloc(1, sizeof *ref), *s = calloc(1, sizeof *s);

    /* golden: the PyTorch rolling scores */
    feed_blocks(t, x, n, n, ref);
    clv_tagger_finish(t, on_step, on_event, ref);
    CHECK(ref->n == TAG_GOLDEN_STEPS, "%d steps, expected %d", ref->n, TAG_GOLDEN_STEPS);
    double max_err = 0.0;
    for (int k = 0; k < ref->n && k < TAG_GOLDEN_STEPS; k++) {
        const double te = tag_golden_end_frame[k] * 320.0 / 16000.0;
        CHECK(fabs(ref->t[k] - te) < 1e-9, "step %d at %g s, expected %g s", k, ref->t[k], te);
        for (int l = 0; l < TAG_GOLDEN_LABELS; l++) {
            const double e = fabs((double)ref->score[k][l] - tag_golden_scores[k * TAG_GOLDEN_LABELS + l]);
            if (!(e <= max_err)) max_err = isnan(e) ? INFINITY : e;
        }
    }
    printf("tagger golden: %d steps x %d labels, max abs score error %.3g\n", ref->n,
           TAG_GOLDEN_LABELS, max_err);
    CHECK(max_err < 1e-4, "max score error %g against PyTorch", max_err);

    /* block-size invariance and no allocation while feeding */
    const int blocks[] = {1, 7, 64, 4096};
    for (size_t b = 0; b < sizeof blocks / sizeof blocks[0]; b++) {
        clv_tagger_reset(t);
        memset(s, 0, sizeof *s);
        trapped = 0;
        trap = 1;
        feed_blocks(t, x, n, blocks[b], s);
        clv_tagger_finish(t, on_step, on_event, s);
        trap = 0;
        CHECK(trapped == 0, "block %d: %d allocator calls while feeding", blocks[b], trapped);
        CHECK(s->n == ref->n, "block %d: %d steps", blocks[b], s->n);
        int same = s->n == ref->n;
        for (int k = 0; same && k < s->n && k < MAX_STEPS; k++)
            same = memcmp(s->score[k], ref->score[k], sizeof s->score[k]) == 0;
        CHECK(same, "block %d: scores differ from one call", blocks[b]);
    }

    /* hysteresis: with a tiny on-threshold everything switches on; finish closes
     * every open event at the end; on and off events pair up */
    clv_tagger_set_thresholds(t, 0.0f, 0.0f);
    CHECK(clv_tagger_threshold_on(t) >= 0.01f && clv_tagger_threshold_off(t) <= clv_tagger_threshold_on(t),
          "thresholds clamped");
    clv_tagger_reset(t);
    memset(s, 0, sizeof *s);
    feed_blocks(t, x, n, 512, s);
    clv_tagger_finish(t, on_step, on_event, s);
    CHECK(s->events_on >= TAG_GOLDEN_LABELS, "%d events on", s->events_on);
    CHECK(s->events_off == s->events_on, "%d off for %d on", s->events_off, s->events_on);
    CHECK(s->bad_event == 0, "%d events with bad times", s->bad_event);
    clv_tagger_set_thresholds(t, 0.5f, 0.3f);

    /* NaN and huge input: finite scores in range */
    clv_tagger_reset(t);
    memset(s, 0, sizeof *s);
    for (int i = 0; i < n; i++) x[i] = (i % 3) ? NAN : (i % 2 ? INFINITY : 1e30f);
    feed_blocks(t, x, n, 1000, s);
    clv_tagger_finish(t, on_step, on_event, s);
    int finite = s->n > 0;
    for (int k = 0; k < s->n && k < MAX_STEPS; k++)
        for (int l = 0; l < TAG_GOLDEN_LABELS; l++)
            finite &= s->score[k][l] >= 0.0f && s->score[k][l] <= 1.0f;
    CHECK(finite, "NaN/inf input gave scores outside 0..1");

    /* empty input still gives one step (the summary needs it) */
    clv_tagger_reset(t);
    memset(s, 0, sizeof *s);
    clv_tagger_finish(t, on_step, on_event, s);
    CHECK(s->n == 1 && s->t[0] == 0.0, "empty input: %d steps", s->n);
    clv_tagger_free(t);

    /* other host rates: steps still every 0.5 s of input, one resampler */
    const int rates[] = {8000, 44100, 48000};
    for (size_t r = 0; r < 3; r++) {
        t = NULL;
        st = clv_tagger_new(model, rates[r], NULL, &t);
        CHECK(st == CLV_OK, "rate %d: %s", rates[r], clv_strerror(st));
        if (!t) continue;
        const int len = rates[r] * 2; /* 2 s of a 440 Hz tone */
        for (int i = 0; i < len; i++) x[i] = 0.3f * (float)sin(2 * M_PI * 440.0 * i / rates[r]);
        memset(s, 0, sizeof *s);
        trapped = 0;
        trap = 1;
        feed_blocks(t, x, len, 333, s);
        trap = 0;
        CHECK(trapped == 0, "rate %d: %d allocator calls while feeding", rates[r], trapped);
        clv_tagger_finish(t, on_step, on_event, s);
        CHECK(s->n >= 4 && s->n <= 5, "rate %d: %d steps for 2 s", rates[r], s->n);
        CHECK(s->n >= 4 && fabs(s->t[3] - 2.0) < 1e-9, "rate %d: 4th step at %g s", rates[r],
              s->n >= 4 ? s->t[3] : -1.0);
        clv_tagger_free(t);
    }

    /* bad model files: missing, empty, truncated, corrupted, not a tagger */
    char path[1024];
    t = NULL;
    CHECK(clv_tagger_new("/nonexistent/tagger.clvm", 16000, NULL, &t) != CLV_OK && !t, "missing file");
    CHECK(clv_tagger_new(model, 1000, NULL, &t) == CLV_ERR_UNSUPPORTED && !t, "rate 1000");
    CHECK(clv_tagger_new(model, 16000, NULL, NULL) == CLV_ERR_INVALID, "NULL out");
    FILE *f = fopen(model, "rb");
    unsigned char *img = NULL;
    long sz = 0;
    if (f) {
        fseek(f, 0, SEEK_END);
        sz = ftell(f);
        fseek(f, 0, SEEK_SET);
        img = malloc((size_t)sz);
        if (img && fread(img, 1, (size_t)sz, f) != (size_t)sz) sz = 0;
        fclose(f);
    }
    CHECK(img && sz > 1024, "read model image");
    if (img && sz > 1024) {
        snprintf(path, sizeof path, "%s/tagger_bad.clvm", argv[2]);
        write_file(path, img, 0);
        CHECK(clv_tagger_new(path, 16000, NULL, &t) != CLV_OK && !t, "empty file");
        write_file(path, img, (size_t)sz / 2);
        CHECK(clv_tagger_new(path, 16000, NULL, &t) != CLV_OK && !t, "truncated file");
        img[sz - 100] ^= 0x5a; /* inside the last tensor: checksum */
        write_file(path, img, (size_t)sz);
        CHECK(clv_tagger_new(path, 16000, NULL, &t) != CLV_OK && !t, "corrupted tensor data");
        img[sz - 100] ^= 0x5a;
        memcpy(img, "XXXX", 4);
        write_file(path, img, (size_t)sz);
        CHECK(clv_tagger_new(path, 16000, NULL, &t) != CLV_OK && !t, "bad magic");
        remove(path);
    }
    free(img);
    free(x);
    free(ref);
    free(s);
    TEST_DONE();
}
