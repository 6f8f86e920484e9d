"""adapter_ref.py: random PEFT LoRA adapters for random checkpoints, and an independent numpy
reference of the merged weights, for the BASE+ADAPTER tests.

Written from PEFT's merge formulas (LoraLayer.get_delta_weight, Embedding, DoRA, lora_bias):
delta = scaling * (B @ A) (transposed for fan_in_fan_out and embeddings), scaling = alpha / r or
alpha / sqrt(r) (use_rslora), r and alpha per module from rank_pattern / alpha_pattern matched with
re.match(r"(.*\\.)?(KEY)$", module); DoRA W' = m / ||W + delta||_row * (W + delta). The product is
taken in float64 and rounded once to float32; W + delta is added in float32, as the issue asks."""
import json
import math
import os
import re
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.environ.get("SA_SOURCE_DIR", "../.."), "tests", "common"))
import st_io  # noqa: E402

PREFIX = "base_model.model."


def arch_shapes(arch, vocab=96, dim=32, kv=16, ffn=72, layers=3):
    """Llama (kv == dim), Mistral (GQA: kv < dim) or Qwen2 (GQA and q/k/v biases) shapes."""
    if arch == "llama":
        kv = dim
    s = {"model.embed_tokens.weight": (vocab, dim), "model.norm.weight": (dim,),
         "lm_head.weight": (vocab, dim)}
    for i in range(layers):
        p = "model.layers.%d." % i
        s[p + "self_attn.q_proj.weight"] = (dim, dim)
        s[p + "self_attn.k_proj.weight"] = (kv, dim)
        s[p + "self_attn.v_proj.weight"] = (kv, dim)
        s[p + "self_attn.o_proj.weight"] = (dim, dim)
        s[p + "mlp.gate_proj.weight"] = (ffn, dim)
        s[p + "mlp.up_proj.weight"] = (ffn, dim)
        s[p + "mlp.down_proj.weight"] = (dim, ffn)
        s[p + "input_layernorm.weight"] = (dim,)
        s[p + "post_attention_layernorm.weight"] = (dim,)
        if arch == "qwen2":
            s[p + "self_attn.q_proj.bias"] = (dim,)
            s[p + "self_attn.k_proj.bias"] = (kv,)
            s[p + "self_attn.v_proj.bias"] = (kv,)
    return s


def pattern_key(keys, name):
    for k in keys:
        if re.match(r"(.*\.)?(%s)$" % k, name):
            return k
    return None


def module_r_alpha(cfg, name):
    rk = pattern_key(list(cfg.get("rank_pattern") or {}), name)
    ak = pattern_key(list(cfg.get("alpha_pattern") or {}), name)
    r = cfg["rank_pattern"][rk] if rk is not None else cfg["r"]
    a = cfg["alpha_pattern"][ak] if ak is not None else cfg["lora_alpha"]
    return r, a


def scaling(cfg, name):
    r, a = module_r_alpha(cfg, name)
    return a / math.sqrt(r) if cfg.get("use_rslora") else a / r


