# SPDX-License-Identifier: ISC
"""Time-domain separation networks (PyTorch) with C counterparts.

WaveUNet (Stoller et al. 2018), streamed block by block:
  valid 1-D convolutions (kernel kd going down, ku going up), decimation by 2
  after each down block, LINEAR INTERPOLATION (2m - 1 samples from m, no
  transposed convolutions, so no checkerboard aliasing) then concatenation with
  the centre-cropped skip and a valid convolution going up, a 1x1 output
  convolution over [decoder features, input mixture] giving the vocals, and the
  difference output: accompaniment = mixture - vocals. Each output block of
  `block` samples needs `ctx` samples of input on either side, so a stream is cut
  into blocks of `block` samples (hop = block) and every block is computed from
  its own input window: latency = block + ctx at the model rate. Sizes follow
  from plan(); every skip crop is symmetric because every skip length is odd.

DemucsStream (after Defossez et al. 2019/2020, the causal "denoiser" Demucs):
  encoder of `depth` layers Conv1d(K, stride S) + ReLU + Conv1d(1x1) + GLU,
  a unidirectional GRU bottleneck with a residual connection, decoder layers
  Conv1d(1x1) + GLU + ConvTranspose1d(K, stride S) (+ ReLU except the last)
  with the encoder output of the same level added first (U-Net skips). The
  bottleneck frame rate is 1/S^depth (step = S^depth samples); bottleneck frame j
  reads input [j*step, j*step + step + lookahead), lookahead = (K - S) *
  (step - 1) / (S - 1), and output samples [j*step, (j+1)*step) are final once
  frame j is in. Streaming in whole steps, the latency at the model rate is
  ceil((step + lookahead) / step) * step (K 8, S 4, depth 3: step 64, lookahead
  84, latency 192 samples = 12 ms at 16 kHz). Vocals out, accompaniment =
  mixture - vocals.

HybridDemucs (after Hybrid Demucs, Defossez 2021): DemucsStream (the time branch,
same tensors and names) plus a spectral branch `spec`, a one-stack band-split
hourglass mask network (sep_models.StackedHourglass: per-band layers, GRU over
time) on its own STFT, whose masked mixture spectrum is synthesised on the
streaming framing. Vocals = time branch + spectral branch. Two sizes ship:
  - low latency: one stack, no lookahead, n_fft 256, hop 64 at 16 kHz (16 bands of
    8 bins): the spectral latency n_fft - hop = 192 samples equals the time
    branch's, so the sum streams at 12 ms;
  - quality: the hourglass family's three-stack net (n_fft 1024, hop 256, 6 frames
    of lookahead): the spectral latency 2304 samples (144 ms) exceeds the time
    branch's and the time branch is delayed to match; the spectral hop is a whole
    number of time steps, so both stream in hops of 256 samples.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

SR = 16000


def upsample_linear(x):
    """[B, C, m] -> [B, C, 2m - 1]: originals at even positions, midpoints between."""
    mid = 0.5 * (x[..., :-1] + x[..., 1:])
    B, C, m = x.shape
    y = torch.stack([x[..., :-1], mid], dim=-1).reshape(B, C, 2 * (m - 1))
    return torch.cat([y, x[..., -1:]], dim=-1)


def crop_centre(x, n):
    d = x.shape[-1] - n
    assert d >= 0 and d % 2 == 0, (x.shape, n)
    return x[..., d // 2: d // 2 + n]


class WaveUNet(nn.Module):
    arch = 'wave_u_net'
    domain = 'wave'

    def __init__(self, levels=6, ch=16, kd=15, ku=5, block=2047, slope=0.2, rnn_layers=0,
                 rnn_hidden=0):
        super().__init__()
        assert kd % 2 == 1 and ku % 2 == 1
        self.levels, self.ch, self.kd, self.ku, self.slope = levels, ch, kd, ku, slope
        self.rnn_layers = rnn_layers
        widths = [ch * (i + 1) for i in range(levels + 1)]   # down i: widths[i]; bottleneck widths[L]
        self.down = nn.ModuleList()
        cin = 1
        for i in range(levels):
            self.down.append(nn.Conv1d(cin, widths[i], kd))
            cin = widths[i]
        self.bottleneck = nn.Conv1d(cin, widths[levels], kd)
        if rnn_layers:
            # recurrent bottleneck: h + gru_out(GRU(h)), causal over bottleneck frames
            self.gru = nn.GRU(widths[levels], rnn_hidden, num_layers=rnn_layers, batch_first=True)
            self.gru_out = nn.Linear(rnn_hidden, widths[levels])
            with torch.no_grad():   # starts as the plain Wave-U-Net
                self.gru_out.weight.zero_()
                self.gru_out.bias.zero_()
        self.up = nn.ModuleList()
        cin = widths[levels]
        for i in reversed(range(levels)):
            self.up.append(nn.Conv1d(cin + widths[i], widths[i], ku))
            cin = widths[i]
        self.out = nn.Conv1d(cin + 1, 1, 1)
        self.block = self.valid_out(block)
        self.ctx = (self.plan(self.block) - self.block) // 2
        self.lookahead = 0
        self.cfg = dict(levels=levels, ch=ch, kd=kd, ku=ku, block=self.block)
        # blocks are independent without the GRU (hop = block); with it, successive
        # windows must share one decimation grid, so they advance by a whole number
        # of bottleneck frames (hop = block rounded down to a multiple of 2^levels)
        # and the last block - hop outputs of each block are not used
        self.hop = self.block
        self.edges = (0, 0)
        if rnn_layers:
            self.hop = self.block - self.block % (1 << levels)
            if self.hop < 1:
                raise ValueError(f'block {self.block} is shorter than one bottleneck frame')
            self.cfg.update(rnn_layers=rnn_layers, rnn_hidden=rnn_hidden)
            # --trim-edges: a training segment's first quarter second, where the GRU
            # has no history (streaming has it everywhere but at the stream start)
            self.edges = (4000, 0)

    def plan(self, out_len):
        """Input length for out_len output samples, or None if out_len is not reachable."""
        m = out_len
        for _ in range(self.levels):          # up blocks, outermost first
            if (m + self.ku) % 2:
                return None
            m = (m + self.ku) // 2            # 2m' - 1 - ku + 1 = m
        n = m + self.kd - 1                   # bottleneck input
        for _ in range(self.levels):
            s = 2 * n - 1                     # skip length (odd), decimated to n
            n = s + self.kd - 1
        return n if (n - out_len) % 2 == 0 else None

    def valid_out(self, target):
        o = max(1, target)
        while self.plan(o) is None:
            o += 1
        return o

    def forward(self, x):
        """x [B, N] mixture -> vocals [B, O], O = output length for input N (N from plan())."""
        h = x[:, None]
        skips = []
        for conv in self.down:
            h = F.leaky_relu(conv(h), self.slope)
            skips.append(h)
            h = h[..., ::2]
        h = F.leaky_relu(self.bottleneck(h), self.slope)
        if self.rnn_layers:
            z, _ = self.gru(h.transpose(1, 2))
            h = h + self.gru_out(z).transpose(1, 2)
        for conv, s in zip(self.up, reversed(skips)):
            h = upsample_linear(h)
            h = torch.cat([h, crop_centre(s, h.shape[-1])], dim=1)
            h = F.leaky_relu(conv(h), self.slope)
        h = torch.cat([h, crop_centre(x[:, None], h.shape[-1])], dim=1)
        return self.out(h)[:, 0]


class DemucsStream(nn.Module):
    arch = 'demucs_stream'
    domain = 'wave'

    def __init__(self, depth=3, hidden=48, growth=2, kernel=8, stride=4, rnn_layers=2):
        super().__init__()
        self.depth, self.K, self.S = depth, kernel, stride
        self.enc = nn.ModuleList()
        self.dec = nn.ModuleList()
        cin, h = 1, hidden
        chans = []
        for i in range(depth):
            self.enc.append(nn.ModuleDict(dict(conv=nn.Conv1d(cin, h, kernel, stride),
                                               glu=nn.Conv1d(h, 2 * h, 1))))
            chans.append((cin, h))
            cin, h = h, h * growth
        for i in reversed(range(depth)):
            co, hi = chans[i]
            self.dec.append(nn.ModuleDict(dict(glu=nn.Conv1d(hi, 2 * hi, 1),
                                               convt=nn.ConvTranspose1d(hi, co, kernel, stride))))
        self.gru = nn.GRU(cin, cin, num_layers=rnn_layers, batch_first=True)
        self.step = stride ** depth
        self.lookahead = (kernel - stride) * (self.step - 1) // (stride - 1)
        self.cfg = dict(depth=depth, hidden=hidden, growth=growth, kernel=kernel, stride=stride,
                        rnn_layers=rnn_layers)

    def frames_for(self, n):
        """Bottleneck frames that cover n output samples: every sample t < n needs the
        frames j <= t // step, and frame j reads input [j*step, j*step + step + lookahead)."""
        return (n + self.step - 1) // self.step

    def padded_len(self, frames):
        return (frames - 1) * self.step + self.step + self.lookahead

    def forward(self, x):
        """x [B, N] with N = padded_len(frames) -> vocals [B, frames * step]: output
        sample t is final (all its frames are in), later samples are dropped."""
        h = x[:, None]
        skips = []
        for e in self.enc:
            h = F.glu(e['glu'](F.relu(e['conv'](h))), dim=1)
            skips.append(h)
        z, _ = self.gru(h.transpose(1, 2))
        h = h + z.transpose(1, 2)
        for i, d in enumerate(self.dec):
            s = skips[self.depth - 1 - i]
            h = h + s[..., :h.shape[-1]]
            h = d['convt'](F.glu(d['glu'](h), dim=1))
            if i < self.depth - 1:
                h = F.relu(h)
        n = (x.shape[-1] - self.step - self.lookahead) + self.step
        return h[:, 0, :n]


