# SPDX-License-Identifier: ISC
"""Evaluates a trained tagger.

  /usr/bin/python3 eval_tag.py runs/tag_f12            # held-out fold: the one not trained on
  /usr/bin/python3 eval_tag.py runs/tag_all --fold 0   # detection figures only

Figures:
- us8k 10-class accuracy on the held-out fold: argmax over the ten us8k outputs.
  'clip': the network on the whole clip (clips shorter than the 3 s window are
  floor-padded to it, as in training). 'stream-mean' / 'stream-max': the C
  tagger's rolling inference emulated (a 3 s window every 0.5 s from the start of
  the clip, floor before it, one last step at the end) with the clip summary
  taken as the mean / max of the step scores; 'stream-wmean': the mean with
  each step weighted by the share of its window holding the clip (what
  cleave tag prints as the summary).
- speech / singing / music on held-out clips (MIR-1K devtest voice, accompaniment
  and mixture; PJS 081-100; TSP speakers FB12, MC18, MD24) plus the held-out us8k
  fold as negatives where known: 3 s windows every 1 s, positive when >= 0.3 s of
  the window is active (the training rule), scored positive when the sigmoid
  exceeds 0.5. Detection rate = positives found / positives; false alarm rate =
  known negatives flagged / known negatives.
- onset-to-tag delay: a held-out clip (up to 30 per label: us8k held-out fold,
  PJS/TSP held-out speech, PJS held-out songs, MIR-1K devtest voice and
  accompaniment) starts at 5.3 s after silence; the delay is the time of the
  first rolling step whose score for the clip's label reaches 0.5, minus 5.3 s
  (the step grid alone adds 0.25 s on average). Median and 90th percentile over
  the clips tagged within 4 s, and the share tagged within 4 s.
Writes OUT/eval.json.
"""
import argparse
import json
import os

import numpy as np
import torch

import tag_data as td
from tag_model import TagNet, from_args

WIN = 150    # 3 s
STEP = 25    # 0.5 s


def load_model(run, name='model.pt'):
    st = torch.load(os.path.join(run, name))
    m = from_args(st['args'])
    m.load_state_dict(st['model'])
    m.eval()
    return m, st['args']


@torch.no_grad()
def probs(model, x):
    return torch.sigmoid(model(torch.from_numpy(np.ascontiguousarray(x[None], dtype=np.float32))))[0].numpy()


def pad_to(f, T):
    f = f.astype(np.float32)
    if f.shape[0] >= T:
        return f
    out = np.full((T, f.shape[1]), td.FLOOR, dtype=np.float32)
    o = (T - f.shape[0]) // 2
    out[o:o + f.shape[0]] = f
    return out


def stream_steps(model, f):
    """Emulates the C rolling inference: list of (t_frames, probs)."""
    f = f.astype(np.float32)
    n = f.shape[0]
    buf = np.concatenate([np.full((WIN, f.shape[1]), td.FLOOR, np.float32), f])
    ends = list(range(STEP, n + 1, STEP))
    if not ends or ends[-1] != n:
        ends.append(n)
    return [(e, probs(model, buf[e:e + WIN])) for e in ends]


