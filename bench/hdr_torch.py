"""hdr_torch.py: the HDR baseline for bench/hdr.md, the official notebooks' algorithm in PyTorch
(Ties_Merge.state_dict_to_vector, topk_values_mask, vector_to_state_dict):

  load the three checkpoints, flatten tau = H - B (float32) into one vector, threshold by
  torch.kthvalue(|tau|, d - int(d * k)), mask, merged = flat(T) - lambda * tau', unflatten,
  save (BF16, fsynced like safearith).

It is made as lean as that algorithm allows (bf16 tensors memory-mapped, each float32 vector
freed as soon as it is used) so that it fits this shared machine; the notebooks themselves load
every model in float32 and keep them all. Prints wall seconds of the whole run.

  /usr/bin/python3 hdr_torch.py TARGET BASE HARMFUL OUT_FILE [TOP_K] [LAMBDA]
"""
import json
import mmap
import os
import struct
import sys
import time

import torch

DT = {"BF16": torch.bfloat16, "F16": torch.float16, "F32": torch.float32}
NAME = {v: k for k, v in DT.items()}


def shard_files(path):
    if os.path.isfile(path):
        return [path]
    idx = os.path.join(path, "model.safetensors.index.json")
    if os.path.exists(idx):
        with open(idx) as f:
            return [os.path.join(path, s) for s in sorted(set(json.load(f)["weight_map"].values()))]
    return [os.path.join(path, "model.safetensors")]


def load(path):
    """{name: tensor} viewing the memory-mapped files (no copy)."""
    out = {}
    for fn in shard_files(path):
        with open(fn, "rb") as f:
            m = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        (n,) = struct.unpack("<Q", m[:8])
        header = json.loads(m[8:8 + n])
        header.pop("__metadata__", None)
        buf = torch.frombuffer(m, dtype=torch.uint8)  # read-only view; never written
        for name, info in sorted(header.items(), key=lambda kv: kv[1]["data_offsets"]):
            s, e = info["data_offsets"]
            out[name] = buf[8 + n + s:8 + n + e].view(DT[info["dtype"]]).reshape(info["shape"])
    return out


def flat(sd, names):
    """state_dict_to_vector in float32, filled in place (no per-tensor temporaries)."""
    out = torch.empty(sum(sd[n].numel() for n in names), dtype=torch.float32)
    at = 0
    for n in names:
        k = sd[n].numel()
        out[at:at + k].copy_(sd[n].reshape(-1))
        at += k
    return out


def save(path, sd, names, shapes, merged, dtype):
    header, off = {"__metadata__": {"format": "pt"}}, 0
    for n in names:
        nbytes = merged_numel(shapes[n]) * torch.tensor([], dtype=dtype).element_size()
        header[n] = {"dtype": NAME[dtype], "shape": list(shapes[n]), "data_offsets": [off, off + nbytes]}
        off += nbytes
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        at = 0
        for n in names:
            k = merged_numel(shapes[n])
            f.write(merged[at:at + k].to(dtype).view(torch.uint8).numpy().tobytes())
            at += k
        f.flush()
        os.fsync(f.fileno())


def merged_numel(shape):
    k = 1
    for d in shape:
        k *= d
    return k


def main():
    target, base, harmful, out = sys.argv[1:5]
    top_k = float(sys.argv[5]) if len(sys.argv) > 5 else 10.0
    lam = float(sys.argv[6]) if len(sys.argv) > 6 else 3.0
    t0 = time.time()
    sd_t, sd_b, sd_h = load(target), load(base), load(harmful)
    names = list(sd_t)
    shapes = {n: tuple(sd_t[n].shape) for n in names}
    dtype = sd_t[names[0]].dtype
    tau = flat(sd_h, names)
    b = flat(sd_b, names)
    tau -= b
    del b
    d = tau.numel()
    K = top_k / 100
    a = tau.abs()
    kth = a.kthvalue(d - int(d * K)).values
    tau *= a >= kth  # topk_values_mask: keep |tau| >= kth
    del a
    tau *= torch.tensor(lam, dtype=torch.float32)
    merged = flat(sd_t, names)
    merged -= tau  # flat(T) - lambda * tau'
    del tau
    save(out, sd_t, names, shapes, merged, dtype)
    print("%.3f" % (time.time() - t0))


if __name__ == "__main__":
    main()
