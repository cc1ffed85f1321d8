# SPDX-License-Identifier: ISC
"""Tagger data: label set, feature cache and the augmented batch sampler.

Sources (all under ../shared/data unless noted), resampled to 16 kHz:
  us8k/fold{1,2,3}        the ten UrbanSound8K classes; the fold is the unit of split
  mir1k/train, devtest    right channel = singing (frame activity from the .vocal
                          labels), left channel = music, left + right = both
  pjs/song                singing;  pjs/speech, speech/tsp: speech
  fretsonfire guitar.ogg  music (Debian fretsonfire-songs-*, if installed)
Held out for the detection figures (never trained on): MIR-1K devtest, PJS files
081-100 (songs and speech), TSP speakers FB12, MC18, MD24.

Features are computed once with tag_features.logmel and cached as float16 in
models/train/runs/tag_cache.pkl (git-ignored).
"""
import glob
import os
import pickle
import sys

import numpy as np

import tag_features as tf

LABELS = ['air_conditioner', 'car_horn', 'children_playing', 'dog_bark', 'drilling',
          'engine_idling', 'gun_shot', 'jackhammer', 'siren', 'street_music',
          'speech', 'singing', 'music']
N_LABELS = len(LABELS)
SPEECH, SINGING, MUSIC = 10, 11, 12
FLOOR = float(np.log(tf.LOG_FLOOR))

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.normpath(os.path.join(HERE, '..', '..', '..', 'shared', 'data'))
RUNS = os.path.join(HERE, 'runs')
CACHE = os.path.join(RUNS, 'tag_cache.pkl')
FOF = '/usr/share/games/fretsonfire/data/songs'

HELD_TSP = ('FB12', 'MC18', 'MD24')


def _pjs_held(path):
    n = int(os.path.basename(path)[3:6])
    return n >= 81


def _activity(feat, rel_db=30.0):
    """Frame activity by energy: frames within rel_db of the loudest frame."""
    e = np.log(np.exp(feat.astype(np.float64)).sum(axis=1) + 1e-12)
    return e > e.max() - rel_db * np.log(10.0) / 10.0


class Item:
    """One cached clip: features (T, 64) float16, target (13,) with NaN = unknown,
    optional per-frame activity for its positive non-us8k label, group tag."""
    __slots__ = ('feat', 'target', 'act', 'group', 'name', 'fold', 'held')

    def __init__(self, feat, target, act, group, name, fold=0, held=False):
        self.feat = feat.astype(np.float16)
        self.target = target
        self.act = None if act is None else np.asarray(act, dtype=bool)
        self.group = group
        self.name = name
        self.fold = fold
        self.held = held


def _target(pos=(), unknown=()):
    t = np.zeros(N_LABELS, dtype=np.float32)
    for u in unknown:
        t[u] = np.nan
    for p in pos:
        t[p] = 1.0
    return t


def us8k_target(cls):
    # us8k recordings are street scenes: voices and music can be in the background
    # of children_playing / street_music, so those labels are unknown there.
    if cls == 2:
        return _target([2], [SPEECH, SINGING, MUSIC])
    if cls == 9:
        return _target([9, MUSIC], [SPEECH, SINGING])
    return _target([cls])


