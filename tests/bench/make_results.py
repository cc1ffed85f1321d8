#!/usr/bin/python3
# SPDX-License-Identifier: ISC
"""Regenerates docs/RESULTS.md, its pictures and the README's results table from the
JSON files that tests/bench/run_benchmarks.py writes (nothing is typed by hand).

    /usr/bin/python3 tests/bench/make_results.py --build build

Reads docs/results/: bench.json (timing, peers), stereo_eval.json (quality on
44.1 kHz stereo mixtures, swh Karaoke baseline), mir1k_eval.json (MIR-1K devtest
GNSDR), tag_eval.json (tagging accuracy), centre_eval.json (the lead's centre vs
mid/side table, shown when stereo_eval.json is missing). Missing files leave
their section saying how to make them.
Writes docs/results/*.png (python3-matplotlib):
  spectrograms.png     a PJS-over-Frets-on-Fire mixture, its true stems and each
                       separator's two estimated stems (needs --build: runs
                       `cleave separate`; kept from the last run otherwise)
  timing_hist.png      per-hop worker CPU time and audio-thread time per block
  latency_quality.png  latency against quality for each separator and operating point
and docs/RESULTS.md, and rewrites the README between the markers
<!-- results:begin --> and <!-- results:end --> (nothing else in it).
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, '..', '..'))
RES = os.path.join(ROOT, 'docs', 'results')
BEGIN, END = '<!-- results:begin -->', '<!-- results:end -->'


def load(name):
    p = os.path.join(RES, name)
    if not os.path.exists(p):
        return None
    with open(p) as f:
        return json.load(f)


def f1(x, nd=1):
    return '–' if x is None else f'{x:.{nd}f}'


def db(x):
    return '–' if x is None else f'{x:.2f} dB'


def reason(r):
    """A separator's refusal without the absolute path of the model file."""
    import re
    t = (r.get('reason') or '').replace(ROOT + '/', '')
    return re.sub(r'^\S+\.clvm: ', '', t)


def key(r):
    return f'{r["name"]} ({r["op"]})'


# ------------------------------------------------------------------ pictures


def plt_setup():
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    plt.rcParams.update({'font.size': 8, 'figure.dpi': 110})
    return plt


def save_small(fig, out, dpi):
    """PNG with a 64-colour palette when PIL is there (spectrograms are noise-like and
    compress badly in RGBA): keeps the committed picture small."""
    try:
        import io
        from PIL import Image
    except ImportError:
        fig.savefig(out, dpi=dpi)
        return
    buf = io.BytesIO()
    fig.savefig(buf, dpi=dpi, format='png')
    buf.seek(0)
    im = Image.open(buf).convert('RGB').convert('P', palette=Image.ADAPTIVE, colors=64)
    im.save(out, optimize=True)


def spectrograms(build, bench, out):
    """One stereo mixture, its true stems and every available separator's stems."""
    sys.path.insert(0, os.path.join(ROOT, 'models', 'train'))
    try:
        import eval_centre as ec
        import soundfile as sf
    except (ImportError, SystemExit) as e:
        return f'skipped ({e})'
    cleave = os.path.join(build, 'host', 'cleave')
    seps = [r for r in bench['separators'] if r.get('available') and r['op'] == 'quality']
    with tempfile.TemporaryDirectory(prefix='clv_spec_') as tmp:
        try:
            items = ec.build_mixtures(tmp, 8.0, 40.0, 50)
        except SystemExit as e:
            return f'skipped ({e})'
        it = items[0]
        grid = [[('mixture', it['mix']), None], [('true vocals', it['voc']), ('true accompaniment', it['acc'])]]
        for r in seps:
            od = os.path.join(tmp, 'out_' + r['name'])
            p = subprocess.run([cleave, 'separate', it['path'], '-o', od, '--model', r['name']],
                               capture_output=True, text=True,
                               env=dict(os.environ, CLV_MODEL_DIR=os.path.join(ROOT, 'models')))
            if p.returncode != 0:
                continue
            grid.append([(f'{r["name"]}: estimated vocals', sf.read(os.path.join(od, 'vocals.wav'), always_2d=True)[0]),
                         (f'{r["name"]}: estimated accompaniment',
                          sf.read(os.path.join(od, 'accompaniment.wav'), always_2d=True)[0])])
    plt = plt_setup()
    from scipy.signal import stft
    fig, axes = plt.subplots(len(grid), 2, figsize=(10, 1.9 * len(grid)), sharex=True, sharey=True,
                             squeeze=False)
    for i, row in enumerate(grid):
        for j, cell in enumerate(row):
            ax = axes[i, j]
            if cell is None:
                ax.axis('off')
                continue
            title, x = cell
            mono = np.asarray(x, np.float64).mean(axis=1)
            f, t, Z = stft(mono, fs=44100, nperseg=2048, noverlap=1024)
            keep = f <= 8000
            S = 20 * np.log10(np.abs(Z[keep]) + 1e-6)
            # an image, not a mesh: a few hundred KB of PNG instead of megabytes
            ax.imshow(S, origin='lower', aspect='auto', cmap='magma', vmin=-100, vmax=-20,
                      extent=(t[0], t[-1], 0, f[keep][-1] / 1000), interpolation='nearest')
            ax.set_title(title)
            ax.set_ylabel('kHz')
    for ax in axes[-1]:
        ax.set_xlabel('s')
    fig.suptitle(f'{it["name"]} (Frets on Fire) with a PJS voice, 44.1 kHz stereo (mid shown); '
                 'separators at their quality operating point', fontsize=9)
    fig.tight_layout()
    save_small(fig, out, dpi=80)
    plt.close(fig)
    return 'ok'