@torch.no_grad()
def onset_delay(model, items, fold, t0_frames=265, per_label=30):
    pools = {}
    for it in items:
        if it.group == 'us8k' and it.fold == fold:
            pools.setdefault(int(np.nanargmax(it.target[:10])), []).append(it)
        elif it.held and it.group in ('speech', 'singing', 'music'):
            lab = {'speech': td.SPEECH, 'singing': td.SINGING, 'music': td.MUSIC}[it.group]
            pools.setdefault(lab, []).append(it)
    out = {}
    rng = np.random.default_rng(0)
    for lab, lst in sorted(pools.items()):
        sel = [lst[i] for i in rng.permutation(len(lst))[:per_label]]
        delays = []
        for it in sel:
            f = it.feat.astype(np.float32)
            if it.act is not None and it.act.any():  # start at the first active frame
                f = f[int(np.argmax(it.act)):]
            f = f[:200]
            buf = np.concatenate([np.full((WIN + t0_frames, f.shape[1]), td.FLOOR, np.float32), f])
            first = (t0_frames // STEP + 1) * STEP
            d = None
            for e in range(first, t0_frames + 200 + 1, STEP):
                if e > t0_frames + f.shape[0]:
                    break
                p = probs(model, buf[e:e + WIN])
                if p[lab] >= 0.5:
                    d = (e - t0_frames) * tf_hop_s()
                    break
            delays.append(d)
        got = [d for d in delays if d is not None]
        out[td.LABELS[lab]] = {'clips': len(delays), 'tagged_within_4s': len(got) / max(1, len(delays)),
                               'median_s': float(np.median(got)) if got else None,
                               'p90_s': float(np.percentile(got, 90)) if got else None}
    return out


def tf_hop_s():
    import tag_features as tf
    return tf.HOP / tf.SR


@torch.no_grad()
def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('run')
    ap.add_argument('--fold', type=int, default=-1, help='held-out us8k fold (default: the one not trained on, 0 = none)')
    ap.add_argument('--quick', action='store_true', help='us8k accuracy only (no eval.json)')
    ap.add_argument('--model', default='model.pt',
                    help='file in RUN (model_last.pt: the last iterate of an SWA run)')
    a = ap.parse_args()
    torch.set_num_threads(1)
    model, args = load_model(a.run, a.model)
    folds = [int(x) for x in args['folds'].split(',')]
    fold = a.fold
    if fold < 0:
        rest = [f for f in (1, 2, 3) if f not in folds]
        fold = rest[0] if rest else 0
    items = td.load_cache()
    res = {'run': a.run, 'model': a.model, 'train_folds': folds, 'test_fold': fold}
    us = [it for it in items if it.group == 'us8k' and it.fold == fold]
    if us:
        ok = {'clip': 0, 'stream-mean': 0, 'stream-max': 0, 'stream-wmean': 0}
        per_class = np.zeros((10, 2))
        for it in us:
            y = int(np.nanargmax(it.target[:10]))
            p = probs(model, pad_to(it.feat, WIN))
            ok['clip'] += int(np.argmax(p[:10]) == y)
            per_class[y] += [int(np.argmax(p[:10]) == y), 1]
            steps = stream_steps(model, it.feat)
            st = np.array([s[1] for s in steps])
            w = np.array([max(0.02, min(1.0, e / WIN)) for e, _ in steps])
            ok['stream-wmean'] += int(np.argmax((w[:, None] * st).sum(0)[:10]) == y)
            ok['stream-mean'] += int(np.argmax(st.mean(0)[:10]) == y)
            ok['stream-max'] += int(np.argmax(st.max(0)[:10]) == y)
        res['us8k_n'] = len(us)
        res['us8k_acc'] = {k: v / len(us) for k, v in ok.items()}
        res['us8k_acc_per_class'] = {td.LABELS[c]: per_class[c, 0] / max(1, per_class[c, 1])
                                     for c in range(10)}
        print('fold %d (%d clips): accuracy %s' % (fold, len(us), res['us8k_acc']), flush=True)
    if a.quick:
        return
    # detection on held-out speech/singing/music and the held-out us8k fold
    cnt = {l: {'pos': 0, 'tp': 0, 'neg': 0, 'fp': 0} for l in (td.SPEECH, td.SINGING, td.MUSIC)}
    by_group = {}
    held = [it for it in items if it.held] + us
    rng = np.random.default_rng(0)
    for it in held:
        n = it.feat.shape[0]
        starts = list(range(0, max(1, n - WIN + 1), 50))
        for s in starts:
            x = pad_to(it.feat[s:s + WIN], WIN)
            # the crop rule of training, on this fixed window
            t = it.target.copy()
            if it.act is not None:
                fr = it.act[s:s + WIN].sum()
                for i in (td.SPEECH, td.SINGING):
                    if t[i] == 1.0:
                        t[i] = 1.0 if fr >= 15 else (np.nan if fr >= 3 else 0.0)
            p = probs(model, x)
            for l in cnt:
                if t[l] == 1.0:
                    cnt[l]['pos'] += 1
                    cnt[l]['tp'] += int(p[l] > 0.5)
                elif t[l] == 0.0:
                    cnt[l]['neg'] += 1
                    cnt[l]['fp'] += int(p[l] > 0.5)
                    g = by_group.setdefault('%s on %s' % (td.LABELS[l], it.group), [0, 0])
                    g[0] += int(p[l] > 0.5)
                    g[1] += 1
    res['detection'] = {td.LABELS[l]: {'windows_pos': c['pos'], 'detection_rate': c['tp'] / max(1, c['pos']),
                                       'windows_neg': c['neg'], 'false_alarm_rate': c['fp'] / max(1, c['neg'])}
                        for l, c in cnt.items()}
    res['false_alarms_by_source'] = {k: v[0] / max(1, v[1]) for k, v in sorted(by_group.items())}
    res['delay'] = onset_delay(model, items, fold)
    print(json.dumps(res['delay'], indent=1))
    print(json.dumps(res['detection'], indent=1))
    print(json.dumps(res['false_alarms_by_source'], indent=1))
    name = 'eval.json' if a.model == 'model.pt' else 'eval_%s.json' % a.model.split('.')[0]
    with open(os.path.join(a.run, name), 'w') as fh:
        json.dump(res, fh, indent=1)


if __name__ == '__main__':
    main()
