/* SPDX-License-Identifier: ISC */
/* Library index: in-memory records, the defensive file reader and the atomic
 * writer, cosine and DTW search.
 *
 * File format, version 1. Integers little-endian, floats IEEE little-endian.
 *
 *   header, 128 bytes
 *     0   char[8] magic "CLVINDEX"
 *     8   u32 version (1)            12  u32 header size (128)
 *     16  u32 embed_dim              20  u32 mfcc_dim
 *     24  u64 record count
 *     32  u32 model CRC-32           36  u32 flags (0)
 *     40  u64 model size
 *     48  u64 records offset         56  u64 records length
 *     64  u64 embeddings offset      72  u64 embeddings length
 *     80  u64 MFCC offset            88  u64 MFCC length
 *     96  u32 records CRC-32         100 u32 embeddings CRC-32
 *     104 u32 MFCC CRC-32            108 16 bytes zero
 *     124 u32 CRC-32 of bytes 0..123
 *   records: u32 length + bytes of the model path, the same for the library root,
 *     then per record: u32 path length (1..4096) + path bytes (no NUL), i64 size,
 *     i64 mtime seconds, i32 mtime nanoseconds (0..999999999), u32 MFCC frames,
 *     u64 first MFCC frame (in the MFCC section).
 *   embeddings: count x embed_dim float32, 64-byte aligned offset.
 *   MFCC: frames x mfcc_dim float16 (IEEE half), 64-byte aligned offset.
 *
 * The reader checks the magic and then the version before anything else (a later
 * version may change the rest), then the header checksum, every offset and length
 * against the file size with overflow checks, the section checksums, each record
 * (path length and bytes, time range, MFCC range) and that every embedding value
 * is finite. Paths are unique: adding a path that exists replaces it (a hash table
 * keeps lookups constant-time for large libraries). */
#include "clv_index.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clv_clvm.h" /* clv_half_to_float */

#define HDR_SIZE 128
#define ALIGN 64
static const char MAGIC[8] = {'C', 'L', 'V', 'I', 'N', 'D', 'E', 'X'};

typedef struct {
    char *path;
    int64_t size, mtime_sec;
    int32_t mtime_nsec;
    int mfcc_frames;
    size_t mfcc_start; /* frame number in ix->mfcc */
} Rec;

struct ClvIndexImpl {
    ClvIndexModel model;
    char *model_path, *root;
    int count, cap;
    Rec *recs;
    float *emb;        /* [cap, dim] */
    float *mfcc;       /* [mfcc_cap, mfcc_dim] */
    size_t mfcc_used, mfcc_cap;
    int has_mfcc;
    int *table;        /* open addressing: record number or -1; size table_cap */
    size_t table_cap;
};

/* ---------------------------------------------------------------- helpers --- */

static void put32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i));
}
static void put64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) p[i] = (unsigned char)(v >> (8 * i));
}
static uint32_t get32(const unsigned char *p)
{
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) v |= (uint32_t)p[i] << (8 * i);
    return v;
}
static uint64_t get64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v |= (uint64_t)p[i] << (8 * i);
    return v;
}
static void putf(unsigned char *p, float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    put32(p, u);
}
static float getf(const unsigned char *p)
{
    uint32_t u = get32(p);
    float f;
    memcpy(&f, &u, 4);
    return f;
}

/* Float to IEEE half, round to nearest even; overflow saturates to +-inf, NaN stays NaN. */
static uint16_t float_to_half(float f)
{
    uint32_t x;
    memcpy(&x, &f, 4);
    const uint32_t sign = (x >> 16) & 0x8000u;
    const uint32_t exp = (x >> 23) & 0xFFu;
    uint32_t man = x & 0x7FFFFFu;
    if (exp == 0xFFu) return (uint16_t)(sign | 0x7C00u | (man ? 0x200u : 0u));
    int e = (int)exp - 127 + 15;
    if (e >= 31) return (uint16_t)(sign | 0x7C00u);
    if (e <= 0) {
        if (e < -10) return (uint16_t)sign;
        man |= 0x800000u;
        const int shift = 14 - e;
        uint32_t h = man >> shift;
        const uint32_t rem = man & ((1u << shift) - 1u), half = 1u << (shift - 1);
        if (rem > half || (rem == half && (h & 1u))) h++;
        return (uint16_t)(sign | h);
    }
    uint32_t h = (uint32_t)e << 10 | man >> 13;
    const uint32_t rem = man & 0x1FFFu;
    if (rem > 0x1000u || (rem == 0x1000u && (h & 1u))) h++; /* may carry into inf: correct */
    return (uint16_t)(sign | h);
}

/* CRC-32 (the polynomial of zlib.crc32 and clv_crc32, same results) sliced by
 * eight: the index's sections are megabytes and a query checks them every time,
 * so the byte-at-a-time loop would cost more than the search itself. */
static uint32_t crc_tab[8][256];
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;

static void crc_init(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++) c = c & 1u ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        crc_tab[0][i] = c;
    }
    for (int t = 1; t < 8; t++)
        for (int i = 0; i < 256; i++)
            crc_tab[t][i] = (crc_tab[t - 1][i] >> 8) ^ crc_tab[0][crc_tab[t - 1][i] & 0xFFu];
}

