#!/usr/bin/python3
# SPDX-License-Identifier: ISC
"""Trains a separation mask network on MIR-1K (+ PJS voices) with remix augmentation.

Resumable (--resume continues from runs/<name>/ckpt.pt), deterministic given --seed
(batch k is drawn from a generator seeded by (seed, k), so a resumed run sees the
same batches as an uninterrupted one), bounded by --steps and a --minutes safety cap.

Example:
  nice /usr/bin/python3 models/train/train_sep.py --name hg2_la3 --arch hourglass \
      --lookahead 3 --steps 20000 --minutes 80 --threads 1
"""
import argparse
import json
import math
import os
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sep_data  # noqa: E402
import sep_models as M  # noqa: E402
import sep_wave as W  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


def parse():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--name', required=True)
    p.add_argument('--arch', default='hourglass', choices=['hourglass', 'gru', 'waveunet', 'demucs', 'hybrid'])
    p.add_argument('--levels', type=int, default=6, help='waveunet: down/up levels')
    p.add_argument('--ch', type=int, default=16, help='waveunet: channels added per level; demucs: first width')
    p.add_argument('--depth', type=int, default=3, help='demucs: encoder/decoder layers')
    p.add_argument('--rnn-layers', type=int, default=0,
                   help='waveunet: GRU layers over the bottleneck frames (0: none, as Stoller et al.)')
    p.add_argument('--rnn-hidden', type=int, default=192, help='waveunet: GRU units')
    p.add_argument('--samples', type=int, default=16000,
                   help='waveform models: output samples per example (16 kHz)')
    p.add_argument('--stacks', type=int, default=2)
    p.add_argument('--hidden', type=int, default=192)
    p.add_argument('--d', type=int, nargs=3, default=[24, 48, 96])
    p.add_argument('--lookahead', type=int, default=0)
    p.add_argument('--seed', type=int, default=1)
    p.add_argument('--steps', type=int, default=20000)
    p.add_argument('--minutes', type=float, default=80.0)
    p.add_argument('--batch', type=int, default=16)
    p.add_argument('--frames', type=int, default=96, help='output frames per example')
    p.add_argument('--lr', type=float, default=1e-3)
    p.add_argument('--loss', default='l1', choices=['l1', 'sdr', 'l1sdr'],
                   help='l1: L1 on masked magnitudes; sdr: negative SDR of the time-domain '
                        'vocals and accompaniment (mixture phase, iSTFT); l1sdr: both')
    p.add_argument('--sdr-weight', type=float, default=1.0, help='weight of the SDR term (per dB)')
    p.add_argument('--p-pjs', type=float, default=0.15)
    p.add_argument('--wide', action='store_true',
                   help='train beyond MIR-1K: game-soundtrack accompaniments (--p-music), TSP speech '
                        '(--p-speech), reverb and pitch/time changes on the voice; PJS 081-100 held out')
    p.add_argument('--p-music', type=float, default=0.5, help='--wide: share of soundtrack accompaniments')
    p.add_argument('--p-speech', type=float, default=0.05, help='--wide: share of TSP speech voices')
    p.add_argument('--p-reverb', type=float, default=0.3, help='--wide: share of reverberant voices')
    p.add_argument('--p-warp', type=float, default=0.3, help='--wide: share of pitch/time-changed voices')
    p.add_argument('--init', default=None,
                   help='start from the weights of this checkpoint (fresh optimiser and schedule); '
                        'a hourglass may grow: more lookahead (new context weights start at zero) '
                        'and more stacks (each new stack starts as a copy of the last one)')
    p.add_argument('--spec-stacks', type=int, default=1, help='hybrid: spectral branch stacks')
    p.add_argument('--spec-lookahead', type=int, default=0, help='hybrid: spectral branch lookahead frames')
    p.add_argument('--spec-n-fft', type=int, default=256, help='hybrid: spectral branch FFT size')
    p.add_argument('--spec-hop', type=int, default=64, help='hybrid: spectral branch hop')
    p.add_argument('--init-spec', default=None,
                   help='hybrid: the spectral branch from this hourglass checkpoint (same shapes); '
                        'with --init for the time branch, whose output layer then starts at zero, '
                        'so the hybrid starts as the hourglass and the time branch learns what it misses')
    p.add_argument('--freeze-spec', action='store_true',
                   help='hybrid: train the time branch only; the spectral branch keeps its weights')
    p.add_argument('--trim-edges', action='store_true',
                   help='hybrid: leave out of the loss the segment ends where the spectral branch '
                        'lacks its history or its lookahead (zero padding that streaming never sees); '
                        'waveunet with --rnn-layers: the first 0.25 s, where the GRU has no history')
    p.add_argument('--threads', type=int, default=1)
    p.add_argument('--ckpt-minutes', type=float, default=4.0)
    p.add_argument('--eval-minutes', type=float, default=10.0)
    p.add_argument('--resume', action='store_true')
    p.add_argument('--data', default=None, help='shared data dir (default ../shared/data)')
    return p.parse_args()


