/* SPDX-License-Identifier: ISC */
/* Tests of the .clvm reader (models/clv_clvm.c).
 *
 * A small writer here builds files byte by byte (independent of the Python
 * writer), so each defect can be planted with all other fields and checksums
 * still valid, and the reader must name it. Then every truncation and every
 * single-byte corruption of a valid file must either be refused or load with
 * exactly the original content (a byte that only pads). The Python writer's
 * output (tests/golden/kernels.clvm) is read as the cross-language check.
 *
 * Usage: test_clvm GOLDEN.clvm TMPDIR */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clv_clvm.h"
#include "clv_test.h"

static char last_log[600];
static int log_count;

static void capture(void *user, ClvLogLevel level, const char *msg)
{
    (void)user;
    (void)level;
    snprintf(last_log, sizeof last_log, "%s", msg);
    log_count++;
}

static const ClvLog LOG = {capture, NULL};

/* ---------------------------------------------------------------- writer --- */

typedef struct {
    unsigned char *p;
    size_t n, cap;
} Buf;

static void put(Buf *b, const void *d, size_t n)
{
    if (b->n + n > b->cap) {
        b->cap = (b->n + n) * 2 + 64;
        b->p = realloc(b->p, b->cap);
        if (!b->p) exit(1);
    }
    if (d) memcpy(b->p + b->n, d, n);
    else memset(b->p + b->n, 0, n);
    b->n += n;
}

static void put32(Buf *b, uint32_t v)
{
    unsigned char t[4] = {(unsigned char)v, (unsigned char)(v >> 8), (unsigned char)(v >> 16),
                          (unsigned char)(v >> 24)};
    put(b, t, 4);
}

static void put64(Buf *b, uint64_t v)
{
    put32(b, (uint32_t)v);
    put32(b, (uint32_t)(v >> 32));
}

static void set32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
    p[2] = (unsigned char)(v >> 16);
    p[3] = (unsigned char)(v >> 24);
}

static void set64(unsigned char *p, uint64_t v)
{
    set32(p, (uint32_t)v);
    set32(p + 4, (uint32_t)(v >> 32));
}

static uint64_t get64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = v << 8 | p[i];
    return v;
}

static void pad_to(Buf *b, size_t base, size_t a)
{
    while ((b->n - base) % a) put(b, NULL, 1);
}

/* The reference file: metadata of every type, an f32 matrix, an f16 vector with
 * subnormal / extreme values, a scalar. Positions of entries are recorded so
 * tests can plant defects. */
static const float A_DATA[12] = {1, -2, 3.5f, 4, 5, 6, 7, 8, 9, 10, 11, -0.125f};
static const uint16_t H_DATA[5] = {0x0001, 0xC000, 0x7BFF, 0x3555, 0x8000};
static const float H_VALUES[5] = {5.9604644775390625e-08f, -2.0f, 65504.0f, 0.333251953125f, -0.0f};
static const float S_DATA[1] = {7.0f};

typedef struct {
    Buf b;
    size_t meta_entry[8], dir_entry[4], data_off;
} File;

static void meta_entry(File *f, const char *key, uint32_t type, const void *v, size_t n, int i)
{
    size_t start = f->b.n;
    f->meta_entry[i] = start;
    put32(&f->b, (uint32_t)strlen(key));
    put32(&f->b, type);
    put64(&f->b, n);
    put(&f->b, key, strlen(key));
    put(&f->b, v, n);
    pad_to(&f->b, start, 8);
}

static void refresh_index_crc(unsigned char *p)
{
    uint64_t mo = get64(p + 24), ms = get64(p + 32), dO = get64(p + 40), ds = get64(p + 48);
    uint32_t c = clv_crc32(0, p, 80);
    c = clv_crc32(c, p + mo, (size_t)ms);
    c = clv_crc32(c, p + dO, (size_t)ds);
    set32(p + 80, c);
}