static uint32_t crc32_fast(uint32_t crc, const void *data, size_t n)
{
    pthread_once(&crc_once, crc_init);
    const unsigned char *p = data;
    crc = ~crc;
    while (n >= 8) {
        const uint32_t lo = crc ^ ((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
                                   (uint32_t)p[3] << 24);
        const uint32_t hi = (uint32_t)p[4] | (uint32_t)p[5] << 8 | (uint32_t)p[6] << 16 |
                            (uint32_t)p[7] << 24;
        crc = crc_tab[7][lo & 0xFF] ^ crc_tab[6][(lo >> 8) & 0xFF] ^ crc_tab[5][(lo >> 16) & 0xFF] ^
              crc_tab[4][lo >> 24] ^ crc_tab[3][hi & 0xFF] ^ crc_tab[2][(hi >> 8) & 0xFF] ^
              crc_tab[1][(hi >> 16) & 0xFF] ^ crc_tab[0][hi >> 24];
        p += 8;
        n -= 8;
    }
    while (n--) crc = crc_tab[0][(crc ^ *p++) & 0xFFu] ^ (crc >> 8);
    return ~crc;
}

static uint64_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static char *dup_str(const char *s)
{
    if (!s) s = "";
    const size_t n = strlen(s);
    char *d = malloc(n + 1);
    if (d) memcpy(d, s, n + 1);
    return d;
}

static ClvStatus table_rebuild(ClvIndex *ix, size_t cap)
{
    int *t = malloc(cap * sizeof *t);
    if (!t) return CLV_ERR_NOMEM;
    for (size_t i = 0; i < cap; i++) t[i] = -1;
    for (int r = 0; r < ix->count; r++) {
        size_t h = (size_t)(hash_str(ix->recs[r].path) & (cap - 1));
        while (t[h] >= 0) h = (h + 1) & (cap - 1);
        t[h] = r;
    }
    free(ix->table);
    ix->table = t;
    ix->table_cap = cap;
    return CLV_OK;
}

int clv_index_find(const ClvIndex *ix, const char *path)
{
    if (!ix || !path || !ix->table) return -1;
    size_t h = (size_t)(hash_str(path) & (ix->table_cap - 1));
    while (ix->table[h] >= 0) {
        if (strcmp(ix->recs[ix->table[h]].path, path) == 0) return ix->table[h];
        h = (h + 1) & (ix->table_cap - 1);
    }
    return -1;
}

ClvStatus clv_index_file_identity(const char *path, const ClvLog *log, uint32_t *crc,
                                  uint64_t *size)
{
    if (!path || !crc || !size) return CLV_ERR_INVALID;
    FILE *f = fopen(path, "rb");
    if (!f) {
        const int e = errno;
        clv_log(log, CLV_LOG_ERROR, "%s: %s", path, strerror(e));
        return e == ENOENT ? CLV_ERR_NOT_FOUND : CLV_ERR_IO;
    }
    unsigned char *buf = malloc(1 << 16);
    uint32_t c = 0;
    uint64_t n = 0;
    size_t got;
    while (buf && (got = fread(buf, 1, 1 << 16, f)) > 0) {
        c = crc32_fast(c, buf, got);
        n += got;
    }
    const int bad = !buf || ferror(f);
    fclose(f);
    free(buf);
    if (bad) {
        clv_log(log, CLV_LOG_ERROR, "%s: read error", path);
        return CLV_ERR_IO;
    }
    *crc = c;
    *size = n;
    return CLV_OK;
}

/* ------------------------------------------------------------ in memory --- */

ClvStatus clv_index_new(const ClvIndexModel *model, ClvIndex **out)
{
    if (!out) return CLV_ERR_INVALID;
    *out = NULL;
    if (!model || model->embed_dim < 1 || model->embed_dim > CLV_INDEX_MAX_DIM ||
        model->mfcc_dim < 0 || model->mfcc_dim > CLV_INDEX_MAX_MFCC_DIM)
        return CLV_ERR_INVALID;
    ClvIndex *ix = calloc(1, sizeof *ix);
    if (!ix) return CLV_ERR_NOMEM;
    ix->model = *model;
    ix->model_path = dup_str(model->model_path);
    ix->root = dup_str(model->root);
    ix->model.model_path = ix->model_path;
    ix->model.root = ix->root;
    ix->has_mfcc = 1;
    if (!ix->model_path || !ix->root || table_rebuild(ix, 64) != CLV_OK) {
        clv_index_free(ix);
        return CLV_ERR_NOMEM;
    }
    *out = ix;
    return CLV_OK;
}

void clv_index_free(ClvIndex *ix)
{
    if (!ix) return;
    for (int i = 0; i < ix->count; i++) free(ix->recs[i].path);
    free(ix->recs);
    free(ix->emb);
    free(ix->mfcc);
    free(ix->table);
    free(ix->model_path);
    free(ix->root);
    free(ix);
}

const ClvIndexModel *clv_index_model(const ClvIndex *ix) { return &ix->model; }
int clv_index_has_mfcc(const ClvIndex *ix) { return ix->has_mfcc; }
int clv_index_count(const ClvIndex *ix) { return ix ? ix->count : 0; }

ClvStatus clv_index_record(const ClvIndex *ix, int i, ClvIndexRecord *out)
{
    if (!ix || !out || i < 0 || i >= ix->count) return CLV_ERR_INVALID;
    const Rec *r = &ix->recs[i];
    out->path = r->path;
    out->size = r->size;
    out->mtime_sec = r->mtime_sec;
    out->mtime_nsec = r->mtime_nsec;
    out->embedding = ix->emb + (size_t)i * ix->model.embed_dim;
    out->mfcc_frames = ix->has_mfcc ? r->mfcc_frames : 0;
    return CLV_OK;
}

int clv_index_mfcc(const ClvIndex *ix, int i, float *out, int cap)
{
    if (!ix || i < 0 || i >= ix->count || !ix->has_mfcc || !out || cap <= 0) return 0;
    const Rec *r = &ix->recs[i];
    const int n = r->mfcc_frames < cap ? r->mfcc_frames : cap;
    memcpy(out, ix->mfcc + r->mfcc_start * (size_t)ix->model.mfcc_dim,
           sizeof(float) * (size_t)n * (size_t)ix->model.mfcc_dim);
    return n;
}

/* Room for `count` records and `frames` MFCC frames in all (loading sizes
 * everything once instead of doubling). */
static ClvStatus reserve(ClvIndex *ix, int count, size_t frames)
{
    if (count > ix->cap) {
        Rec *r = realloc(ix->recs, (size_t)count * sizeof *r);
        if (!r) return CLV_ERR_NOMEM;
        ix->recs = r;
        float *e = realloc(ix->emb, (size_t)count * ix->model.embed_dim * sizeof(float));
        if (!e) return CLV_ERR_NOMEM;
        ix->emb = e;
        ix->cap = count;
    }
    if (frames > ix->mfcc_cap && ix->model.mfcc_dim > 0) {
        float *m = realloc(ix->mfcc, frames * (size_t)ix->model.mfcc_dim * sizeof(float));
        if (!m) return CLV_ERR_NOMEM;
        ix->mfcc = m;
        ix->mfcc_cap = frames;
    }
    size_t tc = ix->table_cap;
    while ((size_t)count * 2 + 2 > tc) tc *= 2;
    return tc != ix->table_cap ? table_rebuild(ix, tc) : CLV_OK;
}

static ClvStatus grow(ClvIndex *ix, size_t mfcc_more)
{
    if (ix->count == ix->cap) {
        if (ix->cap >= CLV_INDEX_MAX_COUNT) return CLV_ERR_UNSUPPORTED;
        const int cap = ix->cap ? ix->cap * 2 : 64;
        Rec *r = realloc(ix->recs, (size_t)cap * sizeof *r);
        if (!r) return CLV_ERR_NOMEM;
        ix->recs = r;
        float *e = realloc(ix->emb, (size_t)cap * ix->model.embed_dim * sizeof(float));
        if (!e) return CLV_ERR_NOMEM;
        ix->emb = e;
        ix->cap = cap;
    }
    if (ix->mfcc_used + mfcc_more > ix->mfcc_cap && ix->model.mfcc_dim > 0) {
        size_t cap = ix->mfcc_cap ? ix->mfcc_cap : 4096;
        while (cap < ix->mfcc_used + mfcc_more) cap *= 2;
        float *m = realloc(ix->mfcc, cap * (size_t)ix->model.mfcc_dim * sizeof(float));
        if (!m) return CLV_ERR_NOMEM;
        ix->mfcc = m;
        ix->mfcc_cap = cap;
    }
    if ((size_t)(ix->count + 1) * 2 > ix->table_cap) return table_rebuild(ix, ix->table_cap * 2);
    return CLV_OK;
}

ClvStatus clv_index_add(ClvIndex *ix, const char *path, int64_t size, int64_t mtime_sec,
                        int32_t mtime_nsec, const float *embedding, const float *mfcc,
                        int mfcc_frames)
{
    if (!ix || !path || !embedding || mfcc_frames < 0 ||
        mfcc_frames > CLV_INDEX_MAX_MFCC_FRAMES || (mfcc_frames > 0 && !mfcc) ||
        (mfcc_frames > 0 && ix->model.mfcc_dim == 0) || mtime_nsec < 0 ||
        mtime_nsec > 999999999)
        return CLV_ERR_INVALID;
    const size_t len = strlen(path);
    if (len < 1 || len > CLV_INDEX_MAX_PATH) return CLV_ERR_INVALID;
    const int D = ix->model.embed_dim, M = ix->model.mfcc_dim;
    for (int i = 0; i < D; i++)
        if (!isfinite(embedding[i])) return CLV_ERR_INVALID;
    if (!ix->has_mfcc) mfcc_frames = 0;
    ClvStatus st = grow(ix, (size_t)mfcc_frames);
    if (st != CLV_OK) return st;
    int at = clv_index_find(ix, path);
    char *p = NULL;
    if (at < 0) {
        p = dup_str(path);
        if (!p) return CLV_ERR_NOMEM;
        at = ix->count++;
        size_t h = (size_t)(hash_str(path) & (ix->table_cap - 1));
        while (ix->table[h] >= 0) h = (h + 1) & (ix->table_cap - 1);
        ix->table[h] = at;
        ix->recs[at].path = p;
    }
    Rec *r = &ix->recs[at];
    r->size = size;
    r->mtime_sec = mtime_sec;
    r->mtime_nsec = mtime_nsec;
    r->mfcc_frames = mfcc_frames;
    r->mfcc_start = ix->mfcc_used; /* a replaced record's old frames are dropped at save */
    memcpy(ix->emb + (size_t)at * D, embedding, sizeof(float) * (size_t)D);
    if (mfcc_frames > 0) {
        memcpy(ix->mfcc + ix->mfcc_used * (size_t)M, mfcc,
               sizeof(float) * (size_t)mfcc_frames * (size_t)M);
        ix->mfcc_used += (size_t)mfcc_frames;
    }
    return CLV_OK;
}

ClvStatus clv_index_add_from(ClvIndex *ix, const ClvIndex *from, int i)
{
    if (!ix || !from || i < 0 || i >= from->count) return CLV_ERR_INVALID;
    if (from->model.embed_dim != ix->model.embed_dim || from->model.mfcc_dim != ix->model.mfcc_dim)
        return CLV_ERR_SHAPE;
    if (ix->has_mfcc && !from->has_mfcc) return CLV_ERR_STATE;
    const Rec *r = &from->recs[i];
    const float *m = from->has_mfcc && r->mfcc_frames
                         ? from->mfcc + r->mfcc_start * (size_t)from->model.mfcc_dim
                         : NULL;
    return clv_index_add(ix, r->path, r->size, r->mtime_sec, r->mtime_nsec,
                         from->emb + (size_t)i * from->model.embed_dim, m,
                         from->has_mfcc ? r->mfcc_frames : 0);
}

/* ---------------------------------------------------------------- saving --- */

typedef struct {
    const char *path;
    int rec;
} ByPath;

static int cmp_bypath(const void *a, const void *b)
{
    return strcmp(((const ByPath *)a)->path, ((const ByPath *)b)->path);
}

typedef struct {
    FILE *f;
    uint64_t off;
    int failed;
} Out;

static void out_bytes(Out *o, const void *p, size_t n, uint32_t *crc)
{
    if (o->failed || n == 0) return;
    if (fwrite(p, 1, n, o->f) != n) o->failed = 1;
    o->off += n;
    if (crc) *crc = crc32_fast(*crc, p, n);
}

static void out_pad(Out *o)
{
    static const unsigned char zero[ALIGN];
    const size_t pad = (size_t)((ALIGN - o->off % ALIGN) % ALIGN);
    out_bytes(o, zero, pad, NULL);
}

ClvStatus clv_index_save(ClvIndex *ix, const char *path, const ClvLog *log)
{
    if (!ix || !path) return CLV_ERR_INVALID;
    const int D = ix->model.embed_dim, M = ix->model.mfcc_dim;
    const size_t plen = strlen(path);
    char *tmp = malloc(plen + 16);
    int *order = malloc((size_t)(ix->count ? ix->count : 1) * sizeof *order);
    unsigned char *row = malloc((size_t)(D > M ? D : M) * 4 + 64);
    if (!tmp || !order || !row) {
        free(tmp);
        free(order);
        free(row);
        return CLV_ERR_NOMEM;
    }
    ByPath *bp = malloc((size_t)(ix->count ? ix->count : 1) * sizeof *bp);
    if (!bp) {
        free(tmp);
        free(order);
        free(row);
        return CLV_ERR_NOMEM;
    }
    for (int i = 0; i < ix->count; i++) bp[i] = (ByPath){ix->recs[i].path, i};
    qsort(bp, (size_t)ix->count, sizeof *bp, cmp_bypath);
    for (int i = 0; i < ix->count; i++) order[i] = bp[i].rec;
    free(bp);
    memcpy(tmp, path, plen);
    memcpy(tmp + plen, ".tmp.XXXXXX", 12);
    const int fd = mkstemp(tmp);
    if (fd < 0) {
        clv_log(log, CLV_LOG_ERROR, "%s: cannot create a temporary file beside it: %s", path,
                strerror(errno));
        free(tmp);
        free(order);
        free(row);
        return CLV_ERR_IO;
    }
    /* mkstemp makes 0600; an index is an ordinary file (0644 less the umask). */
    const mode_t mask = umask(0);
    umask(mask);
    fchmod(fd, 0666 & ~mask);
    Out o = {fdopen(fd, "wb"), 0, 0};
    if (!o.f) {
        close(fd);
        o.failed = 1;
    }
    unsigned char hdr[HDR_SIZE];
    memset(hdr, 0, sizeof hdr);
    out_bytes(&o, hdr, sizeof hdr, NULL); /* placeholder, rewritten at the end */

    uint32_t crc_rec = 0, crc_emb = 0, crc_mfcc = 0;
    const uint64_t rec_off = o.off;
    unsigned char b[40];
    const char *strs[2] = {ix->model_path, ix->root};
    for (int s = 0; s < 2; s++) {
        const size_t n = strlen(strs[s]) > CLV_INDEX_MAX_PATH ? CLV_INDEX_MAX_PATH : strlen(strs[s]);
        put32(b, (uint32_t)n);
        out_bytes(&o, b, 4, &crc_rec);
        out_bytes(&o, strs[s], n, &crc_rec);
    }
    uint64_t frame = 0;
    for (int k = 0; k < ix->count; k++) {
        const Rec *r = &ix->recs[order[k]];
        const size_t n = strlen(r->path);
        put32(b, (uint32_t)n);
        out_bytes(&o, b, 4, &crc_rec);
        out_bytes(&o, r->path, n, &crc_rec);
        put64(b, (uint64_t)r->size);
        put64(b + 8, (uint64_t)r->mtime_sec);
        put32(b + 16, (uint32_t)r->mtime_nsec);
        put32(b + 20, (uint32_t)(ix->has_mfcc ? r->mfcc_frames : 0));
        put64(b + 24, frame);
        out_bytes(&o, b, 32, &crc_rec);
        if (ix->has_mfcc) frame += (uint64_t)r->mfcc_frames;
    }
    const uint64_t rec_len = o.off - rec_off;
    out_pad(&o);
    const uint64_t emb_off = o.off;
    for (int k = 0; k < ix->count; k++) {
        const float *e = ix->emb + (size_t)order[k] * D;
        for (int i = 0; i < D; i++) putf(row + 4 * i, e[i]);
        out_bytes(&o, row, (size_t)D * 4, &crc_emb);
    }
    const uint64_t emb_len = o.off - emb_off;
    out_pad(&o);
    const uint64_t mfcc_off = o.off;
    if (ix->has_mfcc)
        for (int k = 0; k < ix->count; k++) {
            const Rec *r = &ix->recs[order[k]];
            for (int t = 0; t < r->mfcc_frames; t++) {
                const float *src = ix->mfcc + (r->mfcc_start + (size_t)t) * (size_t)M;
                for (int i = 0; i < M; i++) {
                    const uint16_t h = float_to_half(src[i]);
                    row[2 * i] = (unsigned char)(h & 0xFF);
                    row[2 * i + 1] = (unsigned char)(h >> 8);
                }
                out_bytes(&o, row, (size_t)M * 2, &crc_mfcc);
            }
        }
    const uint64_t mfcc_len = o.off - mfcc_off;

    memcpy(hdr, MAGIC, 8);
    put32(hdr + 8, CLV_INDEX_VERSION);
    put32(hdr + 12, HDR_SIZE);
    put32(hdr + 16, (uint32_t)D);
    put32(hdr + 20, (uint32_t)M);
    put64(hdr + 24, (uint64_t)ix->count);
    put32(hdr + 32, ix->model.model_crc);
    put32(hdr + 36, 0);
    put64(hdr + 40, ix->model.model_size);
    put64(hdr + 48, rec_off);
    put64(hdr + 56, rec_len);
    put64(hdr + 64, emb_off);
    put64(hdr + 72, emb_len);
    put64(hdr + 80, mfcc_off);
    put64(hdr + 88, mfcc_len);
    put32(hdr + 96, crc_rec);
    put32(hdr + 100, crc_emb);
    put32(hdr + 104, crc_mfcc);
    put32(hdr + 124, crc32_fast(0, hdr, 124));
    if (!o.failed && fseek(o.f, 0, SEEK_SET) != 0) o.failed = 1;
    if (!o.failed && fwrite(hdr, 1, HDR_SIZE, o.f) != HDR_SIZE) o.failed = 1;
    if (!o.failed && fflush(o.f) != 0) o.failed = 1;
    if (!o.failed && fsync(fileno(o.f)) != 0) o.failed = 1;
    const int saved_errno = errno;
    if (o.f && fclose(o.f) != 0) o.failed = 1;
    ClvStatus st = CLV_OK;
    if (o.failed) {
        clv_log(log, CLV_LOG_ERROR, "%s: cannot write the index: %s", path,
                strerror(saved_errno ? saved_errno : EIO));
        st = CLV_ERR_IO;
    } else if (rename(tmp, path) != 0) {
        clv_log(log, CLV_LOG_ERROR, "%s: cannot replace it with the new index: %s", path,
                strerror(errno));
        st = CLV_ERR_IO;
    }
    if (st != CLV_OK) unlink(tmp);
    free(tmp);
    free(order);
    free(row);
    return st;
}

/* --------------------------------------------------------------- loading --- */

/* Reads exactly n bytes at off. */
static int read_at(FILE *f, uint64_t off, void *buf, size_t n)
{
    if (fseeko(f, (off_t)off, SEEK_SET) != 0) return -1;
    return fread(buf, 1, n, f) == n ? 0 : -1;
}

ClvStatus clv_index_probe(const char *path, uint32_t *version)
{
    if (version) *version = 0;
    if (!path) return CLV_ERR_INVALID;
    FILE *f = fopen(path, "rb");
    if (!f) return errno == ENOENT ? CLV_ERR_NOT_FOUND : CLV_ERR_IO;
    unsigned char h[12];
    const size_t got = fread(h, 1, sizeof h, f);
    fclose(f);
    if (got < sizeof h || memcmp(h, MAGIC, 8) != 0) return CLV_ERR_FORMAT;
    const uint32_t v = get32(h + 8);
    if (version) *version = v;
    return v == CLV_INDEX_VERSION ? CLV_OK : CLV_ERR_UNSUPPORTED;
}

#define BAD(code, ...)                                                   \
    do {                                                                 \
        clv_log(log, CLV_LOG_ERROR, __VA_ARGS__);                        \
        st = (code);                                                     \
        goto done;                                                       \
    } while (0)

/* a + b <= limit, without overflow. */
static int fits(uint64_t a, uint64_t b, uint64_t limit) { return a <= limit && b <= limit - a; }

ClvStatus clv_index_load(const char *path, int with_mfcc, const ClvLog *log, ClvIndex **out)
{
    if (!out) return CLV_ERR_INVALID;
    *out = NULL;
    ClvLog quiet = {0};
    if (!log) log = &quiet;
    if (!path) return CLV_ERR_INVALID;
    ClvStatus st = CLV_OK;
    ClvIndex *ix = NULL;
    unsigned char *recbuf = NULL, *mfccbuf = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) {
        if (errno == ENOENT) {
            clv_log(log, CLV_LOG_ERROR, "%s: no such index", path);
            return CLV_ERR_NOT_FOUND;
        }
        clv_log(log, CLV_LOG_ERROR, "%s: %s", path, strerror(errno));
        return CLV_ERR_IO;
    }
    struct stat sb;
    if (fstat(fileno(f), &sb) != 0 || !S_ISREG(sb.st_mode))
        BAD(CLV_ERR_IO, "%s: not a regular file", path);
    const uint64_t fsize = (uint64_t)sb.st_size;
    unsigned char h[HDR_SIZE];
    if (fsize < 12 || read_at(f, 0, h, 12) != 0 || memcmp(h, MAGIC, 8) != 0)
        BAD(CLV_ERR_FORMAT, "%s: not a cleave index (no CLVINDEX header)", path);
    const uint32_t version = get32(h + 8);
    if (version != CLV_INDEX_VERSION)
        BAD(CLV_ERR_UNSUPPORTED, "%s: index format version %u, this cleave reads version %d: "
            "rebuild it with 'cleave index'", path, version, CLV_INDEX_VERSION);
    if (fsize < HDR_SIZE || read_at(f, 0, h, HDR_SIZE) != 0)
        BAD(CLV_ERR_FORMAT, "%s: truncated header", path);
    if (get32(h + 124) != crc32_fast(0, h, 124))
        BAD(CLV_ERR_CHECKSUM, "%s: header checksum mismatch (file damaged)", path);
    const uint32_t hsize = get32(h + 12), D = get32(h + 16), M = get32(h + 20);
    const uint64_t count = get64(h + 24);
    const uint64_t rec_off = get64(h + 48), rec_len = get64(h + 56);
    const uint64_t emb_off = get64(h + 64), emb_len = get64(h + 72);
    const uint64_t mfcc_off = get64(h + 80), mfcc_len = get64(h + 88);
    if (hsize != HDR_SIZE) BAD(CLV_ERR_FORMAT, "%s: header size %u, expected %d", path, hsize, HDR_SIZE);
    if (D < 1 || D > CLV_INDEX_MAX_DIM)
        BAD(CLV_ERR_FORMAT, "%s: embedding size %u is out of range 1..%d", path, D, CLV_INDEX_MAX_DIM);
    if (M > CLV_INDEX_MAX_MFCC_DIM)
        BAD(CLV_ERR_FORMAT, "%s: MFCC size %u is out of range 0..%d", path, M, CLV_INDEX_MAX_MFCC_DIM);
    if (count > CLV_INDEX_MAX_COUNT)
        BAD(CLV_ERR_FORMAT, "%s: %llu records (at most %d)", path, (unsigned long long)count,
            CLV_INDEX_MAX_COUNT);
    if (get32(h + 36) != 0) BAD(CLV_ERR_UNSUPPORTED, "%s: unknown flags %#x", path, get32(h + 36));
    if (rec_off < HDR_SIZE || !fits(rec_off, rec_len, fsize) || emb_off < rec_off + rec_len ||
        !fits(emb_off, emb_len, fsize) || mfcc_off < emb_off + emb_len ||
        !fits(mfcc_off, mfcc_len, fsize))
        BAD(CLV_ERR_FORMAT, "%s: sections overlap or run past the end of the file (%llu bytes; "
            "truncated?)", path, (unsigned long long)fsize);
    if (emb_len != count * D * 4)
        BAD(CLV_ERR_FORMAT, "%s: embeddings section holds %llu bytes, %llu records of %u floats "
            "need %llu", path, (unsigned long long)emb_len, (unsigned long long)count, D,
            (unsigned long long)(count * D * 4));
    if (mfcc_len % ((uint64_t)(M ? M : 1) * 2) != 0 || (M == 0 && mfcc_len != 0))
        BAD(CLV_ERR_FORMAT, "%s: MFCC section length %llu is not a whole number of frames", path,
            (unsigned long long)mfcc_len);
    /* Smallest record is 37 bytes: a count the section cannot hold is rejected
     * before anything is allocated for it. */
    if (rec_len < 8 || (rec_len - 8) / 37 < count)
        BAD(CLV_ERR_FORMAT, "%s: records section of %llu bytes cannot hold %llu records", path,
            (unsigned long long)rec_len, (unsigned long long)count);

    recbuf = malloc(rec_len);
    if (!recbuf) BAD(CLV_ERR_NOMEM, "%s: out of memory", path);
    if (read_at(f, rec_off, recbuf, rec_len) != 0) BAD(CLV_ERR_IO, "%s: read error", path);
    if (crc32_fast(0, recbuf, rec_len) != get32(h + 96))
        BAD(CLV_ERR_CHECKSUM, "%s: records checksum mismatch (file damaged)", path);

    /* model path and root */
    uint64_t p = 0;
    char *strs[2] = {NULL, NULL};
    for (int s = 0; s < 2; s++) {
        if (!fits(p, 4, rec_len)) {
            free(strs[0]);
            BAD(CLV_ERR_FORMAT, "%s: records section truncated", path);
        }
        const uint32_t n = get32(recbuf + p);
        p += 4;
        if (n > CLV_INDEX_MAX_PATH || !fits(p, n, rec_len)) {
            free(strs[0]);
            BAD(CLV_ERR_FORMAT, "%s: bad string length %u in the records section", path, n);
        }
        strs[s] = malloc((size_t)n + 1);
        if (!strs[s]) {
            free(strs[0]);
            BAD(CLV_ERR_NOMEM, "%s: out of memory", path);
        }
        memcpy(strs[s], recbuf + p, n);
        strs[s][n] = 0;
        p += n;
    }
    ClvIndexModel model = {(int)D, (int)M, get32(h + 32), get64(h + 40), strs[0], strs[1]};
    st = clv_index_new(&model, &ix);
    free(strs[0]);
    free(strs[1]);
    if (st != CLV_OK) BAD(st, "%s: out of memory", path);
    ix->has_mfcc = with_mfcc && M > 0;
    const uint64_t total_frames = M ? mfcc_len / ((uint64_t)M * 2) : 0;
    if (reserve(ix, (int)count, ix->has_mfcc ? (size_t)total_frames : 0) != CLV_OK)
        BAD(CLV_ERR_NOMEM, "%s: out of memory", path);
    /* Embeddings straight into place (one copy less on a query's critical path),
     * checked, then converted from little-endian where the host is not. */
    if (count > 0) {
        if (read_at(f, emb_off, ix->emb, emb_len) != 0) BAD(CLV_ERR_IO, "%s: read error", path);
        if (crc32_fast(0, ix->emb, emb_len) != get32(h + 100))
            BAD(CLV_ERR_CHECKSUM, "%s: embeddings checksum mismatch (file damaged)", path);
        const uint32_t probe = 1;
        unsigned char first;
        memcpy(&first, &probe, 1);
        if (first != 1) {
            unsigned char *raw = (unsigned char *)ix->emb;
            for (uint64_t i = 0; i < count * D; i++) ix->emb[i] = getf(raw + 4 * i);
        }
    } else if (crc32_fast(0, "", 0) != get32(h + 100)) {
        BAD(CLV_ERR_CHECKSUM, "%s: embeddings checksum mismatch (file damaged)", path);
    }
    if (ix->has_mfcc) {
        mfccbuf = malloc(mfcc_len ? mfcc_len : 1);
        if (!mfccbuf) BAD(CLV_ERR_NOMEM, "%s: out of memory", path);
        if (read_at(f, mfcc_off, mfccbuf, mfcc_len) != 0) BAD(CLV_ERR_IO, "%s: read error", path);
        if (crc32_fast(0, mfccbuf, mfcc_len) != get32(h + 104))
            BAD(CLV_ERR_CHECKSUM, "%s: MFCC checksum mismatch (file damaged)", path);
    }
    for (uint64_t r = 0; r < count; r++) {
        if (!fits(p, 4, rec_len))
            BAD(CLV_ERR_FORMAT, "%s: records section ends at record %llu", path,
                (unsigned long long)r);
        const uint32_t n = get32(recbuf + p);
        p += 4;
        if (n < 1 || n > CLV_INDEX_MAX_PATH || !fits(p, (uint64_t)n + 32, rec_len))
            BAD(CLV_ERR_FORMAT, "%s: record %llu: bad path length %u", path,
                (unsigned long long)r, n);
        const char *pathp = (const char *)recbuf + p;
        p += n;
        const unsigned char *b = recbuf + p;
        p += 32;
        const int64_t size = (int64_t)get64(b), sec = (int64_t)get64(b + 8);
        const int32_t nsec = (int32_t)get32(b + 16);
        const uint32_t frames = get32(b + 20);
        const uint64_t start = get64(b + 24);
        const float *e = ix->emb + r * D;
        int finite = 1;
        for (uint32_t i = 0; i < D; i++) finite &= isfinite(e[i]) != 0;
        char *pc = malloc((size_t)n + 1);
        if (!pc) BAD(CLV_ERR_NOMEM, "%s: out of memory", path);
        memcpy(pc, pathp, n);
        pc[n] = 0;
        if (strlen(pc) != n || size < 0 || nsec < 0 || nsec > 999999999 ||
            frames > CLV_INDEX_MAX_MFCC_FRAMES || !fits(start, frames, total_frames) || !finite) {
            clv_log(log, CLV_LOG_ERROR, "%s: record %llu ('%.200s') is malformed (NUL in the "
                    "path, negative size, bad time, MFCC range or non-finite embedding)", path,
                    (unsigned long long)r, pc);
            free(pc);
            st = CLV_ERR_FORMAT;
            goto done;
        }
        if (clv_index_find(ix, pc) >= 0) {
            clv_log(log, CLV_LOG_ERROR, "%s: path '%.200s' appears twice", path, pc);
            free(pc);
            st = CLV_ERR_FORMAT;
            goto done;
        }
        Rec *rec = &ix->recs[ix->count];
        rec->path = pc;
        rec->size = size;
        rec->mtime_sec = sec;
        rec->mtime_nsec = nsec;
        rec->mfcc_frames = ix->has_mfcc ? (int)frames : 0;
        rec->mfcc_start = ix->mfcc_used;
        if (rec->mfcc_frames > 0) {
            /* fits() above keeps start + frames within the section */
            const unsigned char *src = mfccbuf + start * M * 2;
            float *dst = ix->mfcc + ix->mfcc_used * (size_t)M;
            for (uint64_t i = 0; i < (uint64_t)frames * M; i++)
                dst[i] = clv_half_to_float((uint16_t)(src[2 * i] | src[2 * i + 1] << 8));
            ix->mfcc_used += frames;
        }
        size_t hh = (size_t)(hash_str(pc) & (ix->table_cap - 1));
        while (ix->table[hh] >= 0) hh = (hh + 1) & (ix->table_cap - 1);
        ix->table[hh] = ix->count++;
    }
    if (p != rec_len)
        BAD(CLV_ERR_FORMAT, "%s: %llu stray bytes after the last record", path,
            (unsigned long long)(rec_len - p));
done:
    fclose(f);
    free(recbuf);
    free(mfccbuf);
    if (st != CLV_OK) {
        clv_index_free(ix);
        return st;
    }
    *out = ix;
    return CLV_OK;
}

