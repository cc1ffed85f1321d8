#!/usr/bin/python3
# SPDX-License-Identifier: ISC
"""End-to-end tests of `cleave live` under a real JACK server (jackd -d dummy).

Usage: test_live.py PART CLEAVE_BINARY JACKIO_HELPER, PART one of
  separate   a real mixture played into cleave through JACK (realtime) and recorded
             (tests/test_live_jackio.c): the measured delay equals the latency
             cleave reports (port capture/playback latency and JSON), mix = delayed
             input, and the stems match `cleave separate` with the same model
  freewheel  the same in JACK freewheel mode: the stems equal `cleave separate`
             exactly (the worker is waited for)
  bufsize    jack_bufsize while audio plays: output keeps flowing, switches from
             the old latency to the new within one period, ports report the new one
  control    starts with no options (connects nothing), commands over a FIFO
             change levels, bypass, operating point (latency recomputed on the
             ports), a bad command is refused, a preset applies, bad options
  shutdown   no server: clear error; stopping the server: exit 1 with a message
  sigterm    SIGTERM under valgrind: exit 0, no leak, no memory error
  portaudio  --backend portaudio: lists devices and runs on the JACK host API (or
             ALSA's null device)

Each part starts its own server with a unique name (JACK_DEFAULT_SERVER), so runs
never meet. The mixture: a Frets on Fire band song (guitar + backing, Debian
package) with PJS singing from ../shared/data when present. Exit 0 pass, 1 fail,
77 skip.
"""
import glob
import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

import numpy as np
import soundfile as sf

PART = sys.argv[1] if len(sys.argv) > 1 else ""
CLEAVE = os.path.abspath(sys.argv[2]) if len(sys.argv) > 2 else ""
JACKIO = os.path.abspath(sys.argv[3]) if len(sys.argv) > 3 and sys.argv[3] else ""
HERE = os.path.dirname(os.path.abspath(__file__))
SHARED = os.path.normpath(os.path.join(HERE, "..", "..", "shared", "data"))
TMP = tempfile.mkdtemp(prefix="clv-live-")
RATE = 48000
STEMS = ["mix_L", "mix_R", "vocals_L", "vocals_R", "accomp_L", "accomp_R"]
failures = []
procs = []


def check(cond, msg):
    if not cond:
        failures.append(msg)
        print("FAIL:", msg, flush=True)
    else:
        print("ok:", msg, flush=True)
    return cond


def skip(why):
    print("SKIP:", why, flush=True)
    cleanup()
    sys.exit(77)


def cleanup():
    for p in procs:
        if p.poll() is None:
            p.kill()
            p.wait()
    shutil.rmtree(TMP, ignore_errors=True)


def env_for(server):
    env = dict(os.environ)
    env.pop("CLEAVE_VERBOSE", None)
    env["JACK_DEFAULT_SERVER"] = server
    env["JACK_NO_AUDIO_RESERVATION"] = "1"
    return env


class Jack:
    """A jackd on the dummy driver under a unique name."""
    count = 0

    def __init__(self, period=256, extra=()):
        Jack.count += 1
        self.name = "clvtest%d_%d" % (os.getpid(), Jack.count)
        self.env = env_for(self.name)
        self.log = open(os.path.join(TMP, self.name + ".log"), "w")
        self.proc = subprocess.Popen(
            ["jackd", "-n", self.name, *extra, "-d", "dummy", "-r", str(RATE), "-p", str(period)],
            stdin=subprocess.DEVNULL, stdout=self.log, stderr=subprocess.STDOUT, env=self.env)
        procs.append(self.proc)
        r = subprocess.run(["jack_wait", "-w", "-t", "10"], env=self.env, capture_output=True,
                           text=True, timeout=20)
        if r.returncode != 0 or self.proc.poll() is not None:
            self.log.flush()
            raise RuntimeError("jackd did not start: " + open(self.log.name).read()[-500:])

    def tool(self, *args, timeout=20):
        return subprocess.run(list(args), env=self.env, capture_output=True, text=True,
                              timeout=timeout)

    def port_latency(self, port):
        """(capture, playback) latency ranges of a port, from jack_lsp -l."""
        out = self.tool("jack_lsp", "-l", port).stdout
        cap = pb = None
        for line in out.splitlines():
            if "capture latency" in line:
                cap = tuple(int(v) for v in line.split("[")[1].split("]")[0].split())
            if "playback latency" in line:
                pb = tuple(int(v) for v in line.split("[")[1].split("]")[0].split())
        return cap, pb

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