static File build(void)
{
    File f;
    memset(&f, 0, sizeof f);
    put(&f.b, NULL, 96);
    memcpy(f.b.p, "CLVM", 4);
    size_t meta_off = f.b.n;
    int64_t sr = 16000;
    double gain = 0.5;
    Buf list = {0};
    put32(&list, 3);
    const char *items[3] = {"vocals", "accompaniment", "\xc3\xbc"};
    for (int i = 0; i < 3; i++) {
        put32(&list, (uint32_t)strlen(items[i]));
        put(&list, items[i], strlen(items[i]));
    }
    int64_t widths[2] = {256, 128};
    meta_entry(&f, "arch", 1, "test-net", 8, 0);
    meta_entry(&f, "sample_rate", 2, &sr, 8, 1); /* little-endian host assumed by the test only */
    meta_entry(&f, "gain", 3, &gain, 8, 2);
    meta_entry(&f, "labels", 4, list.p, list.n, 3);
    meta_entry(&f, "widths", 5, widths, 16, 4);
    free(list.p);
    size_t meta_size = f.b.n - meta_off, dir_off = f.b.n;
    struct {
        const char *name;
        uint32_t dtype, ndim;
        uint64_t dims[2];
        const void *data;
        uint64_t nbytes;
    } t[3] = {{"a.weight", 1, 2, {3, 4}, A_DATA, 48},
              {"b.half", 2, 1, {5, 0}, H_DATA, 10},
              {"c.scalar", 1, 0, {0, 0}, S_DATA, 4}};
    uint64_t off = 0;
    for (int i = 0; i < 3; i++) {
        size_t start = f.b.n;
        f.dir_entry[i] = start;
        put32(&f.b, (uint32_t)strlen(t[i].name));
        put32(&f.b, t[i].dtype);
        put32(&f.b, t[i].ndim);
        put32(&f.b, clv_crc32(0, t[i].data, (size_t)t[i].nbytes));
        put64(&f.b, off);
        put64(&f.b, t[i].nbytes);
        for (uint32_t d = 0; d < t[i].ndim; d++) put64(&f.b, t[i].dims[d]);
        put(&f.b, t[i].name, strlen(t[i].name));
        pad_to(&f.b, start, 8);
        off += 64;
    }
    size_t dir_size = f.b.n - dir_off;
    pad_to(&f.b, 0, 64);
    f.data_off = f.b.n;
    for (int i = 0; i < 3; i++) {
        size_t start = f.b.n;
        put(&f.b, t[i].data, (size_t)t[i].nbytes);
        pad_to(&f.b, start, 64);
    }
    unsigned char *p = f.b.p;
    set32(p + 4, 1);
    set32(p + 8, 96);
    set32(p + 12, 64);
    set64(p + 16, f.b.n);
    set64(p + 24, meta_off);
    set64(p + 32, meta_size);
    set64(p + 40, dir_off);
    set64(p + 48, dir_size);
    set64(p + 56, f.data_off);
    set64(p + 64, f.b.n - f.data_off);
    set32(p + 72, 5);
    set32(p + 76, 3);
    refresh_index_crc(p);
    return f;
}

/* ----------------------------------------------------------------- checks --- */

static ClvStatus load(const unsigned char *p, size_t n, ClvClvm **m)
{
    last_log[0] = 0;
    log_count = 0;
    return clv_clvm_load_memory(p, n, "test.clvm", &LOG, m);
}

/* Same tensors and metadata as the reference file. */
static int same_content(const ClvClvm *m)
{
    ClvTensorInfo a, h, s;
    if (clv_clvm_tensor_count(m) != 3 || clv_clvm_meta_count(m) != 5) return 0;
    if (clv_clvm_find(m, "a.weight", &a) || clv_clvm_find(m, "b.half", &h) ||
        clv_clvm_find(m, "c.scalar", &s))
        return 0;
    if (memcmp(a.data, A_DATA, sizeof A_DATA) || memcmp(s.data, S_DATA, sizeof S_DATA)) return 0;
    if (memcmp(h.data, H_VALUES, sizeof H_VALUES)) return 0;
    const char *arch;
    int64_t sr;
    double g;
    const char *const *labels;
    const int64_t *w;
    int nl, nw;
    if (clv_clvm_meta_string(m, "arch", &arch) || strcmp(arch, "test-net")) return 0;
    if (clv_clvm_meta_int(m, "sample_rate", &sr) || sr != 16000) return 0;
    if (clv_clvm_meta_float(m, "gain", &g) || g != 0.5) return 0;
    if (clv_clvm_meta_strings(m, "labels", &labels, &nl) || nl != 3 || strcmp(labels[1], "accompaniment"))
        return 0;
    if (clv_clvm_meta_ints(m, "widths", &w, &nw) || nw != 2 || w[0] != 256 || w[1] != 128) return 0;
    return 1;
}

