#!/bin/sh
# SPDX-License-Identifier: ISC
# Builds the .clvm reader fuzzer with clang's libFuzzer + ASan + UBSan and runs it.
#   tests/fuzz/run.sh [SECONDS]        (default 300)
# Needs: clang libclang-rt-14-dev (in .ci/setup). New interesting inputs are merged
# (minimised) into tests/fuzz/corpus/, which `meson test models_fuzz_replay` replays.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
secs=${1:-300}
out=${FUZZ_OUT:-$root/build-fuzz}
mkdir -p "$out/work"
clang -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
  -DFUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION -D_GNU_SOURCE -std=c11 \
  -I"$root/models" -I"$root/dsp" \
  "$here/fuzz_clvm.c" "$root/models/clv_clvm.c" "$root/dsp/clv_common.c" \
  -lpthread -o "$out/fuzz_clvm"
# Seeds: small valid files from the Python writer, plus the committed corpus.
/usr/bin/python3 "$here/make_seeds.py" "$out/seeds" >/dev/null
"$out/fuzz_clvm" -artifact_prefix="$out/" -max_len=4096 -max_total_time="$secs" -print_final_stats=1 \
  "$out/work" "$here/corpus" "$out/seeds"
# Keep the committed corpus small: merge only inputs that add coverage.
mkdir -p "$here/corpus"
"$out/fuzz_clvm" -merge=1 "$here/corpus" "$out/work" "$out/seeds"
echo "corpus: $(ls "$here/corpus" | wc -l) files, $(du -sh "$here/corpus" | cut -f1)"
