#!/usr/bin/python3
# SPDX-License-Identifier: ISC
"""End-to-end tests of the `cleave` command line, through the built binary.

Usage: test_cli.py PART CLEAVE_BINARY, PART one of
  separate   stems exist, same rate/channels/length, sum to the input, aligned;
             stereo 44.1 kHz, mono 8 kHz and 192 kHz, odd and tiny lengths
  realtime   --mode realtime agrees with offline when nothing was missed; stems
             still sum to the input when the worker misses
  bad_input  every bad input gives one "cleave: FILE: problem" line, a non-zero
             exit, and leaves no output behind
  commands   dispatcher, --help everywhere, usage errors, models, progress bar
  demo       `cleave demo` on the Debian-packaged recordings (skips without them)

Inputs are generated here; nothing is read from ../shared. Exit 0 pass, 1 fail,
77 skip (meson's code).
"""
import hashlib
import os
import pty
import re
import select
import shutil
import subprocess
import sys
import tempfile

import numpy as np
import soundfile as sf

PART = sys.argv[1] if len(sys.argv) > 1 else ""
CLEAVE = os.path.abspath(sys.argv[2]) if len(sys.argv) > 2 else ""
TMP = tempfile.mkdtemp(prefix="clv-cli-")
failures = []


def check(cond, msg):
    if not cond:
        failures.append(msg)
        print("FAIL:", msg, flush=True)
    return cond


def run(*args, timeout=240):
    env = dict(os.environ)
    env.pop("CLEAVE_VERBOSE", None)
    return subprocess.run([CLEAVE, *args], stdin=subprocess.DEVNULL, capture_output=True,
                          text=True, timeout=timeout, env=env)


def path(*parts):
    return os.path.join(TMP, *parts)


def write(name, x, rate, subtype="FLOAT", fmt=None):
    p = path(name)
    sf.write(p, x, rate, subtype=subtype, format=fmt)
    return p


