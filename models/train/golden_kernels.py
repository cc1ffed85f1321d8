# SPDX-License-Identifier: ISC
"""Generates the golden reference data for tests/test_nn.c with Debian's PyTorch.

    /usr/bin/python3 models/train/golden_kernels.py [tests/golden/kernels.clvm]

Every case draws random weights and inputs from a fixed seed, runs the PyTorch
module or function, and stores inputs, weights and outputs as tensors named
"<case>.<what>" in one .clvm file (the format the C side reads anyway), with the
case's integer parameters in metadata "<case>.cfg". The C test recomputes every
output and compares by maximum absolute and relative error. Streaming cases store
the whole-signal PyTorch result; the C test feeds the input in chunks or frames.
Small networks (a GRU mask net, a Wave-U-Net-like and a Demucs-like 1-D net, a
CRNN tagger with folded batch norm) cover the kernels composed.
"""
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from clvm import fold_batchnorm, write_clvm  # noqa: E402

torch.set_num_threads(1)
T = {}
M = {"description": "golden kernel references for tests/test_nn.c",
     "generator": "models/train/golden_kernels.py", "torch_version": torch.__version__,
     "license": "ISC"}


def put(case, **arrays):
    for k, v in arrays.items():
        if isinstance(v, torch.Tensor):
            v = v.detach().cpu().numpy()
        T[f"{case}.{k}"] = np.ascontiguousarray(np.asarray(v, dtype=np.float32))


def cfg(case, *vals):
    M[f"{case}.cfg"] = [int(v) for v in vals]


def rnd(*shape, scale=1.0):
    return torch.randn(*shape) * scale


def seed(s):
    torch.manual_seed(s)
    np.random.seed(s)


@torch.no_grad()
def linear_cases():
    for i, (n, fin, fout, bias) in enumerate([(1, 129, 64, True), (7, 65, 33, True), (3, 40, 24, False)]):
        seed(100 + i)
        m = nn.Linear(fin, fout, bias=bias)
        x = rnd(n, fin)
        c = f"linear{i}"
        cfg(c, n, fin, fout, bias)
        put(c, x=x, w=m.weight, y=m(x))
        if bias:
            put(c, b=m.bias)


@torch.no_grad()
def conv1d_cases():
    specs = [  # cin, cout, k, stride, pad, dil, groups, bias, L
        (6, 8, 5, 1, 2, 1, 1, 1, 40),
        (8, 4, 3, 2, 1, 2, 2, 1, 33),
        (6, 6, 3, 1, 1, 1, 6, 1, 20),   # depthwise
        (5, 7, 1, 1, 0, 1, 1, 0, 17),   # pointwise, no bias
        (4, 6, 8, 4, 2, 1, 1, 1, 64),   # Demucs-like strided encoder
        (8, 8, 5, 1, 2, 1, 8, 1, 100),  # depthwise, long enough for the blocked path
        (4, 8, 3, 1, 2, 2, 4, 1, 77),   # channel multiplier 2, dilated
        (1, 6, 7, 1, 0, 1, 1, 1, 90),   # single input channel (first layer)
    ]
    for i, (cin, cout, k, s, p, d, g, bias, L) in enumerate(specs):
        seed(200 + i)
        m = nn.Conv1d(cin, cout, k, stride=s, padding=p, dilation=d, groups=g, bias=bool(bias))
        x = rnd(cin, L)
        c = f"conv1d{i}"
        cfg(c, cin, cout, k, s, p, d, g, bias, L)
        put(c, x=x, w=m.weight, y=m(x[None])[0])
        if bias:
            put(c, b=m.bias)


