/* SPDX-License-Identifier: ISC */
/* models/clv_embed and models/clv_index: embeddings against PyTorch (golden, by
 * maximum error) and against the C tagger (the pooled features feed the tagger's
 * own classifier to the same scores), block-size and rate invariance, MFCC
 * against a double-precision DCT; the index file round trip, update semantics,
 * the defensive reader (damaged, truncated, other version, not an index, absurd
 * counts), DTW against a brute-force reference, and search order.
 *
 * argv[1]: tests/golden/similar_embed.clvm (a small random-weight embedding
 * model), argv[2]: the shipped models/tagger.clvm, argv[3]: a scratch directory.
 * The test model and its golden embeddings (tests/golden/similar_golden.h) are
 * written by models/train/export_embed.py --test-model; they do not depend on
 * any trained model. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "clv_clvm.h"
#include "clv_embed.h"
#include "clv_index.h"
#include "clv_nn.h"
#include "clv_resample.h"
#include "clv_tagger.h"
#include "clv_test.h"
#include "golden/similar_golden.h"

static const char *scratch;

static void make_signal(float *x, int n)
{
    uint32_t st = 12345;
    for (int i = 0; i < n; i++) {
        st = st * 1664525u + 1013904223u;
        const double noise = (double)(st >> 8) / 16777216.0 * 2.0 - 1.0;
        double v = 0.3 * sin(2 * M_PI * 440.0 * i / 16000.0) +
                   0.1 * sin(2 * M_PI * (1000.0 + 2000.0 * i / n) * i / 16000.0) + 0.05 * noise;
        if (i >= 8000 && i < 10000) v = 0.0;
        if (i >= 16000 && i < 17000) v *= 3.0;
        x[i] = (float)v;
    }
}

static ClvStatus embed_blocks(ClvEmbedder *e, int rate, const float *x, int n, int block,
                              float *out)
{
    ClvStatus st = clv_embed_begin(e, rate);
    for (int i = 0; st == CLV_OK && i < n; i += block)
        st = clv_embed_feed(e, x + i, n - i < block ? n - i : block);
    if (st == CLV_OK) st = clv_embed_end(e, out);
    return st;
}

static double max_err(const float *a, const float *b, int n)
{
    double m = 0.0;
    for (int i = 0; i < n; i++) {
        const double d = fabs((double)a[i] - b[i]);
        if (!(d <= m)) m = d; /* NaN propagates */
    }
    return m;
}

static double dot(const float *a, const float *b, int n)
{
    double s = 0.0;
    for (int i = 0; i < n; i++) s += (double)a[i] * b[i];
    return s;
}

/* ------------------------------------------------------------ embedding --- */

