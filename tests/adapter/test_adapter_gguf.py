"""test_adapter_gguf.py: `export-gguf BASE+ADAPTER` writes the GGUF of the merged model.

For random Llama (Llama-3 tokenizer; F32, and BF16 with rslora and a rank_pattern) and Qwen2
(Qwen2.5 tokenizer, F32, q/k/v biases with lora_B biases, tied embeddings) checkpoints, each with
a random LoRA adapter on every linear layer:
  - the export of B+A equals the export of the checkpoint safearith merges from the same B+A
    (resta B+A with aligned = unaligned = B: the merged weights rounded once) tensor for tensor,
    byte for byte, and in every metadata key but the provenance ones (general.name,
    general.source.*, which names B+A and lists the adapter's files too), for the default type
    (the source dtype), the other of F32 / BF16, and Q8_0. The merge is rounded once, to the
    export's type: a BF16 base exported as F32 or Q8_0 is compared with the merge written in
    F32 (resta --dtype f32), not with a BF16 copy rounded twice;
  - the export of B+A agrees with the export of a merged checkpoint computed independently in
    numpy (adapter_ref.merged) from the adapter's A, B, alpha and r: F32 within 1e-6 relative of
    each tensor's largest value (float32 products summed in another order), BF16 within one
    BF16 step, Q8_0 within one quantisation step of each block; and (default type) differs from
    the base's export in every adapted tensor, so the adapter is really applied.
That llama.cpp loads and runs the B+A export is in tests/model/test_gguf_llamacpp.py."""
import os
import shutil
import subprocess
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.environ.get("SA_SOURCE_DIR", os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(SRC, "tests", "model"))
sys.path.insert(0, os.path.join(SRC, "tests", "arith"))
import adapter_ref as AR  # noqa: E402
import gguf_cases  # noqa: E402
import gguf_export_ref as G  # noqa: E402
from arith_fixtures import Checker, make_tmp, run, st_io  # noqa: E402

c = Checker()
tmp = make_tmp("sa_adapter_gguf_")
gen = torch.Generator().manual_seed(19)
LINEAR = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
PROVENANCE = ("general.name", "general.source.")


def adapter_for(base_dir, label, **kw):
    """A random adapter over every linear layer of the checkpoint; returns (dir, cfg, tensors)."""
    base = st_io.load(base_dir)
    mods = sorted(n[:-len(".weight")] for n in base
                  if n.endswith(".weight") and n.split(".")[-2] in LINEAR)
    dtype = next(iter(base.values())).dtype
    acfg, at = AR.make_adapter(base, gen, mods, fdtype=dtype, **kw)
    return AR.write_adapter(os.path.join(tmp, label + "_A"), acfg, at), acfg, at, base


def numpy_merged(base_dir, label, acfg, at, base, f32):
    """A copy of the base checkpoint whose weights are the numpy reference's merge (in float32,
    or each tensor in the base's dtype)."""
    d = os.path.join(tmp, label + ("_np32" if f32 else "_np"))
    shutil.copytree(base_dir, d)
    m32, _ = AR.merged(base, acfg, at)
    st_io.save(os.path.join(d, "model.safetensors"),
               AR.as_torch(m32, dtype=torch.float32) if f32 else AR.as_torch(m32, like=base))
    return d


def export(model, out, *flags):
    r = subprocess.run([os.environ["SAFEARITH"], "export-gguf", model, "-o", out, *flags],
                       capture_output=True, text=True)
    c.check(r.returncode == 0, "export-gguf %s %s: %s" % (model, " ".join(flags), r.stderr.strip()))
    return G.read(out) if r.returncode == 0 else ({}, {})


def content_meta(meta):
    return {k: v for k, v in meta.items() if not k.startswith(PROVENANCE)}


