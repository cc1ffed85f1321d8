/* SPDX-License-Identifier: ISC */
/* LV2 preset reader for the live client.
 *
 * Turtle is parsed with serd (the library lilv and sord_validate use), so any valid
 * preset file reads the same here as in a host. Statements are collected as
 * (subject, predicate, object) strings with CURIEs expanded; then presets are the
 * subjects typed pset:Preset (or carrying lv2:port), and each port is a node with
 * lv2:symbol and pset:value. Values are range-checked; a file that does not parse,
 * holds no preset, or holds several without a name to choose, is refused with a
 * message naming the file. */
#include "clv_live_preset.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#ifdef CLV_HAVE_SERD
#include <serd/serd.h>
#endif
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#ifdef CLV_HAVE_SERD
#define NS_RDF "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
#define NS_RDFS "http://www.w3.org/2000/01/rdf-schema#"
#define NS_LV2 "http://lv2plug.in/ns/lv2core#"
#define NS_PSET "http://lv2plug.in/ns/ext/presets#"

#ifndef CLV_PRESET_INSTALL_DIR
#define CLV_PRESET_INSTALL_DIR ""
#endif
#ifndef CLV_PRESET_SOURCE_DIR
#define CLV_PRESET_SOURCE_DIR ""
#endif

/* Preset files are small; anything bigger is not one. */
#define MAX_TRIPLES 20000

typedef struct {
    char *s, *p, *o;
    int o_literal; /* object is a literal (string/number), not a node */
} Triple;

typedef struct {
    Triple *t;
    size_t n, cap;
    SerdEnv *env;
    const char *path;
    const ClvLog *log;
    int errors;
    int too_big;
} Graph;

static char *dup_node(const Graph *g, const SerdNode *node)
{
    if (node->type == SERD_CURIE || node->type == SERD_URI) {
        SerdNode full = serd_env_expand_node(g->env, node);
        if (full.buf) {
            char *r = strdup((const char *)full.buf);
            serd_node_free(&full);
            return r;
        }
    }
    return strdup((const char *)node->buf);
}

static SerdStatus on_base(void *h, const SerdNode *uri)
{
    Graph *g = h;
    return serd_env_set_base_uri(g->env, uri);
}

static SerdStatus on_prefix(void *h, const SerdNode *name, const SerdNode *uri)
{
    Graph *g = h;
    return serd_env_set_prefix(g->env, name, uri);
}

static SerdStatus on_statement(void *h, SerdStatementFlags flags, const SerdNode *graph,
                               const SerdNode *subject, const SerdNode *predicate,
                               const SerdNode *object, const SerdNode *dt, const SerdNode *lang)
{
    (void)flags, (void)graph, (void)dt, (void)lang;
    Graph *g = h;
    if (g->n >= MAX_TRIPLES) {
        g->too_big = 1;
        return SERD_FAILURE;
    }
    if (g->n == g->cap) {
        size_t cap = g->cap ? g->cap * 2 : 64;
        Triple *t = realloc(g->t, cap * sizeof *t);
        if (!t) return SERD_ERR_UNKNOWN;
        g->t = t;
        g->cap = cap;
    }
    Triple *t = &g->t[g->n];
    t->s = dup_node(g, subject);
    t->p = dup_node(g, predicate);
    t->o = dup_node(g, object);
    t->o_literal = object->type == SERD_LITERAL;
    if (!t->s || !t->p || !t->o) {
        free(t->s), free(t->p), free(t->o);
        return SERD_ERR_UNKNOWN;
    }
    g->n++;
    return SERD_SUCCESS;
}

static SerdStatus on_error(void *h, const SerdError *e)
{
    Graph *g = h;
    char msg[512];
    va_list ap;
    va_copy(ap, *e->args);
    vsnprintf(msg, sizeof msg, e->fmt, ap);
    va_end(ap);
    size_t len = strlen(msg);
    while (len && (msg[len - 1] == '\n' || msg[len - 1] == '\r')) msg[--len] = '\0';
    if (g->errors++ == 0)
        clv_log(g->log, CLV_LOG_ERROR, "%s:%u:%u: not a valid Turtle preset: %s", g->path, e->line,
                e->col, msg);
    return SERD_SUCCESS;
}

