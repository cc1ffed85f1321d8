# SPDX-License-Identifier: ISC
"""Tests of the Python .clvm writer/reader (models/train/clvm.py), numpy only.

    python3 tests/test_clvm_py.py TMPDIR

Round trip of every metadata type and dtype, 64-byte alignment of every tensor,
refusal of bad names / values, detection of damaged files, and fold_batchnorm
against a direct computation."""
import os
import sys
import zlib

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "models", "train"))
import clvm  # noqa: E402

failures = 0


def check(cond, what):
    global failures
    if not cond:
        failures += 1
        print(f"check failed: {what}", file=sys.stderr)


def raises(fn, what):
    try:
        fn()
    except clvm.ClvmError:
        return
    check(False, f"{what}: no ClvmError")


def main():
    tmp = sys.argv[1] if len(sys.argv) > 1 else "/tmp"
    os.makedirs(tmp, exist_ok=True)
    path = os.path.join(tmp, "test_clvm_py.clvm")
    rng = np.random.default_rng(3)
    tensors = {"a.weight": rng.standard_normal((3, 5)).astype(np.float32),
               "b": rng.standard_normal(7).astype(np.float64),
               "h": np.array([1e-7, -2.0, 65504.0], dtype=np.float16),
               "s": np.float32(4.5),
               "d8": np.ones((1, 2, 1, 2, 1, 1, 2, 1), np.float32)}
    meta = {"arch": "gru-mask", "sample_rate": 16000, "flag": True, "gain": 0.25,
            "labels": ["vocals", "accompaniment", "\u00fc"], "widths": [256, 128], "empty": [],
            "license": "ISC"}
    size = clvm.write_clvm(path, tensors, meta)
    check(size == os.path.getsize(path), "size returned")
    check(not os.path.exists(path + ".tmp"), "temporary file renamed")
    t, m = clvm.read_clvm(path)
    check(m == {**meta, "flag": 1}, f"metadata round trip: {m}")
    check(set(t) == set(tensors), "tensor names")
    check(np.array_equal(t["a.weight"], tensors["a.weight"]), "f32 values")
    check(t["b"].dtype == np.float32 and np.array_equal(t["b"], tensors["b"].astype(np.float32)),
          "f64 stored as f32")
    check(t["h"].dtype == np.float16 and np.array_equal(t["h"], tensors["h"]), "f16 kept")
    check(t["s"].shape == () and float(t["s"]) == 4.5, "scalar")
    check(t["d8"].shape == (1, 2, 1, 2, 1, 1, 2, 1), "8 dims")
    # every tensor 64-byte aligned in the file
    raw = open(path, "rb").read()
    data_off = int.from_bytes(raw[56:64], "little")
    check(data_off % 64 == 0, "data section aligned")
    # f16 everything
    clvm.write_clvm(path, {"w": np.arange(6, dtype=np.float32).reshape(2, 3)}, {}, f16=True)
    t, _ = clvm.read_clvm(path)
    check(t["w"].dtype == np.float16 and np.array_equal(t["w"].astype(np.float32),
                                                        np.arange(6).reshape(2, 3)), "f16=True")
    # refused inputs
    raises(lambda: clvm.write_clvm(path, {"bad name": np.ones(2)}, {}), "space in name")
    raises(lambda: clvm.write_clvm(path, {"": np.ones(2)}, {}), "empty name")
    raises(lambda: clvm.write_clvm(path, {"x" * 256: np.ones(2)}, {}), "long name")
    raises(lambda: clvm.write_clvm(path, {"n": np.array([1.0, np.nan])}, {}), "NaN")
    raises(lambda: clvm.write_clvm(path, {"e": np.ones((2, 0))}, {}), "empty dim")
    raises(lambda: clvm.write_clvm(path, {"e": np.ones((1,) * 9)}, {}), "9 dims")
    raises(lambda: clvm.write_clvm(path, {}, {"k": {"a": 1}}), "dict value")
    raises(lambda: clvm.write_clvm(path, {}, {"k": "a\0b"}), "NUL in string")
    raises(lambda: clvm.write_clvm(path, {}, {"k": 1 << 64}), "int64 overflow")
    # damaged files
    clvm.write_clvm(path, tensors, meta)
    good = open(path, "rb").read()
    raises(lambda: clvm.read_clvm(good[:-1]), "truncated")
    raises(lambda: clvm.read_clvm(b"XLVM" + good[4:]), "magic")
    bad = bytearray(good)
    bad[100] ^= 1  # metadata byte: index CRC
    raises(lambda: clvm.read_clvm(bytes(bad)), "index crc")
    bad = bytearray(good)
    bad[data_off + 1] ^= 1  # first tensor's data
    raises(lambda: clvm.read_clvm(bytes(bad)), "data crc")
    check(zlib.crc32(b"123456789") == 0xCBF43926, "crc32 reference")
    # batch-norm folding
    w = rng.standard_normal((4, 3, 5))
    b = rng.standard_normal(4)
    mean, var = rng.standard_normal(4), rng.uniform(0.5, 2.0, 4)
    gamma, beta = rng.standard_normal(4), rng.standard_normal(4)
    x = rng.standard_normal((3, 20))
    conv = lambda w_, b_: np.stack([sum(np.convolve(x[c], w_[o, c][::-1], "valid")  # noqa: E731
                                        for c in range(3)) + b_[o] for o in range(4)])
    ref = (conv(w, b) - mean[:, None]) / np.sqrt(var[:, None] + 1e-5) * gamma[:, None] + beta[:, None]
    wf, bf = clvm.fold_batchnorm(w, b, mean, var, gamma, beta, 1e-5)
    check(np.max(np.abs(conv(wf, bf) - ref)) < 1e-4 * max(1.0, np.max(np.abs(ref))), "fold_batchnorm")
    os.remove(path)
    if failures:
        print(f"{failures} check(s) failed", file=sys.stderr)
        return 1
    print("clvm.py: all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