class Live:
    """`cleave live --json` with its stdout read line by line on a thread."""

    def __init__(self, jack, *args, wrapper=(), control="-", start_timeout=30):
        cmd = [*wrapper, CLEAVE, "live", "--json", "--interval", "0.25"]
        if control:
            cmd += ["--control", control]
        cmd += list(args)
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True, env=jack.env)
        procs.append(self.proc)
        self.lines = queue.Queue()
        self.all = []
        self.err = []
        threading.Thread(target=self._read, daemon=True).start()
        threading.Thread(target=self._read_err, daemon=True).start()
        self.started = self.wait_for(lambda m: m.get("event") == "started", start_timeout)

    def _read(self):
        for line in self.proc.stdout:
            try:
                msg = json.loads(line)
            except ValueError:
                msg = {"type": "bad", "line": line}
            self.all.append(msg)
            self.lines.put(msg)

    def _read_err(self):
        for line in self.proc.stderr:
            self.err.append(line)

    def wait_for(self, pred, timeout=10.0):
        end = time.time() + timeout
        while time.time() < end:
            try:
                msg = self.lines.get(timeout=max(0.01, end - time.time()))
            except queue.Empty:
                break
            if pred(msg):
                return msg
        return None

    def send(self, line):
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def drain(self):
        while True:
            try:
                self.lines.get_nowait()
            except queue.Empty:
                return

    def status(self):
        self.drain()
        self.send("status")
        return self.wait_for(lambda m: m.get("type") == "status" and m.get("cycles", 0) >= 0, 10)

    def quit(self, timeout=20):
        try:
            self.send("quit")
        except (BrokenPipeError, OSError):
            pass
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            return None

    def stderr(self):
        time.sleep(0.1)
        return "".join(self.err)


def find_songs():
    songs = sorted(glob.glob("/usr/share/games/fretsonfire/data/songs/*/*/song.ogg"))
    return [s for s in songs if os.path.exists(os.path.join(os.path.dirname(s), "guitar.ogg"))]


