"""llama_ref.py: an independent PyTorch forward pass for Llama / Mistral / Qwen2 checkpoints, and
random-weight checkpoint writers, for the engine's reference tests.

Written from transformers' modeling_llama / modeling_mistral / modeling_qwen2 conventions (not
from safearith's C code): RMSNorm in float32 (x * rsqrt(mean(x^2) + eps), then * weight),
rotate_half RoPE with cos/sin = cat(freqs, freqs), default / linear / llama3 inverse-frequency
rules as in modeling_rope_utils, GQA by repeating each KV head n_heads / n_kv_heads times,
causal masks with Mistral's sliding window (key k visible from query q iff q - window < k <= q),
Qwen2's q/k/v biases, tied embeddings. Computation is float32 whatever the stored dtype.
"""
import json
import math
import os
import subprocess
import sys

import torch

sys.path.insert(0, os.path.join(os.environ.get("SA_SOURCE_DIR", "../.."), "tests", "common"))
import st_io  # noqa: E402

ARCH = {"llama": "LlamaForCausalLM", "mistral": "MistralForCausalLM", "qwen2": "Qwen2ForCausalLM"}


def make_config(model_type, vocab=97, hidden=64, inter=136, layers=3, heads=4, kv_heads=2,
                head_dim=None, eps=1e-5, theta=10000.0, rope=None, rope_form="rope_scaling",
                tie=False, window=None, max_pos=256):
    cfg = {"architectures": [ARCH[model_type]], "model_type": model_type, "vocab_size": vocab,
           "hidden_size": hidden, "intermediate_size": inter, "num_hidden_layers": layers,
           "num_attention_heads": heads, "num_key_value_heads": kv_heads, "rms_norm_eps": eps,
           "hidden_act": "silu", "max_position_embeddings": max_pos, "tie_word_embeddings": tie,
           "bos_token_id": 1, "eos_token_id": [2, 3], "torch_dtype": "float32"}
    if head_dim is not None:
        cfg["head_dim"] = head_dim
    if rope_form == "rope_parameters":
        cfg["rope_parameters"] = dict(rope or {"rope_type": "default"}, rope_theta=theta)
    else:
        cfg["rope_theta"] = theta
        if rope:
            cfg["rope_scaling"] = rope
    if model_type == "mistral":
        cfg["sliding_window"] = window
    if model_type == "qwen2":
        cfg["use_sliding_window"] = False
    return cfg


def dims(cfg):
    hd = cfg.get("head_dim") or cfg["hidden_size"] // cfg["num_attention_heads"]
    return hd, cfg["num_attention_heads"], cfg["num_key_value_heads"]


def random_weights(cfg, seed, dtype):
    """Weights scaled so activations stay O(1) and logits are well spread (no greedy near-ties)."""
    g = torch.Generator().manual_seed(seed)
    hd, nh, nkv = dims(cfg)
    d, f, v = cfg["hidden_size"], cfg["intermediate_size"], cfg["vocab_size"]

    def lin(o, i):
        return torch.randn(o, i, generator=g) / math.sqrt(i)

    def norm(n):
        return 1.0 + 0.2 * torch.randn(n, generator=g)

    w = {"model.embed_tokens.weight": torch.randn(v, d, generator=g),
         "model.norm.weight": norm(d)}
    if not cfg["tie_word_embeddings"]:
        w["lm_head.weight"] = lin(v, d) * 3
    for l in range(cfg["num_hidden_layers"]):
        p = "model.layers.%d." % l
        w[p + "input_layernorm.weight"] = norm(d)
        w[p + "post_attention_layernorm.weight"] = norm(d)
        w[p + "self_attn.q_proj.weight"] = lin(nh * hd, d) * 2
        w[p + "self_attn.k_proj.weight"] = lin(nkv * hd, d) * 2
        w[p + "self_attn.v_proj.weight"] = lin(nkv * hd, d)
        w[p + "self_attn.o_proj.weight"] = lin(d, nh * hd)
        w[p + "mlp.gate_proj.weight"] = lin(f, d)
        w[p + "mlp.up_proj.weight"] = lin(f, d)
        w[p + "mlp.down_proj.weight"] = lin(d, f)
        if cfg["model_type"] == "qwen2":
            w[p + "self_attn.q_proj.bias"] = 0.5 * torch.randn(nh * hd, generator=g)
            w[p + "self_attn.k_proj.bias"] = 0.5 * torch.randn(nkv * hd, generator=g)
            w[p + "self_attn.v_proj.bias"] = 0.5 * torch.randn(nkv * hd, generator=g)
    return {k: t.to(dtype) for k, t in w.items()}


