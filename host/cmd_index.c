/* SPDX-License-Identifier: ISC */
/* `cleave index LIBRARY_DIR -o INDEX [--model FILE]`: one embedding (and one MFCC
 * sequence for the DTW baseline) per audio file of a folder tree, stored with the
 * file's path, size and modification time (models/clv_index.h).
 *
 * Re-running reuses the records of files whose size and modification time did not
 * change, embeds new and changed files, and drops files that are gone. Files that
 * cannot be read are reported one line each and skipped; the rest of the library
 * is indexed anyway. An existing INDEX of another format version or another model
 * is rebuilt from scratch (with a warning); a file at INDEX that is not an index at
 * all is never overwritten. The index is written under a temporary name and
 * renamed, also every minute while a big library is being indexed, so an
 * interrupted run keeps its work. */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clv_audiofile.h"
#include "clv_cli.h"
#include "clv_embed.h"
#include "clv_index.h"

#define IDX_BLOCK 4096
#define IDX_CHECKPOINT_S 60.0

static const char *const audio_ext[] = {"wav", "wave", "flac", "ogg", "oga", "opus", "aif",
                                        "aiff", "aifc", "au", "snd", "caf", "w64", "rf64",
                                        "mp3", "voc", "sd2", "wv", NULL};

static int is_audio_name(const char *name)
{
    const char *dot = strrchr(name, '.');
    if (!dot || dot == name) return 0;
    for (int i = 0; audio_ext[i]; i++)
        if (strcasecmp(dot + 1, audio_ext[i]) == 0) return 1;
    return 0;
}

/* ------------------------------------------------------------ file list --- */

typedef struct {
    char **path; /* absolute */
    int n, cap;
    int unreadable_dirs;
    int ignored;  /* regular files that are not audio by name */
} FileList;

static int list_push(FileList *l, const char *p)
{
    if (l->n == l->cap) {
        const int cap = l->cap ? l->cap * 2 : 256;
        char **g = realloc(l->path, sizeof *g * (size_t)cap);
        if (!g) return -1;
        l->path = g;
        l->cap = cap;
    }
    const size_t n = strlen(p);
    if (!(l->path[l->n] = malloc(n + 1))) return -1;
    memcpy(l->path[l->n++], p, n + 1);
    return 0;
}