@torch.no_grad()
def conv1d_stream_cases():
    specs = [  # cin, cout, k, stride, dil, pad_left, L
        (4, 6, 3, 1, 2, 4, 50),   # causal dilated "same"
        (3, 5, 4, 2, 1, 3, 51),   # strided
        (2, 3, 2, 3, 1, 0, 40),   # stride larger than the window
        (3, 4, 1, 1, 1, 0, 23),   # pointwise
        (2, 2, 3, 1, 1, 5, 20),   # more padding than history
    ]
    for i, (cin, cout, k, s, d, pl, L) in enumerate(specs):
        seed(300 + i)
        m = nn.Conv1d(cin, cout, k, stride=s, dilation=d)
        x = rnd(cin, L)
        c = f"conv1ds{i}"
        cfg(c, cin, cout, k, s, d, pl, L)
        put(c, x=x, w=m.weight, b=m.bias, y=m(F.pad(x, (pl, 0))[None])[0])


@torch.no_grad()
def convt1d_cases():
    specs = [  # cin, cout, k, stride, pad, out_pad, dil, groups, bias, L
        (6, 4, 4, 2, 1, 0, 1, 1, 1, 15),
        (4, 6, 3, 3, 0, 1, 1, 2, 1, 10),
        (6, 4, 8, 4, 0, 0, 1, 1, 0, 16),  # Demucs-like decoder
        (3, 3, 3, 1, 1, 0, 2, 1, 1, 12),
    ]
    for i, (cin, cout, k, s, p, op, d, g, bias, L) in enumerate(specs):
        seed(400 + i)
        m = nn.ConvTranspose1d(cin, cout, k, stride=s, padding=p, output_padding=op, dilation=d,
                               groups=g, bias=bool(bias))
        x = rnd(cin, L)
        c = f"convt1d{i}"
        cfg(c, cin, cout, k, s, p, op, d, g, bias, L)
        put(c, x=x, w=m.weight, y=m(x[None])[0])
        if bias:
            put(c, b=m.bias)


@torch.no_grad()
def conv2d_cases():
    specs = [  # cin, cout, kh, kw, sh, sw, ph, pw, dh, dw, groups, bias, H, W
        (3, 5, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 12, 10),
        (4, 6, 3, 2, 2, 1, 1, 0, 1, 2, 2, 1, 11, 9),
        (2, 4, 1, 1, 1, 1, 0, 0, 1, 1, 1, 0, 5, 7),
        (1, 8, 5, 5, 2, 2, 2, 2, 1, 1, 1, 1, 32, 24),  # tagger first layer on log-mel
        (1, 4, 3, 5, 1, 1, 1, 2, 1, 2, 1, 1, 10, 70),  # one input channel, stride 1, dilated
        (3, 6, 3, 3, 1, 1, 1, 1, 1, 1, 3, 1, 9, 40),   # depthwise with multiplier 2
    ]
    for i, (cin, cout, kh, kw, sh, sw, ph, pw, dh, dw, g, bias, H, W) in enumerate(specs):
        seed(500 + i)
        m = nn.Conv2d(cin, cout, (kh, kw), stride=(sh, sw), padding=(ph, pw), dilation=(dh, dw),
                      groups=g, bias=bool(bias))
        x = rnd(cin, H, W)
        c = f"conv2d{i}"
        cfg(c, cin, cout, kh, kw, sh, sw, ph, pw, dh, dw, g, bias, H, W)
        put(c, x=x, w=m.weight, y=m(x[None])[0])
        if bias:
            put(c, b=m.bias)


@torch.no_grad()
def rnn_cases():
    specs = [  # kind (0 gru, 1 lstm), input, hidden, layers, bidir, bias, T
        (0, 12, 16, 1, 0, 1, 9),
        (0, 10, 8, 2, 1, 1, 7),
        (1, 12, 16, 1, 0, 1, 9),
        (1, 10, 8, 2, 1, 0, 7),
        (0, 20, 24, 2, 0, 1, 15),
    ]
    for i, (kind, fin, H, layers, bidir, bias, Tn) in enumerate(specs):
        seed(600 + i)
        cls = nn.GRU if kind == 0 else nn.LSTM
        m = cls(fin, H, num_layers=layers, bidirectional=bool(bidir), bias=bool(bias),
                batch_first=True)
        x = rnd(Tn, fin)
        y, _ = m(x[None])
        c = f"rnn{i}"
        cfg(c, kind, fin, H, layers, bidir, bias, Tn)
        put(c, x=x, y=y[0])
        for name, p in m.named_parameters():
            put(c, **{name: p})