static void test_valid(void)
{
    File f = build();
    ClvClvm *m = NULL;
    ClvStatus st = load(f.b.p, f.b.n, &m);
    CHECK(st == CLV_OK, "reference file: %s (%s)", clv_strerror(st), last_log);
    if (!m) return;
    CHECK(same_content(m), "reference content");
    CHECK(strcmp(clv_clvm_path(m), "test.clvm") == 0, "path");
    ClvTensorInfo info;
    CHECK(clv_clvm_find(m, "a.weight", &info) == CLV_OK && info.ndim == 2 && info.dims[0] == 3 &&
              info.dims[1] == 4 && info.count == 12 && info.stored == CLV_DTYPE_F32,
          "a.weight info");
    CHECK(((uintptr_t)info.data % 64) == 0, "tensor data 64-byte aligned");
    CHECK(clv_clvm_find(m, "b.half", &info) == CLV_OK && info.stored == CLV_DTYPE_F16 &&
              ((uintptr_t)info.data % 64) == 0,
          "f16 info");
    CHECK(signbit(info.data[4]) && info.data[4] == 0.0f, "f16 negative zero");
    CHECK(clv_clvm_find(m, "c.scalar", &info) == CLV_OK && info.ndim == 0 && info.count == 1, "scalar");
    CHECK(clv_clvm_find(m, "missing", &info) == CLV_ERR_NOT_FOUND, "find missing");
    /* iteration in file order */
    CHECK(clv_clvm_tensor_at(m, 1, &info) == CLV_OK && strcmp(info.name, "b.half") == 0, "tensor_at");
    CHECK(clv_clvm_tensor_at(m, 3, &info) == CLV_ERR_INVALID, "tensor_at out of range");
    const char *key;
    ClvMetaType type;
    CHECK(clv_clvm_meta_entry(m, 3, &key, &type) == CLV_OK && strcmp(key, "labels") == 0 &&
              type == CLV_META_STRINGS,
          "meta_entry");
    /* typed metadata errors */
    int64_t iv;
    double dv;
    const char *sv;
    CHECK(clv_clvm_meta_int(m, "arch", &iv) == CLV_ERR_FORMAT && strstr(last_log, "'arch'") &&
              strstr(last_log, "string"),
          "int from string: '%s'", last_log);
    CHECK(clv_clvm_meta_string(m, "nope", &sv) == CLV_ERR_NOT_FOUND && strstr(last_log, "'nope'"),
          "missing key: '%s'", last_log);
    CHECK(clv_clvm_meta_float(m, "sample_rate", &dv) == CLV_OK && dv == 16000.0, "float from int");
    CHECK(clv_clvm_has_meta(m, "gain") && !clv_clvm_has_meta(m, "nope"), "has_meta");
    /* binding */
    const float *w;
    CHECK(CLV_CLVM_BIND(m, "a.weight", &w, 3, 4) == CLV_OK && w && w[2] == 3.5f, "bind");
    last_log[0] = 0;
    CHECK(CLV_CLVM_BIND(m, "a.weight", &w, 4, 3) == CLV_ERR_SHAPE && !w, "bind wrong shape");
    CHECK(strstr(last_log, "test.clvm") && strstr(last_log, "'a.weight'") && strstr(last_log, "[3, 4]") &&
              strstr(last_log, "[4, 3]"),
          "shape message: '%s'", last_log);
    CHECK(CLV_CLVM_BIND(m, "a.weight", &w, -1, 4) == CLV_OK && w, "bind wildcard");
    CHECK(CLV_CLVM_BIND(m, "zzz", &w, 1) == CLV_ERR_NOT_FOUND && strstr(last_log, "'zzz'"), "bind missing");
    CHECK(CLV_CLVM_BIND_OPTIONAL(m, "zzz", &w, 1) == CLV_OK && !w, "optional missing");
    CHECK(CLV_CLVM_BIND_OPTIONAL(m, "b.half", &w, 4) == CLV_ERR_SHAPE, "optional wrong shape");
    clv_clvm_free(m);
    clv_clvm_free(NULL);
    free(f.b.p);
}

typedef void (*Mutator)(File *f);

