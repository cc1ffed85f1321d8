# SPDX-License-Identifier: ISC
"""Exports a trained embedding network (train_embed.py) to .clvm, and writes the
small random-weight test model and the golden embeddings the C test compares
against.

  /usr/bin/python3 export_embed.py runs/embed_f12/model.pt runs/embed_f12/embed.clvm
  /usr/bin/python3 export_embed.py --test-model ../../tests/golden/similar_embed.clvm \
      --golden ../../tests/golden/similar_golden.h

Tensors: the tagger's norm_mean, norm_std [64], convs.{i}.weight [C_out, C_in, 3, 3]
and convs.{i}.bias (batch norm folded), and the projection head head.0.weight
[H, 2C], head.0.bias [H], head.2.weight [D, H], head.2.bias [D]. The tagger's
classifier is not needed and not stored. Metadata: arch cleave-embed-cnn, the
front-end parameters, channels, window_frames (shortest pass), head_hidden,
embed_dim, training folds and commit, licence.

The test model has the same layout with few channels and random weights (and
random batch-norm statistics, so the folding is exercised); it is independent of
any trained model, so the golden test does not change when models are retrained.
The golden header holds, for the test signal of tag_golden_mel.py at three
lengths (1.3 s: one padded pass; 6.2 s: one pass over 310 frames; 12.7 s: two
windows and a last one), the embedding clip_embedding() gives, and the MFCC of
the first frames.
"""
import argparse
import os
import subprocess

import numpy as np
import torch

import clvm
import tag_features as tf
import tag_golden_mel
from export_tag import backbone_folded, backbone_tensors
from embed_model import MAX_FRAMES, WINDOW, EmbedNet, clip_embedding, mfcc
from tag_model import TagNet, from_args

GOLDEN_LENGTHS = (16000 + 4800 + 77, 16000 * 6 + 3200 + 9, 16000 * 12 + 11200 + 5)


def build(st):
    a = st['args']
    m = EmbedNet(from_args(st.get('tagger_args', {})), a['hidden'], a['dim'])
    m.load_state_dict(st['model'])
    m.eval()
    return m


def export(m, out, args, tagger_args):
    """Writes model m (EmbedNet with a head) to `out`; checks the folded export."""
    bb = m.backbone
    tensors, chans = backbone_tensors(bb)
    for k, v in m.head.state_dict().items():
        tensors['head.' + k] = v.detach().numpy().astype(np.float32)
    try:
        commit = subprocess.run(['git', 'rev-parse', 'HEAD'], capture_output=True, text=True,
                                cwd=os.path.dirname(os.path.abspath(__file__))).stdout.strip()
    except OSError:
        commit = 'unknown'
    meta = {'arch': 'cleave-embed-cnn', 'kind': 'embedding', 'format_rev': 1,
            'sample_rate': tf.SR, 'n_fft': tf.N_FFT, 'hop': tf.HOP, 'n_mels': tf.N_MELS,
            'fmin': float(tf.FMIN), 'fmax': float(tf.FMAX), 'log_floor': float(tf.LOG_FLOOR),
            'mel_scale': 'htk', 'window': 'sqrt-hann-periodic',
            'channels': chans, 'window_frames': WINDOW, 'max_frames': MAX_FRAMES,
            'head_hidden': int(args['hidden']), 'embed_dim': int(args['dim']),
            'train_folds': str(args['folds']), 'train_steps': int(args['steps']),
            'train_seed': int(args['seed']), 'loss': 'supcon+bce',
            'tagger_folds': str(tagger_args.get('folds', '?')),
            'train_commit': commit or 'unknown',
            'license': args.get('license',
                                'CC BY-NC 3.0 (trained on UrbanSound8K; MIR-1K research use)')}
    clvm.write_clvm(out, tensors, meta)
    # check the export: folded weights reproduce the PyTorch network
    t2, _ = clvm.read_clvm(out)
    x = torch.randn(1, 180, tf.N_MELS) * 2 - 5
    with torch.no_grad():
        ref, _ = m(x)
        h = backbone_folded(t2, bb, x)
        p = torch.cat([h.mean(2), h.amax(2)], 1)
        z = torch.relu(p @ torch.from_numpy(t2['head.0.weight']).T + torch.from_numpy(t2['head.0.bias']))
        z = z @ torch.from_numpy(t2['head.2.weight']).T + torch.from_numpy(t2['head.2.bias'])
        got = torch.nn.functional.normalize(z, dim=1)
    err = float((ref - got).abs().max())
    print('wrote %s; folded-export max error %.2e' % (out, err))
    assert err < 1e-4


