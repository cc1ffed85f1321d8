#!/usr/bin/python3
# SPDX-License-Identifier: ISC
"""One streaming step of a shipped cleave network in PyTorch and in ONNX Runtime,
one thread each; prints one JSON object (times in microseconds per step).

    /usr/bin/python3 tests/bench/peers.py models/hourglass.clvm TMPDIR

The weights come from the .clvm file itself (models/train/clvm.py), so the peers
run exactly the network cleave ships:
  stacked_hourglass_band_gru  models/train/sep_models.py StackedHourglass, one STFT
      frame: the magnitudes of the lookahead context (frames t-1 .. t+L) and the GRU
      states in, the vocal mask of frame t and the new states out (states carried
      from step to step, as cleave's clv_hourglass_step does);
  cleave-tagger-cnn  the models/train/tag_model.py TagNet (batch norm folded, as
      exported) on one 3 s window of log-mel frames -> 13 scores.
The step wrapper is checked against the full PyTorch model (the hourglass step
against StackedHourglass.forward on the same frames), and ONNX Runtime's first
output against PyTorch's; a mismatch is reported in "note" and "ok": false.
Timers and the ONNX Runtime driver are tests/bench_peers.py's (median of 7
repetitions of >= 20 ms of steps, wall clock) and tests/peers/ort_step.js; the
PyTorch step's thread CPU time is given beside (torch_cpu_us).
"""
import json
import os
import sys

import numpy as np
import torch
import torch.nn as nn

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, '..', '..'))
sys.path.insert(0, os.path.join(ROOT, 'models', 'train'))
sys.path.insert(0, os.path.join(ROOT, 'tests'))
import bench_peers as bp  # noqa: E402  (sets torch to one thread)
from clvm import read_clvm  # noqa: E402

torch.set_num_threads(1)


class HourglassStep(nn.Module):
    """One frame of sep_models.StackedHourglass with explicit GRU states."""

    def __init__(self, model):
        super().__init__()
        self.m = model

    def forward(self, mag_ctx, h):  # mag_ctx [1, ctx, BINS], h [stacks, 1, hidden]
        m = self.m
        nb, bw = m.nb, m.bw
        xn = (m.features(mag_ctx[..., : nb * bw]) - m.in_mean) * m.in_scale
        xb = xn.reshape(1, m.ctx, nb, bw)
        ctx = torch.cat([xb[:, k:k + 1] for k in range(m.ctx)], dim=-1)  # [1, 1, nb, ctx*bw]
        mk, u0, h0 = m.stacks[0](ctx, h[0:1])
        hs = [h0]
        xc = xb[:, 1:2]
        for i, s in enumerate(m.stacks[1:]):
            mk, u0, hi = s(torch.cat([xc, mk.reshape(1, 1, nb, bw), u0], dim=-1), h[i + 1:i + 2])
            hs.append(hi)
        mask = torch.cat([mk, mk[..., -1:]], dim=-1)[:, 0]  # [1, BINS]
        return mask, torch.cat(hs, dim=0)


class TagPlain(nn.Module):
    """TagNet as exported: conv (batch norm folded in) + ReLU, pooling, mean/max, linear."""

    def __init__(self, t):
        super().__init__()
        self.register_buffer('mean', torch.from_numpy(t['norm_mean']))
        self.register_buffer('std', torch.from_numpy(t['norm_std']))
        self.convs = nn.ModuleList()
        i = 0
        while f'convs.{i}.weight' in t:
            w = torch.from_numpy(t[f'convs.{i}.weight'])
            c = nn.Conv2d(w.shape[1], w.shape[0], 3, padding=1)
            c.weight.data.copy_(w)
            c.bias.data.copy_(torch.from_numpy(t[f'convs.{i}.bias']))
            self.convs.append(c)
            i += 1
        self.fc = nn.Linear(t['fc.weight'].shape[1], t['fc.weight'].shape[0])
        self.fc.weight.data.copy_(torch.from_numpy(t['fc.weight']))
        self.fc.bias.data.copy_(torch.from_numpy(t['fc.bias']))
        self.pool = nn.MaxPool2d(2)

    def forward(self, x):  # x [1, T, F] log-mel
        x = ((x - self.mean) / self.std).transpose(1, 2).unsqueeze(1)
        n = len(self.convs)
        for i, c in enumerate(self.convs):
            x = torch.relu(c(x))
            if i < n - 1:
                x = self.pool(x)
        h = x.mean(dim=2)
        return torch.sigmoid(self.fc(torch.cat([h.mean(dim=2), h.amax(dim=2)], dim=1)))


