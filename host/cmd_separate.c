/* SPDX-License-Identifier: ISC */
/* `cleave separate INPUT -o OUTDIR`: file in, two aligned stems out.
 *
 * The file goes through the same ClvEngine the plugin and live client use, at the
 * file's own rate, one block at a time (memory does not grow with the file). The
 * engine delays everything by clv_engine_latency() frames, so we drop that many
 * frames at the start and feed that many zeros at the end: the stems line up with
 * the input sample for sample and are exactly as long.
 *
 * Offline mode (default) has process() wait for the worker: deterministic.
 * Realtime mode is a rehearsal of a live run: blocks are fed at the pace of
 * real time (or `--speed` times faster) and the worker may miss; misses are
 * counted and reported. Feeding unpaced would make every hop a miss, because the
 * "audio thread" would then outrun any worker. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "clv_audiofile.h"
#include "clv_cli.h"

static volatile sig_atomic_t g_interrupted;

static void on_signal(int sig)
{
    (void)sig;
    g_interrupted = 1;
}

void clv_separate_job_defaults(ClvSeparateJob *job)
{
    memset(job, 0, sizeof *job);
    job->mode = CLV_ENGINE_OFFLINE;
    job->op = CLV_OP_QUALITY;
    job->spatial = CLV_SPATIAL_AUTO;
    job->speed = 1.0;
    job->block = 1024;
}

/* Creates outdir if it does not exist (one level). *created tells the caller to
 * remove it again if the job fails. */
static int prepare_outdir(const char *outdir, int *created)
{
    *created = 0;
    struct stat st;
    if (stat(outdir, &st) == 0) {
        if (!S_ISDIR(st.st_mode)) {
            clv_cli_error("%s: output path exists and is not a directory", outdir);
            return -1;
        }
        return 0;
    }
    if (errno != ENOENT) {
        clv_cli_error("%s: cannot use as output directory: %s", outdir, strerror(errno));
        return -1;
    }
    if (mkdir(outdir, 0777) != 0) {
        clv_cli_error("%s: cannot create output directory: %s", outdir, strerror(errno));
        return -1;
    }
    *created = 1;
    return 0;
}

static void sleep_until(double t)
{
    double now = clv_cli_now();
    if (t <= now) return;
    double d = t - now;
    struct timespec ts = { (time_t)d, (long)((d - (double)(time_t)d) * 1e9) };
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR && !g_interrupted) {
    }
}

