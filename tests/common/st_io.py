"""st_io.py: an independent safetensors reader/writer for the Python test references.

Written from the format description (8-byte little-endian header length, JSON header with dtype,
shape and data_offsets per tensor, optional __metadata__ string map, then the raw little-endian
data), using torch tensors so that BF16 works. Tests use it to build checkpoints and to read
safearith's outputs without trusting safearith's own reader.
"""
import json
import os
import struct

import torch

DTYPES = {
    "F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16, "F64": torch.float64,
    "I64": torch.int64, "I32": torch.int32, "I16": torch.int16, "I8": torch.int8,
    "U8": torch.uint8, "BOOL": torch.bool,
}
NAMES = {v: k for k, v in DTYPES.items()}


def save(path, tensors, metadata=None, order=None):
    """Write {name: torch.Tensor} to path. order: list of names (default: sorted by name)."""
    names = order if order is not None else sorted(tensors)
    header, blobs, off = {}, [], 0
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    for n in names:
        t = tensors[n].contiguous()
        raw = t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b""
        header[n] = {"dtype": NAMES[t.dtype], "shape": list(t.shape),
                     "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    hjson = json.dumps(header, separators=(",", ":")).encode()
    hjson += b" " * ((8 - len(hjson) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hjson)))
        f.write(hjson)
        for b in blobs:
            f.write(b)


def load_file(path):
    """Read one .safetensors file -> ({name: tensor}, metadata dict)."""
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    meta = header.pop("__metadata__", {})
    base = 8 + n
    out = {}
    for name, info in header.items():
        s, e = info["data_offsets"]
        dt = DTYPES[info["dtype"]]
        buf = bytearray(data[base + s:base + e])
        t = torch.frombuffer(buf, dtype=torch.uint8) if len(buf) else torch.empty(0, dtype=torch.uint8)
        out[name] = t.view(dt).reshape(info["shape"]).clone()
    return out, meta


def load(path):
    """Read a checkpoint: a directory (single file or index + shards) or a file -> {name: tensor}."""
    if os.path.isdir(path):
        idx = os.path.join(path, "model.safetensors.index.json")
        if os.path.exists(idx):
            with open(idx) as f:
                wm = json.load(f)["weight_map"]
            out = {}
            for shard in sorted(set(wm.values())):
                out.update(load_file(os.path.join(path, shard))[0])
            return out
        return load_file(os.path.join(path, "model.safetensors"))[0]
    return load_file(path)[0]


def save_sharded(dirpath, tensors, max_shard_bytes):
    """Write a sharded checkpoint with model.safetensors.index.json (HF naming)."""
    os.makedirs(dirpath, exist_ok=True)
    shards, cur, size = [], [], 0
    for n in sorted(tensors):
        b = tensors[n].numel() * tensors[n].element_size()
        if cur and size + b > max_shard_bytes:
            shards.append(cur)
            cur, size = [], 0
        cur.append(n)
        size += b
    if cur:
        shards.append(cur)
    wm, total = {}, 0
    for i, names in enumerate(shards):
        fn = "model-%05d-of-%05d.safetensors" % (i + 1, len(shards))
        save(os.path.join(dirpath, fn), {n: tensors[n] for n in names}, order=names)
        for n in names:
            wm[n] = fn
            total += tensors[n].numel() * tensors[n].element_size()
    with open(os.path.join(dirpath, "model.safetensors.index.json"), "w") as f:
        json.dump({"metadata": {"total_size": total}, "weight_map": wm}, f, indent=2)