def cpu_step_us(step, reps=7, min_s=0.02):
    """Median thread CPU time per step (beside bench_peers' wall-clock median: on a
    shared machine the wall figure also holds time other processes took)."""
    import time
    step()
    iters = 1
    while True:
        t0 = time.thread_time()
        for _ in range(iters):
            step()
        dt = time.thread_time() - t0
        if dt >= min_s:
            break
        iters *= 10 if dt < 0.002 else int(0.025 / dt) + 1
    r = []
    for _ in range(reps):
        t0 = time.thread_time()
        for _ in range(iters):
            step()
        r.append((time.thread_time() - t0) / iters * 1e6)
    return sorted(r)[reps // 2]


def f32(t):
    return {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in t.items()}


def export_and_time_ort(net, args, names_in, names_out, spec, tmp, base):
    try:
        import onnx  # noqa: F401
    except ImportError:
        return None, [], 'python3-onnx missing: torch.onnx.export unavailable'
    op = os.path.join(tmp, base + '.onnx')
    torch.onnx.export(net, args, op, input_names=names_in, output_names=names_out, opset_version=14)
    return bp.run_ort(op, spec, tmp)


@torch.no_grad()
def hourglass(tensors, meta, tmp):
    import sep_models as M
    cfg = {k: int(meta[k]) for k in ('stacks', 'd0', 'd1', 'd2', 'hidden', 'lookahead', 'nb', 'bw')}
    model = M.StackedHourglass(**cfg).eval()
    model.load_state_dict({k: torch.from_numpy(v) for k, v in f32(tensors).items()})
    step = HourglassStep(model).eval()
    torch.manual_seed(0)
    mag = torch.rand(1, model.ctx, M.BINS) * 3.0
    h0 = torch.zeros(cfg['stacks'], 1, cfg['hidden'])
    mask, _ = step(mag, h0)
    full = model(mag)[-1][:, 0]  # the whole model on the same ctx frames: one output frame
    err = float((mask - full).abs().max())
    note = '' if err < 1e-5 else f'step wrapper differs from StackedHourglass.forward by {err:.2e}'
    state = {'h': h0}

    def torch_step():
        _, state['h'] = step(mag, state['h'])
    t_torch = bp.median_step_us(torch_step)
    c_torch = cpu_step_us(torch_step)
    spec = {'inputs': {'mag': {'shape': list(mag.shape), 'data': mag.ravel().tolist()},
                       'h': {'shape': list(h0.shape), 'data': h0.ravel().tolist()}},
            'state': {'h_out': 'h'}, 'check': 'mask'}
    t_ort, ort_steps, ort_note = export_and_time_ort(step, (mag, h0), ['mag', 'h'], ['mask', 'h_out'],
                                                     spec, tmp, 'hourglass_step')
    ref = bp.summary(mask)
    if ort_steps and not bp.close(ort_steps[0], ref):
        ort_note = f'ORT output differs from PyTorch: {ort_steps[0]} vs {ref}'
    return dict(torch_us=t_torch, torch_cpu_us=c_torch, ort_us=t_ort, params=M.count_params(model),
                step='one STFT frame (16 kHz, hop 256 = 16 ms): mask of frame t from frames t-1..t+L, '
                     'GRU states carried',
                ok=not note and not (ort_note and 'differs' in ort_note),
                note='; '.join(x for x in (note, ort_note) if x))


@torch.no_grad()
def tagger(tensors, meta, tmp):
    net = TagPlain(f32(tensors)).eval()
    T, F = int(meta['window_frames']), int(meta['n_mels'])
    torch.manual_seed(0)
    x = torch.randn(1, T, F) * 2.0 - 6.0
    y = net(x)
    t_torch = bp.median_step_us(lambda: net(x))
    c_torch = cpu_step_us(lambda: net(x))
    spec = {'inputs': {'x': {'shape': [1, T, F], 'data': x.ravel().tolist()}}, 'check': 'scores'}
    t_ort, ort_steps, ort_note = export_and_time_ort(net, (x,), ['x'], ['scores'], spec, tmp, 'tagger_step')
    ref = bp.summary(y)
    if ort_steps and not bp.close(ort_steps[0], ref):
        ort_note = f'ORT output differs from PyTorch: {ort_steps[0]} vs {ref}'
    return dict(torch_us=t_torch, torch_cpu_us=c_torch, ort_us=t_ort,
                params=int(sum(v.size for v in tensors.values())),
                step=f'CNN on one {T}-frame log-mel window ({F} bands), 13 sigmoid scores',
                ok=not (ort_note and 'differs' in ort_note), note=ort_note)


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    path, tmp = sys.argv[1], sys.argv[2]
    os.makedirs(tmp, exist_ok=True)
    tensors, meta = read_clvm(path)
    arch = meta.get('arch', '')
    if arch == 'stacked_hourglass_band_gru':
        out = hourglass(tensors, meta, tmp)
    elif arch == 'cleave-tagger-cnn':
        out = tagger(tensors, meta, tmp)
    else:
        out = dict(torch_us=None, ort_us=None, note=f'{path}: no PyTorch twin for architecture {arch!r}')
    out.update(arch=arch, torch_version=torch.__version__, threads=torch.get_num_threads())
    print(json.dumps(out))
    return 0


if __name__ == '__main__':
    sys.exit(main())
