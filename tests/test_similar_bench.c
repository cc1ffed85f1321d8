/* SPDX-License-Identifier: ISC */
/* Benchmark of query by example (meson benchmark 'similar_query'): the parts of
 * one `cleave similar` query, for a library the size of the shared us8k clips
 * (2148 files of 4 s) and a large one (100 000 files):
 *   - embedding one 4 s query clip (front end + CNN + head),
 *   - loading the index without its MFCC section,
 *   - cosine ranking of every record,
 *   - DTW ranking (the baseline) over 2148 MFCC sequences of 200 frames.
 * Prints milliseconds; asserts nothing about speed (no timed tests).
 *
 * argv[1]: the model (models/tagger.clvm: the shipped embedding is its penultimate
 * layer; or an embedding model file). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clv_embed.h"
#include "clv_index.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static uint32_t rng = 1;
static float frand(void)
{
    rng = rng * 1664525u + 1013904223u;
    return (float)(rng >> 8) / 16777216.0f * 2.0f - 1.0f;
}

static ClvIndex *random_index(int n, int D, int frames)
{
    ClvIndexModel im = {D, CLV_EMBED_MFCC_DIM, 1, 1, "model", "/lib"};
    ClvIndex *ix = NULL;
    if (clv_index_new(&im, &ix) != CLV_OK) return NULL;
    float *e = malloc(sizeof(float) * (size_t)D);
    float *m = malloc(sizeof(float) * (size_t)frames * CLV_EMBED_MFCC_DIM + 1);
    for (int r = 0; r < n; r++) {
        double s = 0;
        for (int i = 0; i < D; i++) {
            e[i] = frand();
            s += e[i] * e[i];
        }
        for (int i = 0; i < D; i++) e[i] /= (float)sqrt(s);
        for (int i = 0; i < frames * CLV_EMBED_MFCC_DIM; i++) m[i] = 10.0f * frand();
        char p[96];
        snprintf(p, sizeof p, "/lib/some/folder/of/sounds/clip-%07d.ogg", r);
        clv_index_add(ix, p, 64000, 1700000000, 0, e, m, frames);
    }
    free(e);
    free(m);
    return ix;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: test_similar_bench MODEL.clvm\n");
        return 1;
    }
    ClvEmbedder *em = NULL;
    if (clv_embed_new(argv[1], NULL, &em) != CLV_OK) {
        fprintf(stderr, "cannot load %s\n", argv[1]);
        return 1;
    }
    const int D = clv_embed_dim(em);
    enum { N_CLIP = 64000, RUNS = 20 };
    float *x = malloc(sizeof(float) * N_CLIP), *emb = malloc(sizeof(float) * (size_t)D);
    for (int i = 0; i < N_CLIP; i++) x[i] = 0.2f * frand() + 0.3f * sinf(i * 0.05f);
    double t = now();
    for (int r = 0; r < RUNS; r++) {
        clv_embed_begin(em, 16000);
        clv_embed_feed(em, x, N_CLIP);
        clv_embed_end(em, emb);
    }
    printf("embed one 4 s clip (16 kHz):            %8.2f ms\n", (now() - t) / RUNS * 1e3);
    int qframes = 0;
    const float *qm = clv_embed_mfcc(em, &qframes);

    char path[] = "/tmp/cleave-bench-index-XXXXXX";
    const int fd = mkstemp(path);
    if (fd >= 0) close(fd);
    static const int sizes[2] = {2148, 100000};
    ClvIndexHit hits[20];
    int n = 0;
    for (int s = 0; s < 2; s++) {
        const int N = sizes[s];
        ClvIndex *ix = random_index(N, D, s == 0 ? 200 : 0);
        if (!ix || clv_index_save(ix, path, NULL) != CLV_OK) {
            fprintf(stderr, "cannot build/save the index\n");
            return 1;
        }
        clv_index_free(ix);
        ix = NULL;
        t = now();
        for (int r = 0; r < 5; r++) {
            clv_index_free(ix);
            ix = NULL;
            clv_index_load(path, 0, NULL, &ix);
        }
        printf("load index, %6d files (no MFCC):       %8.2f ms\n", N, (now() - t) / 5 * 1e3);
        t = now();
        for (int r = 0; r < RUNS; r++) clv_index_search_cosine(ix, emb, 20, hits, &n);
        printf("cosine ranking, %6d files:             %8.2f ms\n", N, (now() - t) / RUNS * 1e3);
        clv_index_free(ix);
        if (s == 0) {
            ix = NULL;
            t = now();
            clv_index_load(path, 1, NULL, &ix);
            printf("load index, %6d files (with MFCC):     %8.2f ms\n", N, (now() - t) * 1e3);
            t = now();
            clv_index_search_dtw(ix, qm, qframes, 0.1, 20, hits, &n);
            printf("DTW ranking, %6d files of 200 frames:  %8.2f ms\n", N, (now() - t) * 1e3);
            clv_index_free(ix);
        }
    }
    unlink(path);
    free(x);
    free(emb);
    clv_embed_free(em);
    return 0;
}