static void test_golden(const char *model)
{
    ClvEmbedder *e = NULL;
    ClvStatus st = clv_embed_new(model, NULL, &e);
    CHECK(st == CLV_OK, "load %s: %s", model, clv_strerror(st));
    if (st != CLV_OK) return;
    CHECK(strcmp(clv_embed_arch(e), "cleave-embed-cnn") == 0, "arch %s", clv_embed_arch(e));
    CHECK(clv_embed_dim(e) == EMBED_GOLDEN_DIM, "dim %d vs golden %d", clv_embed_dim(e),
          EMBED_GOLDEN_DIM);
    if (clv_embed_dim(e) != EMBED_GOLDEN_DIM) {
        clv_embed_free(e);
        return;
    }
    const int D = EMBED_GOLDEN_DIM;
    float emb[EMBED_GOLDEN_DIM], emb2[EMBED_GOLDEN_DIM];
    for (int c = 0; c < EMBED_GOLDEN_CASES; c++) {
        const int n = embed_golden_n[c];
        float *x = malloc(sizeof(float) * (size_t)n);
        make_signal(x, n);
        static const int blocks[] = {1, 7, 64, 4096, 1 << 20};
        for (int b = 0; b < 5; b++) {
            if (blocks[b] == 1 && n > 100000) continue; /* slow and covered by the short case */
            st = embed_blocks(e, 16000, x, n, blocks[b], emb);
            CHECK(st == CLV_OK, "embed: %s", clv_strerror(st));
            const double err = max_err(emb, embed_golden + (size_t)c * D, D);
            CHECK(err < 2e-4, "case %d (%d samples), block %d: max error %.3g vs PyTorch", c, n,
                  blocks[b], err);
        }
        double norm = sqrt(dot(emb, emb, D));
        CHECK(fabs(norm - 1.0) < 1e-5, "embedding norm %.7f", norm);
        int frames = 0;
        const float *mf = clv_embed_mfcc(e, &frames);
        const int expect = n / 320 < CLV_EMBED_MFCC_MAX_FRAMES ? n / 320 : CLV_EMBED_MFCC_MAX_FRAMES;
        CHECK(frames == expect, "case %d: %d MFCC frames, expected %d", c, frames, expect);
        CHECK(clv_embed_frames(e) == n / 320, "case %d: %lld mel frames", c,
              (long long)clv_embed_frames(e));
        if (c == 0) {
            const double merr = max_err(mf, embed_golden_mfcc,
                                        EMBED_GOLDEN_MFCC_FRAMES * EMBED_GOLDEN_MFCC_DIM);
            CHECK(merr < 2e-3, "MFCC max error %.3g vs scipy", merr);
        }
        /* Other host rates: the same sound resampled gives nearly the same embedding. */
        static const int rates[] = {44100, 22050, 8000};
        for (int r = 0; r < 3; r++) {
            float *y = NULL;
            size_t ny = 0;
            st = clv_resample_buffer(16000, rates[r], 1, x, (size_t)n, &y, &ny);
            CHECK(st == CLV_OK, "resample");
            if (st != CLV_OK) continue;
            st = embed_blocks(e, rates[r], y, (int)ny, 1000, emb2);
            CHECK(st == CLV_OK, "embed at %d Hz", rates[r]);
            const double cs = dot(emb, emb2, D);
            /* 8 kHz loses the noise and the chirp above 4 kHz: only roughly the same */
            CHECK(cs > (rates[r] == 8000 ? 0.5 : 0.995), "case %d at %d Hz: cosine %.4f to 16 kHz",
                  c, rates[r], cs);
            free(y);
        }
        free(x);
    }
    /* Bad input: non-finite samples count as silence; an empty clip embeds silence. */
    float bad[4000];
    for (int i = 0; i < 4000; i++) bad[i] = i % 3 ? NAN : INFINITY;
    st = embed_blocks(e, 16000, bad, 4000, 512, emb);
    CHECK(st == CLV_OK, "NaN input: %s", clv_strerror(st));
    for (int i = 0; i < D; i++) CHECK(isfinite(emb[i]), "NaN input gave a non-finite value");
    float zero[4000] = {0};
    st = embed_blocks(e, 16000, zero, 4000, 4000, emb2);
    CHECK(st == CLV_OK && max_err(emb, emb2, D) < 1e-6, "NaN input differs from silence");
    st = embed_blocks(e, 16000, zero, 0, 1, emb2);
    CHECK(st == CLV_OK, "empty clip: %s", clv_strerror(st));
    CHECK(clv_embed_begin(e, 7000) == CLV_ERR_UNSUPPORTED, "7 kHz accepted");
    CHECK(clv_embed_feed(e, zero, 10) == CLV_ERR_STATE, "feed before begin accepted");
    CHECK(clv_embed_end(e, emb) == CLV_ERR_STATE, "end before begin accepted");
    clv_embed_free(e);
}

/* The tagger file as an embedder: its pooled features through the tagger's own
 * classifier reproduce the C tagger's scores for the same window. */