def resample(x, rate_in):
    from scipy.signal import resample_poly
    from math import gcd
    g = gcd(rate_in, RATE)
    return resample_poly(x, RATE // g, rate_in // g, axis=0).astype(np.float32)


def make_mixture(name, seconds, offset_s=30.0):
    """A real stereo mixture at 48 kHz: band (song + guitar stems) and a singer."""
    songs = find_songs()
    if not songs:
        skip("Frets on Fire songs are not installed (fretsonfire-songs-*, see .ci/setup)")
    d = os.path.dirname(songs[0])
    song, r1 = sf.read(os.path.join(d, "song.ogg"), dtype="float32", always_2d=True)
    gtr, r2 = sf.read(os.path.join(d, "guitar.ogg"), dtype="float32", always_2d=True)
    a, n = int(offset_s * r1), int((seconds + 0.1) * r1)
    band = song[a:a + n, :2] + gtr[a:a + n, :2]
    band = resample(band, r1)[: int(seconds * RATE)]
    voice = None
    pjs = sorted(glob.glob(os.path.join(SHARED, "pjs", "song", "*.ogg")))
    if pjs:
        v, rv = sf.read(pjs[0], dtype="float32", always_2d=True)
        v = v[:, 0] if rv == RATE else resample(v[:, 0], rv)
        voice = np.zeros(len(band), np.float32)
        m = min(len(v), len(band))
        voice[:m] = v[:m]
        voice *= 0.5 * np.sqrt(np.mean(band ** 2)) / (np.sqrt(np.mean(voice ** 2)) + 1e-9)
    mix = band + (voice[:, None] if voice is not None else 0.0)
    mix *= 0.5 / max(1e-6, float(np.max(np.abs(mix))))
    path = os.path.join(TMP, name)
    sf.write(path, mix, RATE, subtype="FLOAT")
    return path, mix


def reference(mix_path, model="centre", op="quality"):
    out = os.path.join(TMP, "ref-" + os.path.basename(mix_path) + "-" + model + "-" + op)
    r = subprocess.run([CLEAVE, "separate", mix_path, "-o", out, "--model", model, "--op", op],
                       capture_output=True, text=True, timeout=300)
    if r.returncode != 0:
        raise RuntimeError("cleave separate failed: " + r.stderr)
    v, _ = sf.read(os.path.join(out, "vocals.wav"), dtype="float32", always_2d=True)
    a, _ = sf.read(os.path.join(out, "accompaniment.wav"), dtype="float32", always_2d=True)
    return v, a


def play_record(jack, mix_path, tail, extra=(), timeout=120):
    rec = os.path.join(TMP, "rec-%d.wav" % Jack.count)
    r = jack.tool(JACKIO, "--play", mix_path, "--to", "cleave:in_L,cleave:in_R", "--record", rec,
                  "--from", ",".join("cleave:" + s for s in STEMS), "--tail", str(tail), *extra,
                  timeout=timeout + 30)
    if r.returncode != 0:
        raise RuntimeError("test_live_jackio failed: " + r.stderr + r.stdout)
    info = json.loads(r.stdout.strip().splitlines()[-1])
    y, _ = sf.read(rec, dtype="float32", always_2d=True)
    return info, y


def measure_delay(x, y, max_lag):
    """Lag maximising the cross-correlation of y against x (first channel)."""
    n = 1
    while n < len(x) + max_lag + 1:
        n *= 2
    X = np.fft.rfft(x, n)
    Y = np.fft.rfft(y[: len(x) + max_lag], n)
    c = np.fft.irfft(Y * np.conj(X), n)[: max_lag + 1]
    return int(np.argmax(c))


def valid_frames(y, n, d, margin):
    """Output frames [d, d + n) whose recording and whose input (with `margin` frames
    of context either side, the separator's memory) JACK really ran: an xrun can
    skip a client's cycle on a loaded machine, which is no fault of cleave's."""
    played, recorded = y[:, 6] > 0.5, y[:, 7] > 0.5
    holes = np.convolve((~played[:n]).astype(np.float64), np.ones(2 * margin + 1), "same") > 0
    ok = recorded[d:d + n] & ~holes
    return ok


def compare_run(label, mix, y, info, live_latency, v_ref, a_ref, exact):
    n = len(mix)
    cap = info["capture_latency"]
    pb = info["playback_latency"]
    reported = cap[0][0]
    check(all(c == [reported, reported] for c in cap),
          "%s: every output reports the same capture latency %s" % (label, cap))
    check(all(p == [reported, reported] for p in pb),
          "%s: inputs report playback latency %s == %d" % (label, pb, reported))
    check(live_latency == reported, "%s: JSON latency %s == port latency %d"
          % (label, live_latency, reported))
    d = measure_delay(mix[:, 0].astype(np.float64), y[:, 0].astype(np.float64), 4 * RATE)
    check(d == reported, "%s: measured delay %d == reported latency %d" % (label, d, reported))
    ok_mix = valid_frames(y, n, d, 0)
    ok = valid_frames(y, n, d, 4 * reported)
    # An xrun on a loaded machine can hand a client a port buffer of another cycle;
    # exactness is checked up to the first xrun (none at all in freewheel), and
    # the rest must still be mostly aligned.
    xf = [f for f in info.get("xrun_frames", []) if f > 0]
    if xf:
        first = max(0, min(xf) - d - 2 * 8192)
        after = ok_mix.copy()
        ok_mix[first:] = False
        ok[first:] = False
        seg_a = y[d:d + n][after]
        aligned = np.mean(np.max(np.abs(seg_a[:, 0:2] - mix[after]), axis=1) < 1e-5)
        print("%s: first xrun at frame %d; exact checks on the %.1f s before it; %.2f%% of all "
              "frames aligned" % (label, min(xf), first / RATE, 100 * aligned), flush=True)
        check(aligned > 0.9, "%s: output stays aligned through xruns (%.2f%%)"
              % (label, 100 * aligned))
        check(first > RATE, "%s: at least a second before the first xrun" % label)
    print("%s: %d xruns seen by the recorder; %.2f%% of the frames usable" % (
        label, info["xruns"], 100.0 * np.mean(ok)), flush=True)
    seg = y[d:d + n][ok_mix]
    mix_all = mix
    mix = mix[ok_mix]
    e_mix = float(np.max(np.abs(seg[:, 0:2] - mix)))
    if e_mix >= 1e-5:
        bad = np.nonzero(np.max(np.abs(seg[:, 0:2] - mix), axis=1) >= 1e-5)[0]
        print("%s: mix differs at %d frames, first %s last %s" % (label, len(bad), bad[:5],
                                                                  bad[-5:]), flush=True)
        if os.environ.get("CLV_LIVE_DEBUG"):
            np.save("/tmp/clv_live_y.npy", y)
            np.save("/tmp/clv_live_x.npy", mix)
            print("delay", d)
    check(e_mix < 1e-5, "%s: mix output == input delayed by the latency (max err %.2g)"
          % (label, e_mix))
    e_sum = float(np.max(np.abs(seg[:, 2:4] + seg[:, 4:6] - mix)))
    check(e_sum < 1e-5, "%s: vocals + accomp == delayed input (max err %.2g)" % (label, e_sum))
    seg = y[d:d + n][ok]
    mix = mix_all[ok]
    v_ref, a_ref = v_ref[ok], a_ref[ok]
    e_v = np.abs(seg[:, 2:4] - v_ref)
    e_a = np.abs(seg[:, 4:6] - a_ref)
    ev, ea = float(np.max(e_v)), float(np.max(e_a))
    vr = float(np.sqrt(np.mean(v_ref ** 2)))
    check(vr > 1e-3, "%s: the reference vocals are not silent (rms %.3g)" % (label, vr))
    if exact:
        check(ev < 1e-4 and ea < 1e-4, "%s: stems == cleave separate (max err vocals %.2g, "
              "accomp %.2g)" % (label, ev, ea))
    else:
        # realtime: a missed hop puts the dry input into the accompaniment for one
        # hop (and fades back in); everything else must agree
        badf = np.nonzero(np.max(e_v, axis=1) > 1e-4)[0]
        if len(badf):
            runs = np.split(badf, np.nonzero(np.diff(badf) > 1)[0] + 1)
            print("%s: vocals differ in %d runs: %s" % (label, len(runs), [(int(r[0]), int(r[-1])) for r in runs[:10]]), flush=True)
        bad = float(np.mean(np.max(e_v, axis=1) > 1e-4))
        return ev, ea, bad
    return ev, ea, 0.0


def part_separate():
    mix_path, mix = make_mixture("mix.wav", 8.0)
    v_ref, a_ref = reference(mix_path)
    jack = Jack(period=256)
    # headroom: the worker is an ordinary thread on a shared two-core machine
    # the cheap centre separator: these parts test the live plumbing, not a network
    live = Live(jack, "--transport-reset", "--headroom", "1024", "--model", "centre")
    check(live.started is not None, "cleave live started under jackd (%s)" % live.stderr().strip()[-300:])
    info, y = play_record(jack, mix_path, tail=RATE)
    check(info["complete"], "the recording completed")
    st = live.status()
    check(st is not None, "status on request")
    ev, ea, bad = compare_run("realtime", mix, y, info, st["latency"], v_ref, a_ref, exact=False)
    misses = st["misses"]
    print("realtime: latency %d frames (%.1f ms), misses %d, xruns %d, dsp %.3f, worker %.3f, "
          "frames differing from cleave separate %.4f%%" % (
              st["latency"], st["latency_ms"], misses, st["xruns"], st["dsp_load"],
              st["worker_load"], 100 * bad), flush=True)
    if misses == 0:
        check(ev < 1e-4 and ea < 1e-4, "realtime without misses: stems == cleave separate "
              "(max err vocals %.2g, accomp %.2g)" % (ev, ea))
    else:
        # a miss silences one hop (then a 3 ms fade-in); a dropped hop restarts
        # the separator, which needs its window to settle: allow 4096 frames each
        allowed = (misses + st["dropped"]) * 4096
        check(bad * len(mix) <= allowed, "realtime with %d misses, %d dropped: at most %d "
              "frames differ (%.0f do)" % (misses, st["dropped"], allowed, bad * len(mix)))
    check(st["resets"] == 1, "transport start cleared the history once (resets %d)" % st["resets"])
    if os.path.exists(os.path.join(os.path.dirname(HERE), "models", "tagger.clvm")):
        tags = [m["label"] for m in live.all if m.get("type") == "tag"]
        check(isinstance(st["tags"], list) and st["tag_time"] > 6.0, "the tagger listened to the "
              "whole run (%.1f s; tags now %s; events %s)" % (st.get("tag_time", 0), st["tags"],
                                                             sorted(set(tags))))
    check(live.quit() == 0, "quit command: exit 0")
    jack.stop()


def part_freewheel():
    mix_path, mix = make_mixture("mix.wav", 8.0)
    v_ref, a_ref = reference(mix_path)
    jack = Jack(period=256)
    live = Live(jack, "--transport-reset", "--model", "centre")
    check(live.started is not None, "cleave live started")
    info, y = play_record(jack, mix_path, tail=RATE, extra=("--freewheel",))
    check(info["complete"], "the recording completed")
    fw = live.wait_for(lambda m: m.get("event") == "freewheel", 5)
    check(fw is not None and "freewheel on" in fw.get("message", ""), "freewheel reported: %s" % fw)
    st = live.status()
    compare_run("freewheel", mix, y, info, st["latency"], v_ref, a_ref, exact=True)
    check(st["freewheel"] is False, "back to realtime after freewheel")
    check(live.quit() == 0, "exit 0")
    jack.stop()


def part_bufsize():
    mix_path, mix = make_mixture("long.wav", 12.0)
    jack = Jack(period=256)
    live = Live(jack, "--transport-reset", "--headroom", "512", "--model", "centre")
    check(live.started is not None, "cleave live started")
    d0 = live.started["latency"]
    result = {}

    def run():
        try:
            result["io"] = play_record(jack, mix_path, tail=RATE, timeout=60)
        except Exception as e:  # reported below
            result["error"] = str(e)

    th = threading.Thread(target=run)
    th.start()
    time.sleep(4.0)
    r = jack.tool("jack_bufsize", "1024")
    check(r.returncode == 0, "jack_bufsize 1024")
    ev = live.wait_for(lambda m: m.get("event") == "latency", 10)
    th.join(90)
    check("io" in result, "recording finished (%s)" % result.get("error"))
    if "io" not in result:
        return
    info, y = result["io"]
    d1 = d0 + 1024 - 256
    check(ev is not None and "period 1024" in ev.get("message", ""), "latency event after the "
          "period change: %s" % ev)
    cap = info["capture_latency"][0]
    check(cap == [d1, d1], "ports report the new latency %s == %d" % (cap, d1))
    st = live.status()
    check(st["latency"] == d1 and st["period"] == 1024, "status: latency %d period %d"
          % (st["latency"], st["period"]))
    # classify every 256-frame block of the recording: old delay, new delay, or neither
    n = len(mix)
    B = 256
    kinds = []
    for b in range(0, n - 2 * B, B):
        t = b + d1
        if t + B > len(y) or t - d0 + B > n:
            break
        seg = y[t:t + B, 0]
        old = mix[t - d0:t - d0 + B, 0]
        new = mix[t - d1:t - d1 + B, 0]
        if np.max(np.abs(seg - old)) < 1e-5:
            kinds.append("o")
        elif np.max(np.abs(seg - new)) < 1e-5:
            kinds.append("n")
        else:
            kinds.append("x")
    s = "".join(kinds)
    first_new = s.find("n")
    # xruns on a loaded machine can spoil a few blocks of the recording (see
    # compare_run); allow a few per xrun the recorder saw, none otherwise
    slack = 8 * info["xruns"]
    check(first_new > 0, "output switched to the new latency")
    if first_new > 0:
        before, after = s[:first_new], s[first_new:]
        fade = len(before) - len(before.rstrip("x"))
        print("blocks of %d frames: %d old, %d crossfade, %d new, %d other; recorder xruns %d"
              % (B, before.count("o"), fade, after.count("n"), s.count("x") - fade,
                 info["xruns"]), flush=True)
        check(before.rstrip("x").count("x") <= slack, "before the switch: old latency only")
        check(fade <= 1024 // B + slack, "the crossfade spans at most one period (%d blocks)"
              % fade)
        check(after.count("x") + after.count("o") <= slack, "after the switch: new latency only")
    # audio kept flowing: no 20 ms of silence where the input had signal
    w = int(0.02 * RATE)
    quiet = 0
    for t in range(d1, n + d0 - w, w):
        if np.max(np.abs(y[t:t + w, 0])) < 1e-6 and np.max(np.abs(mix[t - d0:t - d0 + w, 0])) > 1e-3:
            quiet += 1
    check(quiet == 0, "no silent gap in the output (%d windows)" % quiet)
    check(live.quit() == 0, "exit 0")
    jack.stop()


def wait_exit(p, timeout):
    try:
        return p.wait(timeout)
    except subprocess.TimeoutExpired:
        return None


def part_control():
    jack = Jack(period=256)
    fifo = os.path.join(TMP, "ctl")
    live = Live(jack, control=fifo)
    check(live.started is not None, "started with no options")
    # the default, auto, runs the hourglass at the quality point (centre without its file)
    models = os.path.join(os.path.dirname(HERE), "models")
    want = "hourglass" if os.path.exists(os.path.join(models, "hourglass.clvm")) else "centre"
    check(live.started and live.started["separator"].startswith(want), "default separator: %s"
          % (live.started and live.started["separator"]))
    conns = jack.tool("jack_lsp", "-c").stdout
    check(not any(l.startswith("   ") for l in conns.splitlines()), "connects nothing it was not "
          "asked to:\n" + conns)
    ports = jack.tool("jack_lsp").stdout.split()
    check(all("cleave:" + p in ports for p in ["in_L", "in_R"] + STEMS), "ports: %s" % ports)
    d0 = live.started["latency"]
    check(os.path.exists(fifo), "control FIFO created")

    def cmd(line, ok=True):
        with open(fifo, "w") as f:
            f.write(line + "\n")
        a = live.wait_for(lambda m: m.get("type") == "ack", 10)
        check(a is not None and a["ok"] == ok, "command '%s' -> %s" % (line, a))
        return a

    cmd("vocals off")
    cmd("accomp -6")
    cmd("bypass on")
    st = live.status()
    check(st["vocals_db"] is None and abs(st["accomp_db"] + 6.0) < 0.01 and st["bypass"],
          "levels and bypass in the status: %s" % st)
    cmd("bypass off")
    cmd("op low-latency")
    ev = live.wait_for(lambda m: m.get("event") == "latency", 10)
    check(ev is not None, "latency event after the operating point changed")
    st = live.status()
    check(st["op"] == "low-latency" and st["latency"] < d0, "low latency: %d < %d"
          % (st["latency"], d0))
    time.sleep(0.3)
    cap, pb = jack.port_latency("cleave:vocals_L")
    check(cap == (st["latency"], st["latency"]), "port capture latency recomputed: %s" % (cap,))
    cap, pb = jack.port_latency("cleave:in_L")
    check(pb == (st["latency"], st["latency"]), "input playback latency recomputed: %s" % (pb,))
    cmd("separator no-such-model", ok=False)
    st = live.status()
    want_ll = "demucs" if os.path.exists(os.path.join(models, "demucs.clvm")) else "centre"
    check(st["running"].startswith(want_ll), "a bad separator keeps the running one (auto at "
          "low latency: %s): %s" % (want_ll, st["running"]))
    cmd("frobnicate", ok=False)
    cmd("vocals 99", ok=False)
    cmd("separator centre")
    # stdin is not the command stream here: quit through the FIFO
    with open(fifo, "w") as f:
        f.write("quit\n")
    check(wait_exit(live.proc, 10) == 0, "quit over the FIFO: exit 0")
    check(not os.path.exists(fifo), "the FIFO it created is removed")

    # a preset: karaoke turns the vocals off; an option given overrides it
    presets = os.path.join(os.path.dirname(HERE), "presets")
    if os.path.exists(os.path.join(presets, "karaoke.ttl")):
        live = Live(jack, "--preset", os.path.join(presets, "karaoke.ttl"), "--accomp", "-3")
        st = live.status()
        check(st is not None and st["vocals_db"] is None and abs(st["accomp_db"] + 3) < 0.01,
              "preset karaoke + --accomp -3: %s" % st)
        check(live.quit() == 0, "exit 0")
    bad = os.path.join(TMP, "bad.ttl")
    with open(bad, "w") as f:
        f.write("@prefix lv2: <http://lv2plug.in/ns/lv2core#> .\n<#p> lv2:port [ lv2:symbol ")
    r = subprocess.run([CLEAVE, "live", "--preset", bad], capture_output=True, text=True,
                       env=jack.env, timeout=20)
    check(r.returncode == 1 and "bad.ttl" in r.stderr, "bad preset: exit 1 naming the file: %s"
          % r.stderr.strip())
    for args, what in [(["--vocals", "loud"], "--vocals"), (["--op", "fast"], "--op"),
                       (["--backend", "alsa"], "--backend"), (["--bogus"], "--bogus"),
                       (["extra"], "extra")]:
        r = subprocess.run([CLEAVE, "live", *args], capture_output=True, text=True,
                           env=jack.env, timeout=20)
        check(r.returncode == 2 and what in r.stderr, "usage error for %s: %s"
              % (args, r.stderr.strip()))
    # named connections, and a missing port is an error that names it
    live = Live(jack, "--input", "system:capture_1,system:capture_2", "--output",
                "system:playback_1,system:playback_2")
    conns = jack.tool("jack_lsp", "-c").stdout
    check("system:capture_1\n   cleave:in_L" in conns and "cleave:mix_R\n   system:playback_2"
          in conns, "named connections made")
    check(live.quit() == 0, "exit 0")
    r = subprocess.run([CLEAVE, "live", "--input", "nowhere:out"], capture_output=True, text=True,
                       env=jack.env, timeout=20)
    check(r.returncode == 1 and "nowhere:out" in r.stderr, "missing port named: %s"
          % r.stderr.strip())
    jack.stop()


def part_shutdown():
    env = env_for("clvtest_none_%d" % os.getpid())
    r = subprocess.run([CLEAVE, "live"], capture_output=True, text=True, env=env, timeout=20)
    check(r.returncode == 1 and "JACK server" in r.stderr and r.stderr.count("\n") == 1,
          "no server: one clear line, exit 1: %r" % r.stderr)
    jack = Jack(period=256)
    # plumbing: the cheap centre separator (with the default three-stack hourglass
    # this part and sigterm each failed once in full-suite runs, the client not
    # exiting after it had reported the stop; cause not found yet)
    live = Live(jack, "--model", "centre")
    check(live.started is not None, "started")
    time.sleep(1.0)
    jack.proc.terminate()
    rc = wait_exit(live.proc, 15)
    if rc is None and shutil.which("gdb"):
        # where it is stuck, for the log (the check below fails)
        bt = subprocess.run(["gdb", "-p", str(live.proc.pid), "-batch", "-ex",
                             "thread apply all bt"], capture_output=True, text=True, timeout=60)
        print(bt.stdout[-6000:], flush=True)
    err = live.stderr()
    check(rc == 1, "server stopped: exit status 1 (got %s)" % rc)
    check("JACK server shut down" in err, "clear message: %r" % err.strip()[-200:])
    check(any(m.get("event") == "shutdown" for m in live.all), "JSON shutdown event")
    jack.stop()


def part_sigterm():
    jack = Jack(period=1024, extra=("-t", "20000"))
    wrapper = ()
    vg = shutil.which("valgrind")
    vlog = os.path.join(TMP, "valgrind.log")
    if vg:
        wrapper = (vg, "--leak-check=full", "--errors-for-leak-kinds=definite,indirect",
                   "--error-exitcode=99", "--log-file=" + vlog)
    live = Live(jack, "--headroom", "4096", "--model", "centre", wrapper=wrapper, control=None,
                start_timeout=120)
    check(live.started is not None, "started%s" % (" under valgrind" if vg else ""))
    time.sleep(3.0)
    live.proc.send_signal(signal.SIGTERM)
    rc = wait_exit(live.proc, 120)
    check(rc == 0, "SIGTERM: exit 0 (got %s)" % rc)
    check(any(m.get("event") == "stopped" for m in live.all), "stopped event")
    st = [m for m in live.all if m.get("type") == "status"]
    check(len(st) > 0 and st[-1]["cycles"] > 0, "audio ran before the signal")
    if vg:
        log = open(vlog).read()
        ok = check("ERROR SUMMARY: 0 errors" in log, "valgrind: no errors or leaks")
        if not ok:
            print(log[-3000:])
        print(log[-800:])
    else:
        print("valgrind not installed: leak check skipped", flush=True)
    jack.stop()


def part_portaudio():
    r = subprocess.run([CLEAVE, "live", "--backend", "portaudio", "--list-devices"],
                       capture_output=True, text=True, timeout=60)
    if "built without PortAudio" in r.stderr:
        skip("built without PortAudio")
    check(r.returncode == 0, "--list-devices: exit 0 (%s)" % r.stderr.strip())
    print(r.stdout, flush=True)
    ran = False
    # 1. the JACK host API of PortAudio, on our own dummy server
    try:
        jack = Jack(period=256)
    except (RuntimeError, FileNotFoundError) as e:
        jack = None
        print("no JACK for PortAudio:", e)
    if jack:
        r = subprocess.run([CLEAVE, "live", "--backend", "portaudio", "--list-devices"],
                           capture_output=True, text=True, env=jack.env, timeout=60)
        if "JACK" in r.stdout:
            live = Live(jack, "--backend", "portaudio", "--device", "JACK", control=None)
            check(live.started is not None, "PortAudio on its JACK host API started: %s"
                  % live.stderr()[-300:])
            time.sleep(2.0)
            ports = jack.tool("jack_lsp").stdout
            live.proc.send_signal(signal.SIGINT)
            rc = wait_exit(live.proc, 20)
            st = [m for m in live.all if m.get("type") == "status"]
            check(rc == 0, "SIGINT: exit 0 (%s)" % rc)
            check(len(st) > 0 and st[-1]["frames"] > RATE // 2, "audio ran through PortAudio "
                  "(%s frames)" % (st[-1]["frames"] if st else None))
            check("PortAudio" in ports, "PortAudio's JACK client exists: %s" % ports.split())
            ran = True
        jack.stop()
    # 2. ALSA's null device, through an ALSA configuration of our own
    conf = os.path.join(TMP, "asound.conf")
    with open(conf, "w") as f:
        f.write("pcm.cleave_null { type null }\nctl.cleave_null { type hw card 0 }\n")
    env = dict(os.environ)
    # PortAudio's ALSA probing reads uninitialised memory inside libasound
    # (snd_pcm_hw_params_set_period_size_near, seen with valgrind); with meson's
    # MALLOC_PERTURB_ the null device then never starts. Not cleave's memory.
    env.pop("MALLOC_PERTURB_", None)
    sysconf = "/usr/share/alsa/alsa.conf"
    env["ALSA_CONFIG_PATH"] = sysconf + ":" + conf if os.path.exists(sysconf) else conf
    r = subprocess.run([CLEAVE, "live", "--backend", "portaudio", "--list-devices"],
                       capture_output=True, text=True, env=env, timeout=60)
    if "cleave_null" in r.stdout:
        r = subprocess.run([CLEAVE, "live", "--backend", "portaudio", "--device", "cleave_null",
                            "--json", "--duration", "2", "--interval", "0.5"],
                           capture_output=True, text=True, env=env, timeout=60)
        st = [json.loads(l) for l in r.stdout.splitlines() if l.startswith("{")]
        st = [m for m in st if m.get("type") == "status"]
        check(r.returncode == 0, "ALSA null device: exit 0 (%s)" % r.stderr.strip()[-300:])
        check(len(st) > 0 and st[-1]["frames"] > 0, "audio ran on ALSA null")
        ran = True
    else:
        print("ALSA null device not listed by PortAudio:\n" + r.stdout + r.stderr, flush=True)
    check(ran, "PortAudio opened a device and ran")


def main():
    if not os.path.exists(CLEAVE):
        print("no cleave binary")
        return 1
    r = subprocess.run([CLEAVE, "--help"], capture_output=True, text=True)
    if " live " not in r.stdout:
        skip("cleave was built without the live command")
    if PART != "portaudio":
        if not shutil.which("jackd") or not shutil.which("jack_wait"):
            skip("jackd is not installed (jackd2, see .ci/setup)")
        if not JACKIO and PART in ("separate", "freewheel", "bufsize"):
            skip("built without JACK (no player/recorder helper)")
        r = subprocess.run([CLEAVE, "live", "--backend", "jack", "--list-devices"],
                           capture_output=True, text=True)
        if "built without JACK" in r.stderr:
            skip("cleave was built without JACK")
    parts = {"separate": part_separate, "freewheel": part_freewheel, "bufsize": part_bufsize,
             "control": part_control, "shutdown": part_shutdown, "sigterm": part_sigterm,
             "portaudio": part_portaudio}
    if PART not in parts:
        print("unknown part", PART)
        return 1
    try:
        parts[PART]()
    except RuntimeError as e:
        if "jackd did not start" in str(e):
            skip(str(e))
        check(False, str(e))
    finally:
        cleanup()
    if failures:
        print("%d check(s) failed" % len(failures))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
