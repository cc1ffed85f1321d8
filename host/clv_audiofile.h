/* SPDX-License-Identifier: ISC */
/* Streaming audio file reading and writing on libsndfile, with the validation the
 * command line promises: every problem with a file is reported once through the
 * ClvLog as "FILE: problem" and as a status, never as a crash.
 *
 * The reader accepts what libsndfile decodes (WAV, FLAC, Ogg Vorbis, AIFF, ...) at
 * 8..192 kHz with one or two channels, and rejects missing, empty, non-audio,
 * truncated and zero-length files. Samples that are not finite (NaN, Inf) or
 * absurdly large are replaced so nothing downstream is poisoned; the count is
 * available afterwards.
 *
 * The writer writes 32-bit float WAV (RF64 past 4 GiB) to a temporary file in the
 * destination directory; clv_audio_writer_commit() renames it into place, and a
 * writer freed without a commit removes the temporary file. Inputs are never
 * modified. Memory stays bounded: both sides work a block at a time. */
#ifndef CLV_AUDIOFILE_H
#define CLV_AUDIOFILE_H

#include <stdint.h>

#include "clv_common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Limits cleave handles; files outside them are rejected as unsupported. */
#define CLV_AUDIO_MIN_RATE 8000
#define CLV_AUDIO_MAX_RATE 192000
#define CLV_AUDIO_MAX_CHANNELS 2
/* Sample magnitude beyond which a float sample is treated as corrupt (+80 dBFS). */
#define CLV_AUDIO_MAX_ABS 1.0e4f

typedef struct ClvAudioReaderImpl ClvAudioReader;
typedef struct ClvAudioWriterImpl ClvAudioWriter;

/* What a reader found in the file header. */
typedef struct {
    int sample_rate;    /* Hz */
    int channels;       /* 1 or 2 */
    int64_t frames;     /* frames the file holds (validated against the data present) */
    char format[48];    /* e.g. "WAV float32", "Ogg Vorbis", for messages */
} ClvAudioInfo;

/* Opens and validates `path`. On failure logs one "path: problem" error and
 * returns CLV_ERR_NOT_FOUND (missing), CLV_ERR_IO (unreadable, directory),
 * CLV_ERR_FORMAT (empty, not audio, malformed, truncated, zero length) or
 * CLV_ERR_UNSUPPORTED (rate, channel count, encoding). Thread: non-RT. */
ClvStatus clv_audio_reader_open(const char *path, const ClvLog *log, ClvAudioReader **out,
                                ClvAudioInfo *info);

/* Reads up to max_frames interleaved frames into buf; *got is 0 only at the end
 * of the file. A decode error or a file that ends before the frame count its
 * header promised returns CLV_ERR_FORMAT (logged as truncated or corrupt).
 * Thread: non-RT. */
ClvStatus clv_audio_reader_read(ClvAudioReader *r, float *buf, int max_frames, int *got);

/* Samples replaced so far because they were NaN, infinite or beyond
 * CLV_AUDIO_MAX_ABS. Thread: non-RT. */
int64_t clv_audio_reader_replaced(const ClvAudioReader *r);

/* The path the reader was opened with. Thread: any. */
const char *clv_audio_reader_path(const ClvAudioReader *r);

/* Closes; NULL is a no-op. Never modifies the file. Thread: non-RT. */
void clv_audio_reader_free(ClvAudioReader *r);

/* Creates a temporary file beside `path` (same directory) for a float WAV of the
 * given rate and channels. Fails with a logged "dir: problem" when the directory
 * is missing or not writable. Thread: non-RT. */
ClvStatus clv_audio_writer_open(const char *path, int sample_rate, int channels,
                                const ClvLog *log, ClvAudioWriter **out);

/* Appends `frames` interleaved frames. Thread: non-RT. */
ClvStatus clv_audio_writer_write(ClvAudioWriter *w, const float *buf, int64_t frames);

/* Finishes the file (header, flush, close) under its temporary name and checks
 * that everything reached the disk; the final name is not touched yet. Calling
 * it twice is harmless. Thread: non-RT. */
ClvStatus clv_audio_writer_finish(ClvAudioWriter *w);

/* Finishes if needed, then renames the temporary file to the final path
 * (atomically replacing an older file of that name). Thread: non-RT. */
ClvStatus clv_audio_writer_commit(ClvAudioWriter *w);

/* Frames written so far. Thread: non-RT. */
int64_t clv_audio_writer_frames(const ClvAudioWriter *w);

/* Closes and frees; a writer that was not committed removes its temporary file.
 * NULL is a no-op. Thread: non-RT. */
void clv_audio_writer_free(ClvAudioWriter *w);

/* True when a and b name the same existing file (same device and inode).
 * Thread: any. */
int clv_audio_same_file(const char *a, const char *b);

#ifdef __cplusplus
}
#endif
#endif