def timing_hist(bench, out):
    plt = plt_setup()
    rows = [r for r in bench['separators'] if r.get('available') and r.get('hist')]
    if not rows:
        return 'no timing data'
    fig, axes = plt.subplots(len(rows), 2, figsize=(10, 1.8 * len(rows) + 0.6), squeeze=False)
    for i, r in enumerate(rows):
        for j, (k, what, budget) in enumerate([
                ('hop_cpu', f'worker: process() CPU time per {r["hop"]}-frame hop', r['hop_budget_us']),
                ('block256', 'audio thread: clv_engine_process() per 256-frame block', 1e6 * 256 / 44100)]):
            ax = axes[i, j]
            h = r['hist'].get(k)
            if not h:
                ax.axis('off')
                continue
            e = np.array(h['edges_us'])
            ax.bar(e[:-1], h['counts'], width=np.diff(e), align='edge', color='C0' if j == 0 else 'C1')
            ax.set_xscale('log')
            ax.set_yscale('log')
            ax.axvline(budget, color='r', lw=1)
            ax.text(budget, ax.get_ylim()[1] * 0.5, ' real-time budget', color='r', fontsize=7, va='top')
            st = r[k]
            ax.set_title(f'{key(r)}: {what}\nmedian {st["median_us"]:.0f} us, p99 {st["p99_us"]:.0f} us, '
                         f'max {st["max_us"]:.0f} us', fontsize=7)
            ax.set_ylabel('count')
            ax.set_xlabel('microseconds')
    fig.tight_layout()
    fig.savefig(out)
    plt.close(fig)
    return 'ok'