def build_cache(log=print):
    items = []
    for fold in (1, 2, 3):
        files = sorted(glob.glob(os.path.join(DATA, 'us8k', 'fold%d' % fold, '*.ogg')))
        log('us8k fold%d: %d files' % (fold, len(files)))
        for f in files:
            cls = int(os.path.basename(f).split('-')[1])
            x = tf.load_16k(f)
            items.append(Item(tf.logmel(x), us8k_target(cls), None, 'us8k',
                              os.path.basename(f), fold=fold))
    for split in ('train', 'devtest'):
        files = sorted(glob.glob(os.path.join(DATA, 'mir1k', split, '*.ogg')))
        log('mir1k %s: %d files' % (split, len(files)))
        for f in files:
            base = os.path.splitext(os.path.basename(f))[0]
            lab = os.path.join(DATA, 'mir1k', 'labels', 'vocal-nonvocalLabel', base + '.vocal')
            acc = tf.load_16k(f, channel=0)
            voc = tf.load_16k(f, channel=1)
            fv = tf.logmel(voc)
            act = None
            if os.path.exists(lab):
                v = np.loadtxt(lab).astype(bool).reshape(-1)
                act = np.zeros(fv.shape[0], dtype=bool)
                m = min(len(v), len(act))
                act[:m] = v[:m]
            else:
                act = _activity(fv)
            held = split == 'devtest'
            items.append(Item(fv, _target([SINGING]), act, 'singing', base + ':voice', held=held))
            items.append(Item(tf.logmel(acc), _target([MUSIC]), None, 'music', base + ':acc',
                              held=held))
            # the real mixture; singing known only where the voice is active (act)
            items.append(Item(tf.logmel(acc + voc), _target([SINGING, MUSIC]), act, 'mix',
                              base + ':mix', held=held))
    for f in sorted(glob.glob(os.path.join(DATA, 'pjs', 'song', '*.ogg'))):
        fe = tf.logmel(tf.load_16k(f))
        items.append(Item(fe, _target([SINGING]), _activity(fe), 'singing',
                          os.path.basename(f), held=_pjs_held(f)))
    log('pjs song done')
    for f in sorted(glob.glob(os.path.join(DATA, 'pjs', 'speech', '*.ogg'))):
        fe = tf.logmel(tf.load_16k(f))
        items.append(Item(fe, _target([SPEECH]), _activity(fe), 'speech',
                          os.path.basename(f), held=_pjs_held(f)))
    for f in sorted(glob.glob(os.path.join(DATA, 'speech', 'tsp', '*.ogg'))):
        fe = tf.logmel(tf.load_16k(f))
        items.append(Item(fe, _target([SPEECH]), _activity(fe), 'speech',
                          os.path.basename(f),
                          held=os.path.basename(f)[:4] in HELD_TSP))
    log('speech done')
    for f in sorted(glob.glob(os.path.join(FOF, '*', '*', 'guitar.ogg'))):
        fe = tf.logmel(tf.load_16k(f))
        # cut long songs into 10 s pieces so sampling is spread evenly
        for s in range(0, fe.shape[0] - 250, 500):
            seg = fe[s:s + 500]
            act = _activity(seg)
            if act.mean() > 0.5:
                items.append(Item(seg, _target([MUSIC]), None, 'music',
                                  f.split('/')[-2] + ':%d' % s))
    log('fretsonfire done; %d items' % len(items))
    return items


def load_cache(log=print):
    if os.path.exists(CACHE):
        with open(CACHE, 'rb') as fh:
            return pickle.load(fh)
    os.makedirs(RUNS, exist_ok=True)
    items = build_cache(log)
    tmp = CACHE + '.tmp'
    with open(tmp, 'wb') as fh:
        pickle.dump(items, fh, protocol=4)
    os.replace(tmp, CACHE)
    return items


def crop(item, T, rng, p_occlude=0.0):
    """Random T-frame crop (floor-padded when the clip is shorter). With
    probability p_occlude only a part of the window keeps the sound (at least 0.5 s
    at one end, the rest is the floor), as the rolling window sees a sound that
    starts or stops inside it. Returns (feat (T,64) float32, target; activity
    labels judged on what stays visible)."""
    f = item.feat
    n = f.shape[0]
    out = np.full((T, tf.N_MELS), FLOOR, dtype=np.float32)
    if n <= T:
        o = int(rng.integers(0, T - n + 1))
        out[o:o + n] = f
        s, e = 0, n
        vis0, vis1 = o, o + n  # window positions holding the clip
    else:
        s = int(rng.integers(0, n - T + 1))
        e = s + T
        out[:] = f[s:e]
        vis0, vis1 = 0, T
    if p_occlude > 0.0 and vis1 - vis0 > 40 and rng.random() < p_occlude:
        keep = int(rng.integers(25, vis1 - vis0 - 10))
        if rng.random() < 0.5:   # the sound starts inside the window: keep the end
            out[vis0:vis1 - keep] = FLOOR
            s += (vis1 - keep) - vis0
            vis0 = vis1 - keep
        else:                    # the sound stops inside the window: keep the start
            out[vis0 + keep:vis1] = FLOOR
            e -= vis1 - (vis0 + keep)
            vis1 = vis0 + keep
    t = item.target.copy()
    if item.act is not None:
        frac = item.act[s:e].mean() if e > s else 0.0
        # labelled positive when at least 0.3 s of the crop is active; a crop with
        # only a trace of it is left unknown rather than called negative
        pos = [i for i in (SPEECH, SINGING) if t[i] == 1.0]
        for i in pos:
            act = frac * (e - s)
            if act >= 15:
                t[i] = 1.0
            elif act >= 3:
                t[i] = np.nan
            else:
                t[i] = 0.0
    return out, t


