/* SPDX-License-Identifier: ISC */
/* Build tool: writes cleave.ttl from cleave.ttl.in, so the plugin's enumerations
 * can never drift from the code. The separator scale points are the model
 * registry's separators in registry order (the same order clv_plugin.c maps port
 * values with); the tag scale points are the labels of the tagger model given on
 * the command line (none when it is absent or invalid: the port then only has -1).
 *
 * Usage: clv_ttl_gen TEMPLATE OUTPUT VERSION [TAGGER_MODEL] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clv_registry.h"
#include "clv_tagger.h"

typedef struct {
    char *s;
    size_t len, cap;
} Buf;

static void put(Buf *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (b->len + n + 1 > cap) cap *= 2;
        char *t = realloc(b->s, cap);
        if (!t) {
            fprintf(stderr, "clv_ttl_gen: out of memory\n");
            exit(1);
        }
        b->s = t;
        b->cap = cap;
    }
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = '\0';
}

static void puts_(Buf *b, const char *s) { put(b, s, strlen(s)); }

/* A Turtle string literal body: escape backslash and double quote, drop controls. */
static void put_escaped(Buf *b, const char *s)
{
    for (; *s; s++) {
        if (*s == '\\' || *s == '"') put(b, "\\", 1);
        if ((unsigned char)*s >= 0x20) put(b, s, 1);
    }
}

static void scale_point(Buf *b, int first, const char *label, int value)
{
    char num[32];
    snprintf(num, sizeof num, "%d", value);
    if (!first) puts_(b, " , ");
    puts_(b, "[\n\t\t\trdfs:label \"");
    put_escaped(b, label);
    puts_(b, "\" ;\n\t\t\trdf:value ");
    puts_(b, num);
    puts_(b, "\n\t\t]");
}

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    Buf b = {0};
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) put(&b, chunk, n);
    fclose(f);
    if (!b.s) puts_(&b, "");
    return b.s;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: clv_ttl_gen TEMPLATE OUTPUT VERSION [TAGGER_MODEL]\n");
        return 2;
    }
    char *tmpl = read_file(argv[1]);
    if (!tmpl) {
        fprintf(stderr, "clv_ttl_gen: cannot read %s\n", argv[1]);
        return 1;
    }
    int major = 0, minor = 0, micro = 0;
    if (sscanf(argv[3], "%d.%d.%d", &major, &minor, &micro) != 3) {
        fprintf(stderr, "clv_ttl_gen: version '%s' is not MAJOR.MINOR.MICRO\n", argv[3]);
        return 1;
    }
    /* LV2 treats minorVersion 0 as unstable; shift so 0.1.0 reads as 1.0 */
    char vminor[16], vmicro[16];
    snprintf(vminor, sizeof vminor, "%d", major * 100 + minor);
    snprintf(vmicro, sizeof vmicro, "%d", micro);

    Buf seps = {0};
    int n_sep = 0, def = 0;
    for (int i = 0; i < clv_registry_count(); i++) {
        const ClvModelEntry *e = clv_registry_get(i);
        if (!e || e->kind != CLV_KIND_SEPARATOR) continue;
        if (!strcmp(e->name, clv_registry_default_separator())) def = n_sep;
        scale_point(&seps, n_sep == 0, e->name, n_sep);
        n_sep++;
    }
    if (n_sep == 0) {
        fprintf(stderr, "clv_ttl_gen: the registry lists no separator\n");
        return 1;
    }
    char sep_max[16], sep_def[16];
    snprintf(sep_max, sizeof sep_max, "%d", n_sep - 1);
    snprintf(sep_def, sizeof sep_def, "%d", def);

    Buf tags = {0};
    scale_point(&tags, 1, "none", -1);
    int n_tag = 0;
    if (argc > 4 && argv[4][0]) {
        ClvTagger *t = NULL;
        if (clv_tagger_new(argv[4], 48000, NULL, &t) == CLV_OK) {
            n_tag = clv_tagger_label_count(t);
            for (int i = 0; i < n_tag; i++) scale_point(&tags, 0, clv_tagger_label(t, i), i);
            clv_tagger_free(t);
        } else {
            fprintf(stderr, "clv_ttl_gen: warning: %s unusable; tag port lists only 'none'\n",
                    argv[4]);
        }
    }
    char tag_max[16];
    snprintf(tag_max, sizeof tag_max, "%d", n_tag > 0 ? n_tag - 1 : -1);

    const struct {
        const char *key, *val;
    } subst[] = {
        {"@VERSION_MINOR@", vminor},     {"@VERSION_MICRO@", vmicro},
        {"@SEPARATOR_POINTS@", seps.s},  {"@SEPARATOR_MAX@", sep_max},
        {"@SEPARATOR_DEFAULT@", sep_def}, {"@TAG_POINTS@", tags.s},
        {"@TAG_MAX@", tag_max},
    };
    Buf out = {0};
    for (const char *s = tmpl; *s;) {
        int hit = 0;
        if (*s == '@') {
            for (size_t k = 0; k < sizeof subst / sizeof subst[0]; k++) {
                size_t kl = strlen(subst[k].key);
                if (!strncmp(s, subst[k].key, kl)) {
                    puts_(&out, subst[k].val);
                    s += kl;
                    hit = 1;
                    break;
                }
            }
        }
        if (!hit) put(&out, s++, 1);
    }
    if (strstr(out.s, "@SEPARATOR") || strstr(out.s, "@TAG_") || strstr(out.s, "@VERSION")) {
        fprintf(stderr, "clv_ttl_gen: unknown placeholder left in %s\n", argv[1]);
        return 1;
    }
    FILE *f = fopen(argv[2], "wb");
    if (!f || fwrite(out.s, 1, out.len, f) != out.len || fclose(f) != 0) {
        fprintf(stderr, "clv_ttl_gen: cannot write %s\n", argv[2]);
        return 1;
    }
    free(out.s);
    free(seps.s);
    free(tags.s);
    free(tmpl);
    return 0;
}