static void test_tagger_consistency(const char *tagger_path)
{
    ClvEmbedder *e = NULL;
    ClvTagger *t = NULL;
    ClvClvm *m = NULL;
    if (clv_embed_new(tagger_path, NULL, &e) != CLV_OK || clv_tagger_new(tagger_path, 16000, NULL, &t) != CLV_OK ||
        clv_clvm_load(tagger_path, NULL, &m) != CLV_OK) {
        CHECK(0, "cannot load %s", tagger_path);
        goto out;
    }
    CHECK(strcmp(clv_embed_arch(e), "cleave-tagger-cnn") == 0, "arch %s", clv_embed_arch(e));
    const int W = clv_tagger_window_frames(t), F = clv_tagger_bands(t), D = clv_embed_dim(e);
    const int L = clv_tagger_label_count(t);
    CHECK(W == clv_embed_window_frames(e) && F == clv_embed_bands(e), "shapes differ");
    ClvLinear fc;
    if (clv_nn_bind_linear(m, "fc", D, L, &fc) != CLV_OK) {
        CHECK(0, "fc");
        goto out;
    }
    float *frames = malloc(sizeof(float) * (size_t)W * F);
    float *emb = malloc(sizeof(float) * (size_t)D), *pooled = malloc(sizeof(float) * (size_t)D);
    float scores[CLV_TAG_MAX_LABELS], logits[CLV_TAG_MAX_LABELS];
    uint32_t s = 99;
    for (int i = 0; i < W * F; i++) {
        s = s * 1664525u + 1013904223u;
        frames[i] = -9.0f + 6.0f * (float)(s >> 8) / 16777216.0f;
    }
    clv_tagger_run_window(t, frames, scores);
    CHECK(clv_embed_run_frames(e, frames, W, emb, pooled) == CLV_OK, "run_frames");
    clv_linear(&fc, pooled, 1, logits);
    for (int l = 0; l < L; l++) logits[l] = 1.0f / (1.0f + expf(-logits[l]));
    const double err = max_err(logits, scores, L);
    CHECK(err < 1e-5, "tagger via embedder pooled features: max score error %.3g", err);
    CHECK(fabs(sqrt(dot(emb, emb, D)) - 1.0) < 1e-5, "tagger embedding not normalised");
    /* A short clip is centred in floor padding: the same as padding it by hand. */
    const int n = W / 3, off = (W - n) / 2;
    float *padded = malloc(sizeof(float) * (size_t)W * F);
    float *emb2 = malloc(sizeof(float) * (size_t)D);
    for (int j = 0; j < W; j++)
        for (int f = 0; f < F; f++)
            padded[(size_t)j * F + f] = j >= off && j < off + n ? frames[(size_t)(j - off) * F + f]
                                                                 : logf(1e-6f);
    clv_embed_run_frames(e, frames, n, emb, NULL);
    clv_embed_run_frames(e, padded, W, emb2, NULL);
    CHECK(max_err(emb, emb2, D) < 1e-5, "short clip padding differs: %.3g", max_err(emb, emb2, D));
    CHECK(clv_embed_run_frames(e, frames, 0, emb, NULL) == CLV_ERR_INVALID, "0 frames accepted");
    CHECK(clv_embed_run_frames(e, frames, CLV_EMBED_MAX_FRAMES + 1, emb, NULL) == CLV_ERR_INVALID,
          "too many frames accepted");
    free(frames);
    free(emb);
    free(pooled);
    free(padded);
    free(emb2);
out:
    clv_clvm_free(m);
    clv_tagger_free(t);
    clv_embed_free(e);
}

static void test_bad_models(void)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/not_a_model.clvm", scratch);
    FILE *f = fopen(path, "wb");
    if (f) {
        fputs("this is not a model", f);
        fclose(f);
    }
    ClvEmbedder *e = (ClvEmbedder *)1;
    CHECK(clv_embed_new(path, NULL, &e) != CLV_OK && e == NULL, "garbage model accepted");
    snprintf(path, sizeof path, "%s/missing.clvm", scratch);
    CHECK(clv_embed_new(path, NULL, &e) != CLV_OK, "missing model accepted");
    CHECK(clv_embed_new(NULL, NULL, &e) == CLV_ERR_INVALID, "NULL path");
    clv_embed_free(NULL);
}

/* ---------------------------------------------------------------- index --- */

#define TD 8
#define TM 3

static ClvIndex *small_index(int n, uint32_t crc)
{
    ClvIndexModel im = {TD, TM, crc, 1234, "/models/x.clvm", "/lib"};
    ClvIndex *ix = NULL;
    if (clv_index_new(&im, &ix) != CLV_OK) return NULL;
    for (int r = 0; r < n; r++) {
        float e[TD], m[TM * 40];
        double s = 0;
        for (int i = 0; i < TD; i++) {
            e[i] = (float)sin(r * 1.3 + i * 0.7);
            s += e[i] * e[i];
        }
        for (int i = 0; i < TD; i++) e[i] /= (float)sqrt(s);
        const int frames = r % 5 == 4 ? 0 : 10 + r % 30;
        for (int i = 0; i < frames * TM; i++) m[i] = (float)(r + 0.01 * i);
        char p[64];
        snprintf(p, sizeof p, "/lib/file%03d.wav", (r * 37) % n); /* not in sorted order */
        if (clv_index_add(ix, p, 1000 + r, 1700000000 + r, r * 1000, e, m, frames) != CLV_OK) {
            clv_index_free(ix);
            return NULL;
        }
    }
    return ix;
}