static void expect_fail(const char *what, Mutator mut, int refresh, ClvStatus want, const char *needle)
{
    File f = build();
    mut(&f);
    if (refresh) refresh_index_crc(f.b.p);
    ClvClvm *m = NULL;
    ClvStatus st = load(f.b.p, f.b.n, &m);
    CHECK(st == want && !m, "%s: got %s, expected %s", what, clv_strerror(st), clv_strerror(want));
    CHECK(log_count == 1 && strstr(last_log, "test.clvm") && strstr(last_log, needle),
          "%s: message '%s' lacks '%s' (or %d messages)", what, last_log, needle, log_count);
    clv_clvm_free(m);
    free(f.b.p);
}

static unsigned char *dir(File *f, int i) { return f->b.p + f->dir_entry[i]; }
static unsigned char *meta(File *f, int i) { return f->b.p + f->meta_entry[i]; }

static void m_magic(File *f) { f->b.p[0] = 'X'; }
static void m_version(File *f) { set32(f->b.p + 4, 2); }
static void m_reserved(File *f) { f->b.p[90] = 1; }
static void m_filesize(File *f) { set64(f->b.p + 16, f->b.n + 64); }
static void m_data_unaligned(File *f)
{
    set64(f->b.p + 56, get64(f->b.p + 56) + 8);
    set64(f->b.p + 64, get64(f->b.p + 64) - 8);
}
static void m_sections(File *f) { set64(f->b.p + 40, 8); }
static void m_meta_huge(File *f) { set64(f->b.p + 32, UINT64_MAX - 50); }
static void m_meta_count(File *f) { set32(f->b.p + 72, 1000000); }
static void m_tensor_count(File *f) { set32(f->b.p + 76, 4); }
static void m_crc(File *f) { meta(f, 0)[16 + 4] = 'T'; }
static void m_dup_tensor2(File *f)
{
    /* c.scalar renamed to b.half (the entry keeps its padded size) */
    memcpy(dir(f, 2) + 32, "b.half", 6);
    set32(dir(f, 2), 6);
}
static void m_dup_key(File *f) { memcpy(meta(f, 4) + 16, "labels", 6); }
static void m_offset_unaligned(File *f) { set64(dir(f, 1) + 16, 8); }
static void m_overlap(File *f)
{
    set64(dir(f, 1) + 16, 0);
    set32(dir(f, 1) + 12, clv_crc32(0, f->b.p + f->data_off, 10)); /* its CRC stays valid */
}
static void m_nbytes(File *f) { set64(dir(f, 0) + 24, 44); }
static void m_dim_zero(File *f) { set64(dir(f, 0) + 32, 0); }
static void m_dim_overflow(File *f)
{
    set64(dir(f, 0) + 32, (uint64_t)1 << 20);
    set64(dir(f, 0) + 40, (uint64_t)1 << 20);
}
static void m_ndim(File *f) { set32(dir(f, 0) + 8, 9); }
static void m_dtype(File *f) { set32(dir(f, 0) + 4, 3); }
static void m_oob(File *f) { set64(dir(f, 2) + 16, 1024); }
static void m_offset_wrap(File *f) { set64(dir(f, 2) + 16, UINT64_MAX - 63); }
static void m_data_crc(File *f) { f->b.p[f->data_off + 3] ^= 0x10; }
static void m_nan(File *f)
{
    float nan = NAN;
    memcpy(f->b.p + f->data_off + 4, &nan, 4);
    set32(dir(f, 0) + 12, clv_crc32(0, f->b.p + f->data_off, 48));
}
static void m_name_space(File *f) { dir(f, 0)[32 + 16 + 1] = ' '; }
static void m_name_len(File *f) { set32(dir(f, 0), 0); }
static void m_meta_type(File *f) { set32(meta(f, 0) + 4, 9); }
static void m_meta_utf8(File *f) { meta(f, 0)[16 + 4 + 2] = 0xC3; }
static void m_meta_nul(File *f) { meta(f, 0)[16 + 4 + 2] = 0; }
static void m_meta_int_size(File *f) { set64(meta(f, 1) + 8, 4); }
static void m_list_count(File *f) { set32(meta(f, 3) + 16 + 6, 0x7FFFFFFF); }
static void m_list_item(File *f) { set32(meta(f, 3) + 16 + 6 + 4, 200); }
static void m_ints_size(File *f) { set64(meta(f, 4) + 8, 12); }

