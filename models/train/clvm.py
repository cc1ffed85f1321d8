# SPDX-License-Identifier: ISC
"""Writer and reader for cleave model files (.clvm), numpy only.

The format is specified in docs/model-format.md; the C reader is models/clv_clvm.c.

    from clvm import write_clvm, read_clvm, state_dict_tensors, fold_batchnorm
    write_clvm("mask.clvm", {"fc.weight": w, "fc.bias": b},
               {"arch": "gru-mask", "sample_rate": 16000, "n_fft": 1024, "hop": 256,
                "labels": ["vocals"], "train_commit": "abc123", "license": "ISC"})
    tensors, meta = read_clvm("mask.clvm")

Tensors are numpy arrays (any float dtype); float16 arrays are stored as f16, all
others as f32 unless f16=True is given (then everything is stored as f16). Metadata
values map to types by their Python type: str -> string, int/bool -> int64,
float -> float64, list of str -> string list, list of int -> int64 list.
torch is needed only by state_dict_tensors(), to read checkpoints.
"""
import os
import struct
import zlib

import numpy as np

MAGIC = b"CLVM"
VERSION = 1
HEADER_SIZE = 96
ALIGN = 64
MAX_DIMS = 8
MAX_NAME = 255

META_STRING, META_INT, META_FLOAT, META_STRINGS, META_INTS = 1, 2, 3, 4, 5
DTYPE_F32, DTYPE_F16 = 1, 2

_HEADER = struct.Struct("<4sIIIQQQQQQQIIIIQ")  # 96 bytes, see docs/model-format.md
assert _HEADER.size == HEADER_SIZE


class ClvmError(ValueError):
    """A malformed .clvm file or an unwritable value."""


def _pad(n, a):
    return (n + a - 1) // a * a


def _check_name(name, what):
    if not isinstance(name, str):
        raise ClvmError(f"{what} {name!r} is not a string")
    raw = name.encode("ascii", "strict") if name.isascii() else None
    if raw is None or not (1 <= len(raw) <= MAX_NAME) or any(c < 0x21 or c > 0x7E for c in raw):
        raise ClvmError(f"{what} {name!r}: must be 1..{MAX_NAME} printable ASCII characters "
                        "without spaces")
    return raw


def _check_text(s, what):
    raw = s.encode("utf-8")
    if b"\0" in raw:
        raise ClvmError(f"{what}: text contains a NUL byte")
    return raw


def _encode_meta(key, value):
    kraw = _check_name(key, "metadata key")
    if isinstance(value, str):
        mtype, payload = META_STRING, _check_text(value, f"metadata '{key}'")
    elif isinstance(value, (bool, np.bool_)) or isinstance(value, (int, np.integer)):
        v = int(value)
        if not -(1 << 63) <= v < (1 << 63):
            raise ClvmError(f"metadata '{key}': integer out of int64 range")
        mtype, payload = META_INT, struct.pack("<q", v)
    elif isinstance(value, (float, np.floating)):
        mtype, payload = META_FLOAT, struct.pack("<d", float(value))
    elif isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
        parts = [struct.pack("<I", len(value))]
        for i, v in enumerate(value):
            raw = _check_text(v, f"metadata '{key}'[{i}]")
            parts += [struct.pack("<I", len(raw)), raw]
        # An empty list is written as a string list.
        mtype, payload = META_STRINGS, b"".join(parts)
    elif isinstance(value, (list, tuple)) and all(
            isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in value):
        mtype, payload = META_INTS, struct.pack(f"<{len(value)}q", *[int(v) for v in value])
    else:
        raise ClvmError(f"metadata '{key}': unsupported value type {type(value).__name__}")
    entry = struct.pack("<IIQ", len(kraw), mtype, len(payload)) + kraw + payload
    return entry + b"\0" * (_pad(len(entry), 8) - len(entry))


