#!/usr/bin/python3
# SPDX-License-Identifier: ISC
"""cleave benchmark: every shipped separator and operating point, the tagger, and the
peers, measured in one run on this machine; prints one table and writes JSON.

    /usr/bin/python3 tests/bench/run_benchmarks.py --build build
    meson test -C build --benchmark bench_all          # the same, through meson

Per separator (every separator `bench_sep --list` finds in the registry) and
operating point, at 44.1 kHz stereo, in a process of its own pinned to one core
(taskset -c CORE):
  latency        algorithmic latency of the separator (frames, ms); the engine adds
                 its hop and the worker headroom on top (in the JSON)
  RTF            one-core real-time factor: thread CPU seconds of process() per
                 second of audio (process() called directly at the separator's hop)
  worker/hop     CPU time of one process() call (median, p99, max) against the hop
                 budget (hop / 44100 s)
  audio/block    audio-thread time of clv_engine_process() per block in realtime
                 mode, paced at real time, 64- and 256-frame blocks (median, p99, max)
  peak memory    peak resident set (VmHWM) of that process at the end (and before
                 the separator was created)
  model size     bytes of the .clvm file, parameters = elements of its tensors
Tagger: one-core RTF and time per inference step at 44.1 kHz mono input.
Peers, in the same run and on the same core, one thread each:
  - the same networks (weights read from the shipped .clvm files) in PyTorch
    (Debian python3-torch) and ONNX Runtime (npm onnxruntime-node, tests/peers/),
    one streaming step each, as ratios to cleave's C step (tests/bench/peers.py,
    which reuses tests/bench_peers.py's timers and tests/peers/ort_step.js);
  - swh-plugins Karaoke (LADSPA 1409) through applyplugin: CPU time per second of
    44.1 kHz stereo audio (its quality is in stereo_eval.json);
  - our LV2 plugin through lv2bench (tests/test_plugin.py bench), when built.
Quality (unless --no-quality; each writes docs/results/*.json):
  - stereo_eval.json: tests/bench/stereo_quality.py (models/train/eval_centre.py's
    mixtures and scoring) with every separator and operating point (PJS voices
    over Frets on Fire bands, 44.1 kHz stereo) against swh Karaoke and mid/side;
  - mir1k_eval.json: models/train/eval_sep.py through `cleave separate` for every
    separator and operating point, plus the ideal ratio mask (MIR-1K devtest);
  - tag_eval.json: models/train/eval_tag.py on the shipped tagger's weights
    (tests/bench/tag_quality.py), and on the fold-rotation runs of its recipe
    (models/train/runs/tag_fNN, when present) for held-out accuracy.
Then `tests/bench/make_results.py` turns the JSON into docs/RESULTS.md and pictures.

--selftest: a short run of the built-in separator that checks the measuring
program's output for consistency (a test, not a benchmark; speed is not judged).
"""
import argparse
import datetime
import json
import math
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, '..', '..'))
TRAIN = os.path.join(ROOT, 'models', 'train')
SHARED = os.path.abspath(os.path.join(ROOT, '..', 'shared', 'data'))
PY = '/usr/bin/python3' if os.path.exists('/usr/bin/python3') else sys.executable
OPS = ['quality', 'low-latency']
SKIP = 77


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def run(cmd, timeout=3600, env=None, **kw):
    e = dict(os.environ)
    if env:
        e.update(env)
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=e, **kw)


FIFO = []


def pin(core):
    """Pins to one core (and, with --fifo, runs at SCHED_FIFO priority there)."""
    return (['taskset', '-c', str(core)] if core >= 0 and shutil.which('taskset') else []) + FIFO


def model_dir():
    return os.environ.get('CLV_MODEL_DIR') or os.path.join(ROOT, 'models')


def registry(bench):
    r = run([bench, '--list'])
    if r.returncode != 0:
        sys.exit(f'run_benchmarks: {bench} --list failed: {r.stderr.strip()}')
    out = []
    for line in r.stdout.splitlines():
        p = line.split('\t')
        if len(p) in (4, 5) and p[0] == 'ENTRY':
            f = None if p[3] == '-' else os.path.join(model_dir(), p[3])
            # a family may ship another file for the quality point (demucs-quality.clvm)
            fq = os.path.join(model_dir(), p[4]) if len(p) == 5 and p[4] != '-' else None
            out.append(dict(name=p[1], kind=p[2], file=f,
                            file_quality=fq if fq and os.path.exists(fq) else None))
    return out


