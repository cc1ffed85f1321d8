# SPDX-License-Identifier: ISC
"""Log-mel front end of the cleave tagger, identical to dsp/clv_mel.c.

Parameters (also stored in the model file's metadata):
  sample rate 16000 Hz, FFT size 1024, hop 320 samples (20 ms), periodic sqrt-Hann
  analysis window (the window of dsp/clv_stft.c), power spectrum |X|^2 of the
  unnormalised FFT, 64 triangular mel bands on the HTK mel scale
  (mel = 2595 log10(1 + f / 700)) from 50 Hz to 8000 Hz, peak 1, no area
  normalisation, then natural log with a floor: log(max(mel, 1e-6)).

Framing is streaming, as the C code sees it: frame t covers input samples
[(t + 1) * hop - n_fft, (t + 1) * hop), with zeros before the start of the
signal. A signal of n samples gives n // hop frames.
"""
import numpy as np

SR = 16000
N_FFT = 1024
HOP = 320
N_MELS = 64
FMIN = 50.0
FMAX = 8000.0
LOG_FLOOR = 1e-6


def hz_to_mel(f):
    return 2595.0 * np.log10(1.0 + np.asarray(f, dtype=np.float64) / 700.0)


def mel_to_hz(m):
    return 700.0 * (10.0 ** (np.asarray(m, dtype=np.float64) / 2595.0) - 1.0)


def mel_filterbank(sr=SR, n_fft=N_FFT, n_mels=N_MELS, fmin=FMIN, fmax=FMAX):
    """(n_mels, n_fft // 2 + 1) float64 HTK triangles, peak 1."""
    bins = n_fft // 2 + 1
    freqs = np.arange(bins, dtype=np.float64) * sr / n_fft
    pts = mel_to_hz(np.linspace(hz_to_mel(fmin), hz_to_mel(fmax), n_mels + 2))
    fb = np.zeros((n_mels, bins), dtype=np.float64)
    for m in range(n_mels):
        lo, c, hi = pts[m], pts[m + 1], pts[m + 2]
        up = (freqs - lo) / (c - lo)
        down = (hi - freqs) / (hi - c)
        fb[m] = np.maximum(0.0, np.minimum(up, down))
    return fb


def window(n_fft=N_FFT):
    i = np.arange(n_fft, dtype=np.float64)
    return np.sqrt(0.5 - 0.5 * np.cos(2.0 * np.pi * i / n_fft))


_FB = mel_filterbank()
_WIN = window()


def logmel(x):
    """x: 1-D float signal at SR. Returns (frames, N_MELS) float32 log-mel."""
    x = np.asarray(x, dtype=np.float64)
    n = x.shape[0] // HOP
    if n == 0:
        return np.zeros((0, N_MELS), dtype=np.float32)
    pad = np.concatenate([np.zeros(N_FFT - HOP), x[: n * HOP]])
    idx = np.arange(N_FFT)[None, :] + HOP * np.arange(n)[:, None]
    out = np.empty((n, N_MELS), dtype=np.float32)
    # chunked to bound memory on long files
    for s in range(0, n, 2048):
        fr = pad[idx[s:s + 2048]] * _WIN
        spec = np.fft.rfft(fr, axis=1)
        pw = spec.real ** 2 + spec.imag ** 2
        mel = pw @ _FB.T
        out[s:s + 2048] = np.log(np.maximum(mel, LOG_FLOOR))
    return out


def load_16k(path, channel=None):
    """Reads an audio file with soundfile, picks a channel (None = mean of all),
    resamples to 16 kHz with a polyphase filter. Returns float64 mono."""
    import soundfile as sf
    from math import gcd
    from scipy.signal import resample_poly
    x, sr = sf.read(path, dtype='float64', always_2d=True)
    x = x.mean(axis=1) if channel is None else x[:, channel]
    if sr != SR:
        g = gcd(sr, SR)
        x = resample_poly(x, SR // g, sr // g)
    return x
