#!/usr/bin/python3
# SPDX-License-Identifier: ISC
"""Which layer of the fold taggers makes the best query-by-example embedding.

  /usr/bin/python3 models/train/embed_variants.py     (after tag_data.py has built its cache)

For each us8k rotation (library: two folds, queries: the third) it embeds every clip
with the rotation tagger runs/tagx_U_fXY (whole-clip windows as models/clv_embed.c
does) as: the penultimate layer (what cleave ships), the 13 logits, the 10 urban
logits, the 10 urban scores, and the penultimate with the scores appended at three
weights; prints MRR@20, Recall@10 and Recall@20 per fold and over all queries.
Session 7: penultimate 0.680, logits 0.679 / 0.670, scores 0.651, appended 0.655-0.670.
"""
import os
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
os.chdir(HERE)
torch.set_num_threads(1)
import tag_data as td  # noqa: E402
from embed_model import EmbedNet, pad_centre, MAX_FRAMES  # noqa: E402
from train_embed import load_tagger, us8k_class  # noqa: E402
items = td.load_cache()
US = 10
@torch.no_grad()
def feats(net, f):
    f = np.asarray(f, dtype=np.float32)
    n = f.shape[0]
    if n <= MAX_FRAMES:
        wins = [f]
    else:
        ends = list(range(MAX_FRAMES, n + 1, MAX_FRAMES // 2))
        if ends[-1] != n: ends.append(n)
        wins = [f[e - MAX_FRAMES:e] for e in ends]
    P, Q = [], []
    for w in wins:
        x = torch.from_numpy(pad_centre(w)[None])
        p = net.pooled(x)
        lg = net.backbone.fc(p)
        P.append(torch.nn.functional.normalize(p, dim=1)[0].numpy()); Q.append(lg[0].numpy())
    return np.mean(P, 0), np.mean(Q, 0)
def score(Q, L, cq, cl):
    Qn = Q / np.linalg.norm(Q, axis=1, keepdims=True); Ln = L / np.linalg.norm(L, axis=1, keepdims=True)
    order = np.argsort(-(Qn @ Ln.T), axis=1, kind='stable')[:, :20]
    hit = cl[order] == cq[:, None]
    first = np.where(hit.any(1), hit.argmax(1) + 1, 0)
    return np.where(first > 0, 1.0 / np.maximum(first, 1), 0.0), hit[:, :10].any(1), hit.any(1)
res = {}
for folds, qf in (((1, 2), 3), ((1, 3), 2), ((2, 3), 1)):
    m, _ = load_tagger(f'runs/tagx_U_f{folds[0]}{folds[1]}')
    net = EmbedNet(m, head=False).eval()
    q = [it for it in items if it.group == 'us8k' and it.fold == qf]
    lib = [it for it in items if it.group == 'us8k' and it.fold in folds]
    Fq = [feats(net, it.feat) for it in q]; Fl = [feats(net, it.feat) for it in lib]
    cq = np.array([us8k_class(it) for it in q]); cl = np.array([us8k_class(it) for it in lib])
    Pq = np.stack([a for a, b in Fq]); Pl = np.stack([a for a, b in Fl])
    Lq = np.stack([b for a, b in Fq]); Ll = np.stack([b for a, b in Fl])
    sig = lambda z: 1 / (1 + np.exp(-z))
    var = {'penult': (Pq, Pl), 'logits10': (Lq[:, :US], Ll[:, :US]), 'post10': (sig(Lq[:, :US]), sig(Ll[:, :US])),
           'logits13': (Lq, Ll)}
    for a in (0.5, 1.0, 2.0):
        n = lambda X: X / np.linalg.norm(X, axis=1, keepdims=True)
        var[f'penult+{a}post'] = (np.hstack([n(Pq), a * n(sig(Lq[:, :US]))]), np.hstack([n(Pl), a * n(sig(Ll[:, :US]))]))
    for k, (A, B) in var.items():
        r = score(A, B, cq, cl)
        res.setdefault(k, [[], [], []])
        for i in range(3): res[k][i].append(r[i])
        print(qf, k, f'MRR {r[0].mean():.3f} R10 {r[1].mean():.3f} R20 {r[2].mean():.3f}', flush=True)
for k, v in res.items():
    print('ALL', k, ' '.join(f'{np.concatenate(x).mean():.3f}' for x in v))