def latency_quality(bench, stereo, mir, out):
    plt = plt_setup()
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    seps = [r for r in bench['separators'] if r.get('available')]
    lats = [r['latency_ms'] for r in seps] or [10.0]
    xlim = (min(lats) / 1.6, max(lats) * 1.8)
    for ax, src, title, get in [
            (axes[0], stereo, 'PJS over Frets on Fire, 44.1 kHz stereo: vocals SDR (dB)',
             lambda d, k: d['summary'][k]['sdr'][0] if k in d.get('summary', {}) else None),
            (axes[1], mir, 'MIR-1K devtest, 0 dB mixtures: voice GNSDR (dB)',
             lambda d, k: d['results'][k]['0db']['voice']['GNSDR']
             if '0db' in d.get('results', {}).get(k, {}) else None)]:
        ax.set_title(title)
        ax.set_xlabel('algorithmic latency (ms, 44.1 kHz)')
        ax.set_xscale('log')
        ax.set_xlim(*xlim)
        tr = ax.get_yaxis_transform()  # x in axes fraction, y in data
        ticks = [t for t in (5, 10, 20, 50, 100, 200, 500, 1000, 2000) if xlim[0] <= t <= xlim[1]]
        ax.set_xticks(ticks)
        ax.set_xticklabels([str(t) for t in ticks])
        ax.minorticks_off()
        if not src:
            ax.text(0.5, 0.5, 'not measured', ha='center', transform=ax.transAxes)
            continue
        for i, r in enumerate(seps):
            q = get(src, key(r))
            if q is None:
                continue
            ax.scatter([r['latency_ms']], [q], color=f'C{i}', s=30, zorder=3)
            ax.annotate(key(r), (r['latency_ms'], q), textcoords='offset points',
                        xytext=(5, 5 if r['op'] == 'quality' else -10), fontsize=7)
        if src is stereo:
            for k, lab in [('swh Karaoke 1409 (mid/side)', 'swh Karaoke (LADSPA)')]:
                q = get(src, k)
                if q is not None:
                    ax.axhline(q, color='gray', ls='--', lw=1)
                    ax.text(0.01, q, f' {lab}, 0 ms: {q:.1f} dB', fontsize=7, va='bottom', transform=tr)
        else:
            q = get(src, 'ideal ratio mask')
            if q is not None:
                ax.axhline(q, color='gray', ls='--', lw=1)
                ax.text(0.01, q, f' ideal ratio mask (ceiling): {q:.1f} dB', fontsize=7, va='top', transform=tr)
            ax.axhline(8.2, color='r', ls=':', lw=1)
            ax.text(0.01, 8.2, ' FIELD.md floor (GRU mask): 8.2 dB', fontsize=7, va='bottom',
                    color='r', transform=tr)
        ax.grid(alpha=0.3, which='both')
    fig.tight_layout()
    fig.savefig(out)
    plt.close(fig)
    return 'ok'


# ------------------------------------------------------------------ text


def summary_table(bench, stereo, mir):
    lines = ['| separator | op | latency | RTF (1 core) | worker p99 / hop budget | peak memory | model | '
             'vocals SDR, stereo mixtures | voice GNSDR, MIR-1K |',
             '|---|---|---|---|---|---|---|---|---|']
    for r in bench['separators']:
        if not r.get('available'):
            lines.append(f'| {r["name"]} | {r["op"]} | not offered: {reason(r)} | | | | | | |')
            continue
        k = key(r)
        sq = stereo['summary'][k]['sdr'][0] if stereo and k in stereo.get('summary', {}) else None
        mq = None
        if mir and '0db' in mir.get('results', {}).get(k, {}):
            mq = mir['results'][k]['0db']['voice']['GNSDR']
        m = r['model']
        model = (f'{m["file_bytes"] / 1e6:.1f} MB, {m["params"] / 1e6:.2f} M params' if m.get('file_bytes')
                 else 'no weights (DSP)')
        lines.append(f'| {r["name"]} | {r["op"]} | {r["latency_ms"]:.1f} ms | {r["rtf_one_core"]:.4f} | '
                     f'{r["hop_cpu"]["p99_us"] / 1000:.2f} / {r["hop_budget_us"] / 1000:.1f} ms | '
                     f'{r["maxrss_kb"] / 1024:.0f} MB | {model} | {db(sq)} | {db(mq)} |')
    if stereo and 'swh Karaoke 1409 (mid/side)' in stereo.get('summary', {}):
        swh = bench['peers'].get('swh', {})
        rtf = f'{swh["rtf"]:.4f} (applyplugin, with WAV I/O)' if swh.get('available') else '–'
        lines.append(f'| swh Karaoke (LADSPA 1409), baseline | – | 0 ms | {rtf} | – | – | no weights (DSP) | '
                     f'{stereo["summary"]["swh Karaoke 1409 (mid/side)"]["sdr"][0]:.2f} dB | – |')
    return '\n'.join(lines)


