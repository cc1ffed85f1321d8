# SPDX-License-Identifier: ISC
"""Trains the cleave tagger.

  /usr/bin/python3 train_tag.py --folds 1,2 --out runs/tag_f12 --steps 3000
  /usr/bin/python3 train_tag.py --folds 1,2,3 --out runs/tag_all --steps 4000

us8k clips of the given folds plus the non-held-out speech/singing/music clips
(tag_data.py) are sampled with mixing augmentation (two clips summed in the mel
power domain, labels united), random gain, partial occlusion (the sound fills
only part of the window, as around onsets in the rolling window), SpecAugment
and mixup; optionally (off by default) random equalisation of each source
(--p-filter: FilterAugment, a random piecewise-linear curve over the mel bands,
as another microphone or room would colour it), a quiet us8k clip of another
class as background (--p-bg, its label unknown) and a wider random gain (--gain).
Loss: binary
cross-entropy over 13 sigmoid outputs, unknown targets (NaN) masked out.
Checkpoints every 250 steps to OUT/ckpt.pt; rerunning the same command resumes.
Deterministic for a given seed (single thread).

Stochastic weight averaging (--swa-steps K, off by default; Izmailov et al. 2018):
after the one-cycle --steps, K more steps with a cyclic learning rate (each cycle of
--swa-every steps falls linearly from the first to the second value of --swa-lr);
the weights at the end of every cycle are averaged. The batch-norm running
statistics of the averaged weights are then recomputed in train mode on
--bn-batches fresh training batches (their own seeded sampler, same augmentation),
so the exported model (batch norm folded into the convs) carries them.
OUT/model.pt is then the averaged model, OUT/model_last.pt the last iterate.
The first --steps are exactly the run without SWA: a run can be extended by
copying its ckpt.pt into a new OUT and running the same command with --swa-steps.
"""
import copy
import argparse
import os
import sys
import time

import numpy as np
import torch

import tag_data as td
import tag_features as tf
from tag_model import from_args, spec_augment


def norm_stats(items):
    s = np.zeros(tf.N_MELS)
    s2 = np.zeros(tf.N_MELS)
    n = 0
    for it in items:
        f = it.feat.astype(np.float64)
        s += f.sum(0)
        s2 += (f * f).sum(0)
        n += f.shape[0]
    m = s / n
    return m, np.sqrt(np.maximum(s2 / n - m * m, 1e-6))