static void graph_free(Graph *g)
{
    for (size_t i = 0; i < g->n; i++) free(g->t[i].s), free(g->t[i].p), free(g->t[i].o);
    free(g->t);
    if (g->env) serd_env_free(g->env);
    memset(g, 0, sizeof *g);
}

static ClvStatus graph_read(const char *path, const ClvLog *log, Graph *g)
{
    memset(g, 0, sizeof *g);
    g->path = path;
    g->log = log;
    FILE *f = fopen(path, "rb");
    if (!f) {
        clv_log(log, CLV_LOG_ERROR, "%s: cannot open preset: %s", path, strerror(errno));
        return errno == ENOENT ? CLV_ERR_NOT_FOUND : CLV_ERR_IO;
    }
    SerdNode base = serd_node_new_file_uri((const uint8_t *)path, NULL, NULL, true);
    g->env = serd_env_new(&base);
    SerdReader *rd = serd_reader_new(SERD_TURTLE, g, NULL, on_base, on_prefix, on_statement, NULL);
    ClvStatus st = CLV_OK;
    if (!g->env || !rd) {
        st = CLV_ERR_NOMEM;
    } else {
        serd_reader_set_error_sink(rd, on_error, g);
        SerdStatus ss = serd_reader_read_file_handle(rd, f, (const uint8_t *)path);
        if (g->too_big) {
            clv_log(log, CLV_LOG_ERROR, "%s: too large for a preset (over %d statements)", path,
                    MAX_TRIPLES);
            st = CLV_ERR_FORMAT;
        } else if (ss != SERD_SUCCESS || g->errors) {
            if (!g->errors)
                clv_log(log, CLV_LOG_ERROR, "%s: not a valid Turtle preset (%s)", path,
                        (const char *)serd_strerror(ss));
            st = CLV_ERR_FORMAT;
        }
    }
    if (rd) serd_reader_free(rd);
    serd_node_free(&base);
    fclose(f);
    if (st != CLV_OK) graph_free(g);
    return st;
}

static const char *graph_get(const Graph *g, const char *s, const char *p, int *literal)
{
    for (size_t i = 0; i < g->n; i++)
        if (!strcmp(g->t[i].s, s) && !strcmp(g->t[i].p, p)) {
            if (literal) *literal = g->t[i].o_literal;
            return g->t[i].o;
        }
    return NULL;
}

/* Last segment of a URI (after '#' or '/'), for matching preset names. */
static const char *uri_tail(const char *uri)
{
    const char *h = strrchr(uri, '#');
    const char *sl = strrchr(uri, '/');
    const char *c = strrchr(uri, ':');
    const char *best = h;
    if (!best || (sl && sl > best)) best = sl;
    if (!best || (c && c > best)) best = c;
    return best ? best + 1 : uri;
}

static int is_preset(const Graph *g, const char *s)
{
    for (size_t i = 0; i < g->n; i++)
        if (!strcmp(g->t[i].s, s)
            && ((!strcmp(g->t[i].p, NS_RDF "type") && !strcmp(g->t[i].o, NS_PSET "Preset"))
                || !strcmp(g->t[i].p, NS_LV2 "port")))
            return 1;
    return 0;
}

/* Subjects that are presets, each once, in file order. Returns the count. */
static size_t list_presets(const Graph *g, const char **out, size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; i < g->n; i++) {
        const char *s = g->t[i].s;
        if (!is_preset(g, s)) continue;
        int seen = 0;
        for (size_t j = 0; j < n && !seen; j++) seen = !strcmp(out[j], s);
        if (!seen && n < cap) out[n++] = s;
    }
    return n;
}

