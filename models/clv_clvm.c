/* SPDX-License-Identifier: ISC */
/* .clvm reader (format: docs/model-format.md).
 *
 * Design: the file is read whole into a heap buffer (at most CLV_CLVM_MAX_FILE
 * bytes) and parsed with explicit little-endian byte reads, so host endianness and
 * buffer alignment never matter. Parsing is two-phase: first every field is checked
 * against the buffer (all offset arithmetic done in uint64_t with explicit overflow
 * checks, counts bounded by what the section sizes can hold before anything is
 * allocated from them), then tensor data are copied (f32) or converted (f16) into
 * one 64-byte aligned float block, each tensor starting on a 64-byte boundary. The
 * file buffer is freed before returning, so a loaded model owns only parsed data.
 * Names are kept in a sorted index so duplicates are found and lookups are
 * O(log n). Nothing here is realtime: loading allocates and does I/O. */
#include "clv_clvm.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Fuzzing builds (libFuzzer's convention) accept wrong checksums so mutations
 * reach the parser behind them; every other check stays. Never set in releases. */
#ifdef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
#define CRC_ENFORCED 0
#else
#define CRC_ENFORCED 1
#endif

#define HEADER_SIZE 96u
#define ALIGN 64u
#define META_FIXED 16u /* key_len, type, value_size */
#define DIR_FIXED 32u  /* name_len, dtype, ndim, crc, offset, nbytes */

typedef struct {
    char *key;
    ClvMetaType type;
    int64_t i;
    double f;
    char *s;              /* CLV_META_STRING */
    char **list;          /* CLV_META_STRINGS: count pointers */
    int64_t *ints;        /* CLV_META_INTS */
    int count;
} MetaEntry;

typedef struct {
    char *name;
    int ndim;
    int64_t dims[CLV_CLVM_MAX_DIMS];
    int64_t count;
    ClvDtype stored;
    uint64_t offset, nbytes; /* in the data section (file), for overlap checks */
    uint32_t crc;
    float *data;
} TensorEntry;

struct ClvClvmImpl {
    char *path;
    ClvLog log;
    int n_meta;
    MetaEntry *meta;
    int n_tensors;
    TensorEntry *tensors;
    TensorEntry **by_name; /* tensors sorted by name */
    float *data;       /* all tensor data, aligned */
};

/* ------------------------------------------------------------- helpers --- */

