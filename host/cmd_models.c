/* SPDX-License-Identifier: ISC */
/* `cleave models`: the separators and taggers the registry knows.
 *
 * Each separator is created once per operating point at 44.1 kHz stereo to read
 * its real latency (nothing is hard-coded here). A separator that cannot be
 * created (its model file is missing or bad) is listed as unavailable with the
 * reason, and the command still succeeds. */
#include <stdio.h>
#include <string.h>

#include "clv_cli.h"

#define PROBE_RATE 44100

/* Keeps the first error message of a probe instead of printing it. */
typedef struct {
    char msg[256];
} Capture;

static void capture_fn(void *user, ClvLogLevel level, const char *msg)
{
    Capture *c = user;
    if (level == CLV_LOG_ERROR && !c->msg[0]) snprintf(c->msg, sizeof c->msg, "%s", msg);
}

/* Separator latency the engine adds before its block headroom: the separator's
 * own delay plus one hop of collection. */
static int probe(const char *name, ClvOperatingPoint op, int *latency, char *why, size_t whylen)
{
    Capture cap = { { 0 } };
    ClvLog log = { capture_fn, &cap };
    ClvSeparator *sep = NULL;
    ClvStatus st = clv_separator_create(name, PROBE_RATE, 2, op, &log, &sep);
    if (st != CLV_OK) {
        snprintf(why, whylen, "%s", cap.msg[0] ? cap.msg : clv_strerror(st));
        return -1;
    }
    *latency = sep->latency + sep->hop;
    clv_separator_free(sep);
    return 0;
}

static void models_help(FILE *f)
{
    fprintf(f, "Usage: cleave models\n"
               "\n"
               "Lists the separators (for 'cleave separate --model') and taggers cleave knows,\n"
               "with their latency at %d Hz for each operating point (--op quality and\n"
               "--op low-latency) and the sample rate they run at. The engine adds one host\n"
               "block of headroom on top of the latency shown. Model files are looked up in\n"
               "$CLV_MODEL_DIR, the install directory and the source tree's models/.\n",
            PROBE_RATE);
}

int clv_cmd_models(int argc, char **argv)
{
    if (clv_cli_wants_help(argc, argv)) {
        models_help(stdout);
        return CLV_EXIT_OK;
    }
    if (argc > 1) return clv_cli_usage_error("models", "unexpected argument '%s'", argv[1]);

    const char *def = clv_registry_default_separator();
    printf("%-14s %-9s %-34s %-6s %s\n", "NAME", "KIND", "LATENCY @44.1 kHz quality/low-lat.",
           "RATE", "DESCRIPTION");
    int n = clv_registry_count();
    for (int i = 0; i < n; i++) {
        const ClvModelEntry *e = clv_registry_get(i);
        if (!e) continue;
        char name[40];
        snprintf(name, sizeof name, "%s%s", e->name, strcmp(e->name, def) == 0 ? "*" : "");
        const char *rate = e->file ? "model" : "any";
        if (e->kind == CLV_KIND_SEPARATOR) {
            int lq = 0, ll = 0;
            char why[256];
            if (probe(e->name, CLV_OP_QUALITY, &lq, why, sizeof why) != 0) {
                printf("%-14s %-9s %-34s %-6s %s [unavailable: %s]\n", name, "separator", "-", rate,
                       e->description, why);
                continue;
            }
            if (probe(e->name, CLV_OP_LOW_LATENCY, &ll, why, sizeof why) != 0) ll = -1;
            char lat[64];
            if (ll >= 0)
                snprintf(lat, sizeof lat, "%d (%.1f ms) / %d (%.1f ms)", lq, 1000.0 * lq / PROBE_RATE,
                         ll, 1000.0 * ll / PROBE_RATE);
            else
                snprintf(lat, sizeof lat, "%d (%.1f ms) / -", lq, 1000.0 * lq / PROBE_RATE);
            printf("%-14s %-9s %-34s %-6s %s\n", name, "separator", lat, rate, e->description);
        } else {
            /* Taggers are loaded by `cleave tag`; here we only list them. */
            printf("%-14s %-9s %-34s %-6s %s%s%s%s\n", name, "tagger", "-", rate, e->description,
                   e->file ? " (file " : "", e->file ? e->file : "", e->file ? ")" : "");
        }
    }
    printf("\n* default separator. Latency in frames at %d Hz (milliseconds), before the\n"
           "  engine's block headroom; 'any' runs at the input's own rate.\n",
           PROBE_RATE);
    return CLV_EXIT_OK;
}