def build_model(a):
    if a.arch == 'hourglass':
        return M.StackedHourglass(stacks=a.stacks, d0=a.d[0], d1=a.d[1], d2=a.d[2], hidden=a.hidden,
                                  lookahead=a.lookahead)
    if a.arch == 'waveunet':
        return W.WaveUNet(levels=a.levels, ch=a.ch, rnn_layers=a.rnn_layers,
                          rnn_hidden=a.rnn_hidden if a.rnn_layers else 0)
    if a.arch == 'demucs':
        return W.DemucsStream(depth=a.depth, hidden=a.ch)
    if a.arch == 'hybrid':
        nb = a.spec_n_fft // 2 // (16 if a.spec_n_fft >= 1024 else 8)
        return W.HybridDemucs(depth=a.depth, hidden=a.ch, spec_hidden=a.hidden, spec_stacks=a.spec_stacks,
                              spec_lookahead=a.spec_lookahead, spec_n_fft=a.spec_n_fft,
                              spec_hop=a.spec_hop, spec_nb=nb, spec_d0=a.d[0], spec_d1=a.d[1],
                              spec_d2=a.d[2])
    return M.GruBaseline(hidden=a.hidden)


def widened(k, o, v):
    """A bottleneck tensor of a stack whose GRU has more units than the checkpoint's."""
    tail = k.split('.', 2)[-1]
    if tail in ('bott_in.weight', 'bott_in.bias'):
        return o.shape[1:] == v.shape[1:] and o.shape[0] < v.shape[0]
    if tail == 'bott_out.weight':
        return o.shape[0] == v.shape[0] and o.shape[1] < v.shape[1]
    if tail.startswith('gru.'):
        return o.dim() == v.dim() and o.shape[0] < v.shape[0] and o.shape[0] % 3 == 0
    return False


def widen(k, o, v):
    """Grow a stack's GRU from h_old to h units so the net computes what it did: the
    new units get fresh random input and recurrent weights (so they are alive and
    learn), but every path out of them starts at zero (their columns in the old
    units' gates and in bott_out), and the old units keep their weights."""
    tail = k.split('.', 2)[-1]
    w = v.detach().clone()
    if tail.startswith('bott_in'):
        w[:o.shape[0]] = o
    elif tail == 'bott_out.weight':
        w[:, :o.shape[1]] = o
        w[:, o.shape[1]:] = 0
    else:
        ho, h = o.shape[0] // 3, v.shape[0] // 3
        w3, o3 = w.view(3, h, *v.shape[1:]), o.view(3, ho, *o.shape[1:])
        if o.dim() == 1:
            w3[:, :ho] = o3
        else:
            w3[:, :ho, :o.shape[1]] = o3
            w3[:, :ho, o.shape[1]:] = 0
    return w


