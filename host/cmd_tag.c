/* SPDX-License-Identifier: ISC */
/* `cleave tag INPUT [--json] [--model FILE] [--threshold ON]`: rolling sound-event
 * tagging of an audio file.
 *
 * The file is read a block at a time (bounded memory), mixed to mono and fed to a
 * ClvTagger, which runs a step every 0.5 s over the last 3 s. Each step prints
 * the time and the tags whose score reaches the on-threshold; the end prints a
 * clip-level summary: for every label the mean of its step scores, each step
 * weighted by the share of its window that holds the file (the first steps of a
 * file see mostly the silence before it), plus the
 * events (onset/offset from the hysteresis). With --json every line is one JSON
 * object: per step {"t": <seconds>, "tags": {"<label>": <score>, ...}} and as the
 * last line {"summary": {"<label>": <score>, ...}} with every label. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clv_audiofile.h"
#include "clv_cli.h"
#include "clv_tagger.h"

#define TAG_BLOCK 4096
#define TAG_MAX_EVENTS 4096

typedef struct {
    const ClvTagger *tagger;
    int json;
    float on;
    long steps;
    double weight;                  /* sum of the steps' window fill */
    double sum[CLV_TAG_MAX_LABELS]; /* fill-weighted score sums */
    float max[CLV_TAG_MAX_LABELS];
    ClvTagEvent events[TAG_MAX_EVENTS];
    int n_events;
    long dropped_events;
} TagOut;

/* Labels are the model's; print them as JSON strings with the escapes JSON needs. */
static void json_string(const char *s)
{
    putchar('"');
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\') printf("\\%c", *p);
        else if (*p < 0x20) printf("\\u%04x", *p);
        else putchar(*p);
    }
    putchar('"');
}

static void on_step(void *user, const ClvTagStep *s)
{
    TagOut *o = user;
    const int n = s->n_labels;
    /* a step whose window is mostly the silence before the file counts less */
    const double w = s->fill > 0.02f ? s->fill : 0.02;
    for (int l = 0; l < n; l++) {
        o->sum[l] += w * s->score[l];
        if (s->score[l] > o->max[l]) o->max[l] = s->score[l];
    }
    o->weight += w;
    o->steps++;
    if (o->json) {
        printf("{\"t\": %.3f, \"tags\": {", s->t);
        int first = 1;
        for (int l = 0; l < n; l++) {
            if (s->score[l] < o->on) continue;
            if (!first) printf(", ");
            json_string(clv_tagger_label(o->tagger, l));
            printf(": %.4f", s->score[l]);
            first = 0;
        }
        printf("}}\n");
    } else {
        printf("%8.2f s ", s->t);
        int any = 0;
        for (int l = 0; l < n; l++) {
            if (s->score[l] < o->on) continue;
            printf(" %s %.2f", clv_tagger_label(o->tagger, l), s->score[l]);
            any = 1;
        }
        printf("%s\n", any ? "" : "  -");
    }
}

static void on_event(void *user, const ClvTagEvent *e)
{
    TagOut *o = user;
    if (e->offset < 0.0) return; /* keep closed events only */
    if (o->n_events < TAG_MAX_EVENTS) o->events[o->n_events++] = *e;
    else o->dropped_events++;
}

static void tag_help(FILE *f)
{
    fprintf(f,
            "Usage: cleave tag INPUT [--json] [--model FILE] [--threshold SCORE]\n"
            "\n"
            "Tags what is heard in INPUT (any rate libsndfile reads, mono or stereo):\n"
            "the ten UrbanSound8K classes (air_conditioner, car_horn, children_playing,\n"
            "dog_bark, drilling, engine_idling, gun_shot, jackhammer, siren, street_music)\n"
            "plus speech, singing and music. Every 0.5 s the last 3 s are scored; each step\n"
            "prints its time and the tags whose score reaches the threshold, then a summary\n"
            "gives every label's clip score (mean over the steps, weighted by how much of\n"
            "each step's window held the file) and the detected events.\n"
            "\n"
            "  --json             one JSON object per line: {\"t\": SECONDS, \"tags\": {LABEL:\n"
            "                     SCORE, ...}} per step, and last {\"summary\": {LABEL: SCORE,\n"
            "                     ...}} with every label\n"
            "  --model FILE       tagger model file (default: the shipped tagger.clvm)\n"
            "  --threshold SCORE  score a tag must reach to be printed and to start an\n"
            "                     event, 0.01..0.99 (default: the model's, 0.5)\n");
}