@torch.no_grad()
def mha_cases():
    for i, (E, heads, Tn, causal, bias) in enumerate([(16, 4, 7, 0, 1), (24, 3, 10, 1, 1),
                                                      (8, 1, 5, 0, 0)]):
        seed(700 + i)
        m = nn.MultiheadAttention(E, heads, bias=bool(bias), batch_first=True)
        m.eval()
        x = rnd(Tn, E)
        mask = torch.triu(torch.full((Tn, Tn), float("-inf")), 1) if causal else None
        y, _ = m(x[None], x[None], x[None], attn_mask=mask, need_weights=False)
        c = f"mha{i}"
        cfg(c, E, heads, Tn, causal, bias)
        put(c, x=x, in_w=m.in_proj_weight, out_w=m.out_proj.weight, y=y[0])
        if bias:
            put(c, in_b=m.in_proj_bias, out_b=m.out_proj.bias)


@torch.no_grad()
def norm_cases():
    seed(800)
    x = rnd(6, 20, scale=3.0) + 1.5
    m = nn.LayerNorm(20)
    m.weight.normal_()
    m.bias.normal_()
    cfg("layernorm", 6, 20)
    put("layernorm", x=x, g=m.weight, b=m.bias, y=m(x))

    x = rnd(8, 15, scale=2.0) - 0.5
    m = nn.GroupNorm(4, 8)
    m.weight.normal_()
    m.bias.normal_()
    cfg("groupnorm", 8, 15, 4)
    put("groupnorm", x=x, g=m.weight, b=m.bias, y=m(x[None])[0])

    x = rnd(5, 11)
    m = nn.BatchNorm1d(5)
    m.running_mean.normal_()
    m.running_var.uniform_(0.5, 2.0)
    m.weight.normal_()
    m.bias.normal_()
    m.eval()
    cfg("batchnorm", 5, 11)
    put("batchnorm", x=x, mean=m.running_mean, var=m.running_var, g=m.weight, b=m.bias,
        y=m(x[None])[0])


@torch.no_grad()
def activation_cases():
    seed(900)
    x = rnd(257, scale=3.0)
    x[0], x[1], x[2] = 0.0, 30.0, -30.0
    put("act", x=x, relu=F.relu(x), leaky=F.leaky_relu(x, 0.1), gelu=F.gelu(x),
        gelu_tanh=F.gelu(x, approximate="tanh"), tanh=torch.tanh(x), sigmoid=torch.sigmoid(x))
    x = rnd(5, 13, scale=4.0)
    put("softmax", x=x, y=F.softmax(x, dim=-1))
    x = rnd(8, 9)
    put("glu0", x=x, y=F.glu(x, dim=0))
    x = rnd(5, 12)
    put("glu1", x=x, y=F.glu(x, dim=-1))


@torch.no_grad()
def pool_cases():
    seed(1000)
    x = rnd(4, 21)
    put("pool1d", x=x, max=F.max_pool1d(x[None], 3, 2, 1)[0], avg=F.avg_pool1d(x[None], 3, 2, 1)[0],
        gavg=x.mean(-1), gmax=x.amax(-1))
    x = rnd(3, 10, 9)
    put("pool2d", x=x, max=F.max_pool2d(x[None], (3, 2), (2, 2), (1, 0))[0],
        avg=F.avg_pool2d(x[None], (3, 2), (2, 2), (1, 0))[0])


@torch.no_grad()
def upsample_cases():
    seed(1100)
    x = rnd(3, 11)
    put("upsample", x=x,
        lin_ac=F.interpolate(x[None], size=21, mode="linear", align_corners=True)[0],
        lin=F.interpolate(x[None], size=30, mode="linear", align_corners=False)[0],
        lin_down=F.interpolate(x[None], size=7, mode="linear", align_corners=False)[0],
        nearest=F.interpolate(x[None], size=25, mode="nearest")[0])