def json_out(r, what):
    try:
        return json.loads(r.stdout)
    except json.JSONDecodeError:
        return dict(available=False, reason=f'{what}: no result (exit {r.returncode}): '
                    f'{(r.stderr or r.stdout).strip()[-300:]}')


def histogram(path, bins=48):
    """Log-spaced histogram of the microsecond values in a dump file."""
    if not os.path.exists(path):
        return None
    with open(path) as f:
        v = [float(x) for x in f if x.strip()]
    if not v:
        return None
    lo, hi = max(min(v), 0.01), max(max(v), 0.02)
    lo, hi = math.log10(lo) - 1e-9, math.log10(hi) + 1e-9
    edges = [10 ** (lo + (hi - lo) * i / bins) for i in range(bins + 1)]
    counts = [0] * bins
    for x in v:
        k = int((math.log10(max(x, 0.01)) - lo) / (hi - lo) * bins)
        counts[min(max(k, 0), bins - 1)] += 1
    return dict(edges_us=[round(e, 3) for e in edges], counts=counts, n=len(v))


def machine():
    info = dict(date=datetime.datetime.now().astimezone().isoformat(timespec='seconds'),
                kernel=platform.release(), cores=os.cpu_count())
    try:
        txt = run(['lscpu']).stdout
        m = re.search(r'Model name:\s*(.+)', txt)
        info['cpu'] = m.group(1).strip() if m else platform.processor()
    except (OSError, subprocess.SubprocessError):
        info['cpu'] = platform.processor()
    info['load_avg_start'] = list(os.getloadavg())
    try:
        info['commit'] = run(['git', '-C', ROOT, 'rev-parse', '--short', 'HEAD']).stdout.strip()
        dirty = run(['git', '-C', ROOT, 'status', '--porcelain', '--untracked-files=no']).stdout
        info['tree_modified'] = bool(dirty.strip())
    except (OSError, subprocess.SubprocessError):
        info['commit'] = 'unknown'
    return info


# ---------------------------------------------------------------- separators


def bench_separators(bench, entries, seconds, core, tmp):
    rows = []
    for e in entries:
        if e['kind'] != 'separator':
            continue
        models = {}
        for op in OPS:
            f = e.get('file_quality') if op == 'quality' and e.get('file_quality') else e['file']
            if f:
                models[op] = json_out(run([bench, '--clvm-info', f]), f)
                models[op]['file'] = os.path.relpath(f, ROOT) if f.startswith(ROOT) else f
        for op in OPS:
            model = models.get(op)
            log(f'run_benchmarks: {e["name"]} ({op}) ...')
            dump = os.path.join(tmp, 'dump')
            os.makedirs(dump, exist_ok=True)
            r = run(pin(core) + [bench, '--sep', e['name'], '--op', op, '--seconds', str(seconds),
                                 '--dump', dump])
            row = json_out(r, f'bench_sep --sep {e["name"]}')
            row.setdefault('name', e['name'])
            row.setdefault('op', op)
            row['model'] = model or dict(file=None, file_bytes=0, params=0, tensors=0, arch='built-in DSP')
            if op == 'quality' and e.get('file_quality'):
                row['quality_file'] = True
            stem = os.path.join(dump, f'{e["name"]}_{op}')
            if row.get('available'):
                row['hist'] = {k: histogram(f'{stem}_{k}.txt') for k in ('hop_cpu', 'block64', 'block256')}
            rows.append(row)
    return rows


def bench_taggers(bench, entries, seconds, core):
    rows = []
    for e in entries:
        if e['kind'] != 'tagger':
            continue
        log(f'run_benchmarks: tagger {e["name"]} ...')
        row = json_out(run(pin(core) + [bench, '--tagger', e['file'], '--seconds', str(seconds)]),
                       'bench_sep --tagger')
        row['name'] = e['name']
        row['model'] = json_out(run([bench, '--clvm-info', e['file']]), e['file'])
        row['model']['file'] = os.path.relpath(e['file'], ROOT)
        rows.append(row)
    return rows


# ---------------------------------------------------------------- peers


