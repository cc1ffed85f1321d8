#!/usr/bin/python3
# SPDX-License-Identifier: ISC
"""Tagging accuracy of the SHIPPED tagger weights with models/train/eval_tag.py.

    /usr/bin/python3 tests/bench/tag_quality.py models/tagger.clvm docs/results/tag_eval.json \
        [--rotations models/train/runs/tag_f12 models/train/runs/tag_f13 models/train/runs/tag_f23]

eval_tag.py evaluates a training run directory (model.pt with a TagNet state dict).
The shipped .clvm holds the network with batch norm folded into the convolutions,
so this rebuilds an exactly equivalent TagNet from it: convolution weights as
stored, each batch norm an identity (running mean 0, running variance 1 - eps,
scale 1) whose shift is the folded convolution bias. The check below proves the
rebuilt TagNet matches a direct evaluation of the stored weights before eval_tag.py
runs on it (in a temporary run directory), with the held-out fold the file's
metadata implies (the us8k fold it was not trained on). eval.json is copied to
the output with the model file and its training metadata added.

When the shipped model was trained on every UrbanSound8K fold here, no held-out
fold is left for its accuracy; --rotations then gives the fold-rotation runs of
the same recipe (train on two folds, test on the third; run directories with a
model.pt): eval_tag.py runs on a copy of each (their eval.json is not touched)
and the results go under "rotations".
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, '..', '..'))
TRAIN = os.path.join(ROOT, 'models', 'train')
sys.path.insert(0, TRAIN)
sys.path.insert(0, HERE)
from clvm import read_clvm  # noqa: E402
from tag_model import TagNet  # noqa: E402
from peers import TagPlain  # noqa: E402


def eval_run(model_pt, args):
    """eval_tag.py on a temporary run directory holding model.pt; returns eval.json."""
    with tempfile.TemporaryDirectory(prefix='clv_tagq_') as run:
        if isinstance(model_pt, dict):
            torch.save(model_pt, os.path.join(run, 'model.pt'))
        else:
            shutil.copy(model_pt, os.path.join(run, 'model.pt'))
        r = subprocess.run([sys.executable, os.path.join(TRAIN, 'eval_tag.py'), run] + args, cwd=TRAIN,
                           capture_output=True, text=True)
        if r.returncode != 0:
            sys.exit(f'tag_quality: eval_tag.py failed ({r.returncode}): {r.stderr.strip()[-500:]}')
        with open(os.path.join(run, 'eval.json')) as f:
            return json.load(f)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('model')
    ap.add_argument('out')
    ap.add_argument('--rotations', nargs='*', default=[])
    a = ap.parse_args()
    path, out = a.model, a.out
    torch.set_num_threads(1)
    tensors, meta = read_clvm(path)
    if meta.get('arch') != 'cleave-tagger-cnn':
        sys.exit(f'tag_quality: {path}: arch {meta.get("arch")!r} is not cleave-tagger-cnn')
    t = {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in tensors.items()}
    net = TagNet(n_labels=len(meta['labels']), channels=tuple(int(c) for c in meta['channels']),
                 n_mels=int(meta['n_mels']))
    sd = net.state_dict()
    sd['norm_mean'] = torch.from_numpy(t['norm_mean'])
    sd['norm_std'] = torch.from_numpy(t['norm_std'])
    for i in range(len(net.convs)):
        sd[f'convs.{i}.weight'] = torch.from_numpy(t[f'convs.{i}.weight'])
        bn = net.bns[i]
        sd[f'bns.{i}.weight'] = torch.ones_like(sd[f'bns.{i}.weight'])
        sd[f'bns.{i}.bias'] = torch.from_numpy(t[f'convs.{i}.bias'])
        sd[f'bns.{i}.running_mean'] = torch.zeros_like(sd[f'bns.{i}.running_mean'])
        sd[f'bns.{i}.running_var'] = torch.full_like(sd[f'bns.{i}.running_var'], 1.0 - bn.eps)
    sd['fc.weight'] = torch.from_numpy(t['fc.weight'])
    sd['fc.bias'] = torch.from_numpy(t['fc.bias'])
    net.load_state_dict(sd)
    net.eval()
    with torch.no_grad():
        x = torch.randn(2, int(meta['window_frames']), int(meta['n_mels'])) * 2.0 - 6.0
        pa = torch.sigmoid(net(x))
        pb = TagPlain(t).eval()(x)
        err = float((pa - pb).abs().max())
    if err > 1e-5:
        sys.exit(f'tag_quality: rebuilt TagNet differs from the stored weights by {err:.2e}')
    folds = str(meta.get('train_folds', '1,2'))
    res = eval_run({'model': net.state_dict(), 'args': {'folds': folds}}, [])
    res['run'] = None
    rot = []
    for d in a.rotations:
        mp = os.path.join(d, 'model.pt')
        if not os.path.exists(mp):
            print(f'tag_quality: {mp}: missing, rotation skipped', file=sys.stderr)
            continue
        r = eval_run(mp, [])
        r['run'] = os.path.relpath(os.path.abspath(d), ROOT)
        rot.append(r)
    if rot:
        res['rotations'] = rot
    res['model_file'] = os.path.relpath(os.path.abspath(path), ROOT)
    res['model_meta'] = {k: meta[k] for k in ('train_folds', 'train_steps', 'train_commit', 'license')
                         if k in meta}
    res['rebuild_max_error'] = err
    with open(out + '.tmp', 'w') as f:
        json.dump(res, f, indent=1)
    os.replace(out + '.tmp', out)
    for r in [res] + rot:
        acc = r.get('us8k_acc', {})
        print(f'{r.get("run") or path}: us8k fold {r.get("test_fold")} accuracy ' +
              (', '.join(f'{k} {v:.3f}' for k, v in acc.items()) or 'none (no held-out fold)'))
    return 0


if __name__ == '__main__':
    sys.exit(main())
