/* SPDX-License-Identifier: ISC */
/* Setup of the rate bridge: converters, queue sizes, the alignment and the
 * measured prefill (the host-rate glue the hourglass separator introduced,
 * factored out for the waveform families).
 *
 * Converters. libsoxr's high-quality linear-phase filters, fed in small blocks,
 * hold back about 80-110 ms (the output arrives late, which shows as the queue
 * prefill), far over a 25 ms budget. So the bridge converts with its own short
 * polyphase FIRs (Kaiser-windowed sinc, ~80 dB; by default 32 taps per phase,
 * -0.1 dB at about 6.2 kHz for a 16 kHz model, about 1 ms of delay each way;
 * cfg->taps = 128 is flat to about 7.4 kHz for about 4 ms each way, with the
 * stopband from the model's Nyquist) whenever the reduced ratio
 * has at most 2048 phases (every common rate), and falls back to libsoxr
 * (dsp/clv_resample.h) otherwise. Content above the model's band is not in the
 * vocals; the engine's accompaniment = input - vocals keeps it.
 *
 * Latency. The vocal path is: down-converter (d_down model samples) -> network
 * (model_latency) -> `align` zeros fed to the up-converter at reset ->
 * up-converter (d_up host frames) -> `prefill` zeros in the host queue; in host
 * frames
 *     prefill + (d_down + model_latency + align) * R / model_rate + d_up.
 * A fractional misalignment between the vocals and the engine's delayed input
 * would leak voice into the accompaniment (input - vocals), so `align` is the
 * smallest count of zeros that brings the total within 1/50 frame of an integer
 * (exact for the FIRs, whose delays are known; libsoxr's measured delays are not
 * more precise than that), which is what is reported. The prefill is the largest
 * shortfall of the host queue over a simulated run of the exact hop sequence,
 * so the queue never runs dry. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

#include "clv_rate_bridge_impl.h"

static long gcd_l(long a, long b)
{
    while (b) {
        long t = a % b;
        a = b;
        b = t;
    }
    return a;
}

static int imax(int a, int b) { return a > b ? a : b; }

static float *fzalloc(size_t n) { return calloc(n ? n : 1, sizeof(float)); }

static double bessel_i0(double x)
{
    double sum = 1.0, term = 1.0;
    for (int k = 1; k < 64 && term > 1e-12 * sum; k++) {
        term *= (x / (2.0 * k)) * (x / (2.0 * k));
        sum += term;
    }
    return sum;
}

static void fir_free(BrFir *f)
{
    if (!f) return;
    free(f->g);
    free(f->hist);
    free(f);
}

/* Cutoff (-6 dB) of a converter of `taps` taps per phase, as a fraction of the
 * lower rate. A Kaiser window of beta 8 (about 80 dB) over T taps has a transition
 * band of about 5.1 / T of the rate, so 0.5 - 2.6 / T puts the start of the
 * stopband at the lower rate's Nyquist (measured: >= 80 dB from there for 64..512
 * taps, -0.1 dB at 7.44 kHz of 16 kHz for 128 taps). Short filters keep 0.45,
 * the original design (32 taps: -0.1 dB at 6.2 kHz, and 8.0-8.5 kHz folds back
 * attenuated only 30-75 dB), so taps = 0 stays bit-identical to it. */
static double fir_cutoff(int taps)
{
    const double c = 0.5 - 2.6 / taps;
    return c > 0.45 ? c : 0.45;
}

/* Polyphase converter in_rate -> out_rate (ratio L/M in lowest terms), or NULL
 * when L is too large for a table (then libsoxr does it). The prototype runs at
 * in_rate * L: Kaiser (beta 8, about 80 dB) windowed sinc with cutoff
 * fir_cutoff(taps) of the lower rate and `taps` taps per phase at that rate, more
 * when the input is faster, so the transition band is the same in Hz both ways.
 * *delay gets the group delay in output samples. */
