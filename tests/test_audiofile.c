/* SPDX-License-Identifier: ISC */
/* host/clv_audiofile: round trips, atomic writes and every kind of bad input.
 *
 * Files are generated here with libsndfile (and truncated or corrupted by hand)
 * in a fresh temporary directory, so the test needs nothing from outside. */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sndfile.h>

#include "clv_audiofile.h"
#include "clv_test.h"

static char dir[256];
static char last_msg[1024];
static int n_msgs;

static void log_fn(void *user, ClvLogLevel level, const char *msg)
{
    (void)user;
    if (level != CLV_LOG_ERROR) return;
    snprintf(last_msg, sizeof last_msg, "%s", msg);
    n_msgs++;
}
static const ClvLog logger = {log_fn, NULL};

static void path_of(char *out, size_t len, const char *name)
{
    snprintf(out, len, "%s/%s", dir, name);
}

/* Writes a file with libsndfile; returns 0 on success. */
static int make_file(const char *name, int format, int rate, int channels, const float *x,
                     sf_count_t frames)
{
    char p[512];
    path_of(p, sizeof p, name);
    SF_INFO info = {.samplerate = rate, .channels = channels, .format = format};
    SNDFILE *f = sf_open(p, SFM_WRITE, &info);
    if (!f) return -1;
    if (frames > 0 && sf_writef_float(f, x, frames) != frames) {
        sf_close(f);
        return -1;
    }
    return sf_close(f);
}

static long file_size(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 ? (long)st.st_size : -1;
}

/* Opens name; expects failure with status `want` and a message holding the path
 * and `needle`. */
static void expect_reject(const char *name, ClvStatus want, const char *needle)
{
    char p[512];
    path_of(p, sizeof p, name);
    n_msgs = 0;
    last_msg[0] = '\0';
    static int sentinel;
    ClvAudioReader *r = (ClvAudioReader *)&sentinel; /* must be reset to NULL */
    ClvAudioInfo info;
    ClvStatus st = clv_audio_reader_open(p, &logger, &r, &info);
    CHECK(st == want, "%s: status %s, expected %s", name, clv_strerror(st), clv_strerror(want));
    CHECK(r == NULL, "%s: reader handed out on failure", name);
    CHECK(n_msgs == 1, "%s: %d error messages, expected exactly 1", name, n_msgs);
    CHECK(strstr(last_msg, p) != NULL, "%s: message does not name the file: '%s'", name, last_msg);
    CHECK(strstr(last_msg, needle) != NULL, "%s: message lacks '%s': '%s'", name, needle, last_msg);
    if (r != (ClvAudioReader *)&sentinel) clv_audio_reader_free(r);
}

/* Reads a whole file; returns the status of the first failing call. */
static ClvStatus read_all(const char *name, float *buf, int cap_frames, int64_t *frames,
                          int64_t *replaced)
{
    char p[512];
    path_of(p, sizeof p, name);
    ClvAudioReader *r;
    ClvAudioInfo info;
    ClvStatus st = clv_audio_reader_open(p, &logger, &r, &info);
    if (st != CLV_OK) return st;
    int64_t total = 0;
    int got = 0;
    do {
        int want = cap_frames - (int)total < 333 ? cap_frames - (int)total : 333; /* odd blocks */
        if (want <= 0) break;
        st = clv_audio_reader_read(r, buf + total * info.channels, want, &got);
        if (st != CLV_OK) break;
        total += got;
    } while (got > 0);
    *frames = total;
    if (replaced) *replaced = clv_audio_reader_replaced(r);
    clv_audio_reader_free(r);
    return st;
}

static int count_entries(const char *d)
{
    DIR *dd = opendir(d);
    if (!dd) return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(dd)) != NULL)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) n++;
    closedir(dd);
    return n;
}