# ------------------------------------------------------------ small networks --

class MaskNet(nn.Module):
    """Streaming GRU mask net: linear, 2-layer GRU, linear + sigmoid, per frame."""

    def __init__(self, bins=33, hidden=24):
        super().__init__()
        self.fc_in = nn.Linear(bins, hidden)
        self.gru = nn.GRU(hidden, hidden, num_layers=2, batch_first=True)
        self.fc_out = nn.Linear(hidden, bins)

    def forward(self, x):  # x [1, T, bins]
        h = torch.relu(self.fc_in(x))
        h, _ = self.gru(h)
        return torch.sigmoid(self.fc_out(h))


class TinyWaveUNet(nn.Module):
    """Two levels of Wave-U-Net: conv, decimate, ..., linear upsampling
    (align_corners, 2L-1), centre crop, concat, conv; tanh output."""

    def __init__(self, ch=4):
        super().__init__()
        self.d1 = nn.Conv1d(1, ch, 5)
        self.d2 = nn.Conv1d(ch, 2 * ch, 5)
        self.mid = nn.Conv1d(2 * ch, 2 * ch, 3)
        self.u2 = nn.Conv1d(4 * ch, ch, 5)
        self.u1 = nn.Conv1d(2 * ch, ch, 5)
        self.out = nn.Conv1d(ch + 1, 1, 1)

    @staticmethod
    def crop_cat(up, skip):
        s = (skip.shape[-1] - up.shape[-1]) // 2
        return torch.cat([up, skip[..., s:s + up.shape[-1]]], 1)

    def forward(self, x):
        s1 = F.leaky_relu(self.d1(x), 0.1)
        h = s1[..., ::2]
        s2 = F.leaky_relu(self.d2(h), 0.1)
        h = s2[..., ::2]
        h = F.leaky_relu(self.mid(h), 0.1)
        h = F.interpolate(h, size=2 * h.shape[-1] - 1, mode="linear", align_corners=True)
        h = F.leaky_relu(self.u2(self.crop_cat(h, s2)), 0.1)
        h = F.interpolate(h, size=2 * h.shape[-1] - 1, mode="linear", align_corners=True)
        h = F.leaky_relu(self.u1(self.crop_cat(h, s1)), 0.1)
        return torch.tanh(self.out(self.crop_cat(h, x)))


class TinyDemucs(nn.Module):
    """Demucs-style: strided conv + ReLU + 1x1 conv + GLU encoders, BiLSTM
    bottleneck with a linear back to the channel count, transposed-conv
    decoders with skip additions (cropped), group norm in the first encoder."""

    def __init__(self, ch=4):
        super().__init__()
        self.e1 = nn.Conv1d(1, ch, 8, 4)
        self.gn = nn.GroupNorm(2, ch)
        self.e1b = nn.Conv1d(ch, 2 * ch, 1)
        self.e2 = nn.Conv1d(ch, 2 * ch, 8, 4)
        self.e2b = nn.Conv1d(2 * ch, 4 * ch, 1)
        self.lstm = nn.LSTM(2 * ch, 2 * ch, num_layers=1, bidirectional=True, batch_first=True)
        self.lin = nn.Linear(4 * ch, 2 * ch)
        self.d2a = nn.Conv1d(2 * ch, 4 * ch, 3, padding=1)
        self.d2 = nn.ConvTranspose1d(2 * ch, ch, 8, 4)
        self.d1a = nn.Conv1d(ch, 2 * ch, 3, padding=1)
        self.d1 = nn.ConvTranspose1d(ch, 1, 8, 4)

    def forward(self, x):
        s1 = F.glu(self.e1b(F.relu(self.gn(self.e1(x)))), 1)
        s2 = F.glu(self.e2b(F.relu(self.e2(s1))), 1)
        h, _ = self.lstm(s2.transpose(1, 2))
        h = self.lin(h).transpose(1, 2)
        h = h + s2
        h = F.relu(self.d2(F.glu(self.d2a(h), 1)))
        h = h + s1[..., :h.shape[-1]]
        return self.d1(F.glu(self.d1a(h), 1))


