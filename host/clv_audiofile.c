/* SPDX-License-Identifier: ISC */
/* Audio file reader and writer on libsndfile.
 *
 * Reader: we open the descriptor ourselves so missing files, directories and
 * permission problems get their own messages, then let libsndfile identify the
 * format. libsndfile quietly shortens a WAV/AIFF whose data chunk runs past the
 * end of the file; we read its header log to call that what it is (truncated)
 * before any output exists. Compressed streams reveal truncation by a decode error
 * or by ending before the frame count found at open, which read() reports.
 *
 * Writer: mkstemp() in the destination directory (so the final rename stays on one
 * file system and is atomic), RF64 with automatic downgrade to plain WAV below
 * 4 GiB, fsync before the rename, and unlink on every path that does not commit. */
#include "clv_audiofile.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sndfile.h>

struct ClvAudioReaderImpl {
    SNDFILE *sf;
    int fd;
    int channels;
    int64_t frames;   /* promised by the header */
    int64_t done;     /* frames delivered so far */
    int64_t replaced; /* samples sanitised */
    int failed;       /* a read error was reported; later reads repeat it quietly */
    ClvLog log;
    char path[PATH_MAX];
};

struct ClvAudioWriterImpl {
    SNDFILE *sf;
    int fd;
    int channels;
    int finished;
    int committed;
    int64_t frames;
    mode_t mode;
    ClvLog log;
    char path[PATH_MAX];
    char tmp[PATH_MAX];
};

/* ---- reader -------------------------------------------------------------- */

/* The header's data-chunk size when libsndfile had to shorten it, else -1.
 * libsndfile logs "data : N (should be M)" (WAV family) or "SSND : N (should be M)"
 * (AIFF) when the chunk claims more bytes than the file holds. Sizes 0 and
 * 0xFFFFFFFF are what streaming writers put in an unknown length: not truncation. */
static int truncated_in_log(SNDFILE *sf, long long *claimed, long long *present)
{
    char logbuf[8192];
    logbuf[0] = '\0';
    sf_command(sf, SFC_GET_LOG_INFO, logbuf, (int)sizeof logbuf);
    for (const char *line = logbuf; line && *line;) {
        const char *eol = strchr(line, '\n');
        size_t len = eol ? (size_t)(eol - line) : strlen(line);
        char tmp[256];
        if (len >= sizeof tmp) len = sizeof tmp - 1;
        memcpy(tmp, line, len);
        tmp[len] = '\0';
        long long a = 0, b = 0;
        char tag[8];
        if (sscanf(tmp, " %7s : %lld (should be %lld)", tag, &a, &b) == 3 &&
            (strcmp(tag, "data") == 0 || strcmp(tag, "SSND") == 0) && a > b && a != 0 &&
            a != 0xFFFFFFFFLL && a != -1) {
            *claimed = a;
            *present = b;
            return 1;
        }
        line = eol ? eol + 1 : NULL;
    }
    return 0;
}

static void format_name(int format, char *out, size_t len)
{
    SF_FORMAT_INFO major = { .format = format & SF_FORMAT_TYPEMASK };
    SF_FORMAT_INFO sub = { .format = format & SF_FORMAT_SUBMASK };
    const char *mname = sf_command(NULL, SFC_GET_FORMAT_INFO, &major, sizeof major) == 0 && major.name
                            ? major.name
                            : "audio";
    const char *sname = sf_command(NULL, SFC_GET_FORMAT_INFO, &sub, sizeof sub) == 0 && sub.name
                            ? sub.name
                            : "";
    snprintf(out, len, "%s%s%s", mname, *sname ? ", " : "", sname);
}

