/* SPDX-License-Identifier: ISC */
/* The live client's LV2 preset reader (host/clv_live_preset.h): values of a single
 * preset, choosing one of several by label or URI, lookup by name in the preset
 * directories, -inf levels, and refusals with the file named: bad Turtle, no preset,
 * several presets without a name, out-of-range values, unknown separator, missing
 * file. Every preset shipped in presets/ (once there) must load. */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clv_live_preset.h"
#include "clv_test.h"

static char last[1024];
static int n_logged;

static void log_fn(void *user, ClvLogLevel level, const char *msg)
{
    (void)user;
    if (level > CLV_LOG_WARNING) return;
    snprintf(last, sizeof last, "%s", msg);
    n_logged++;
}

static ClvLog LOG = {log_fn, NULL};
static char dir[256];

static const char *write_file(const char *name, const char *text)
{
    static char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (!f) return NULL;
    fputs(text, f);
    fclose(f);
    return path;
}

#define PREFIXES                                                    \
    "@prefix lv2: <http://lv2plug.in/ns/lv2core#> .\n"              \
    "@prefix pset: <http://lv2plug.in/ns/ext/presets#> .\n"         \
    "@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .\n"

static const char *ONE = PREFIXES
    "<urn:cleave:preset:karaoke> a pset:Preset ;\n"
    "  lv2:appliesTo <https://example.org/cleave> ;\n"
    "  rdfs:label \"Karaoke\" ;\n"
    "  lv2:port [ lv2:symbol \"vocal_level\" ; pset:value -90.0 ] ,\n"
    "           [ lv2:symbol \"accomp_level\" ; pset:value 0.0 ] ,\n"
    "           [ lv2:symbol \"separator\" ; pset:value 0 ] ,\n"
    "           [ lv2:symbol \"op\" ; pset:value 1 ] ,\n"
    "           [ lv2:symbol \"enabled\" ; pset:value 1.0 ] ,\n"
    "           [ lv2:symbol \"some_future_port\" ; pset:value 3.0 ] .\n";

static const char *TWO = PREFIXES
    "<#up6> a pset:Preset ; rdfs:label \"Vocals up 6 dB\" ;\n"
    "  lv2:port [ lv2:symbol \"vocal_level\" ; pset:value 6.0 ] .\n"
    "<#acapella> a pset:Preset ; rdfs:label \"A cappella\" ;\n"
    "  lv2:port [ lv2:symbol \"accomp_level\" ; pset:value -120 ] ,\n"
    "           [ lv2:symbol \"bypass\" ; pset:value 0 ] .\n";

static void expect_fail(const char *spec, const char *must_mention, const char *what)
{
    ClvLivePreset p;
    n_logged = 0;
    last[0] = '\0';
    ClvStatus st = clv_live_preset_load(spec, &LOG, &p);
    CHECK(st != CLV_OK, "%s: accepted", what);
    CHECK(n_logged >= 1, "%s: nothing logged", what);
    CHECK(strstr(last, must_mention) != NULL, "%s: message '%s' does not mention '%s'", what, last,
          must_mention);
}