static void preset_label(const Graph *g, const char *s, char *buf, size_t cap)
{
    const char *l = graph_get(g, s, NS_RDFS "label", NULL);
    snprintf(buf, cap, "%s", l ? l : uri_tail(s));
}

static int name_matches(const Graph *g, const char *s, const char *name)
{
    char label[128];
    preset_label(g, s, label, sizeof label);
    if (!strcasecmp(label, name) || !strcasecmp(uri_tail(s), name)) return 1;
    /* "Vocals up 6 dB" also answers to "vocals-up-6-db" and "vocals_up_6_db" */
    size_t i = 0;
    for (; label[i] && name[i]; i++) {
        char a = (char)tolower((unsigned char)label[i]), b = (char)tolower((unsigned char)name[i]);
        if (a == ' ' && (b == '-' || b == '_')) continue;
        if (a != b) return 0;
    }
    return !label[i] && !name[i];
}

static int sym_in(const char *sym, const char *const *list)
{
    for (; *list; list++)
        if (!strcmp(sym, *list)) return 1;
    return 0;
}

static int parse_num(const char *s, double *v)
{
    char *end;
    errno = 0;
    *v = strtod(s, &end);
    while (isspace((unsigned char)*end)) end++;
    if (end == s || *end || errno) {
        if (!strcmp(s, "true")) *v = 1.0;
        else if (!strcmp(s, "false")) *v = 0.0;
        else return -1;
    }
    return isnan(*v) ? -1 : 0;
}

/* Separator from a port value: an enumeration index among the registry's
 * separators (the plugin's scale points), or a name. */
static int separator_from(const char *value, int literal_is_text, char *out, size_t cap)
{
    double v;
    if (parse_num(value, &v) == 0) {
        if (v != floor(v) || v < 0.0) return -1;
        int want = (int)v, k = 0;
        for (int i = 0; i < clv_registry_count(); i++) {
            const ClvModelEntry *e = clv_registry_get(i);
            if (e->kind != CLV_KIND_SEPARATOR) continue;
            if (k++ == want) {
                snprintf(out, cap, "%s", e->name);
                return 0;
            }
        }
        return -1;
    }
    if (!literal_is_text || !*value || strlen(value) >= cap) return -1;
    snprintf(out, cap, "%s", value);
    return 0;
}

static ClvStatus read_preset(const Graph *g, const char *path, const char *s, const ClvLog *log,
                             ClvLivePreset *p)
{
    static const char *const vocal_syms[] = {"vocal_level", "vocals_level", "vocal_gain",
                                             "vocals_gain", "vocals", "vocal", "vocal_db",
                                             "vocals_db", NULL};
    static const char *const accomp_syms[] = {"accomp_level", "accompaniment_level",
                                              "accomp_gain", "accompaniment_gain", "accomp",
                                              "accompaniment", "accomp_db", NULL};
    static const char *const sep_syms[] = {"separator", "model", NULL};
    static const char *const op_syms[] = {"op", "operating_point", "mode", "low_latency", NULL};
    memset(p, 0, sizeof *p);
    preset_label(g, s, p->label, sizeof p->label);
    for (size_t i = 0; i < g->n; i++) {
        if (strcmp(g->t[i].s, s) || strcmp(g->t[i].p, NS_LV2 "port")) continue;
        const char *port = g->t[i].o;
        const char *sym = graph_get(g, port, NS_LV2 "symbol", NULL);
        int lit = 0;
        const char *val = graph_get(g, port, NS_PSET "value", &lit);
        if (!sym || !val) continue;
        double v = 0.0;
        int num = parse_num(val, &v) == 0;
        if (sym_in(sym, vocal_syms) || sym_in(sym, accomp_syms)) {
            if (!num || v > 24.0) {
                clv_log(log, CLV_LOG_ERROR, "%s: preset '%s': %s = '%s' is not a level in dB "
                        "(up to +24)", path, p->label, sym, val);
                return CLV_ERR_FORMAT;
            }
            const double db = v <= -90.0 ? -INFINITY : v;
            if (sym_in(sym, vocal_syms)) p->vocal_db = db, p->has_vocal = 1;
            else p->accomp_db = db, p->has_accomp = 1;
        } else if (sym_in(sym, sep_syms)) {
            if (separator_from(val, lit, p->separator, sizeof p->separator)) {
                clv_log(log, CLV_LOG_ERROR, "%s: preset '%s': %s = '%s' names no separator this "
                        "cleave knows (see 'cleave models')", path, p->label, sym, val);
                return CLV_ERR_FORMAT;
            }
            p->has_separator = 1;
        } else if (sym_in(sym, op_syms)) {
            if (!num || (v != 0.0 && v != 1.0)) {
                clv_log(log, CLV_LOG_ERROR, "%s: preset '%s': %s = '%s' (expected 0 = quality "
                        "or 1 = low latency)", path, p->label, sym, val);
                return CLV_ERR_FORMAT;
            }
            p->op = v == 1.0 ? CLV_OP_LOW_LATENCY : CLV_OP_QUALITY;
            p->has_op = 1;
        } else if (!strcmp(sym, "enabled") || !strcmp(sym, "bypass")) {
            if (!num) {
                clv_log(log, CLV_LOG_ERROR, "%s: preset '%s': %s = '%s' is not a number", path,
                        p->label, sym, val);
                return CLV_ERR_FORMAT;
            }
            p->bypass = !strcmp(sym, "enabled") ? v < 0.5 : v >= 0.5;
            p->has_bypass = 1;
        }
    }
    return CLV_OK;
}