@torch.no_grad()
def swa_model(model, swa, draw, n_batches):
    """A copy of model with the averaged parameters swa and batch-norm running
    statistics recomputed (cumulative average, train mode) over n_batches
    batches from draw(); returned in eval mode."""
    m = copy.deepcopy(model)
    for k, v in m.named_parameters():
        v.copy_(swa[k])
    for bn in m.bns:
        bn.reset_running_stats()
        bn.momentum = None  # cumulative moving average over the batches
    m.train()
    for _ in range(n_batches):
        m(draw()[0])
    for bn in m.bns:
        bn.momentum = 0.1
    m.eval()
    return m


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--folds', default='1,2')
    ap.add_argument('--out', required=True)
    ap.add_argument('--steps', type=int, default=3000)
    ap.add_argument('--batch', type=int, default=32)
    ap.add_argument('--frames', type=int, default=150)
    ap.add_argument('--lr', type=float, default=3e-3)
    ap.add_argument('--seed', type=int, default=1)
    ap.add_argument('--p-mix', type=float, default=0.4)
    ap.add_argument('--p-mixup', type=float, default=0.3)
    ap.add_argument('--p-occlude', type=float, default=0.3,
                    help='share of crops where the sound fills only part of the window')
    ap.add_argument('--p-stretch', type=float, default=0.0, help='share of crops time-stretched')
    ap.add_argument('--p-shift', type=float, default=0.0, help='share of crops shifted in mel')
    ap.add_argument('--channels', default='16,32,64,128', help='channels of the four conv blocks')
    ap.add_argument('--w-us8k', type=float, default=0.55,
                    help='share of examples drawn from UrbanSound8K (the rest: speech, '
                    'singing, music, MIR-1K mixtures in equal parts)')
    ap.add_argument('--balance', action='store_true',
                    help='draw us8k clips by class, then recording, then slice')
    ap.add_argument('--p-filter', type=float, default=0.0,
                    help='share of sources given a random equalisation curve (FilterAugment)')
    ap.add_argument('--filter-db', type=float, default=6.0,
                    help='equalisation: gain range +-dB at each curve point')
    ap.add_argument('--filter-points', default='3,6',
                    help='equalisation: min,max number of curve points (edges included)')
    ap.add_argument('--filter-groups', default='',
                    help='equalise only sources of these groups (comma list of us8k, '
                    'speech, singing, music, mix; empty: all)')
    ap.add_argument('--gain', type=float, default=1.5,
                    help='random gain range +- (natural log units: 1.5 = 6.5 dB)')
    ap.add_argument('--p-bg', type=float, default=0.0,
                    help='share of examples with a quiet us8k clip of another class '
                    'mixed in (its label unknown)')
    ap.add_argument('--bg-db', default='-20,-6', help='background level range in dB below the example '
                    '(write --bg-db=-20,-6: a leading minus needs the =)')
    ap.add_argument('--bg-unknown', action='store_true',
                    help='labels the background clip leaves unknown (voices and music '
                    'behind children_playing / street_music) become unknown')
    ap.add_argument('--dropout', type=float, default=0.3, help='dropout before the linear head')
    ap.add_argument('--wd', type=float, default=1e-3, help='AdamW weight decay')
    ap.add_argument('--swa-steps', type=int, default=0,
                    help='steps of weight averaging after --steps (0: off)')
    ap.add_argument('--swa-every', type=int, default=150,
                    help='SWA cycle length: weights averaged at the end of each cycle')
    ap.add_argument('--swa-lr', default='1e-3,1e-5',
                    help='SWA learning rate: start,end of each cycle (linear; equal: constant)')
    ap.add_argument('--bn-batches', type=int, default=200,
                    help='SWA: training batches for the batch-norm statistics of the average')
    ap.add_argument('--threads', type=int, default=1)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    folds = [int(f) for f in a.folds.split(',')]
    os.makedirs(a.out, exist_ok=True)
    items = td.load_cache()
    train = [it for it in items if not it.held and (it.group != 'us8k' or it.fold in folds)]
    print('train items: %d (folds %s)' % (len(train), folds), flush=True)

    model = from_args(vars(a))
    model.drop.p = a.dropout
    m, s = norm_stats(train)
    model.norm_mean.copy_(torch.tensor(m, dtype=torch.float32))
    model.norm_std.copy_(torch.tensor(s, dtype=torch.float32))
    opt = torch.optim.AdamW(model.parameters(), lr=a.lr, weight_decay=a.wd)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=a.lr, total_steps=a.steps,
                                                pct_start=0.1)
    rest = (1.0 - a.w_us8k) / 4
    weights = {'us8k': a.w_us8k, 'speech': rest, 'singing': rest, 'music': rest, 'mix': rest}
    def make_sampler(seed):
        return td.Sampler(train, a.frames, seed, weights=weights, balance=a.balance,
                          p_occlude=a.p_occlude,
                          p_stretch=a.p_stretch, p_shift=a.p_shift,
                          p_filter=a.p_filter, filter_db=a.filter_db,
                          filter_points=tuple(int(v) for v in a.filter_points.split(',')),
                          filter_groups=(a.filter_groups.split(',') if a.filter_groups
                                         else None),
                          gain=a.gain, p_bg=a.p_bg, bg_unknown=a.bg_unknown,
                          bg_db=tuple(float(v) for v in a.bg_db.split(',')))
    sampler = make_sampler(a.seed)
    if a.swa_steps > 0 and (a.swa_every <= 0 or a.swa_steps % a.swa_every):
        ap.error('--swa-steps must be a multiple of --swa-every')
    swa_lr = [float(v) for v in a.swa_lr.split(',')]
    total = a.steps + a.swa_steps
    swa = None     # running mean of the parameters at the cycle ends
    swa_n = 0
    aug_rng = np.random.default_rng(a.seed + 1000)
    bn_sampler = make_sampler(a.seed + 2000)  # batches for the SWA batch-norm statistics
    bn_rng = np.random.default_rng(a.seed + 3000)
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
        if st.get('swa') is not None:
            swa = st['swa']
            swa_n = st['swa_n']
        print('resumed at step %d' % step, flush=True)

    def save():
        tmp = ck + '.tmp'
        torch.save({'model': model.state_dict(), 'opt': opt.state_dict(),
                    'sched': sched.state_dict(), 'rng': sampler.rng.bit_generator.state,
                    'aug_rng': aug_rng.bit_generator.state,
                    'torch_rng': torch.get_rng_state(), 'step': step,
                    'swa': swa, 'swa_n': swa_n, 'args': vars(a)}, tmp)
        os.replace(tmp, ck)

    t0 = time.time()
    run_loss = 0.0
    model.train()

    def draw(smp, rng):
        X, Y = smp.batch(a.batch, a.p_mix)
        X = torch.from_numpy(X)
        Y = torch.from_numpy(Y)
        spec_augment(X, rng)
        if rng.random() < a.p_mixup:
            lam = float(rng.beta(0.4, 0.4))
            perm = torch.from_numpy(rng.permutation(a.batch))
            X = lam * X + (1 - lam) * X[perm]
            Y = lam * Y + (1 - lam) * Y[perm]  # NaN (unknown) stays unknown
        return X, Y

    while step < total:
        if step >= a.steps:  # SWA phase: cyclic learning rate, no scheduler
            t = ((step - a.steps) % a.swa_every + 1) / a.swa_every
            for g in opt.param_groups:
                g['lr'] = (1 - t) * swa_lr[0] + t * swa_lr[-1]
        X, Y = draw(sampler, aug_rng)
        known = ~torch.isnan(Y)
        logits = model(X)
        loss = torch.nn.functional.binary_cross_entropy_with_logits(
            logits[known], Y[known])
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step < a.steps:
            sched.step()
        step += 1
        run_loss += loss.item()
        if step > a.steps and (step - a.steps) % a.swa_every == 0:
            p = {k: v.detach().clone() for k, v in model.named_parameters()}
            if swa is None:
                swa = p
            else:
                for k in swa:
                    swa[k] += (p[k] - swa[k]) / (swa_n + 1)
            swa_n += 1
        if step % 100 == 0:
            print('step %d loss %.4f lr %.2e %.0fs%s' % (
                step, run_loss / 100, opt.param_groups[0]['lr'], time.time() - t0,
                ' swa %d' % swa_n if swa_n else ''), flush=True)
            run_loss = 0.0
        if step % 250 == 0 or step == total:
            save()
    model.eval()
    if a.swa_steps > 0:
        torch.save({'model': model.state_dict(), 'args': vars(a)},
                   os.path.join(a.out, 'model_last.pt'))
        model = swa_model(model, swa, lambda: draw(bn_sampler, bn_rng), a.bn_batches)
        print('averaged %d weight sets; batch norm from %d batches' % (swa_n, a.bn_batches),
              flush=True)
    torch.save({'model': model.state_dict(), 'args': vars(a)},
               os.path.join(a.out, 'model.pt'))
    print('done', flush=True)


if __name__ == '__main__':
    sys.exit(main())
