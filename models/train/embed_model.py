# SPDX-License-Identifier: ISC
"""The cleave embedding network (C twin: models/clv_embed.c) and its loss.

EmbedNet = the tagger's TagNet (tag_model.py: per-band normalisation, four conv
blocks, frequency mean, time mean + max = 2 C pooled values, and its linear
classifier kept for an auxiliary loss) plus a projection head
Linear(2C, H) -> ReLU -> Linear(H, D), whose output, L2-normalised, is the
embedding. With head=None the embedding is the normalised pooled vector (what
the C code gives for a plain tagger file).

clip_embedding() is what the C code computes for a whole file: all frames in one
pass when there are at most MAX_FRAMES (shorter than the 3 s window: centred in
floor padding), otherwise windows of MAX_FRAMES every MAX_FRAMES / 2 plus one
ending at the last frame, averaged after normalisation and normalised again.
"""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

import tag_data as td
from tag_model import TagNet

MAX_FRAMES = 500   # CLV_EMBED_MAX_FRAMES
WINDOW = 150       # the tagger's window: shortest pass
MFCC_DIM = 20


class EmbedNet(nn.Module):
    def __init__(self, tagnet=None, hidden=256, dim=128, head=True):
        super().__init__()
        self.backbone = tagnet if tagnet is not None else TagNet()
        c2 = self.backbone.fc.in_features
        self.head = nn.Sequential(nn.Linear(c2, hidden), nn.ReLU(), nn.Linear(hidden, dim)) \
            if head else None

    def pooled(self, x):
        """x (B, T, F) log-mel -> (B, 2C)."""
        h = self.backbone.embed(x)
        return torch.cat([h.mean(dim=2), h.amax(dim=2)], dim=1)

    def forward(self, x):
        """-> (normalised embedding (B, D), classifier logits (B, 13))."""
        p = self.pooled(x)
        z = self.head(p) if self.head is not None else p
        return F.normalize(z, dim=1), self.backbone.fc(self.backbone.drop(p))


def pad_centre(f, T=WINDOW):
    f = np.asarray(f, dtype=np.float32)
    if f.shape[0] >= T:
        return f
    out = np.full((T, f.shape[1]), td.FLOOR, dtype=np.float32)
    o = (T - f.shape[0]) // 2
    out[o:o + f.shape[0]] = f
    return out


@torch.no_grad()
def window_embedding(model, f):
    x = torch.from_numpy(pad_centre(f)[None])
    z, _ = model(x)
    return z[0].numpy().astype(np.float64)


def clip_windows(f):
    """f: (T, F) log-mel of a whole file -> the pieces the C code embeds: the whole
    file up to MAX_FRAMES (one silent frame when empty), otherwise windows of
    MAX_FRAMES every MAX_FRAMES / 2 plus one ending at the last frame."""
    f = np.asarray(f, dtype=np.float32)
    n = f.shape[0]
    if n == 0:
        return [np.full((1, f.shape[1]), td.FLOOR, np.float32)]
    if n <= MAX_FRAMES:
        return [f]
    ends = list(range(MAX_FRAMES, n + 1, MAX_FRAMES // 2))
    if ends[-1] != n:
        ends.append(n)
    return [f[e - MAX_FRAMES:e] for e in ends]


@torch.no_grad()
def clip_embedding(model, f):
    """f: (T, F) log-mel of a whole file -> normalised embedding (float64)."""
    wins = clip_windows(f)
    if len(wins) == 1:
        return window_embedding(model, wins[0])
    acc = sum(window_embedding(model, w) for w in wins)
    return acc / max(np.linalg.norm(acc), 1e-30)


def supcon_loss(z, labels, temperature=0.1):
    """Supervised contrastive loss (Khosla et al. 2020, L_out) on normalised z (B, D)
    with integer labels (B,); anchors without a positive in the batch are skipped."""
    B = z.shape[0]
    sim = z @ z.t() / temperature
    eye = torch.eye(B, dtype=torch.bool)
    sim = sim.masked_fill(eye, -1e9)
    pos = (labels[:, None] == labels[None, :]) & ~eye
    logprob = sim - torch.logsumexp(sim, dim=1, keepdim=True)
    npos = pos.sum(1)
    keep = npos > 0
    loss = -(logprob * pos).sum(1)[keep] / npos[keep]
    return loss.mean()


def mfcc(f):
    """Coefficients 1..MFCC_DIM of the orthonormal DCT-II of log-mel frames (T, F)."""
    from scipy.fft import dct
    return dct(np.asarray(f, np.float64), type=2, norm='ortho', axis=1)[:, 1:MFCC_DIM + 1]