int clv_separate_run(const ClvSeparateJob *job)
{
    ClvLog log = clv_cli_log();
    int rc = CLV_EXIT_FAIL;
    ClvAudioReader *rd = NULL;
    ClvAudioWriter *wv = NULL, *wa = NULL;
    ClvEngine *eng = NULL;
    float *mem = NULL;
    int outdir_created = 0;
    char vpath[PATH_MAX], apath[PATH_MAX];
    ClvProgress prog;
    memset(&prog, 0, sizeof prog);

    ClvAudioInfo info;
    if (clv_audio_reader_open(job->input, &log, &rd, &info) != CLV_OK) return CLV_EXIT_FAIL;

    /* "stems/" and "stems" name the same place; keep messages free of "//". */
    int dlen = (int)strlen(job->outdir);
    while (dlen > 1 && job->outdir[dlen - 1] == '/') dlen--;
    if (snprintf(vpath, sizeof vpath, "%.*s/vocals.wav", dlen, job->outdir) >= (int)sizeof vpath ||
        snprintf(apath, sizeof apath, "%.*s/accompaniment.wav", dlen, job->outdir) >= (int)sizeof apath) {
        clv_cli_error("%s: output path too long", job->outdir);
        goto done;
    }
    if (clv_audio_same_file(job->input, vpath) || clv_audio_same_file(job->input, apath)) {
        clv_cli_error("%s: the input is one of the output files; choose another output directory",
                      job->input);
        goto done;
    }
    if (prepare_outdir(job->outdir, &outdir_created) != 0) goto done;

    const char *model = job->model && *job->model ? job->model : clv_registry_default_separator();
    ClvSeparator *sep = NULL;
    const ClvSeparatorOptions so = {job->op, job->spatial};
    ClvStatus st = clv_separator_create_opts(model, info.sample_rate, info.channels, &so, &log, &sep);
    if (st != CLV_OK) {
        if (clv_cli_errors_printed() == 0) clv_cli_error("%s: %s", model, clv_strerror(st));
        goto done;
    }
    ClvEngineConfig cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.sample_rate = info.sample_rate;
    cfg.channels = info.channels;
    cfg.max_block = job->block;
    cfg.slack = 0;
    cfg.mode = job->mode;
    cfg.log = log;
    st = clv_engine_new(&cfg, sep, &eng); /* owns sep from here, also on failure */
    if (st != CLV_OK) {
        if (clv_cli_errors_printed() == 0)
            clv_cli_error("%s: cannot start the engine: %s", job->input, clv_strerror(st));
        goto done;
    }
    const int64_t latency = clv_engine_latency(eng);

    if (clv_audio_writer_open(vpath, info.sample_rate, info.channels, &log, &wv) != CLV_OK ||
        clv_audio_writer_open(apath, info.sample_rate, info.channels, &log, &wa) != CLV_OK)
        goto done;

    /* One allocation for every buffer: interleaved input, planar in/vocals/accomp,
     * interleaved vocals/accomp for the writers. */
    const int ch = info.channels, B = job->block;
    const size_t blk = (size_t)B * (size_t)ch;
    mem = calloc(6 * blk, sizeof *mem);
    if (!mem) {
        clv_cli_error("%s: out of memory", job->input);
        goto done;
    }
    float *ibuf = mem, *pin = mem + blk, *pvoc = mem + 2 * blk, *pacc = mem + 3 * blk;
    float *ivoc = mem + 4 * blk, *iacc = mem + 5 * blk;
    const float *in_ptrs[CLV_AUDIO_MAX_CHANNELS];
    float *voc_ptrs[CLV_AUDIO_MAX_CHANNELS], *acc_ptrs[CLV_AUDIO_MAX_CHANNELS];
    for (int c = 0; c < ch; c++) {
        in_ptrs[c] = pin + (size_t)c * B;
        voc_ptrs[c] = pvoc + (size_t)c * B;
        acc_ptrs[c] = pacc + (size_t)c * B;
    }

    struct sigaction sa, old_int, old_term;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    g_interrupted = 0;
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);

    const int paced = job->mode == CLV_ENGINE_REALTIME && job->speed > 0.0;
    const double frame_s = paced ? 1.0 / ((double)info.sample_rate * job->speed) : 0.0;
    int64_t fed = 0, skip = latency, written = 0, flush = latency;
    int eof = 0, failed = 0;
    clv_progress_begin(&prog, job->input, info.frames, info.sample_rate);
    const double t0 = clv_cli_now();
    while (!failed && (!eof || flush > 0)) {
        if (g_interrupted) {
            clv_progress_end(&prog);
            clv_cli_error("%s: interrupted; no output written", job->input);
            failed = 1;
            rc = 130;
            break;
        }
        int n = 0;
        if (!eof) {
            if (clv_audio_reader_read(rd, ibuf, B, &n) != CLV_OK) {
                clv_progress_end(&prog);
                failed = 1;
                break;
            }
            if (n == 0) eof = 1;
        }
        if (eof) {
            /* Flush the engine's delay with silence. */
            n = flush < B ? (int)flush : B;
            memset(ibuf, 0, (size_t)n * (size_t)ch * sizeof *ibuf);
            flush -= n;
        }
        if (n == 0) continue;
        for (int i = 0; i < n; i++)
            for (int c = 0; c < ch; c++) pin[(size_t)c * B + i] = ibuf[(size_t)i * ch + c];

        if (paced) sleep_until(t0 + (double)fed * frame_s);
        clv_engine_process(eng, in_ptrs, voc_ptrs, acc_ptrs, NULL, n);
        fed += n;

        int start = skip < n ? (int)skip : n;
        skip -= start;
        int64_t keep = n - start;
        if (keep > info.frames - written) keep = info.frames - written;
        if (keep > 0) {
            for (int64_t i = 0; i < keep; i++)
                for (int c = 0; c < ch; c++) {
                    ivoc[(size_t)i * ch + c] = pvoc[(size_t)c * B + start + i];
                    iacc[(size_t)i * ch + c] = pacc[(size_t)c * B + start + i];
                }
            if (clv_audio_writer_write(wv, ivoc, keep) != CLV_OK ||
                clv_audio_writer_write(wa, iacc, keep) != CLV_OK) {
                clv_progress_end(&prog);
                failed = 1;
                break;
            }
            written += keep;
        }
        clv_progress_update(&prog, written);
    }
    clv_progress_end(&prog);
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    const double elapsed = clv_cli_now() - t0;
    if (failed) goto done;
    if (written != info.frames) {
        clv_cli_error("%s: internal error: wrote %lld of %lld frames", job->input,
                      (long long)written, (long long)info.frames);
        goto done;
    }

    /* Both files complete on disk before either takes its final name. */
    if (clv_audio_writer_finish(wv) != CLV_OK || clv_audio_writer_finish(wa) != CLV_OK ||
        clv_audio_writer_commit(wv) != CLV_OK || clv_audio_writer_commit(wa) != CLV_OK)
        goto done;
    rc = CLV_EXIT_OK;

    ClvEngineStats stats;
    clv_engine_get_stats(eng, &stats);
    int64_t replaced = clv_audio_reader_replaced(rd);
    if (replaced > 0)
        clv_cli_warn("%s: %lld samples were NaN, infinite or beyond +-%g and were replaced by 0",
                     job->input, (long long)replaced, (double)CLV_AUDIO_MAX_ABS);
    if (job->mode == CLV_ENGINE_REALTIME)
        fprintf(stderr, "cleave: realtime mode: %llu of %llu hops missed the deadline%s\n",
                (unsigned long long)stats.misses, (unsigned long long)stats.hops_done,
                stats.misses ? " (dry input went to the accompaniment there)" : "");
    if (!job->quiet) {
        double secs = (double)info.frames / info.sample_rate;
        printf("cleave: %s (%d Hz, %d ch, %.1f s) separated with %s in %.3f s (%.1fx real time); "
               "engine latency %lld frames, compensated\n",
               job->input, info.sample_rate, ch, secs, clv_engine_separator_name(eng), elapsed,
               elapsed > 0 ? secs / elapsed : 0.0, (long long)latency);
        printf("cleave: wrote %s and %s\n", vpath, apath);
        fflush(stdout);
    }

