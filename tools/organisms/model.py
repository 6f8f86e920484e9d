"""model.py: the organisms' Llama decoder in PyTorch, with Hugging Face parameter names, and its
export to / import from a Hugging Face model directory (config.json + model.safetensors, F32).

Architecture (HF LlamaForCausalLM semantics): RMSNorm in float32 (eps 1e-5), half-split RoPE
(theta 1e4), GQA attention, SwiGLU MLP, untied lm_head. The forward pass can return the residual
stream after every layer and can steer every layer's MLP output (ICV, see arith.py).
"""
import json
import math
import os
import struct

import torch
import torch.nn.functional as F

CONFIG = {
    "vocab_size": 1024, "hidden_size": 128, "intermediate_size": 384, "num_hidden_layers": 4,
    "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 32,
    "max_position_embeddings": 128, "rms_norm_eps": 1e-5, "rope_theta": 10000.0,
}


def param_shapes(cfg=CONFIG):
    d, f, hd = cfg["hidden_size"], cfg["intermediate_size"], cfg["head_dim"]
    nq, nkv, v = cfg["num_attention_heads"] * hd, cfg["num_key_value_heads"] * hd, cfg["vocab_size"]
    shapes = {"model.embed_tokens.weight": (v, d)}
    for i in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{i}."
        shapes.update({
            p + "input_layernorm.weight": (d,),
            p + "self_attn.q_proj.weight": (nq, d), p + "self_attn.k_proj.weight": (nkv, d),
            p + "self_attn.v_proj.weight": (nkv, d), p + "self_attn.o_proj.weight": (d, nq),
            p + "post_attention_layernorm.weight": (d,),
            p + "mlp.gate_proj.weight": (f, d), p + "mlp.up_proj.weight": (f, d),
            p + "mlp.down_proj.weight": (d, f),
        })
    shapes["model.norm.weight"] = (d,)
    shapes["lm_head.weight"] = (v, d)
    return shapes


def init_params(seed, cfg=CONFIG):
    """Matrices N(0, 0.02), norm weights 1, drawn in param_shapes order from one generator."""
    g = torch.Generator().manual_seed(seed)
    out = {}
    for name, shape in param_shapes(cfg).items():
        if len(shape) == 1:
            out[name] = torch.ones(shape)
        else:
            out[name] = torch.randn(shape, generator=g) * 0.02
    return out


def rms_norm(x, w, eps):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w


def rope_tables(n_pos, cfg=CONFIG):
    hd = cfg["head_dim"]
    inv = 1.0 / (cfg["rope_theta"] ** (torch.arange(0, hd, 2, dtype=torch.float64) / hd))
    ang = torch.arange(n_pos, dtype=torch.float64)[:, None] * inv[None, :]
    emb = torch.cat([ang, ang], dim=-1)
    return emb.cos().float(), emb.sin().float()


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat([-x[..., h:], x[..., :h]], dim=-1)


class Steer:
    """ICV steering (the paper's eqs. 9-10) of each layer's MLP output m (site "mlp") or of the
    layer's output, the residual stream (site "residual"): m' = |m| * normalize(m/|m| + alpha *
    v_l/|v_l|) at every position. vectors: [L, d] (layers without a vector: zero rows are skipped)."""

    def __init__(self, vectors, alpha, layers=None, site="mlp"):
        if site not in ("mlp", "residual"):
            raise ValueError(site)
        self.unit = vectors / vectors.norm(dim=-1, keepdim=True).clamp_min(1e-30)
        self.active = [bool(vectors[i].abs().sum() > 0) and (layers is None or i in layers)
                       for i in range(vectors.shape[0])]
        self.alpha = alpha
        self.site = site

    def apply(self, layer, m):
        if not self.active[layer]:
            return m
        n = m.norm(dim=-1, keepdim=True)
        u = m / n.clamp_min(1e-30) + self.alpha * self.unit[layer]
        return n * u / u.norm(dim=-1, keepdim=True).clamp_min(1e-30)


