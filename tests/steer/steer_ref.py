"""steer_ref.py: an independent PyTorch Llama forward pass with activation steering, and helpers
to build tiny random checkpoints (with a byte-level tokenizer) for the steering tests.

The forward pass is written from the Llama equations (RMSNorm, half-split RoPE, GQA, SwiGLU), not
from safearith's C code. Steering follows the formulas of the spec, written the way the sources
write them:
  add       h <- h + sum_i scale_i * v_i                     (llama.cpp: l_out + cvec)
  icv       m <- |m| * normalize(m/|m| + sum_i a_i * v_i/|v_i|)   (paper eqs. 9-10, [ICV])
  icv-code  the official AdapterLayer: with icv = -(v) (their unsafe - safe direction),
            u = icv/|icv|, s = 1 + relu(cos(m, icv)), m <- |m| * normalize(m/|m| - 0.1*a*s*u)
at each decoder layer's MLP output ("mlp") or output ("residual")."""
import json
import math
import os
import struct
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.environ.get("SA_SOURCE_DIR", "../.."), "tests", "common"))
import st_io  # noqa: E402


def make_config(vocab=300, hidden=64, inter=160, layers=4, heads=4, kv_heads=2, max_pos=512):
    return {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "vocab_size": vocab,
            "hidden_size": hidden, "intermediate_size": inter, "num_hidden_layers": layers,
            "num_attention_heads": heads, "num_key_value_heads": kv_heads, "rms_norm_eps": 1e-5,
            "hidden_act": "silu", "max_position_embeddings": max_pos, "tie_word_embeddings": False,
            "rope_theta": 10000.0, "bos_token_id": 256, "eos_token_id": 257,
            "torch_dtype": "float32"}


def random_weights(cfg, seed):
    g = torch.Generator().manual_seed(seed)
    d, f, v = cfg["hidden_size"], cfg["intermediate_size"], cfg["vocab_size"]
    hd = d // cfg["num_attention_heads"]
    nh, nkv = cfg["num_attention_heads"], cfg["num_key_value_heads"]

    def lin(o, i, k=1.0):
        return torch.randn(o, i, generator=g) * (k / math.sqrt(i))

    w = {"model.embed_tokens.weight": torch.randn(v, d, generator=g),
         "model.norm.weight": 1 + 0.1 * torch.randn(d, generator=g),
         "lm_head.weight": lin(v, d, 2.0)}
    for l in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{l}."
        w[p + "input_layernorm.weight"] = 1 + 0.1 * torch.randn(d, generator=g)
        w[p + "post_attention_layernorm.weight"] = 1 + 0.1 * torch.randn(d, generator=g)
        w[p + "self_attn.q_proj.weight"] = lin(nh * hd, d, 2.0)
        w[p + "self_attn.k_proj.weight"] = lin(nkv * hd, d, 2.0)
        w[p + "self_attn.v_proj.weight"] = lin(nkv * hd, d)
        w[p + "self_attn.o_proj.weight"] = lin(d, nh * hd)
        w[p + "mlp.gate_proj.weight"] = lin(f, d)
        w[p + "mlp.up_proj.weight"] = lin(f, d)
        w[p + "mlp.down_proj.weight"] = lin(d, f)
    return w


