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
from embed_model import EmbedNet, clip_windows, pad_centre  # noqa: E402
from train_embed import load_tagger, rank_hits, us8k_class  # noqa: E402

URBAN = 10  # the first ten outputs are the us8k classes


def unit(X):
    return X / np.linalg.norm(X, axis=1, keepdims=True)


@torch.no_grad()
def clip_features(net, f):
    """(normalised penultimate layer, logits) of a file, each averaged over the
    windows the C code embeds (the penultimate as clip_embedding's direction)."""
    P, Z = [], []
    for w in clip_windows(f):
        p = net.pooled(torch.from_numpy(pad_centre(w)[None]))
        P.append(torch.nn.functional.normalize(p, dim=1)[0].numpy())
        Z.append(net.backbone.fc(p)[0].numpy())
    return np.mean(P, 0), np.mean(Z, 0)


def main():
    items = td.load_cache()
    scores = {}
    for folds, qf in (((1, 2), 3), ((1, 3), 2), ((2, 3), 1)):
        m, _ = load_tagger(f'runs/tagx_U_f{folds[0]}{folds[1]}')
        net = EmbedNet(m, head=False).eval()
        q = [it for it in items if it.group == 'us8k' and it.fold == qf]
        lib = [it for it in items if it.group == 'us8k' and it.fold in folds]
        Pq, Zq = map(np.stack, zip(*(clip_features(net, it.feat) for it in q)))
        Pl, Zl = map(np.stack, zip(*(clip_features(net, it.feat) for it in lib)))
        cq = np.array([us8k_class(it) for it in q])
        cl = np.array([us8k_class(it) for it in lib])
        sq, sl = 1 / (1 + np.exp(-Zq[:, :URBAN])), 1 / (1 + np.exp(-Zl[:, :URBAN]))
        variants = {'penult': (Pq, Pl), 'logits10': (Zq[:, :URBAN], Zl[:, :URBAN]),
                    'post10': (sq, sl), 'logits13': (Zq, Zl)}
        for w in (0.5, 1.0, 2.0):
            variants[f'penult+{w}post'] = (np.hstack([unit(Pq), w * unit(sq)]),
                                           np.hstack([unit(Pl), w * unit(sl)]))
        for k, (A, B) in variants.items():
            r = rank_hits(unit(A), unit(B), cq, cl)
            for key in ('rr', 'hit10', 'hit20'):
                scores.setdefault(k, {}).setdefault(key, []).append(r[key])
            print(qf, k, f'MRR {r["rr"].mean():.3f} R10 {r["hit10"].mean():.3f} '
                  f'R20 {r["hit20"].mean():.3f}', flush=True)
    for k, v in scores.items():
        print('ALL', k, ' '.join(f'{np.concatenate(v[key]).mean():.3f}'
                                  for key in ('rr', 'hit10', 'hit20')))


if __name__ == '__main__':
    main()
