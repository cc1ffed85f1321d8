#!/bin/bash
# SPDX-License-Identifier: ISC
# Every evaluation a separator model card reports, for the exported models/FAMILY.clvm
# and its checkpoint models/train/runs/RUN/ckpt.pt: PyTorch on MIR-1K devtest (0 dB
# and raw), cleave at 44.1 kHz on devtest, full-band stereo with the spatial
# refinement on and off, dry and with --vocal-fx (and the low-latency point for
# demucs). JSON and logs go to models/train/runs/RUN_*; sep_results.py turns them
# into docs/results/. Usage: models/train/eval_family.sh FAMILY RUN [BUILD_DIR [FILE]]
# FILE (default FAMILY) names the exported models/FILE.clvm when a family ships
# more than one, e.g. `demucs RUN build demucs-quality`: the quality-point file,
# which `--model demucs` picks at the quality point; the low-latency runs are then
# left out (they use the family's other file).
set -ex
fam=$1; run=$2; file=${4:-$1}
cd "$(dirname "$0")/../.."
R=models/train/runs
C=${3:-build}/host/cleave
export OPENBLAS_NUM_THREADS=1
nice /usr/bin/python3 models/train/eval_sep.py --ckpt $R/$run/ckpt.pt --modes 0db raw --json $R/${run}_eval.json > $R/${run}_eval.out 2>&1
nice /usr/bin/python3 models/train/eval_sep.py --cleave $C --model models/$file.clvm --rate 44100 --modes 0db --json $R/${run}_c441.json > $R/${run}_c441.out 2>&1
for sp in on off; do
  nice /usr/bin/python3 models/train/eval_sep.py --cleave $C --model $fam --fullband --spatial $sp --json $R/${run}_fullspatial$sp.json > $R/${run}_fullspatial$sp.out 2>&1
  nice /usr/bin/python3 models/train/eval_sep.py --cleave $C --model $fam --fullband --spatial $sp --vocal-fx --json $R/${run}_fullspatial${sp}vocalfx.json > $R/${run}_fullspatial${sp}vocalfx.out 2>&1
done
if [ "$fam" = demucs ] && [ "$file" = demucs ]; then
  for sp in on off; do
    t=oplowlatency; [ $sp = on ] && t=oplowlatencyspatial
    nice /usr/bin/python3 models/train/eval_sep.py --cleave $C --model $fam --fullband --op low-latency --spatial $sp --json $R/${run}_full$t.json > $R/${run}_full$t.out 2>&1
    nice /usr/bin/python3 models/train/eval_sep.py --cleave $C --model $fam --fullband --op low-latency --spatial $sp --vocal-fx --json $R/${run}_full${t}vocalfx.json > $R/${run}_full${t}vocalfx.out 2>&1
  done
fi
echo done
