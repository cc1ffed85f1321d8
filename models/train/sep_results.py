# SPDX-License-Identifier: ISC
"""Writes docs/results/sep_<FAMILY>_{torch,c441,fullband}.{json,md} from the JSON
files that models/train/eval_family.sh leaves in models/train/runs/.

Usage (from the repository root):
  /usr/bin/python3 models/train/sep_results.py FAMILY RUN C441NAME
e.g. sep_results.py demucs hyb hyb_c441: reads runs/hyb_eval.json (PyTorch devtest),
runs/hyb_c441.json (cleave at 44.1 kHz) and runs/hyb_full*.json (full-band)."""
import json, shutil, sys, os
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
R = os.path.join(ROOT, 'models', 'train', 'runs'); D = os.path.join(ROOT, 'docs', 'results')
if len(sys.argv) != 4:
    sys.exit(__doc__)
fam, run, c441 = sys.argv[1], sys.argv[2], sys.argv[3]
def table(name, src):
    lines = ['| system | mixtures | voice GNSDR | voice GSIR | voice GSAR | acc. GNSDR | acc. GSIR | acc. GSAR |',
             '|---|---|---|---|---|---|---|---|']
    d = json.load(open(src))
    res = d.get('results', d)
    for sysname, modes in res.items():
        if not isinstance(modes, dict): continue
        for mode, r in modes.items():
            if not isinstance(r, dict) or 'voice' not in r: continue
            v, a = r['voice'], r['accompaniment']
            lines.append(f'| {name} | {mode} | {v["GNSDR"]:.2f} | {v["GSIR"]:.2f} | {v["GSAR"]:.2f} | {a["GNSDR"]:.2f} | {a["GSIR"]:.2f} | {a["GSAR"]:.2f} |')
    return '\n'.join(lines) + '\n'
for kind, src, name in (('torch', f'{R}/{run}_eval.json', f'{fam} (PyTorch)'), ('c441', f'{R}/{c441}.json', f'{fam} (cleave, 44.1 kHz)')):
    if os.path.exists(src):
        shutil.copy(src, f'{D}/sep_{fam}_{kind}.json')
        open(f'{D}/sep_{fam}_{kind}.md', 'w').write(table(name, src))
rows, allj = [], {}
for tag, label in (('spatialoff', 'neural alone (--spatial off)'), ('spatialon', 'with spatial refinement (default)'),
                   ('spatialoffvocalfx', 'neural alone, vocals panned + stereo room (--vocal-fx)'),
                   ('spatialonvocalfx', 'spatial refinement, vocals panned + stereo room (--vocal-fx)'),
                   ('oplowlatency', 'low-latency point, neural alone (--op low-latency --spatial off)'),
                   ('oplowlatencyspatial', 'low-latency point, short-window spatial refinement (default)'),
                   ('oplowlatencyvocalfx', 'low-latency point, neural alone, vocals panned + stereo room'),
                   ('oplowlatencyspatialvocalfx', 'low-latency point, short-window refinement, vocals panned + stereo room')):
    src = f'{R}/{run}_full{tag}.json'
    if not os.path.exists(src): continue
    d = json.load(open(src)); m = d['summary']; allj[tag] = d
    rows.append(f'| {fam}, {label} | {m["sdr"][0]:.2f} | {m["sir"][0]:.2f} | {m["sar"][0]:.2f} | {m["sdr"][1]:.2f} | {m["sir"][1]:.2f} | {m["sar"][1]:.2f} |')
json.dump(allj, open(f'{D}/sep_{fam}_fullband.json', 'w'), indent=1)
open(f'{D}/sep_{fam}_fullband.md', 'w').write(
    'Mean over 8 songs (15 s excerpts, 44.1 kHz stereo; held-out PJS voices 081-100 over the\n'
    'Frets on Fire backings), dB. `models/train/eval_sep.py --fullband [--spatial on|off] [--vocal-fx] [--op low-latency]`\n\n'
    '| system | vocals SDR | vocals SIR | vocals SAR | accomp. SDR | accomp. SIR | accomp. SAR |\n|---|---|---|---|---|---|---|\n'
    + '\n'.join(rows) + '\n')
print(open(f'{D}/sep_{fam}_fullband.md').read())
