#!/usr/bin/python3
# SPDX-License-Identifier: ISC
"""Exports a trained separator checkpoint to a shipped .clvm model file, and
(optionally) writes the golden data the C test compares against.

  /usr/bin/python3 models/train/export_sep.py models/train/runs/hg2_la4/ckpt.pt \
      models/hourglass.clvm --golden tests/golden/hourglass_golden.clvm

Tensors keep their PyTorch state_dict names and shapes (in_mean, in_scale,
stacks.{s}.enc0.weight [nb, d0, cin], stacks.{s}.gru.weight_ih_l0, ...).
Metadata: arch, kind, sample_rate, n_fft, hop, window, the network sizes,
lookahead, latency_frames_model_rate, training command/steps/seed/commit, licence.

The golden file holds a deterministic synthetic test signal (2 s at 16 kHz: a
sung-like harmonic tone with vibrato and formants over chords, noise bursts and
a kick) as tensor 'input', and PyTorch's offline vocals on the streaming framing
(sep_models.separate) as 'vocals'. No audio from ../shared is committed.
"""
import argparse
import os
import subprocess
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import clvm  # noqa: E402
import sep_models as M  # noqa: E402


def golden_signal(sr=16000, seconds=2.0, seed=7):
    """Returns (mixture, voice) float32."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(sr * seconds)) / sr
    f0 = 220 * 2 ** (np.floor(t * 2) % 5 / 12) * (1 + 0.01 * np.sin(2 * np.pi * 5.5 * t))
    ph = 2 * np.pi * np.cumsum(f0) / sr
    voice = sum(np.sin(k * ph) / k * np.exp(-((k * f0 - 700) / 600) ** 2 * 0.5 + 0.3)
                for k in range(1, 25))
    voice *= 0.15 * (0.6 + 0.4 * np.sin(2 * np.pi * 1.5 * t) ** 2)
    chords = sum(0.04 * np.sin(2 * np.pi * f * t) for f in (110, 164.8, 196, 261.6, 329.6))
    noise = 0.03 * rng.standard_normal(t.size) * (np.sin(2 * np.pi * 4 * t) > 0.7)
    kick = 0.3 * np.sin(2 * np.pi * 55 * t) * np.exp(-((t % 0.5) * 20))
    return (voice + chords + noise + kick).astype(np.float32), voice.astype(np.float32)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('ckpt')
    ap.add_argument('out')
    ap.add_argument('--golden')
    ap.add_argument('--command', default='', help='training command line for the metadata')
    ap.add_argument('--block', type=int, default=0,
                    help='waveunet: stream in blocks of about this many output samples instead of '
                         'the training block (latency block + ctx; with a recurrent bottleneck the '
                         'output does not depend on it, only the latency and the cost per sample)')
    a = ap.parse_args()
    torch.set_num_threads(1)
    ck = torch.load(a.ckpt, map_location='cpu')
    model = M.build(ck['arch'], **ck['cfg'])
    model.load_state_dict(ck['model'])
    model.eval()
    cfg = dict(ck['cfg'])
    if a.block:
        import sep_wave as W
        if not isinstance(model, W.WaveUNet):
            raise SystemExit('--block is for Wave-U-Net checkpoints')
        rebuilt = W.WaveUNet(**{**cfg, 'block': a.block})
        rebuilt.load_state_dict(model.state_dict())
        model = rebuilt.eval()
        cfg['block'] = model.block
        print(f'streaming block {model.block} (hop {model.hop}, ctx {model.ctx})')
    # shipped as float16 (half the size); the reference model below uses the same
    # rounded weights, so the golden data is what the C network must reproduce
    sd = {k: v.detach().numpy().astype(np.float16).astype(np.float32) for k, v in model.state_dict().items()}
    model.load_state_dict({k: torch.from_numpy(v) for k, v in sd.items()})
    tensors = {k: v.astype(np.float16) for k, v in sd.items()}
    try:
        commit = subprocess.run(['git', 'rev-parse', 'HEAD'], capture_output=True, text=True,
                                cwd=os.path.dirname(os.path.abspath(__file__))).stdout.strip()
    except OSError:
        commit = ''
    args = ck.get('args', {})
    cmd = a.command or ('nice /usr/bin/python3 models/train/train_sep.py ' + ' '.join(
        f'--{k.replace("_", "-")} {" ".join(map(str, v)) if isinstance(v, list) else v}'
        for k, v in args.items() if k not in ('resume', 'data') and v is not None and v is not False))
    if getattr(model, 'domain', 'spec') == 'wave':
        import sep_wave as W
        if isinstance(model, W.WaveUNet):
            # blocks of `block` output samples, each from [block + 2 ctx] input samples
            lat = model.block + model.ctx
            meta = {'block': model.block, 'ctx': model.ctx, 'slope': 0.2,
                    'output': 'vocals = out([up features, input]); accompaniment = mixture - vocals',
                    'upsample': 'linear interpolation (2m-1), then valid conv'}
        else:
            # steps of S^depth samples; output [j*step, (j+1)*step) final once input
            # [j*step, j*step + step + lookahead) is in
            steps = -(-(model.step + model.lookahead) // model.step)
            lat = steps * model.step
            meta = {'step': model.step, 'lookahead': model.lookahead,
                    'output': 'vocals; accompaniment = mixture - vocals'}
            if isinstance(model, W.HybridDemucs):
                sp = model.spec
                meta.update({'spec_stacks': len(sp.stacks), 'spec_lookahead': sp.lookahead,
                             'spec_bw': sp.bw, 'spec_window': 'sqrt-hann-periodic',
                             'output': 'vocals = time branch + iSTFT(spectral mask x mixture, '
                                       'mixture phase); accompaniment = mixture - vocals'})
                # the spectral branch may lag more; the time branch is delayed to match
                lat = model.latency
        meta.update({'latency_samples_model_rate': lat})
    else:
        meta = {'n_fft': M.N_FFT, 'hop': M.HOP, 'window': 'sqrt-hann-periodic',
                'mask': 'sigmoid ratio mask, mixture phase; accompaniment = mixture - vocals',
                'latency_frames_model_rate': M.N_FFT - M.HOP + model.lookahead * M.HOP}
    meta.update({'arch': model.arch, 'kind': 'separator', 'format_rev': 1,
            'sample_rate': 16000, 'labels': ['vocals'],
            'train_steps': int(ck['step']), 'train_seed': int(args.get('seed', 0)),
            'train_minutes': float(ck['elapsed'] / 60), 'train_command': cmd,
            'train_data': 'MIR-1K train (remixed) + PJS songs as extra voices',
            'train_commit': commit or 'unknown',
            'license': 'research/non-commercial (trained on MIR-1K)'})
    for k, v in cfg.items():
        meta[k] = int(v)
    clvm.write_clvm(a.out, tensors, meta)
    t2, m2 = clvm.read_clvm(a.out)
    if not all(np.array_equal(t2[k], tensors[k]) for k in tensors):
        raise SystemExit(f'{a.out}: read-back differs from what was written')
    print(f'{a.out}: {M.count_params(model)} parameters, {os.path.getsize(a.out)} bytes, step {ck["step"]}')
    if a.golden:
        x, voice = golden_signal()
        v = M.separate(model, torch.from_numpy(x)).numpy()
        os.makedirs(os.path.dirname(os.path.abspath(a.golden)), exist_ok=True)
        clvm.write_clvm(a.golden, {'input': x, 'voice': voice, 'vocals': v.astype(np.float32)},
                        {'arch': 'golden', 'model': os.path.basename(a.out), 'sample_rate': 16000,
                         'note': 'vocals = sep_models.separate(model, input); stream framing, '
                                 'not delayed (the C output lags by the separator latency)'})
        def sdr(r, e):
            return 10 * np.log10(np.sum(r.astype(np.float64) ** 2) / np.sum((r - e).astype(np.float64) ** 2))
        print(f'{a.golden}: {x.size} samples; PyTorch voice SDR {sdr(voice, v):.2f} dB '
              f'(mixture {sdr(voice, x):.2f} dB)')


if __name__ == '__main__':
    main()