def write_clvm(path, tensors, meta, f16=False):
    """Writes `tensors` (name -> array-like) and `meta` (key -> value) to `path`.

    Writes to a temporary name in the same directory and renames it when complete.
    """
    if not isinstance(tensors, dict) or not isinstance(meta, dict):
        raise ClvmError("tensors and meta must be dicts")
    meta_blob = b"".join(_encode_meta(k, v) for k, v in meta.items())

    dir_parts, data_parts, offset = [], [], 0
    for name, arr in tensors.items():
        nraw = _check_name(name, "tensor name")
        a = np.asarray(arr)
        if a.dtype.kind not in "fiub":
            raise ClvmError(f"tensor '{name}': dtype {a.dtype} is not numeric")
        if a.ndim > MAX_DIMS:
            raise ClvmError(f"tensor '{name}': {a.ndim} dims, at most {MAX_DIMS}")
        if any(d < 1 for d in a.shape):
            raise ClvmError(f"tensor '{name}': empty dimension in shape {a.shape}")
        if a.size > 0x7FFFFFFF:
            raise ClvmError(f"tensor '{name}': too many elements")
        if f16 or a.dtype == np.float16:
            dtype, raw = DTYPE_F16, np.ascontiguousarray(a, dtype="<f2").tobytes()
        else:
            dtype, raw = DTYPE_F32, np.ascontiguousarray(a, dtype="<f4").tobytes()
        if not np.all(np.isfinite(np.frombuffer(raw, dtype="<f2" if dtype == DTYPE_F16 else "<f4"))):
            raise ClvmError(f"tensor '{name}': contains NaN or infinity")
        entry = struct.pack("<IIIIQQ", len(nraw), dtype, a.ndim, zlib.crc32(raw), offset, len(raw))
        entry += struct.pack(f"<{a.ndim}Q", *a.shape) + nraw
        dir_parts.append(entry + b"\0" * (_pad(len(entry), 8) - len(entry)))
        data_parts.append(raw + b"\0" * (_pad(len(raw), ALIGN) - len(raw)))
        offset += _pad(len(raw), ALIGN)
    dir_blob = b"".join(dir_parts)
    data_blob = b"".join(data_parts)

    meta_off = HEADER_SIZE
    dir_off = meta_off + len(meta_blob)
    data_off = _pad(dir_off + len(dir_blob), ALIGN)
    file_size = data_off + len(data_blob)
    head = _HEADER.pack(MAGIC, VERSION, HEADER_SIZE, ALIGN, file_size, meta_off, len(meta_blob),
                        dir_off, len(dir_blob), data_off, len(data_blob), len(meta),
                        len(tensors), 0, 0, 0)
    crc = zlib.crc32(dir_blob, zlib.crc32(meta_blob, zlib.crc32(head[:80])))
    head = head[:80] + struct.pack("<I", crc) + head[84:]
    gap = b"\0" * (data_off - dir_off - len(dir_blob))

    path = os.fspath(path)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(head + meta_blob + dir_blob + gap + data_blob)
    os.replace(tmp, path)
    return file_size


def _u(fmt, buf, off, what):
    size = struct.calcsize(fmt)
    if off < 0 or off + size > len(buf):
        raise ClvmError(f"{what}: truncated")
    return struct.unpack_from(fmt, buf, off)


