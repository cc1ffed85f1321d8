# SPDX-License-Identifier: ISC
"""Times one streaming step of representative separation networks in C (cleave's
kernels), PyTorch eager and ONNX Runtime, side by side in one run, one thread each.

    /usr/bin/python3 tests/bench_peers.py BUILD/tests/bench_nn [OUT_DIR] [--rounds N]

Networks (random weights, fixed seed):
  gru-mask  the FIELD.md floor model: linear 513->256 + ReLU, 2 GRU layers of 256
            (state carried between steps), linear 256->513 + sigmoid; one STFT frame
            per step.
  conv-enc  a Demucs-style waveform encoder on a 1024-sample hop: conv(1->48, k8 s4)
            + ReLU, 1x1 conv(48->96) + GLU, conv(48->96, k8 s4) + ReLU, 1x1
            conv(96->192) + GLU. C streams (conv history kept inside); PyTorch and ORT
            get the hop plus the 20 samples of context the output needs (64 frames),
            which costs them ~1.5 % more arithmetic.
The weights go to a .clvm file for the C side and to an ONNX file (torch.onnx.export)
for ONNX Runtime, driven by tests/peers/ort_step.js (npm package onnxruntime-node in
tests/peers/node_modules). The first three steps' outputs are compared across the
three (a wrong C result would make the timing meaningless). Times are medians of 7
repetitions of >= 20 ms of steps, in CPU time (the C and PyTorch thread's CPU
time, ONNX Runtime's process CPU time), so that time spent descheduled by other
jobs on the shared machine does not count; cache contention still does, so run it
a few times (--rounds N repeats the whole comparison and reports medians).
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import warnings

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "models", "train"))
from clvm import write_clvm  # noqa: E402

torch.set_num_threads(1)
torch.set_num_interop_threads(1)


class GruMask(nn.Module):
    def __init__(self, bins=513, hidden=256):
        super().__init__()
        self.fc_in = nn.Linear(bins, hidden)
        self.gru = nn.GRU(hidden, hidden, num_layers=2, batch_first=True)
        self.fc_out = nn.Linear(hidden, bins)

    def forward(self, x, h):  # x [1, bins], h [2, 1, hidden]
        y = torch.relu(self.fc_in(x))
        y, h = self.gru(y[:, None, :], h)
        return torch.sigmoid(self.fc_out(y[:, 0, :])), h


class ConvEnc(nn.Module):
    def __init__(self):
        super().__init__()
        self.enc = nn.ModuleList([nn.Conv1d(1, 48, 8, 4), nn.Conv1d(48, 96, 1),
                                  nn.Conv1d(48, 96, 8, 4), nn.Conv1d(96, 192, 1)])

    def forward(self, x):  # x [1, 1, samples]
        h = F.glu(self.enc[1](torch.relu(self.enc[0](x))), 1)
        return F.glu(self.enc[3](torch.relu(self.enc[2](h))), 1)


def median_step_us(step):
    step()
    iters = 1
    while True:
        t0 = time.thread_time()
        for _ in range(iters):
            step()
        dt = time.thread_time() - t0
        if dt >= 0.02:
            break
        iters *= int(0.025 / dt) + 1 if dt > 0.002 else 10
    r = []
    for _ in range(7):
        t0 = time.thread_time()
        for _ in range(iters):
            step()
        r.append((time.thread_time() - t0) / iters * 1e6)
    return sorted(r)[3]


def summary(a):
    a = np.asarray(a, dtype=np.float64).ravel()
    return len(a), float(a.sum()), float(a[0]), float(a[-1])


def run_c(bench, path):
    out = subprocess.run([bench, "--net", path], capture_output=True, text=True, check=True).stdout
    steps = [tuple(float(v) for v in l.split()[2:]) for l in out.splitlines() if l.startswith("C_STEP_OUT")]
    m = re.search(r"C_STEP_US ([0-9.]+) .*", out)
    return float(m.group(1)), steps, m.group(0)


def run_ort(onnx_path, spec, tmp):
    node = shutil.which("node")
    script = os.path.join(HERE, "peers", "ort_step.js")
    if not node or not os.path.isdir(os.path.join(HERE, "peers", "node_modules", "onnxruntime-node")):
        return None, [], "ONNX Runtime not installed (cd tests/peers && npm install --ignore-scripts)"
    sp = os.path.join(tmp, os.path.basename(onnx_path) + ".json")
    with open(sp, "w") as f:
        json.dump(spec, f)
    r = subprocess.run([node, script, onnx_path, sp], capture_output=True, text=True)
    if r.returncode != 0:
        return None, [], "ORT failed: " + r.stderr.strip()[-300:]
    steps = [tuple(float(v) for v in l.split()[2:]) for l in r.stdout.splitlines()
             if l.startswith("ORT_STEP_OUT")]
    m = re.search(r"ORT_STEP_US ([0-9.]+)", r.stdout)
    return float(m.group(1)), steps, ""


def close(a, b, tol=1e-4):
    # (count, sum, first, last); relative to the magnitude of the sum or elements
    return a[0] == b[0] and all(abs(x - y) <= tol * max(1.0, abs(y)) for x, y in zip(a[1:], b[1:]))


def measure(name, rounds, bench, path, torch_step, onnx_path, spec, tmp, ref, ort_ref=None,
            c_check=3):
    """Times C, PyTorch and ORT in turn, `rounds` times; returns medians and checks."""
    tc, tt, to = [], [], []
    c_steps, ort_steps, c_line = [], [], ""
    note = "" if onnx_path else "python3-onnx missing: torch.onnx.export unavailable"
    for _ in range(rounds):
        t, c_steps, c_line = run_c(bench, path)
        tc.append(t)
        with torch.no_grad():
            tt.append(median_step_us(torch_step))
        if onnx_path:
            t, ort_steps, n = run_ort(onnx_path, spec, tmp)
            if t is None:
                note, onnx_path = n, None
            else:
                to.append(t)
    med = lambda v: float(np.median(v)) if v else None  # noqa: E731
    return dict(name=name, c=med(tc), torch=med(tt), ort=med(to), c_all=tc, torch_all=tt,
                ort_all=to, c_line=c_line, ref=ref, c_steps=c_steps[:c_check],
                ort_steps=ort_steps[:len(ort_ref or ref)], ort_ref=ort_ref or ref, note=note)


@torch.no_grad()
def main():
    args = sys.argv[1:]
    rounds = 3
    if "--rounds" in args:
        i = args.index("--rounds")
        rounds = int(args[i + 1])
        del args[i:i + 2]
    if not args:
        sys.exit(__doc__)
    bench = args[0]
    tmp = args[1] if len(args) > 1 else tempfile.mkdtemp(prefix="clv_peers_")
    os.makedirs(tmp, exist_ok=True)
    warnings.filterwarnings("ignore")  # torch.onnx.export's tracer warnings
    try:
        import onnx  # noqa: F401  (torch.onnx.export needs it)
        have_onnx = True
    except ImportError:
        have_onnx = False
    rows = []

    # ---- gru-mask
    torch.manual_seed(0)
    net = GruMask().eval()
    x = torch.rand(1, 513) * 4.0
    h0 = torch.zeros(2, 1, 256)
    tensors = {k: v.numpy() for k, v in net.state_dict().items()}
    tensors["x"] = x[0].numpy()
    path = os.path.join(tmp, "gru_mask.clvm")
    write_clvm(path, tensors, {"arch": "gru-mask", "bins": 513, "hidden": 256})
    ref, h = [], h0
    for _ in range(3):
        y, h = net(x, h)
        ref.append(summary(y))
    state = {"h": h0}

    def torch_step():
        state["y"], state["h"] = net(x, state["h"])
    op, spec = None, None
    if have_onnx:
        op = os.path.join(tmp, "gru_mask.onnx")
        torch.onnx.export(net, (x, h0), op, input_names=["x", "h"], output_names=["mask", "h_out"],
                          opset_version=14)
        spec = {"inputs": {"x": {"shape": [1, 513], "data": x.ravel().tolist()},
                           "h": {"shape": [2, 1, 256], "data": h0.ravel().tolist()}},
                "state": {"h_out": "h"}, "check": "mask"}
    rows.append(measure("gru-mask (1 frame)", rounds, bench, path, torch_step, op, spec, tmp, ref))

    # ---- conv-enc
    torch.manual_seed(1)
    net = ConvEnc().eval()
    hop, ctx = 1024, 20
    xs = torch.randn(1, 1, hop) * 0.3
    tensors = {k: v.numpy() for k, v in net.state_dict().items()}
    tensors["x"] = xs[0, 0].numpy()
    path = os.path.join(tmp, "conv_enc.clvm")
    write_clvm(path, tensors, {"arch": "conv-enc", "hop": hop})
    # First C step has no history: equal to the encoder on the hop alone.
    ref = [summary(net(xs))]
    win = torch.randn(1, 1, hop + ctx) * 0.3
    op, spec = None, None
    if have_onnx:
        op = os.path.join(tmp, "conv_enc.onnx")
        torch.onnx.export(net, (win,), op, input_names=["x"], output_names=["y"], opset_version=14)
        spec = {"inputs": {"x": {"shape": [1, 1, hop + ctx], "data": win.ravel().tolist()}},
                "check": "y"}
    # ORT runs on the context window, so its outputs are checked against PyTorch on
    # that window (ort_ref); C's first step against PyTorch on the hop alone (ref).
    rows.append(measure("conv-enc (1024-sample hop)", rounds, bench, path, lambda: net(win), op, spec,
                        tmp, ref, ort_ref=[summary(net(win))], c_check=1))

    print(f"torch {torch.__version__}, threads 1; medians over {rounds} rounds of the per-step "
          "CPU time (each itself a median of 7 repetitions), microseconds")
    print(f"{'network':28s} {'C':>9s} {'PyTorch':>9s} {'ORT':>9s}  {'PyTorch/C':>9s} {'ORT/C':>7s}")
    ok = True
    for r in rows:
        ort_s = f"{r['ort']:9.1f}" if r["ort"] else f"{'-':>9s}"
        ratio_ort = f"{r['ort'] / r['c']:7.2f}" if r["ort"] else f"{'-':>7s}"
        print(f"{r['name']:28s} {r['c']:9.1f} {r['torch']:9.1f} {ort_s}  {r['torch'] / r['c']:9.2f} "
              f"{ratio_ort}")
        fmt = lambda v: " ".join(f"{t:.1f}" for t in v)  # noqa: E731
        print(f"  rounds: C [{fmt(r['c_all'])}] PyTorch [{fmt(r['torch_all'])}] ORT [{fmt(r['ort_all'])}]")
        print(f"  C detail: {r['c_line']}")
        if r["note"]:
            print(f"  note: {r['note']}")
        for i, ref in enumerate(r["ref"]):
            if i < len(r["c_steps"]) and not close(r["c_steps"][i], ref):
                ok = False
                print(f"  MISMATCH C step {i}: {r['c_steps'][i]} vs PyTorch {ref}")
        for i, ref in enumerate(r["ort_ref"]):
            if i < len(r["ort_steps"]) and not close(r["ort_steps"][i], ref):
                ok = False
                print(f"  MISMATCH ORT step {i}: {r['ort_steps'][i]} vs PyTorch {ref}")
        if not r["c_steps"]:
            ok = False
            print("  C produced no outputs to compare")
    print("outputs agree (C, PyTorch, ORT)" if ok else "OUTPUTS DISAGREE")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