static void logf_model(const ClvLog *log, const char *path, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

static void logf_model(const ClvLog *log, const char *path, const char *fmt, ...)
{
    if (!log || !log->fn) return;
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    clv_log(log, CLV_LOG_ERROR, "%s: %s", path, msg);
}

static uint32_t rd32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t rd64(const unsigned char *p)
{
    return (uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32;
}

static uint16_t rd16(const unsigned char *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t crc_table[256];
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;

static void crc_init(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        crc_table[i] = c;
    }
}

uint32_t clv_crc32(uint32_t crc, const void *data, size_t n)
{
    pthread_once(&crc_once, crc_init);
    const unsigned char *p = data;
    crc = ~crc;
    for (size_t i = 0; i < n; i++) crc = crc_table[(crc ^ p[i]) & 0xFFu] ^ (crc >> 8);
    return ~crc;
}

float clv_half_to_float(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t exp = (h >> 10) & 0x1Fu;
    uint32_t man = h & 0x3FFu;
    uint32_t bits;
    if (exp == 0) {
        if (man == 0) {
            bits = sign;
        } else {
            /* Subnormal half: normalise into a float. */
            int e = -1;
            do {
                e++;
                man <<= 1;
            } while (!(man & 0x400u));
            bits = sign | (uint32_t)(127 - 15 - e) << 23 | (man & 0x3FFu) << 13;
        }
    } else if (exp == 31) {
        bits = sign | 0x7F800000u | man << 13;
    } else {
        bits = sign | (exp + 127 - 15) << 23 | man << 13;
    }
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

static int valid_name(const unsigned char *p, uint64_t n)
{
    if (n < 1 || n > CLV_CLVM_MAX_NAME) return 0;
    for (uint64_t i = 0; i < n; i++)
        if (p[i] < 0x21 || p[i] > 0x7E) return 0;
    return 1;
}

/* Strict UTF-8 (no overlongs, no surrogates, no NUL). */
static int valid_utf8(const unsigned char *p, uint64_t n)
{
    uint64_t i = 0;
    while (i < n) {
        unsigned c = p[i];
        if (c == 0) return 0;
        if (c < 0x80) {
            i++;
            continue;
        }
        int len;
        uint32_t cp;
        if ((c & 0xE0) == 0xC0) {
            len = 2;
            cp = c & 0x1F;
        } else if ((c & 0xF0) == 0xE0) {
            len = 3;
            cp = c & 0x0F;
        } else if ((c & 0xF8) == 0xF0) {
            len = 4;
            cp = c & 0x07;
        } else {
            return 0;
        }
        if (n - i < (uint64_t)len) return 0;
        for (int k = 1; k < len; k++) {
            if ((p[i + k] & 0xC0) != 0x80) return 0;
            cp = cp << 6 | (p[i + k] & 0x3F);
        }
        if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
            cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return 0;
        i += (uint64_t)len;
    }
    return 1;
}

static char *dup_bytes(const unsigned char *p, uint64_t n)
{
    char *s = malloc((size_t)n + 1);
    if (!s) return NULL;
    memcpy(s, p, (size_t)n);
    s[n] = '\0';
    return s;
}

static uint64_t pad8(uint64_t n)
{
    return (n + 7u) & ~(uint64_t)7u;
}

/* a + b <= limit without overflow. */
static int fits(uint64_t a, uint64_t b, uint64_t limit)
{
    return a <= limit && b <= limit - a;
}

static int cmp_name(const void *a, const void *b)
{
    return strcmp((*(const TensorEntry *const *)a)->name, (*(const TensorEntry *const *)b)->name);
}

static const TensorEntry *find_tensor(const ClvClvm *m, const char *name)
{
    int lo = 0, hi = m->n_tensors - 1;
    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2;
        const TensorEntry *t = m->by_name[mid];
        int c = strcmp(name, t->name);
        if (c == 0) return t;
        if (c < 0) hi = mid - 1;
        else lo = mid + 1;
    }
    return NULL;
}

static const MetaEntry *find_meta(const ClvClvm *m, const char *key)
{
    for (int i = 0; i < m->n_meta; i++)
        if (strcmp(m->meta[i].key, key) == 0) return &m->meta[i];
    return NULL;
}

static void format_shape(char *buf, size_t cap, int ndim, const int64_t *dims)
{
    size_t used = 0;
    int n = snprintf(buf, cap, "[");
    used = n > 0 ? (size_t)n : 0;
    for (int i = 0; i < ndim && used < cap; i++) {
        if (dims[i] < 0) n = snprintf(buf + used, cap - used, "%s*", i ? ", " : "");
        else n = snprintf(buf + used, cap - used, "%s%lld", i ? ", " : "", (long long)dims[i]);
        used += n > 0 ? (size_t)n : 0;
    }
    if (used < cap) snprintf(buf + used, cap - used, "]");
}

void clv_clvm_free(ClvClvm *m)
{
    if (!m) return;
    for (int i = 0; i < m->n_meta; i++) {
        MetaEntry *e = &m->meta[i];
        free(e->key);
        free(e->s);
        if (e->list)
            for (int k = 0; k < e->count; k++) free(e->list[k]);
        free(e->list);
        free(e->ints);
    }
    free(m->meta);
    for (int i = 0; i < m->n_tensors; i++) free(m->tensors[i].name);
    free(m->tensors);
    free(m->by_name);
    free(m->data);
    free(m->path);
    free(m);
}

/* --------------------------------------------------------------- parse --- */

#define FAIL(st, ...)                                                                   \
    do {                                                                                \
        logf_model(&m->log, m->path, __VA_ARGS__);                                      \
        status = (st);                                                                  \
        goto fail;                                                                      \
    } while (0)

static ClvStatus parse_meta(ClvClvm *m, const unsigned char *buf, uint64_t off, uint64_t size,
                            uint32_t count)
{
    ClvStatus status = CLV_OK;
    const uint64_t end = off + size; /* section bounds were checked by the caller */
    /* Every entry takes at least 24 bytes (16 fixed + 1 key byte, padded). */
    if (count > size / 24u) FAIL(CLV_ERR_FORMAT, "metadata count %u does not fit in %llu bytes",
                                 count, (unsigned long long)size);
    m->meta = calloc(count ? count : 1, sizeof *m->meta);
    if (!m->meta) FAIL(CLV_ERR_NOMEM, "out of memory for metadata");
    for (uint32_t i = 0; i < count; i++) {
        if (!fits(off, META_FIXED, end))
            FAIL(CLV_ERR_FORMAT, "metadata entry %u runs past its section", i);
        uint32_t klen = rd32(buf + off);
        uint32_t type = rd32(buf + off + 4);
        uint64_t vsize = rd64(buf + off + 8);
        if (klen < 1 || klen > CLV_CLVM_MAX_NAME)
            FAIL(CLV_ERR_FORMAT, "metadata entry %u: key length %u out of range 1..%d", i, klen,
                 CLV_CLVM_MAX_NAME);
        uint64_t kpos = off + META_FIXED;
        if (!fits(kpos, klen, end) || !fits(kpos + klen, vsize, end))
            FAIL(CLV_ERR_FORMAT, "metadata entry %u runs past its section", i);
        if (!valid_name(buf + kpos, klen))
            FAIL(CLV_ERR_FORMAT, "metadata entry %u: key is not printable ASCII", i);
        MetaEntry *e = &m->meta[i];
        e->key = dup_bytes(buf + kpos, klen);
        m->n_meta = (int)i + 1;
        if (!e->key) FAIL(CLV_ERR_NOMEM, "out of memory for metadata");
        for (uint32_t k = 0; k < i; k++)
            if (strcmp(m->meta[k].key, e->key) == 0)
                FAIL(CLV_ERR_FORMAT, "metadata key '%s' appears twice", e->key);
        const unsigned char *v = buf + kpos + klen;
        e->type = (ClvMetaType)type;
        switch (type) {
        case CLV_META_STRING:
            if (!valid_utf8(v, vsize))
                FAIL(CLV_ERR_FORMAT, "metadata '%s': string is not valid UTF-8 without NUL", e->key);
            if (!(e->s = dup_bytes(v, vsize))) FAIL(CLV_ERR_NOMEM, "out of memory for metadata");
            break;
        case CLV_META_INT:
        case CLV_META_FLOAT:
            if (vsize != 8)
                FAIL(CLV_ERR_FORMAT, "metadata '%s': %s value of %llu bytes, expected 8", e->key,
                     type == CLV_META_INT ? "int" : "float", (unsigned long long)vsize);
            if (type == CLV_META_INT) {
                e->i = (int64_t)rd64(v);
            } else {
                uint64_t bits = rd64(v);
                memcpy(&e->f, &bits, sizeof e->f);
            }
            break;
        case CLV_META_STRINGS: {
            if (vsize < 4) FAIL(CLV_ERR_FORMAT, "metadata '%s': string list too short", e->key);
            uint32_t n = rd32(v);
            if (n > (vsize - 4) / 4)
                FAIL(CLV_ERR_FORMAT, "metadata '%s': string list count %u does not fit", e->key, n);
            e->list = calloc(n ? n : 1, sizeof *e->list);
            if (!e->list) FAIL(CLV_ERR_NOMEM, "out of memory for metadata");
            uint64_t p = 4;
            for (uint32_t k = 0; k < n; k++) {
                if (!fits(p, 4, vsize))
                    FAIL(CLV_ERR_FORMAT, "metadata '%s': string list item %u truncated", e->key, k);
                uint32_t len = rd32(v + p);
                p += 4;
                if (!fits(p, len, vsize))
                    FAIL(CLV_ERR_FORMAT, "metadata '%s': string list item %u truncated", e->key, k);
                if (!valid_utf8(v + p, len))
                    FAIL(CLV_ERR_FORMAT, "metadata '%s': item %u is not valid UTF-8 without NUL",
                         e->key, k);
                e->list[k] = dup_bytes(v + p, len);
                e->count = (int)k + 1;
                if (!e->list[k]) FAIL(CLV_ERR_NOMEM, "out of memory for metadata");
                p += len;
            }
            if (p != vsize)
                FAIL(CLV_ERR_FORMAT, "metadata '%s': %llu stray bytes after the string list",
                     e->key, (unsigned long long)(vsize - p));
            e->count = (int)n;
            break;
        }
        case CLV_META_INTS: {
            if (vsize % 8)
                FAIL(CLV_ERR_FORMAT, "metadata '%s': int list of %llu bytes, not a multiple of 8",
                     e->key, (unsigned long long)vsize);
            uint64_t n = vsize / 8;
            if (n > INT32_MAX) FAIL(CLV_ERR_FORMAT, "metadata '%s': int list too long", e->key);
            e->ints = malloc(n ? (size_t)n * sizeof(int64_t) : 1);
            if (!e->ints) FAIL(CLV_ERR_NOMEM, "out of memory for metadata");
            for (uint64_t k = 0; k < n; k++) e->ints[k] = (int64_t)rd64(v + 8 * k);
            e->count = (int)n;
            break;
        }
        default:
            FAIL(CLV_ERR_UNSUPPORTED, "metadata '%s': unknown type %u", e->key, type);
        }
        uint64_t adv = pad8(META_FIXED + (uint64_t)klen + vsize);
        if (!fits(off, adv, end) && off + META_FIXED + klen + vsize != end)
            FAIL(CLV_ERR_FORMAT, "metadata entry '%s' runs past its section", e->key);
        off = fits(off, adv, end) ? off + adv : end;
    }
    return CLV_OK;
fail:
    return status;
}

static int cmp_offset(const void *a, const void *b)
{
    const TensorEntry *x = *(const TensorEntry *const *)a, *y = *(const TensorEntry *const *)b;
    return x->offset < y->offset ? -1 : x->offset > y->offset;
}

static ClvStatus parse_dir(ClvClvm *m, const unsigned char *buf, uint64_t off, uint64_t size,
                           uint32_t count, uint64_t data_off, uint64_t data_size)
{
    ClvStatus status = CLV_OK;
    const uint64_t end = off + size;
    TensorEntry **order = NULL;
    /* Every entry takes at least 40 bytes (32 fixed + 1 name byte, padded). */
    if (count > size / 40u) FAIL(CLV_ERR_FORMAT, "tensor count %u does not fit in %llu bytes",
                                 count, (unsigned long long)size);
    m->tensors = calloc(count ? count : 1, sizeof *m->tensors);
    m->by_name = calloc(count ? count : 1, sizeof *m->by_name);
    if (!m->tensors || !m->by_name) FAIL(CLV_ERR_NOMEM, "out of memory for the tensor directory");

    for (uint32_t i = 0; i < count; i++) {
        if (!fits(off, DIR_FIXED, end)) FAIL(CLV_ERR_FORMAT, "tensor entry %u runs past the directory", i);
        uint32_t nlen = rd32(buf + off);
        uint32_t dtype = rd32(buf + off + 4);
        uint32_t ndim = rd32(buf + off + 8);
        TensorEntry *t = &m->tensors[i];
        t->crc = rd32(buf + off + 12);
        t->offset = rd64(buf + off + 16);
        t->nbytes = rd64(buf + off + 24);
        if (nlen < 1 || nlen > CLV_CLVM_MAX_NAME)
            FAIL(CLV_ERR_FORMAT, "tensor entry %u: name length %u out of range 1..%d", i, nlen,
                 CLV_CLVM_MAX_NAME);
        if (ndim > CLV_CLVM_MAX_DIMS)
            FAIL(CLV_ERR_UNSUPPORTED, "tensor entry %u: %u dims, at most %d", i, ndim,
                 CLV_CLVM_MAX_DIMS);
        uint64_t npos = off + DIR_FIXED + 8u * ndim;
        if (!fits(off, DIR_FIXED + 8u * ndim, end) || !fits(npos, nlen, end))
            FAIL(CLV_ERR_FORMAT, "tensor entry %u runs past the directory", i);
        if (!valid_name(buf + npos, nlen))
            FAIL(CLV_ERR_FORMAT, "tensor entry %u: name is not printable ASCII", i);
        t->name = dup_bytes(buf + npos, nlen);
        m->n_tensors = (int)i + 1;
        if (!t->name) FAIL(CLV_ERR_NOMEM, "out of memory for the tensor directory");
        if (dtype != CLV_DTYPE_F32 && dtype != CLV_DTYPE_F16)
            FAIL(CLV_ERR_UNSUPPORTED, "tensor '%s': unknown dtype %u (1 = f32, 2 = f16)", t->name,
                 dtype);
        t->stored = (ClvDtype)dtype;
        t->ndim = (int)ndim;
        int64_t count_el = 1;
        for (uint32_t d = 0; d < ndim; d++) {
            uint64_t dim = rd64(buf + off + DIR_FIXED + 8u * d);
            if (dim < 1 || dim > (uint64_t)CLV_CLVM_MAX_ELEMS)
                FAIL(CLV_ERR_FORMAT, "tensor '%s': dim %u is %llu, out of range 1..%lld", t->name, d,
                     (unsigned long long)dim, (long long)CLV_CLVM_MAX_ELEMS);
            if ((uint64_t)count_el > (uint64_t)CLV_CLVM_MAX_ELEMS / dim)
                FAIL(CLV_ERR_FORMAT, "tensor '%s': more than %lld elements", t->name,
                     (long long)CLV_CLVM_MAX_ELEMS);
            count_el *= (int64_t)dim;
            t->dims[d] = (int64_t)dim;
        }
        t->count = count_el;
        uint64_t esize = dtype == CLV_DTYPE_F32 ? 4u : 2u;
        if (t->nbytes != (uint64_t)count_el * esize)
            FAIL(CLV_ERR_FORMAT, "tensor '%s': %llu bytes for %lld %s elements (expected %llu)",
                 t->name, (unsigned long long)t->nbytes, (long long)count_el,
                 dtype == CLV_DTYPE_F32 ? "f32" : "f16", (unsigned long long)((uint64_t)count_el * esize));
        if (t->offset % ALIGN)
            FAIL(CLV_ERR_FORMAT, "tensor '%s': data offset %llu is not %u-byte aligned", t->name,
                 (unsigned long long)t->offset, ALIGN);
        if (!fits(t->offset, t->nbytes, data_size))
            FAIL(CLV_ERR_FORMAT, "tensor '%s': data [%llu, +%llu) lies outside the %llu-byte data section",
                 t->name, (unsigned long long)t->offset, (unsigned long long)t->nbytes,
                 (unsigned long long)data_size);
        if (clv_crc32(0, buf + data_off + t->offset, (size_t)t->nbytes) != t->crc && CRC_ENFORCED)
            FAIL(CLV_ERR_CHECKSUM, "tensor '%s': data checksum mismatch (file damaged)", t->name);
        m->by_name[i] = t;
        uint64_t adv = pad8(DIR_FIXED + 8u * ndim + nlen);
        off = fits(off, adv, end) ? off + adv : end;
    }

    qsort(m->by_name, count, sizeof *m->by_name, cmp_name);
    for (uint32_t i = 1; i < count; i++)
        if (strcmp(m->by_name[i]->name, m->by_name[i - 1]->name) == 0)
            FAIL(CLV_ERR_FORMAT, "tensor '%s' appears twice", m->by_name[i]->name);

    order = malloc((count ? count : 1) * sizeof *order);
    if (!order) FAIL(CLV_ERR_NOMEM, "out of memory for the tensor directory");
    for (uint32_t i = 0; i < count; i++) order[i] = &m->tensors[i];
    qsort(order, count, sizeof *order, cmp_offset);
    for (uint32_t i = 1; i < count; i++)
        if (order[i - 1]->offset + order[i - 1]->nbytes > order[i]->offset)
            FAIL(CLV_ERR_FORMAT, "tensors '%s' and '%s' overlap in the data section",
                 order[i - 1]->name, order[i]->name);
    free(order);
    return CLV_OK;
fail:
    free(order);
    return status;
}

static ClvStatus convert_data(ClvClvm *m, const unsigned char *buf, uint64_t data_off)
{
    ClvStatus status = CLV_OK;
    size_t total = 0;
    for (int i = 0; i < m->n_tensors; i++) {
        /* Each count <= INT32_MAX and the file holds their bytes, so no overflow on
         * 64-bit; checked anyway for 32-bit size_t. */
        size_t padded = ((size_t)m->tensors[i].count + 15u) & ~(size_t)15u;
        if (padded > SIZE_MAX / sizeof(float) - total) FAIL(CLV_ERR_NOMEM, "tensor data too large");
        total += padded;
    }
    m->data = aligned_alloc(ALIGN, (total ? total : 16u) * sizeof(float));
    if (!m->data) FAIL(CLV_ERR_NOMEM, "out of memory for %zu floats of tensor data", total);
    size_t pos = 0;
    for (int i = 0; i < m->n_tensors; i++) {
        TensorEntry *t = &m->tensors[i];
        const unsigned char *src = buf + data_off + t->offset;
        float *dst = m->data + pos;
        size_t n = (size_t)t->count;
        if (t->stored == CLV_DTYPE_F32) {
            for (size_t k = 0; k < n; k++) {
                uint32_t bits = rd32(src + 4 * k);
                memcpy(&dst[k], &bits, sizeof(float));
            }
        } else {
            for (size_t k = 0; k < n; k++) dst[k] = clv_half_to_float(rd16(src + 2 * k));
        }
        for (size_t k = 0; k < n; k++)
            if (!isfinite(dst[k]))
                FAIL(CLV_ERR_FORMAT, "tensor '%s': element %zu is NaN or infinite", t->name, k);
        size_t padded = (n + 15u) & ~(size_t)15u;
        for (size_t k = n; k < padded; k++) dst[k] = 0.0f;
        t->data = dst;
        pos += padded;
    }
    return CLV_OK;
fail:
    return status;
}

static ClvStatus parse(ClvClvm *m, const unsigned char *buf, uint64_t size)
{
    ClvStatus status = CLV_OK;
    if (size < HEADER_SIZE)
        FAIL(CLV_ERR_FORMAT, "file is %llu bytes, shorter than the %u-byte header",
             (unsigned long long)size, HEADER_SIZE);
    if (memcmp(buf, "CLVM", 4) != 0) FAIL(CLV_ERR_FORMAT, "not a cleave model file (bad magic)");
    uint32_t version = rd32(buf + 4);
    if (version != CLV_CLVM_VERSION)
        FAIL(CLV_ERR_UNSUPPORTED, "format version %u, this build reads version %d", version,
             CLV_CLVM_VERSION);
    if (rd32(buf + 8) != HEADER_SIZE || rd32(buf + 12) != ALIGN)
        FAIL(CLV_ERR_FORMAT, "header size %u / alignment %u, expected %u / %u", rd32(buf + 8),
             rd32(buf + 12), HEADER_SIZE, ALIGN);
    uint64_t file_size = rd64(buf + 16);
    uint64_t meta_off = rd64(buf + 24), meta_size = rd64(buf + 32);
    uint64_t dir_off = rd64(buf + 40), dir_size = rd64(buf + 48);
    uint64_t data_off = rd64(buf + 56), data_size = rd64(buf + 64);
    uint32_t meta_count = rd32(buf + 72), tensor_count = rd32(buf + 76);
    uint32_t crc = rd32(buf + 80);
    if (file_size != size)
        FAIL(CLV_ERR_FORMAT, "header says %llu bytes but the file has %llu (truncated or padded)",
             (unsigned long long)file_size, (unsigned long long)size);
    if (rd32(buf + 84) != 0 || rd64(buf + 88) != 0)
        FAIL(CLV_ERR_FORMAT, "reserved header fields are not zero");
    if (meta_off < HEADER_SIZE || !fits(meta_off, meta_size, size) ||
        dir_off < meta_off + meta_size || !fits(dir_off, dir_size, size) ||
        data_off < dir_off + dir_size || !fits(data_off, data_size, size) ||
        data_off + data_size != size)
        FAIL(CLV_ERR_FORMAT, "sections out of order or outside the file "
             "(meta %llu+%llu, directory %llu+%llu, data %llu+%llu, file %llu)",
             (unsigned long long)meta_off, (unsigned long long)meta_size,
             (unsigned long long)dir_off, (unsigned long long)dir_size,
             (unsigned long long)data_off, (unsigned long long)data_size,
             (unsigned long long)size);
    if (data_off % ALIGN)
        FAIL(CLV_ERR_FORMAT, "data section offset %llu is not %u-byte aligned",
             (unsigned long long)data_off, ALIGN);
    uint32_t c = clv_crc32(0, buf, 80);
    c = clv_crc32(c, buf + meta_off, (size_t)meta_size);
    c = clv_crc32(c, buf + dir_off, (size_t)dir_size);
    if (c != crc && CRC_ENFORCED) FAIL(CLV_ERR_CHECKSUM, "header/index checksum mismatch (file damaged)");
    if ((status = parse_meta(m, buf, meta_off, meta_size, meta_count)) != CLV_OK) return status;
    if ((status = parse_dir(m, buf, dir_off, dir_size, tensor_count, data_off, data_size)) != CLV_OK)
        return status;
    return convert_data(m, buf, data_off);
fail:
    return status;
}

static ClvClvm *new_model(const char *name, const ClvLog *log)
{
    ClvClvm *m = calloc(1, sizeof *m);
    if (!m) return NULL;
    if (log) m->log = *log;
    m->path = dup_bytes((const unsigned char *)name, strlen(name));
    if (!m->path) {
        free(m);
        return NULL;
    }
    return m;
}

ClvStatus clv_clvm_load_memory(const void *data, size_t size, const char *name, const ClvLog *log,
                               ClvClvm **out)
{
    if (!out) return CLV_ERR_INVALID;
    *out = NULL;
    if (!name) name = "<memory>";
    if (!data && size) return CLV_ERR_INVALID;
    if (size > CLV_CLVM_MAX_FILE) {
        clv_log(log, CLV_LOG_ERROR, "%s: %zu bytes, larger than the %zu-byte limit", name, size,
                CLV_CLVM_MAX_FILE);
        return CLV_ERR_FORMAT;
    }
    ClvClvm *m = new_model(name, log);
    if (!m) return CLV_ERR_NOMEM;
    static const unsigned char empty[1];
    ClvStatus st = parse(m, size ? data : empty, size);
    if (st != CLV_OK) {
        clv_clvm_free(m);
        return st;
    }
    *out = m;
    return CLV_OK;
}

ClvStatus clv_clvm_load(const char *path, const ClvLog *log, ClvClvm **out)
{
    if (!out) return CLV_ERR_INVALID;
    *out = NULL;
    if (!path) return CLV_ERR_INVALID;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        clv_log(log, CLV_LOG_ERROR, "%s: cannot open: %s", path, strerror(errno));
        return errno == ENOENT ? CLV_ERR_NOT_FOUND : CLV_ERR_IO;
    }
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        clv_log(log, CLV_LOG_ERROR, "%s: not a regular file", path);
        close(fd);
        return CLV_ERR_IO;
    }
    if ((uint64_t)sb.st_size > CLV_CLVM_MAX_FILE) {
        clv_log(log, CLV_LOG_ERROR, "%s: %lld bytes, larger than the %zu-byte limit", path,
                (long long)sb.st_size, CLV_CLVM_MAX_FILE);
        close(fd);
        return CLV_ERR_FORMAT;
    }
    size_t size = (size_t)sb.st_size;
    unsigned char *buf = malloc(size ? size : 1);
    if (!buf) {
        close(fd);
        clv_log(log, CLV_LOG_ERROR, "%s: out of memory reading %zu bytes", path, size);
        return CLV_ERR_NOMEM;
    }
    size_t got = 0;
    while (got < size) {
        ssize_t r = read(fd, buf + got, size - got);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        got += (size_t)r;
    }
    /* A file that grew while we read is refused rather than half-read. */
    char extra;
    ssize_t more = got == size ? read(fd, &extra, 1) : 0;
    close(fd);
    if (got != size || more > 0) {
        clv_log(log, CLV_LOG_ERROR, "%s: read %zu of %zu bytes (file changed or I/O error)", path,
                got, size);
        free(buf);
        return CLV_ERR_IO;
    }
    ClvClvm *m = new_model(path, log);
    if (!m) {
        free(buf);
        return CLV_ERR_NOMEM;
    }
    ClvStatus st = parse(m, buf, size);
    free(buf);
    if (st != CLV_OK) {
        clv_clvm_free(m);
        return st;
    }
    *out = m;
    return CLV_OK;
}

