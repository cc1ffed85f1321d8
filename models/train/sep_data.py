# SPDX-License-Identifier: ISC
"""Separation training data: MIR-1K stems (and PJS voices) decoded once into memory,
with remix augmentation.

MIR-1K clips are 16 kHz stereo, left = accompaniment, right = singing voice; the
mixture is left + right. train/ is for training, devtest/ (singers bug and ariel) is
held out for evaluation. PJS songs (48 kHz mono) are resampled to 16 kHz and used as
extra voices over MIR-1K accompaniments.

Beyond MIR-1K (--wide in train_sep.py): instrumental music from Debian game
soundtracks (load_music: each channel of the 44.1/48 kHz stereo tracks is an
accompaniment, as the engine separates each channel on its own; stretches where
the tagger hears singing or speech are cut out), TSP read speech as more voices,
and reverb and small pitch/time changes on the voice. Held out of all separation
training: PJS songs 081-100 and TSP speakers FB12, MC18, MD24 (the voices of the
full-band evaluation), the Frets on Fire songs (its backings) and MIR-1K devtest.
"""
import glob
import io
import os
import zipfile

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


PJS_HELD_FROM = 81                 # PJS files 081-100: held out (evaluation voices)
TSP_HELD = ('FB12', 'MC18', 'MD24')  # TSP speakers held out (as for the tagger)


def pjs_held(path):
    return int(os.path.basename(path)[3:6]) >= PJS_HELD_FROM


def to_16k(x, sr):
    from scipy.signal import resample_poly
    if sr == SR:
        return x.astype(np.float32)
    g = np.gcd(sr, SR)
    return resample_poly(x, SR // g, sr // g, axis=0).astype(np.float32)


def load_pjs_voices(root=None, held_out=False):
    """PJS songs resampled 48 kHz -> 16 kHz, mono float32. Empty list if absent.
    held_out=True leaves out songs 081-100 (the full-band evaluation's voices);
    the models shipped before the wide data were trained with all songs."""
    d = os.path.join(data_dir(root), 'pjs', 'song')
    out = []
    for f in sorted(glob.glob(os.path.join(d, '*.ogg'))):
        if held_out and pjs_held(f):
            continue
        x, sr = sf.read(f, dtype='float32', always_2d=True)
        out.append(to_16k(x.mean(axis=1), sr))
    return out


def load_tsp_voices(root=None):
    """TSP sentences of the training speakers at 16 kHz, mono float32."""
    out = []
    for f in sorted(glob.glob(os.path.join(data_dir(root), 'speech', 'tsp', '*.ogg'))):
        if os.path.basename(f)[:4] in TSP_HELD:
            continue
        x, sr = sf.read(f, dtype='float32', always_2d=True)
        out.append(to_16k(x.mean(axis=1), sr))
    return out


# Debian game soundtracks (instrumental): package -> where its tracks are
MUSIC_SOURCES = {
    'wesnoth-1.16-music': '/usr/share/games/wesnoth/1.16/data/core/music/*.ogg',
    'warzone2100-music': '/usr/share/games/warzone2100/music/albums/*/*.opus',
    'singularity-music': '/usr/share/games/singularity/music/*.ogg',
    'hyperrogue-music': '/usr/share/hyperrogue/music/*.ogg',
    'nexuiz-music': '/usr/share/games/nexuiz/data/*music*.pk3',
}
MUSIC_CACHE = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'runs', 'sep_music.npz')


def _music_files():
    """(name, reader) for every track found; reader() -> (float32 [n, ch], rate)."""
    out = []
    for pkg, pattern in MUSIC_SOURCES.items():
        for f in sorted(glob.glob(pattern)):
            if f.endswith('.pk3'):
                z = zipfile.ZipFile(f)
                for n in sorted(z.namelist()):
                    if n.endswith('.ogg'):
                        out.append((pkg + ':' + n, lambda z=z, n=n: sf.read(
                            io.BytesIO(z.read(n)), dtype='float32', always_2d=True)))
            else:
                out.append((pkg + ':' + os.path.basename(f),
                            lambda f=f: sf.read(f, dtype='float32', always_2d=True)))
    return out


def _voice_free_runs(x, tagger, min_len):
    """Splits mono 16 kHz x into runs of 3 s windows where the tagger hears no
    singing or speech (scores < 0.3); returns the runs of at least min_len."""
    import torch
    import tag_data as td
    import tag_features as tf
    feat = tf.logmel(x.astype(np.float64)).astype(np.float32)
    W = 150
    ok = []
    for s in range(0, max(1, feat.shape[0] - W + 1), W):
        with torch.no_grad():
            p = torch.sigmoid(tagger(torch.from_numpy(feat[None, s:s + W])))[0].numpy()
        ok.append(p[td.SPEECH] < 0.3 and p[td.SINGING] < 0.3)
    hop = tf.HOP
    runs, start = [], None
    for i, good in enumerate(ok + [False]):
        if good and start is None:
            start = i
        elif not good and start is not None:
            a, b = start * W * hop, min(len(x), i * W * hop)
            if b - a >= min_len:
                runs.append((a, b))
            start = None
    return runs