static BrFir *fir_new(int in_rate, int out_rate, int channels, int taps, double *delay)
{
    const long g = gcd_l(in_rate, out_rate);
    const int L = (int)(out_rate / g), M = (int)(in_rate / g);
    const int lo = in_rate < out_rate ? in_rate : out_rate;
    int T = (int)ceil((double)taps * in_rate / lo);
    T = (T + 3) / 4 * 4;
    if (L > 2048 || (long)L * T > (1L << 20)) return NULL;
    BrFir *f = calloc(1, sizeof *f);
    if (!f) return NULL;
    f->L = L;
    f->M = M;
    f->T = T;
    f->C = channels;
    f->g = calloc((size_t)L * T, sizeof(float));
    f->hist = calloc((size_t)channels * 2 * T, sizeof(float));
    double *h = calloc((size_t)L * T, sizeof(double));
    if (!f->g || !f->hist || !h) {
        free(h);
        fir_free(f);
        return NULL;
    }
    const int N = T * L - 1; /* odd: the centre is a tap */
    const double fc = fir_cutoff(taps) * lo / ((double)in_rate * L), mid = (N - 1) / 2.0, beta = 8.0;
    double sum = 0.0;
    for (int m = 0; m < N; m++) {
        const double x = m - mid, r = x / mid;
        const double sinc = x == 0.0 ? 2.0 * fc : sin(2.0 * M_PI * fc * x) / (M_PI * x);
        h[m] = sinc * bessel_i0(beta * sqrt(fmax(0.0, 1.0 - r * r))) / bessel_i0(beta);
        sum += h[m];
    }
    for (int ph = 0; ph < L; ph++)
        for (int k = 0; k < T; k++) {
            const long m = ph + (long)(T - 1 - k) * L;
            f->g[(size_t)ph * T + k] = m < N ? (float)(h[m] * L / sum) : 0.0f;
        }
    free(h);
    *delay = mid / M;
    return f;
}

void clv_rate_bridge_free(ClvRateBridge *b)
{
    if (!b) return;
    fir_free(b->fdown);
    fir_free(b->fup);
    clv_resample_free(b->down);
    clv_resample_free(b->up);
    free(b->inter);
    free(b->fifo);
    for (int c = 0; c < 2; c++) {
        free(b->bin[c]);
        free(b->bout[c]);
    }
    free(b->vm);
    free(b->outq);
    free(b->zeros);
    free(b);
}

int clv_rate_bridge_hop(const ClvRateBridge *b) { return b->H; }
int clv_rate_bridge_latency(const ClvRateBridge *b) { return b->latency; }
int clv_rate_bridge_headroom(const ClvRateBridge *b) { return b->headroom; }
long clv_rate_bridge_underruns(const ClvRateBridge *b) { return b->underruns; }

void clv_rate_bridge_describe(const ClvRateBridge *b, double *d_down, double *d_up, int *align,
                              int *prefill)
{
    if (d_down) *d_down = b->d_down;
    if (d_up) *d_up = b->d_up;
    if (align) *align = b->align;
    if (prefill) *prefill = b->prefill;
}

/* Runs the exact hop sequence on silence with no prefill and returns the largest
 * shortfall of the host queue: the prefill that keeps it from running dry. The
 * converters are deterministic and the hop pattern repeats with a period of
 * p / gcd(hop * q mod p, p) calls for a rate ratio p/q, so a few periods (and at
 * least 8 s, for the converters' start-up) cover every phase. The network does
 * not change the counts, so blocks give silence here without the callback. */
static int measure_prefill(ClvRateBridge *b)
{
    const int H = b->H, rate = b->cfg.host_rate;
    const long g = gcd_l(rate, b->cfg.model_rate);
    const long p = rate / g, q = b->cfg.model_rate / g;
    const long period = p / gcd_l((long)H * q % p ? (long)H * q % p : p, p);
    long calls = 3 * period + 3 * q + 64;
    if (calls < 8L * rate / H + 64) calls = 8L * rate / H + 64;
    if (calls > 200000) calls = 200000;
    b->measuring = 1;
    b->prefill = 0;
    clv_rate_bridge_reset(b);
    const float *in[2] = {b->zeros, b->zeros};
    float *vo[2] = {b->bout[0], b->bout[b->C - 1]};
    long worst = 0;
    for (long i = 0; i < calls; i++) {
        /* vocals land in bout, which the next block overwrites anyway: the hop
         * is at most the size of bout (see the allocation) */
        clv_rate_bridge_process(b, in, vo);
        long short_by = (long)H * (i + 1) - b->produced;
        if (short_by > worst) worst = short_by;
    }
    b->measuring = 0;
    b->underruns = 0;
    return (int)worst;
}

