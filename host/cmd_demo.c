/* SPDX-License-Identifier: ISC */
/* `cleave demo`: a stereo test mixture from Debian-packaged recordings, separated.
 *
 * A fresh machine has none of the project's data, so the demo builds its input
 * from packages .ci/setup installs: the backing and guitar stems of a Frets on
 * Fire song (fretsonfire-songs-*, 44.1 kHz stereo, real band recordings) and a
 * recorded voice (asterisk-core-sounds-en-wav, 8 kHz speech prompts, resampled
 * with clv_resample) panned to the centre. It writes the mixture and both
 * references, runs the same job as `cleave separate`, and prints the stems' SDR
 * against the references next to the "do nothing" figure (mixture as estimate),
 * so one command shows whether separation helps. Everything is at most a few
 * seconds of audio held in memory (the demo length is capped). */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "clv_audiofile.h"
#include "clv_cli.h"
#include "clv_resample.h"

#define DEMO_RATE 44100
#define SONGS_DIR "/usr/share/games/fretsonfire/data/songs"
#define VOICE_DIR "/usr/share/asterisk/sounds/en_US_f_Allison"
#define SONG_OFFSET_S 30.0 /* skip the intro */

static int is_file(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted entries of a directory (names only); caller frees each and the array. */
static int list_dir(const char *dir, char ***out)
{
    *out = NULL;
    DIR *d = opendir(dir);
    if (!d) return -1;
    int n = 0, cap = 0;
    char **v = NULL;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 64;
            char **nv = realloc(v, (size_t)cap * sizeof *nv);
            if (!nv) break;
            v = nv;
        }
        if (!(v[n] = strdup(e->d_name))) break;
        n++;
    }
    closedir(d);
    if (n > 1) qsort(v, (size_t)n, sizeof *v, cmp_str);
    *out = v;
    return n;
}

static void free_list(char **v, int n)
{
    for (int i = 0; i < n; i++) free(v[i]);
    free(v);
}

/* First song (in sorted order) that has both stems; 0 when found. */
static int find_song(char *song, char *guitar, size_t len)
{
    char **packs;
    int np = list_dir(SONGS_DIR, &packs);
    int found = 0;
    for (int i = 0; i < np && !found; i++) {
        char pdir[PATH_MAX];
        snprintf(pdir, sizeof pdir, "%s/%s", SONGS_DIR, packs[i]);
        char **songs;
        int ns = list_dir(pdir, &songs);
        for (int j = 0; j < ns && !found; j++) {
            if (snprintf(song, len, "%s/%s/song.ogg", pdir, songs[j]) >= (int)len ||
                snprintf(guitar, len, "%s/%s/guitar.ogg", pdir, songs[j]) >= (int)len)
                continue;
            found = is_file(song) && is_file(guitar);
        }
        if (ns > 0) free_list(songs, ns);
    }
    if (np > 0) free_list(packs, np);
    return found ? 0 : -1;
}

/* Reads `frames` frames of a stereo 44.1 kHz file starting at `offset`, adding
 * them into acc (interleaved stereo). Files shorter than that leave the rest. */
static int add_stem(const char *path, int64_t offset, float *acc, int64_t frames)
{
    ClvLog log = clv_cli_log();
    ClvAudioReader *r;
    ClvAudioInfo info;
    if (clv_audio_reader_open(path, &log, &r, &info) != CLV_OK) return -1;
    if (info.sample_rate != DEMO_RATE || info.channels != 2) {
        clv_cli_error("%s: expected 44100 Hz stereo, found %d Hz, %d channels", path,
                      info.sample_rate, info.channels);
        clv_audio_reader_free(r);
        return -1;
    }
    if (offset + frames > info.frames) offset = info.frames > frames ? info.frames - frames : 0;
    enum { B = 4096 };
    static float buf[B * 2];
    int64_t pos = 0, end = offset + frames;
    while (pos < end) {
        int want = end - pos < B ? (int)(end - pos) : B, got = 0;
        if (clv_audio_reader_read(r, buf, want, &got) != CLV_OK) {
            clv_audio_reader_free(r);
            return -1;
        }
        if (got == 0) break;
        for (int i = 0; i < got; i++) {
            int64_t t = pos + i - offset;
            if (t < 0) continue;
            acc[2 * t] += buf[2 * i];
            acc[2 * t + 1] += buf[2 * i + 1];
        }
        pos += got;
    }
    clv_audio_reader_free(r);
    return 0;
}