const char *clv_clvm_path(const ClvClvm *m)
{
    return m ? m->path : "";
}

/* ------------------------------------------------------------ metadata --- */

static const char *type_name(ClvMetaType t)
{
    switch (t) {
    case CLV_META_STRING: return "string";
    case CLV_META_INT: return "int";
    case CLV_META_FLOAT: return "float";
    case CLV_META_STRINGS: return "string list";
    case CLV_META_INTS: return "int list";
    }
    return "unknown";
}

static const MetaEntry *meta_typed(const ClvClvm *m, const char *key, ClvMetaType want,
                                   ClvMetaType alt, ClvStatus *st)
{
    if (!m || !key) {
        *st = CLV_ERR_INVALID;
        return NULL;
    }
    const MetaEntry *e = find_meta(m, key);
    if (!e) {
        logf_model(&m->log, m->path, "metadata '%s' is missing", key);
        *st = CLV_ERR_NOT_FOUND;
        return NULL;
    }
    if (e->type != want && e->type != alt) {
        logf_model(&m->log, m->path, "metadata '%s' is a %s, expected a %s", key,
                   type_name(e->type), type_name(want));
        *st = CLV_ERR_FORMAT;
        return NULL;
    }
    *st = CLV_OK;
    return e;
}

ClvStatus clv_clvm_meta_string(const ClvClvm *m, const char *key, const char **out)
{
    ClvStatus st;
    const MetaEntry *e = meta_typed(m, key, CLV_META_STRING, CLV_META_STRING, &st);
    if (e && out) *out = e->s;
    return st;
}