ClvStatus clv_audio_reader_open(const char *path, const ClvLog *log, ClvAudioReader **out,
                                ClvAudioInfo *info)
{
    if (!out) return CLV_ERR_INVALID;
    *out = NULL;
    if (!path || !*path) {
        clv_log(log, CLV_LOG_ERROR, "no input file given");
        return CLV_ERR_INVALID;
    }
    if (strlen(path) >= PATH_MAX) {
        clv_log(log, CLV_LOG_ERROR, "%.64s...: path too long", path);
        return CLV_ERR_INVALID;
    }

    struct stat st;
    if (stat(path, &st) != 0) {
        int e = errno;
        clv_log(log, CLV_LOG_ERROR, "%s: %s", path,
                e == ENOENT ? "no such file" : strerror(e));
        return e == ENOENT ? CLV_ERR_NOT_FOUND : CLV_ERR_IO;
    }
    if (S_ISDIR(st.st_mode)) {
        clv_log(log, CLV_LOG_ERROR, "%s: is a directory, not an audio file", path);
        return CLV_ERR_IO;
    }
    if (S_ISREG(st.st_mode) && st.st_size == 0) {
        clv_log(log, CLV_LOG_ERROR, "%s: empty file (0 bytes)", path);
        return CLV_ERR_FORMAT;
    }
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        clv_log(log, CLV_LOG_ERROR, "%s: cannot open: %s", path, strerror(errno));
        return CLV_ERR_IO;
    }

    SF_INFO sfi;
    memset(&sfi, 0, sizeof sfi);
    SNDFILE *sf = sf_open_fd(fd, SFM_READ, &sfi, SF_FALSE);
    if (!sf) {
        int err = sf_error(NULL);
        const char *why = sf_strerror(NULL);
        ClvStatus st_ret = CLV_ERR_FORMAT;
        switch (err) {
        case SF_ERR_UNRECOGNISED_FORMAT:
            clv_log(log, CLV_LOG_ERROR, "%s: not an audio file (format not recognised)", path);
            break;
        case SF_ERR_UNSUPPORTED_ENCODING:
            clv_log(log, CLV_LOG_ERROR, "%s: unsupported audio encoding (%s)", path, why);
            st_ret = CLV_ERR_UNSUPPORTED;
            break;
        case SF_ERR_SYSTEM:
            clv_log(log, CLV_LOG_ERROR, "%s: read error (%s)", path, why);
            st_ret = CLV_ERR_IO;
            break;
        default:
            clv_log(log, CLV_LOG_ERROR, "%s: corrupt or truncated audio file (%s)", path, why);
            break;
        }
        close(fd);
        return st_ret;
    }

    char fmt[48];
    format_name(sfi.format, fmt, sizeof fmt);
    ClvStatus bad = CLV_OK;
    long long claimed = 0, present = 0;
    if (sfi.channels < 1) {
        clv_log(log, CLV_LOG_ERROR, "%s: corrupt header (%d channels)", path, sfi.channels);
        bad = CLV_ERR_FORMAT;
    } else if (sfi.channels > CLV_AUDIO_MAX_CHANNELS) {
        clv_log(log, CLV_LOG_ERROR, "%s: %d channels; cleave handles mono or stereo only", path,
                sfi.channels);
        bad = CLV_ERR_UNSUPPORTED;
    } else if (sfi.samplerate < CLV_AUDIO_MIN_RATE || sfi.samplerate > CLV_AUDIO_MAX_RATE) {
        clv_log(log, CLV_LOG_ERROR, "%s: sample rate %d Hz not supported (cleave handles %d to %d Hz)",
                path, sfi.samplerate, CLV_AUDIO_MIN_RATE, CLV_AUDIO_MAX_RATE);
        bad = CLV_ERR_UNSUPPORTED;
    } else if (sfi.frames == SF_COUNT_MAX || sfi.frames < 0) {
        clv_log(log, CLV_LOG_ERROR, "%s: truncated or unfinished %s stream (no end position)",
                path, fmt);
        bad = CLV_ERR_FORMAT;
    } else if (truncated_in_log(sf, &claimed, &present)) {
        clv_log(log, CLV_LOG_ERROR,
                "%s: truncated: the header promises %lld bytes of audio but only %lld are present",
                path, claimed, present);
        bad = CLV_ERR_FORMAT;
    } else if (sfi.frames == 0) {
        clv_log(log, CLV_LOG_ERROR, "%s: contains no audio (zero length)", path);
        bad = CLV_ERR_FORMAT;
    }
    if (bad != CLV_OK) {
        sf_close(sf);
        close(fd);
        return bad;
    }

    ClvAudioReader *r = calloc(1, sizeof *r);
    if (!r) {
        sf_close(sf);
        close(fd);
        clv_log(log, CLV_LOG_ERROR, "%s: out of memory", path);
        return CLV_ERR_NOMEM;
    }
    r->sf = sf;
    r->fd = fd;
    r->channels = sfi.channels;
    r->frames = sfi.frames;
    if (log) r->log = *log;
    snprintf(r->path, sizeof r->path, "%s", path);
    if (info) {
        info->sample_rate = sfi.samplerate;
        info->channels = sfi.channels;
        info->frames = sfi.frames;
        snprintf(info->format, sizeof info->format, "%s", fmt);
    }
    *out = r;
    return CLV_OK;
}