int clv_cmd_tag(int argc, char **argv)
{
    if (clv_cli_wants_help(argc, argv)) {
        tag_help(stdout);
        return CLV_EXIT_OK;
    }
    static const struct option opts[] = {
        {"json", no_argument, NULL, 'j'},
        {"model", required_argument, NULL, 'm'},
        {"threshold", required_argument, NULL, 't'},
        {NULL, 0, NULL, 0},
    };
    int json = 0;
    const char *model = NULL;
    double thr = -1.0;
    optind = 1;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
        switch (c) {
        case 'j': json = 1; break;
        case 'm': model = optarg; break;
        case 't':
            if (clv_cli_parse_double(optarg, 0.01, 0.99, &thr) != 0)
                return clv_cli_usage_error("tag", "--threshold takes a number from 0.01 to 0.99, "
                                           "not '%s'", optarg);
            break;
        case ':':
            return clv_cli_usage_error("tag", "option '%s' needs a value", argv[optind - 1]);
        default:
            return clv_cli_usage_error("tag", "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind >= argc) return clv_cli_usage_error("tag", "no INPUT file given");
    if (optind + 1 < argc) return clv_cli_usage_error("tag", "unexpected argument '%s'", argv[optind + 1]);
    const char *input = argv[optind];

    ClvLog log = clv_cli_log();
    char path[1200];
    if (!model) {
        if (clv_tagger_find_default(path, sizeof path) != CLV_OK) {
            clv_cli_error("the shipped tagger %s was not found (set CLV_MODEL_DIR or use --model)",
                          CLV_TAGGER_DEFAULT_FILE);
            return CLV_EXIT_FAIL;
        }
        model = path;
    }
    ClvAudioReader *rd = NULL;
    ClvAudioInfo info;
    if (clv_audio_reader_open(input, &log, &rd, &info) != CLV_OK) {
        if (!clv_cli_errors_printed()) clv_cli_error("%s: cannot read this file", input);
        return CLV_EXIT_FAIL;
    }
    ClvTagger *tg = NULL;
    ClvStatus st = clv_tagger_new(model, info.sample_rate, &log, &tg);
    if (st != CLV_OK) {
        if (!clv_cli_errors_printed()) clv_cli_error("%s: %s", model, clv_strerror(st));
        clv_audio_reader_free(rd);
        return CLV_EXIT_FAIL;
    }
    TagOut *o = calloc(1, sizeof *o);
    float *buf = malloc(sizeof(float) * TAG_BLOCK * (size_t)info.channels);
    float *mono = malloc(sizeof(float) * TAG_BLOCK);
    if (!o || !buf || !mono) {
        clv_cli_error("out of memory");
        free(o);
        free(buf);
        free(mono);
        clv_tagger_free(tg);
        clv_audio_reader_free(rd);
        return CLV_EXIT_FAIL;
    }
    if (thr > 0.0) {
        /* keep the model's ratio of off- to on-threshold */
        const float ratio = clv_tagger_threshold_off(tg) / clv_tagger_threshold_on(tg);
        clv_tagger_set_thresholds(tg, (float)thr, (float)thr * ratio);
    }
    o->tagger = tg;
    o->json = json;
    o->on = clv_tagger_threshold_on(tg);
    const int nl = clv_tagger_label_count(tg);
    int rc = CLV_EXIT_OK;
    for (;;) {
        int got = 0;
        st = clv_audio_reader_read(rd, buf, TAG_BLOCK, &got);
        if (st != CLV_OK) {
            if (!clv_cli_errors_printed()) clv_cli_error("%s: %s", input, clv_strerror(st));
            rc = CLV_EXIT_FAIL;
            break;
        }
        if (got == 0) break;
        for (int i = 0; i < got; i++) {
            float v = 0.0f;
            for (int ch = 0; ch < info.channels; ch++) v += buf[(size_t)i * info.channels + ch];
            mono[i] = v / (float)info.channels;
        }
        clv_tagger_feed(tg, mono, got, on_step, on_event, o);
    }
    if (rc == CLV_EXIT_OK) {
        clv_tagger_finish(tg, on_step, on_event, o);
        const double n = o->weight > 0.0 ? o->weight : 1.0;
        if (json) {
            printf("{\"summary\": {");
            for (int l = 0; l < nl; l++) {
                if (l) printf(", ");
                json_string(clv_tagger_label(tg, l));
                printf(": %.4f", o->sum[l] / n);
            }
            printf("}}\n");
        } else {
            printf("\nSummary of %s (%ld steps; clip score = mean of step scores weighted by "
                   "how much of the window held the file, peak = max):\n",
                   input, o->steps);
            int order[CLV_TAG_MAX_LABELS];
            for (int l = 0; l < nl; l++) order[l] = l;
            for (int i = 1; i < nl; i++) /* insertion sort by clip score, highest first */
                for (int j = i; j > 0 && o->sum[order[j]] > o->sum[order[j - 1]]; j--) {
                    int s = order[j];
                    order[j] = order[j - 1];
                    order[j - 1] = s;
                }
            for (int i = 0; i < nl; i++) {
                const int l = order[i];
                printf("  %-17s %.3f  (peak %.3f)\n", clv_tagger_label(tg, l), o->sum[l] / n,
                       o->max[l]);
            }
            printf("Events (onset - offset, s):\n");
            if (o->n_events == 0) printf("  none\n");
            for (int i = 0; i < o->n_events; i++) {
                const ClvTagEvent *e = &o->events[i];
                printf("  %-17s %7.2f - %7.2f  (peak %.2f)\n", clv_tagger_label(tg, e->label),
                       e->onset, e->offset, e->peak);
            }
            if (o->dropped_events) printf("  (%ld more not shown)\n", o->dropped_events);
        }
        if (fflush(stdout) != 0) {
            clv_cli_error("cannot write the output");
            rc = CLV_EXIT_FAIL;
        }
    }
    free(o);
    free(buf);
    free(mono);
    clv_tagger_free(tg);
    clv_audio_reader_free(rd);
    return rc;
}