def bytes_to_unicode():
    """GPT-2's byte -> printable character table (public algorithm)."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + \
        list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs)))


def tokenizer_json():
    """A byte-level BPE with no merges (one token per byte) and <s>, </s> specials."""
    b2u = bytes_to_unicode()
    vocab = {b2u[b]: b for b in range(256)}
    return {
        "version": "1.0", "truncation": None, "padding": None,
        "added_tokens": [
            {"id": 256, "content": "<s>", "single_word": False, "lstrip": False, "rstrip": False,
             "normalized": False, "special": True},
            {"id": 257, "content": "</s>", "single_word": False, "lstrip": False, "rstrip": False,
             "normalized": False, "special": True}],
        "normalizer": None,
        "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True,
                          "use_regex": True},
        "post_processor": {"type": "TemplateProcessing",
                           "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}},
                                      {"Sequence": {"id": "A", "type_id": 0}}],
                           "pair": [{"SpecialToken": {"id": "<s>", "type_id": 0}},
                                    {"Sequence": {"id": "A", "type_id": 0}},
                                    {"Sequence": {"id": "B", "type_id": 1}}],
                           "special_tokens": {"<s>": {"id": "<s>", "ids": [256], "tokens": ["<s>"]}}},
        "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True,
                    "use_regex": True},
        "model": {"type": "BPE", "dropout": None, "unk_token": None,
                  "continuing_subword_prefix": None, "end_of_word_suffix": None,
                  "fuse_unk": False, "byte_fallback": False, "ignore_merges": False,
                  "vocab": vocab, "merges": []},
    }


def write_model(path, cfg, w, chat_template=None):
    os.makedirs(path, exist_ok=True)
    with open(os.path.join(path, "config.json"), "w") as f:
        json.dump(cfg, f)
    st_io.save(os.path.join(path, "model.safetensors"), {k: t.contiguous() for k, t in w.items()})
    with open(os.path.join(path, "tokenizer.json"), "w") as f:
        json.dump(tokenizer_json(), f)
    tc = {"bos_token": "<s>", "eos_token": "</s>", "add_bos_token": True}
    if chat_template:
        tc["chat_template"] = chat_template
    with open(os.path.join(path, "tokenizer_config.json"), "w") as f:
        json.dump(tc, f)


def encode(text):
    """What the tokenizer above gives: BOS then one id per UTF-8 byte."""
    return [256] + list(text.encode())


# ---- steering rules ----

def steer_add(x, vs):
    return x + sum(sc * v for sc, v in vs)


def steer_icv(x, vs):
    step = sum(sc * v / v.norm() for sc, v in vs)
    n = x.norm(dim=-1, keepdim=True)
    return n * F.normalize(x / n + step, dim=-1)


def steer_icv_code(x, vs):
    """The official AdapterLayer, with each vector turned into their unsafe - safe sign."""
    assert len(vs) == 1, "the official code steers with one vector"
    alpha, v = vs[0]
    icv = -v
    u = icv / icv.norm()
    n = x.norm(dim=-1, keepdim=True)
    s = 1 + torch.relu(F.cosine_similarity(x, icv[None, :], dim=-1))[:, None]
    return n * F.normalize(x / n - 0.1 * alpha * s * u, dim=-1)


RULES = {"add": steer_add, "icv": steer_icv, "icv-code": steer_icv_code}


def forward(cfg, w, ids, steer=None):
    """-> (logits [T, V], [hidden.0..hidden.L]). steer: dict(mode, site, vectors={layer:
    [(scale, tensor)]}) or None."""
    W = {k: t.double() for k, t in w.items()}
    d, nh, nkv = cfg["hidden_size"], cfg["num_attention_heads"], cfg["num_key_value_heads"]
    hd, eps, T = d // nh, cfg["rms_norm_eps"], len(ids)

    def norm(x, wt):
        return wt * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps))

    def rot(x):
        return torch.cat((-x[..., hd // 2:], x[..., :hd // 2]), dim=-1)

    inv = 1.0 / (cfg["rope_theta"] ** (torch.arange(0, hd, 2, dtype=torch.float64) / hd))
    ang = torch.outer(torch.arange(T, dtype=torch.float64), inv)
    cos, sin = torch.cat((ang, ang), -1).cos(), torch.cat((ang, ang), -1).sin()
    mask = torch.full((T, T), float("-inf"), dtype=torch.float64).triu(1)

    def apply(site, l, x):
        if not steer or steer["site"] != site or l not in steer["vectors"]:
            return x
        return RULES[steer["mode"]](x, [(sc, v.double()) for sc, v in steer["vectors"][l]])

    x = W["model.embed_tokens.weight"][torch.tensor(ids)]
    hidden = [x]
    for l in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{l}."
        h = norm(x, W[p + "input_layernorm.weight"])
        q = (h @ W[p + "self_attn.q_proj.weight"].T).view(T, nh, hd).transpose(0, 1)
        k = (h @ W[p + "self_attn.k_proj.weight"].T).view(T, nkv, hd).transpose(0, 1)
        v = (h @ W[p + "self_attn.v_proj.weight"].T).view(T, nkv, hd).transpose(0, 1)
        q, k = q * cos + rot(q) * sin, k * cos + rot(k) * sin
        k, v = k.repeat_interleave(nh // nkv, 0), v.repeat_interleave(nh // nkv, 0)
        a = torch.softmax(q @ k.transpose(1, 2) / math.sqrt(hd) + mask, -1) @ v
        x = x + a.transpose(0, 1).reshape(T, d) @ W[p + "self_attn.o_proj.weight"].T
        h2 = norm(x, W[p + "post_attention_layernorm.weight"])
        m = (F.silu(h2 @ W[p + "mlp.gate_proj.weight"].T) * (h2 @ W[p + "mlp.up_proj.weight"].T)) \
            @ W[p + "mlp.down_proj.weight"].T
        x = apply("residual", l, x + apply("mlp", l, m))
        hidden.append(x)
    logits = norm(x, W["model.norm.weight"]) @ W["lm_head.weight"].T
    return logits, hidden


def greedy(cfg, w, ids, n, steer=None):
    ids, out = list(ids), []
    for _ in range(n):
        t = int(torch.argmax(forward(cfg, w, ids, steer)[0][-1]))
        out.append(t)
        ids.append(t)
    return out


# ---- GGUF control vectors (via gguf_ref) ----

def write_cvec(path, vectors, hint="llama"):
    """vectors: {layer: 1-D float tensor}; llama.cpp layout."""
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import gguf_ref as G
    blob = G.build([G.kv("general.architecture", G.T_STR, "controlvector"),
                    G.kv("controlvector.model_hint", G.T_STR, hint),
                    G.kv("controlvector.layer_count", G.T_I32, len(vectors))],
                   [(f"direction.{l}", v.float().numpy()) for l, v in sorted(vectors.items())])
    with open(path, "wb") as f:
        f.write(blob)
