#!/usr/bin/python3
# SPDX-License-Identifier: ISC
"""Quality of the training-free separators on full-band stereo mixtures built from
real recordings, against the classic mid/side karaoke baseline.

Mixtures: a held-out PJS singing clip (songs 081-100: no model trains on them;
48 kHz mono, ../shared/data/pjs/song), resampled to
44.1 kHz and panned to the centre, over the Frets on Fire backing (song.ogg +
guitar.ogg, 44.1 kHz stereo, Debian packages fretsonfire-songs-*), voice at the
accompaniment's energy plus a per-song offset in [-6, +3] dB. Methods:
  - cleave separate --model centre (quality and low-latency operating points),
  - swh-plugins Karaoke (LADSPA 1409) through applyplugin, vocal volume -70 dB:
    its output is the accompaniment, vocals = mixture - accompaniment,
  - plain mid/side (vocals = (L+R)/2 in both channels).
Scores: BSS Eval SDR/SIR/SAR (mir_eval.separation.bss_eval_sources) per stem on the
two channels concatenated, reported per song and as means (time-aligned outputs).

Usage: /usr/bin/python3 models/train/eval_centre.py --cleave build/host/cleave [--json out.json]
"""
import argparse
import glob
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import soundfile as sf
from scipy.signal import resample_poly

import mir_eval

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, '..', '..'))
SHARED = os.path.abspath(os.path.join(ROOT, '..', 'shared', 'data'))
FOF = '/usr/share/games/fretsonfire/data/songs'
SR = 44100


def stereo_room(v, rng):
    """A produced vocal: panned up to 0.25 off centre (constant power) and sent to a
    stereo room (two independent decaying-noise tails, RT60 0.8..1.8 s, -14..-8 dB),
    so the vocal stem is neither mono nor exactly centred."""
    pan = rng.uniform(-0.25, 0.25)
    th = (pan + 1) * np.pi / 4
    out = np.stack([v * np.cos(th), v * np.sin(th)], axis=1) * np.sqrt(2)
    rt60 = rng.uniform(0.8, 1.8)
    t = np.arange(int(rt60 * SR)) / SR
    wet = 10 ** (rng.uniform(-14, -8) / 20)
    for c in range(2):
        ir = rng.standard_normal(len(t)) * np.exp(-6.9 * t / rt60)
        ir *= wet / np.sqrt(np.sum(ir ** 2))
        out[:, c] += np.convolve(v, ir)[:len(v)]
    return out.astype(np.float32)


def build_mixtures(tmp, seconds, offset_s, voice_shift=0, vocal_fx=False):
    songs = sorted(glob.glob(os.path.join(FOF, '*', '*', 'song.ogg')))
    # only the PJS songs held out of every training run (081-100), so no model
    # has heard these voices
    voices = [v for v in sorted(glob.glob(os.path.join(SHARED, 'pjs', 'song', '*.ogg')))
              if int(os.path.basename(v)[3:6]) >= 81]
    if not songs or not voices:
        sys.exit('eval_centre: need fretsonfire-songs-* packages and ../shared/data/pjs')
    rng = np.random.default_rng(1234)
    items = []
    for i, song in enumerate(songs):
        d = os.path.dirname(song)
        n = int(seconds * SR)
        start = int(offset_s * SR)
        acc = sf.read(song, start=start, frames=n, dtype='float32', always_2d=True)[0]
        gtr = os.path.join(d, 'guitar.ogg')
        if os.path.exists(gtr):
            acc = acc + sf.read(gtr, start=start, frames=n, dtype='float32', always_2d=True)[0]
        v, vsr = sf.read(voices[(7 * i + voice_shift) % len(voices)], dtype='float32', always_2d=True)
        v = v.mean(axis=1)
        v = resample_poly(v, SR, vsr).astype(np.float32)
        if len(v) < n:
            v = np.pad(v, (0, n - len(v)))
        v = v[:n]
        ea = float(np.mean(acc ** 2)) + 1e-12
        ev = float(np.mean(v ** 2)) + 1e-12
        g = np.sqrt(ea / ev) * 10 ** (rng.uniform(-6, 3) / 20)
        voc = stereo_room(v * g, rng) if vocal_fx else np.stack([v * g, v * g], axis=1)
        mix = voc + acc
        peak = np.max(np.abs(mix))
        if peak > 0.99:
            voc *= 0.99 / peak
            acc *= 0.99 / peak
            mix = voc + acc
        # 16-bit, as applyplugin reads only 16-bit PCM; references follow the quantised mix
        mix16 = np.round(mix * 32767) / 32767
        acc = acc + (mix16 - mix)
        path = os.path.join(tmp, f'mix{i}.wav')
        sf.write(path, mix16, SR, subtype='PCM_16')
        items.append(dict(name=os.path.basename(d), path=path, voc=voc, acc=acc, mix=mix16))
    return items