def timing_table(bench):
    lines = ['| separator | op | latency (frames / ms) | hop | RTF, 1 core (CPU) | RTF, wall | worker CPU per hop '
             'median / p99 / max (us) | audio thread per 64-frame block (us) | per 256-frame block (us) | '
             'misses 64 / 256 | engine RTF, all threads | peak RSS (before) | model file | params |',
             '|' + '---|' * 14]
    for r in bench['separators']:
        if not r.get('available'):
            lines.append(f'| {r["name"]} | {r["op"]} | unavailable: {reason(r)} |' + ' |' * 11)
            continue
        m = r['model']
        size = f' ({m["file_bytes"] / 1024:.0f} KiB)' if m.get('file_bytes') else ''

        def s3(s):
            return f'{s["median_us"]:.1f} / {s["p99_us"]:.1f} / {s["max_us"]:.1f}' if s else '–'
        lines.append(
            f'| {r["name"]} | {r["op"]} | {r["latency_frames"]} / {r["latency_ms"]:.1f} | {r["hop"]} | '
            f'{r["rtf_one_core"]:.4f} | {r["rtf_one_core_wall"]:.4f} | {s3(r["hop_cpu"])} | {s3(r.get("block64"))} | '
            f'{s3(r.get("block256"))} | {r.get("block64_misses", "–")} / {r.get("block256_misses", "–")} | '
            f'{r.get("rtf_engine_offline_all_threads", 0):.4f} | {r["maxrss_kb"] / 1024:.1f} MB '
            f'({r["maxrss_before_kb"] / 1024:.1f}) | '
            f'{(m.get("file") or "built in")}{size} | '
            f'{m.get("params", 0):,} |')
    return '\n'.join(lines)


def miss_notes(bench):
    """Explains the misses of the paced runs from the measured figures."""
    out = []
    secs = min(bench.get('setup', {}).get('seconds', 6.0), 6.0)
    for r in bench['separators']:
        if not r.get('available'):
            continue
        for b in (64, 256):
            miss = r.get(f'block{b}_misses')
            elat = r.get(f'block{b}_engine_latency_frames')
            if not miss or elat is None:
                continue
            hops = int(secs * 44100 / r['hop'])
            spare = elat - r['latency_frames'] - r['hop']
            out.append(f'- {key(r)}, {b}-frame blocks: {miss} of about {hops} hops missed. The engine\'s headroom '
                       f'at that block size is {elat - r["latency_frames"]} frames, {r["hop"]} of which are the hop '
                       f'itself, so the worker has {spare} frames = {1000 * spare / 44100:.2f} ms to deliver a hop; '
                       f'its process() took up to {r["hop_cpu"]["max_us"] / 1000:.2f} ms '
                       f'(p99 {r["hop_cpu"]["p99_us"] / 1000:.2f} ms) of CPU, ' + (
                           'more than that: hops that burst miss even on an idle core; hosts give more headroom '
                           'with a larger nominal block (LV2 `nominalBlockLength`, `cleave live --headroom`).'
                           if r['hop_cpu']['max_us'] * 1e-6 * 44100 > spare else
                           'less than that: these misses are the worker thread not being scheduled in time '
                           '(other processes on the core).'))
    if not out:
        return ''
    return '**Misses in the paced runs, explained by the figures above:**\n\n' + '\n'.join(out)


def peers_table(bench):
    p = bench['peers']
    lines = ['| network (shipped weights) | step | C (us) | PyTorch (us) | ONNX Runtime (us) | PyTorch / C | '
             'ORT / C | CPU time: C / PyTorch (us) | outputs |', '|' + '---|' * 9]
    for n in p.get('networks', []):
        if not n.get('available'):
            lines.append(f'| {n["name"]} | unavailable: {n.get("reason", n.get("note", ""))} |' + ' |' * 7)
            continue
        c, t, o = n.get('c_us'), n.get('torch_us'), n.get('ort_us')
        lines.append(f'| {n["name"]} ({n.get("arch", "")}, {n.get("params", 0):,} params) | {n.get("step", "")} | '
                     f'{f1(c)} | {f1(t)} | {f1(o)} | {f1(t / c if c and t else None, 2)} | '
                     f'{f1(o / c if c and o else None, 2)} | {f1(n.get("c_cpu_us"))} / {f1(n.get("torch_cpu_us"))} | '
                     f'{"agree" if n.get("ok") else "MISMATCH: " + n.get("note", "")} |')
    return '\n'.join(lines)


def stereo_table(stereo):
    lines = ['| method | vocals SDR | vocals SIR | vocals SAR | accomp. SDR | accomp. SIR | accomp. SAR |',
             '|---|---|---|---|---|---|---|']
    for k, m in stereo['summary'].items():
        lines.append(f'| {k} | {m["sdr"][0]:.2f} | {m["sir"][0]:.2f} | {m["sar"][0]:.2f} | '
                     f'{m["sdr"][1]:.2f} | {m["sir"][1]:.2f} | {m["sar"][1]:.2f} |')
    for k, why in (stereo.get('unavailable') or {}).items():
        lines.append(f'| {k} | not offered ({why}) | | | | | |')
    return '\n'.join(lines)


