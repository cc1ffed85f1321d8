# SPDX-License-Identifier: ISC
"""Trains the cleave embedding: the tagger's CNN plus a projection head, with a
supervised contrastive loss (SupCon) on the training folds.

  /usr/bin/python3 train_embed.py --tagger runs/tag_f12 --folds 1,2 --out runs/embed_f12
  /usr/bin/python3 train_embed.py --tagger runs/tag_all --folds 1,2,3 --out runs/embed_all

Starts from a trained tagger (RUN/model.pt, trained on the same folds or a subset
of them: the held-out fold is never seen) and fine-tunes it: class-balanced
batches of random 3 s crops (K clips of each of the ten us8k classes of the
training folds, plus a few speech / singing / music crops from the non-held-out
clips of tag_data, so the embedding also separates those), gain and SpecAugment;
loss = SupCon on the normalised head output + --ce x the tagger's own binary
cross-entropy (keeps the classifier's features). The backbone learns at --lr-backbone
(0 freezes it), the head at --lr. Checkpoints every 200 steps to OUT/ckpt.pt;
rerunning resumes. With --eval-fold F it prints retrieval figures on fold F
against the training folds (whole-clip embeddings as the C code computes them).
Single thread, deterministic for a seed.

Measured (fold 3 queries against folds 1+2, whole-clip embeddings, runs/tag_f12
as the starting tagger): the tagger's plain penultimate layer MRR@20 0.607; this
script with the defaults 0.577 (without the recording-diverse batches and the
equaliser, 0.579 from an earlier tagger at 0.616); with the backbone frozen and
temperature 0.3, 0.567. The heads make the top results purer (P@10 up by
0.01-0.02) but fail harder on unseen recordings, so no head is shipped: the
shipped embedding is the tagger's penultimate layer.
"""
import argparse
import os
import sys
import time

import numpy as np
import torch

import tag_data as td
from embed_model import EmbedNet, clip_embedding, supcon_loss
from tag_model import TagNet, from_args, spec_augment

EXTRA = {'speech': 10, 'singing': 11, 'music': 12}


def us8k_class(it):
    return int(it.name.split('-')[1])


class BalancedSampler:
    def __init__(self, items, T, k, k_extra, seed, eq_db=0.0):
        self.T, self.k, self.k_extra, self.eq_db = T, k, k_extra, eq_db
        self.rng = np.random.default_rng(seed)
        self.by = {}
        for it in items:
            if it.group == 'us8k':
                self.by.setdefault(us8k_class(it), []).append(it)
            elif it.group in EXTRA:
                self.by.setdefault(EXTRA[it.group], []).append(it)
        self.classes = sorted(self.by)

    def pick(self, lst, n):
        """n clips of one class, from as many different recordings as there are: slices
        of one recording are near-duplicates, and positives that share a recording
        teach recognising the recording, not the class."""
        recs = {}
        for i, it in enumerate(lst):
            recs.setdefault(it.name.split('-')[0] if it.group == 'us8k' else it.name, []).append(i)
        keys = list(recs)
        order = self.rng.permutation(len(keys))
        out = []
        while len(out) < n:
            for j in order:
                out.append(recs[keys[j]][self.rng.integers(len(recs[keys[j]]))])
                if len(out) == n:
                    break
        return out

    def eq(self, x):
        """A random smooth equaliser (log-mel domain): recordings of one class differ in
        microphone and room colour far more than in content."""
        if self.eq_db <= 0:
            return x
        F = x.shape[1]
        k = np.arange(1, 4)[:, None]
        basis = np.cos(np.pi * k * (np.arange(F)[None, :] + 0.5) / F)
        curve = self.rng.normal(0, 1, 3) @ basis
        return x + (self.eq_db * np.log(10) / 10 / 2) * curve.astype(np.float32)

    def crop(self, it):
        # a crop of a voice clip must hold the voice: retry a few times
        for _ in range(8):
            x, t = td.crop(it, self.T, self.rng)
            if it.act is None or not np.isnan(t).all():
                break
        return self.eq(x + self.rng.uniform(-1.5, 1.5)), t

    def batch(self):
        X, Y, L = [], [], []
        for c in self.classes:
            lst = self.by[c]
            n = self.k if c < 10 else self.k_extra
            for i in self.pick(lst, n):
                x, t = self.crop(lst[i])
                X.append(x)
                Y.append(t)
                L.append(c)
        return (torch.from_numpy(np.stack(X)), torch.from_numpy(np.stack(Y)),
                torch.tensor(L))


def retrieval(model, items, fold, train_folds):
    """MRR@20, Recall@10/@20 (a query scores when a same-class clip is among the
    first k), precision@10 for queries of `fold` against clips of train_folds."""
    model.eval()
    q = [it for it in items if it.group == 'us8k' and it.fold == fold]
    lib = [it for it in items if it.group == 'us8k' and it.fold in train_folds]
    Q = np.stack([clip_embedding(model, it.feat) for it in q])
    L = np.stack([clip_embedding(model, it.feat) for it in lib])
    r = rank_hits(Q, L, np.array([us8k_class(it) for it in q]),
                  np.array([us8k_class(it) for it in lib]))
    return {'mrr20': float(r['rr'].mean()), 'recall10': float(r['hit10'].mean()),
            'recall20': float(r['hit20'].mean()), 'p10': float(r['p10'].mean()),
            'queries': len(q), 'library': len(lib)}