def make_adapter(base, gen, modules, fdtype=torch.float32, embed=None, save=(), lora_bias=False,
                 dora=False, fifo=False, **cfg_extra):
    """A random adapter over the named modules of `base` ({name: tensor}); returns (config,
    tensors). embed: an embedding module given LoRA; save: modules_to_save stored whole."""
    cfg = {"peft_type": "LORA", "base_model_name_or_path": "random", "r": 4, "lora_alpha": 8,
           "target_modules": sorted({m.split(".")[-1] for m in modules}), "bias": "none",
           "lora_dropout": 0.05, "task_type": "CAUSAL_LM", "use_dora": dora,
           "fan_in_fan_out": fifo, "lora_bias": lora_bias,
           "modules_to_save": [m.split(".")[-1] for m in save] or None}
    cfg.update(cfg_extra)
    t = {}
    for m in modules:
        r, _ = module_r_alpha(cfg, m)
        w = base[m + ".weight"]
        out, inp = (w.shape[1], w.shape[0]) if fifo else (w.shape[0], w.shape[1])
        t[PREFIX + m + ".lora_A.weight"] = (torch.randn(r, inp, generator=gen) * 0.3).to(fdtype)
        t[PREFIX + m + ".lora_B.weight"] = (torch.randn(out, r, generator=gen) * 0.3).to(fdtype)
        if lora_bias and m + ".bias" in base:
            t[PREFIX + m + ".lora_B.bias"] = (torch.randn(out, generator=gen) * 0.1).to(fdtype)
        if dora:
            t[PREFIX + m + ".lora_magnitude_vector"] = \
                (1 + 0.1 * torch.randn(out, generator=gen)).to(fdtype)
    if embed:
        r, _ = module_r_alpha(cfg, embed)
        vocab, dim = base[embed + ".weight"].shape
        t[PREFIX + embed + ".lora_embedding_A"] = (torch.randn(r, vocab, generator=gen) * 0.3).to(fdtype)
        t[PREFIX + embed + ".lora_embedding_B"] = (torch.randn(dim, r, generator=gen) * 0.3).to(fdtype)
    for i, m in enumerate(save):
        w = base[m + ".weight"]
        name = m + (".modules_to_save.default.weight" if i % 2 else ".weight")
        t[PREFIX + name] = (torch.randn(*w.shape, generator=gen)).to(w.dtype)
    return cfg, t


def write_adapter(path, cfg, tensors):
    os.makedirs(path, exist_ok=True)
    with open(os.path.join(path, "adapter_config.json"), "w") as f:
        json.dump(cfg, f, indent=1)
    st_io.save(os.path.join(path, "adapter_model.safetensors"), tensors)
    return path


def f64(t):
    return t.float().numpy().astype(np.float64)


def merged(base, cfg, tensors):
    """({name: float32 numpy} of the effective weights, {name: float32 delta} of the pure-delta
    tensors)."""
    out = {n: w.float().numpy().copy() for n, w in base.items()}
    delta = {}
    for k, v in tensors.items():
        rest = k[len(PREFIX):]
        if rest.endswith(".lora_A.weight") or rest.endswith(".lora_embedding_A"):
            emb = rest.endswith(".lora_embedding_A")
            m = rest[:-len(".lora_embedding_A")] if emb else rest[:-len(".lora_A.weight")]
            B = tensors[PREFIX + m + (".lora_embedding_B" if emb else ".lora_B.weight")]
            s = scaling(cfg, m)
            d = (f64(B) @ f64(v)) * s
            if emb or cfg.get("fan_in_fan_out"):
                d = d.T
            d = d.astype(np.float32)
            w = out[m + ".weight"]
            if cfg.get("use_dora"):
                mag = tensors[PREFIX + m + ".lora_magnitude_vector"].float().numpy()
                v32 = w + d
                norm = np.sqrt((v32.astype(np.float64) ** 2).sum(axis=1)).astype(np.float32)
                out[m + ".weight"] = (mag / norm)[:, None] * v32
            else:
                out[m + ".weight"] = w + d
                delta[m + ".weight"] = d
            lb = tensors.get(PREFIX + m + ".lora_B.bias")
            if lb is not None:
                db = (f64(lb) * s).astype(np.float32)
                out[m + ".bias"] = out[m + ".bias"] + db
                delta[m + ".bias"] = db
        elif ".lora_" not in rest:
            target = rest.replace(".modules_to_save.default.", ".")
            out[target] = v.float().numpy()
    return out, delta


def as_torch(d, like=None, dtype=None):
    """numpy float32 map -> torch, in `dtype` or each tensor's dtype in `like`."""
    return {n: torch.from_numpy(np.ascontiguousarray(v)).to(dtype or like[n].dtype)
            for n, v in d.items()}