def grow_state(model, old):
    """Model state from a checkpoint of a smaller hourglass: same-shape tensors are
    copied; a first-stack input layer with fewer context frames keeps its weights for
    the frames it had (t-1 .. t+L_old come first in the context) and starts the new
    ones at zero, so the grown net computes what the old one did; stacks the old net
    lacks start as copies of its last stack; a wider bottleneck GRU keeps the old
    units and adds new ones whose outputs start at zero (widen)."""
    new = model.state_dict()
    old_stacks = 1 + max(int(k.split('.')[1]) for k in old if k.startswith('stacks.'))
    out = {}
    for k, v in new.items():
        src = k
        if k.startswith('stacks.') and int(k.split('.')[1]) >= old_stacks:
            parts = k.split('.')
            parts[1] = str(old_stacks - 1)
            src = '.'.join(parts)
        if src not in old:
            raise SystemExit(f'--init: {src} missing from the checkpoint')
        o = old[src]
        if o.shape == v.shape:
            out[k] = o.clone()
        elif k == 'stacks.0.enc0.weight' and o.shape[:-1] == v.shape[:-1] and o.shape[-1] < v.shape[-1]:
            w = torch.zeros_like(v)
            w[..., :o.shape[-1]] = o
            out[k] = w
        elif widened(k, o, v):
            out[k] = widen(k, o, v)
        else:
            raise SystemExit(f'--init: {k} has shape {tuple(o.shape)} in the checkpoint, '
                             f'{tuple(v.shape)} here')
    return out


def init_hybrid_from(model, time_sd, spec_sd):
    """A hybrid's time branch from a Demucs-style (or hybrid) checkpoint and its
    spectral branch from a hourglass checkpoint of exactly its shapes. The time
    branch's last transposed convolution starts at zero, so the hybrid first computes
    what the hourglass does, and the time branch learns a correction."""
    new = model.state_dict()
    out = {}
    for k, v in new.items():
        if k.startswith('spec.'):
            src, o = k[5:], spec_sd.get(k[5:])
        else:
            src, o = k, time_sd.get(k)
        if o is None or o.shape != v.shape:
            raise SystemExit(f'--init/--init-spec: {src} missing or of another shape '
                             f'({None if o is None else tuple(o.shape)} vs {tuple(v.shape)})')
        out[k] = o.clone()
    last = f'dec.{model.depth - 1}.convt.'
    out[last + 'weight'].zero_()
    out[last + 'bias'].zero_()
    model.load_state_dict(out)


def mask_loss(masks, X, Vm, Am):
    """L1 on masked magnitudes for voice and accompaniment (= mixture - voice), every stack."""
    Xm = X.abs()
    loss = 0.0
    for m in masks:
        loss = loss + (m * Xm - Vm).abs().mean() + ((1 - m) * Xm - Am).abs().mean()
    return loss / len(masks)


def sdr_db(ref, est, eps):
    """Per-example SDR in dB; eps (per example) keeps silent references finite."""
    num = (ref ** 2).sum(-1) + eps
    den = ((ref - est) ** 2).sum(-1) + eps
    return 10 * torch.log10(num / den)


def wave_sdr_loss(masks, X, voc, acc, window):
    """Negative mean SDR of vocals (mask x mixture, mixture phase) and accompaniment
    (mixture - vocals) in the time domain, on the samples every frame overlaps.
    X [B, F, BINS] is the mixture STFT of output frames 1..F of the segment."""
    F = X.shape[1]
    lo, hi = M.N_FFT - M.HOP, F * M.HOP
    v_ref = voc[:, M.HOP + lo: M.HOP + hi]
    a_ref = acc[:, M.HOP + lo: M.HOP + hi]
    eps = 1e-3 * ((v_ref + a_ref) ** 2).sum(-1).detach() + 1e-6
    loss = 0.0
    for m in masks:
        v = M.istft(X * m, window)[:, lo:hi]
        a = (v_ref + a_ref) - v
        loss = loss - 0.5 * (sdr_db(v_ref, v, eps) + sdr_db(a_ref, a, eps)).mean()
    return loss / len(masks)


def spec_loss(a, model, mix, voc, acc, window):
    X = M.stft(torch.from_numpy(mix), window)
    masks = model(X.abs())
    Xf = X[:, 1:1 + a.frames]
    loss = 0.0
    if a.loss in ('l1', 'l1sdr'):
        Vm = M.stft(torch.from_numpy(voc), window).abs()[:, 1:1 + a.frames]
        Am = M.stft(torch.from_numpy(acc), window).abs()[:, 1:1 + a.frames]
        loss = loss + mask_loss(masks, Xf, Vm, Am)
    if a.loss in ('sdr', 'l1sdr'):
        loss = loss + a.sdr_weight * wave_sdr_loss(masks, Xf, torch.from_numpy(voc), torch.from_numpy(acc),
                                                   window)
    return loss