/* ---------------------------------------------------------------- search --- */

static int cmp_hit(const void *a, const void *b)
{
    const ClvIndexHit *x = a, *y = b;
    if (x->score > y->score) return -1;
    if (x->score < y->score) return 1;
    return x->record < y->record ? -1 : x->record > y->record;
}

/* Sorts all scores (best first, ties by record) and keeps k. */
static ClvStatus top_k(ClvIndexHit *all, int count, int k, ClvIndexHit *hits, int *n)
{
    qsort(all, (size_t)count, sizeof *all, cmp_hit);
    const int m = k < count ? k : count;
    memcpy(hits, all, sizeof *hits * (size_t)m);
    *n = m;
    return CLV_OK;
}

ClvStatus clv_index_search_cosine(const ClvIndex *ix, const float *query, int k,
                                  ClvIndexHit *hits, int *n)
{
    if (!ix || !query || !hits || !n || k < 1) return CLV_ERR_INVALID;
    *n = 0;
    if (ix->count == 0) return CLV_OK;
    ClvIndexHit *all = malloc(sizeof *all * (size_t)(unsigned)ix->count);
    if (!all) return CLV_ERR_NOMEM;
    const int D = ix->model.embed_dim;
    for (int r = 0; r < ix->count; r++) {
        const float *e = ix->emb + (size_t)r * D;
        float s = 0.0f;
        for (int i = 0; i < D; i++) s += e[i] * query[i];
        all[r].record = r;
        all[r].score = s;
    }
    ClvStatus st = top_k(all, ix->count, k, hits, n);
    free(all);
    return st;
}