static long file_size(const char *p)
{
    struct stat sb;
    return stat(p, &sb) == 0 ? (long)sb.st_size : -1;
}

static unsigned char *slurp(const char *p, long *n)
{
    *n = file_size(p);
    if (*n < 0) return NULL;
    unsigned char *b = malloc((size_t)*n + 1);
    FILE *f = fopen(p, "rb");
    if (!f || fread(b, 1, (size_t)*n, f) != (size_t)*n) {
        if (f) fclose(f);
        free(b);
        return NULL;
    }
    fclose(f);
    return b;
}

static void spit(const char *p, const unsigned char *b, long n)
{
    FILE *f = fopen(p, "wb");
    if (!f) return;
    fwrite(b, 1, (size_t)n, f);
    fclose(f);
}

static void put32le(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i));
}

static void test_index_file(void)
{
    char path[1024], bad[1100];
    snprintf(path, sizeof path, "%s/t.idx", scratch);
    snprintf(bad, sizeof bad, "%s/bad.idx", scratch);
    const int N = 57;
    ClvIndex *ix = small_index(N, 0xabcdef01u);
    CHECK(ix != NULL, "build");
    if (!ix) return;
    CHECK(clv_index_count(ix) == N, "count %d", clv_index_count(ix));
    CHECK(clv_index_find(ix, "/lib/file010.wav") >= 0, "find");
    CHECK(clv_index_find(ix, "/lib/nope.wav") == -1, "find missing");
    /* replacing a path keeps the count */
    float e[TD] = {1, 0, 0, 0, 0, 0, 0, 0};
    CHECK(clv_index_add(ix, "/lib/file010.wav", 5, 6, 7, e, NULL, 0) == CLV_OK, "replace");
    CHECK(clv_index_count(ix) == N, "replace changed the count");
    float nan_e[TD] = {NAN, 0, 0, 0, 0, 0, 0, 0};
    CHECK(clv_index_add(ix, "/lib/nan.wav", 1, 1, 1, nan_e, NULL, 0) == CLV_ERR_INVALID,
          "non-finite embedding accepted");
    CHECK(clv_index_add(ix, "", 1, 1, 1, e, NULL, 0) == CLV_ERR_INVALID, "empty path accepted");
    CHECK(clv_index_add(ix, "/x", 1, 1, 1000000000, e, NULL, 0) == CLV_ERR_INVALID,
          "bad nanoseconds accepted");
    CHECK(clv_index_save(ix, path, NULL) == CLV_OK, "save");

    ClvIndex *ld = NULL;
    ClvStatus st = clv_index_load(path, 1, NULL, &ld);
    CHECK(st == CLV_OK, "load: %s", clv_strerror(st));
    if (st == CLV_OK) {
        const ClvIndexModel *m = clv_index_model(ld);
        CHECK(m->embed_dim == TD && m->mfcc_dim == TM && m->model_crc == 0xabcdef01u &&
              m->model_size == 1234 && strcmp(m->model_path, "/models/x.clvm") == 0 &&
              strcmp(m->root, "/lib") == 0, "model fields");
        CHECK(clv_index_count(ld) == N, "loaded %d records", clv_index_count(ld));
        const char *prev = "";
        float mf_a[TM * 64], mf_b[TM * 64];
        for (int i = 0; i < clv_index_count(ld); i++) {
            ClvIndexRecord a, b;
            clv_index_record(ld, i, &a);
            CHECK(strcmp(prev, a.path) < 0, "records not sorted by path at %d", i);
            prev = a.path;
            const int j = clv_index_find(ix, a.path);
            CHECK(j >= 0, "%s lost", a.path);
            if (j < 0) continue;
            clv_index_record(ix, j, &b);
            CHECK(a.size == b.size && a.mtime_sec == b.mtime_sec && a.mtime_nsec == b.mtime_nsec,
                  "%s: size/time differ", a.path);
            CHECK(max_err(a.embedding, b.embedding, TD) == 0.0, "%s: embedding differs", a.path);
            CHECK(a.mfcc_frames == b.mfcc_frames, "%s: %d vs %d MFCC frames", a.path,
                  a.mfcc_frames, b.mfcc_frames);
            const int na = clv_index_mfcc(ld, i, mf_a, 64), nb = clv_index_mfcc(ix, j, mf_b, 64);
            CHECK(na == nb, "mfcc frames");
            for (int q = 0; q < na * TM; q++)
                CHECK(fabsf(mf_a[q] - mf_b[q]) <= 1e-3f * fabsf(mf_b[q]) + 1e-4f,
                      "%s: MFCC %g stored as %g (float16)", a.path, mf_b[q], mf_a[q]);
        }
        clv_index_free(ld);
    }
    /* Without MFCC: records and embeddings only, DTW refused. */
    st = clv_index_load(path, 0, NULL, &ld);
    CHECK(st == CLV_OK && !clv_index_has_mfcc(ld), "load without MFCC");
    if (st == CLV_OK) {
        ClvIndexHit h[4];
        int n = 0;
        float q[TM * 4] = {0};
        CHECK(clv_index_search_dtw(ld, q, 4, 0.1, 4, h, &n) == CLV_ERR_STATE, "DTW without MFCC");
        clv_index_free(ld);
    }
    uint32_t ver = 0;
    CHECK(clv_index_probe(path, &ver) == CLV_OK && ver == CLV_INDEX_VERSION, "probe");

    /* The defensive reader. */
    long n = 0;
    unsigned char *img = slurp(path, &n);
    CHECK(img != NULL, "read back");
    if (img) {
        /* the checksums are standard CRC-32s (clv_crc32, zlib.crc32) */
        uint32_t stored = 0, sec_crc = 0;
        uint64_t rec_off = 0, rec_len = 0;
        for (int i = 3; i >= 0; i--) stored = stored << 8 | img[124 + i];
        for (int i = 7; i >= 0; i--) rec_off = rec_off << 8 | img[48 + i];
        for (int i = 7; i >= 0; i--) rec_len = rec_len << 8 | img[56 + i];
        for (int i = 3; i >= 0; i--) sec_crc = sec_crc << 8 | img[96 + i];
        CHECK(stored == clv_crc32(0, img, 124), "header CRC is not CRC-32");
        CHECK(rec_off + rec_len <= (uint64_t)n && sec_crc == clv_crc32(0, img + rec_off, rec_len),
              "records CRC is not CRC-32");
        unsigned char *b = malloc((size_t)n);
        /* every single-byte corruption is caught (checksum or format), never crashes */
        int missed = 0;
        for (long off = 0; off < n; off += (off < 256 ? 1 : 97)) {
            memcpy(b, img, (size_t)n);
            b[off] ^= 0x5a;
            spit(bad, b, n);
            st = clv_index_load(bad, 1, NULL, &ld);
            if (st == CLV_OK) {
                missed++;
                clv_index_free(ld);
            }
        }
        CHECK(missed == 0, "%d corrupted images loaded", missed);
        /* truncation anywhere */
        for (long len = 0; len < n; len += (len < 200 ? 7 : 331)) {
            spit(bad, img, len);
            st = clv_index_load(bad, 1, NULL, &ld);
            CHECK(st == CLV_ERR_FORMAT || st == CLV_ERR_CHECKSUM, "truncated to %ld: %s", len,
                  clv_strerror(st));
            if (st == CLV_OK) clv_index_free(ld);
        }
        /* another version: refused before anything else is trusted */
        memcpy(b, img, (size_t)n);
        put32le(b + 8, CLV_INDEX_VERSION + 1);
        spit(bad, b, n);
        CHECK(clv_index_load(bad, 0, NULL, &ld) == CLV_ERR_UNSUPPORTED, "other version loaded");
        CHECK(clv_index_probe(bad, &ver) == CLV_ERR_UNSUPPORTED && ver == CLV_INDEX_VERSION + 1,
              "probe of another version");
        /* a huge record count with a valid header checksum: rejected, no huge allocation */
        memcpy(b, img, (size_t)n);
        put32le(b + 24, 9000000);
        put32le(b + 124, clv_crc32(0, b, 124));
        spit(bad, b, n);
        CHECK(clv_index_load(bad, 1, NULL, &ld) == CLV_ERR_FORMAT, "absurd count accepted");
        /* sections pointing past the end */
        memcpy(b, img, (size_t)n);
        put32le(b + 72, 0x7fffffff);
        put32le(b + 124, clv_crc32(0, b, 124));
        spit(bad, b, n);
        CHECK(clv_index_load(bad, 1, NULL, &ld) == CLV_ERR_FORMAT, "oversized section accepted");
        free(b);
        free(img);
    }
    spit(bad, (const unsigned char *)"RIFF1234WAVEfmt ", 16);
    CHECK(clv_index_load(bad, 1, NULL, &ld) == CLV_ERR_FORMAT, "a WAV file loaded as an index");
    CHECK(clv_index_probe(bad, &ver) == CLV_ERR_FORMAT, "probe of a non-index");
    snprintf(bad, sizeof bad, "%s/missing.idx", scratch);
    CHECK(clv_index_load(bad, 1, NULL, &ld) == CLV_ERR_NOT_FOUND, "missing index");
    CHECK(clv_index_probe(bad, &ver) == CLV_ERR_NOT_FOUND, "probe of a missing index");

    /* An empty index is valid. */
    ClvIndexModel im = {TD, TM, 1, 2, "m", "r"};
    ClvIndex *empty = NULL;
    clv_index_new(&im, &empty);
    CHECK(clv_index_save(empty, path, NULL) == CLV_OK, "save empty");
    clv_index_free(empty);
    st = clv_index_load(path, 1, NULL, &ld);
    CHECK(st == CLV_OK && clv_index_count(ld) == 0, "load empty");
    if (st == CLV_OK) {
        ClvIndexHit h[2];
        int k = -1;
        CHECK(clv_index_search_cosine(ld, e, 2, h, &k) == CLV_OK && k == 0, "search empty");
        clv_index_free(ld);
    }
    /* Saving into a missing directory fails cleanly. */
    snprintf(bad, sizeof bad, "%s/no/such/dir/x.idx", scratch);
    CHECK(clv_index_save(ix, bad, NULL) == CLV_ERR_IO, "save into a missing directory");
    clv_index_free(ix);
}