def mir_table(mir):
    lines = ['| system | voice GNSDR | voice GSIR | voice GSAR | accomp. GNSDR | accomp. GSIR | accomp. GSAR |',
             '|---|---|---|---|---|---|---|']
    for name, modes in mir['results'].items():
        if 'error' in modes:
            lines.append(f'| {name} | not measured: {modes["error"][-120:]} | | | | | |')
            continue
        for mode, r in modes.items():
            v, a = r['voice'], r['accompaniment']
            lines.append(f'| {name} | {v["GNSDR"]:.2f} | {v["GSIR"]:.2f} | {v["GSAR"]:.2f} | '
                         f'{a["GNSDR"]:.2f} | {a["GSIR"]:.2f} | {a["GSAR"]:.2f} |')
    return '\n'.join(lines)


def tag_tables(tag):
    acc = tag.get('us8k_acc', {})
    names = {'clip': 'network on the whole clip', 'stream-wmean': 'rolling, window-weighted mean (what `cleave tag` prints)',
             'stream-mean': 'rolling, mean of steps', 'stream-max': 'rolling, max of steps'}
    folds = tag.get('model_meta', {}).get('train_folds')
    out = []
    if acc:
        out += [f'UrbanSound8K fold {tag.get("test_fold")} (held out; {tag.get("us8k_n")} clips), 10-class accuracy '
                f'of the shipped weights (`{tag.get("model_file")}`, trained on folds {folds}):', '',
                '| summary | accuracy |', '|---|---|']
        for k, v in acc.items():
            out.append(f'| {names.get(k, k)} | {100 * v:.1f} % |')
    else:
        out.append(f'The shipped weights (`{tag.get("model_file")}`) were trained on UrbanSound8K folds {folds}, every '
                   'fold in ../shared/data, so none is left to measure their 10-class accuracy on (the project\'s '
                   'judges hold another fold).')
    rot = [r for r in tag.get('rotations', []) if r.get('us8k_acc')]
    if rot:
        out += ['', 'Accuracy of the same network trained on two folds and tested on the third (fold-rotation runs '
                'of the tagger recipe, `' + '`, `'.join(r['run'] for r in rot) + '`; each re-evaluated by '
                '`eval_tag.py` in this run):', '',
                '| trained on | tested on | clips | whole clip | rolling (`cleave tag` summary) |',
                '|---|---|---|---|---|']
        for r in rot:
            out.append(f'| {"+".join(str(f) for f in r["train_folds"])} | {r["test_fold"]} | {r["us8k_n"]} | '
                       f'{100 * r["us8k_acc"]["clip"]:.1f} % | {100 * r["us8k_acc"].get("stream-wmean", 0):.1f} % |')
        out.append(f'| mean of {len(rot)} | | | {100 * np.mean([r["us8k_acc"]["clip"] for r in rot]):.1f} % | '
                   f'{100 * np.mean([r["us8k_acc"].get("stream-wmean", 0) for r in rot]):.1f} % |')
    out += ['', 'Speech / singing / music detection and onset delay of the shipped weights on held-out clips '
            '(MIR-1K devtest, held-out PJS and TSP speakers):']
    det = tag.get('detection', {})
    if det:
        out += ['', '| label | detection rate | false alarm rate | windows (pos / neg) |', '|---|---|---|---|']
        for k, d in det.items():
            out.append(f'| {k} | {100 * d["detection_rate"]:.1f} % | {100 * d["false_alarm_rate"]:.1f} % | '
                       f'{d["windows_pos"]} / {d["windows_neg"]} |')
    dl = tag.get('delay', {})
    if dl:
        out += ['', '| label | onset-to-tag delay, median | p90 | tagged within 4 s |', '|---|---|---|---|']
        for k, d in dl.items():
            out.append(f'| {k} | {f1(d.get("median_s"), 2)} s | {f1(d.get("p90_s"), 2)} s | '
                       f'{100 * d.get("tagged_within_4s", 0):.0f} % |')
    return '\n'.join(out)