/* Mono 8 kHz speech: prompts in sorted order, 0.25 s apart, starting at 0.5 s,
 * until `frames8` frames are filled. Tones and very short prompts are skipped. */
static int build_voice8k(float *v, int64_t frames8, int *used)
{
    char **names;
    int n = list_dir(VOICE_DIR, &names);
    *used = 0;
    if (n <= 0) {
        clv_cli_error("%s: no voice recordings found (apt-get install asterisk-core-sounds-en-wav)",
                      VOICE_DIR);
        return -1;
    }
    ClvLog log = clv_cli_log();
    int64_t pos = 4000;
    for (int i = 0; i < n && pos < frames8; i++) {
        const char *nm = names[i];
        size_t l = strlen(nm);
        if (l < 5 || strcmp(nm + l - 4, ".wav") != 0 || strstr(nm, "tone") || strstr(nm, "beep") ||
            strstr(nm, "silence"))
            continue;
        char path[PATH_MAX];
        snprintf(path, sizeof path, "%s/%s", VOICE_DIR, nm);
        ClvAudioReader *r;
        ClvAudioInfo info;
        if (clv_audio_reader_open(path, &log, &r, &info) != CLV_OK) {
            free_list(names, n);
            return -1;
        }
        if (info.sample_rate != 8000 || info.channels != 1 || info.frames < 8000) {
            clv_audio_reader_free(r);
            continue;
        }
        int got = 0;
        do {
            int want = frames8 - pos < 4096 ? (int)(frames8 - pos) : 4096;
            if (want <= 0) break;
            if (clv_audio_reader_read(r, v + pos, want, &got) != CLV_OK) {
                clv_audio_reader_free(r);
                free_list(names, n);
                return -1;
            }
            pos += got;
        } while (got > 0);
        clv_audio_reader_free(r);
        (*used)++;
        pos += 2000;
    }
    free_list(names, n);
    if (*used == 0) {
        clv_cli_error("%s: no usable voice recordings", VOICE_DIR);
        return -1;
    }
    return 0;
}

static int write_file(const char *path, const float *x, int64_t frames)
{
    ClvLog log = clv_cli_log();
    ClvAudioWriter *w;
    if (clv_audio_writer_open(path, DEMO_RATE, 2, &log, &w) != CLV_OK) return -1;
    int ok = clv_audio_writer_write(w, x, frames) == CLV_OK && clv_audio_writer_commit(w) == CLV_OK;
    clv_audio_writer_free(w);
    return ok ? 0 : -1;
}

/* SDR in dB of the stereo file `est` against the in-memory reference:
 * 10 log10(sum ref^2 / sum (ref - est)^2), with the mixture-as-estimate figure. */
static int sdr_of(const char *est, const float *ref, const float *mix, int64_t frames, double *sdr,
                  double *sdr_mix)
{
    ClvLog log = clv_cli_log();
    ClvAudioReader *r;
    ClvAudioInfo info;
    if (clv_audio_reader_open(est, &log, &r, &info) != CLV_OK) return -1;
    if (info.frames != frames || info.channels != 2) {
        clv_cli_error("%s: has %lld frames, expected %lld", est, (long long)info.frames,
                      (long long)frames);
        clv_audio_reader_free(r);
        return -1;
    }
    static float buf[4096 * 2];
    double s = 0.0, e = 0.0, em = 0.0;
    int64_t pos = 0;
    int got;
    do {
        if (clv_audio_reader_read(r, buf, 4096, &got) != CLV_OK) {
            clv_audio_reader_free(r);
            return -1;
        }
        for (int64_t i = 0; i < (int64_t)got * 2; i++) {
            double rr = ref[2 * pos + i];
            s += rr * rr;
            e += (rr - buf[i]) * (rr - buf[i]);
            em += (rr - mix[2 * pos + i]) * (rr - mix[2 * pos + i]);
        }
        pos += got;
    } while (got > 0);
    clv_audio_reader_free(r);
    *sdr = 10.0 * log10((s + 1e-20) / (e + 1e-20));
    *sdr_mix = 10.0 * log10((s + 1e-20) / (em + 1e-20));
    if (fabs(*sdr_mix) < 0.005) *sdr_mix = 0.0; /* print 0.00, not -0.00 */
    return 0;
}

