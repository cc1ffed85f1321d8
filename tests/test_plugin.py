# SPDX-License-Identifier: ISC
"""cleave.lv2 through real LV2 tools. One part per meson test:

  ttl      every TTL of the bundle (and presets/) validates with sord_validate
           against the installed LV2 schemas; a broken copy must fail (the check
           can fail).
  lv2info  lv2ls/lv2info list the plugin with all ports, latency port and presets.
  lv2apply the plugin over a real stereo mixture (Frets on Fire stems) in offline
           render mode: stems sum to the input delayed by the latency, and equal
           `cleave separate` with the same separator after that alignment; levels
           (karaoke) apply.
  jalv     jalv loads the plugin under a dummy-driver JACK server started here,
           runs it for several seconds, sets controls, loads a preset, reads the
           monitors and exits cleanly on end of input.
  bench    (benchmark) one lv2bench line per separator, offline (run() includes
           the separation) and realtime (audio-thread cost only).

Usage: test_plugin.py PART LV2_DIR CLEAVE_EXE TMPDIR [PRESET.ttl...]
Exit 77 (meson: skipped) when a tool or the test audio is missing."""
import glob
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

URI = "urn:cleave:plugin"
SYMBOLS = ["in_l", "in_r", "out_l", "out_r", "vocals_l", "vocals_r", "accomp_l", "accomp_r",
           "control", "notify", "vocal_db", "accomp_db", "separator", "op", "enabled",
           "offline", "latency", "misses", "load", "tag", "tag_conf"]
PRESETS = {"karaoke": "Karaoke (vocals off)", "acappella": "A cappella (accompaniment off)",
           "vocals_up_6db": "Vocals up 6 dB", "vocals_down_6db": "Vocals down 6 dB",
           "live": "Low-latency live"}
SKIP = 77
failures = []


def check(cond, msg):
    if not cond:
        failures.append(msg)
        print("FAIL:", msg, file=sys.stderr)
    return cond


def need(*tools):
    for t in tools:
        if not shutil.which(t):
            print(f"skip: {t} not installed (.ci/setup installs it)")
            sys.exit(SKIP)


def run(cmd, env=None, timeout=300, **kw):
    e = dict(os.environ)
    if env:
        e.update(env)
    return subprocess.run(cmd, env=e, capture_output=True, text=True, timeout=timeout, **kw)


def schema_files():
    """TTL files of the installed LV2 specifications (bundles without a binary)."""
    out = []
    for root in ("/usr/lib/lv2", "/usr/share/lv2", "/usr/local/lib/lv2"):
        for b in sorted(glob.glob(root + "/*.lv2")):
            if glob.glob(b + "/*.so"):
                continue  # a plugin bundle, not a specification
            out += sorted(glob.glob(b + "/*.ttl"))
    return out


def part_ttl(lv2dir, presets):
    need("sord_validate")
    bundle = os.path.join(lv2dir, "cleave.lv2")
    ours = sorted(glob.glob(bundle + "/*.ttl")) + list(presets)
    names = {os.path.basename(f) for f in ours}
    check({"manifest.ttl", "cleave.ttl"} <= names, f"bundle TTL files missing: {sorted(names)}")
    for p in PRESETS:
        check(p + ".ttl" in names, f"preset {p}.ttl not in the bundle")
    schemas = schema_files()
    if not schemas:
        print("skip: no LV2 schemas installed (lv2-dev)")
        sys.exit(SKIP)
    r = run(["sord_validate"] + schemas + ours)
    out = r.stdout + r.stderr
    print(out.strip().splitlines()[-1] if out.strip() else "(no output)")
    check(r.returncode == 0, f"sord_validate exit {r.returncode}:\n{out}")
    check(re.search(r"Found 0 errors", out) is not None, f"sord_validate reports errors:\n{out}")
    check("warning" not in out.lower(), f"sord_validate warnings:\n{out}")
    # negative control: the same check must fail on a broken description
    with tempfile.TemporaryDirectory() as td:
        bad = os.path.join(td, "bad.ttl")
        with open(os.path.join(bundle, "cleave.ttl")) as f:
            text = f.read()
        text = text.replace('lv2:minimum -90.0 ;', 'lv2:minimum "minus ninety" ;', 1)
        with open(bad, "w") as f:
            f.write(text)
        r = run(["sord_validate"] + schemas + [os.path.join(bundle, "manifest.ttl"), bad])
        check(r.returncode != 0 or "Found 0 errors" not in r.stdout + r.stderr,
              "sord_validate accepted a lv2:minimum that is a string (check cannot fail)")