ClvStatus clv_clvm_meta_int(const ClvClvm *m, const char *key, int64_t *out)
{
    ClvStatus st;
    const MetaEntry *e = meta_typed(m, key, CLV_META_INT, CLV_META_INT, &st);
    if (e && out) *out = e->i;
    return st;
}

ClvStatus clv_clvm_meta_float(const ClvClvm *m, const char *key, double *out)
{
    ClvStatus st;
    const MetaEntry *e = meta_typed(m, key, CLV_META_FLOAT, CLV_META_INT, &st);
    if (e && out) *out = e->type == CLV_META_INT ? (double)e->i : e->f;
    return st;
}

ClvStatus clv_clvm_meta_int_range(const ClvClvm *m, const char *key, int64_t lo, int64_t hi,
                                  int *out)
{
    int64_t v = 0;
    ClvStatus st = clv_clvm_meta_int(m, key, &v);
    if (st != CLV_OK) return st;
    if (v < lo || v > hi || v < INT32_MIN || v > INT32_MAX) {
        logf_model(&m->log, m->path, "metadata '%s' = %lld is out of range %lld..%lld", key,
                   (long long)v, (long long)lo, (long long)hi);
        return CLV_ERR_FORMAT;
    }
    *out = (int)v;
    return CLV_OK;
}