class HybridDemucs(DemucsStream):
    arch = 'demucs_hybrid'

    def __init__(self, depth=3, hidden=48, growth=2, kernel=8, stride=4, rnn_layers=2,
                 spec_n_fft=256, spec_hop=64, spec_nb=16, spec_d0=24, spec_d1=48, spec_d2=96,
                 spec_hidden=192, spec_stacks=1, spec_lookahead=0):
        super().__init__(depth, hidden, growth, kernel, stride, rnn_layers)
        import sep_models as M
        self.spec = M.StackedHourglass(stacks=spec_stacks, d0=spec_d0, d1=spec_d1, d2=spec_d2,
                                       hidden=spec_hidden, lookahead=spec_lookahead, nb=spec_nb,
                                       bw=spec_n_fft // 2 // spec_nb, n_fft=spec_n_fft, hop=spec_hop)
        # a quiet start: the spectral masks begin near 0, so the hybrid begins as its time branch
        with torch.no_grad():
            for st in self.spec.stacks:
                st.head.bias.fill_(-4.0)
        self.register_buffer('spec_window', M.sqrt_hann(spec_n_fft), persistent=False)
        self.spec_frozen = False
        self.cfg.update(spec_n_fft=spec_n_fft, spec_hop=spec_hop, spec_nb=spec_nb, spec_d0=spec_d0,
                        spec_d1=spec_d1, spec_d2=spec_d2, spec_hidden=spec_hidden)
        if spec_stacks != 1 or spec_lookahead != 0:
            self.cfg.update(spec_stacks=spec_stacks, spec_lookahead=spec_lookahead)
        # streaming: the spectral branch runs once per spec_hop (a whole number of
        # time-branch steps) and lags by n_fft - hop + lookahead * hop; the time
        # branch, which lags less, is delayed to match
        time_lat = -(-(self.step + self.lookahead) // self.step) * self.step
        self.latency = spec_n_fft - spec_hop + spec_lookahead * spec_hop
        # samples at either end of a training segment that the spectral branch sees
        # without their full context (zero history / zero future)
        self.edges = (spec_n_fft - spec_hop, spec_lookahead * spec_hop)
        if spec_hop % self.step or self.latency < time_lat:
            raise ValueError(f'spectral hop {spec_hop} must be a multiple of the time step {self.step} '
                             f'and its latency {self.latency} at least the time branch\'s {time_lat}')

    def freeze_spec(self):
        """Train the time branch alone: the spectral branch keeps its weights and runs
        without gradients (training with --freeze-spec)."""
        self.spec.requires_grad_(False)
        self.spec_frozen = True

    def forward(self, x):
        import sep_models as M
        v = super().forward(x)
        with torch.set_grad_enabled(torch.is_grad_enabled() and not self.spec_frozen):
            sv = M.stream_vocals(self.spec, x, self.spec_window)
        return v + sv[:, :v.shape[-1]]


def build(arch, **kw):
    if arch in ('waveunet', WaveUNet.arch):
        return WaveUNet(**kw)
    if arch in ('demucs', DemucsStream.arch):
        return DemucsStream(**kw)
    if arch in ('hybrid', HybridDemucs.arch):
        return HybridDemucs(**kw)
    raise ValueError(f'unknown architecture {arch}')


def train_io(model, out_len):
    """(input length, offset of the output in the input) for a training segment
    with about out_len output samples."""
    if isinstance(model, WaveUNet):
        o = model.valid_out(out_len)
        n = model.plan(o)
        return n, (n - o) // 2, o
    f = model.frames_for(out_len)
    return model.padded_len(f), 0, f * model.step


@torch.no_grad()
def separate(model, x):
    """Offline vocals for a mono waveform x [S] (torch float32) on exactly the
    streaming schedule of the C port. Returns vocals [S] aligned with x (the C
    output lags by the reported latency)."""
    S = x.shape[-1]
    if isinstance(model, WaveUNet) and model.rnn_layers:
        # one pass over the whole stream: the same numbers as hop-by-hop windows
        # with the GRU state carried (one decimation grid, causal GRU)
        H, O, c = model.hop, model.block, model.ctx
        n_out = -(-S // H) * H + O - H
        xp = torch.zeros(c + n_out + c)
        xp[c:c + S] = x
        return model(xp[None])[0, :S]
    if isinstance(model, WaveUNet):
        O, c = model.block, model.ctx
        nb = (S + O - 1) // O
        xp = torch.zeros(c + nb * O + c)
        xp[c:c + S] = x
        # blocks are independent: one batch of windows
        win = xp.unfold(0, O + 2 * c, O)[:nb]
        v = model(win).reshape(-1)
        return v[:S]
    f = model.frames_for(S)
    xp = torch.zeros(model.padded_len(f))
    xp[:S] = x
    return model(xp[None])[0, :S]
