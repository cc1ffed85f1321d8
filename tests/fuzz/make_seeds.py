# SPDX-License-Identifier: ISC
"""Writes small valid .clvm seed files for the fuzzer into a directory.
    /usr/bin/python3 tests/fuzz/make_seeds.py OUT_DIR"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "models", "train"))
from clvm import write_clvm  # noqa: E402

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
rng = np.random.default_rng(1)
write_clvm(os.path.join(out, "seed_empty.clvm"), {}, {})
write_clvm(os.path.join(out, "seed_meta.clvm"), {},
           {"arch": "gru-mask", "sample_rate": 16000, "gain": 0.5, "labels": ["vocals", "acc", ""],
            "widths": [256, 256], "empty": [], "license": "ISC \u00fc"})
write_clvm(os.path.join(out, "seed_f32.clvm"),
           {"fc.weight": rng.standard_normal((3, 4)), "fc.bias": rng.standard_normal(3),
            "s": np.float32(2.0)}, {"arch": "x"})
write_clvm(os.path.join(out, "seed_f16.clvm"),
           {"h": np.array([0, 1e-7, -2, 65504, 0.333], dtype=np.float16),
            "k.w": rng.standard_normal((2, 1, 3)).astype(np.float16)}, {"n_fft": 1024})
write_clvm(os.path.join(out, "seed_dims.clvm"),
           {"d8": np.ones((1, 2, 1, 2, 1, 1, 2, 1), np.float32), "v": np.arange(17, dtype=np.float32)},
           {"hop": 256, "labels": ["a"]})
print("seeds written to", out)
