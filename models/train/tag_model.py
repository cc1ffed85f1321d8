# SPDX-License-Identifier: ISC
"""The cleave tagger network (C twin: models/clv_tagger.c).

Input: log-mel (B, T, 64) from tag_features. Per-band normalisation with fixed
statistics (buffers norm_mean / norm_std, set from the training data), then four
blocks conv3x3 (padding 1) -> batch norm -> ReLU, the first three followed by 2x2
max pooling (floor), then mean over frequency, then over time the concatenation
of mean and max, dropout, and a linear layer to 13 logits (sigmoid outside).
Layout inside: (B, C, F, T). Only layers with C kernels: conv2d, batch norm
(folded into the conv at export), relu, max pool, mean/max, linear.
"""
import torch
import torch.nn as nn

import tag_features as tf

CHANNELS = (16, 32, 64, 128)


class TagNet(nn.Module):
    def __init__(self, n_labels=13, channels=CHANNELS, n_mels=tf.N_MELS, dropout=0.3):
        super().__init__()
        self.register_buffer('norm_mean', torch.zeros(n_mels))
        self.register_buffer('norm_std', torch.ones(n_mels))
        convs, bns = [], []
        cin = 1
        for c in channels:
            convs.append(nn.Conv2d(cin, c, 3, padding=1, bias=False))
            bns.append(nn.BatchNorm2d(c))
            cin = c
        self.convs = nn.ModuleList(convs)
        self.bns = nn.ModuleList(bns)
        self.pool = nn.MaxPool2d(2)
        self.drop = nn.Dropout(dropout)
        self.fc = nn.Linear(2 * cin, n_labels)

    def embed(self, x):
        """x (B, T, F) log-mel -> (B, C, T') after the frequency mean."""
        x = (x - self.norm_mean) / self.norm_std
        x = x.transpose(1, 2).unsqueeze(1)  # (B, 1, F, T)
        n = len(self.convs)
        for i in range(n):
            x = torch.relu(self.bns[i](self.convs[i](x)))
            if i < n - 1:
                x = self.pool(x)
        return x.mean(dim=2)

    def forward(self, x):
        h = self.embed(x)
        h = torch.cat([h.mean(dim=2), h.amax(dim=2)], dim=1)
        return self.fc(self.drop(h))


def from_args(args):
    """A TagNet shaped as the training run recorded in its args (older runs: defaults)."""
    ch = args.get('channels') if isinstance(args, dict) else None
    if isinstance(ch, str):
        ch = [int(c) for c in ch.split(',')]
    return TagNet(channels=tuple(ch) if ch else CHANNELS)


def spec_augment(x, rng, n_freq=2, max_f=8, n_time=2, max_t=20, fill=None):
    """In place on a (B, T, F) tensor: frequency and time masks (SpecAugment).
    Masked cells take the per-example mean (a neutral value after normalisation)."""
    B, T, F = x.shape
    for b in range(B):
        v = x[b].mean() if fill is None else fill
        for _ in range(n_freq):
            w = int(rng.integers(0, max_f + 1))
            f0 = int(rng.integers(0, F - w + 1))
            x[b, :, f0:f0 + w] = v
        for _ in range(n_time):
            w = int(rng.integers(0, max_t + 1))
            t0 = int(rng.integers(0, T - w + 1))
            x[b, t0:t0 + w, :] = v
    return x