ClvStatus clv_clvm_meta_float_range(const ClvClvm *m, const char *key, double lo, double hi,
                                    double *out)
{
    double v = 0.0;
    ClvStatus st = clv_clvm_meta_float(m, key, &v);
    if (st != CLV_OK) return st;
    if (!(v >= lo && v <= hi)) {
        logf_model(&m->log, m->path, "metadata '%s' = %g is out of range %g..%g", key, v, lo, hi);
        return CLV_ERR_FORMAT;
    }
    *out = v;
    return CLV_OK;
}

ClvStatus clv_clvm_meta_strings(const ClvClvm *m, const char *key, const char *const **items,
                                int *count)
{
    ClvStatus st;
    const MetaEntry *e = meta_typed(m, key, CLV_META_STRINGS, CLV_META_STRINGS, &st);
    if (e) {
        if (items) *items = (const char *const *)e->list;
        if (count) *count = e->count;
    }
    return st;
}

ClvStatus clv_clvm_meta_ints(const ClvClvm *m, const char *key, const int64_t **items, int *count)
{
    ClvStatus st;
    const MetaEntry *e = meta_typed(m, key, CLV_META_INTS, CLV_META_INTS, &st);
    if (e) {
        if (items) *items = e->ints;
        if (count) *count = e->count;
    }
    return st;
}