void *clv_rate_bridge_sep_alloc(size_t size, ClvClvm *model, const ClvSeparatorOps *ops,
                                const char *name, int sample_rate, int channels,
                                const ClvLog *log, ClvStatus *st)
{
    if (channels < 1 || channels > 2 || sample_rate < 8000 || sample_rate > 192000) {
        clv_log(log, CLV_LOG_ERROR, "%s: %d channels at %d Hz not supported",
                clv_clvm_path(model), channels, sample_rate);
        clv_clvm_free(model);
        *st = CLV_ERR_UNSUPPORTED;
        return NULL;
    }
    ClvSeparator *sep = calloc(1, size);
    if (!sep) {
        clv_clvm_free(model);
        *st = CLV_ERR_NOMEM;
        return NULL;
    }
    sep->ops = ops;
    sep->channels = channels;
    sep->sample_rate = sample_rate;
    snprintf(sep->name, sizeof sep->name, "%s", name);
    *st = CLV_OK;
    return sep;
}

void clv_rate_bridge_fill_sep(const ClvRateBridge *b, ClvSeparator *sep)
{
    sep->hop = clv_rate_bridge_hop(b);
    sep->latency = clv_rate_bridge_latency(b);
    sep->headroom = clv_rate_bridge_headroom(b);
}