ClvStatus clv_audio_reader_read(ClvAudioReader *r, float *buf, int max_frames, int *got)
{
    if (!got) return CLV_ERR_INVALID;
    *got = 0;
    if (!r || !buf || max_frames < 0) return CLV_ERR_INVALID;
    if (r->failed) return CLV_ERR_FORMAT;
    int64_t left = r->frames - r->done;
    sf_count_t want = max_frames < left ? max_frames : left;
    if (want <= 0) return CLV_OK;

    sf_count_t n = sf_readf_float(r->sf, buf, want);
    int err = sf_error(r->sf);
    if (err != SF_ERR_NO_ERROR) {
        r->failed = 1;
        clv_log(&r->log, CLV_LOG_ERROR, "%s: corrupt or truncated after %lld of %lld frames (%s)",
                r->path, (long long)(r->done + (n > 0 ? n : 0)), (long long)r->frames,
                sf_strerror(r->sf));
        return CLV_ERR_FORMAT;
    }
    if (n <= 0) {
        r->failed = 1;
        clv_log(&r->log, CLV_LOG_ERROR,
                "%s: truncated: the header promises %lld frames but the audio ends after %lld",
                r->path, (long long)r->frames, (long long)r->done);
        return CLV_ERR_FORMAT;
    }

    /* Replace what would poison the separator (an FFT spreads one NaN over a whole
     * frame, recursive state keeps it forever). */
    size_t count = (size_t)n * (size_t)r->channels;
    for (size_t i = 0; i < count; i++) {
        float x = buf[i];
        if (!(fabsf(x) <= CLV_AUDIO_MAX_ABS)) {
            buf[i] = 0.0f;
            r->replaced++;
        }
    }
    r->done += n;
    *got = (int)n;
    return CLV_OK;
}

int64_t clv_audio_reader_replaced(const ClvAudioReader *r) { return r ? r->replaced : 0; }

const char *clv_audio_reader_path(const ClvAudioReader *r) { return r ? r->path : ""; }

void clv_audio_reader_free(ClvAudioReader *r)
{
    if (!r) return;
    if (r->sf) sf_close(r->sf);
    if (r->fd >= 0) close(r->fd);
    free(r);
}

/* ---- writer -------------------------------------------------------------- */

ClvStatus clv_audio_writer_open(const char *path, int sample_rate, int channels,
                                const ClvLog *log, ClvAudioWriter **out)
{
    if (!out) return CLV_ERR_INVALID;
    *out = NULL;
    if (!path || !*path || sample_rate < 1 || channels < 1 || channels > CLV_AUDIO_MAX_CHANNELS) {
        clv_log(log, CLV_LOG_ERROR, "%s: invalid output parameters", path ? path : "(null)");
        return CLV_ERR_INVALID;
    }
    if (strlen(path) + 16 >= PATH_MAX) {
        clv_log(log, CLV_LOG_ERROR, "%.64s...: path too long", path);
        return CLV_ERR_INVALID;
    }
    ClvAudioWriter *w = calloc(1, sizeof *w);
    if (!w) {
        clv_log(log, CLV_LOG_ERROR, "%s: out of memory", path);
        return CLV_ERR_NOMEM;
    }
    w->fd = -1;
    w->channels = channels;
    if (log) w->log = *log;
    snprintf(w->path, sizeof w->path, "%s", path);

    /* Temporary name in the same directory, hidden, so a crash leaves at worst a
     * dot file and never a half-written vocals.wav. */
    const char *slash = strrchr(path, '/');
    char dir[PATH_MAX];
    if (slash) {
        size_t dlen = (size_t)(slash - path);
        if (dlen == 0) dlen = 1; /* "/file" lives in "/" */
        memcpy(dir, path, dlen);
        dir[dlen] = '\0';
        snprintf(w->tmp, sizeof w->tmp, "%.*s/.%s.tmp-XXXXXX", (int)(slash - path), path, slash + 1);
    } else {
        snprintf(dir, sizeof dir, ".");
        snprintf(w->tmp, sizeof w->tmp, ".%s.tmp-XXXXXX", path);
    }
    w->fd = mkostemp(w->tmp, O_CLOEXEC);
    if (w->fd < 0) {
        int e = errno;
        struct stat st;
        int dir_missing = e == ENOENT && stat(dir, &st) != 0;
        clv_log(log, CLV_LOG_ERROR, "%s: cannot write output there: %s", dir,
                dir_missing ? "no such directory" : strerror(e));
        w->tmp[0] = '\0';
        clv_audio_writer_free(w);
        return CLV_ERR_IO;
    }
    /* mkstemp makes the file 0600; give the result the mode a plain creat() would. */
    mode_t mask = umask(0);
    umask(mask);
    w->mode = 0666 & ~mask;

    SF_INFO sfi;
    memset(&sfi, 0, sizeof sfi);
    sfi.samplerate = sample_rate;
    sfi.channels = channels;
    sfi.format = SF_FORMAT_RF64 | SF_FORMAT_FLOAT;
    w->sf = sf_open_fd(w->fd, SFM_WRITE, &sfi, SF_FALSE);
    if (!w->sf) {
        clv_log(log, CLV_LOG_ERROR, "%s: cannot start writing (%s)", path, sf_strerror(NULL));
        clv_audio_writer_free(w);
        return CLV_ERR_IO;
    }
    /* Plain WAV unless the file grows past 4 GiB; must be set before any data. */
    sf_command(w->sf, SFC_RF64_AUTO_DOWNGRADE, NULL, SF_TRUE);
    *out = w;
    return CLV_OK;
}