class TinyTagger(nn.Module):
    """CRNN tagger on log-mel [1, mels, frames]: conv-BN-ReLU-maxpool twice, mean over
    frequency, GRU over time, linear, softmax over classes of the mean over time."""

    def __init__(self, mels=16, classes=5):
        super().__init__()
        self.c1 = nn.Conv2d(1, 6, 3, padding=1)
        self.b1 = nn.BatchNorm2d(6)
        self.c2 = nn.Conv2d(6, 8, 3, padding=1)
        self.b2 = nn.BatchNorm2d(8)
        self.gru = nn.GRU(8, 12, batch_first=True)
        self.fc = nn.Linear(12, classes)

    def forward(self, x):  # x [1, 1, mels, frames]
        h = F.max_pool2d(F.relu(self.b1(self.c1(x))), 2)
        h = F.max_pool2d(F.relu(self.b2(self.c2(h))), 2)
        h = h.mean(2).transpose(1, 2)  # [1, frames/4, 8]
        h, _ = self.gru(h)
        return F.softmax(self.fc(h).mean(1), -1)


def randomise(m):
    for mod in m.modules():
        if isinstance(mod, (nn.BatchNorm2d, nn.BatchNorm1d)):
            mod.running_mean.normal_(0, 0.5)
            mod.running_var.uniform_(0.5, 2.0)
            mod.weight.data.uniform_(0.5, 1.5)
            mod.bias.data.normal_(0, 0.3)


@torch.no_grad()
def net_cases():
    seed(1200)
    m = MaskNet().eval()
    x = rnd(12, 33).abs()
    put("masknet", x=x, y=m(x[None])[0])
    for k, v in m.state_dict().items():
        put("masknet", **{k: v})

    seed(1201)
    m = TinyWaveUNet().eval()
    x = rnd(1, 81, scale=0.5)
    put("waveunet", x=x, y=m(x[None])[0])
    for k, v in m.state_dict().items():
        put("waveunet", **{k: v})

    seed(1202)
    m = TinyDemucs().eval()
    x = rnd(1, 340, scale=0.5)
    put("demucs", x=x, y=m(x[None])[0])
    for k, v in m.state_dict().items():
        put("demucs", **{k: v})

    seed(1203)
    m = TinyTagger()
    randomise(m)
    m.eval()
    x = rnd(1, 16, 20)
    put("tagger", x=x, y=m(x[None])[0])
    sd = m.state_dict()
    for conv, bn in (("c1", "b1"), ("c2", "b2")):
        w, b = fold_batchnorm(sd[f"{conv}.weight"].numpy(), sd[f"{conv}.bias"].numpy(),
                              sd[f"{bn}.running_mean"].numpy(), sd[f"{bn}.running_var"].numpy(),
                              sd[f"{bn}.weight"].numpy(), sd[f"{bn}.bias"].numpy(), m.b1.eps)
        put("tagger", **{f"{conv}.weight": w, f"{conv}.bias": b})
    for k in ("gru.weight_ih_l0", "gru.weight_hh_l0", "gru.bias_ih_l0", "gru.bias_hh_l0",
              "fc.weight", "fc.bias"):
        put("tagger", **{k: sd[k]})


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "golden", "kernels.clvm")
    for f in (linear_cases, conv1d_cases, conv1d_stream_cases, convt1d_cases, conv2d_cases,
              rnn_cases, mha_cases, norm_cases, activation_cases, pool_cases, upsample_cases,
              net_cases):
        f()
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    size = write_clvm(out, T, M)
    print(f"{out}: {len(T)} tensors, {len(M)} metadata entries, {size} bytes")


if __name__ == "__main__":
    main()