static void test_round_trip(void)
{
    enum { N = 10007 };
    static float x[N * 2], y[N * 2];
    for (int i = 0; i < N; i++) {
        x[2 * i] = 0.5f * sinf(0.01f * (float)i);
        x[2 * i + 1] = 1e-7f * (float)(i % 17) - 0.3f; /* float WAV keeps tiny values exactly */
    }
    char p[512];
    path_of(p, sizeof p, "rt.wav");
    ClvAudioWriter *w = NULL;
    CHECK(clv_audio_writer_open(p, 48000, 2, &logger, &w) == CLV_OK, "writer open");
    if (!w) return;
    for (int off = 0; off < N; off += 1000) {
        int n = N - off < 1000 ? N - off : 1000;
        CHECK(clv_audio_writer_write(w, x + 2 * off, n) == CLV_OK, "write");
    }
    CHECK(clv_audio_writer_frames(w) == N, "frames written %lld", (long long)clv_audio_writer_frames(w));
    CHECK(access(p, F_OK) != 0, "final name exists before commit");
    CHECK(count_entries(dir) == 1, "one temporary file while writing (%d)", count_entries(dir));
    CHECK(clv_audio_writer_commit(w) == CLV_OK, "commit");
    clv_audio_writer_free(w);
    CHECK(access(p, F_OK) == 0, "final file missing after commit");
    CHECK(count_entries(dir) == 1, "temporary file left next to the result (%d entries)", count_entries(dir));

    SF_INFO info = {0};
    SNDFILE *f = sf_open(p, SFM_READ, &info);
    CHECK(f != NULL, "libsndfile cannot read our output");
    if (f) {
        /* RF64 downgrades to RIFF WAVE (libsndfile writes the extensible header). */
        CHECK((info.format & SF_FORMAT_TYPEMASK) == SF_FORMAT_WAV ||
                  (info.format & SF_FORMAT_TYPEMASK) == SF_FORMAT_WAVEX,
              "not downgraded to RIFF WAVE: %x", info.format);
        CHECK((info.format & SF_FORMAT_SUBMASK) == SF_FORMAT_FLOAT, "not 32-bit float: %x", info.format);
        CHECK(info.samplerate == 48000 && info.channels == 2 && info.frames == N, "header %d Hz %d ch %lld",
              info.samplerate, info.channels, (long long)info.frames);
        sf_close(f);
    }
    /* Same permissions a plain creat() would give, not mkstemp's 0600. */
    struct stat st;
    mode_t mask = umask(0);
    umask(mask);
    CHECK(stat(p, &st) == 0 && (st.st_mode & 0777) == (0666 & ~mask), "mode %o", st.st_mode & 0777);

    int64_t frames = 0, replaced = -1;
    CHECK(read_all("rt.wav", y, N, &frames, &replaced) == CLV_OK, "read back");
    CHECK(frames == N, "read %lld frames", (long long)frames);
    CHECK(replaced == 0, "replaced %lld", (long long)replaced);
    float maxerr = 0.0f;
    for (int i = 0; i < 2 * N; i++) maxerr = fmaxf(maxerr, fabsf(x[i] - y[i]));
    CHECK(maxerr == 0.0f, "float WAV round trip not exact: %g", maxerr);
    unlink(p);
}

static void test_abort_removes_temp(void)
{
    char p[512];
    path_of(p, sizeof p, "aborted.wav");
    float z[64] = {0};
    ClvAudioWriter *w = NULL;
    CHECK(clv_audio_writer_open(p, 44100, 1, &logger, &w) == CLV_OK, "open");
    CHECK(clv_audio_writer_write(w, z, 64) == CLV_OK, "write");
    clv_audio_writer_free(w); /* no commit */
    CHECK(count_entries(dir) == 0, "aborted writer left %d files", count_entries(dir));

    /* Finished but not committed: still nothing under the final name. */
    CHECK(clv_audio_writer_open(p, 44100, 1, &logger, &w) == CLV_OK, "open 2");
    CHECK(clv_audio_writer_write(w, z, 64) == CLV_OK, "write 2");
    CHECK(clv_audio_writer_finish(w) == CLV_OK, "finish");
    CHECK(access(p, F_OK) != 0, "final name exists after finish");
    clv_audio_writer_free(w);
    CHECK(count_entries(dir) == 0, "finished-uncommitted writer left %d files", count_entries(dir));
}

static void test_writer_bad_dir(void)
{
    char p[512];
    path_of(p, sizeof p, "no-such-dir/x.wav");
    static int sentinel;
    ClvAudioWriter *w = (ClvAudioWriter *)&sentinel;
    n_msgs = 0;
    CHECK(clv_audio_writer_open(p, 44100, 2, &logger, &w) == CLV_ERR_IO, "missing dir accepted");
    CHECK(w == NULL, "writer handed out on failure");
    CHECK(n_msgs == 1 && strstr(last_msg, "no-such-dir") && strstr(last_msg, "no such directory"),
          "message: '%s'", last_msg);

    /* A regular file where the directory should be. */
    char f[512];
    path_of(f, sizeof f, "plainfile");
    FILE *fp = fopen(f, "w");
    if (fp) fclose(fp);
    path_of(p, sizeof p, "plainfile/x.wav");
    n_msgs = 0;
    CHECK(clv_audio_writer_open(p, 44100, 2, &logger, &w) == CLV_ERR_IO, "file-as-dir accepted");
    CHECK(n_msgs == 1 && strstr(last_msg, "plainfile"), "message: '%s'", last_msg);
    unlink(f);

    /* A directory nobody may write (root bypasses modes, so use /proc then). */
    const char *ro = "/proc/x.wav";
    char rodir[512];
    if (geteuid() != 0) {
        path_of(rodir, sizeof rodir, "ro");
        mkdir(rodir, 0555);
        path_of(p, sizeof p, "ro/x.wav");
        ro = p;
    }
    n_msgs = 0;
    CHECK(clv_audio_writer_open(ro, 44100, 2, &logger, &w) == CLV_ERR_IO, "read-only dir accepted");
    CHECK(n_msgs == 1 && strstr(last_msg, "cannot write"), "message: '%s'", last_msg);
    if (geteuid() != 0) rmdir(rodir);
}