def lv2info(lv2dir):
    return run(["lv2info", URI], env={"LV2_PATH": lv2dir})


def part_lv2info(lv2dir):
    need("lv2info", "lv2ls")
    r = run(["lv2ls"], env={"LV2_PATH": lv2dir})
    check(URI in r.stdout.split(), f"lv2ls does not list {URI}: {r.stdout}")
    r = lv2info(lv2dir)
    out = r.stdout
    check(r.returncode == 0, f"lv2info exit {r.returncode}: {r.stderr}")
    check("error" not in r.stderr.lower(), f"lilv errors: {r.stderr}")
    ports = re.findall(r"Port (\d+):.*?Symbol:\s+(\S+)", out, re.S)
    got = {int(i): s for i, s in ports}
    check(len(got) == len(SYMBOLS), f"{len(got)} ports listed, expected {len(SYMBOLS)}")
    for i, s in enumerate(SYMBOLS):
        check(got.get(i) == s, f"port {i}: {got.get(i)} instead of {s}")
    check(re.search(r"Has latency:\s+yes, reported by port 16", out) is not None,
          "latency port not recognised")
    for label in PRESETS.values():
        check(label in out, f"preset '{label}' not listed")
    for feat in ("hardRTCapable", "worker#schedule", "options#options", "log#log"):
        check(feat in out, f"feature {feat} not declared")
    check("lv2core#enabled" in out, "no port with lv2:enabled designation")
    # the separator enumeration defaults to auto (the best shipped family per point)
    seps = dict((n, v) for v, n in separators(lv2dir))
    m = re.search(r"Symbol:\s+separator\b.*?Default:\s+(-?[\d.]+)", out, re.S)
    check("auto" in seps and m is not None and float(m.group(1)) == seps["auto"],
          f"separator default {m.group(1) if m else None}, auto is {seps.get('auto')}")
    print(f"lv2info: {len(got)} ports, {len(PRESETS)} presets")


def separators(lv2dir):
    """(value, name) of the separator enumeration as lv2info shows it."""
    out = lv2info(lv2dir).stdout
    for block in out.split("\n\tPort ")[1:]:
        if re.search(r"Symbol:\s+separator\b", block):
            return sorted((int(v), n) for v, n in re.findall(r'(-?\d+) = "([^"]*)"', block))
    return []


def make_mixture(path, seconds=6.0):
    """A few seconds of a real band recording: the two Frets on Fire stems mixed."""
    import numpy as np
    import soundfile as sf
    songs = sorted(glob.glob("/usr/share/games/fretsonfire/data/songs/*/*/song.ogg"))
    songs = [s for s in songs if os.path.exists(os.path.join(os.path.dirname(s), "guitar.ogg"))]
    if not songs:
        print("skip: fretsonfire-songs-* not installed (.ci/setup installs them)")
        sys.exit(SKIP)
    d = os.path.dirname(songs[0])
    info = sf.info(os.path.join(d, "song.ogg"))
    start = int(min(20.0, max(0.0, info.duration - seconds - 1)) * info.samplerate)
    n = int(seconds * info.samplerate)
    song, rate = sf.read(os.path.join(d, "song.ogg"), start=start, frames=n, dtype="float32",
                         always_2d=True)
    gtr, _ = sf.read(os.path.join(d, "guitar.ogg"), start=start, frames=n, dtype="float32",
                     always_2d=True)
    m = min(len(song), len(gtr))
    x = 0.5 * (song[:m, :2] + gtr[:m, :2])
    if x.shape[1] == 1:
        x = np.repeat(x, 2, axis=1)
    sf.write(path, x, rate, subtype="FLOAT")
    print(f"mixture: {d} from {start / rate:.1f} s, {m / rate:.1f} s at {rate} Hz")
    return x, rate