static void test_defects(void)
{
    expect_fail("bad magic", m_magic, 1, CLV_ERR_FORMAT, "magic");
    expect_fail("version", m_version, 1, CLV_ERR_UNSUPPORTED, "version 2");
    expect_fail("reserved", m_reserved, 1, CLV_ERR_FORMAT, "reserved");
    expect_fail("file size", m_filesize, 1, CLV_ERR_FORMAT, "truncated");
    expect_fail("data unaligned", m_data_unaligned, 1, CLV_ERR_FORMAT, "aligned");
    expect_fail("sections", m_sections, 0, CLV_ERR_FORMAT, "sections");
    expect_fail("meta size overflow", m_meta_huge, 0, CLV_ERR_FORMAT, "sections");
    expect_fail("meta count", m_meta_count, 1, CLV_ERR_FORMAT, "metadata count 1000000");
    expect_fail("tensor count", m_tensor_count, 1, CLV_ERR_FORMAT, "tensor count 4");
    expect_fail("index crc", m_crc, 0, CLV_ERR_CHECKSUM, "checksum");
    expect_fail("duplicate tensor", m_dup_tensor2, 1, CLV_ERR_FORMAT, "'b.half' appears twice");
    expect_fail("duplicate key", m_dup_key, 1, CLV_ERR_FORMAT, "'labels' appears twice");
    expect_fail("offset unaligned", m_offset_unaligned, 1, CLV_ERR_FORMAT, "'b.half': data offset 8");
    expect_fail("overlap", m_overlap, 1, CLV_ERR_FORMAT, "overlap");
    expect_fail("nbytes", m_nbytes, 1, CLV_ERR_FORMAT, "'a.weight': 44 bytes");
    expect_fail("dim zero", m_dim_zero, 1, CLV_ERR_FORMAT, "'a.weight': dim 0 is 0");
    expect_fail("dim overflow", m_dim_overflow, 1, CLV_ERR_FORMAT, "more than");
    expect_fail("ndim", m_ndim, 1, CLV_ERR_UNSUPPORTED, "9 dims");
    expect_fail("dtype", m_dtype, 1, CLV_ERR_UNSUPPORTED, "'a.weight': unknown dtype 3");
    expect_fail("out of bounds", m_oob, 1, CLV_ERR_FORMAT, "'c.scalar': data [1024");
    expect_fail("offset wraps", m_offset_wrap, 1, CLV_ERR_FORMAT, "'c.scalar'");
    expect_fail("data crc", m_data_crc, 0, CLV_ERR_CHECKSUM, "'a.weight': data checksum");
    expect_fail("NaN weight", m_nan, 1, CLV_ERR_FORMAT, "'a.weight': element 1 is NaN");
    expect_fail("name with space", m_name_space, 1, CLV_ERR_FORMAT, "printable");
    expect_fail("name length 0", m_name_len, 1, CLV_ERR_FORMAT, "name length 0");
    expect_fail("meta type", m_meta_type, 1, CLV_ERR_UNSUPPORTED, "'arch': unknown type 9");
    expect_fail("meta utf8", m_meta_utf8, 1, CLV_ERR_FORMAT, "UTF-8");
    expect_fail("meta NUL", m_meta_nul, 1, CLV_ERR_FORMAT, "UTF-8");
    expect_fail("meta int size", m_meta_int_size, 1, CLV_ERR_FORMAT, "'sample_rate': int value of 4");
    expect_fail("string list count", m_list_count, 1, CLV_ERR_FORMAT, "'labels'");
    expect_fail("string list item", m_list_item, 1, CLV_ERR_FORMAT, "'labels'");
    expect_fail("int list size", m_ints_size, 1, CLV_ERR_FORMAT, "'widths'");
}

/* Every truncation and every single-byte change: refused, or the same content. */
static void test_corruption_sweep(void)
{
    File f = build();
    unsigned char *copy = malloc(f.b.n);
    int refused = 0, harmless = 0;
    for (size_t len = 0; len < f.b.n; len++) {
        ClvClvm *m = NULL;
        memcpy(copy, f.b.p, len);
        ClvStatus st = load(copy, len, &m);
        CHECK(st != CLV_OK && !m, "truncated to %zu bytes loaded", len);
        clv_clvm_free(m);
    }
    static const unsigned char flips[] = {0x01, 0x80, 0xFF};
    for (size_t i = 0; i < f.b.n; i++)
        for (size_t k = 0; k < sizeof flips; k++) {
            memcpy(copy, f.b.p, f.b.n);
            copy[i] ^= flips[k];
            ClvClvm *m = NULL;
            ClvStatus st = load(copy, f.b.n, &m);
            if (st == CLV_OK) {
                harmless++;
                CHECK(same_content(m), "byte %zu ^ 0x%02x loaded with different content", i, flips[k]);
            } else {
                refused++;
                CHECK(log_count == 1 && strstr(last_log, "test.clvm"), "byte %zu: message '%s'", i, last_log);
            }
            clv_clvm_free(m);
        }
    printf("corruption sweep: %zu bytes, %d refused, %d harmless (padding)\n", f.b.n, refused, harmless);
    CHECK(refused > 0, "sweep refused nothing");
    free(copy);
    free(f.b.p);
}