double clv_index_dtw(const float *a, int n, const float *b, int m, int dim, double band,
                     float *scratch)
{
    if (n < 1 || m < 1 || dim < 1) return INFINITY;
    const int longer = n > m ? n : m, shorter = n < m ? n : m;
    if (!(band > 0.0)) band = 0.0;
    if (band > 1.0) band = 1.0;
    /* Band half-width around the diagonal from (0,0) to (n-1,m-1); at least the
     * slope plus one, so consecutive rows' windows always connect. */
    int r = (int)ceil(band * longer);
    const int min_r = (longer + shorter - 1) / shorter + 1;
    if (r < min_r) r = min_r;
    float *prev = scratch, *cur = scratch + (m + 1);
    for (int j = 0; j < m; j++) prev[j] = cur[j] = INFINITY;
    const double slope = n > 1 ? (double)(m - 1) / (n - 1) : 0.0;
    int plo = 0, phi = -1, pplo = 0, pphi = -1; /* windows of rows i-1 and i-2 */
    for (int i = 0; i < n; i++) {
        const double c = i * slope;
        int lo = (int)ceil(c - r), hi = (int)floor(c + r);
        if (i == n - 1) hi = m - 1;
        if (lo < 0) lo = 0;
        if (hi > m - 1) hi = m - 1;
        for (int j = pplo; j <= pphi; j++) cur[j] = INFINITY; /* row i-2 lived here */
        const float *x = a + (size_t)i * dim;
        for (int j = lo; j <= hi; j++) {
            const float *y = b + (size_t)j * dim;
            float d2 = 0.0f;
            for (int q = 0; q < dim; q++) {
                const float t = x[q] - y[q];
                d2 += t * t;
            }
            const float d = sqrtf(d2);
            float best;
            if (i == 0 && j == 0) {
                best = 0.0f;
            } else {
                best = INFINITY;
                if (i > 0 && j >= plo && j <= phi && prev[j] < best) best = prev[j];
                if (j > 0 && j - 1 >= lo && cur[j - 1] < best) best = cur[j - 1];
                if (i > 0 && j > 0 && j - 1 >= plo && j - 1 <= phi && prev[j - 1] < best)
                    best = prev[j - 1];
            }
            cur[j] = d + best;
        }
        float *s = prev;
        prev = cur;
        cur = s;
        pplo = plo;
        pphi = phi;
        plo = lo;
        phi = hi;
    }
    const float total = prev[m - 1];
    return isfinite(total) ? (double)total / (double)(n + m) : INFINITY;
}