def digest(p):
    with open(p, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def test_signal(rate, seconds, channels, seed=1):
    """A centre-panned harmonic 'voice' over a wide, decorrelated 'band'.
    Returns (mixture, centre voice, band) as float32 arrays (frames, channels)."""
    rng = np.random.default_rng(seed)
    n = int(round(rate * seconds))
    t = np.arange(n) / rate
    f0 = 220.0 * (1.0 + 0.02 * np.sin(2 * np.pi * 5.0 * t))
    phase = 2 * np.pi * np.cumsum(f0) / rate
    voice = sum(np.sin(k * phase) / k for k in range(1, 8))
    voice *= 0.5 * (0.6 + 0.4 * np.sin(2 * np.pi * 0.7 * t)) ** 2
    voice *= 0.25
    band = 0.05 * rng.standard_normal((n, 2))
    band[:, 0] += 0.15 * np.sin(2 * np.pi * 110.0 * t)
    band[:, 1] += 0.15 * np.sin(2 * np.pi * 165.0 * t + 1.0)
    if channels == 1:
        mix = (voice + band[:, 0])[:, None]
        v = voice[:, None]
        b = band[:, :1]
    else:
        v = np.stack([voice, voice], axis=1)
        b = band
        mix = v + b
    return mix.astype(np.float32), v.astype(np.float32), b.astype(np.float32)


def check_stems(inp, out, label):
    """Stems exist, are float WAV with the input's rate, channels and length, are
    finite and sum to the input within 1e-4. Returns (vocals, accompaniment, x)."""
    info = sf.info(inp)
    x, _ = sf.read(inp, dtype="float64", always_2d=True)
    stems = []
    for stem in ("vocals", "accompaniment"):
        p = os.path.join(out, stem + ".wav")
        if not check(os.path.isfile(p), f"{label}: {stem}.wav missing"):
            return None
        si = sf.info(p)
        check(si.samplerate == info.samplerate, f"{label}: {stem} rate {si.samplerate} != {info.samplerate}")
        check(si.channels == info.channels, f"{label}: {stem} channels {si.channels} != {info.channels}")
        check(si.frames == info.frames, f"{label}: {stem} length {si.frames} != {info.frames}")
        check(si.subtype == "FLOAT", f"{label}: {stem} is {si.subtype}, expected 32-bit float")
        y, _ = sf.read(p, dtype="float64", always_2d=True)
        check(np.all(np.isfinite(y)), f"{label}: {stem} has non-finite samples")
        stems.append(y)
    v, a = stems
    if v.shape != x.shape or a.shape != x.shape:
        check(False, f"{label}: shapes {v.shape} {a.shape} vs {x.shape}")
        return None
    err = float(np.max(np.abs(v + a - x))) if x.size else 0.0
    check(err <= 1e-4, f"{label}: vocals + accompaniment differs from the input by {err:.3g}")
    leftovers = [f for f in os.listdir(out) if f.startswith(".")]
    check(not leftovers, f"{label}: temporary files left in {out}: {leftovers}")
    return v, a, x


def lag_of(est, ref, max_lag):
    """Lag (in frames) of the cross-correlation peak of est against ref."""
    n = len(ref)
    size = 1 << int(np.ceil(np.log2(2 * n)))
    c = np.fft.irfft(np.fft.rfft(est, size) * np.conj(np.fft.rfft(ref, size)), size)
    lags = np.concatenate([np.arange(0, max_lag + 1), np.arange(-max_lag, 0)])
    vals = np.concatenate([c[: max_lag + 1], c[size - max_lag:]])
    return int(lags[np.argmax(vals)])


def separate(inp, out, *extra, timeout=240):
    return run("separate", inp, "-o", out, "-q", *extra, timeout=timeout)


# ---------------------------------------------------------------------------
def part_separate():
    # Stereo 44.1 kHz, odd length: stems aligned with the input.
    mix, voice, band = test_signal(44100, 3.0, 2)
    mix = mix[: 44100 * 3 - 1001]
    voice = voice[: len(mix)]
    band = band[: len(mix)]
    inp = write("st44.wav", mix, 44100)
    before = digest(inp)
    r = separate(inp, path("out_st44"))
    check(r.returncode == 0, f"stereo 44.1k: exit {r.returncode}: {r.stderr.strip()}")
    check(r.stdout == "" and r.stderr == "", f"stereo 44.1k: -q printed {r.stdout!r} {r.stderr!r}")
    res = check_stems(inp, path("out_st44"), "stereo 44.1k")
    check(digest(inp) == before, "stereo 44.1k: input file was modified")
    if res:
        v, a, x = res
        # Time alignment of the separated content itself (the sum would hide a
        # mis-compensation only if both stems were shifted alike, which they are
        # not, but check the vocals directly anyway).
        vm = v.mean(axis=1)
        lag = lag_of(vm, voice[:, 0].astype(np.float64), 4096)
        check(lag == 0, f"stereo 44.1k: vocals lag the centre source by {lag} frames")
        corr = np.dot(vm, voice[:, 0]) / (np.linalg.norm(vm) * np.linalg.norm(voice[:, 0]) + 1e-12)
        check(corr > 0.5, f"stereo 44.1k: vocals barely carry the centre voice (corr {corr:.2f})")
        am = a.mean(axis=1)
        lag = lag_of(am - 0 * vm, band.mean(axis=1).astype(np.float64), 4096)
        check(lag == 0, f"stereo 44.1k: accompaniment lags the band by {lag} frames")

    # The summary lines without -q.
    r = run("separate", inp, "-o", path("out_st44b"))
    check(r.returncode == 0 and "vocals.wav" in r.stdout and "accompaniment.wav" in r.stdout,
          f"summary does not say where the stems went: {r.stdout!r}")

    # Mono 8 kHz and 192 kHz; stereo 192 kHz; 16-bit and FLAC inputs.
    for name, rate, secs, ch, subtype, fmt in [
        ("mono8k.wav", 8000, 2.0, 1, "FLOAT", None),
        ("mono192k.wav", 192000, 1.0, 1, "FLOAT", None),
        ("st192k.wav", 192000, 0.7, 2, "FLOAT", None),
        ("st48k16.wav", 48000, 1.3, 2, "PCM_16", None),
        ("st22k.flac", 22050, 1.1, 2, "PCM_24", "FLAC"),
        ("mono11k.ogg", 11025, 1.5, 1, "VORBIS", "OGG"),
    ]:
        m, _, _ = test_signal(rate, secs, ch, seed=rate)
        p = write(name, m, rate, subtype=subtype, fmt=fmt)
        out = path("out_" + name.replace(".", "_"))
        r = separate(p, out)
        check(r.returncode == 0, f"{name}: exit {r.returncode}: {r.stderr.strip()}")
        check_stems(p, out, name)

    # Shorter than the engine latency, and a single frame.
    for n in (100, 1):
        m, _, _ = test_signal(44100, n / 44100, 2)
        p = write(f"tiny{n}.wav", m[:n], 44100)
        out = path(f"out_tiny{n}")
        r = separate(p, out)
        check(r.returncode == 0, f"{n}-frame file: exit {r.returncode}: {r.stderr.strip()}")
        check_stems(p, out, f"{n}-frame file")

    # Block size does not change the result; low-latency operating point works.
    small, _, _ = test_signal(44100, 0.8, 2, seed=7)
    p = write("blocks.wav", small, 44100)
    outs = {}
    for blk in ("1024", "7", "4096"):
        out = path("out_blk" + blk)
        r = separate(p, out, "--block", blk)
        check(r.returncode == 0, f"--block {blk}: exit {r.returncode}: {r.stderr.strip()}")
        res = check_stems(p, out, f"--block {blk}")
        if res:
            outs[blk] = res[0]
    if len(outs) == 3:
        for blk in ("7", "4096"):
            d = float(np.max(np.abs(outs[blk] - outs["1024"])))
            check(d <= 1e-6, f"--block {blk} vocals differ from --block 1024 by {d:.3g}")
    r = separate(p, path("out_lowlat"), "--op", "low-latency")
    check(r.returncode == 0, f"--op low-latency: exit {r.returncode}: {r.stderr.strip()}")
    check_stems(p, path("out_lowlat"), "--op low-latency")

    # An existing output directory with older stems: replaced whole.
    out = path("out_st44")
    r = separate(p, out)
    check(r.returncode == 0, f"rewrite: exit {r.returncode}")
    check_stems(p, out, "rewrite into an existing directory")


# ---------------------------------------------------------------------------
MISS_RE = re.compile(r"realtime mode: (\d+) of (\d+) hops missed")


def part_realtime():
    mix, _, _ = test_signal(44100, 2.0, 2, seed=3)
    p = write("rt.wav", mix, 44100)
    r = separate(p, path("off"))
    check(r.returncode == 0, f"offline: exit {r.returncode}: {r.stderr.strip()}")
    off = check_stems(p, path("off"), "offline")

    # Paced at 4x real time there should be no misses on an idle machine; on a
    # busy one, retry slower before giving up on the equality check.
    compared = False
    for speed in ("4", "2", "1"):
        out = path("rt_" + speed)
        r = separate(p, out, "--mode", "realtime", "--speed", speed)
        check(r.returncode == 0, f"realtime x{speed}: exit {r.returncode}: {r.stderr.strip()}")
        m = MISS_RE.search(r.stderr)
        if not check(m is not None, f"realtime x{speed}: no miss count reported: {r.stderr!r}"):
            break
        res = check_stems(p, out, f"realtime x{speed}")
        if int(m.group(1)) == 0 and res and off:
            d = max(float(np.max(np.abs(res[0] - off[0]))), float(np.max(np.abs(res[1] - off[1]))))
            check(d == 0.0, f"realtime without misses differs from offline by {d:.3g}")
            compared = True
            break
        print(f"note: realtime x{speed} had {m.group(1)} misses; retrying slower", flush=True)
    check(compared, "realtime mode never ran without misses (machine too busy?)")

    # Unpaced: the worker cannot keep up, hops are missed, and the fallback must
    # still give stems that sum to the input.
    r = separate(p, path("rt_unpaced"), "--mode", "realtime", "--speed", "0")
    check(r.returncode == 0, f"unpaced realtime: exit {r.returncode}: {r.stderr.strip()}")
    m = MISS_RE.search(r.stderr)
    check(m is not None, f"unpaced realtime: no miss count: {r.stderr!r}")
    check_stems(p, path("rt_unpaced"), "unpaced realtime (misses)")
    if m:
        print(f"note: unpaced realtime missed {m.group(1)} of {m.group(2)} hops", flush=True)


# ---------------------------------------------------------------------------
def expect_fail(label, args, name, needle, outdir=None, code=1):
    """Runs cleave, expects exit `code`, exactly one stderr line "cleave: ..." that
    names `name` and contains `needle`, and no output left in outdir."""
    existed = outdir is not None and os.path.isdir(outdir)
    before = sorted(os.listdir(outdir)) if existed else None
    r = run(*args)
    lines = [l for l in r.stderr.splitlines() if l.strip()]
    check(r.returncode == code, f"{label}: exit {r.returncode}, expected {code} ({r.stderr.strip()!r})")
    check(len(lines) == 1, f"{label}: {len(lines)} stderr lines, expected one: {r.stderr!r}")
    if lines:
        check(lines[0].startswith("cleave"), f"{label}: line does not start with 'cleave': {lines[0]!r}")
        check(name in lines[0], f"{label}: message does not name {name!r}: {lines[0]!r}")
        check(needle.lower() in lines[0].lower(), f"{label}: message lacks {needle!r}: {lines[0]!r}")
    check(r.stdout.strip() == "", f"{label}: printed on stdout: {r.stdout!r}")
    if outdir is not None:
        if existed:
            after = sorted(os.listdir(outdir))
            check(after == before, f"{label}: output directory changed: {before} -> {after}")
        else:
            check(not os.path.exists(outdir), f"{label}: left {outdir} behind "
                  f"({os.listdir(outdir) if os.path.isdir(outdir) else 'file'})")
    return r


def part_bad_input():
    good, _, _ = test_signal(44100, 1.0, 2)
    goodp = write("good.wav", good, 44100)
    out = path("out")  # does not exist: must not be left behind

    expect_fail("missing file", ["separate", path("nope.wav"), "-o", out], "nope.wav", "no such file", out)

    txt = path("notes.wav")
    with open(txt, "w") as f:
        f.write("this is a text file, not audio\n" * 40)
    expect_fail("not audio", ["separate", txt, "-o", out], "notes.wav", "not an audio file", out)

    empty = path("empty.wav")
    open(empty, "wb").close()
    expect_fail("0-byte file", ["separate", empty, "-o", out], "empty.wav", "empty", out)

    zero = write("zero.wav", np.zeros((0, 2), np.float32), 44100)
    expect_fail("zero frames", ["separate", zero, "-o", out], "zero.wav", "zero length", out)

    cut = write("cut.wav", good, 44100)
    os.truncate(cut, os.path.getsize(cut) // 2)
    expect_fail("truncated WAV", ["separate", cut, "-o", out], "cut.wav", "truncated", out)

    # A long FLAC cut short fails only while decoding, after stems were begun:
    # the half-written temporary files must go.
    rng = np.random.default_rng(5)
    longsig = (0.2 * rng.standard_normal((44100 * 8, 2))).astype(np.float32)
    cutf = write("cut.flac", longsig, 44100, subtype="PCM_16", fmt="FLAC")
    os.truncate(cutf, int(os.path.getsize(cutf) * 0.6))
    r = expect_fail("truncated FLAC", ["separate", cutf, "-o", out], "cut.flac", "", out)
    if r.stderr:
        check("truncated" in r.stderr or "corrupt" in r.stderr, f"truncated FLAC: message {r.stderr!r}")

    cuto = write("cut.ogg", longsig, 44100, subtype="VORBIS", fmt="OGG")
    os.truncate(cuto, os.path.getsize(cuto) // 2)
    expect_fail("truncated Ogg", ["separate", cuto, "-o", out], "cut.ogg", "truncated", out)

    three = write("three.wav", np.zeros((4410, 3), np.float32) + 0.1, 44100)
    expect_fail("3 channels", ["separate", three, "-o", out], "three.wav", "3 channels", out)

    for rate in (4000, 384000):
        p = write(f"r{rate}.wav", good[:4000], rate)
        expect_fail(f"{rate} Hz", ["separate", p, "-o", out], f"r{rate}.wav", f"{rate} Hz", out)

    d = path("adir")
    os.mkdir(d)
    expect_fail("directory as input", ["separate", d, "-o", out], "adir", "directory", out)

    # Unwritable output locations.
    plain = path("plainfile")
    with open(plain, "w") as f:
        f.write("x")
    expect_fail("output is a file", ["separate", goodp, "-o", plain], "plainfile", "not a directory")
    expect_fail("output under a file", ["separate", goodp, "-o", plain + "/sub"], "plainfile/sub",
                "not a directory")
    expect_fail("output dir cannot be created", ["separate", goodp, "-o", "/proc/cleave-test-out"],
                "/proc/cleave-test-out", "cannot create")
    expect_fail("output dir not writable", ["separate", goodp, "-o", "/proc"], "/proc", "cannot write")
    if os.geteuid() != 0:
        ro = path("readonly")
        os.mkdir(ro, 0o555)
        expect_fail("read-only dir", ["separate", goodp, "-o", ro], "readonly", "cannot write", ro)

    # Earlier stems survive a failed run untouched.
    keep = path("keep")
    r = separate(goodp, keep)
    check(r.returncode == 0, f"keep: first run failed: {r.stderr.strip()}")
    h = digest(os.path.join(keep, "vocals.wav")) if r.returncode == 0 else None
    expect_fail("failure keeps earlier stems", ["separate", cutf, "-o", keep], "cut.flac", "", keep)
    if h:
        check(digest(os.path.join(keep, "vocals.wav")) == h, "earlier vocals.wav was changed by a failed run")

    # The input is one of the outputs: refuse rather than overwrite it.
    inplace = path("inplace")
    os.mkdir(inplace)
    victim = os.path.join(inplace, "vocals.wav")
    shutil.copy(goodp, victim)
    h = digest(victim)
    expect_fail("input would be overwritten", ["separate", victim, "-o", inplace], "vocals.wav",
                "input", inplace)
    check(digest(victim) == h, "input was modified")

    # NaN / Inf / absurd values: safe output and one warning naming the file.
    bad = good.copy()
    bad[1000, 0] = np.nan
    bad[2000, 1] = np.inf
    bad[3000, 0] = -np.inf
    bad[4000, 1] = 1e30
    nanp = write("nan.wav", bad, 44100)
    r = separate(nanp, path("out_nan"))
    check(r.returncode == 0, f"NaN input: exit {r.returncode}: {r.stderr.strip()}")
    lines = [l for l in r.stderr.splitlines() if l.strip()]
    check(len(lines) == 1 and "nan.wav" in lines[0] and "4 samples" in lines[0],
          f"NaN input: expected one warning naming the file and 4 samples: {r.stderr!r}")
    res = None
    if r.returncode == 0:
        vi = sf.read(os.path.join(path("out_nan"), "vocals.wav"), always_2d=True)[0]
        ai = sf.read(os.path.join(path("out_nan"), "accompaniment.wav"), always_2d=True)[0]
        check(np.all(np.isfinite(vi)) and np.all(np.isfinite(ai)), "NaN input: non-finite output")
        clean = bad.astype(np.float64)
        clean[~np.isfinite(clean) | (np.abs(clean) > 1e4)] = 0.0
        err = float(np.max(np.abs(vi + ai - clean)))
        check(err <= 1e-4, f"NaN input: stems differ from the sanitised input by {err:.3g}")
        res = err

    # Silence in, silence out.
    sil = write("silence.wav", np.zeros((44100, 2), np.float32), 44100)
    r = separate(sil, path("out_sil"))
    check(r.returncode == 0 and r.stderr == "", f"silence: exit {r.returncode}: {r.stderr!r}")
    res = check_stems(sil, path("out_sil"), "silence")
    if res:
        check(float(np.max(np.abs(res[0]))) == 0.0 and float(np.max(np.abs(res[1]))) == 0.0,
              "silence: stems are not silent")

    # Unknown model: names it.
    expect_fail("unknown model", ["separate", goodp, "-o", out, "--model", "no-such-model"],
                "no-such-model", "", out)
    # A model file that is not a model.
    expect_fail("bad model file", ["separate", goodp, "-o", out, "--model", txt], "notes.wav", "", out)

    # Usage errors: exit 2, one line.
    for label, args, needle in [
        ("no INPUT", ["separate", "-o", out], "no INPUT"),
        ("no -o", ["separate", goodp], "-o"),
        ("two inputs", ["separate", goodp, goodp, "-o", out], "one INPUT"),
        ("unknown option", ["separate", goodp, "-o", out, "--frobnicate"], "--frobnicate"),
        ("bad mode", ["separate", goodp, "-o", out, "--mode", "fast"], "fast"),
        ("bad op", ["separate", goodp, "-o", out, "--op", "best"], "best"),
        ("bad block", ["separate", goodp, "-o", out, "--block", "0"], "--block"),
        ("bad speed", ["separate", goodp, "-o", out, "--mode", "realtime", "--speed", "-1"], "--speed"),
        ("missing value", ["separate", goodp, "-o"], "-o"),
    ]:
        expect_fail(label, args, "separate", needle, out, code=2)


# ---------------------------------------------------------------------------
def part_commands():
    r = run()
    check(r.returncode == 2 and "Usage: cleave" in r.stderr, f"no command: exit {r.returncode} {r.stderr!r}")
    r = run("--help")
    check(r.returncode == 0, f"--help: exit {r.returncode}")
    for cmd in ("separate", "models", "demo"):
        check(cmd in r.stdout, f"--help does not list {cmd}")
        h = run(cmd, "--help")
        check(h.returncode == 0 and f"Usage: cleave {cmd}" in h.stdout,
              f"{cmd} --help: exit {h.returncode}: {h.stdout[:200]!r}")
        h2 = run("help", cmd)
        check(h2.returncode == 0 and h2.stdout == h.stdout, f"help {cmd} differs from {cmd} --help")
    r = run("--version")
    check(r.returncode == 0 and r.stdout.startswith("cleave "), f"--version: {r.stdout!r}")
    r = run("frobnicate")
    lines = r.stderr.splitlines()
    check(r.returncode == 2 and len(lines) == 1 and "frobnicate" in lines[0],
          f"unknown command: exit {r.returncode}: {r.stderr!r}")

    r = run("models")
    check(r.returncode == 0, f"models: exit {r.returncode}: {r.stderr!r}")
    row = [l for l in r.stdout.splitlines() if l.startswith("centre")]
    check(len(row) == 1, f"models does not list the centre separator: {r.stdout!r}")
    if row:
        m = re.search(r"(\d+) \(([\d.]+) ms\)", row[0])
        check(m is not None and int(m.group(1)) > 0, f"models: no latency for centre: {row[0]!r}")
        if m:
            check(abs(float(m.group(2)) - int(m.group(1)) / 44.1) < 0.1, f"models: ms inconsistent: {row[0]!r}")
    r = run("models", "extra")
    check(r.returncode == 2, f"models extra: exit {r.returncode}")

    # Progress bar: drawn on a terminal, absent otherwise.
    sig, _, _ = test_signal(44100, 2.0, 2)
    p = write("prog.wav", sig, 44100)
    r = separate(p, path("out_noprog"))
    check("\r" not in r.stderr and "%" not in r.stderr, f"progress drawn without a terminal: {r.stderr!r}")
    master, slave = pty.openpty()
    env = dict(os.environ)
    env.pop("CLEAVE_NO_PROGRESS", None)
    proc = subprocess.Popen([CLEAVE, "separate", p, "-o", path("out_prog"), "-q"], stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=slave, env=env)
    os.close(slave)
    seen = b""
    while True:
        ready, _, _ = select.select([master], [], [], 60)
        if not ready:
            break
        try:
            chunk = os.read(master, 4096)
        except OSError:
            break
        if not chunk:
            break
        seen += chunk
    proc.wait(timeout=60)
    os.close(master)
    check(proc.returncode == 0, f"separate on a terminal: exit {proc.returncode}")
    check(b"100%" in seen and b"\r" in seen, f"no progress bar on a terminal: {seen[:200]!r}")


# ---------------------------------------------------------------------------
def part_demo():
    songs = "/usr/share/games/fretsonfire/data/songs"
    voices = "/usr/share/asterisk/sounds/en_US_f_Allison"
    if not os.path.isdir(songs) or not os.path.isdir(voices):
        print("SKIP: demo recordings not installed (run .ci/setup)")
        return 77
    out = path("demo")
    r = run("demo", "-o", out, "--seconds", "8")
    check(r.returncode == 0, f"demo: exit {r.returncode}: {r.stderr.strip()}")
    print(r.stdout, end="")
    for f in ("mix.wav", "vocals.wav", "accompaniment.wav", "reference_vocals.wav", "reference_accompaniment.wav"):
        check(os.path.isfile(os.path.join(out, f)), f"demo: {f} missing")
    if r.returncode != 0:
        return None
    info = sf.info(os.path.join(out, "mix.wav"))
    check(info.samplerate == 44100 and info.channels == 2 and info.frames == 8 * 44100,
          f"demo: mix is {info.samplerate} Hz {info.channels} ch {info.frames} frames")
    check_stems(os.path.join(out, "mix.wav"), out, "demo")
    check(out in r.stdout, "demo does not say where the stems went")
    m = re.search(r"SDR vocals (-?[\d.]+) dB, accompaniment (-?[\d.]+) dB "
                  r"\(unprocessed mixture as estimate: (-?[\d.]+) dB and (-?[\d.]+) dB\)", r.stdout)
    if check(m is not None, f"demo: no SDR line: {r.stdout!r}"):
        sv, sa, sv0, sa0 = map(float, m.groups())
        # Recompute the vocal SDR here so the printed figure is checked too.
        ref = sf.read(os.path.join(out, "reference_vocals.wav"), always_2d=True)[0]
        est = sf.read(os.path.join(out, "vocals.wav"), always_2d=True)[0]
        mine = 10 * np.log10(np.sum(ref ** 2) / np.sum((ref - est) ** 2))
        check(abs(mine - sv) < 0.05, f"demo: printed vocal SDR {sv} but it is {mine:.2f}")
        check(sv > sv0 + 1.0, f"demo: separation does not beat the unprocessed mixture ({sv} vs {sv0} dB)")
    return None


def main():
    if not CLEAVE or not os.access(CLEAVE, os.X_OK):
        print(f"usage: {sys.argv[0]} PART CLEAVE_BINARY (got {CLEAVE!r})")
        return 1
    parts = {"separate": part_separate, "realtime": part_realtime, "bad_input": part_bad_input,
             "commands": part_commands, "demo": part_demo}
    if PART not in parts:
        print(f"unknown part {PART!r}; one of {', '.join(parts)}")
        return 1
    try:
        rc = parts[PART]()
    finally:
        shutil.rmtree(TMP, ignore_errors=True)
    if rc == 77 and not failures:
        return 77
    print(f"{PART}: {len(failures)} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
