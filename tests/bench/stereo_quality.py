#!/usr/bin/python3
# SPDX-License-Identifier: ISC
"""Quality of every registry separator on full-band 44.1 kHz stereo mixtures, next
to the classic real-time baseline (swh-plugins Karaoke through applyplugin).

    /usr/bin/python3 tests/bench/stereo_quality.py --cleave build/host/cleave \
        --models centre,hourglass --json docs/results/stereo_eval.json

The protocol, mixtures and scoring are models/train/eval_centre.py's (imported, not
copied): PJS voices over Frets on Fire bands, 15 s excerpts, BSS Eval SDR/SIR/SAR
per stem. The difference: every separator at every operating point it offers;
one that refuses an operating point (e.g. a model whose latency is above the
low-latency limit) is recorded as unavailable there instead of stopping the run.
Output JSON has eval_centre.py's layout (summary, per_song, seconds) plus
"unavailable": {method: reason}.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, '..', '..'))
sys.path.insert(0, os.path.join(ROOT, 'models', 'train'))
import eval_centre as ec  # noqa: E402

OPS = ('quality', 'low-latency')


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--cleave', required=True)
    ap.add_argument('--models', required=True, help='comma-separated separators')
    ap.add_argument('--seconds', type=float, default=15.0)
    ap.add_argument('--offset', type=float, default=40.0)
    ap.add_argument('--voice-shift', type=int, default=50)
    ap.add_argument('--json', required=True)
    a = ap.parse_args()
    methods, unavailable = {}, {}
    with tempfile.TemporaryDirectory(prefix='clv_stereo_') as tmp:
        items = ec.build_mixtures(tmp, a.seconds, a.offset, a.voice_shift)
        for it in items:
            res = {}
            for model in a.models.split(','):
                for op in OPS:
                    key = f'{model} ({op})'
                    if key in unavailable:
                        continue
                    try:
                        v, av = ec.run_cleave(a.cleave, it, model, op, tmp)
                    except subprocess.CalledProcessError as e:
                        unavailable[key] = f'cleave separate exited with {e.returncode}'
                        continue
                    res[key] = ec.bss(it['voc'], it['acc'], v, av)
            v, av = ec.run_karaoke(it, tmp)
            res['swh Karaoke 1409 (mid/side)'] = ec.bss(it['voc'], it['acc'], v, av)
            mid = it['mix'].mean(axis=1, keepdims=True).repeat(2, axis=1)
            res['plain mid/side'] = ec.bss(it['voc'], it['acc'], mid, it['mix'] - mid)
            for k, (sdr, sir, sar) in res.items():
                methods.setdefault(k, []).append(dict(song=it['name'], sdr=sdr.tolist(), sir=sir.tolist(),
                                                      sar=sar.tolist()))
            print(it['name'], ' '.join(f'{k}: {r[0][0]:.2f}/{r[0][1]:.2f}' for k, r in res.items()), flush=True)
    summary = {}
    for k, rows in methods.items():
        m = {key: np.mean([r[key] for r in rows], axis=0) for key in ('sdr', 'sir', 'sar')}
        summary[k] = {key: m[key].tolist() for key in m}
        print(f'| {k} | {m["sdr"][0]:.2f} | {m["sir"][0]:.2f} | {m["sar"][0]:.2f} | '
              f'{m["sdr"][1]:.2f} | {m["sir"][1]:.2f} | {m["sar"][1]:.2f} |')
    with open(a.json + '.tmp', 'w') as f:
        json.dump(dict(summary=summary, per_song=methods, seconds=a.seconds, songs=len(items),
                       unavailable=unavailable, protocol='models/train/eval_centre.py mixtures and scoring'),
                  f, indent=1)
    os.replace(a.json + '.tmp', a.json)
    return 0


if __name__ == '__main__':
    sys.exit(main())