int clv_clvm_has_meta(const ClvClvm *m, const char *key)
{
    return m && key && find_meta(m, key) != NULL;
}

int clv_clvm_meta_count(const ClvClvm *m)
{
    return m ? m->n_meta : 0;
}

ClvStatus clv_clvm_meta_entry(const ClvClvm *m, int i, const char **key, ClvMetaType *type)
{
    if (!m || i < 0 || i >= m->n_meta) return CLV_ERR_INVALID;
    if (key) *key = m->meta[i].key;
    if (type) *type = m->meta[i].type;
    return CLV_OK;
}

/* ------------------------------------------------------------- tensors --- */

static void fill_info(const TensorEntry *t, ClvTensorInfo *info)
{
    if (!info) return;
    memset(info, 0, sizeof *info);
    info->name = t->name;
    info->ndim = t->ndim;
    for (int d = 0; d < t->ndim; d++) info->dims[d] = t->dims[d];
    info->count = t->count;
    info->stored = t->stored;
    info->data = t->data;
}

int clv_clvm_tensor_count(const ClvClvm *m)
{
    return m ? m->n_tensors : 0;
}

ClvStatus clv_clvm_tensor_at(const ClvClvm *m, int i, ClvTensorInfo *info)
{
    if (!m || i < 0 || i >= m->n_tensors) return CLV_ERR_INVALID;
    fill_info(&m->tensors[i], info);
    return CLV_OK;
}

