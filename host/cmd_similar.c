/* SPDX-License-Identifier: ISC */
/* `cleave similar QUERY --index INDEX [-k N] [--json] [--method embed|dtw]`:
 * ranks the files of an index (cleave index) by their similarity to QUERY.
 *
 * embed (default): the query's embedding, from the model the index was built
 * with, against every stored embedding by cosine similarity. dtw: the baseline,
 * dynamic time warping between MFCC sequences with a Sakoe-Chiba band. The
 * model is the one recorded in the index unless --model names another file;
 * either way it must be byte-identical to the one that built the index, so
 * embeddings of different models are never compared. Output, best first: one
 * line "SCORE  PATH" per file, or with --json one {"path": ..., "score": ...}
 * object per line. */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clv_audiofile.h"
#include "clv_cli.h"
#include "clv_embed.h"
#include "clv_index.h"

#define SIM_BLOCK 4096

static void json_string(const char *s)
{
    putchar('"');
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\') printf("\\%c", *p);
        else if (*p < 0x20 || *p == 0x7f) printf("\\u%04x", *p);
        else putchar(*p);
    }
    putchar('"');
}

static void similar_help(FILE *f)
{
    fprintf(f,
            "Usage: cleave similar QUERY --index INDEX [-k N] [--json] [--method embed|dtw]\n"
            "                      [--band FRACTION] [--model FILE]\n"
            "\n"
            "Ranks the files of INDEX (made by 'cleave index') by their similarity to the\n"
            "audio file QUERY and prints the best N, best first: one line 'SCORE  PATH' each,\n"
            "or with --json one {\"path\": \"...\", \"score\": <number>} object per line.\n"
            "\n"
            "  --index INDEX     the index to search\n"
            "  -k N              how many files to print, 1..1000000 (default 20)\n"
            "  --json            JSON lines instead of text\n"
            "  --method M        embed: cosine similarity of the embeddings (default; the\n"
            "                    score is -1..1); dtw: dynamic time warping of MFCC\n"
            "                    sequences (the baseline; the score is minus the mean\n"
            "                    warping cost, so higher is still more similar)\n"
            "  --band FRACTION   dtw: Sakoe-Chiba band, a fraction of the longer sequence\n"
            "                    (0.01..1, default 0.1)\n"
            "  --model FILE      the model file the index was built with, when it has moved\n"
            "                    (default: the path recorded in the index)\n");
}