def first_nonzero(a):
    import numpy as np
    idx = np.flatnonzero(np.any(a != 0.0, axis=1))
    return int(idx[0]) if len(idx) else -1


def part_lv2apply(lv2dir, cleave, tmp):
    need("lv2apply")
    import numpy as np
    import soundfile as sf
    os.makedirs(tmp, exist_ok=True)
    mix = os.path.join(tmp, "mixture.wav")
    x, rate = make_mixture(mix)
    seps = separators(lv2dir)
    check(len(seps) >= 1, "no separator enumeration")
    compared = 0
    for value, name in seps:
        ref = os.path.join(tmp, "ref-" + name)
        r = run([cleave, "separate", mix, "-o", ref, "--model", name])
        if r.returncode != 0:
            print(f"{name}: cleave separate failed ({r.stderr.strip()}); not compared")
            continue
        out = os.path.join(tmp, f"lv2apply-{name}.wav")
        t0 = time.time()
        r = run(["lv2apply", "-i", mix, "-o", out, "-c", "offline", "1", "-c", "separator",
                 str(value), URI], env={"LV2_PATH": lv2dir})
        dt = time.time() - t0
        check(r.returncode == 0, f"{name}: lv2apply exit {r.returncode}: {r.stderr}")
        if r.returncode != 0:
            continue
        y, yr = sf.read(out, dtype="float32", always_2d=True)
        check(yr == rate and y.shape == (len(x), 6), f"{name}: output {y.shape} at {yr} Hz")
        mixo, voc, acc = y[:, 0:2], y[:, 2:4], y[:, 4:6]
        # latency: outputs are exactly zero until the delayed input arrives
        lat = first_nonzero(acc + voc) - first_nonzero(x)
        n = len(x) - lat
        check(0 < lat < len(x) // 2, f"{name}: latency {lat}")
        if not 0 < lat < len(x) // 2:
            continue
        sum_err = float(np.max(np.abs(voc[lat:] + acc[lat:] - x[:n])))
        check(sum_err < 1e-6, f"{name}: vocals + accompaniment != input delayed by {lat} ({sum_err})")
        mix_err = float(np.max(np.abs(mixo[lat:] - x[:n])))
        check(mix_err < 1e-5, f"{name}: mix at 0 dB != delayed input ({mix_err})")
        rv, _ = sf.read(os.path.join(ref, "vocals.wav"), dtype="float32", always_2d=True)
        ra, _ = sf.read(os.path.join(ref, "accompaniment.wav"), dtype="float32", always_2d=True)
        dv = float(np.max(np.abs(voc[lat:] - rv[:n])))
        da = float(np.max(np.abs(acc[lat:] - ra[:n])))
        vrms = float(np.sqrt(np.mean(rv ** 2)))
        print(f"{name}: lv2apply {dt:.2f} s for {len(x) / rate:.1f} s, latency {lat} frames; "
              f"max |plugin - cleave separate|: vocals {dv:.3g}, accompaniment {da:.3g} "
              f"(vocal rms {vrms:.4f})")
        check(vrms > 1e-4, f"{name}: cleave separate produced silent vocals")
        check(dv < 1e-5 and da < 1e-5, f"{name}: stems differ from cleave separate "
              f"(vocals {dv}, accompaniment {da})")
        compared += 1
    check(compared >= 1, "no separator could be compared with cleave separate")
    # karaoke levels in the same offline path: mix = accompaniment
    out = os.path.join(tmp, "lv2apply-karaoke.wav")
    r = run(["lv2apply", "-i", mix, "-o", out, "-c", "offline", "1", "-c", "vocal_db", "-90", URI],
            env={"LV2_PATH": lv2dir})
    check(r.returncode == 0, f"karaoke lv2apply exit {r.returncode}: {r.stderr}")
    if r.returncode == 0:
        y, _ = sf.read(out, dtype="float32", always_2d=True)
        k = float(np.max(np.abs(y[:, 0:2] - y[:, 4:6])))
        check(k < 1e-6, f"karaoke: mix != accompaniment ({k})")
        print(f"karaoke: max |mix - accompaniment| {k:.3g}")
    # absurd values on the command line: the plugin runs and says why
    r = run(["lv2apply", "-i", mix, "-o", os.path.join(tmp, "absurd.wav"), "-c", "offline", "1",
             "-c", "vocal_db", "1e30", "-c", "separator", "-7", URI], env={"LV2_PATH": lv2dir})
    check(r.returncode == 0, f"absurd controls: lv2apply exit {r.returncode}")
    check("vocal_db value 1e+30 is out of range" in r.stderr, f"absurd vocal_db not reported: {r.stderr}")


def wait_for_jack(env, proc, timeout=15.0):
    t0 = time.time()
    while time.time() - t0 < timeout:
        if proc.poll() is not None:
            return False
        r = run(["jack_lsp"], env=env, timeout=10)
        if r.returncode == 0 and "system:" in r.stdout:
            return True
        time.sleep(0.3)
    return False


def part_jalv(lv2dir, tmp):
    need("jackd", "jalv", "jack_lsp")
    server = f"cleave_lv2_test_{os.getpid()}"
    # never let a client autostart a server of its own
    env = {"JACK_DEFAULT_SERVER": server, "JACK_NO_AUDIO_RESERVATION": "1", "JACK_NO_START_SERVER": "1",
           "LV2_PATH": lv2dir + ":/usr/lib/lv2"}
    e = dict(os.environ)
    e.update(env)
    jack = subprocess.Popen(["jackd", "-n", server, "-r", "-d", "dummy", "-r", "48000", "-p", "256"],
                            env=e, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)
    try:
        if not wait_for_jack(env, jack):
            out = jack.stdout.read() if jack.poll() is not None else ""
            check(False, f"jackd (dummy driver) did not start: {out}")
            return
        jalv = subprocess.Popen(["jalv", "-n", "cleave_test", "-x", "-p", URI], env=e,
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        script = [(2.0, "monitors"), (0.2, "set vocal_db -6"), (1.0, "controls"),
                  (0.2, "presets"),
                  (0.3, "preset urn:cleave:preset:karaoke"), (1.0, "controls"), (0.2, "set op 1"),
                  (2.0, "monitors"), (0.2, "accomp_db = 1e30"), (1.0, "monitors"), (0.2, "controls")]
        t0 = time.time()
        for delay, cmd in script:
            time.sleep(delay)
            if jalv.poll() is not None:
                break
            jalv.stdin.write(cmd + "\n")
            jalv.stdin.flush()
        time.sleep(0.5)
        ran = time.time() - t0
        try:
            out, err = jalv.communicate(timeout=20)  # closes stdin: jalv exits on EOF
        except subprocess.TimeoutExpired:
            jalv.kill()
            out, err = jalv.communicate()
            check(False, "jalv did not exit on end of input")
        print(f"jalv ran {ran:.1f} s, exit {jalv.returncode}")
        with open(os.path.join(tmp, "jalv.log"), "w") as f:
            f.write(out + "\n--- stderr ---\n" + err)
        tail = "\n".join((out + err).splitlines()[-40:])
        check(jalv.returncode == 0, f"jalv exit {jalv.returncode}:\n{tail}")
        check("vocal_db = -6" in out, f"set vocal_db not shown by controls:\n{tail}")
        for p in PRESETS:
            check(f"urn:cleave:preset:{p} (" in out, f"preset {p} not listed by jalv:\n{tail}")
        check("vocal_db = -90" in out, f"karaoke preset not applied:\n{tail}")
        lats = [float(v) for v in re.findall(r"latency = ([0-9.]+)", out)]
        check(lats and all(v > 0 for v in lats), f"latency monitor missing or zero: {lats}")
        check(len(set(lats)) >= 2, f"latency did not change with the operating point: {lats}")
        check("loaded" in out + err, f"separator swap not logged:\n{tail}")
        check("accomp_db value 1e+30 is out of range" in out + err,
              f"absurd accomp_db not logged:\n{tail}")
        m = re.findall(r"misses = ([0-9.]+)", out)
        ld = re.findall(r"load = ([0-9.]+)", out)
        print(f"monitors: latency {lats}, misses {m[-1] if m else '?'}, load {ld[-1] if ld else '?'} %")
    finally:
        os.killpg(jack.pid, signal.SIGTERM)
        try:
            jack.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(jack.pid, signal.SIGKILL)
            jack.wait()


def part_bench(lv2dir, tmp):
    need("lv2bench")
    os.makedirs(tmp, exist_ok=True)
    src = os.path.join(lv2dir, "cleave.lv2")
    with open(os.path.join(src, "cleave.ttl")) as f:
        ttl = f.read()
    frames, rate = 1 << 19, 48000
    for value, name in separators(lv2dir):
        for offline in (1, 0):
            # lv2bench runs every port at its default: a bundle copy whose defaults
            # select this separator and mode
            with tempfile.TemporaryDirectory(dir=tmp) as td:
                b = os.path.join(td, "cleave.lv2")
                os.makedirs(b)
                for fn in os.listdir(src):
                    if fn.endswith(".ttl") and fn != "cleave.ttl" or fn.endswith(".so"):
                        os.symlink(os.path.join(src, fn), os.path.join(b, fn))
                t = re.sub(r'(lv2:symbol "separator" ;.*?lv2:default )\d+', rf"\g<1>{value}", ttl,
                           count=1, flags=re.S)
                t = re.sub(r'(lv2:symbol "offline" ;.*?lv2:default )\d+', rf"\g<1>{offline}", t,
                           count=1, flags=re.S)
                with open(os.path.join(b, "cleave.ttl"), "w") as f:
                    f.write(t)
                r = run(["lv2bench", "-b", "512", "-n", str(frames), URI], env={"LV2_PATH": td},
                        timeout=600)
                line = [l for l in r.stdout.splitlines() if URI in l]
                if r.returncode != 0 or not line:
                    check(False, f"lv2bench failed for {name}: {r.stdout} {r.stderr}")
                    continue
                secs = float(line[0].split()[0])
                mode = "offline (run() includes separation)" if offline else "realtime (audio thread only)"
                print(f"lv2bench {name} {mode}: {line[0]}  -> {frames / rate / secs:.1f}x real time "
                      f"at 48 kHz, block 512")


def main():
    if len(sys.argv) < 5:
        print(__doc__)
        return 2
    part, lv2dir, cleave, tmp = sys.argv[1:5]
    presets = sys.argv[5:]
    os.makedirs(tmp, exist_ok=True)
    if part == "ttl":
        part_ttl(lv2dir, presets)
    elif part == "lv2info":
        part_lv2info(lv2dir)
    elif part == "lv2apply":
        part_lv2apply(lv2dir, cleave, tmp)
    elif part == "jalv":
        part_jalv(lv2dir, tmp)
    elif part == "bench":
        part_bench(lv2dir, tmp)
    else:
        print(f"unknown part {part}")
        return 2
    if failures:
        print(f"{len(failures)} check(s) failed", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