ClvStatus clv_clvm_find(const ClvClvm *m, const char *name, ClvTensorInfo *info)
{
    if (!m || !name) return CLV_ERR_INVALID;
    const TensorEntry *t = find_tensor(m, name);
    if (!t) return CLV_ERR_NOT_FOUND;
    fill_info(t, info);
    return CLV_OK;
}

static ClvStatus bind(const ClvClvm *m, const char *name, int ndim, const int64_t *dims,
                      const float **out, int optional)
{
    if (out) *out = NULL;
    if (!m || !name || !out || ndim < 0 || ndim > CLV_CLVM_MAX_DIMS || (ndim && !dims))
        return CLV_ERR_INVALID;
    const TensorEntry *t = find_tensor(m, name);
    if (!t) {
        if (optional) return CLV_OK;
        logf_model(&m->log, m->path, "tensor '%s' is missing", name);
        return CLV_ERR_NOT_FOUND;
    }
    int ok = t->ndim == ndim;
    for (int d = 0; ok && d < ndim; d++)
        if (dims[d] != -1 && dims[d] != t->dims[d]) ok = 0;
    if (!ok) {
        char have[160], want[160];
        format_shape(have, sizeof have, t->ndim, t->dims);
        format_shape(want, sizeof want, ndim, dims);
        logf_model(&m->log, m->path, "tensor '%s' has shape %s, expected %s", name, have, want);
        return CLV_ERR_SHAPE;
    }
    *out = t->data;
    return CLV_OK;
}

ClvStatus clv_clvm_bind(const ClvClvm *m, const char *name, int ndim, const int64_t *dims,
                        const float **out)
{
    return bind(m, name, ndim, dims, out, 0);
}

ClvStatus clv_clvm_bind_optional(const ClvClvm *m, const char *name, int ndim,
                                 const int64_t *dims, const float **out)
{
    return bind(m, name, ndim, dims, out, 1);
}
