# SPDX-License-Identifier: ISC
"""Exports a trained tagger to .clvm (batch norm folded into the convolutions)
and writes the golden data the C tests compare against.

  /usr/bin/python3 export_tag.py runs/tag_all/model.pt ../tagger.clvm \
      --golden ../../tests/golden/tagger_golden.h

Tensors: norm_mean, norm_std [64]; convs.{i}.weight [C_out, C_in, 3, 3] and
convs.{i}.bias [C_out] (batch norm folded); fc.weight [13, 2 C], fc.bias [13].
Metadata: arch, front-end parameters, labels, channels, window/step frames,
hysteresis thresholds, training commit and folds, licence (and the weight
averaging of an SWA run: train_swa_steps, train_swa_every, train_swa_lr).

The golden header holds, for the test signal of tag_golden_mel.py (5.05 s at
16 kHz), the sigmoid scores of every rolling step (eval_tag.stream_steps: a 3 s
window every 0.5 s, one last step at the end), and a direct window check.
"""
import argparse
import os
import subprocess

import numpy as np
import torch

import clvm
import tag_data as td
import tag_features as tf
import tag_golden_mel
from eval_tag import STEP, WIN, stream_steps
from tag_model import TagNet, from_args

THRESH_ON = 0.5
THRESH_OFF = 0.3


def backbone_tensors(m):
    """The TagNet backbone's tensors with batch norm folded, and its channels."""
    sd = {k: v.detach().numpy().astype(np.float64) for k, v in m.state_dict().items()}
    tensors = {'norm_mean': sd['norm_mean'].astype(np.float32),
               'norm_std': sd['norm_std'].astype(np.float32)}
    chans = []
    for i in range(len(m.convs)):
        w, b = clvm.fold_batchnorm(sd['convs.%d.weight' % i], None,
                                   sd['bns.%d.running_mean' % i], sd['bns.%d.running_var' % i],
                                   sd['bns.%d.weight' % i], sd['bns.%d.bias' % i],
                                   eps=m.bns[i].eps)
        tensors['convs.%d.weight' % i] = w
        tensors['convs.%d.bias' % i] = b
        chans.append(int(w.shape[0]))
    return tensors, chans


def backbone_folded(t2, m, x):
    """The backbone from exported tensors t2 on log-mel x (B, T, F) -> (B, C, T')."""
    h = ((x - torch.from_numpy(t2['norm_mean'])) / torch.from_numpy(t2['norm_std']))
    h = h.transpose(1, 2).unsqueeze(1)
    n = len(m.convs)
    for i in range(n):
        h = torch.relu(torch.nn.functional.conv2d(
            h, torch.from_numpy(t2['convs.%d.weight' % i]).float(),
            torch.from_numpy(t2['convs.%d.bias' % i]).float(), padding=1))
        if i < n - 1:
            h = torch.nn.functional.max_pool2d(h, 2)
    return h.mean(2)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('model')
    ap.add_argument('out')
    ap.add_argument('--golden')
    a = ap.parse_args()
    torch.set_num_threads(1)
    st = torch.load(a.model)
    m = from_args(st['args'])
    m.load_state_dict(st['model'])
    m.eval()
    sd = {k: v.detach().numpy().astype(np.float64) for k, v in m.state_dict().items()}
    tensors, chans = backbone_tensors(m)
    tensors['fc.weight'] = sd['fc.weight'].astype(np.float32)
    tensors['fc.bias'] = sd['fc.bias'].astype(np.float32)
    try:
        commit = subprocess.run(['git', 'rev-parse', 'HEAD'], capture_output=True, text=True,
                                cwd=os.path.dirname(os.path.abspath(__file__))).stdout.strip()
    except OSError:
        commit = 'unknown'
    meta = {'arch': 'cleave-tagger-cnn', 'kind': 'tagger', 'format_rev': 1,
            'sample_rate': tf.SR, 'n_fft': tf.N_FFT, 'hop': tf.HOP, 'n_mels': tf.N_MELS,
            'fmin': float(tf.FMIN), 'fmax': float(tf.FMAX), 'log_floor': float(tf.LOG_FLOOR),
            'mel_scale': 'htk', 'window': 'sqrt-hann-periodic',
            'labels': list(td.LABELS), 'channels': chans,
            'window_frames': WIN, 'step_frames': STEP,
            'threshold_on': THRESH_ON, 'threshold_off': THRESH_OFF,
            'train_folds': st['args']['folds'], 'train_steps': int(st['args']['steps']),
            'train_seed': int(st['args']['seed']),
            'train_commit': commit or 'unknown',
            'license': 'CC BY-NC 3.0 (trained on UrbanSound8K; MIR-1K research use)'}
    if int(st['args'].get('swa_steps', 0)) > 0:  # stochastic weight averaging (train_tag.py)
        meta['train_swa_steps'] = int(st['args']['swa_steps'])
        meta['train_swa_every'] = int(st['args']['swa_every'])
        meta['train_swa_lr'] = st['args']['swa_lr']
    clvm.write_clvm(a.out, tensors, meta)
    # check the export: folded weights reproduce the PyTorch network
    t2, _ = clvm.read_clvm(a.out)
    x = torch.randn(1, WIN, tf.N_MELS) * 2 - 5
    with torch.no_grad():
        ref = torch.sigmoid(m(x))[0].numpy()
        h = backbone_folded(t2, m, x)
        h = torch.cat([h.mean(2), h.amax(2)], 1)
        got = torch.sigmoid(h @ torch.from_numpy(t2['fc.weight']).T
                            + torch.from_numpy(t2['fc.bias']))[0].numpy()
    err = float(np.abs(ref - got).max())
    print('wrote %s; folded-export max error %.2e' % (a.out, err))
    assert err < 1e-4
    if a.golden:
        n = 16000 * 5 + 777  # 5.05 s: the window ring wraps, one last partial step
        x = tag_golden_mel.signal(n)
        f = tf.logmel(x.astype(np.float64))
        steps = stream_steps(m, f)
        with open(a.golden, 'w') as fh:
            fh.write('/* SPDX-License-Identifier: ISC */\n')
            fh.write('/* Generated by models/train/export_tag.py for %s; do not edit.\n'
                     ' * Rolling scores of the PyTorch tagger on the test signal of\n'
                     ' * tests/golden/mel_golden.h. */\n' % os.path.basename(a.out))
            fh.write('#define TAG_GOLDEN_N %d\n#define TAG_GOLDEN_STEPS %d\n'
                     '#define TAG_GOLDEN_LABELS %d\n' % (n, len(steps), len(td.LABELS)))
            fh.write('static const int tag_golden_end_frame[%d] = {%s};\n'
                     % (len(steps), ', '.join(str(e) for e, _ in steps)))
            fh.write('static const float tag_golden_scores[%d] = {\n' % (len(steps) * len(td.LABELS)))
            for _, p in steps:
                fh.write('    ' + ', '.join('%.9gf' % v for v in p) + ',\n')
            fh.write('};\n')
        print('wrote', a.golden, len(steps), 'steps')


if __name__ == '__main__':
    main()