ClvStatus clv_rate_bridge_new(const ClvRateBridgeConfig *cfg, const ClvLog *log,
                              ClvRateBridge **out)
{
    *out = NULL;
    const char *name = cfg->name ? cfg->name : "separator";
    if (cfg->channels < 1 || cfg->channels > 2 || cfg->host_rate < 8000 ||
        cfg->host_rate > 192000) {
        clv_log(log, CLV_LOG_ERROR, "%s: %d channels at %d Hz not supported", name, cfg->channels,
                cfg->host_rate);
        return CLV_ERR_UNSUPPORTED;
    }
    if (cfg->model_rate < 8000 || cfg->model_rate > 48000 || cfg->model_block < 1 ||
        cfg->model_block > 65536 || cfg->model_latency < 0 || cfg->model_latency > 1 << 20 ||
        cfg->host_hop < 0 || cfg->host_hop > 1 << 16 || !cfg->block) {
        clv_log(log, CLV_LOG_ERROR,
                "%s: bad bridge setup (model rate %d Hz, block %d, latency %d, host hop %d)", name,
                cfg->model_rate, cfg->model_block, cfg->model_latency, cfg->host_hop);
        return CLV_ERR_INVALID;
    }
    if (!(cfg->block_load >= 0.0 && cfg->block_load <= 4.0)) {
        clv_log(log, CLV_LOG_ERROR, "%s: bad bridge setup: block load %g (0..4)", name,
                cfg->block_load);
        return CLV_ERR_INVALID;
    }
    if (cfg->taps != 0 &&
        (cfg->taps < CLV_RATE_BRIDGE_TAPS_MIN || cfg->taps > CLV_RATE_BRIDGE_TAPS_MAX)) {
        clv_log(log, CLV_LOG_ERROR,
                "%s: bad bridge setup: converter length %d taps per phase (0 for the default "
                "%d, or %d..%d)",
                name, cfg->taps, CLV_RATE_BRIDGE_TAPS_SHORT, CLV_RATE_BRIDGE_TAPS_MIN,
                CLV_RATE_BRIDGE_TAPS_MAX);
        return CLV_ERR_INVALID;
    }
    ClvRateBridge *b = calloc(1, sizeof *b);
    if (!b) return CLV_ERR_NOMEM;
    b->cfg = *cfg;
    b->cfg.name = NULL; /* not kept: the caller's string may not outlive us */
    const int C = cfg->channels, M = cfg->model_block, mrate = cfg->model_rate;
    const double r = (double)cfg->host_rate / mrate;
    b->C = C;
    b->M = M;
    b->H = cfg->host_hop > 0 ? cfg->host_hop : (int)lround(M * r);
    if (b->H < 1) b->H = 1;
    const int H = b->H;
    ClvStatus st;
    if (cfg->host_rate != mrate) {
        const int taps = cfg->taps ? cfg->taps : CLV_RATE_BRIDGE_TAPS_SHORT;
        b->fdown = fir_new(cfg->host_rate, mrate, C, taps, &b->d_down);
        b->fup = b->fdown ? fir_new(mrate, cfg->host_rate, C, taps, &b->d_up) : NULL;
        if (b->fdown && !b->fup) {
            st = CLV_ERR_NOMEM;
            goto fail;
        }
    }
    if (cfg->host_rate != mrate && !b->fdown) {
        if ((st = clv_resample_new(cfg->host_rate, mrate, C, &b->down)) != CLV_OK ||
            (st = clv_resample_new(mrate, cfg->host_rate, C, &b->up)) != CLV_OK) {
            clv_log(log, CLV_LOG_ERROR, "%s: cannot convert %d Hz <-> %d Hz", name,
                    cfg->host_rate, mrate);
            goto fail;
        }
        b->d_down = clv_resample_delay(b->down);
        b->d_up = clv_resample_delay(b->up);
    }
    /* integer alignment of the whole vocal path (see the top of this file): the
     * fractional part of k * R / model_rate repeats after model_rate / gcd zeros */
    const double base = b->d_down + cfg->model_latency;
    b->align = 0;
    if (b->up || b->fup) {
        const long q = mrate / gcd_l(cfg->host_rate, mrate);
        const int kmax = q < 4096 ? (int)q : 4096;
        double best_err = 1.0;
        for (int k = 0; k < kmax; k++) {
            double d = (base + k) * r + b->d_up;
            double e = fabs(d - floor(d + 0.5));
            if (e < best_err - 1e-9) {
                best_err = e;
                b->align = k;
            }
            if (e < 0.02) break;
        }
    }
    const double chain = (base + b->align) * r + b->d_up;
    b->cap_fifo = M + (int)ceil(H / r) + 256;
    b->max_blocks = b->cap_fifo / M + 1;
    b->cap_out = (int)ceil(((double)b->max_blocks * M + b->align) * r) + 4 * H + 4096;
    b->inter = fzalloc((size_t)H * C);
    b->fifo = fzalloc((size_t)b->cap_fifo * C);
    for (int c = 0; c < C; c++) {
        /* bout doubles as the discard buffer of measure_prefill(): hop frames */
        b->bin[c] = fzalloc((size_t)M);
        b->bout[c] = fzalloc((size_t)imax(M, H));
    }
    b->vm = fzalloc((size_t)b->max_blocks * M * C);
    b->outq = fzalloc((size_t)b->cap_out * C);
    b->zeros = fzalloc((size_t)imax(b->align, H) * C);
    int ok = b->inter && b->fifo && b->vm && b->outq && b->zeros;
    for (int c = 0; c < C; c++) ok = ok && b->bin[c] && b->bout[c];
    if (!ok) {
        st = CLV_ERR_NOMEM;
        goto fail;
    }
    if (b->down) {
        /* libsoxr sizes its buffers on the first call of the largest size */
        if ((st = clv_resample_prime(b->down, (size_t)H)) != CLV_OK ||
            (st = clv_resample_prime(b->up, (size_t)imax(b->max_blocks * M, b->align))) != CLV_OK)
            goto fail;
    }
    b->prefill = measure_prefill(b);
    if (b->prefill + b->align * r + 2 * H > b->cap_out) {
        st = CLV_ERR_INVALID; /* cannot happen with the sizes above; keeps the queue bounded */
        goto fail;
    }
    b->latency = b->prefill + (int)floor(chain + 0.5);
    /* the model side runs whole blocks, and one hop can bring more than one
     * (b->burst, measured on the exact hop sequence above): the worker needs the
     * time of that burst, a whole hop when the network's cost is not known */
    b->headroom = cfg->block_load > 0.0
                      ? (int)ceil(cfg->block_load * b->burst * M * r)
                      : H;
    clv_rate_bridge_reset(b);
    *out = b;
    return CLV_OK;
fail:
    clv_rate_bridge_free(b);
    return st;
}