static void list_free(FileList *l)
{
    for (int i = 0; i < l->n; i++) free(l->path[i]);
    free(l->path);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Walks dir recursively. Hidden entries are skipped; symbolic links to files are
 * followed, links to directories are not (no loops). Returns -1 only when out of
 * memory; unreadable directories are reported and skipped. */
static int walk(const char *dir, int depth, FileList *l)
{
    DIR *d = opendir(dir);
    if (!d) {
        clv_cli_warn("%s: cannot read this directory (%s); skipped", dir, strerror(errno));
        l->unreadable_dirs++;
        return 0;
    }
    struct dirent *de;
    int rc = 0;
    char path[PATH_MAX];
    while (rc == 0 && (de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.') continue;
        const int n = snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        if (n < 0 || (size_t)n >= sizeof path || n > CLV_INDEX_MAX_PATH) {
            clv_cli_warn("%s/%s: path too long; skipped", dir, de->d_name);
            continue;
        }
        struct stat sb;
        if (lstat(path, &sb) != 0) continue;
        if (S_ISDIR(sb.st_mode)) {
            if (depth < 64) rc = walk(path, depth + 1, l);
            continue;
        }
        if (S_ISLNK(sb.st_mode) && (stat(path, &sb) != 0 || S_ISDIR(sb.st_mode))) continue;
        if (!S_ISREG(sb.st_mode)) continue;
        if (!is_audio_name(de->d_name)) {
            l->ignored++;
            continue;
        }
        if (list_push(l, path) != 0) rc = -1;
    }
    closedir(d);
    return rc;
}

/* ---------------------------------------------------------- progress bar --- */

typedef struct {
    int enabled;
    int total;
    double start, last;
} Bar;

static void bar_begin(Bar *b, int total)
{
    b->enabled = total > 0 && isatty(STDERR_FILENO) && !getenv("CLEAVE_NO_PROGRESS");
    b->total = total;
    b->start = clv_cli_now();
    b->last = 0.0;
}

static void bar_clear(const Bar *b)
{
    if (b->enabled) fprintf(stderr, "\r%*s\r", 79, "");
}

static void bar_draw(Bar *b, int done, int force)
{
    if (!b->enabled) return;
    const double now = clv_cli_now();
    if (!force && now - b->last < 0.1) return;
    b->last = now;
    enum { W = 30 };
    char bar[W + 1];
    const int fill = (int)((long long)done * W / b->total);
    for (int i = 0; i < W; i++) bar[i] = i < fill ? '#' : '.';
    bar[W] = 0;
    const double el = now - b->start, rate = el > 0 ? done / el : 0.0;
    const double eta = rate > 0 ? (b->total - done) / rate : 0.0;
    fprintf(stderr, "\rindexing [%s] %d/%d  %.1f files/s  ETA %d:%02d ", bar, done, b->total, rate,
            (int)eta / 60, (int)eta % 60);
    fflush(stderr);
}

/* --------------------------------------------------------- one file ------- */

typedef struct {
    Bar *bar;
    int lines;
} SkipLog;

/* Per-file problems are warnings: the file is skipped, the library goes on. */
static void skip_log_fn(void *user, ClvLogLevel level, const char *msg)
{
    SkipLog *s = user;
    if (level > CLV_LOG_WARNING && !getenv("CLEAVE_VERBOSE")) return;
    bar_clear(s->bar);
    if (level == CLV_LOG_ERROR) {
        clv_cli_warn("%s; skipped", msg);
        s->lines++;
    } else {
        clv_cli_warn("%s", msg);
    }
}

/* Embeds one file; 0 on success (embedding and MFCC in the embedder). */
static int embed_file(ClvEmbedder *em, const char *path, float *buf, float *mono, float *emb,
                      SkipLog *sl)
{
    ClvLog log = {skip_log_fn, sl};
    const int before = sl->lines;
    ClvAudioReader *rd = NULL;
    ClvAudioInfo info;
    ClvStatus st = clv_audio_reader_open(path, &log, &rd, &info);
    if (st == CLV_OK) st = clv_embed_begin(em, info.sample_rate);
    while (st == CLV_OK) {
        int got = 0;
        st = clv_audio_reader_read(rd, buf, IDX_BLOCK, &got);
        if (st != CLV_OK || got == 0) break;
        for (int i = 0; i < got; i++) {
            float v = 0.0f;
            for (int c = 0; c < info.channels; c++) v += buf[(size_t)i * info.channels + c];
            mono[i] = v / (float)info.channels;
        }
        st = clv_embed_feed(em, mono, got);
    }
    if (st == CLV_OK) st = clv_embed_end(em, emb);
    clv_audio_reader_free(rd);
    if (st != CLV_OK && sl->lines == before) {
        bar_clear(sl->bar);
        clv_cli_warn("%s: %s; skipped", path, clv_strerror(st));
        sl->lines++;
    }
    return st == CLV_OK ? 0 : -1;
}

/* ------------------------------------------------------------- command --- */

/* Keeps the first error message (a char[512]). */
static void keep_msg(void *user, ClvLogLevel level, const char *msg)
{
    char *why = user;
    if (level == CLV_LOG_ERROR && !why[0]) snprintf(why, 512, "%s", msg);
}

static void index_help(FILE *f)
{
    fprintf(f,
            "Usage: cleave index LIBRARY_DIR -o INDEX [--model FILE]\n"
            "\n"
            "Computes one embedding per audio file under LIBRARY_DIR (recursively; hidden\n"
            "files and folders are skipped; files are recognised by their extension: wav,\n"
            "flac, ogg, opus, aiff, au, caf, w64, mp3, ...) and stores it in INDEX with the\n"
            "file's path, size and modification time, for 'cleave similar'. Running it again\n"
            "embeds only new and changed files and drops deleted ones. Files that cannot be\n"
            "read are reported and skipped. A progress bar is drawn on a terminal.\n"
            "\n"
            "  -o, --output INDEX  the index file (written atomically; created or updated)\n"
            "  --model FILE        embedding model (default: the shipped embed.clvm, or the\n"
            "                      tagger.clvm when it is absent); an index built with\n"
            "                      another model is rebuilt from scratch\n");
}

int clv_cmd_index(int argc, char **argv)
{
    if (clv_cli_wants_help(argc, argv)) {
        index_help(stdout);
        return CLV_EXIT_OK;
    }
    static const struct option opts[] = {
        {"output", required_argument, NULL, 'o'},
        {"model", required_argument, NULL, 'm'},
        {NULL, 0, NULL, 0},
    };
    const char *outpath = NULL, *model = NULL;
    optind = 1;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":o:", opts, NULL)) != -1) {
        switch (c) {
        case 'o': outpath = optarg; break;
        case 'm': model = optarg; break;
        case ':': return clv_cli_usage_error("index", "option '%s' needs a value", argv[optind - 1]);
        default: return clv_cli_usage_error("index", "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind >= argc) return clv_cli_usage_error("index", "no LIBRARY_DIR given");
    if (optind + 1 < argc)
        return clv_cli_usage_error("index", "unexpected argument '%s'", argv[optind + 1]);
    if (!outpath) return clv_cli_usage_error("index", "no output given (-o INDEX)");
    const char *libdir = argv[optind];

    struct stat sb;
    if (stat(libdir, &sb) != 0) {
        clv_cli_error("%s: %s", libdir, strerror(errno));
        return CLV_EXIT_FAIL;
    }
    if (!S_ISDIR(sb.st_mode)) {
        clv_cli_error("%s: not a directory (cleave index takes a folder of audio files)", libdir);
        return CLV_EXIT_FAIL;
    }
    if (stat(outpath, &sb) == 0 && S_ISDIR(sb.st_mode)) {
        clv_cli_error("%s: is a directory; -o takes the index file name", outpath);
        return CLV_EXIT_FAIL;
    }
    char root[PATH_MAX], model_abs[PATH_MAX], found[PATH_MAX];
    if (!realpath(libdir, root)) {
        clv_cli_error("%s: %s", libdir, strerror(errno));
        return CLV_EXIT_FAIL;
    }
    if (!model) {
        if (clv_embed_find_default(found, sizeof found) != CLV_OK) {
            clv_cli_error("the shipped model (%s or tagger.clvm) was not found (set "
                          "CLV_MODEL_DIR or use --model)", CLV_EMBED_DEFAULT_FILE);
            return CLV_EXIT_FAIL;
        }
        model = found;
    }
    ClvLog log = clv_cli_log();
    ClvEmbedder *em = NULL;
    ClvStatus st = clv_embed_new(model, &log, &em);
    if (st != CLV_OK) {
        if (!clv_cli_errors_printed()) clv_cli_error("%s: %s", model, clv_strerror(st));
        return CLV_EXIT_FAIL;
    }
    if (!realpath(model, model_abs)) snprintf(model_abs, sizeof model_abs, "%s", model);
    uint32_t model_crc = 0;
    uint64_t model_size = 0;
    if (clv_index_file_identity(model, &log, &model_crc, &model_size) != CLV_OK) {
        clv_embed_free(em);
        return CLV_EXIT_FAIL;
    }

    /* What is at INDEX already. */
    ClvIndex *old = NULL;
    uint32_t oldver = 0;
    st = clv_index_probe(outpath, &oldver);
    if (st == CLV_ERR_FORMAT) {
        clv_cli_error("%s: exists and is not a cleave index; not overwriting it", outpath);
        clv_embed_free(em);
        return CLV_EXIT_FAIL;
    } else if (st == CLV_ERR_UNSUPPORTED) {
        clv_cli_warn("%s: index format version %u (this cleave writes %d); rebuilding it from "
                     "scratch", outpath, oldver, CLV_INDEX_VERSION);
    } else if (st == CLV_ERR_IO) {
        clv_cli_error("%s: cannot read the existing index", outpath);
        clv_embed_free(em);
        return CLV_EXIT_FAIL;
    } else if (st == CLV_OK) {
        char why[512] = "";
        ClvLog keep = {keep_msg, why};
        if (clv_index_load(outpath, 1, &keep, &old) != CLV_OK) {
            /* A damaged index costs time, not data: say why and rebuild. */
            clv_cli_warn("%s; rebuilding the index from scratch", why[0] ? why : outpath);
            old = NULL;
        } else {
            const ClvIndexModel *om = clv_index_model(old);
            if (om->model_crc != model_crc || om->model_size != model_size ||
                om->embed_dim != clv_embed_dim(em) || om->mfcc_dim != CLV_EMBED_MFCC_DIM) {
                clv_cli_warn("%s: was built with another model (%s, CRC %08x); re-embedding "
                             "every file with %s", outpath, om->model_path, om->model_crc,
                             model_abs);
                clv_index_free(old);
                old = NULL;
            }
        }
    }

    FileList fl = {0};
    if (walk(root, 0, &fl) != 0) {
        clv_cli_error("out of memory while listing %s", libdir);
        list_free(&fl);
        clv_index_free(old);
        clv_embed_free(em);
        return CLV_EXIT_FAIL;
    }
    qsort(fl.path, (size_t)fl.n, sizeof *fl.path, cmp_str);

    ClvIndexModel im = {clv_embed_dim(em), CLV_EMBED_MFCC_DIM, model_crc, model_size,
                        model_abs, root};
    ClvIndex *ix = NULL;
    if ((st = clv_index_new(&im, &ix)) != CLV_OK) {
        clv_cli_error("cannot create the index: %s", clv_strerror(st));
        list_free(&fl);
        clv_index_free(old);
        clv_embed_free(em);
        return CLV_EXIT_FAIL;
    }
    /* Unchanged files first (cheap), so a checkpoint never loses them. */
    int *todo = malloc(sizeof(int) * (size_t)(fl.n ? fl.n : 1));
    struct stat *stats = malloc(sizeof(struct stat) * (size_t)(fl.n ? fl.n : 1));
    float *buf = malloc(sizeof(float) * IDX_BLOCK * CLV_AUDIO_MAX_CHANNELS);
    float *mono = malloc(sizeof(float) * IDX_BLOCK);
    float *emb = malloc(sizeof(float) * (size_t)clv_embed_dim(em));
    int rc = CLV_EXIT_OK;
    if (!todo || !stats || !buf || !mono || !emb) {
        clv_cli_error("out of memory");
        rc = CLV_EXIT_FAIL;
        goto out;
    }
    int n_todo = 0, unchanged = 0, vanished = 0, known = 0;
    for (int i = 0; i < fl.n; i++) {
        if (stat(fl.path[i], &stats[i]) != 0) { /* gone since the walk */
            vanished++;
            continue;
        }
        const int r = old ? clv_index_find(old, fl.path[i]) : -1;
        known += r >= 0;
        ClvIndexRecord rec;
        if (r >= 0 && clv_index_record(old, r, &rec) == CLV_OK &&
            rec.size == (int64_t)stats[i].st_size && rec.mtime_sec == (int64_t)stats[i].st_mtim.tv_sec &&
            rec.mtime_nsec == (int32_t)stats[i].st_mtim.tv_nsec) {
            if ((st = clv_index_add_from(ix, old, r)) != CLV_OK) {
                clv_cli_error("%s: %s", fl.path[i], clv_strerror(st));
                rc = CLV_EXIT_FAIL;
                goto out;
            }
            unchanged++;
        } else {
            todo[n_todo++] = i;
        }
    }
    const int removed = old ? clv_index_count(old) - known : 0;
    clv_index_free(old);
    old = NULL;
    if (fl.n == 0)
        clv_cli_warn("%s: no audio files found; writing an empty index", libdir);

    Bar bar;
    bar_begin(&bar, n_todo);
    SkipLog sl = {&bar, 0};
    int added = 0, skipped = 0;
    const double t0 = clv_cli_now();
    double last_save = t0;
    for (int k = 0; k < n_todo; k++) {
        const int i = todo[k];
        bar_draw(&bar, k, k == 0);
        if (embed_file(em, fl.path[i], buf, mono, emb, &sl) != 0) {
            skipped++;
            continue;
        }
        int frames = 0;
        const float *mf = clv_embed_mfcc(em, &frames);
        st = clv_index_add(ix, fl.path[i], (int64_t)stats[i].st_size,
                           (int64_t)stats[i].st_mtim.tv_sec, (int32_t)stats[i].st_mtim.tv_nsec,
                           emb, mf, frames);
        if (st != CLV_OK) {
            bar_clear(&bar);
            clv_cli_warn("%s: %s; skipped", fl.path[i], clv_strerror(st));
            skipped++;
            continue;
        }
        added++;
        if (clv_cli_now() - last_save > IDX_CHECKPOINT_S) {
            bar_clear(&bar);
            if (clv_index_save(ix, outpath, &log) != CLV_OK) {
                rc = CLV_EXIT_FAIL;
                goto out;
            }
            last_save = clv_cli_now();
        }
    }
    bar_draw(&bar, n_todo, 1);
    bar_clear(&bar);
    if (clv_index_save(ix, outpath, &log) != CLV_OK) {
        rc = CLV_EXIT_FAIL;
        goto out;
    }
    printf("indexed %d file%s into %s: %d new or changed, %d unchanged, %d removed, %d skipped "
           "(%.1f s)\n", clv_index_count(ix), clv_index_count(ix) == 1 ? "" : "s", outpath, added,
           unchanged, removed > 0 ? removed : 0, skipped + vanished, clv_cli_now() - t0);
    if (fflush(stdout) != 0) {
        clv_cli_error("cannot write the output");
        rc = CLV_EXIT_FAIL;
    }
out:
    free(todo);
    free(stats);
    free(buf);
    free(mono);
    free(emb);
    list_free(&fl);
    clv_index_free(old);
    clv_index_free(ix);
    clv_embed_free(em);
    return rc;
}