/* The directories presets are looked up in, in order. */
static int preset_dirs(const char **dirs)
{
    int n = 0;
    const char *env = getenv("CLV_PRESET_DIR");
    if (env && *env) dirs[n++] = env;
    if (*CLV_PRESET_INSTALL_DIR) dirs[n++] = CLV_PRESET_INSTALL_DIR;
    if (*CLV_PRESET_SOURCE_DIR) dirs[n++] = CLV_PRESET_SOURCE_DIR;
    return n;
}

static int has_ttl_suffix(const char *name)
{
    size_t l = strlen(name);
    return l > 4 && !strcmp(name + l - 4, ".ttl");
}

/* Calls fn for every preset in every .ttl file of the preset directories; stops
 * when fn returns nonzero. Unreadable files are skipped silently (they are not
 * what the user asked for). */
typedef int (*PresetFn)(void *user, const Graph *g, const char *path, const char *subject);

static int for_each_preset(PresetFn fn, void *user)
{
    const char *dirs[3];
    int nd = preset_dirs(dirs);
    ClvLog quiet = {NULL, NULL};
    for (int d = 0; d < nd; d++) {
        DIR *dir = opendir(dirs[d]);
        if (!dir) continue;
        struct dirent *de;
        while ((de = readdir(dir)) != NULL) {
            if (!has_ttl_suffix(de->d_name) || !strcmp(de->d_name, "manifest.ttl")) continue;
            char path[4096];
            if (snprintf(path, sizeof path, "%s/%s", dirs[d], de->d_name) >= (int)sizeof path)
                continue;
            Graph g;
            if (graph_read(path, &quiet, &g) != CLV_OK) continue;
            const char *subs[64];
            size_t ns = list_presets(&g, subs, 64);
            int stop = 0;
            for (size_t i = 0; i < ns && !stop; i++) stop = fn(user, &g, path, subs[i]);
            graph_free(&g);
            if (stop) {
                closedir(dir);
                return 1;
            }
        }
        closedir(dir);
    }
    return 0;
}

typedef struct {
    const char *name;
    const ClvLog *log;
    ClvLivePreset *out;
    ClvStatus st;
} FindCtx;

static int find_fn(void *user, const Graph *g, const char *path, const char *s)
{
    FindCtx *c = user;
    if (!name_matches(g, s, c->name)) return 0;
    c->st = read_preset(g, path, s, c->log, c->out);
    return 1;
}