def load_music(max_seconds=90.0, seed=7, log=print):
    """Instrumental accompaniments from Debian game soundtracks: up to max_seconds
    of each track (from a seeded offset), resampled to 16 kHz, each channel
    separately, cut into voice-free runs. Cached in runs/sep_music.npz (int16).
    Returns a list of float32 arrays; empty if no soundtrack is installed."""
    if os.path.exists(MUSIC_CACHE):
        z = np.load(MUSIC_CACHE)
        return [z[k].astype(np.float32) / 32767.0 for k in sorted(z.files)]
    files = _music_files()
    if not files:
        return []
    import torch
    from tag_model import from_args
    st = torch.load(os.path.join(os.path.dirname(MUSIC_CACHE), 'tag_all', 'model.pt'))
    tagger = from_args(st['args'])
    tagger.load_state_dict(st['model'])
    tagger.eval()
    rng = np.random.default_rng(seed)
    out, total, dropped = {}, 0.0, 0.0
    for name, read in files:
        x, sr = read()
        n = int(max_seconds * sr)
        o = int(rng.integers(0, len(x) - n + 1)) if len(x) > n else 0
        x = to_16k(x[o:o + n], sr)
        for c in range(x.shape[1]):
            ch = x[:, c]
            if rms(ch) < 1e-3:
                continue
            runs = _voice_free_runs(ch, tagger, 2 * SR)
            kept = sum(b - a for a, b in runs)
            dropped += (len(ch) - kept) / SR
            for a, b in runs:
                seg = ch[a:b]
                pk = np.max(np.abs(seg))
                out['%05d' % len(out)] = np.round(seg / max(pk, 1e-6) * 32767).astype(np.int16)
                total += (b - a) / SR
        log(f'music: {name}: {x.shape[0] / SR:.0f} s x {x.shape[1]} ch')
    log(f'music: {total / 60:.1f} min kept (channels counted separately), '
        f'{dropped / 60:.1f} min with voices or silence cut')
    tmp = MUSIC_CACHE + '.tmp.npz'
    np.savez(tmp, **out)
    os.replace(tmp, MUSIC_CACHE)
    return [v.astype(np.float32) / 32767.0 for _, v in sorted(out.items())]


def reverb_ir(rng):
    """A synthetic room: exponentially decaying noise, RT60 0.2-1.2 s, 5-40 ms
    pre-delay, direct sound first; normalised so the direct path is 1."""
    rt60 = rng.uniform(0.2, 1.2)
    n = int(rt60 * SR)
    t = np.arange(n) / SR
    tail = rng.standard_normal(n) * np.exp(-6.9 * t / rt60)
    pre = int(rng.uniform(0.005, 0.04) * SR)
    ir = np.zeros(pre + n)
    ir[0] = 1.0
    ir[pre:] += tail * 10 ** (rng.uniform(-24, -12) / 20)
    return ir


def rms(x):
    return float(np.sqrt(np.mean(x.astype(np.float64) ** 2) + 1e-12))


class RemixSampler:
    """Draws (mixture, voice, accompaniment) training segments of `seg` samples.

    Each example takes the accompaniment of one clip and the voice of another
    (MIR-1K train or, with probability p_pjs, a PJS song), each at a random offset,
    with random polarity, random voice-to-accompaniment ratio (-8..+8 dB around
    equal energy, like the raw and 0 dB mixtures of the evaluation) and a random
    overall level. Deterministic given the numpy Generator."""

    def __init__(self, clips, seg, extra_voices=(), p_pjs=0.15, p_same=0.2, music=(),
                 p_music=0.0, speech=(), p_speech=0.0, p_reverb=0.0, p_warp=0.0):
        self.acc = [c[1] for c in clips if len(c[1]) >= seg]
        self.voc = [c[2] for c in clips if len(c[2]) >= seg]
        self.pairs = [(c[1], c[2]) for c in clips if len(c[1]) >= seg]
        self.extra = [v for v in extra_voices if len(v) >= seg]
        self.seg = seg
        self.p_pjs = p_pjs if self.extra else 0.0
        self.p_same = p_same
        # wide data (all off by default, so older runs draw the same batches)
        margin = int(seg * 1.07) + 1
        self.music = [m for m in music if len(m) >= seg]
        self.p_music = p_music if self.music else 0.0
        self.speech = [v for v in speech if len(v) >= margin]
        self.p_speech = p_speech if self.speech else 0.0
        self.p_reverb = p_reverb
        self.p_warp = p_warp
        self.wide = self.p_music > 0 or self.p_speech > 0 or p_reverb > 0 or p_warp > 0

    def _crop(self, x, rng, n=None):
        n = self.seg if n is None else n
        o = int(rng.integers(0, len(x) - n + 1))
        return x[o:o + n]

    def _wide_voice(self, v_pool, rng):
        """A voice crop with an optional small pitch/time change (resampling by
        0.94..1.06, both together) and optional reverb (the target keeps it)."""
        r = rng.uniform(0.94, 1.06) if rng.random() < self.p_warp else 1.0
        x = v_pool[int(rng.integers(len(v_pool)))]
        need = int(np.ceil(self.seg * r)) + 1
        if len(x) < need:
            r, need = 1.0, self.seg
        v = self._crop(x, rng, need)
        if r != 1.0:
            v = np.interp(np.arange(self.seg) * r, np.arange(len(v)), v).astype(np.float32)
        if rng.random() < self.p_reverb:
            from scipy.signal import fftconvolve
            v = fftconvolve(v, reverb_ir(rng))[:self.seg].astype(np.float32)
        return v[:self.seg]

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
            elif self.wide:
                pool = self.music if rng.random() < self.p_music else self.acc
                a = self._crop(pool[int(rng.integers(len(pool)))], rng)
                u = rng.random()
                if u < self.p_pjs:
                    v = self._wide_voice(self.extra, rng)
                elif u < self.p_pjs + self.p_speech:
                    v = self._wide_voice(self.speech, rng)
                else:
                    v = self._wide_voice(self.voc, rng)
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
