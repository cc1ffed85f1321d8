# SPDX-License-Identifier: ISC
"""Separation networks (PyTorch) whose layers all have C counterparts.

StackedHourglass: a streamable, frequency-aware variant of the stacked hourglass
mask network (Park et al. 2018). Each stack is an hourglass along FREQUENCY:
the 512 lowest STFT bins are split into 32 bands of 16 bins; per-band linear
layers (own weights per band, so the network knows where it is in frequency)
encode each band, pairs of adjacent bands are merged twice (32 -> 16 -> 8 bands),
the bottleneck is flattened and runs through a unidirectional GRU over TIME, and
the decoder splits bands back (8 -> 16 -> 32) with skip connections, ending in
one sigmoid vocal mask per bin. Stack k+1 sees the log-magnitudes, stack k's mask
and stack k's decoder features. Every stack's mask is trained (loss on each).
The Nyquist bin takes the mask of bin 511.

Lookahead: the first encoder layer of stack 1 sees frames t-1 .. t+L (a per-band
convolution over time written as a linear layer on stacked frames); everything
else is causal. The C port delays its output by L frames.

STFT: n_fft 1024, hop 256, periodic sqrt-Hann analysis window, as dsp/clv_stft.c.
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

N_FFT = 1024
HOP = 256
BINS = N_FFT // 2 + 1


def sqrt_hann(n=N_FFT):
    return torch.sqrt(torch.hann_window(n, periodic=True))


def stft(x, window, hop=HOP):
    """x [B, S] -> complex [B, T, n_fft/2+1] (n_fft = the window's length); frame t
    covers samples [t*hop, t*hop+n_fft)."""
    n = window.shape[0]
    return torch.stft(x, n, hop, window=window, center=False, return_complex=True).transpose(1, 2)


def synthesis_window(window, hop=HOP):
    """Dual of the analysis window for this hop, as dsp/clv_stft.c computes it."""
    n = window.shape[0]
    w2 = window ** 2
    # sum of the squared window over all hop shifts that overlap sample i
    acc = torch.zeros(n)
    for i in range(n):
        j = i % hop
        acc[i] = w2[j::hop].sum()
    return window / acc


def istft(spec, window, length=None, hop=HOP):
    """Overlap-add inverse of stft(): spec [B, T, bins] -> [B, (T-1)*hop + n_fft].
    Output sample i belongs to the same time axis as stft()'s input."""
    B, T, _ = spec.shape
    n = window.shape[0]
    frames = torch.fft.irfft(spec, n=n, dim=-1) * synthesis_window(window, hop)
    r = n // hop
    fr = frames.reshape(B, T, r, hop)
    out = torch.zeros(B, T + r - 1, hop, dtype=frames.dtype)
    for j in range(r):
        out[:, j:j + T] += fr[:, :, j]
    out = out.reshape(B, -1)
    return out if length is None else out[:, :length]


def gelu(x):
    """Exact (erf) GELU written out: torch 1.13's fused CPU GELU backward returns
    wrong gradients when the incoming gradient is non-contiguous (as after bmm)."""
    return 0.5 * x * (1.0 + torch.erf(x * 0.7071067811865476))


class BandLinear(nn.Module):
    """Independent linear layer per band: x [..., nb, cin] -> [..., nb, cout]."""

    def __init__(self, nb, cin, cout):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(nb, cout, cin))
        self.bias = nn.Parameter(torch.zeros(nb, cout))
        bound = 1.0 / math.sqrt(cin)
        nn.init.uniform_(self.weight, -bound, bound)
        nn.init.uniform_(self.bias, -bound, bound)

    def forward(self, x):
        # bmm over bands: one batched GEMM per layer
        lead = x.shape[:-2]
        nb, cin = x.shape[-2:]
        xb = x.reshape(-1, nb, cin).transpose(0, 1)                  # [nb, N, cin]
        y = torch.bmm(xb, self.weight.transpose(1, 2))               # [nb, N, cout]
        return y.transpose(0, 1).reshape(*lead, nb, -1) + self.bias


