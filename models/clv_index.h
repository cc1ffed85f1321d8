/* SPDX-License-Identifier: ISC */
/* A library index for query by example: one record per audio file (path, size,
 * modification time, embedding, MFCC sequence), saved as a small versioned
 * binary file, and the two ways of ranking it against a query: cosine
 * similarity of embeddings, and dynamic time warping of MFCC sequences (the
 * baseline).
 *
 * File layout (all integers little-endian; the full specification is at the top
 * of clv_index.c): a 128-byte header (magic "CLVINDEX", format version, embedding
 * and MFCC sizes, record count, the identity of the model that made the
 * embeddings, offsets, lengths and CRC-32s of three sections, and a CRC-32 of
 * the header itself), then the records section (paths, sizes, times, MFCC
 * offsets), the embeddings (float32, one row per record) and the MFCC sequences
 * (float16). The reader checks every offset, length, count and checksum before
 * anything is used, and reads the MFCC section only when asked for it, so an
 * embedding query reads a few megabytes even for a large library.
 *
 * An index is built in memory (clv_index_new, clv_index_add), saved to a
 * temporary file in the destination's directory and renamed into place, so a
 * reader never sees a partial file. Thread: non-RT throughout; an index is not
 * shared between threads while it is being changed. */
#ifndef CLV_INDEX_H
#define CLV_INDEX_H

#include <stddef.h>
#include <stdint.h>

#include "clv_common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ClvIndexImpl ClvIndex;

#define CLV_INDEX_VERSION 1
#define CLV_INDEX_MAX_PATH 4096
#define CLV_INDEX_MAX_DIM 4096
#define CLV_INDEX_MAX_MFCC_DIM 64
#define CLV_INDEX_MAX_MFCC_FRAMES 65536
#define CLV_INDEX_MAX_COUNT 10000000

/* What made the embeddings: records are comparable only with the same model. */
typedef struct {
    int embed_dim;       /* 1..CLV_INDEX_MAX_DIM */
    int mfcc_dim;        /* 0..CLV_INDEX_MAX_MFCC_DIM */
    uint32_t model_crc;  /* CRC-32 of the model file */
    uint64_t model_size; /* its size in bytes */
    const char *model_path; /* where it was (for `cleave similar`'s default) */
    const char *root;       /* the library directory (for messages) */
} ClvIndexModel;

/* One record as stored. Pointers are owned by the index and valid until the
 * index changes or is freed. */
typedef struct {
    const char *path;
    int64_t size;
    int64_t mtime_sec;
    int32_t mtime_nsec;
    const float *embedding;   /* embed_dim floats */
    int mfcc_frames;          /* 0 when the MFCC section was not loaded */
} ClvIndexRecord;

/* One search result. */
typedef struct {
    int record;   /* index of the record */
    float score;  /* higher is more similar */
} ClvIndexHit;

/* The identity an index records for a model file: the CRC-32 of its bytes and
 * its size. Unreadable: logged "PATH: problem", CLV_ERR_NOT_FOUND / CLV_ERR_IO.
 * Thread: non-RT. */
ClvStatus clv_index_file_identity(const char *path, const ClvLog *log, uint32_t *crc,
                                  uint64_t *size);

/* An empty index for the given model (strings are copied). Thread: non-RT. */
ClvStatus clv_index_new(const ClvIndexModel *model, ClvIndex **out);

/* Reads an index file. with_mfcc = 0 skips the MFCC section (embedding search
 * only). Errors are logged as "PATH: problem": CLV_ERR_NOT_FOUND (no such file),
 * CLV_ERR_IO (unreadable), CLV_ERR_FORMAT (not a cleave index, truncated or
 * malformed), CLV_ERR_UNSUPPORTED (an index of another format version: rebuild it),
 * CLV_ERR_CHECKSUM (damaged). Thread: non-RT. */
ClvStatus clv_index_load(const char *path, int with_mfcc, const ClvLog *log, ClvIndex **out);

/* Reads only the header of an index file and reports what clv_index_load would
 * say about the magic and version, without logging: CLV_OK (a readable index of
 * this version), CLV_ERR_NOT_FOUND, CLV_ERR_IO, CLV_ERR_FORMAT (no index magic:
 * some other file), CLV_ERR_UNSUPPORTED (an index of another version; *version
 * receives it). Thread: non-RT. */
ClvStatus clv_index_probe(const char *path, uint32_t *version);

/* Frees; NULL is a no-op. Thread: non-RT. */
void clv_index_free(ClvIndex *ix);

/* The model the index was built with (strings owned by the index). Thread: any. */
const ClvIndexModel *clv_index_model(const ClvIndex *ix);
/* Whether the MFCC sequences are present (loaded with them, or built).
 * Thread: any. */
int clv_index_has_mfcc(const ClvIndex *ix);

/* Number of records and record i. Thread: any. */
int clv_index_count(const ClvIndex *ix);
ClvStatus clv_index_record(const ClvIndex *ix, int i, ClvIndexRecord *out);

/* Record number of a path, or -1. Thread: any. */
int clv_index_find(const ClvIndex *ix, const char *path);

/* Copies the MFCC sequence of record i (frames x mfcc_dim floats) into out,
 * which holds cap frames; returns the frames written (0 when not loaded).
 * Thread: any. */
int clv_index_mfcc(const ClvIndex *ix, int i, float *out, int cap);

/* Appends a record (everything is copied). The embedding must be finite;
 * mfcc may be NULL when frames == 0. A path already present is replaced.
 * Thread: non-RT. */
ClvStatus clv_index_add(ClvIndex *ix, const char *path, int64_t size, int64_t mtime_sec,
                        int32_t mtime_nsec, const float *embedding, const float *mfcc,
                        int mfcc_frames);

/* Copies record i of `from` (same embed/MFCC sizes; MFCC must be loaded) into ix.
 * Thread: non-RT. */
ClvStatus clv_index_add_from(ClvIndex *ix, const ClvIndex *from, int i);

/* Writes the index to `path` atomically (temporary file in the same directory,
 * flushed to disk, then renamed; nothing is left behind on failure). Records are
 * written sorted by path. Thread: non-RT. */
ClvStatus clv_index_save(ClvIndex *ix, const char *path, const ClvLog *log);

/* The k records most similar to an L2-normalised query embedding by cosine
 * similarity (dot product), best first; ties keep record order. Writes up to k
 * hits and returns their number in *n. Thread: any (read-only). */
ClvStatus clv_index_search_cosine(const ClvIndex *ix, const float *query, int k,
                                  ClvIndexHit *hits, int *n);

/* The k records nearest to a query MFCC sequence (frames x mfcc_dim) by dynamic
 * time warping with Euclidean frame distances and a Sakoe-Chiba band of
 * `band` (0 < band <= 1) times the longer sequence around the diagonal that joins
 * both ends (never narrower than needed to reach the end). The score is minus the
 * accumulated cost divided by the summed lengths (higher is more similar).
 * Records without MFCC frames are ranked last. Thread: any (read-only). */
ClvStatus clv_index_search_dtw(const ClvIndex *ix, const float *query, int frames, double band,
                               int k, ClvIndexHit *hits, int *n);

/* The DTW cost of two sequences as used by clv_index_search_dtw (dim values per
 * frame; scratch holds 2 * (m + 1) floats). For tests. Thread: any. */
double clv_index_dtw(const float *a, int n, const float *b, int m, int dim, double band,
                     float *scratch);

#ifdef __cplusplus
}
#endif
#endif