def close_enough(typ, dims, got, want):
    """Largest deviation of got from want, in units of what the type allows (<= 1 passes)."""
    a, b = G.to_f32(typ, dims, got).astype(np.float64), G.to_f32(typ, dims, want).astype(np.float64)
    if typ == G.F32:
        return np.abs(a - b).max() / (1e-6 * max(np.abs(b).max(), 1e-30))
    if typ == G.BF16:  # one step of bfloat16 at each value's binade
        step = np.exp2(np.floor(np.log2(np.maximum(np.abs(b), 1e-30))) - 7)
        return (np.abs(a - b) / step).max()
    if typ == G.F16:
        step = np.exp2(np.floor(np.log2(np.maximum(np.abs(b), 6e-5))) - 10)
        return (np.abs(a - b) / step).max()
    # Q8_0: one quantisation step of the block (its scale), plus the scales' own F16 rounding
    blocks = np.frombuffer(want, np.uint8).reshape(-1, 34)
    d = blocks[:, :2].copy().view("<f2").astype(np.float64).repeat(32)
    return (np.abs(a - b).reshape(-1) / (1.02 * np.maximum(d, 1e-30))).max()


def case(name, dtype, **kw):
    B = gguf_cases.make(name, tmp, dtype, seed=5)
    label = os.path.basename(B)
    A, acfg, at, base = adapter_for(B, label, **kw)
    BA, src = B + "+" + A, {torch.float32: "f32", torch.bfloat16: "bf16"}[dtype]
    M, M32 = os.path.join(tmp, label + "_merged"), os.path.join(tmp, label + "_merged32")
    run("resta", "--model", BA, "--aligned", B, "--unaligned", B, "-o", M)
    run("resta", "--model", BA, "--aligned", B, "--unaligned", B, "--dtype", "f32", "-o", M32)
    Ns = {f32: numpy_merged(B, label, acfg, at, base, f32) for f32 in (False, True)}
    for typ in ("", "bf16" if src == "f32" else "f32", "q8_0"):  # the default is src's type
        flags = ("--type", typ) if typ else ()
        in_src = typ in ("", src)  # rounded to the source dtype: the merged copy in that dtype
        m, N = (M, Ns[False]) if in_src else (M32, Ns[True])
        what = "%s %s" % (label, typ or "default type")
        out = os.path.join(tmp, label + "-" + (typ or "default"))
        ga, gm, gn = (export(m, out + suffix, *flags) for m, suffix in
                      ((BA, "-ba.gguf"), (m, "-merged.gguf"), (N, "-np.gguf")))
        gb = export(B, out + "-base.gguf") if not typ else gb
        c.check(content_meta(ga[0]) == content_meta(gm[0]) and ga[0],
                what + ": metadata of B+A's export equals the merged checkpoint's (provenance aside)")
        c.check(ga[0].get("general.source.path") == BA, what + ": general.source.path names B+A")
        files, afiles = (ga[0].get("general.source." + k) or [] for k in ("files", "adapter_files"))
        c.check(any(f.startswith("model.safetensors ") for f in files) and
                any(f.startswith("adapter_model.safetensors ") for f in afiles) and
                any(f.startswith("adapter_config.json ") for f in afiles),
                what + ": general.source.files and .adapter_files list the base's and the adapter's "
                "files: %s %s" % (files, afiles))
        c.check(list(ga[1]) == list(gm[1]) and ga[1] == gm[1] and ga[1],
                what + ": every tensor of B+A's export equals the merged checkpoint's, bytes and order")
        worst, moved = 0.0, 0
        for t, (typ_a, dims, raw) in ga[1].items():
            typ_n, dims_n, raw_n = gn[1][t]
            if (typ_a, dims) != (typ_n, dims_n):
                c.check(False, "%s: %s is %s %s, numpy's merge %s %s" % (what, t, typ_a, dims, typ_n, dims_n))
                continue
            worst = max(worst, close_enough(typ_a, dims, raw, raw_n))
            moved += not typ and raw != gb[1][t][2]
        c.check(worst <= 1.0, "%s: B+A's export vs numpy's merge: worst deviation %.3f of the type's "
                "allowance" % (what, worst))
        n_adapted = sum(1 for k in at if k.endswith("lora_A.weight"))
        c.check(typ or moved >= n_adapted, "%s: %d tensors differ from the base's export (%d "
                "adapted modules)" % (what, moved, n_adapted))


case("llama3", torch.float32)
case("llama3", torch.bfloat16, use_rslora=True, rank_pattern={"down_proj": 2})
case("qwen2", torch.float32, lora_bias=True)
c.done()