ClvStatus clv_index_search_dtw(const ClvIndex *ix, const float *query, int frames, double band,
                               int k, ClvIndexHit *hits, int *n)
{
    if (!ix || !hits || !n || k < 1 || frames < 0 || (frames > 0 && !query)) return CLV_ERR_INVALID;
    *n = 0;
    if (!ix->has_mfcc) return CLV_ERR_STATE;
    if (ix->count == 0) return CLV_OK;
    int maxm = 1;
    for (int r = 0; r < ix->count; r++)
        if (ix->recs[r].mfcc_frames > maxm) maxm = ix->recs[r].mfcc_frames;
    ClvIndexHit *all = malloc(sizeof *all * (size_t)(unsigned)ix->count);
    float *scratch = malloc(sizeof(float) * 2 * ((size_t)maxm + 1));
    if (!all || !scratch) {
        free(all);
        free(scratch);
        return CLV_ERR_NOMEM;
    }
    const int M = ix->model.mfcc_dim;
    for (int r = 0; r < ix->count; r++) {
        const Rec *rec = &ix->recs[r];
        const double d = frames > 0 && rec->mfcc_frames > 0
                             ? clv_index_dtw(query, frames, ix->mfcc + rec->mfcc_start * (size_t)M,
                                             rec->mfcc_frames, M, band, scratch)
                             : INFINITY;
        all[r].record = r;
        all[r].score = isfinite(d) ? (float)-d : -INFINITY;
    }
    ClvStatus st = top_k(all, ix->count, k, hits, n);
    free(all);
    free(scratch);
    return st;
}