def set_spec_norm(a, model, sampler):
    """Input normalisation of a hybrid's spectral branch, measured on training mixtures."""
    rng = np.random.default_rng([a.seed, 999999])
    mix, _, _ = sampler.batch(16, rng)
    X = M.stft(torch.from_numpy(mix), model.spec_window, model.spec.hop)
    model.spec.set_norm(torch.log(X.abs() + 1e-5).reshape(-1, X.shape[-1]))


def quick_sdr(model, clips, window):
    """Mean voice NSDR (plain SDR, not BSS Eval) on a few 0 dB devtest clips."""
    vals = []
    model.eval()
    for name, mix, v, a in clips:
        est = M.separate(model, torch.from_numpy(mix), window).numpy()
        def sdr(ref, e):
            return 10 * np.log10((ref ** 2).sum() / (((ref - e) ** 2).sum() + 1e-12) + 1e-12)
        vals.append(sdr(v, est) - sdr(v, mix))
    model.train()
    return float(np.mean(vals))


def save(path, obj):
    tmp = path + '.tmp'
    torch.save(obj, tmp)
    os.replace(tmp, path)


def main():
    a = parse()
    torch.set_num_threads(a.threads)
    run_dir = os.path.join(HERE, 'runs', a.name)
    os.makedirs(run_dir, exist_ok=True)
    ckpt_path = os.path.join(run_dir, 'ckpt.pt')
    log = open(os.path.join(run_dir, 'log.txt'), 'a')

    def say(msg):
        line = f'[{time.strftime("%H:%M:%S")}] {msg}'
        print(line, flush=True)
        log.write(line + '\n')
        log.flush()

    torch.manual_seed(a.seed)
    np.random.seed(a.seed)
    train = sep_data.load_mir1k('train', a.data)
    dev = sep_data.load_mir1k('devtest', a.data)
    extra = sep_data.load_pjs_voices(a.data, held_out=a.wide) if a.p_pjs > 0 else []
    model = build_model(a)
    wave = getattr(model, 'domain', 'spec') == 'wave'
    if wave:
        if a.loss != 'sdr':
            raise SystemExit('waveform models train with --loss sdr')
        seg, w_off, w_out = W.train_io(model, a.samples)
    else:
        L = a.lookahead if a.arch == 'hourglass' else 0
        in_frames = a.frames + 1 + L
        seg = (in_frames - 1) * M.HOP + M.N_FFT
    if a.wide:
        music = sep_data.load_music(log=say)
        speech = sep_data.load_tsp_voices(a.data)
        say(f'wide data: {len(music)} music runs ({sum(map(len, music)) / sep_data.SR / 60:.1f} min), '
            f'{len(speech)} speech clips, {len(extra)} PJS songs')
        sampler = sep_data.RemixSampler(train, seg, extra, p_pjs=a.p_pjs, music=music,
                                        p_music=a.p_music, speech=speech, p_speech=a.p_speech,
                                        p_reverb=a.p_reverb, p_warp=a.p_warp)
    else:
        sampler = sep_data.RemixSampler(train, seg, extra, p_pjs=a.p_pjs)
    dev_quick = sep_data.devtest_mixtures(dev[::6], '0db')
    window = M.sqrt_hann()

    if a.freeze_spec:
        model.freeze_spec()
    opt = torch.optim.Adam([q for q in model.parameters() if q.requires_grad], lr=a.lr)
    step, elapsed = 0, 0.0
    if a.resume and os.path.exists(ckpt_path):
        ck = torch.load(ckpt_path)
        model.load_state_dict(ck['model'])
        opt.load_state_dict(ck['opt'])
        step, elapsed = ck['step'], ck['elapsed']
        say(f'resumed {ckpt_path} at step {step}, {elapsed / 60:.1f} min trained')
    elif a.init:
        ck = torch.load(a.init)
        if a.arch == 'hybrid' and a.init_spec:
            init_hybrid_from(model, ck['model'], torch.load(a.init_spec)['model'])
            say(f'spectral branch from {a.init_spec}; time branch output layer zeroed')
        elif a.arch == 'hybrid' and ck.get('arch') == W.DemucsStream.arch:
            # the time branch from a Demucs-style checkpoint; the spectral branch is new
            missing, unexpected = model.load_state_dict(ck['model'], strict=False)
            if unexpected or any(not k.startswith('spec.') for k in missing):
                raise SystemExit(f'--init: not a time branch for this hybrid ({unexpected or missing})')
            set_spec_norm(a, model, sampler)
        elif a.arch == 'waveunet' and a.rnn_layers:
            # a plain Wave-U-Net's weights; the new GRU's output layer starts at zero,
            # so training starts from what that network computes
            missing, unexpected = model.load_state_dict(ck['model'], strict=False)
            if unexpected or any(not k.startswith('gru') for k in missing):
                raise SystemExit(f'--init: not a Wave-U-Net of these sizes ({unexpected or missing})')
        else:
            model.load_state_dict(grow_state(model, ck['model']) if a.arch == 'hourglass' else ck['model'])
        say(f'initialised from {a.init} (step {ck.get("step")})')
    elif a.arch == 'hybrid':
        set_spec_norm(a, model, sampler)
    elif not wave:
        # measured input normalisation from training mixtures
        rng = np.random.default_rng([a.seed, 999999])
        mix, _, _ = sampler.batch(64, rng)
        X = M.stft(torch.from_numpy(mix), window)
        model.set_norm(torch.log(X.abs() + 1e-5).reshape(-1, M.BINS))
    say(f'{a.name}: {model.arch} {json.dumps(getattr(model, "cfg", {}))} params {M.count_params(model)} '
        f'args {json.dumps(vars(a))}')

    def checkpoint():
        save(ckpt_path, dict(model=model.state_dict(), opt=opt.state_dict(), step=step, elapsed=elapsed,
                             args=vars(a), arch=model.arch, cfg=model.cfg))

    t0 = time.time()
    base_elapsed = elapsed
    last_ck = last_ev = t0
    run_loss, n_loss = 0.0, 0
    frames_done = 0
    warm = 500
    while step < a.steps:
        elapsed = base_elapsed + time.time() - t0
        if elapsed > a.minutes * 60:
            say(f'time limit reached at step {step}')
            break
        lr = a.lr * min(1.0, (step + 1) / warm) * 0.5 * (1 + math.cos(math.pi * step / a.steps))
        for g in opt.param_groups:
            g['lr'] = lr
        rng = np.random.default_rng([a.seed, step])
        torch.manual_seed(a.seed * 1000003 + step)
        mix, voc, acc = sampler.batch(a.batch, rng)
        if wave:
            mix_t = torch.from_numpy(mix)
            v_ref = torch.from_numpy(voc[:, w_off:w_off + w_out])
            a_ref = torch.from_numpy(acc[:, w_off:w_off + w_out])
            v = model(mix_t)
            if a.trim_edges and hasattr(model, 'edges'):
                lo, hi = model.edges[0], w_out - model.edges[1]
                v, v_ref, a_ref = v[:, lo:hi], v_ref[:, lo:hi], a_ref[:, lo:hi]
            eps = 1e-3 * ((v_ref + a_ref) ** 2).sum(-1) + 1e-6
            loss = -0.5 * (sdr_db(v_ref, v, eps) + sdr_db(a_ref, (v_ref + a_ref) - v, eps)).mean()
        else:
            loss = spec_loss(a, model, mix, voc, acc, window)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        opt.step()
        step += 1
        run_loss += loss.item()
        n_loss += 1
        frames_done += a.batch * (w_out // M.HOP if wave else a.frames)
        now = time.time()
        if step % 100 == 0:
            say(f'step {step} loss {run_loss / n_loss:.5f} lr {lr:.2e} '
                f'{frames_done / (now - t0):.0f} frames/s elapsed {(base_elapsed + now - t0) / 60:.1f} min')
            run_loss, n_loss = 0.0, 0
        if now - last_ck > a.ckpt_minutes * 60:
            elapsed = base_elapsed + now - t0
            checkpoint()
            last_ck = now
        if now - last_ev > a.eval_minutes * 60:
            say(f'step {step} quick devtest-subset voice NSDR (0 dB, plain SDR) {quick_sdr(model, dev_quick, window):.2f} dB')
            last_ev = time.time()
    elapsed = base_elapsed + time.time() - t0
    checkpoint()
    say(f'done: step {step}, {elapsed / 60:.1f} min; quick devtest-subset NSDR '
        f'{quick_sdr(model, dev_quick, window):.2f} dB')


if __name__ == '__main__':
    main()