int main(void)
{
    snprintf(dir, sizeof dir, "/tmp/clv-preset-XXXXXX");
    CHECK(mkdtemp(dir) != NULL, "mkdtemp");
    ClvLivePreset p;

    const char *one = write_file("karaoke.ttl", ONE);
    CHECK(clv_live_preset_load(one, &LOG, &p) == CLV_OK, "karaoke: %s", last);
    CHECK(!strcmp(p.label, "Karaoke"), "label '%s'", p.label);
    CHECK(p.has_vocal && isinf(p.vocal_db) && p.vocal_db < 0, "vocal %d %g", p.has_vocal, p.vocal_db);
    CHECK(p.has_accomp && p.accomp_db == 0.0, "accomp %g", p.accomp_db);
    /* index 0 among the registry's separators */
    const char *first = NULL;
    for (int i = 0; i < clv_registry_count() && !first; i++)
        if (clv_registry_get(i)->kind == CLV_KIND_SEPARATOR) first = clv_registry_get(i)->name;
    CHECK(p.has_separator && first && !strcmp(p.separator, first), "separator '%s'", p.separator);
    CHECK(p.has_op && p.op == CLV_OP_LOW_LATENCY, "op");
    CHECK(p.has_bypass && p.bypass == 0, "enabled=1 means not bypassed");

    const char *two = write_file("levels.ttl", TWO);
    expect_fail(two, "levels.ttl", "two presets, no name");
    char spec[600];
    snprintf(spec, sizeof spec, "%s#A cappella", two);
    CHECK(clv_live_preset_load(spec, &LOG, &p) == CLV_OK, "by label: %s", last);
    CHECK(p.has_accomp && isinf(p.accomp_db) && !p.has_vocal, "a cappella values");
    CHECK(p.has_bypass && p.bypass == 0, "bypass 0");
    snprintf(spec, sizeof spec, "%s#up6", two);
    CHECK(clv_live_preset_load(spec, &LOG, &p) == CLV_OK, "by URI fragment: %s", last);
    CHECK(p.has_vocal && p.vocal_db == 6.0, "up6 vocal %g", p.vocal_db);
    snprintf(spec, sizeof spec, "%s#nope", two);
    expect_fail(spec, "nope", "unknown name in file");

    /* lookup by name in $CLV_PRESET_DIR, with dashes for spaces */
    setenv("CLV_PRESET_DIR", dir, 1);
    CHECK(clv_live_preset_load("vocals-up-6-db", &LOG, &p) == CLV_OK, "by name: %s", last);
    CHECK(p.has_vocal && p.vocal_db == 6.0, "by name value");
    CHECK(clv_live_preset_load("karaoke", &LOG, &p) == CLV_OK, "karaoke by name: %s", last);
    expect_fail("no-such-preset", "no-such-preset", "unknown name");

    expect_fail(write_file("bad.ttl", PREFIXES "<#x> a pset:Preset ; lv2:port [ lv2:symbol \"vocal_level\" ; pset:value "),
                "bad.ttl", "truncated Turtle");
    expect_fail(write_file("garbage.ttl", "\x01\x02 this is not turtle {{{\n"), "garbage.ttl",
                "garbage");
    expect_fail(write_file("empty.ttl", ""), "empty.ttl", "empty file");
    expect_fail(write_file("loud.ttl", PREFIXES "<#l> a pset:Preset ; lv2:port [ lv2:symbol "
                           "\"vocal_level\" ; pset:value 60.0 ] .\n"), "vocal_level", "60 dB");
    expect_fail(write_file("text.ttl", PREFIXES "<#l> a pset:Preset ; lv2:port [ lv2:symbol "
                           "\"accomp_level\" ; pset:value \"loud\" ] .\n"), "accomp_level",
                "text level");
    expect_fail(write_file("sep.ttl", PREFIXES "<#l> a pset:Preset ; lv2:port [ lv2:symbol "
                           "\"separator\" ; pset:value 999 ] .\n"), "separator", "separator 999");
    expect_fail(write_file("opbad.ttl", PREFIXES "<#l> a pset:Preset ; lv2:port [ lv2:symbol "
                           "\"op\" ; pset:value 7 ] .\n"), "op", "op 7");
    char missing[512];
    snprintf(missing, sizeof missing, "%s/missing.ttl", dir);
    expect_fail(missing, "missing.ttl", "missing file");

    /* every preset the project ships reads cleanly */
    unsetenv("CLV_PRESET_DIR");
    int shipped = 0;
    DIR *d = opendir(CLV_PRESET_SOURCE_DIR);
    struct dirent *de;
    while (d && (de = readdir(d)) != NULL) {
        size_t l = strlen(de->d_name);
        if (l < 5 || strcmp(de->d_name + l - 4, ".ttl") || !strcmp(de->d_name, "manifest.ttl"))
            continue;
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", CLV_PRESET_SOURCE_DIR, de->d_name);
        FILE *f = fopen(path, "r");
        char buf[65536];
        size_t got = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
        if (f) fclose(f);
        buf[got] = '\0';
        if (!strstr(buf, "Preset")) continue;
        /* files with several presets are loaded by label through the directory */
        n_logged = 0;
        ClvStatus st = clv_live_preset_load(path, &LOG, &p);
        if (st == CLV_ERR_INVALID && strstr(last, "choose one")) st = CLV_OK;
        CHECK(st == CLV_OK, "shipped preset %s: %s", path, last);
        shipped++;
    }
    if (d) closedir(d);
    fprintf(stderr, "%d shipped preset file(s) read\n", shipped);

    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    (void)!system(cmd);
    TEST_DONE();
}