def forward(params, ids, cfg=CONFIG, cache=None, pos0=0, steer=None, want_hidden=False):
    """Logits [B, T, V] for token ids [B, T] at positions pos0..pos0+T-1.
    cache: None, or a list (one (k, v) per layer) extended in place for incremental decoding.
    want_hidden: also return [hidden.0 .. hidden.L], each [B, T, d] (hidden.L before the final norm)."""
    B, T = ids.shape
    L, hd = cfg["num_hidden_layers"], cfg["head_dim"]
    nh, nkv, eps = cfg["num_attention_heads"], cfg["num_key_value_heads"], cfg["rms_norm_eps"]
    cos, sin = rope_tables(pos0 + T, cfg)
    cos, sin = cos[pos0:], sin[pos0:]
    x = F.embedding(ids, params["model.embed_tokens.weight"])
    hidden = [x] if want_hidden else None
    for i in range(L):
        p = f"model.layers.{i}."
        h = rms_norm(x, params[p + "input_layernorm.weight"], eps)
        q = (h @ params[p + "self_attn.q_proj.weight"].T).view(B, T, nh, hd).transpose(1, 2)
        k = (h @ params[p + "self_attn.k_proj.weight"].T).view(B, T, nkv, hd).transpose(1, 2)
        v = (h @ params[p + "self_attn.v_proj.weight"].T).view(B, T, nkv, hd).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        if cache is not None:
            if len(cache) > i:
                k = torch.cat([cache[i][0], k], dim=2)
                v = torch.cat([cache[i][1], v], dim=2)
                cache[i] = (k, v)
            else:
                cache.append((k, v))
        rep = nh // nkv
        k = k.repeat_interleave(rep, dim=1)
        v = v.repeat_interleave(rep, dim=1)
        S = k.shape[2]
        att = (q @ k.transpose(-1, -2)) / math.sqrt(hd)
        qpos = torch.arange(S - T, S)[:, None]
        mask = torch.arange(S)[None, :] > qpos
        att = att.masked_fill(mask, float("-inf")).softmax(-1)
        o = (att @ v).transpose(1, 2).reshape(B, T, nh * hd)
        x = x + o @ params[p + "self_attn.o_proj.weight"].T
        h = rms_norm(x, params[p + "post_attention_layernorm.weight"], eps)
        g = h @ params[p + "mlp.gate_proj.weight"].T
        u = h @ params[p + "mlp.up_proj.weight"].T
        m = (F.silu(g) * u) @ params[p + "mlp.down_proj.weight"].T
        if steer is not None and steer.site == "mlp":
            m = steer.apply(i, m)
        x = x + m
        if steer is not None and steer.site == "residual":
            x = steer.apply(i, x)
        if want_hidden:
            hidden.append(x)
    logits = rms_norm(x, params["model.norm.weight"], eps) @ params["lm_head.weight"].T
    return (logits, hidden) if want_hidden else logits


# ---- Hugging Face directory export/import ----

def _safetensors_bytes(tensors, metadata):
    names = sorted(tensors)
    header, blobs, off = {"__metadata__": metadata}, [], 0
    for n in names:
        t = tensors[n].detach().to(torch.float32).contiguous()
        raw = t.numpy().tobytes()
        header[n] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    hj = json.dumps(header, separators=(",", ":"), sort_keys=True).encode()
    hj += b" " * ((8 - len(hj) % 8) % 8)
    return struct.pack("<Q", len(hj)) + hj + b"".join(blobs)


def save_safetensors(path, tensors, metadata=None):
    with open(path, "wb") as f:
        f.write(_safetensors_bytes(tensors, metadata or {"format": "pt"}))


def load_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    header.pop("__metadata__", None)
    out = {}
    for name, info in header.items():
        if info["dtype"] != "F32":
            raise ValueError(f"{path}: tensor {name} is {info['dtype']}, expected F32")
        s, e = info["data_offsets"]
        buf = bytearray(data[8 + n + s:8 + n + e])
        out[name] = torch.frombuffer(buf, dtype=torch.float32).reshape(info["shape"]).clone()
    return out


def hf_config(bos_id, eos_id, pad_id, cfg=CONFIG):
    c = {"architectures": ["LlamaForCausalLM"], "model_type": "llama"}
    c.update(cfg)
    c.update({"hidden_act": "silu", "tie_word_embeddings": False, "attention_bias": False,
              "mlp_bias": False, "rope_scaling": None, "initializer_range": 0.02,
              "bos_token_id": bos_id, "eos_token_id": eos_id, "pad_token_id": pad_id,
              "torch_dtype": "float32", "use_cache": True})
    return c


def save_model_dir(out_dir, params, tok, chat_template, metadata):
    from bpe import END_ID, PAD_ID, SPECIALS
    os.makedirs(out_dir, exist_ok=True)
    save_safetensors(os.path.join(out_dir, "model.safetensors"), params, metadata)
    with open(os.path.join(out_dir, "config.json"), "w") as f:
        json.dump(hf_config(END_ID, END_ID, PAD_ID), f, indent=2)
        f.write("\n")
    with open(os.path.join(out_dir, "generation_config.json"), "w") as f:
        json.dump({"bos_token_id": END_ID, "eos_token_id": END_ID, "pad_token_id": PAD_ID,
                   "do_sample": False, "max_new_tokens": 24}, f, indent=2)
        f.write("\n")
    tok.save_json(os.path.join(out_dir, "tokenizer.json"))
    tc = {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "add_bos_token": False, "add_eos_token": False,
        "bos_token": None, "eos_token": "<|end|>", "pad_token": "<|pad|>", "unk_token": None,
        "model_max_length": CONFIG["max_position_embeddings"],
        "clean_up_tokenization_spaces": False,
        "added_tokens_decoder": {
            str(tok.vocab[sp]): {"content": sp, "lstrip": False, "normalized": False,
                                 "rstrip": False, "single_word": False, "special": True}
            for sp in SPECIALS},
        "chat_template": chat_template,
    }
    with open(os.path.join(out_dir, "tokenizer_config.json"), "w") as f:
        json.dump(tc, f, indent=2)
        f.write("\n")


def load_model_dir(d):
    return load_safetensors(os.path.join(d, "model.safetensors"))