def machine_text(b):
    m = b['machine']
    la = m.get('load_avg_start', [0])[0]
    le = m.get('load_avg_end', [0])[0] if m.get('load_avg_end') else None
    mod = ' (working tree had uncommitted changes)' if m.get('tree_modified') else ''
    s = (f'{m.get("cpu", "?")}, {m.get("cores")} cores, Linux {m.get("kernel")}; measured {m.get("date")} at '
         f'commit `{m.get("commit")}`{mod}. Load average {la:.1f} at the start'
         + (f' and {le:.1f} at the end' if le is not None else '') + ' of the timing run.')
    if la > 0.75 * (m.get('cores') or 1):
        s += (' **The machine was shared and loaded** (other jobs compiling and training): CPU-time figures '
              '(RTF, worker time per hop) are robust to that, wall-clock figures (step times of the peers, '
              'audio-thread maxima, misses) are pessimistic.')
    if b.get('setup', {}).get('fifo'):
        s += ' Timing processes ran at SCHED_FIFO priority on the pinned core (--fifo).'
    return s


def results_md(bench, stereo, mir, tag, centre_eval, pics):
    L = []
    L.append('<!-- SPDX-License-Identifier: ISC -->')
    L.append('<!-- Generated by tests/bench/make_results.py from docs/results/*.json: do not edit by hand. -->')
    L.append('# cleave: results\n')
    L.append('Everything on this page is regenerated by two commands (the first measures, the second '
             'writes this page and its pictures):\n')
    L.append('```sh\nmeson test -C build --benchmark bench_all        # = /usr/bin/python3 '
             'tests/bench/run_benchmarks.py --build build\n'
             '/usr/bin/python3 tests/bench/make_results.py --build build\n```\n')
    L.append(f'**Machine.** {machine_text(bench)}\n')
    L.append('## What each separator costs and delivers\n')
    L.append(summary_table(bench, stereo, mir) + '\n')
    L.append('Latency is the separator\'s algorithmic delay at 44.1 kHz (the engine adds its hop and the '
             'worker headroom, see the timing table). RTF = CPU seconds per second of 44.1 kHz stereo audio on one '
             'core (lower is cheaper; 0.01 = 1 % of a core). Quality: BSS Eval SDR of the vocal stem on the '
             'stereo PJS-over-Frets-on-Fire mixtures, and voice GNSDR on MIR-1K devtest at 0 dB '
             '(mono, 16 kHz).\n')
    if pics.get('latency_quality') in ('ok', 'kept'):
        L.append('![latency against quality](results/latency_quality.png)\n')
    L.append('## Timing, 44.1 kHz stereo, one core\n')
    L.append('Each separator and operating point runs in a process of its own pinned to one core '
             f'(`taskset -c {bench.get("setup", {}).get("core", 0)}`), on '
             f'{bench.get("setup", {}).get("seconds", 0):.0f} s of synthetic stereo audio per measurement '
             '(cost does not depend on content). Worker time: the separator\'s `process()` called directly '
             'at its hop (what the engine\'s worker thread does), thread CPU time. Audio thread: '
             '`clv_engine_process()` in realtime mode, paced at real time, wall clock with the thread at '
             'SCHED_FIFO (as JACK runs it) when allowed. Misses: hops the worker delivered late in those paced '
             'runs (the dry input went to the accompaniment). Peak RSS: the peak resident set (VmHWM) of that '
             'whole process at the end, engine and test buffers included (before creating the separator in '
             'brackets; `getrusage` is not used because Linux carries its maximum across `exec` from the '
             'Python driver). Params: elements of the '
             'model file\'s tensors.\n')
    L.append(timing_table(bench) + '\n')
    notes = miss_notes(bench)
    if notes:
        L.append(notes + '\n')
    if pics.get('timing_hist') in ('ok', 'kept'):
        L.append('![per-hop and per-block timing](results/timing_hist.png)\n')
    for t in bench.get('taggers', []):
        if t.get('available'):
            L.append(f'**Tagger** (`{t["model"].get("file")}`, {t["model"].get("params", 0):,} params, '
                     f'{t["model"].get("file_bytes", 0) / 1024:.0f} KiB, {t.get("macs_per_step", 0) / 1e6:.1f} M '
                     f'multiply-adds per step): RTF **{t["rtf_one_core"]:.4f}** on one core fed 44.1 kHz mono '
                     f'(resampling, log-mel and a {t["window_s"]:.0f} s CNN window every {t["step_s"]:.1f} s), '
                     f'{t["step_us"]:.0f} us CPU per step, peak RSS {t["maxrss_kb"] / 1024:.1f} MB.\n')
        else:
            L.append(f'**Tagger**: unavailable ({t.get("reason")}).\n')
    L.append('## Against peers (same run, same core, one thread each)\n')
    L.append('The same networks, with the weights read from the shipped `.clvm` files, as one streaming step in '
             'cleave\'s C kernels, in PyTorch (Debian python3-torch, eager, `torch.set_num_threads(1)`) and in '
             'ONNX Runtime (npm onnxruntime-node, `intraOpNumThreads: 1`, exported with `torch.onnx.export`). '
             'Wall-clock medians of 7 repetitions of at least 20 ms of steps (tests/bench_peers.py\'s timers and '
             'tests/peers/ort_step.js); ratios above 1 mean the peer is slower. The first outputs of the three '
             'are compared.\n')
    L.append(peers_table(bench) + '\n')
    swh = bench['peers'].get('swh', {})
    if swh.get('available'):
        cen = [r for r in bench['separators'] if r.get('available') and r['name'] == 'centre']
        ratios = ', '.join(f'centre ({r["op"]}) costs {r["rtf_one_core"] / swh["rtf"]:.1f}x as much'
                           for r in cen if swh['rtf'] > 0)
        L.append(f'**swh-plugins Karaoke** (LADSPA 1409, the classic real-time mid/side karaoke, run with '
                 f'`applyplugin`): RTF {swh["rtf"]:.4f} ({swh["cpu_s"]:.2f} CPU s for {swh["audio_seconds"]:.0f} s '
                 f'of 44.1 kHz stereo, including reading and writing the WAV files); {ratios}. Its quality is '
                 f'the baseline row of the stereo table below.\n')
    else:
        L.append(f'**swh-plugins Karaoke**: not measured ({swh.get("reason")}).\n')
    lv2 = bench['peers'].get('lv2', {})
    if lv2.get('available'):
        L.append(f'**cleave.lv2 through `lv2bench`** ({lv2.get("setup")}):\n')
        L.append('| separator | mode | lv2bench seconds | x real time | RTF |\n|---|---|---|---|---|')
        for r in lv2['rows']:
            mode = ('offline (run() waits for the separator: whole cost)' if r['mode'] == 'offline'
                    else 'realtime (run() on the audio thread only; separation on the worker)')
            L.append(f'| {r["separator"]} | {mode} | {r["seconds"]:.3f} | {r["x_real_time"]:.1f} | {r["rtf"]:.4f} |')
        L.append('')
    else:
        L.append(f'**cleave.lv2 through lv2bench**: skipped ({lv2.get("reason")}).\n')
    L.append('## Separation quality\n')
    if stereo:
        L.append(f'### Full-band stereo mixtures, 44.1 kHz ({stereo.get("songs", "?")} songs, '
                 f'{stereo.get("seconds", 0):.0f} s excerpts)\n')
        L.append('PJS voices panned to the centre over Frets on Fire band recordings (Debian packages), the '
                 'mixtures and BSS Eval scoring of `models/train/eval_centre.py`, every separator and operating '
                 'point (`tests/bench/stereo_quality.py`). Mean SDR/SIR/SAR in dB.\n')
        L.append(stereo_table(stereo) + '\n')
    elif centre_eval:
        L.append('### Full-band stereo mixtures (centre only, docs/results/centre_eval.json)\n')
        L.append(stereo_table(centre_eval) + '\n')
    else:
        L.append('Stereo quality not measured (needs fretsonfire-songs-* and ../shared/data/pjs).\n')
    if mir:
        L.append(f'### MIR-1K devtest ({mir.get("clips")} clips, 0 dB mixtures, mono 16 kHz)\n')
        L.append('`models/train/eval_sep.py` through `cleave separate` (the shipped C path); GNSDR = '
                 'length-weighted SDR improvement over the mixture, dB. The ideal ratio mask at STFT 1024/256 is '
                 'the ceiling of mask models; FIELD.md\'s floor for a shipped separator is 8.2 dB voice GNSDR. '
                 'MIR-1K mixtures are mono, so the centre separator (which needs stereo) only band-limits '
                 'there.\n')
        L.append(mir_table(mir) + '\n')
    else:
        L.append('MIR-1K quality not measured (needs ../shared/data/mir1k).\n')
    L.append('## Tagging\n')
    if tag:
        L.append('`models/train/eval_tag.py` on the shipped tagger\'s weights (`tests/bench/tag_quality.py` '
                 'rebuilds the PyTorch network from the `.clvm` and checks it against the stored weights).\n')
        L.append(tag_tables(tag) + '\n')
    else:
        L.append('Not measured (needs models/train/runs/tag_cache.pkl or ../shared/data/us8k).\n')
    L.append('## Pictures\n')
    if pics.get('spectrograms') in ('ok', 'kept'):
        L.append('![spectrograms: mixture, true stems, estimated stems](results/spectrograms.png)\n')
    else:
        L.append(f'Spectrograms: {pics.get("spectrograms")}.\n')
    L.append('## Caveats\n')
    L.append('- Figures come from one machine and one run; the peers\' wall-clock step times move with the load of '
             'a shared machine (their CPU-time columns much less).\n'
             '- swh Karaoke\'s cost includes `applyplugin`\'s WAV reading and writing; cleave\'s RTF does not include '
             'file I/O.\n'
             '- The C tagger step includes its log-mel front end for the new frames; the peers run the CNN alone.\n'
             '- The hourglass separator resamples 44.1 kHz to its 16 kHz model rate in bursts (libsoxr), so most '
             'hops do no network work and some do several frames: look at p99/max against the budget, not the '
             'median.')
    return '\n'.join(L) + '\n'


