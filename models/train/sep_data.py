# SPDX-License-Identifier: ISC
"""Separation training data: MIR-1K stems (and PJS voices) decoded once into memory,
with remix augmentation.

MIR-1K clips are 16 kHz stereo, left = accompaniment, right = singing voice; the
mixture is left + right. train/ is for training, devtest/ (singers bug and ariel) is
held out for evaluation. PJS songs (48 kHz mono) are resampled to 16 kHz and used as
extra voices over MIR-1K accompaniments.
"""
import glob
import os

import numpy as np
import soundfile as sf

SR = 16000
DEFAULT_DATA = os.path.normpath(
    os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', '..', 'shared', 'data'))


def data_dir(override=None):
    return override or os.environ.get('CLV_DATA', DEFAULT_DATA)


def load_mir1k(split, root=None):
    """Returns a list of (name, accompaniment, voice), float32 arrays at 16 kHz."""
    d = os.path.join(data_dir(root), 'mir1k', split)
    files = sorted(glob.glob(os.path.join(d, '*.ogg')) + glob.glob(os.path.join(d, '*.wav')))
    if not files:
        raise FileNotFoundError(f'{d}: no MIR-1K clips found')
    out = []
    for f in files:
        x, sr = sf.read(f, dtype='float32', always_2d=True)
        if sr != SR or x.shape[1] != 2:
            raise ValueError(f'{f}: expected 16 kHz stereo, got {sr} Hz, {x.shape[1]} channels')
        out.append((os.path.splitext(os.path.basename(f))[0], x[:, 0].copy(), x[:, 1].copy()))
    return out


def load_pjs_voices(root=None):
    """PJS songs resampled 48 kHz -> 16 kHz, mono float32. Empty list if absent."""
    from scipy.signal import resample_poly
    d = os.path.join(data_dir(root), 'pjs', 'song')
    out = []
    for f in sorted(glob.glob(os.path.join(d, '*.ogg'))):
        x, sr = sf.read(f, dtype='float32', always_2d=True)
        x = x.mean(axis=1)
        if sr != SR:
            g = np.gcd(sr, SR)
            x = resample_poly(x, SR // g, sr // g).astype(np.float32)
        out.append(x)
    return out


def rms(x):
    return float(np.sqrt(np.mean(x.astype(np.float64) ** 2) + 1e-12))


class RemixSampler:
    """Draws (mixture, voice, accompaniment) training segments of `seg` samples.

    Each example takes the accompaniment of one clip and the voice of another
    (MIR-1K train or, with probability p_pjs, a PJS song), each at a random offset,
    with random polarity, random voice-to-accompaniment ratio (-8..+8 dB around
    equal energy, like the raw and 0 dB mixtures of the evaluation) and a random
    overall level. Deterministic given the numpy Generator."""

    def __init__(self, clips, seg, extra_voices=(), p_pjs=0.15, p_same=0.2):
        self.acc = [c[1] for c in clips if len(c[1]) >= seg]
        self.voc = [c[2] for c in clips if len(c[2]) >= seg]
        self.pairs = [(c[1], c[2]) for c in clips if len(c[1]) >= seg]
        self.extra = [v for v in extra_voices if len(v) >= seg]
        self.seg = seg
        self.p_pjs = p_pjs if self.extra else 0.0
        self.p_same = p_same

    def _crop(self, x, rng):
        o = int(rng.integers(0, len(x) - self.seg + 1))
        return x[o:o + self.seg]

    def batch(self, n, rng):
        mix = np.empty((n, self.seg), np.float32)
        voc = np.empty((n, self.seg), np.float32)
        acc = np.empty((n, self.seg), np.float32)
        for i in range(n):
            if rng.random() < self.p_same:
                # an original aligned pair keeps the real voice/accompaniment relation
                a, v = self.pairs[int(rng.integers(len(self.pairs)))]
                o = int(rng.integers(0, len(a) - self.seg + 1))
                a, v = a[o:o + self.seg], v[o:o + self.seg]
            else:
                a = self._crop(self.acc[int(rng.integers(len(self.acc)))], rng)
                if rng.random() < self.p_pjs:
                    v = self._crop(self.extra[int(rng.integers(len(self.extra)))], rng)
                else:
                    v = self._crop(self.voc[int(rng.integers(len(self.voc)))], rng)
            ra, rv = rms(a), rms(v)
            snr_db = rng.uniform(-8.0, 8.0)
            gv = (ra / max(rv, 1e-5)) * 10 ** (snr_db / 20) if rv > 1e-4 else 1.0
            level = 10 ** (rng.uniform(-12.0, 3.0) / 20)
            v = v * gv * (1.0 if rng.random() < 0.5 else -1.0)
            a = a * (1.0 if rng.random() < 0.5 else -1.0)
            pk = max(np.max(np.abs(a + v)), 1e-4)
            s = level * min(1.0, 0.99 / pk) if level * pk > 0.99 else level
            voc[i] = v * s
            acc[i] = a * s
            mix[i] = voc[i] + acc[i]
        return mix, voc, acc


def devtest_mixtures(clips, mode):
    """Evaluation mixtures: mode 'raw' (left + right) or '0db' (voice scaled to
    the accompaniment's energy). Returns list of (name, mix, voice, acc)."""
    out = []
    for name, a, v in clips:
        if mode == '0db':
            ea, ev = rms(a), rms(v)
            v = v * (ea / ev if ev > 1e-8 else 1.0)
        elif mode != 'raw':
            raise ValueError(mode)
        out.append((name, (a + v).astype(np.float32), v.astype(np.float32), a.astype(np.float32)))
    return out