def peers_networks(bench, seps, tags, core, tmp):
    """The same networks in C, PyTorch and ONNX Runtime (one streaming step)."""
    nets = {}
    for r in seps:
        f = (r.get('model') or {}).get('file')
        if r.get('quality_file'):
            continue  # the peers run each family's primary file (one network per family)
        if f and (r.get('model') or {}).get('available'):
            nets[os.path.join(ROOT, f) if not os.path.isabs(f) else f] = ('separator', r['name'], None)
    for t in tags:
        if t.get('available'):
            nets[os.path.join(ROOT, t['model']['file'])] = ('tagger', t['name'], None)
    out = []
    for path, (kind, name, c_us) in nets.items():
        log(f'run_benchmarks: peers for {name} ...')
        row = dict(name=name, kind=kind, file=os.path.relpath(path, ROOT))
        if kind == 'separator':
            c = json_out(run(pin(core) + [bench, '--net-step', path]), 'bench_sep --net-step')
            if not c.get('available'):
                row.update(available=False, reason=c.get('reason', 'no C step timer'))
                out.append(row)
                continue
            row['c_us'] = c['us_per_step']
            row['c_cpu_us'] = c.get('cpu_us_per_step')
            row['c_what'] = 'clv_hourglass_step: one STFT frame through the network'
        else:
            # at the model's rate: no resampling in the C step
            c = json_out(run(pin(core) + [bench, '--tagger', path, '--rate', '16000', '--seconds', '60']),
                         'bench_sep --tagger --rate 16000')
            if not c.get('available'):
                row.update(available=False, reason=c.get('reason', 'tagger not available'))
                out.append(row)
                continue
            row['c_us'] = c['step_wall_us']
            row['c_cpu_us'] = c['step_us']
            row['c_what'] = 'clv_tagger_feed at 16 kHz, per step: log-mel of 25 new frames + the CNN on 150'
        r = run(pin(core) + [PY, os.path.join(HERE, 'peers.py'), path, os.path.join(tmp, 'peers')],
                timeout=1800)
        p = json_out(r, 'peers.py')
        row.update(p)
        row['available'] = bool(p.get('torch_us'))
        out.append(row)
    return out