static void test_bad_inputs(void)
{
    float x[4000 * 3];
    for (int i = 0; i < 4000 * 3; i++) x[i] = 0.1f * sinf(0.05f * (float)i);
    char p[512];

    path_of(p, sizeof p, "missing.wav");
    expect_reject("missing.wav", CLV_ERR_NOT_FOUND, "no such file");

    mkdir((path_of(p, sizeof p, "adir"), p), 0755);
    expect_reject("adir", CLV_ERR_IO, "is a directory");
    rmdir(p);

    FILE *fp = fopen((path_of(p, sizeof p, "empty.wav"), p), "w");
    if (fp) fclose(fp);
    expect_reject("empty.wav", CLV_ERR_FORMAT, "empty file");

    fp = fopen((path_of(p, sizeof p, "text.wav"), p), "w");
    if (fp) {
        for (int i = 0; i < 50; i++) fputs("this is not audio at all, just some text\n", fp);
        fclose(fp);
    }
    expect_reject("text.wav", CLV_ERR_FORMAT, "not an audio file");

    CHECK(make_file("zero.wav", SF_FORMAT_WAV | SF_FORMAT_FLOAT, 44100, 2, x, 0) == 0, "make zero");
    expect_reject("zero.wav", CLV_ERR_FORMAT, "zero length");

    CHECK(make_file("three.wav", SF_FORMAT_WAV | SF_FORMAT_FLOAT, 44100, 3, x, 4000) == 0, "make 3ch");
    expect_reject("three.wav", CLV_ERR_UNSUPPORTED, "3 channels");

    CHECK(make_file("r4k.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 4000, 1, x, 4000) == 0, "make 4k");
    expect_reject("r4k.wav", CLV_ERR_UNSUPPORTED, "sample rate 4000 Hz");
    CHECK(make_file("r384k.wav", SF_FORMAT_WAV | SF_FORMAT_FLOAT, 384000, 2, x, 4000) == 0, "make 384k");
    expect_reject("r384k.wav", CLV_ERR_UNSUPPORTED, "sample rate 384000 Hz");

    /* WAV cut in half: libsndfile would quietly shorten it; we must not. */
    CHECK(make_file("cut.wav", SF_FORMAT_WAV | SF_FORMAT_FLOAT, 44100, 2, x, 4000) == 0, "make cut");
    path_of(p, sizeof p, "cut.wav");
    CHECK(truncate(p, file_size(p) / 2) == 0, "truncate");
    expect_reject("cut.wav", CLV_ERR_FORMAT, "truncated");

    /* Same for AIFF. */
    CHECK(make_file("cut.aiff", SF_FORMAT_AIFF | SF_FORMAT_PCM_16, 44100, 2, x, 4000) == 0, "make aiff");
    path_of(p, sizeof p, "cut.aiff");
    CHECK(truncate(p, file_size(p) / 2) == 0, "truncate aiff");
    expect_reject("cut.aiff", CLV_ERR_FORMAT, "truncated");

    /* Header only: the data chunk is gone entirely. */
    CHECK(make_file("hdr.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 44100, 1, x, 4000) == 0, "make hdr");
    path_of(p, sizeof p, "hdr.wav");
    CHECK(truncate(p, 30) == 0, "truncate hdr");
    n_msgs = 0;
    ClvAudioReader *r = NULL;
    ClvAudioInfo info;
    CHECK(clv_audio_reader_open(p, &logger, &r, &info) != CLV_OK, "30-byte WAV accepted");
    CHECK(n_msgs == 1 && strstr(last_msg, p), "message: '%s'", last_msg);
    clv_audio_reader_free(r);

    /* Truncated FLAC: opens (the stream header says how long it is) and fails
     * while reading, with a message naming the file. */
    static float big[44100 * 2];
    for (int i = 0; i < 44100 * 2; i++) big[i] = 0.3f * sinf(0.001f * (float)i * (float)(i % 7));
    CHECK(make_file("cut.flac", SF_FORMAT_FLAC | SF_FORMAT_PCM_16, 44100, 2, big, 44100) == 0, "make flac");
    path_of(p, sizeof p, "cut.flac");
    CHECK(truncate(p, file_size(p) / 2) == 0, "truncate flac");
    static float rb[44100 * 2];
    int64_t frames = 0;
    n_msgs = 0;
    ClvStatus st = read_all("cut.flac", rb, 44100, &frames, NULL);
    CHECK(st == CLV_ERR_FORMAT, "truncated FLAC read gave %s", clv_strerror(st));
    CHECK(n_msgs == 1 && strstr(last_msg, p) && (strstr(last_msg, "truncated") || strstr(last_msg, "corrupt")),
          "message: '%s'", last_msg);

    /* Truncated Ogg Vorbis: no end position. */
    CHECK(make_file("cut.ogg", SF_FORMAT_OGG | SF_FORMAT_VORBIS, 44100, 2, big, 44100) == 0, "make ogg");
    path_of(p, sizeof p, "cut.ogg");
    CHECK(truncate(p, file_size(p) / 2) == 0, "truncate ogg");
    n_msgs = 0;
    st = read_all("cut.ogg", rb, 44100, &frames, NULL);
    CHECK(st == CLV_ERR_FORMAT, "truncated Ogg gave %s", clv_strerror(st));
    CHECK(n_msgs == 1 && strstr(last_msg, p) && strstr(last_msg, "truncated"), "message: '%s'", last_msg);

    /* A complete Ogg reads fine (the mirror image of the check above). */
    CHECK(make_file("ok.ogg", SF_FORMAT_OGG | SF_FORMAT_VORBIS, 44100, 2, big, 44100) == 0, "make ogg 2");
    st = read_all("ok.ogg", rb, 44100, &frames, NULL);
    CHECK(st == CLV_OK && frames == 44100, "complete Ogg: %s, %lld frames", clv_strerror(st), (long long)frames);
}

static void test_nan(void)
{
    enum { N = 1000 };
    float x[N], y[N];
    for (int i = 0; i < N; i++) x[i] = 0.25f;
    x[10] = NAN;
    x[20] = INFINITY;
    x[30] = -INFINITY;
    x[40] = 3e30f;
    x[50] = -5.0f; /* loud but plausible: kept */
    CHECK(make_file("nan.wav", SF_FORMAT_WAV | SF_FORMAT_FLOAT, 16000, 1, x, N) == 0, "make nan");
    int64_t frames = 0, replaced = 0;
    CHECK(read_all("nan.wav", y, N, &frames, &replaced) == CLV_OK, "NaN file rejected");
    CHECK(frames == N, "frames %lld", (long long)frames);
    CHECK(replaced == 4, "replaced %lld, expected 4", (long long)replaced);
    int finite = 1;
    for (int i = 0; i < N; i++) finite &= isfinite(y[i]) != 0;
    CHECK(finite, "non-finite sample survived");
    CHECK(y[10] == 0.0f && y[20] == 0.0f && y[30] == 0.0f && y[40] == 0.0f, "replacements not zero");
    CHECK(y[50] == -5.0f && y[0] == 0.25f, "valid samples changed");
}

static void test_same_file(void)
{
    char a[512], b[512];
    path_of(a, sizeof a, "same.wav");
    snprintf(b, sizeof b, "%s/./same.wav", dir);
    float z[8] = {0};
    CHECK(make_file("same.wav", SF_FORMAT_WAV | SF_FORMAT_FLOAT, 44100, 1, z, 8) == 0, "make same");
    CHECK(clv_audio_same_file(a, b) == 1, "same file not recognised");
    path_of(b, sizeof b, "missing.wav");
    CHECK(clv_audio_same_file(a, b) == 0, "missing file matched");
}

int main(void)
{
    snprintf(dir, sizeof dir, "%s/clv-audiofile-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(dir)) {
        fprintf(stderr, "mkdtemp: %s\n", strerror(errno));
        return 1;
    }
    test_round_trip();
    test_abort_removes_temp();
    test_writer_bad_dir();
    test_bad_inputs();
    test_nan();
    test_same_file();

    /* Clean up whatever the tests made. */
    DIR *d = opendir(dir);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            char p[600];
            if (e->d_name[0] == '.' && (e->d_name[1] == '\0' || (e->d_name[1] == '.' && e->d_name[2] == '\0')))
                continue;
            snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
            unlink(p);
        }
        closedir(d);
    }
    rmdir(dir);
    TEST_DONE();
}