/* Straightforward full-matrix DTW with the same band rule, in double. */
static double dtw_ref(const float *a, int n, const float *b, int m, int dim, double band)
{
    const int longer = n > m ? n : m, shorter = n < m ? n : m;
    int r = (int)ceil(band * longer);
    const int min_r = (longer + shorter - 1) / shorter + 1;
    if (r < min_r) r = min_r;
    double *D = malloc(sizeof(double) * (size_t)n * m);
    const double slope = n > 1 ? (double)(m - 1) / (n - 1) : 0.0;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < m; j++) {
            const double c = i * slope;
            int inside = j >= ceil(c - r) && j <= floor(c + r);
            if (i == n - 1 && j >= ceil(c - r)) inside = 1;
            double d = 0;
            for (int q = 0; q < dim; q++) {
                const double t = (double)a[i * dim + q] - b[j * dim + q];
                d += t * t;
            }
            d = sqrt(d);
            double best = (i == 0 && j == 0) ? 0.0 : INFINITY;
            if (i > 0 && D[(i - 1) * m + j] < best) best = D[(i - 1) * m + j];
            if (j > 0 && D[i * m + j - 1] < best) best = D[i * m + j - 1];
            if (i > 0 && j > 0 && D[(i - 1) * m + j - 1] < best) best = D[(i - 1) * m + j - 1];
            D[i * m + j] = inside ? d + best : INFINITY;
        }
    const double out = D[(size_t)n * m - 1] / (n + m);
    free(D);
    return out;
}