static void demo_help(FILE *f)
{
    fprintf(f,
            "Usage: cleave demo [-o OUTDIR] [--seconds N] [--model NAME|FILE]\n"
            "\n"
            "Builds a %d Hz stereo mixture from Debian-packaged recordings: a Frets on Fire\n"
            "song (backing + guitar stems, packages fretsonfire-songs-*) with a recorded\n"
            "voice (asterisk-core-sounds-en-wav) panned to the centre. Writes OUTDIR/mix.wav\n"
            "and the references OUTDIR/reference_vocals.wav and\n"
            "OUTDIR/reference_accompaniment.wav, separates the mixture into OUTDIR/vocals.wav\n"
            "and OUTDIR/accompaniment.wav, and prints the SDR of both stems.\n"
            "\n"
            "Options:\n"
            "  -o, --output DIR       output directory (default ./cleave-demo)\n"
            "      --seconds N        length of the mixture, 1..120 (default 30)\n"
            "  -m, --model NAME|FILE  separator (default %s)\n"
            "  -h, --help             this help\n",
            DEMO_RATE, clv_registry_default_separator());
}

int clv_cmd_demo(int argc, char **argv)
{
    if (clv_cli_wants_help(argc, argv)) {
        demo_help(stdout);
        return CLV_EXIT_OK;
    }
    const char *outdir = "cleave-demo", *model = NULL;
    long seconds = 30;
    enum { OPT_SECONDS = 256 };
    static const struct option opts[] = {
        {"output", required_argument, NULL, 'o'}, {"model", required_argument, NULL, 'm'},
        {"seconds", required_argument, NULL, OPT_SECONDS}, {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    optind = 1;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":o:m:h", opts, NULL)) != -1) {
        switch (c) {
        case 'o': outdir = optarg; break;
        case 'm': model = optarg; break;
        case 'h': demo_help(stdout); return CLV_EXIT_OK;
        case OPT_SECONDS:
            if (clv_cli_parse_int(optarg, 1, 120, &seconds) != 0)
                return clv_cli_usage_error("demo", "--seconds takes a whole number from 1 to 120, not '%s'", optarg);
            break;
        case ':': return clv_cli_usage_error("demo", "option '%s' needs a value", argv[optind - 1]);
        default:
            if (optopt > 0 && optopt < 256) return clv_cli_usage_error("demo", "unknown option '-%c'", optopt);
            return clv_cli_usage_error("demo", "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc) return clv_cli_usage_error("demo", "unexpected argument '%s'", argv[optind]);

    char song[PATH_MAX], guitar[PATH_MAX];
    if (find_song(song, guitar, sizeof song) != 0) {
        clv_cli_error("%s: no Frets on Fire songs found (apt-get install fretsonfire-songs-sectoid "
                      "fretsonfire-songs-muldjord)", SONGS_DIR);
        return CLV_EXIT_FAIL;
    }
    const int64_t frames = (int64_t)seconds * DEMO_RATE, frames8 = (int64_t)seconds * 8000;
    int rc = CLV_EXIT_FAIL;
    float *acc = calloc((size_t)frames * 2, sizeof *acc);
    float *voc = calloc((size_t)frames * 2, sizeof *voc);
    float *mix = calloc((size_t)frames * 2, sizeof *mix);
    float *v8 = calloc((size_t)frames8, sizeof *v8);
    float *v44 = NULL;
    size_t n44 = 0;
    int prompts = 0;
    if (!acc || !voc || !mix || !v8) {
        clv_cli_error("demo: out of memory");
        goto done;
    }
    int64_t offset = (int64_t)(SONG_OFFSET_S * DEMO_RATE);
    if (add_stem(song, offset, acc, frames) != 0 || add_stem(guitar, offset, acc, frames) != 0)
        goto done;
    if (build_voice8k(v8, frames8, &prompts) != 0) goto done;
    ClvStatus st = clv_resample_buffer(8000.0, DEMO_RATE, 1, v8, (size_t)frames8, &v44, &n44);
    if (st != CLV_OK) {
        clv_cli_error("demo: resampling the voice failed: %s", clv_strerror(st));
        goto done;
    }

    /* Voice as loud as the band (0 dB voice-to-accompaniment over the clip),
     * identical in both channels: panned centre. */
    double ea = 0.0, ev = 0.0;
    for (int64_t i = 0; i < frames * 2; i++) ea += (double)acc[i] * acc[i];
    for (size_t i = 0; i < n44 && i < (size_t)frames; i++) ev += 2.0 * (double)v44[i] * v44[i];
    float g = ev > 0.0 ? (float)sqrt(ea / ev) : 0.0f;
    float peak = 0.0f;
    for (int64_t t = 0; t < frames; t++) {
        float v = (size_t)t < n44 ? g * v44[t] : 0.0f;
        voc[2 * t] = voc[2 * t + 1] = v;
        for (int ch = 0; ch < 2; ch++) {
            mix[2 * t + ch] = acc[2 * t + ch] + v;
            float a = fabsf(mix[2 * t + ch]);
            if (a > peak) peak = a;
        }
    }
    if (peak > 0.9f) { /* keep the mixture below full scale; references follow */
        float s = 0.9f / peak;
        for (int64_t i = 0; i < frames * 2; i++) {
            acc[i] *= s;
            voc[i] *= s;
            mix[i] = acc[i] + voc[i];
        }
    }

    struct stat sb;
    if (stat(outdir, &sb) != 0 && mkdir(outdir, 0777) != 0) {
        clv_cli_error("%s: cannot create output directory: %s", outdir, strerror(errno));
        goto done;
    }
    char mpath[PATH_MAX], rv[PATH_MAX], ra[PATH_MAX], ev_path[PATH_MAX], ea_path[PATH_MAX];
    snprintf(mpath, sizeof mpath, "%s/mix.wav", outdir);
    snprintf(rv, sizeof rv, "%s/reference_vocals.wav", outdir);
    snprintf(ra, sizeof ra, "%s/reference_accompaniment.wav", outdir);
    snprintf(ev_path, sizeof ev_path, "%s/vocals.wav", outdir);
    snprintf(ea_path, sizeof ea_path, "%s/accompaniment.wav", outdir);
    if (write_file(mpath, mix, frames) != 0 || write_file(rv, voc, frames) != 0 ||
        write_file(ra, acc, frames) != 0)
        goto done;
    printf("cleave demo: %ld s mixture of %s (+ guitar stem) with %d voice prompts from %s\n",
           seconds, song, prompts, VOICE_DIR);
    fflush(stdout);

    ClvSeparateJob job;
    clv_separate_job_defaults(&job);
    job.input = mpath;
    job.outdir = outdir;
    job.model = model;
    if ((rc = clv_separate_run(&job)) != CLV_EXIT_OK) goto done;

    double sv, sv0, sa, sa0;
    rc = CLV_EXIT_FAIL;
    if (sdr_of(ev_path, voc, mix, frames, &sv, &sv0) != 0 ||
        sdr_of(ea_path, acc, mix, frames, &sa, &sa0) != 0)
        goto done;
    printf("cleave demo: SDR vocals %.2f dB, accompaniment %.2f dB "
           "(unprocessed mixture as estimate: %.2f dB and %.2f dB)\n",
           sv, sa, sv0, sa0);
    printf("cleave demo: stems are in %s/ (vocals.wav, accompaniment.wav; input mix.wav)\n", outdir);
    rc = CLV_EXIT_OK;

done:
    free(acc);
    free(voc);
    free(mix);
    free(v8);
    free(v44);
    return rc;
}