done:
    clv_audio_writer_free(wv); /* removes the temporary file unless committed */
    clv_audio_writer_free(wa);
    clv_engine_free(eng);
    clv_audio_reader_free(rd);
    free(mem);
    if (rc != CLV_EXIT_OK && outdir_created) rmdir(job->outdir); /* only if still empty */
    return rc;
}

static void separate_help(FILE *f)
{
    fprintf(f,
            "Usage: cleave separate INPUT -o OUTDIR [options]\n"
            "\n"
            "Splits INPUT (WAV, FLAC, Ogg, AIFF, ...; mono or stereo; 8 to 192 kHz) into\n"
            "OUTDIR/vocals.wav and OUTDIR/accompaniment.wav: 32-bit float WAV, same rate,\n"
            "channels and length as INPUT, time-aligned with it, summing to it.\n"
            "\n"
            "Options:\n"
            "  -o, --output DIR       output directory (created if missing)\n"
            "  -m, --model NAME|FILE  separator name (see 'cleave models') or .clvm file;\n"
            "                         default: %s\n"
            "      --mode MODE        offline (default): waits for the separator, deterministic;\n"
            "                         realtime: rehearses a live run, late hops fall back to\n"
            "                         the dry input and are counted\n"
            "      --speed X          realtime mode: feed X times faster than real time\n"
            "                         (default 1; 0 = as fast as possible)\n"
            "      --op POINT         quality (default) or low-latency\n"
            "      --spatial on|off   neural models, stereo input: sharpen the vocals by their\n"
            "                         place in the stereo image (default on; adds about 40 ms\n"
            "                         of latency at the quality point, 2-4 ms at low latency)\n"
            "      --block N          frames per engine call, 1..65536 (default 1024)\n"
            "  -q, --quiet            no summary lines\n"
            "  -h, --help             this help\n"
            "\n"
            "A progress bar is drawn on stderr when it is a terminal.\n"
            "Exit status: 0 done, 1 bad input or I/O error, 2 usage error.\n",
            clv_registry_default_separator());
}

