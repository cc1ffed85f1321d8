#!/usr/bin/python3
# SPDX-License-Identifier: ISC
"""Scores a separator on MIR-1K devtest with BSS Eval (mir_eval).

GNSDR / GSIR / GSAR for voice and accompaniment, length-weighted over clips, on
the raw left+right mixtures and on 0 dB mixtures (voice scaled to the
accompaniment's energy). NSDR = SDR(estimate) - SDR(mixture as estimate).

Sources of estimates (one of):
  --ckpt runs/NAME/ckpt.pt       PyTorch checkpoint (models/train/train_sep.py)
  --cleave BIN --model F.clvm    the C path: writes each mixture to a temp dir, runs
                                 `BIN separate MIX -o OUT --model F.clvm [--op OP]`
                                 and reads OUT/vocals.wav, OUT/accompaniment.wav
  --irm                          ideal ratio mask (|V| / (|V| + |A|), mixture phase),
                                 the ceiling of masking at STFT 1024/256
Writes JSON (--json) and prints a markdown table.

--fullband scores the C tool instead on the full-band 44.1 kHz stereo mixtures of
eval_centre.py (a PJS song panned centre over a Frets on Fire backing, Debian
packages fretsonfire-songs-*), quality point only, SDR/SIR/SAR per stem. The
backings are not in any training set; the PJS voices are (as extra voices).

Example:
  /usr/bin/python3 models/train/eval_sep.py --ckpt models/train/runs/hg2_la4/ckpt.pt \
      --json out.json --modes 0db raw
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import soundfile as sf
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sep_data  # noqa: E402
import sep_models as M  # noqa: E402


def load_ckpt(path):
    ck = torch.load(path, map_location='cpu')
    model = M.build(ck['arch'], **ck['cfg'])
    model.load_state_dict(ck['model'])
    model.eval()
    return model, ck


def bss(ref_v, ref_a, est_v, est_a):
    from mir_eval.separation import bss_eval_sources
    refs = np.stack([ref_v, ref_a]).astype(np.float64)
    ests = np.stack([est_v, est_a]).astype(np.float64)
    sdr, sir, sar, _ = bss_eval_sources(refs, ests, compute_permutation=False)
    return sdr, sir, sar


def score(clips, estimator, log=None):
    """clips: (name, mix, v, a); estimator(name, mix) -> (est_v, est_a)."""
    rows = []
    for i, (name, mix, v, a) in enumerate(clips):
        ev, ea = estimator(name, mix)
        n = min(len(mix), len(ev), len(ea))
        if n < len(mix):
            raise RuntimeError(f'{name}: estimate has {n} samples, mixture {len(mix)}')
        sdr, sir, sar = bss(v, a, ev[:len(mix)], ea[:len(mix)])
        sdr0, _, _ = bss(v, a, mix, mix)
        rows.append(dict(name=name, len=len(mix), sdr=sdr.tolist(), sir=sir.tolist(), sar=sar.tolist(),
                         nsdr=(sdr - sdr0).tolist()))
        if log:
            log(f'{i + 1}/{len(clips)} {name}: voice NSDR {sdr[0] - sdr0[0]:.2f} SDR {sdr[0]:.2f}')
    w = np.array([r['len'] for r in rows], np.float64)
    w /= w.sum()
    out = {}
    for k, src in enumerate(['voice', 'accompaniment']):
        out[src] = {
            'GNSDR': float(np.sum(w * [r['nsdr'][k] for r in rows])),
            'GSIR': float(np.sum(w * [r['sir'][k] for r in rows])),
            'GSAR': float(np.sum(w * [r['sar'][k] for r in rows])),
            'GSDR': float(np.sum(w * [r['sdr'][k] for r in rows])),
        }
    return out, rows


def torch_estimator(model):
    window = M.sqrt_hann()

    def est(name, mix):
        v = M.separate(model, torch.from_numpy(mix), window).numpy()
        return v, mix - v
    return est


def irm_estimator(clips):
    window = M.sqrt_hann()
    by_name = {c[0]: c for c in clips}

    class Irm(torch.nn.Module):
        lookahead = 0

        def forward(self, mag):
            return [self.m]

    def est(name, mix):
        _, _, v, a = by_name[name]
        # masks computed on the same stream framing that separate() uses
        pad_l = M.N_FFT - M.HOP
        S = len(mix)
        n_frames = (S + M.HOP - 1) // M.HOP + M.N_FFT // M.HOP - 1
        def spec(x):
            xp = torch.zeros(pad_l + (n_frames + 1) * M.HOP + M.HOP)
            xp[pad_l + M.HOP: pad_l + M.HOP + S] = torch.from_numpy(x)
            return M.stft(xp[None], window)[:, 1:1 + n_frames]
        Vm, Am = spec(v).abs(), spec(a).abs()
        irm = Irm()
        irm.m = Vm / (Vm + Am + 1e-8)
        ev = M.separate(irm, torch.from_numpy(mix), window).numpy()
        return ev, mix - ev
    return est


def cleave_estimator(binary, model, op, workdir, rate=None):
    def est(name, mix):
        d = os.path.join(workdir, name)
        os.makedirs(d, exist_ok=True)
        inp = os.path.join(d, 'mix.wav')
        x = mix
        sr = sep_data.SR
        if rate and rate != sr:
            from scipy.signal import resample_poly
            g = np.gcd(rate, sr)
            x = resample_poly(mix, rate // g, sr // g).astype(np.float32)
            sr = rate
        sf.write(inp, x, sr, subtype='FLOAT')
        cmd = [binary, 'separate', inp, '-o', os.path.join(d, 'out'), '--model', model]
        if op:
            cmd += ['--op', op]
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError(f'{" ".join(cmd)} failed ({r.returncode}): {r.stderr.strip()}')
        ev, esr = sf.read(os.path.join(d, 'out', 'vocals.wav'), dtype='float32', always_2d=True)
        ea, _ = sf.read(os.path.join(d, 'out', 'accompaniment.wav'), dtype='float32', always_2d=True)
        ev, ea = ev.mean(axis=1), ea.mean(axis=1)
        if esr != sep_data.SR:
            from scipy.signal import resample_poly
            g = np.gcd(esr, sep_data.SR)
            ev = resample_poly(ev, sep_data.SR // g, esr // g).astype(np.float32)
            ea = resample_poly(ea, sep_data.SR // g, esr // g).astype(np.float32)
        n = len(mix)
        ev = np.pad(ev, (0, max(0, n - len(ev))))[:n]
        ea = np.pad(ea, (0, max(0, n - len(ea))))[:n]
        return ev, ea
    return est


def table(results):
    lines = ['| system | mixtures | voice GNSDR | voice GSIR | voice GSAR | acc. GNSDR | acc. GSIR | acc. GSAR |',
             '|---|---|---|---|---|---|---|---|']
    for sysname, modes in results.items():
        for mode, r in modes.items():
            v, a = r['voice'], r['accompaniment']
            lines.append(f'| {sysname} | {mode} | {v["GNSDR"]:.2f} | {v["GSIR"]:.2f} | {v["GSAR"]:.2f} | '
                         f'{a["GNSDR"]:.2f} | {a["GSIR"]:.2f} | {a["GSAR"]:.2f} |')
    return '\n'.join(lines)


def fullband(a):
    import eval_centre as ec
    if not a.cleave or not a.model:
        raise SystemExit('--fullband needs --cleave and --model')
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        items = ec.build_mixtures(tmp, 15.0, 40.0, 50, vocal_fx=a.vocal_fx)
        for it in items:
            extra = ['--spatial', a.spatial] if a.spatial else []
            v, acc = ec.run_cleave(a.cleave, it, a.model, a.op or 'quality', tmp, extra)
            n = len(it['mix'])
            v, acc = v[:n], acc[:n]
            sdr, sir, sar = ec.bss(it['voc'], it['acc'], v, acc)
            sdr0, _, _ = ec.bss(it['voc'], it['acc'], it['mix'], it['mix'] * 0.001)
            rows.append(dict(song=it['name'], sdr=sdr.tolist(), sir=sir.tolist(), sar=sar.tolist(),
                             mix_sdr=sdr0.tolist()))
            print(f'{it["name"]}: vocals SDR {sdr[0]:.2f} (mixture {sdr0[0]:.2f}), accompaniment SDR {sdr[1]:.2f}',
                  file=sys.stderr)
    name = a.name or f'cleave {os.path.basename(a.model)}'
    m = {k: np.mean([r[k] for r in rows], axis=0).tolist() for k in ('sdr', 'sir', 'sar', 'mix_sdr')}
    print(f'Mean over {len(rows)} songs (15 s excerpts, 44.1 kHz stereo), dB')
    print('| system | vocals SDR | vocals SIR | vocals SAR | accomp. SDR | accomp. SIR | accomp. SAR |')
    print('|---|---|---|---|---|---|---|')
    print(f'| {name} | {m["sdr"][0]:.2f} | {m["sir"][0]:.2f} | {m["sar"][0]:.2f} | {m["sdr"][1]:.2f} | '
          f'{m["sir"][1]:.2f} | {m["sar"][1]:.2f} |')
    if a.json:
        with open(a.json + '.tmp', 'w') as f:
            json.dump(dict(summary=m, per_song=rows), f, indent=1)
        os.replace(a.json + '.tmp', a.json)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument('--ckpt')
    src.add_argument('--cleave', help='path to the cleave binary')
    src.add_argument('--irm', action='store_true')
    p.add_argument('--model', help='.clvm file (with --cleave)')
    p.add_argument('--op', default=None, help='quality or low-latency (with --cleave)')
    p.add_argument('--rate', type=int, default=None,
                   help='with --cleave: resample the mixture to this host rate first (e.g. 44100)')
    p.add_argument('--name', default=None, help='system name in the table')
    p.add_argument('--fullband', action='store_true',
                   help='with --cleave: full-band 44.1 kHz stereo mixtures of eval_centre.py')
    p.add_argument('--spatial', choices=['on', 'off'], default=None,
                   help='with --fullband: cleave separate --spatial (default: its default, on)')
    p.add_argument('--vocal-fx', action='store_true',
                   help='with --fullband: vocals panned off centre and in a stereo room')
    p.add_argument('--modes', nargs='+', default=['0db', 'raw'])
    p.add_argument('--limit', type=int, default=0, help='first N clips only (quick checks)')
    p.add_argument('--json')
    p.add_argument('--threads', type=int, default=1)
    p.add_argument('--data', default=None)
    p.add_argument('-v', '--verbose', action='store_true')
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    if a.fullband:
        return fullband(a)
    dev = sep_data.load_mir1k('devtest', a.data)
    if a.limit:
        dev = dev[:a.limit]
    log = (lambda m: print(m, file=sys.stderr)) if a.verbose else None
    results = {}
    name = a.name
    meta = {}
    t0 = time.time()
    for mode in a.modes:
        clips = sep_data.devtest_mixtures(dev, mode)
        if a.ckpt:
            model, ck = load_ckpt(a.ckpt)
            name = name or os.path.basename(os.path.dirname(a.ckpt))
            meta = dict(arch=ck['arch'], cfg=ck['cfg'], step=ck['step'], params=M.count_params(model))
            est = torch_estimator(model)
        elif a.irm:
            name = name or 'ideal ratio mask'
            est = irm_estimator(clips)
        else:
            if not a.model:
                p.error('--cleave needs --model')
            name = name or f'cleave {os.path.basename(a.model)}' + (f' ({a.op})' if a.op else '')
            tmp = tempfile.mkdtemp(prefix='clv_eval_')
            est = cleave_estimator(a.cleave, a.model, a.op, tmp, a.rate)
        r, rows = score(clips, est, log)
        results.setdefault(name, {})[mode] = r
        print(f'{name} {mode}: voice GNSDR {r["voice"]["GNSDR"]:.2f} dB, acc GNSDR '
              f'{r["accompaniment"]["GNSDR"]:.2f} dB ({len(clips)} clips)', file=sys.stderr)
    print(table(results))
    if a.json:
        with open(a.json + '.tmp', 'w') as f:
            json.dump(dict(results=results, meta=meta, clips=len(dev), seconds=time.time() - t0), f, indent=1)
        os.replace(a.json + '.tmp', a.json)


if __name__ == '__main__':
    main()
