"""gguf_export_ref.py: independent numpy references for the GGUF export tests.

Written from the format and the converter's documented rules (ggml's gguf.h, ggml-common.h's
block_q8_0, convert_hf_to_gguf.py's LlamaModel.permute), not from safearith's C code:
  read(path)            -> (meta {key: value}, {name: (ggml type, dims ne[0] first, bytes)}),
                           by the steering tests' reader (tests/steer/gguf_ref.py)
  to_f32(type, dims, b) -> float32 array in HF order ([rows, cols] for 2-D)
  q8_0(x)               -> the bytes of Q8_0 blocks: d = max|x|/127 in float32, stored as
                           float16; q = round-half-away-from-zero(x * (1/d)), 0 when d = 0
  permute(w, heads)     -> HF rotate-half rows to interleaved pairs, per head."""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "steer"))
import gguf_ref  # noqa: E402

F32, F16, Q8_0, BF16 = 0, 1, 8, 30


def read(path):
    """(meta, {name: (type, dims, bytes)}) of a GGUF v3 file, with tests/steer/gguf_ref.py."""
    version, meta, tensors = gguf_ref.read(open(path, "rb").read(), raw=True)
    if version != 3:
        raise ValueError("version %d" % version)
    return meta, tensors


def to_f32(typ, dims, raw):
    shape = dims[::-1]
    if typ == F32:
        return np.frombuffer(raw, "<f4").reshape(shape).copy()
    if typ == F16:
        return np.frombuffer(raw, "<f2").astype(np.float32).reshape(shape)
    if typ == BF16:
        u = np.frombuffer(raw, "<u2").astype(np.uint32) << 16
        return u.view(np.float32).reshape(shape)
    blocks = np.frombuffer(raw, np.uint8).reshape(-1, 34)
    d = blocks[:, :2].copy().view("<f2").astype(np.float32)
    q = blocks[:, 2:].copy().view(np.int8).astype(np.float32)
    return (q * d).reshape(shape)


def q8_0(x):
    x = np.asarray(x, np.float32).reshape(-1, 32)
    d = (np.abs(x).max(axis=1, keepdims=True) / np.float32(127)).astype(np.float32)
    with np.errstate(divide="ignore"):
        inv = np.where(d == 0, np.float32(0), np.float32(1) / d).astype(np.float32)
    v = (x * inv).astype(np.float32).astype(np.float64)
    q = (np.sign(v) * np.floor(np.abs(v) + 0.5)).astype(np.int8)
    return np.concatenate([d.astype("<f2").view(np.uint8), q.view(np.uint8)], axis=1).tobytes()


def permute(w, heads):
    rows = w.shape[0]
    return (w.reshape(heads, 2, rows // heads // 2, *w.shape[1:]).swapaxes(1, 2)
            .reshape(w.shape))


def f16_round(x):
    return np.asarray(x, np.float32).astype(np.float16).astype(np.float32)


def bf16_round(x):
    """Round-to-nearest-even float32 -> bfloat16 -> float32 (finite inputs)."""
    u = np.asarray(x, np.float32).view(np.uint32).astype(np.uint64)
    u = (u + 0x7FFF + ((u >> 16) & 1)) >> 16 << 16
    return u.astype(np.uint32).view(np.float32)


def read_type(path):
    """"f32", "f16", "bf16" or "q8_0": general.file_type of a GGUF file."""
    return {0: "f32", 1: "f16", 32: "bf16", 7: "q8_0"}[read(path)[0]["general.file_type"]]