def test_model(seed=3):
    """Few channels, random weights and batch-norm statistics."""
    torch.manual_seed(seed)
    m = EmbedNet(TagNet(channels=(4, 6, 8, 8)), hidden=12, dim=6)
    with torch.no_grad():
        bb = m.backbone
        bb.norm_mean.copy_(torch.linspace(-9, -6, tf.N_MELS))
        bb.norm_std.copy_(torch.linspace(2, 3, tf.N_MELS))
        for bn in bb.bns:
            bn.running_mean.uniform_(-0.2, 0.2)
            bn.running_var.uniform_(0.5, 2.0)
            bn.weight.uniform_(0.5, 1.5)
            bn.bias.uniform_(-0.1, 0.1)
        for c in bb.convs:
            c.weight.mul_(2.0)
    m.eval()
    args = {'hidden': 12, 'dim': 6, 'folds': 'none', 'steps': 0, 'seed': seed,
            'license': 'ISC (random test weights)'}
    return m, args


def write_golden(m, path, model_name):
    D = m.head[2].out_features
    with open(path, 'w') as fh:
        fh.write('/* SPDX-License-Identifier: ISC */\n')
        fh.write('/* Generated by models/train/export_embed.py for %s; do not edit.\n'
                 ' * Embeddings (embed_model.clip_embedding) and the first MFCC frames of the\n'
                 ' * test signal of models/train/tag_golden_mel.py at three lengths. */\n'
                 % model_name)
        fh.write('#define EMBED_GOLDEN_DIM %d\n#define EMBED_GOLDEN_CASES %d\n'
                 '#define EMBED_GOLDEN_MFCC_FRAMES 8\n#define EMBED_GOLDEN_MFCC_DIM 20\n'
                 % (D, len(GOLDEN_LENGTHS)))
        fh.write('static const int embed_golden_n[%d] = {%s};\n'
                 % (len(GOLDEN_LENGTHS), ', '.join(str(n) for n in GOLDEN_LENGTHS)))
        fh.write('static const float embed_golden[%d] = {\n' % (D * len(GOLDEN_LENGTHS)))
        mf0 = None
        for n in GOLDEN_LENGTHS:
            f = tf.logmel(tag_golden_mel.signal(n).astype(np.float64))
            e = clip_embedding(m, f)
            if mf0 is None:
                mf0 = mfcc(f[:8])
            fh.write('    ' + ', '.join('%.9gf' % v for v in e) + ',\n')
        fh.write('};\n')
        fh.write('static const float embed_golden_mfcc[%d] = {\n' % mf0.size)
        flat = mf0.reshape(-1)
        for s in range(0, flat.size, 8):
            fh.write('    ' + ', '.join('%.9gf' % v for v in flat[s:s + 8]) + ',\n')
        fh.write('};\n')
    print('wrote', path)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('model', nargs='?', help='train_embed.py model.pt')
    ap.add_argument('out', nargs='?')
    ap.add_argument('--test-model', help='write the random-weight test model here instead')
    ap.add_argument('--golden')
    a = ap.parse_args()
    torch.set_num_threads(1)
    if a.test_model:
        m, args = test_model()
        export(m, a.test_model, args, {})
        out = a.test_model
    else:
        if not a.model or not a.out:
            ap.error('MODEL and OUT are needed (or --test-model)')
        st = torch.load(a.model)
        m = build(st)
        export(m, a.out, st['args'], st.get('tagger_args', {}))
        out = a.out
    if a.golden:
        write_golden(m, a.golden, os.path.basename(out))


if __name__ == '__main__':
    main()