static void test_dtw(void)
{
    enum { DIM = 5, MAXN = 90 };
    float a[MAXN * DIM], b[MAXN * DIM], scratch_buf[2 * (MAXN + 1)];
    uint32_t s = 7;
    int bad = 0;
    for (int trial = 0; trial < 60; trial++) {
        s = s * 1664525u + 1013904223u;
        const int n = 1 + (int)(s >> 8) % MAXN;
        s = s * 1664525u + 1013904223u;
        const int m = 1 + (int)(s >> 8) % MAXN;
        for (int i = 0; i < MAXN * DIM; i++) {
            s = s * 1664525u + 1013904223u;
            a[i] = (float)(s >> 8) / 16777216.0f;
            s = s * 1664525u + 1013904223u;
            b[i] = (float)(s >> 8) / 16777216.0f;
        }
        const double band = trial % 3 == 0 ? 1.0 : (trial % 3 == 1 ? 0.1 : 0.3);
        const double got = clv_index_dtw(a, n, b, m, DIM, band, scratch_buf);
        const double ref = dtw_ref(a, n, b, m, DIM, band);
        if (!(fabs(got - ref) <= 1e-4 * (1 + fabs(ref)))) {
            if (bad++ < 5) fprintf(stderr, "dtw n %d m %d band %.1f: %g vs reference %g\n", n, m, band, got, ref);
        }
    }
    CHECK(bad == 0, "%d DTW results differ from the reference", bad);
    /* identity and time stretching */
    float x[40 * DIM], y[80 * DIM];
    for (int i = 0; i < 40; i++)
        for (int q = 0; q < DIM; q++) x[i * DIM + q] = (float)sin(i * 0.3 + q);
    for (int i = 0; i < 80; i++)
        for (int q = 0; q < DIM; q++) y[i * DIM + q] = x[(i / 2) * DIM + q];
    CHECK(clv_index_dtw(x, 40, x, 40, DIM, 0.1, scratch_buf) == 0.0, "self distance not 0");
    float yb[2 * 81];
    CHECK(clv_index_dtw(x, 40, y, 80, DIM, 0.1, yb) < 1e-6, "a stretched copy is not at 0");
    CHECK(isinf(clv_index_dtw(x, 0, y, 80, DIM, 0.1, yb)), "empty sequence not infinite");
}