ClvStatus clv_audio_writer_write(ClvAudioWriter *w, const float *buf, int64_t frames)
{
    if (!w || !w->sf || w->finished || frames < 0 || (frames > 0 && !buf)) return CLV_ERR_INVALID;
    if (frames == 0) return CLV_OK;
    errno = 0;
    sf_count_t n = sf_writef_float(w->sf, buf, frames);
    if (n != frames) {
        int e = errno;
        clv_log(&w->log, CLV_LOG_ERROR, "%s: write failed: %s", w->path,
                e ? strerror(e) : sf_strerror(w->sf));
        return CLV_ERR_IO;
    }
    w->frames += frames;
    return CLV_OK;
}

ClvStatus clv_audio_writer_finish(ClvAudioWriter *w)
{
    if (!w || w->fd < 0) return CLV_ERR_INVALID;
    if (w->finished) return CLV_OK;
    int rc = sf_close(w->sf);
    w->sf = NULL;
    if (rc != 0) {
        clv_log(&w->log, CLV_LOG_ERROR, "%s: could not finish the file (%s)", w->path,
                sf_error_number(rc));
        return CLV_ERR_IO;
    }
    if (fchmod(w->fd, w->mode) != 0 || fsync(w->fd) != 0) {
        clv_log(&w->log, CLV_LOG_ERROR, "%s: could not finish the file (%s)", w->path,
                strerror(errno));
        return CLV_ERR_IO;
    }
    int fd = w->fd;
    w->fd = -1;
    if (close(fd) != 0) {
        clv_log(&w->log, CLV_LOG_ERROR, "%s: could not finish the file (%s)", w->path,
                strerror(errno));
        return CLV_ERR_IO;
    }
    w->finished = 1;
    return CLV_OK;
}

ClvStatus clv_audio_writer_commit(ClvAudioWriter *w)
{
    if (!w) return CLV_ERR_INVALID;
    if (w->committed) return CLV_OK;
    if (!w->finished) {
        ClvStatus st = clv_audio_writer_finish(w);
        if (st != CLV_OK) return st;
    }
    if (rename(w->tmp, w->path) != 0) {
        clv_log(&w->log, CLV_LOG_ERROR, "%s: could not move the finished file into place (%s)",
                w->path, strerror(errno));
        return CLV_ERR_IO;
    }
    w->committed = 1;
    return CLV_OK;
}

int64_t clv_audio_writer_frames(const ClvAudioWriter *w) { return w ? w->frames : 0; }

void clv_audio_writer_free(ClvAudioWriter *w)
{
    if (!w) return;
    if (w->sf) sf_close(w->sf);
    if (w->fd >= 0) close(w->fd);
    if (!w->committed && w->tmp[0]) unlink(w->tmp);
    free(w);
}

int clv_audio_same_file(const char *a, const char *b)
{
    struct stat sa, sb;
    if (!a || !b || stat(a, &sa) != 0 || stat(b, &sb) != 0) return 0;
    return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}