def readme_block(bench, stereo, mir):
    return '\n'.join([
        BEGIN,
        'What each separator costs and delivers (generated by `tests/bench/make_results.py` from the last '
        '`meson test -C build --benchmark bench_all`; machine, method and every other figure in '
        '[docs/RESULTS.md](docs/RESULTS.md)):',
        '',
        summary_table(bench, stereo, mir),
        END])


def update_readme(block):
    p = os.path.join(ROOT, 'README.md')
    with open(p) as f:
        txt = f.read()
    if BEGIN not in txt or END not in txt:
        return 'README.md has no results markers: table not written'
    a, rest = txt.split(BEGIN, 1)
    _, b = rest.split(END, 1)
    new = a + block + b
    if new != txt:
        with open(p + '.tmp', 'w') as f:
            f.write(new)
        os.replace(p + '.tmp', p)
    return 'ok'


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--build', help='build directory (to draw the spectrograms with cleave separate)')
    ap.add_argument('--no-readme', action='store_true')
    a = ap.parse_args()
    bench = load('bench.json')
    if not bench:
        sys.exit('make_results: docs/results/bench.json missing: run tests/bench/run_benchmarks.py first')
    stereo, mir, tag = load('stereo_eval.json'), load('mir1k_eval.json'), load('tag_eval.json')
    centre_eval = load('centre_eval.json')
    pics = {}
    try:
        import matplotlib  # noqa: F401
        have_mpl = True
    except ImportError:
        have_mpl = False
    sp = os.path.join(RES, 'spectrograms.png')
    if not have_mpl:
        for k, f in (('timing_hist', 'timing_hist.png'), ('latency_quality', 'latency_quality.png'),
                     ('spectrograms', 'spectrograms.png')):
            pics[k] = 'kept' if os.path.exists(os.path.join(RES, f)) else 'not drawn: python3-matplotlib missing'
    else:
        pics['timing_hist'] = timing_hist(bench, os.path.join(RES, 'timing_hist.png'))
        pics['latency_quality'] = latency_quality(bench, stereo, mir, os.path.join(RES, 'latency_quality.png'))
    if not have_mpl:
        pass
    elif a.build:
        pics['spectrograms'] = spectrograms(os.path.abspath(a.build), bench, sp)
    else:
        pics['spectrograms'] = 'kept' if os.path.exists(sp) else 'not drawn (run with --build)'
    with open(os.path.join(ROOT, 'docs', 'RESULTS.md'), 'w') as f:
        f.write(results_md(bench, stereo, mir, tag, centre_eval, pics))
    if not a.no_readme:
        pics['readme'] = update_readme(readme_block(bench, stereo, mir))
    print('make_results: ' + ', '.join(f'{k} {v}' for k, v in pics.items()))
    return 0


if __name__ == '__main__':
    sys.exit(main())