def read_clvm(path_or_bytes):
    """Reads and validates a .clvm file (path or bytes); returns (tensors, meta).

    Tensors come back as numpy arrays of their stored dtype (float32 or float16)."""
    if isinstance(path_or_bytes, (bytes, bytearray, memoryview)):
        buf, where = bytes(path_or_bytes), "<memory>"
    else:
        where = os.fspath(path_or_bytes)
        with open(where, "rb") as f:
            buf = f.read()
    if len(buf) < HEADER_SIZE:
        raise ClvmError(f"{where}: file shorter than the {HEADER_SIZE}-byte header")
    (magic, version, hsize, align, file_size, meta_off, meta_size, dir_off, dir_size, data_off,
     data_size, meta_count, tensor_count, crc, _r0, _r1) = _HEADER.unpack_from(buf, 0)
    if magic != MAGIC:
        raise ClvmError(f"{where}: not a .clvm file (bad magic)")
    if version != VERSION:
        raise ClvmError(f"{where}: version {version}, this reader knows {VERSION}")
    if hsize != HEADER_SIZE or align != ALIGN:
        raise ClvmError(f"{where}: bad header size or alignment")
    if file_size != len(buf):
        raise ClvmError(f"{where}: header says {file_size} bytes, file has {len(buf)}")
    if not (HEADER_SIZE <= meta_off and meta_off + meta_size <= dir_off and
            dir_off + dir_size <= data_off and data_off % ALIGN == 0 and
            data_off + data_size == file_size):
        raise ClvmError(f"{where}: section offsets out of order or out of bounds")
    want = zlib.crc32(buf[dir_off:dir_off + dir_size],
                      zlib.crc32(buf[meta_off:meta_off + meta_size], zlib.crc32(buf[:80])))
    if want != crc:
        raise ClvmError(f"{where}: header/index checksum mismatch")

    meta, off, end = {}, meta_off, meta_off + meta_size
    for _ in range(meta_count):
        klen, mtype, vsize = _u("<IIQ", buf, off, f"{where}: metadata")
        if not 1 <= klen <= MAX_NAME or off + 16 + klen + vsize > end:
            raise ClvmError(f"{where}: metadata entry out of bounds")
        key = buf[off + 16:off + 16 + klen].decode("ascii")
        val = buf[off + 16 + klen:off + 16 + klen + vsize]
        if key in meta:
            raise ClvmError(f"{where}: duplicate metadata key '{key}'")
        if mtype == META_STRING:
            meta[key] = val.decode("utf-8")
        elif mtype in (META_INT, META_FLOAT) and vsize == 8:
            meta[key] = struct.unpack("<q" if mtype == META_INT else "<d", val)[0]
        elif mtype == META_STRINGS:
            (n,), p, items = _u("<I", val, 0, f"{where}: metadata '{key}'"), 4, []
            for _i in range(n):
                (ln,) = _u("<I", val, p, f"{where}: metadata '{key}'")
                if p + 4 + ln > len(val):
                    raise ClvmError(f"{where}: metadata '{key}': string list truncated")
                items.append(val[p + 4:p + 4 + ln].decode("utf-8"))
                p += 4 + ln
            meta[key] = items
        elif mtype == META_INTS and vsize % 8 == 0:
            meta[key] = list(struct.unpack(f"<{vsize // 8}q", val))
        else:
            raise ClvmError(f"{where}: metadata '{key}': bad type {mtype} or size {vsize}")
        off += _pad(16 + klen + vsize, 8)

    tensors, off, end = {}, dir_off, dir_off + dir_size
    for _ in range(tensor_count):
        nlen, dtype, ndim, tcrc, toff, nbytes = _u("<IIIIQQ", buf, off, f"{where}: directory")
        if not 1 <= nlen <= MAX_NAME or ndim > MAX_DIMS:
            raise ClvmError(f"{where}: bad tensor entry")
        dims = _u(f"<{ndim}Q", buf, off + 32, f"{where}: directory")
        if off + 32 + 8 * ndim + nlen > end:
            raise ClvmError(f"{where}: tensor entry out of bounds")
        name = buf[off + 32 + 8 * ndim:off + 32 + 8 * ndim + nlen].decode("ascii")
        if name in tensors:
            raise ClvmError(f"{where}: duplicate tensor '{name}'")
        if dtype not in (DTYPE_F32, DTYPE_F16):
            raise ClvmError(f"{where}: tensor '{name}': unknown dtype {dtype}")
        esize = 4 if dtype == DTYPE_F32 else 2
        count = int(np.prod(dims, dtype=object)) if ndim else 1
        if count * esize != nbytes or toff % ALIGN or toff + nbytes > data_size:
            raise ClvmError(f"{where}: tensor '{name}': bad size, offset or alignment")
        raw = buf[data_off + toff:data_off + toff + nbytes]
        if zlib.crc32(raw) != tcrc:
            raise ClvmError(f"{where}: tensor '{name}': checksum mismatch")
        tensors[name] = np.frombuffer(raw, dtype="<f4" if esize == 4 else "<f2").reshape(dims).copy()
        off += _pad(32 + 8 * ndim + nlen, 8)
    return tensors, meta


def state_dict_tensors(state_dict, skip=("num_batches_tracked",)):
    """Converts a PyTorch state_dict (or a path to a checkpoint holding one, or a
    dict with a 'state_dict'/'model' entry) to name -> float32 numpy arrays."""
    import torch  # only needed here
    if isinstance(state_dict, (str, os.PathLike)):
        state_dict = torch.load(state_dict, map_location="cpu")
    for k in ("state_dict", "model"):
        if isinstance(state_dict, dict) and k in state_dict and isinstance(state_dict[k], dict):
            state_dict = state_dict[k]
    out = {}
    for k, v in state_dict.items():
        if any(k.endswith(s) for s in skip):
            continue
        out[k] = v.detach().to(torch.float32).cpu().numpy()
    return out


def fold_batchnorm(weight, bias, mean, var, gamma=None, beta=None, eps=1e-5):
    """Folds an inference-mode BatchNorm that follows a conv/linear into it.

    weight has the output channels first ([out, ...]); bias may be None. Returns
    (weight', bias') with conv(x, weight') + bias' == bn(conv(x, weight) + bias)."""
    weight = np.asarray(weight, dtype=np.float64)
    out = weight.shape[0]
    gamma = np.ones(out) if gamma is None else np.asarray(gamma, dtype=np.float64)
    beta = np.zeros(out) if beta is None else np.asarray(beta, dtype=np.float64)
    bias = np.zeros(out) if bias is None else np.asarray(bias, dtype=np.float64)
    scale = gamma / np.sqrt(np.asarray(var, dtype=np.float64) + eps)
    w = weight * scale.reshape((out,) + (1,) * (weight.ndim - 1))
    b = (bias - np.asarray(mean, dtype=np.float64)) * scale + beta
    return w.astype(np.float32), b.astype(np.float32)


if __name__ == "__main__":
    import sys
    if len(sys.argv) != 2:
        sys.exit("usage: clvm.py FILE.clvm   (lists metadata and tensors)")
    t, m = read_clvm(sys.argv[1])
    for k, v in m.items():
        print(f"meta {k} = {v!r}")
    for k, v in t.items():
        print(f"tensor {k} {v.dtype} {list(v.shape)}")