def bss(ref_v, ref_a, est_v, est_a):
    refs = np.stack([ref_v.T.reshape(-1), ref_a.T.reshape(-1)])
    ests = np.stack([est_v.T.reshape(-1), est_a.T.reshape(-1)])
    sdr, sir, sar, _ = mir_eval.separation.bss_eval_sources(refs, ests, compute_permutation=False)
    return sdr, sir, sar


def run_cleave(cleave, item, model, op, tmp, extra=()):
    tag = os.path.splitext(os.path.basename(model))[0]
    out = os.path.join(tmp, f'out_{tag}_{op}_{os.path.basename(item["path"])}')
    cmd = [cleave, 'separate', item['path'], '-o', out, '--model', model]
    if op == 'low-latency':
        cmd += ['--op', 'low-latency']
    cmd += list(extra)
    subprocess.run(cmd, check=True)
    v = sf.read(os.path.join(out, 'vocals.wav'), dtype='float32', always_2d=True)[0]
    a = sf.read(os.path.join(out, 'accompaniment.wav'), dtype='float32', always_2d=True)[0]
    return v, a


def run_karaoke(item, tmp):
    out = item['path'] + '.karaoke.wav'
    subprocess.run(['applyplugin', item['path'], out, '/usr/lib/ladspa/karaoke_1409.so',
                    'karaoke', '-70'], check=True, stdout=subprocess.DEVNULL)
    a = sf.read(out, dtype='float32', always_2d=True)[0][: len(item['mix'])]
    if len(a) < len(item['mix']):
        a = np.pad(a, ((0, len(item['mix']) - len(a)), (0, 0)))
    return item['mix'] - a, a


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--cleave', default=os.path.join(ROOT, 'build', 'host', 'cleave'))
    ap.add_argument('--seconds', type=float, default=15.0)
    ap.add_argument('--offset', type=float, default=40.0, help='start of the excerpt in each song (s)')
    ap.add_argument('--models', default='centre', help='comma-separated cleave models to score')
    ap.add_argument('--voice-shift', type=int, default=50,
                    help='which PJS songs sing (the centre parameters were tuned with shift 0, offset 60 s)')
    ap.add_argument('--json', help='write results here')
    args = ap.parse_args()
    methods = {}
    with tempfile.TemporaryDirectory() as tmp:
        items = build_mixtures(tmp, args.seconds, args.offset, args.voice_shift)
        for it in items:
            res = {}
            for model in args.models.split(','):
                for op in ('quality', 'low-latency'):
                    v, a = run_cleave(args.cleave, it, model, op, tmp)
                    res[f'{model} ({op})'] = bss(it['voc'], it['acc'], v, a)
            v, a = run_karaoke(it, tmp)
            res['swh Karaoke 1409 (mid/side)'] = bss(it['voc'], it['acc'], v, a)
            mid = it['mix'].mean(axis=1, keepdims=True).repeat(2, axis=1)
            res['plain mid/side'] = bss(it['voc'], it['acc'], mid, it['mix'] - mid)
            res['mixture as vocals'] = bss(it['voc'], it['acc'], it['mix'], it['mix'] - it['mix'] * 0.999)
            for k, (sdr, sir, sar) in res.items():
                methods.setdefault(k, []).append(dict(song=it['name'], sdr=sdr.tolist(), sir=sir.tolist(), sar=sar.tolist()))
            print(it['name'], ' '.join(f'{k}: {r[0][0]:.2f}/{r[0][1]:.2f}' for k, r in res.items()), flush=True)
    print('\nMean over %d songs (%.0f s excerpts, 44.1 kHz stereo), SDR/SIR/SAR in dB' % (len(items), args.seconds))
    print('| method | vocals SDR | vocals SIR | vocals SAR | accomp. SDR | accomp. SIR | accomp. SAR |')
    print('|---|---|---|---|---|---|---|')
    summary = {}
    for k, rows in methods.items():
        m = {key: np.mean([r[key] for r in rows], axis=0) for key in ('sdr', 'sir', 'sar')}
        summary[k] = {key: m[key].tolist() for key in m}
        print(f'| {k} | {m["sdr"][0]:.2f} | {m["sir"][0]:.2f} | {m["sar"][0]:.2f} | {m["sdr"][1]:.2f} | {m["sir"][1]:.2f} | {m["sar"][1]:.2f} |')
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(dict(summary=summary, per_song=methods, seconds=args.seconds), f, indent=1)


if __name__ == '__main__':
    main()