def peer_swh(core, tmp, seconds):
    """swh Karaoke (LADSPA 1409) through applyplugin: CPU s per audio s."""
    so = '/usr/lib/ladspa/karaoke_1409.so'
    if not shutil.which('applyplugin') or not os.path.exists(so):
        return dict(available=False, reason='applyplugin (ladspa-sdk) or swh-plugins not installed')
    import numpy as np
    import soundfile as sf
    sr = 44100
    n = int(seconds * sr)
    t = np.arange(n) / sr
    rng = np.random.default_rng(1)
    mel = 0.25 * np.sin(2 * np.pi * 220 * t)
    x = np.stack([mel + 0.15 * np.sin(2 * np.pi * 110 * t), mel + 0.12 * np.sin(2 * np.pi * 164.8 * t)], 1)
    x += 0.02 * rng.standard_normal(x.shape)
    inp = os.path.join(tmp, 'swh_in.wav')
    sf.write(inp, x.astype(np.float32), sr, subtype='PCM_16')  # applyplugin reads 16-bit PCM
    out = os.path.join(tmp, 'swh_out.wav')
    best = None
    for _ in range(3):
        w0 = time.monotonic()
        p = subprocess.Popen(pin(core) + ['applyplugin', inp, out, so, 'karaoke', '-70'],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        _, status, ru = os.wait4(p.pid, 0)
        p.returncode = os.waitstatus_to_exitcode(status)
        err = p.stderr.read().decode(errors='replace')
        p.stderr.close()
        w = time.monotonic() - w0
        if p.returncode != 0:
            return dict(available=False, reason=f'applyplugin failed ({p.returncode}): {err.strip()[-200:]}')
        cpu = ru.ru_utime + ru.ru_stime
        best = cpu if best is None else min(best, cpu)
    return dict(available=True, plugin='swh Karaoke (LADSPA 1409), applyplugin, vocal volume -70 dB',
                audio_seconds=seconds, cpu_s=best, rtf=best / seconds, wall_s_last=w,
                note='CPU time (wait4 rusage) of the applyplugin process, best of 3; includes decoding '
                     'and writing the 16-bit WAV files, so it is an upper bound on the plugin itself')


def peer_lv2(build, tmp):
    lv2dir = os.path.join(build, 'plugin')
    if not os.path.exists(os.path.join(lv2dir, 'cleave.lv2', 'manifest.ttl')):
        return dict(available=False, reason='LV2 bundle not built (lv2-dev missing or plugin/ disabled)')
    if not shutil.which('lv2bench'):
        return dict(available=False, reason='lv2bench (lilv-utils) not installed')
    cleave = os.path.join(build, 'host', 'cleave')
    r = run([PY, os.path.join(ROOT, 'tests', 'test_plugin.py'), 'bench', lv2dir, cleave,
             os.path.join(tmp, 'lv2')], timeout=1800)
    rows = []
    for line in r.stdout.splitlines():
        m = re.match(r'lv2bench (\S+) (offline|realtime) .*?:\s*(\S+).*-> ([0-9.]+)x real time', line)
        if m:
            rows.append(dict(separator=m.group(1), mode=m.group(2), seconds=float(m.group(3)),
                             x_real_time=float(m.group(4)), rtf=1.0 / float(m.group(4)), line=line))
    if not rows:
        return dict(available=False, reason=f'tests/test_plugin.py bench gave no lv2bench lines '
                    f'(exit {r.returncode}): {(r.stderr or r.stdout).strip()[-300:]}')
    return dict(available=True, rows=rows, setup='lv2bench -b 512, 2^19 frames at 48 kHz, '
                'separator and offline flag set through the port defaults (tests/test_plugin.py bench)')


# ---------------------------------------------------------------- quality


def quality(build, entries, outdir, threads, limit, offered=None):
    """offered: (name, op) pairs the timing run could create (others are not scored)."""
    cleave = os.path.join(build, 'host', 'cleave')
    seps = [e['name'] for e in entries if e['kind'] == 'separator']
    env = {'CLV_MODEL_DIR': model_dir()}
    res = {}
    fof = os.path.isdir('/usr/share/games/fretsonfire/data/songs')
    if fof and os.path.isdir(os.path.join(SHARED, 'pjs')):
        log('run_benchmarks: quality on stereo PJS-over-FoF mixtures (stereo_quality.py) ...')
        out = os.path.join(outdir, 'stereo_eval.json')
        r = run(['nice', '-n', '10', PY, os.path.join(HERE, 'stereo_quality.py'), '--cleave', cleave,
                 '--models', ','.join(seps), '--json', out], env=env, timeout=7200)
        res['stereo'] = 'ok' if r.returncode == 0 else f'failed: {r.stderr.strip()[-300:]}'
    else:
        res['stereo'] = 'skipped: needs fretsonfire-songs-* and ../shared/data/pjs'
    if os.path.isdir(os.path.join(SHARED, 'mir1k')):
        merged = dict(results={}, clips=None, protocol='MIR-1K devtest, eval_sep.py, 0 dB mixtures')
        jobs = [('ideal ratio mask', ['--irm'])]
        for s in seps:
            for op in OPS:
                if offered is not None and (s, op) not in offered:
                    continue
                jobs.append((f'{s} ({op})', ['--cleave', cleave, '--model', s, '--op', op]))
        for name, args in jobs:
            log(f'run_benchmarks: MIR-1K devtest: {name} ...')
            tj = os.path.join(outdir, '.mir1k_part.json')
            cmd = ['nice', '-n', '10', PY, os.path.join(TRAIN, 'eval_sep.py')] + args + [
                '--name', name, '--modes', '0db', '--json', tj, '--threads', str(threads)]
            if limit:
                cmd += ['--limit', str(limit)]
            r = run(cmd, env=env, timeout=7200)
            if r.returncode != 0 or not os.path.exists(tj):
                merged['results'][name] = dict(error=(r.stderr or r.stdout).strip()[-300:])
                continue
            with open(tj) as f:
                j = json.load(f)
            os.remove(tj)
            merged['results'].update(j['results'])
            merged['clips'] = j['clips']
        with open(os.path.join(outdir, 'mir1k_eval.json'), 'w') as f:
            json.dump(merged, f, indent=1)
        res['mir1k'] = 'ok'
    else:
        res['mir1k'] = 'skipped: ../shared/data/mir1k absent'
    for e in entries:
        if e['kind'] != 'tagger':
            continue
        log(f'run_benchmarks: tagging accuracy of {e["name"]} (eval_tag.py) ...')
        # fold-rotation runs of the tagger recipe (train on two us8k folds, test on the
        # third), for an accuracy estimate when the shipped model saw every fold here
        import glob
        rot = sorted(glob.glob(os.path.join(TRAIN, 'runs', 'tag_f[0-9][0-9]')))
        r = run(['nice', '-n', '10', PY, os.path.join(HERE, 'tag_quality.py'), e['file'],
                 os.path.join(outdir, 'tag_eval.json')] + (['--rotations'] + rot if rot else []), timeout=7200)
        res['tag'] = 'ok' if r.returncode == 0 else f'failed: {(r.stderr or r.stdout).strip()[-300:]}'
    return res


# ---------------------------------------------------------------- table


def fmt_us(s):
    return f'{s["median_us"]:.0f}/{s["p99_us"]:.0f}/{s["max_us"]:.0f}' if s else '-'


def print_table(res):
    m = res['machine']
    print(f'cleave benchmarks, {m["date"]}, commit {m["commit"]}, {m["cpu"]}, {m["cores"]} cores, '
          f'load average at start {m["load_avg_start"][0]:.1f}; 44.1 kHz stereo, one core')
    print()
    hdr = (f'{"separator":12s} {"op":11s} {"latency":>15s} {"RTF":>7s} {"hop":>5s} '
           f'{"worker us/hop med/p99/max":>26s} {"audio us/256-block":>20s} {"audio us/64-block":>18s} '
           f'{"peak MB":>8s} {"model KB":>9s} {"params":>9s}')
    print(hdr)
    print('-' * len(hdr))
    for r in res['separators']:
        mdl = r.get('model') or {}
        size = f'{mdl.get("file_bytes", 0) / 1024:.0f}' if mdl.get('file_bytes') else '-'
        params = f'{mdl.get("params", 0)}' if mdl.get('params') else '0'
        if not r.get('available'):
            print(f'{r["name"]:12s} {r["op"]:11s} unavailable: {r.get("reason", "")[:110]}')
            continue
        lat = f'{r["latency_frames"]} ({r["latency_ms"]:.1f} ms)'
        print(f'{r["name"]:12s} {r["op"]:11s} {lat:>15s} {r["rtf_one_core"]:7.4f} {r["hop"]:5d} '
              f'{fmt_us(r["hop_cpu"]):>26s} {fmt_us(r.get("block256")):>20s} {fmt_us(r.get("block64")):>18s} '
              f'{r["maxrss_kb"] / 1024:8.1f} {size:>9s} {params:>9s}')
    print('  (worker budget per hop: ' + ', '.join(
        f'{r["name"]} {r["op"]} {r["hop_budget_us"]:.0f} us' for r in res['separators'] if r.get('available'))
        + '; misses in the paced runs: ' + ', '.join(
        f'{r["name"]} {r["op"]} {r.get("block64_misses", "?")}/{r.get("block256_misses", "?")}'
        for r in res['separators'] if r.get('available')) + ')')
    for t in res['taggers']:
        if t.get('available'):
            print(f'tagger {t["name"]}: RTF {t["rtf_one_core"]:.4f} (one core, 44.1 kHz mono input), '
                  f'{t["step_us"]:.0f} us per {t["step_s"]:.1f} s step, peak {t["maxrss_kb"] / 1024:.1f} MB, '
                  f'model {t["model"].get("file_bytes", 0) / 1024:.0f} KB, {t["model"].get("params", 0)} params')
        else:
            print(f'tagger {t["name"]}: unavailable: {t.get("reason")}')
    print()
    print('Peers, same run, one thread each (ratio > 1: the peer is slower than cleave)')
    print(f'{"network":14s} {"C us/step":>10s} {"PyTorch":>10s} {"ORT":>10s} {"PyTorch/C":>10s} {"ORT/C":>7s}'
          f'   (wall-clock medians; CPU: C / PyTorch)')
    for p in res['peers']['networks']:
        if not p.get('available'):
            print(f'{p["name"]:14s} unavailable: {p.get("reason", "")}')
            continue
        ort = p.get('ort_us')
        ort_s = f'{ort:10.1f}' if ort else f'{"-":>10s}'
        ratio = f'{ort / p["c_us"]:7.2f}' if ort and p.get('c_us') else f'{"-":>7s}'
        tr = f'{p["torch_us"] / p["c_us"]:10.2f}' if p.get('c_us') else f'{"-":>10s}'
        c = f'{p["c_us"]:10.1f}' if p.get('c_us') else f'{"-":>10s}'
        cpu = (f'   CPU {p["c_cpu_us"]:.1f} / {p["torch_cpu_us"]:.1f}'
               if p.get('c_cpu_us') and p.get('torch_cpu_us') else '')
        print(f'{p["name"]:14s} {c} {p["torch_us"]:10.1f} {ort_s} {tr} {ratio}{cpu}')
        if p.get('note'):
            print(f'  note: {p["note"]}')
    swh = res['peers']['swh']
    if swh.get('available'):
        cen = [r for r in res['separators'] if r.get('available') and r['name'] == 'centre']
        ratio = ''.join(f'; centre ({r["op"]}) RTF / swh RTF = {r["rtf_one_core"] / swh["rtf"]:.2f}'
                        for r in cen if swh['rtf'] > 0)
        print(f'swh Karaoke 1409 (applyplugin): RTF {swh["rtf"]:.4f} ({swh["cpu_s"]:.2f} CPU s for '
              f'{swh["audio_seconds"]:.0f} s, incl. WAV I/O){ratio}')
    else:
        print(f'swh Karaoke 1409: unavailable: {swh.get("reason")}')
    lv2 = res['peers']['lv2']
    if lv2.get('available'):
        for r in lv2['rows']:
            print(f'LV2 cleave.lv2 via lv2bench: {r["separator"]} {r["mode"]}: {r["x_real_time"]:.1f}x real '
                  f'time (RTF {r["rtf"]:.4f}, 48 kHz, block 512)')
    else:
        print(f'LV2 cleave.lv2 via lv2bench: skipped: {lv2.get("reason")}')


# ---------------------------------------------------------------- selftest


def selftest(bench):
    fails = []

    def check(c, msg):
        if not c:
            fails.append(msg)
            print('FAIL:', msg)

    entries = registry(bench)
    check(any(e['name'] == 'centre' and e['kind'] == 'separator' for e in entries),
          f'registry list lacks the built-in centre separator: {entries}')
    with tempfile.TemporaryDirectory() as tmp:
        r = run([bench, '--sep', 'centre', '--op', 'quality', '--seconds', '2', '--dump', tmp])
        check(r.returncode == 0, f'bench_sep --sep centre failed: {r.stderr}')
        j = json_out(r, 'bench_sep')
        check(j.get('available') is True, f'centre unavailable: {j}')
        if j.get('available'):
            h = j['hop_cpu']
            check(0 < h['median_us'] <= h['p99_us'] <= h['max_us'], f'hop stats out of order: {h}')
            check(h['n'] == int(2 * 44100 / j['hop']), f'hop count {h["n"]} for 2 s at hop {j["hop"]}')
            check(j['latency_frames'] >= 0 and abs(j['latency_ms'] - 1000 * j['latency_frames'] / 44100) < 1e-2,
                  'latency ms does not match frames')
            check(j['rtf_one_core'] > 0 and j['rtf_one_core'] * 2.0 * 1e6 >= h['median_us'],
                  f'RTF {j["rtf_one_core"]} inconsistent with per-hop times')
            check(j.get('engine_latency_frames', -1) >= j['latency_frames'],
                  'engine latency below the separator latency')
            for b in ('block64', 'block256'):
                s = j.get(b)
                check(s and s['n'] > 0 and s['median_us'] <= s['max_us'], f'{b} stats missing or bad: {s}')
            check(j['maxrss_kb'] >= j['maxrss_before_kb'] > 0, 'maxrss not reported')
            hist = histogram(os.path.join(tmp, 'centre_quality_hop_cpu.txt'))
            check(hist is not None and hist['n'] == h['n'] and sum(hist['counts']) == h['n'],
                  'per-hop dump does not match the statistics')
        r = run([bench, '--sep', 'no-such-separator', '--op', 'quality', '--seconds', '1'])
        j = json_out(r, 'bench_sep')
        check(r.returncode == 1 and j.get('available') is False and 'no-such-separator' in j.get('reason', ''),
              f'unknown separator not reported as unavailable with a reason: {r.stdout}')
        tag = [e for e in entries if e['kind'] == 'tagger' and e['file'] and os.path.exists(e['file'])]
        for e in tag:
            j = json_out(run([bench, '--clvm-info', e['file']]), 'clvm-info')
            check(j.get('available') and j['params'] > 0 and j['file_bytes'] > 4 * j['params'] - 2 * j['f16_params'],
                  f'clvm-info of {e["file"]} inconsistent: {j}')
    print('selftest:', 'FAILED' if fails else 'ok')
    return 1 if fails else 0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--build', default=os.path.join(ROOT, 'build'), help='meson build directory')
    ap.add_argument('--out', default=os.path.join(ROOT, 'docs', 'results', 'bench.json'))
    ap.add_argument('--seconds', type=float, default=20.0, help='audio per separator measurement')
    ap.add_argument('--core', type=int, default=0, help='CPU to pin measurements to (-1: no pinning)')
    ap.add_argument('--no-peers', action='store_true')
    ap.add_argument('--no-quality', action='store_true', help='timing only (quality JSON left as it is)')
    ap.add_argument('--mir1k-limit', type=int, default=0, help='first N MIR-1K clips (quick checks)')
    ap.add_argument('--fifo', action='store_true',
                    help='timing processes at SCHED_FIFO priority (chrt -f 10) on the pinned core, so that '
                         'other jobs of a shared machine do not inflate wall-clock figures (ignored with a '
                         'message where not permitted)')
    ap.add_argument('--selftest', action='store_true')
    a = ap.parse_args()
    if a.fifo:
        if shutil.which('chrt') and run(['chrt', '-f', '10', 'true']).returncode == 0:
            FIFO[:] = ['chrt', '-f', '10']
        else:
            log('run_benchmarks: --fifo: SCHED_FIFO not permitted here (needs root or CAP_SYS_NICE); '
                'timing at normal priority')
            a.fifo = False
    a.build = os.path.abspath(a.build)
    bench = os.path.join(a.build, 'tests', 'bench', 'bench_sep')
    if not os.path.exists(bench):
        sys.exit(f'run_benchmarks: {bench} not built (ninja -C {a.build})')
    if a.selftest:
        return selftest(bench)
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    entries = registry(bench)
    res = dict(machine=machine(), registry=[dict(e, file=os.path.relpath(e['file'], ROOT) if e['file'] else None)
                                            for e in entries],
               setup=dict(rate=44100, channels=2, seconds=a.seconds, core=a.core, fifo=a.fifo))
    with tempfile.TemporaryDirectory(prefix='clv_bench_') as tmp:
        res['separators'] = bench_separators(bench, entries, a.seconds, a.core, tmp)
        res['taggers'] = bench_taggers(bench, entries, max(a.seconds, 30.0), a.core)
        res['peers'] = dict(networks=[], swh=dict(available=False, reason='--no-peers'),
                            lv2=dict(available=False, reason='--no-peers'))
        if not a.no_peers:
            res['peers']['networks'] = peers_networks(bench, res['separators'], res['taggers'], a.core, tmp)
            res['peers']['swh'] = peer_swh(a.core, tmp, 300.0)
            log('run_benchmarks: lv2bench ...')
            res['peers']['lv2'] = peer_lv2(a.build, tmp)
    res['machine']['load_avg_end'] = list(os.getloadavg())
    with open(a.out + '.tmp', 'w') as f:
        json.dump(res, f, indent=1)
    os.replace(a.out + '.tmp', a.out)
    print_table(res)
    print(f'\nwrote {os.path.relpath(a.out)}')
    if not a.no_quality:
        offered = {(r['name'], r['op']) for r in res['separators'] if r.get('available')}
        q = quality(a.build, entries, os.path.dirname(os.path.abspath(a.out)), 1, a.mir1k_limit, offered)
        res['quality_runs'] = q
        with open(a.out + '.tmp', 'w') as f:
            json.dump(res, f, indent=1)
        os.replace(a.out + '.tmp', a.out)
        print('quality: ' + ', '.join(f'{k} {v}' for k, v in q.items()))
    return 0


if __name__ == '__main__':
    sys.exit(main())