class HourglassStack(nn.Module):
    def __init__(self, cin_band, d0, d1, d2, hidden, nb=32, bw=16):
        super().__init__()
        self.nb, self.bw = nb, bw
        self.enc0 = BandLinear(nb, cin_band, d0)
        self.down1 = BandLinear(nb // 2, 2 * d0, d1)
        self.down2 = BandLinear(nb // 4, 2 * d1, d2)
        flat = (nb // 4) * d2
        self.bott_in = nn.Linear(flat, hidden)
        self.gru = nn.GRU(hidden, hidden, batch_first=True)
        self.bott_out = nn.Linear(hidden, flat)
        self.up2 = BandLinear(nb // 4, d2, 2 * d1)
        self.up1 = BandLinear(nb // 2, d1, 2 * d0)
        self.head = BandLinear(nb, d0, bw)
        self.d = (d0, d1, d2)

    def forward(self, x, h=None):
        """x [B, T, nb, cin] -> mask [B, T, nb*bw] (sigmoid), decoder features [B, T, nb, d0]."""
        B, T = x.shape[:2]
        d0, d1, d2 = self.d
        nb = self.nb
        e0 = gelu(self.enc0(x))                                     # [B,T,32,d0]
        e1 = gelu(self.down1(e0.reshape(B, T, nb // 2, 2 * d0)))    # [B,T,16,d1]
        e2 = gelu(self.down2(e1.reshape(B, T, nb // 4, 2 * d1)))    # [B,T,8,d2]
        z = self.bott_in(e2.reshape(B, T, -1))
        z, h = self.gru(z, h)
        u2 = gelu(self.bott_out(z).reshape(B, T, nb // 4, d2) + e2)
        u1 = gelu(self.up2(u2).reshape(B, T, nb // 2, d1) + e1)
        u0 = gelu(self.up1(u1).reshape(B, T, nb, d0) + e0)
        m = torch.sigmoid(self.head(u0)).reshape(B, T, nb * self.bw)
        return m, u0, h


class StackedHourglass(nn.Module):
    arch = 'stacked_hourglass_band_gru'

    def __init__(self, stacks=2, d0=24, d1=48, d2=96, hidden=192, lookahead=0, nb=32, bw=16,
                 n_fft=N_FFT, hop=HOP):
        super().__init__()
        assert nb * bw == n_fft // 2 and nb % 4 == 0 and n_fft % hop == 0
        self.cfg = dict(stacks=stacks, d0=d0, d1=d1, d2=d2, hidden=hidden, lookahead=lookahead,
                        nb=nb, bw=bw)
        if (n_fft, hop) != (N_FFT, HOP):
            self.cfg.update(n_fft=n_fft, hop=hop)
        self.n_fft, self.hop = n_fft, hop
        self.nb, self.bw, self.lookahead = nb, bw, lookahead
        self.ctx = lookahead + 2  # frames t-1 .. t+L
        # log-magnitude normalisation: measured at init (set_norm), then learned
        self.in_mean = nn.Parameter(torch.zeros(nb * bw))
        self.in_scale = nn.Parameter(torch.ones(nb * bw))
        stk = [HourglassStack(self.ctx * bw, d0, d1, d2, hidden, nb, bw)]
        for _ in range(stacks - 1):
            stk.append(HourglassStack(2 * bw + d0, d0, d1, d2, hidden, nb, bw))
        self.stacks = nn.ModuleList(stk)

    @torch.no_grad()
    def set_norm(self, logmag):
        """logmag [N, BINS] from training mixtures."""
        lm = logmag[:, : self.nb * self.bw]
        self.in_mean.copy_(lm.mean(0))
        self.in_scale.copy_(1.0 / (lm.std(0) + 1e-3))

    @staticmethod
    def features(mag):
        return torch.log(mag + 1e-5)

    def forward(self, mag):
        """mag [B, T, BINS] mixture magnitudes. Returns a list of vocal masks
        [B, T', BINS], one per stack, T' = T - 1 - L: mask k applies to input frame k+1."""
        B, T, _ = mag.shape
        L = self.lookahead
        nbw = self.nb * self.bw
        xn = (self.features(mag[..., :nbw]) - self.in_mean) * self.in_scale      # [B,T,512]
        xb = xn.reshape(B, T, self.nb, self.bw)
        Tn = T - 1 - L
        # stacked context frames t-1..t+L for output frames t = 1..T-1-L
        ctx = torch.cat([xb[:, k:k + Tn] for k in range(self.ctx)], dim=-1)    # [B,Tn,32,ctx*bw]
        masks = []
        m, u0, _ = self.stacks[0](ctx)
        masks.append(m)
        xc = xb[:, 1:1 + Tn]
        for s in self.stacks[1:]:
            inp = torch.cat([xc, m.reshape(B, Tn, self.nb, self.bw), u0], dim=-1)
            m, u0, _ = s(inp)
            masks.append(m)
        return [torch.cat([mm, mm[..., -1:]], dim=-1) for mm in masks]


class GruBaseline(nn.Module):
    """FIELD.md baseline: log-magnitude, linear 513->256, two GRU layers of 256, sigmoid mask."""
    arch = 'gru_mask_baseline'

    def __init__(self, hidden=256):
        super().__init__()
        self.cfg = dict(hidden=hidden)
        self.lookahead = 0
        self.in_mean = nn.Parameter(torch.zeros(BINS))
        self.in_scale = nn.Parameter(torch.ones(BINS))
        self.inp = nn.Linear(BINS, hidden)
        self.gru = nn.GRU(hidden, hidden, num_layers=2, batch_first=True)
        self.out = nn.Linear(hidden, BINS)

    @torch.no_grad()
    def set_norm(self, logmag):
        self.in_mean.copy_(logmag.mean(0))
        self.in_scale.copy_(1.0 / (logmag.std(0) + 1e-3))

    def forward(self, mag):
        x = (torch.log(mag + 1e-5) - self.in_mean) * self.in_scale
        z, _ = self.gru(torch.relu(self.inp(x)))
        # same framing convention as StackedHourglass with L=0: drop frame 0
        return [torch.sigmoid(self.out(z))[:, 1:]]


def build(arch, **kw):
    if arch in ('hourglass', StackedHourglass.arch):
        return StackedHourglass(**kw)
    if arch in ('gru', GruBaseline.arch):
        return GruBaseline(**kw)
    import sep_wave
    if arch in ('waveunet', 'demucs', 'hybrid', sep_wave.WaveUNet.arch, sep_wave.DemucsStream.arch,
                sep_wave.HybridDemucs.arch):
        return sep_wave.build(arch, **kw)
    raise ValueError(f'unknown architecture {arch}')


def count_params(model):
    return sum(p.numel() for p in model.parameters())


def stream_vocals(model, x, window):
    """Vocals of a mask network on the streaming framing of the C port, batched and
    differentiable: x [B, S] -> [B, S] aligned with x. n_fft - hop zeros of history
    before the first sample, output frame k = input frame k; frames beyond the
    lookahead at the end see zero-padded future."""
    n_fft, hop = getattr(model, 'n_fft', N_FFT), getattr(model, 'hop', HOP)
    L = model.lookahead
    B, S = x.shape
    pad_l = n_fft - hop
    # every output sample needs all n_fft/hop frames that overlap it
    n_frames = (S + hop - 1) // hop + n_fft // hop - 1
    # frames 0..n_frames-1 in stream time + 1 history frame (-1) + L future frames
    total = pad_l + (n_frames + L) * hop
    xp = x.new_zeros(B, total + hop)
    xp[:, pad_l + hop: pad_l + hop + S] = x
    # xp frame j covers stream frame j-1 (frame -1 is pure history)
    X = stft(xp, window, hop)[:, : n_frames + L + 1]
    m = model(X.abs())[-1]  # [B, n_frames, bins] for stream frames 0..n_frames-1
    V = X[:, 1:1 + n_frames] * m
    # synthesise with stream framing: frame k covers [k*hop - pad_l, k*hop + hop)
    v = istft(V, window, hop=hop)
    # istft output sample i corresponds to stream sample i - pad_l
    return v[:, pad_l: pad_l + S]


@torch.no_grad()
def separate(model, x, window=None, chunk_frames=None):
    """Offline separation of a mono waveform x [S] (torch float32) on the streaming
    framing of the C port (stream_vocals). Returns vocals [S] aligned with x.
    Waveform models (domain 'wave') go to sep_wave.separate."""
    if getattr(model, 'domain', 'spec') == 'wave':
        import sep_wave
        return sep_wave.separate(model, x)
    if window is None:
        window = sqrt_hann(getattr(model, 'n_fft', N_FFT))
    return stream_vocals(model, x[None], window)[0]
