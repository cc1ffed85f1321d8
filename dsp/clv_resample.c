/* SPDX-License-Identifier: ISC */
/* libsoxr wrapper.
 *
 * We use SOXR_HQ with linear phase so the group delay is constant; soxr reports its
 * delay only as a running figure, so the constant is measured once: an impulse goes
 * through a scratch converter and the delay is the peak position, refined by
 * parabolic interpolation (libsoxr already trims most of its filter delay). */
#include "clv_resample.h"

#include <math.h>
#include <soxr.h>
#include <stdlib.h>
#include <string.h>

struct ClvResampleImpl {
    soxr_t soxr;
    double in_rate, out_rate, delay;
    int channels;
};

static soxr_t make_soxr(double in_rate, double out_rate, int channels)
{
    soxr_error_t err = NULL;
    soxr_io_spec_t io = soxr_io_spec(SOXR_FLOAT32_I, SOXR_FLOAT32_I);
    soxr_quality_spec_t q = soxr_quality_spec(SOXR_HQ, SOXR_LINEAR_PHASE);
    soxr_runtime_spec_t rt = soxr_runtime_spec(1);
    soxr_t s = soxr_create(in_rate, out_rate, (unsigned)channels, &err, &io, &q, &rt);
    if (err) {
        soxr_delete(s);
        return NULL;
    }
    return s;
}

static double measure_delay(double in_rate, double out_rate)
{
    soxr_t s = make_soxr(in_rate, out_rate, 1);
    if (!s) return 0.0;
    size_t n_in = 16384;
    size_t cap = (size_t)(n_in * out_rate / in_rate) + 4096;
    float *in = calloc(n_in, sizeof(float));
    float *out = calloc(cap, sizeof(float));
    double delay = 0.0;
    if (in && out) {
        const size_t at = 1024; /* away from the start, which soxr trims */
        in[at] = 1.0f;
        size_t done = 0, idone = 0, odone = 0;
        soxr_process(s, in, n_in, &idone, out, cap, &odone);
        done = odone;
        while (done < cap) { /* flush */
            soxr_process(s, NULL, 0, NULL, out + done, cap - done, &odone);
            if (odone == 0) break;
            done += odone;
        }
        size_t peak = 0;
        for (size_t i = 1; i < done; i++)
            if (fabsf(out[i]) > fabsf(out[peak])) peak = i;
        /* parabolic interpolation of the peak: exact enough for a symmetric kernel */
        delay = (double)peak;
        const double expect = (double)at * out_rate / in_rate;
        if (peak > 0 && peak + 1 < done) {
            double ym = out[peak - 1], y0 = out[peak], yp = out[peak + 1];
            double den = ym - 2.0 * y0 + yp;
            if (fabs(den) > 1e-12) delay += 0.5 * (ym - yp) / den;
        }
        delay -= expect;
    }
    free(in);
    free(out);
    soxr_delete(s);
    return delay;
}

ClvStatus clv_resample_new(double in_rate, double out_rate, int channels, ClvResample **out)
{
    *out = NULL;
    if (!(in_rate >= 1000.0 && in_rate <= 768000.0) || !(out_rate >= 1000.0 && out_rate <= 768000.0)
        || channels < 1 || channels > 8)
        return CLV_ERR_INVALID;
    ClvResample *r = calloc(1, sizeof *r);
    if (!r) return CLV_ERR_NOMEM;
    r->soxr = make_soxr(in_rate, out_rate, channels);
    if (!r->soxr) {
        free(r);
        return CLV_ERR_NOMEM;
    }
    r->in_rate = in_rate;
    r->out_rate = out_rate;
    r->channels = channels;
    r->delay = measure_delay(in_rate, out_rate);
    *out = r;
    return CLV_OK;
}

void clv_resample_free(ClvResample *r)
{
    if (!r) return;
    soxr_delete(r->soxr);
    free(r);
}

size_t clv_resample_process(ClvResample *r, const float *in, size_t n_in, float *out, size_t max_out)
{
    size_t idone = 0, odone = 0;
    soxr_process(r->soxr, in, in ? n_in : 0, &idone, out, max_out, &odone);
    return odone;
}

ClvStatus clv_resample_prime(ClvResample *r, size_t max_in)
{
    size_t cap = (size_t)ceil(max_in * r->out_rate / r->in_rate) + 64;
    float *in = calloc(max_in * (size_t)r->channels, sizeof(float));
    float *out = calloc(cap * (size_t)r->channels, sizeof(float));
    ClvStatus st = CLV_OK;
    if (!in || !out) st = CLV_ERR_NOMEM;
    else {
        for (int i = 0; i < 4; i++) clv_resample_process(r, in, max_in, out, cap);
        soxr_clear(r->soxr);
    }
    free(in);
    free(out);
    return st;
}

double clv_resample_delay(const ClvResample *r) { return r->delay; }

void clv_resample_reset(ClvResample *r) { soxr_clear(r->soxr); }

ClvStatus clv_resample_buffer(double in_rate, double out_rate, int channels, const float *in,
                              size_t n_in, float **out, size_t *n_out)
{
    *out = NULL;
    *n_out = 0;
    ClvResample *r;
    ClvStatus st = clv_resample_new(in_rate, out_rate, channels, &r);
    if (st != CLV_OK) return st;
    size_t want = (size_t)llround((double)n_in * out_rate / in_rate);
    size_t skip = r->delay > 0.5 ? (size_t)llround(r->delay) : 0;
    size_t cap = want + skip + 64;
    float *buf = malloc(cap * (size_t)channels * sizeof(float));
    if (!buf) {
        clv_resample_free(r);
        return CLV_ERR_NOMEM;
    }
    size_t got = clv_resample_process(r, in, n_in, buf, cap);
    while (got < want + skip) {
        size_t more = clv_resample_process(r, NULL, 0, buf + got * (size_t)channels, cap - got);
        if (more == 0) break;
        got += more;
    }
    clv_resample_free(r);
    float *res = calloc(want ? want * (size_t)channels : 1, sizeof(float));
    if (!res) {
        free(buf);
        return CLV_ERR_NOMEM;
    }
    size_t avail = got > skip ? got - skip : 0;
    size_t n = avail < want ? avail : want;
    memcpy(res, buf + skip * (size_t)channels, n * (size_t)channels * sizeof(float));
    free(buf);
    *out = res;
    *n_out = want;
    return CLV_OK;
}