static void test_files(const char *golden, const char *tmpdir)
{
    ClvClvm *m = NULL;
    last_log[0] = 0;
    ClvStatus st = clv_clvm_load("/nonexistent/dir/model.clvm", &LOG, &m);
    CHECK(st == CLV_ERR_NOT_FOUND && !m && strstr(last_log, "/nonexistent/dir/model.clvm"),
          "missing file: %s '%s'", clv_strerror(st), last_log);
    st = clv_clvm_load(tmpdir, &LOG, &m);
    CHECK(st == CLV_ERR_IO && !m && strstr(last_log, "not a regular file"), "directory: %s '%s'",
          clv_strerror(st), last_log);
    char path[4096];
    snprintf(path, sizeof path, "%s/test_clvm_%d.clvm", tmpdir, (int)getpid());
    File f = build();
    FILE *fp = fopen(path, "wb");
    CHECK(fp != NULL, "cannot write %s", path);
    if (fp) {
        fwrite(f.b.p, 1, f.b.n, fp);
        fclose(fp);
        st = clv_clvm_load(path, &LOG, &m);
        CHECK(st == CLV_OK && m && same_content(m), "load from file: %s '%s'", clv_strerror(st), last_log);
        clv_clvm_free(m);
        m = NULL;
        /* truncated on disk: the message names the path */
        if (truncate(path, (off_t)f.b.n - 1) == 0) {
            st = clv_clvm_load(path, &LOG, &m);
            CHECK(st == CLV_ERR_FORMAT && strstr(last_log, path), "truncated file: '%s'", last_log);
        }
        unlink(path);
    }
    free(f.b.p);
    /* The Python writer's output. */
    st = clv_clvm_load(golden, &LOG, &m);
    CHECK(st == CLV_OK, "python-written %s: %s '%s'", golden, clv_strerror(st), last_log);
    if (m) {
        const char *gen;
        CHECK(clv_clvm_meta_string(m, "generator", &gen) == CLV_OK &&
                  strstr(gen, "golden_kernels.py"),
              "golden metadata");
        const int64_t *v;
        int n;
        CHECK(clv_clvm_meta_ints(m, "linear0.cfg", &v, &n) == CLV_OK && n == 4 && v[1] == 129,
              "golden int list");
        CHECK(clv_clvm_tensor_count(m) > 100, "golden tensor count");
        clv_clvm_free(m);
    }
}

static void test_helpers(void)
{
    CHECK(clv_crc32(0, "123456789", 9) == 0xCBF43926u, "crc32 check value");
    CHECK(clv_crc32(clv_crc32(0, "1234", 4), "56789", 5) == 0xCBF43926u, "crc32 continuation");
    CHECK(clv_half_to_float(0x3C00) == 1.0f, "half 1");
    CHECK(clv_half_to_float(0x0400) == 6.103515625e-05f, "half min normal");
    CHECK(clv_half_to_float(0x03FF) == 6.097555160522461e-05f, "half max subnormal");
    CHECK(isinf(clv_half_to_float(0x7C00)) && clv_half_to_float(0xFC00) < 0, "half inf");
    CHECK(isnan(clv_half_to_float(0x7E00)), "half nan");
    ClvClvm *m = (ClvClvm *)1;
    CHECK(clv_clvm_load_memory(NULL, 0, NULL, NULL, &m) == CLV_ERR_FORMAT && m == NULL, "empty");
    CHECK(clv_clvm_load_memory(NULL, 10, NULL, NULL, &m) == CLV_ERR_INVALID, "NULL data");
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s GOLDEN.clvm TMPDIR\n", argv[0]);
        return 2;
    }
    mkdir(argv[2], 0777);
    test_helpers();
    test_valid();
    test_defects();
    test_corruption_sweep();
    test_files(argv[1], argv[2]);
    TEST_DONE();
}