def write_checkpoint(path, cfg, weights, shard_bytes=None):
    os.makedirs(path, exist_ok=True)
    with open(os.path.join(path, "config.json"), "w") as f:
        json.dump(cfg, f, indent=1)
    if shard_bytes:
        st_io.save_sharded(path, weights, shard_bytes)
    else:
        st_io.save(os.path.join(path, "model.safetensors"), weights)


def inv_freq(cfg):
    hd, _, _ = dims(cfg)
    rp = cfg.get("rope_parameters") or dict(cfg.get("rope_scaling") or {},
                                            rope_theta=cfg.get("rope_theta", 10000.0))
    theta = rp.get("rope_theta", 10000.0)
    inv = 1.0 / (theta ** (torch.arange(0, hd, 2, dtype=torch.int64).float() / hd))
    kind = rp.get("rope_type", rp.get("type", "default"))
    if kind == "linear":
        inv = inv / rp["factor"]
    elif kind == "llama3":
        factor, lo, hi = rp["factor"], rp["low_freq_factor"], rp["high_freq_factor"]
        old = rp["original_max_position_embeddings"]
        lo_wl, hi_wl = old / lo, old / hi
        wl = 2 * math.pi / inv
        scaled = torch.where(wl > lo_wl, inv / factor, inv)
        smooth = (old / wl - lo) / (hi - lo)
        smoothed = (1 - smooth) * scaled / factor + smooth * scaled
        medium = ~(wl < hi_wl) * ~(wl > lo_wl)
        inv = torch.where(medium, smoothed, scaled)
    return inv


def rms(x, w, eps):
    var = x.pow(2).mean(-1, keepdim=True)
    return w * (x * torch.rsqrt(var + eps))


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat((-x[..., h:], x[..., :h]), dim=-1)


def forward(cfg, weights, ids):
    """-> (logits [T, vocab], [hidden.0 .. hidden.L] each [T, d]) in float32."""
    W = {k: t.float() for k, t in weights.items()}
    hd, nh, nkv = dims(cfg)
    eps, T = cfg["rms_norm_eps"], len(ids)
    x = W["model.embed_tokens.weight"][torch.tensor(ids)]
    hidden = [x.clone()]
    freqs = torch.outer(torch.arange(T).float(), inv_freq(cfg))
    emb = torch.cat((freqs, freqs), dim=-1)
    cos, sin = emb.cos(), emb.sin()
    q_idx, k_idx = torch.arange(T)[:, None], torch.arange(T)[None, :]
    allowed = k_idx <= q_idx
    if cfg.get("sliding_window"):
        allowed &= k_idx > q_idx - cfg["sliding_window"]
    mask = torch.zeros(T, T).masked_fill(~allowed, float("-inf"))
    for l in range(cfg["num_hidden_layers"]):
        p = "model.layers.%d." % l
        h = rms(x, W[p + "input_layernorm.weight"], eps)

        def proj(name, n):
            y = h @ W[p + "self_attn.%s_proj.weight" % name].T
            if p + "self_attn.%s_proj.bias" % name in W:
                y = y + W[p + "self_attn.%s_proj.bias" % name]
            return y.view(T, n, hd).transpose(0, 1)

        q, k, v = proj("q", nh), proj("k", nkv), proj("v", nkv)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        k = k.repeat_interleave(nh // nkv, dim=0)
        v = v.repeat_interleave(nh // nkv, dim=0)
        att = torch.softmax(q @ k.transpose(1, 2) * hd ** -0.5 + mask, dim=-1) @ v
        x = x + att.transpose(0, 1).reshape(T, nh * hd) @ W[p + "self_attn.o_proj.weight"].T
        h2 = rms(x, W[p + "post_attention_layernorm.weight"], eps)
        g = torch.nn.functional.silu(h2 @ W[p + "mlp.gate_proj.weight"].T)
        x = x + (g * (h2 @ W[p + "mlp.up_proj.weight"].T)) @ W[p + "mlp.down_proj.weight"].T
        hidden.append(x.clone())
    lm = W["lm_head.weight"] if "lm_head.weight" in W else W["model.embed_tokens.weight"]
    logits = rms(x, W["model.norm.weight"], eps) @ lm.T
    return logits, hidden


def greedy(cfg, weights, ids, n):
    ids = list(ids)
    out = []
    for _ in range(n):
        logits, _ = forward(cfg, weights, ids)
        t = int(torch.argmax(logits[-1]))
        out.append(t)
        ids.append(t)
    return out


def rel_err(a, b):
    return float((a - b).abs().max() / b.abs().max().clamp_min(1e-30))


def safearith(*args, check=True):
    exe = os.environ["SAFEARITH"]
    r = subprocess.run([exe, *map(str, args)], capture_output=True, text=True)
    if check and r.returncode != 0:
        raise RuntimeError("safearith %s failed (%d): %s" % (args[0], r.returncode, r.stderr.strip()))
    return r