def rank_hits(Q, L, cq, cl):
    """Per query, ranking the library L by dot product with Q (rows normalised):
    reciprocal rank of the first same-class result among 20 (0 if none), whether
    one is among the first 10 / 20, and the share of hits among the first 10."""
    order = np.argsort(-(Q @ L.T), axis=1, kind='stable')[:, :20]
    hit = cl[order] == cq[:, None]
    first = np.where(hit.any(1), hit.argmax(1) + 1, 0)
    return {'rr': np.where(first > 0, 1.0 / np.maximum(first, 1), 0.0),
            'hit10': hit[:, :10].any(1), 'hit20': hit.any(1), 'p10': hit[:, :10].mean(1)}


def load_tagger(run):
    st = torch.load(os.path.join(run, 'model.pt'))
    m = from_args(st['args'])
    m.load_state_dict(st['model'])
    return m, st['args']


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--tagger', required=True, help='tagger run directory (model.pt)')
    ap.add_argument('--folds', default='1,2')
    ap.add_argument('--out', required=True)
    ap.add_argument('--steps', type=int, default=800)
    ap.add_argument('--k', type=int, default=5, help='clips per us8k class per batch')
    ap.add_argument('--k-extra', type=int, default=2, help='clips per speech/singing/music')
    ap.add_argument('--frames', type=int, default=150)
    ap.add_argument('--lr', type=float, default=1e-3)
    ap.add_argument('--lr-backbone', type=float, default=3e-4)
    ap.add_argument('--ce', type=float, default=0.5)
    ap.add_argument('--temperature', type=float, default=0.1)
    ap.add_argument('--hidden', type=int, default=256)
    ap.add_argument('--dim', type=int, default=128)
    ap.add_argument('--seed', type=int, default=1)
    ap.add_argument('--threads', type=int, default=1)
    ap.add_argument('--eq-db', type=float, default=6.0,
                    help='std of the random equaliser curve, dB (0: off)')
    ap.add_argument('--eval-fold', type=int, default=0)
    ap.add_argument('--eval-only', action='store_true', help='figures of the tagger alone')
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    folds = [int(f) for f in a.folds.split(',')]
    tagnet, targs = load_tagger(a.tagger)
    tfolds = [int(f) for f in str(targs['folds']).split(',')]
    if not set(tfolds) <= set(folds):
        sys.exit('tagger %s was trained on folds %s, not within --folds %s'
                 % (a.tagger, tfolds, folds))
    if a.eval_fold and a.eval_fold in folds:
        sys.exit('--eval-fold %d is a training fold' % a.eval_fold)
    items = td.load_cache()
    if a.eval_only:
        m = EmbedNet(tagnet, head=False)
        print('tagger penultimate:', retrieval(m, items, a.eval_fold, folds))
        return 0
    train = [it for it in items if not it.held and (it.group != 'us8k' or it.fold in folds)]
    model = EmbedNet(tagnet, a.hidden, a.dim)
    os.makedirs(a.out, exist_ok=True)
    groups = [{'params': model.head.parameters(), 'lr': a.lr}]
    if a.lr_backbone > 0:
        groups.append({'params': model.backbone.parameters(), 'lr': a.lr_backbone})
    else:
        for p in model.backbone.parameters():
            p.requires_grad_(False)
    opt = torch.optim.AdamW(groups, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=[g['lr'] for g in groups],
                                                total_steps=a.steps, pct_start=0.1)
    sampler = BalancedSampler(train, a.frames, a.k, a.k_extra, a.seed, a.eq_db)
    aug_rng = np.random.default_rng(a.seed + 1000)
    step = 0
    ck = os.path.join(a.out, 'ckpt.pt')
    if os.path.exists(ck):
        st = torch.load(ck)
        model.load_state_dict(st['model'])
        opt.load_state_dict(st['opt'])
        sched.load_state_dict(st['sched'])
        sampler.rng.bit_generator.state = st['rng']
        aug_rng.bit_generator.state = st['aug_rng']
        torch.set_rng_state(st['torch_rng'])
        step = st['step']
        print('resumed at step %d' % step, flush=True)

    def save():
        tmp = ck + '.tmp'
        torch.save({'model': model.state_dict(), 'opt': opt.state_dict(),
                    'sched': sched.state_dict(), 'rng': sampler.rng.bit_generator.state,
                    'aug_rng': aug_rng.bit_generator.state, 'torch_rng': torch.get_rng_state(),
                    'step': step, 'args': vars(a)}, tmp)
        os.replace(tmp, ck)

    print('train: %d items, classes %s, batch %d' % (len(train), sampler.classes,
          10 * a.k + (len(sampler.classes) - 10) * a.k_extra), flush=True)
    t0 = time.time()
    run_sc = run_ce = 0.0
    model.train()
    if a.lr_backbone <= 0:
        model.backbone.eval()  # frozen: batch-norm statistics stay the tagger's
    while step < a.steps:
        X, Y, L = sampler.batch()
        spec_augment(X, aug_rng)
        z, logits = model(X)
        sc = supcon_loss(z, L, a.temperature)
        known = ~torch.isnan(Y)
        ce = torch.nn.functional.binary_cross_entropy_with_logits(logits[known], Y[known])
        loss = sc + a.ce * ce
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        step += 1
        run_sc += sc.item()
        run_ce += ce.item()
        if step % 50 == 0:
            print('step %d supcon %.4f bce %.4f %.0fs' % (step, run_sc / 50, run_ce / 50,
                  time.time() - t0), flush=True)
            run_sc = run_ce = 0.0
        if step % 200 == 0 or step == a.steps:
            save()
    model.eval()
    torch.save({'model': model.state_dict(), 'args': vars(a), 'tagger_args': targs},
               os.path.join(a.out, 'model.pt'))
    if a.eval_fold:
        print('embedding:', retrieval(model, items, a.eval_fold, folds), flush=True)
    print('done', flush=True)
    return 0


if __name__ == '__main__':
    sys.exit(main())