int clv_cmd_separate(int argc, char **argv)
{
    if (clv_cli_wants_help(argc, argv)) {
        separate_help(stdout);
        return CLV_EXIT_OK;
    }
    ClvSeparateJob job;
    clv_separate_job_defaults(&job);
    enum { OPT_MODE = 256, OPT_SPEED, OPT_OP, OPT_BLOCK, OPT_SPATIAL };
    static const struct option opts[] = {
        {"output", required_argument, NULL, 'o'}, {"model", required_argument, NULL, 'm'},
        {"mode", required_argument, NULL, OPT_MODE}, {"speed", required_argument, NULL, OPT_SPEED},
        {"op", required_argument, NULL, OPT_OP},     {"block", required_argument, NULL, OPT_BLOCK},
        {"spatial", required_argument, NULL, OPT_SPATIAL},
        {"quiet", no_argument, NULL, 'q'},           {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    optind = 1;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":o:m:qh", opts, NULL)) != -1) {
        switch (c) {
        case 'o': job.outdir = optarg; break;
        case 'm': job.model = optarg; break;
        case 'q': job.quiet = 1; break;
        case OPT_MODE:
            if (strcmp(optarg, "offline") == 0) job.mode = CLV_ENGINE_OFFLINE;
            else if (strcmp(optarg, "realtime") == 0) job.mode = CLV_ENGINE_REALTIME;
            else return clv_cli_usage_error("separate", "--mode must be offline or realtime, not '%s'", optarg);
            break;
        case OPT_OP:
            if (strcmp(optarg, "quality") == 0) job.op = CLV_OP_QUALITY;
            else if (strcmp(optarg, "low-latency") == 0) job.op = CLV_OP_LOW_LATENCY;
            else return clv_cli_usage_error("separate", "--op must be quality or low-latency, not '%s'", optarg);
            break;
        case OPT_SPATIAL:
            if (strcmp(optarg, "on") == 0) job.spatial = CLV_SPATIAL_AUTO;
            else if (strcmp(optarg, "off") == 0) job.spatial = CLV_SPATIAL_OFF;
            else return clv_cli_usage_error("separate", "--spatial must be on or off, not '%s'", optarg);
            break;
        case OPT_SPEED:
            if (clv_cli_parse_double(optarg, 0.0, 1000.0, &job.speed) != 0)
                return clv_cli_usage_error("separate", "--speed takes a number from 0 to 1000, not '%s'", optarg);
            break;
        case OPT_BLOCK: {
            long v;
            if (clv_cli_parse_int(optarg, 1, 65536, &v) != 0)
                return clv_cli_usage_error("separate", "--block takes a whole number from 1 to 65536, not '%s'", optarg);
            job.block = (int)v;
            break;
        }
        case ':':
            return clv_cli_usage_error("separate", "option '%s' needs a value", argv[optind - 1]);
        case 'h': separate_help(stdout); return CLV_EXIT_OK;
        default:
            if (optopt > 0 && optopt < 256)
                return clv_cli_usage_error("separate", "unknown option '-%c'", optopt);
            return clv_cli_usage_error("separate", "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind >= argc) return clv_cli_usage_error("separate", "no INPUT file given");
    if (argc - optind > 1) return clv_cli_usage_error("separate", "one INPUT file only, got '%s' too", argv[optind + 1]);
    job.input = argv[optind];
    if (!job.outdir || !*job.outdir) return clv_cli_usage_error("separate", "-o OUTDIR is required");
    return clv_separate_run(&job);
}