int clv_cmd_similar(int argc, char **argv)
{
    if (clv_cli_wants_help(argc, argv)) {
        similar_help(stdout);
        return CLV_EXIT_OK;
    }
    static const struct option opts[] = {
        {"index", required_argument, NULL, 'i'},
        {"json", no_argument, NULL, 'j'},
        {"method", required_argument, NULL, 'M'},
        {"band", required_argument, NULL, 'b'},
        {"model", required_argument, NULL, 'm'},
        {NULL, 0, NULL, 0},
    };
    const char *index_path = NULL, *model = NULL;
    int json = 0, dtw = 0;
    long k = 20;
    double band = 0.1;
    optind = 1;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":k:", opts, NULL)) != -1) {
        switch (c) {
        case 'i': index_path = optarg; break;
        case 'j': json = 1; break;
        case 'm': model = optarg; break;
        case 'k':
            if (clv_cli_parse_int(optarg, 1, 1000000, &k) != 0)
                return clv_cli_usage_error("similar", "-k takes a whole number from 1 to 1000000, "
                                           "not '%s'", optarg);
            break;
        case 'b':
            if (clv_cli_parse_double(optarg, 0.01, 1.0, &band) != 0)
                return clv_cli_usage_error("similar", "--band takes a number from 0.01 to 1, "
                                           "not '%s'", optarg);
            break;
        case 'M':
            if (strcmp(optarg, "embed") == 0) dtw = 0;
            else if (strcmp(optarg, "dtw") == 0) dtw = 1;
            else return clv_cli_usage_error("similar", "--method is 'embed' or 'dtw', not '%s'",
                                            optarg);
            break;
        case ':':
            return clv_cli_usage_error("similar", "option '%s' needs a value", argv[optind - 1]);
        default:
            return clv_cli_usage_error("similar", "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind >= argc) return clv_cli_usage_error("similar", "no QUERY file given");
    if (optind + 1 < argc)
        return clv_cli_usage_error("similar", "unexpected argument '%s'", argv[optind + 1]);
    if (!index_path) return clv_cli_usage_error("similar", "no index given (--index INDEX)");
    const char *query = argv[optind];

    ClvLog log = clv_cli_log();
    ClvIndex *ix = NULL;
    if (clv_index_load(index_path, dtw, &log, &ix) != CLV_OK) return CLV_EXIT_FAIL;
    const ClvIndexModel *im = clv_index_model(ix);
    if (!model) model = im->model_path;
    ClvEmbedder *em = NULL;
    ClvAudioReader *rd = NULL;
    float *buf = NULL, *mono = NULL, *emb = NULL;
    ClvIndexHit *hits = NULL;
    int rc = CLV_EXIT_FAIL;
    ClvStatus st = clv_embed_new(model, &log, &em);
    if (st != CLV_OK) {
        clv_cli_error("%s: the model this index was built with (%s) cannot be loaded; pass it "
                      "with --model or rebuild the index with 'cleave index'", index_path, model);
        goto out;
    }
    uint32_t model_crc = 0;
    uint64_t model_size = 0;
    if (clv_index_file_identity(model, &log, &model_crc, &model_size) != CLV_OK) goto out;
    if (model_crc != im->model_crc || model_size != im->model_size ||
        clv_embed_dim(em) != im->embed_dim || (dtw && im->mfcc_dim != CLV_EMBED_MFCC_DIM)) {
        clv_cli_error("%s: was built with another model (CRC %08x, %d values) than %s (CRC %08x, "
                      "%d values); rebuild it with 'cleave index' or pass the right --model",
                      index_path, im->model_crc, im->embed_dim, model, model_crc,
                      clv_embed_dim(em));
        goto out;
    }
    ClvAudioInfo info;
    if (clv_audio_reader_open(query, &log, &rd, &info) != CLV_OK) {
        if (!clv_cli_errors_printed()) clv_cli_error("%s: cannot read this file", query);
        goto out;
    }
    buf = malloc(sizeof(float) * SIM_BLOCK * (size_t)info.channels);
    mono = malloc(sizeof(float) * SIM_BLOCK);
    emb = malloc(sizeof(float) * (size_t)clv_embed_dim(em));
    const int count = clv_index_count(ix);
    const int want = (int)(k < count ? k : count);
    hits = malloc(sizeof *hits * (size_t)(want > 0 ? want : 1));
    if (!buf || !mono || !emb || !hits) {
        clv_cli_error("out of memory");
        goto out;
    }
    st = clv_embed_begin(em, info.sample_rate);
    while (st == CLV_OK) {
        int got = 0;
        st = clv_audio_reader_read(rd, buf, SIM_BLOCK, &got);
        if (st != CLV_OK || got == 0) break;
        for (int i = 0; i < got; i++) {
            float v = 0.0f;
            for (int ch = 0; ch < info.channels; ch++) v += buf[(size_t)i * info.channels + ch];
            mono[i] = v / (float)info.channels;
        }
        st = clv_embed_feed(em, mono, got);
    }
    if (st == CLV_OK) st = clv_embed_end(em, emb);
    if (st != CLV_OK) {
        if (!clv_cli_errors_printed()) clv_cli_error("%s: %s", query, clv_strerror(st));
        goto out;
    }
    if (count == 0) {
        clv_cli_warn("%s: the index holds no files", index_path);
        rc = CLV_EXIT_OK;
        goto out;
    }
    int n = 0;
    if (dtw) {
        int frames = 0;
        const float *mf = clv_embed_mfcc(em, &frames);
        st = clv_index_search_dtw(ix, mf, frames, band, want, hits, &n);
    } else {
        st = clv_index_search_cosine(ix, emb, want, hits, &n);
    }
    if (st != CLV_OK) {
        clv_cli_error("%s: search failed: %s", index_path, clv_strerror(st));
        goto out;
    }
    for (int i = 0; i < n; i++) {
        ClvIndexRecord rec;
        clv_index_record(ix, hits[i].record, &rec);
        /* -inf (DTW: a record without MFCC frames) is not valid JSON: print a floor. */
        char score[48];
        if (isfinite(hits[i].score)) snprintf(score, sizeof score, json ? "%.6f" : "%.4f", hits[i].score);
        else snprintf(score, sizeof score, "-1e30");
        if (json) {
            printf("{\"path\": ");
            json_string(rec.path);
            printf(", \"score\": %s}\n", score);
        } else {
            printf("%s  %s\n", score, rec.path);
        }
    }
    if (fflush(stdout) != 0) {
        clv_cli_error("cannot write the output");
        goto out;
    }
    rc = CLV_EXIT_OK;
out:
    free(buf);
    free(mono);
    free(emb);
    free(hits);
    clv_audio_reader_free(rd);
    clv_embed_free(em);
    clv_index_free(ix);
    return rc;
}