ClvStatus clv_live_preset_load(const char *spec, const ClvLog *log, ClvLivePreset *out)
{
    memset(out, 0, sizeof *out);
    if (!spec || !*spec) return CLV_ERR_INVALID;
    char path[4096];
    const char *hash = strrchr(spec, '#');
    const char *name = NULL;
    size_t plen = hash ? (size_t)(hash - spec) : strlen(spec);
    if (plen >= sizeof path) {
        clv_log(log, CLV_LOG_ERROR, "%s: preset path too long", spec);
        return CLV_ERR_INVALID;
    }
    memcpy(path, spec, plen);
    path[plen] = '\0';
    if (hash) name = hash + 1;
    struct stat st;
    const int is_file = strchr(path, '/') || has_ttl_suffix(path) || stat(path, &st) == 0;
    if (!is_file) {
        /* a name: search the preset directories */
        FindCtx c = {spec, log, out, CLV_ERR_NOT_FOUND};
        if (!for_each_preset(find_fn, &c)) {
            const char *dirs[3];
            int nd = preset_dirs(dirs);
            clv_log(log, CLV_LOG_ERROR, "preset '%s' not found in %s%s%s%s%s (see 'cleave live "
                    "--list-presets', or give a .ttl file)", spec, nd ? dirs[0] : "(no preset directory)",
                    nd > 1 ? ", " : "", nd > 1 ? dirs[1] : "", nd > 2 ? ", " : "",
                    nd > 2 ? dirs[2] : "");
            return CLV_ERR_NOT_FOUND;
        }
        return c.st;
    }
    Graph g;
    ClvStatus s = graph_read(path, log, &g);
    if (s != CLV_OK) return s;
    const char *subs[64];
    size_t ns = list_presets(&g, subs, 64);
    const char *pick = NULL;
    if (ns == 0) {
        clv_log(log, CLV_LOG_ERROR, "%s: no LV2 preset in this file (no pset:Preset with "
                "lv2:port values)", path);
        s = CLV_ERR_FORMAT;
    } else if (name) {
        for (size_t i = 0; i < ns && !pick; i++)
            if (name_matches(&g, subs[i], name)) pick = subs[i];
        if (!pick) {
            clv_log(log, CLV_LOG_ERROR, "%s: no preset named '%s' in this file", path, name);
            s = CLV_ERR_NOT_FOUND;
        }
    } else if (ns > 1) {
        char l0[128], l1[128];
        preset_label(&g, subs[0], l0, sizeof l0);
        preset_label(&g, subs[1], l1, sizeof l1);
        clv_log(log, CLV_LOG_ERROR, "%s: holds %zu presets ('%s', '%s', ...): choose one with "
                "%s#NAME", path, ns, l0, l1, path);
        s = CLV_ERR_INVALID;
    } else {
        pick = subs[0];
    }
    if (pick) s = read_preset(&g, path, pick, log, out);
    graph_free(&g);
    return s;
}

static int list_fn(void *user, const Graph *g, const char *path, const char *s)
{
    char label[128];
    preset_label(g, s, label, sizeof label);
    fprintf((FILE *)user, "%-28s %s#%s\n", label, path, uri_tail(s));
    return 0;
}

void clv_live_preset_list(void *f, const ClvLog *log)
{
    (void)log;
    for_each_preset(list_fn, f);
}

#else /* !CLV_HAVE_SERD */

ClvStatus clv_live_preset_load(const char *spec, const ClvLog *log, ClvLivePreset *out)
{
    memset(out, 0, sizeof *out);
    clv_log(log, CLV_LOG_ERROR, "%s: this cleave was built without serd (libserd-dev), so it "
            "cannot read presets", spec ? spec : "");
    return CLV_ERR_UNSUPPORTED;
}

void clv_live_preset_list(void *f, const ClvLog *log)
{
    (void)f;
    clv_log(log, CLV_LOG_ERROR, "this cleave was built without serd (libserd-dev): no presets");
}

#endif