static void test_search(void)
{
    ClvIndex *ix = small_index(40, 1);
    if (!ix) {
        CHECK(0, "build");
        return;
    }
    ClvIndexRecord r7;
    clv_index_record(ix, 7, &r7);
    float q[TD];
    memcpy(q, r7.embedding, sizeof q);
    ClvIndexHit h[40];
    int n = 0;
    CHECK(clv_index_search_cosine(ix, q, 10, h, &n) == CLV_OK && n == 10, "k = 10 gave %d", n);
    CHECK(h[0].record == 7 && fabsf(h[0].score - 1.0f) < 1e-5f, "self not first (%d %.4f)",
          h[0].record, h[0].score);
    for (int i = 1; i < n; i++) CHECK(h[i].score <= h[i - 1].score, "not sorted at %d", i);
    CHECK(clv_index_search_cosine(ix, q, 1000, h, &n) == CLV_OK && n == 40, "k > count gave %d", n);
    CHECK(clv_index_search_cosine(ix, q, 0, h, &n) == CLV_ERR_INVALID, "k = 0 accepted");
    float mq[TM * 40];
    const int frames = clv_index_mfcc(ix, 7, mq, 40);
    CHECK(frames > 0, "record 7 has MFCC");
    CHECK(clv_index_search_dtw(ix, mq, frames, 0.1, 40, h, &n) == CLV_OK && n == 40, "dtw");
    CHECK(h[0].record == 7 && fabsf(h[0].score) < 1e-6f, "dtw self not first (%d %.4f)",
          h[0].record, h[0].score);
    for (int i = 1; i < n; i++) CHECK(h[i].score <= h[i - 1].score, "dtw not sorted at %d", i);
    /* records without MFCC (every fifth) come last */
    ClvIndexRecord last;
    clv_index_record(ix, h[n - 1].record, &last);
    CHECK(last.mfcc_frames == 0, "a record without MFCC is not last");
    clv_index_free(ix);
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: test_similar TEST_EMBED.clvm TAGGER.clvm SCRATCH_DIR\n");
        return 1;
    }
    scratch = argv[3];
    mkdir(scratch, 0777);
    test_golden(argv[1]);
    test_tagger_consistency(argv[2]);
    test_bad_models();
    test_index_file();
    test_dtw();
    test_search();
    TEST_DONE();
}