def mix_targets(a, b):
    """Union of labels: positive if either is, negative only if both are known negative."""
    out = np.where((a == 1.0) | (b == 1.0), 1.0, np.nan).astype(np.float32)
    neg = (a == 0.0) & (b == 0.0)
    out[neg] = 0.0
    return out


class Sampler:
    """Draws augmented training batches from a list of items."""

    def __init__(self, items, T, seed, weights=None, p_occlude=0.0, p_stretch=0.0,
                 p_shift=0.0, balance=False, p_filter=0.0, filter_db=6.0,
                 filter_points=(3, 6), gain=1.5, p_bg=0.0, bg_db=(-20.0, -6.0),
                 filter_groups=None, bg_unknown=False):
        self.T = T
        self.p_occlude = p_occlude
        self.p_stretch = p_stretch
        self.p_shift = p_shift
        # random equalisation (FilterAugment, Nam et al. 2022): a smooth random
        # curve over the mel bands added to a source's log-mel
        self.p_filter = p_filter
        self.filter_db = filter_db
        self.filter_points = filter_points
        self.filter_groups = filter_groups  # None: every group
        self.gain = gain
        # background: a us8k clip of another class mixed in far below the example
        self.p_bg = p_bg
        self.bg_db = bg_db
        # bg_unknown: labels the background's clip leaves unknown (speech, singing,
        # music behind children_playing / street_music) become unknown too
        self.bg_unknown = bg_unknown
        self.rng = np.random.default_rng(seed)
        self.groups = {}
        for it in items:
            self.groups.setdefault(it.group, []).append(it)
        self.weights = weights or {'us8k': 0.55, 'speech': 0.12, 'singing': 0.11,
                                   'music': 0.11, 'mix': 0.11}
        # balance: us8k clips drawn class first, then recording (the fsID of the
        # file name), then slice, so recordings cut into many slices do not
        # dominate; off: uniform over clips (the earlier runs)
        self.balance = balance
        self.us8k_tree = {}
        for it in self.groups.get('us8k', []):
            cls, rec = int(it.name.split('-')[1]), it.name.split('-')[0]
            self.us8k_tree.setdefault(cls, {}).setdefault(rec, []).append(it)
        self.us8k_tree = [list(self.us8k_tree[c].values()) for c in sorted(self.us8k_tree)]
        self.names = [g for g in self.weights if g in self.groups]
        w = np.array([self.weights[g] for g in self.names])
        self.p = w / w.sum()

    def one(self):
        g = self.names[self.rng.choice(len(self.names), p=self.p)]
        if g == 'us8k' and self.balance:
            recs = self.us8k_tree[self.rng.integers(len(self.us8k_tree))]
            lst = recs[self.rng.integers(len(recs))]
        else:
            lst = self.groups[g]
        it = lst[self.rng.integers(len(lst))]
        x, t = crop(it, self.T, self.rng, self.p_occlude)
        if self.p_stretch > 0.0 and self.rng.random() < self.p_stretch:
            # time stretch by linear interpolation along frames (0.8x .. 1.25x);
            # frames past the end of the crop become the floor
            r = float(np.exp(self.rng.uniform(np.log(0.8), np.log(1.25))))
            pos = np.arange(self.T) * r
            i0 = np.minimum(pos.astype(int), self.T - 1)
            i1 = np.minimum(i0 + 1, self.T - 1)
            fr = (pos - i0)[:, None].astype(np.float32)
            y = (1 - fr) * x[i0] + fr * x[i1]
            y[pos > self.T - 1] = FLOOR
            x = y
        if self.p_shift > 0.0 and self.rng.random() < self.p_shift:
            # shift along the mel axis by up to two bands (a crude pitch shift)
            k = int(self.rng.integers(-2, 3))
            if k > 0:
                x = np.concatenate([np.repeat(x[:, :1], k, axis=1), x[:, :-k]], axis=1)
            elif k < 0:
                x = np.concatenate([x[:, -k:], np.repeat(x[:, -1:], -k, axis=1)], axis=1)
        if (self.p_filter > 0.0 and (self.filter_groups is None or g in self.filter_groups)
                and self.rng.random() < self.p_filter):
            x = self.equalise(x)
        x += self.rng.uniform(-self.gain, self.gain)  # default gain +-6.5 dB
        return x, t

    def equalise(self, x):
        """Adds a random piecewise-linear curve over the mel bands: 2 points at
        the edges plus random inner points (filter_points: total count range),
        each with a gain uniform in +-filter_db dB, linearly interpolated between
        them. Cells at the silence floor stay there."""
        F = x.shape[1]
        n = int(self.rng.integers(self.filter_points[0], self.filter_points[1] + 1))
        inner = np.sort(self.rng.uniform(0, F - 1, size=max(0, n - 2)))
        pts = np.concatenate([[0.0], inner, [F - 1.0]])
        g = self.rng.uniform(-self.filter_db, self.filter_db, size=len(pts))
        curve = np.interp(np.arange(F), pts, g * (np.log(10.0) / 10.0)).astype(np.float32)
        live = x > FLOOR + 1e-3
        return np.where(live, np.maximum(x + curve, FLOOR), x).astype(np.float32)

    def background(self, x, t):
        """Mixes a us8k clip of another class (when the example has a known
        negative us8k class) bg_db below it; its class becomes unknown."""
        cand = [c for c in range(10) if t[c] == 0.0]
        if not cand or not self.us8k_tree:
            return x, t
        c = int(cand[self.rng.integers(len(cand))])
        recs = [r for r in self.us8k_tree if int(r[0][0].name.split('-')[1]) == c]
        if not recs:
            return x, t
        recs = recs[0]
        lst = recs[self.rng.integers(len(recs))]
        it = lst[self.rng.integers(len(lst))]
        y, ty = crop(it, self.T, self.rng, 0.0)
        if (self.p_filter > 0.0 and (self.filter_groups is None or 'us8k' in self.filter_groups)
                and self.rng.random() < self.p_filter):
            y = self.equalise(y)
        # level relative to the example's mean power over live cells
        def level(z):
            live = z > FLOOR + 1e-3
            return float(np.log(np.exp(z[live].astype(np.float64)).mean())) if live.any() else FLOOR
        d = level(x) - level(y) + self.rng.uniform(*self.bg_db) * np.log(10.0) / 10.0
        x = np.logaddexp(x, y + np.float32(d)).astype(np.float32)
        t = t.copy()
        t[c] = np.nan
        if self.bg_unknown:
            t[(ty != 0.0) & (t != 1.0)] = np.nan
        return x, t

    def batch(self, B, p_mix=0.5):
        X = np.empty((B, self.T, tf.N_MELS), dtype=np.float32)
        Y = np.empty((B, N_LABELS), dtype=np.float32)
        for b in range(B):
            x, t = self.one()
            if self.rng.random() < p_mix:
                x2, t2 = self.one()
                # mixing in the power domain: mel powers of independent sources add
                x = np.logaddexp(x, x2)
                t = mix_targets(t, t2)
            if self.p_bg > 0.0 and self.rng.random() < self.p_bg:
                x, t = self.background(x, t)
            X[b] = x
            Y[b] = t
        return X, Y


if __name__ == '__main__':
    import tag_data  # pickle the class under its module name, not __main__
    items = tag_data.load_cache()
    from collections import Counter
    print(Counter((it.group, it.held) for it in items))
    sys.exit(0)
