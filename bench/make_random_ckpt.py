"""make_random_ckpt.py: write a random-weight Llama checkpoint of a given shape, for benchmarks.

usage: /usr/bin/python3 bench/make_random_ckpt.py {tinyllama|110m|tiny} OUT_DIR [dtype=bf16]

Shapes: tinyllama = TinyLlama-1.1B (hidden 2048, MLP 5632, 22 layers, 32 heads, 4 KV heads,
vocab 32000, untied); 110m = hidden 768, MLP 2048, 12 layers, 12 heads, vocab 32000, tied
(about 110M parameters); tiny = hidden 64, MLP 128, 1 layer, vocab 512, tied (its time per
token is an engine's fixed cost per step). Tensors are written one at a time (header first,
then each tensor's bytes), so memory stays at one tensor, not one model.
"""
import json
import os
import struct
import sys

import torch

SHAPES = {
    "tinyllama": dict(hidden_size=2048, intermediate_size=5632, num_hidden_layers=22,
                      num_attention_heads=32, num_key_value_heads=4, vocab_size=32000,
                      tie_word_embeddings=False),
    "110m": dict(hidden_size=768, intermediate_size=2048, num_hidden_layers=12,
                 num_attention_heads=12, num_key_value_heads=12, vocab_size=32000,
                 tie_word_embeddings=True),
    "tiny": dict(hidden_size=64, intermediate_size=128, num_hidden_layers=1,
                 num_attention_heads=4, num_key_value_heads=4, vocab_size=512,
                 tie_word_embeddings=True),
}


def tensor_shapes(c):
    d, f, v = c["hidden_size"], c["intermediate_size"], c["vocab_size"]
    hd = d // c["num_attention_heads"]
    q, kv = c["num_attention_heads"] * hd, c["num_key_value_heads"] * hd
    out = [("model.embed_tokens.weight", (v, d))]
    for l in range(c["num_hidden_layers"]):
        p = "model.layers.%d." % l
        out += [(p + "input_layernorm.weight", (d,)), (p + "post_attention_layernorm.weight", (d,)),
                (p + "self_attn.q_proj.weight", (q, d)), (p + "self_attn.k_proj.weight", (kv, d)),
                (p + "self_attn.v_proj.weight", (kv, d)), (p + "self_attn.o_proj.weight", (d, q)),
                (p + "mlp.gate_proj.weight", (f, d)), (p + "mlp.up_proj.weight", (f, d)),
                (p + "mlp.down_proj.weight", (d, f))]
    out.append(("model.norm.weight", (d,)))
    if not c["tie_word_embeddings"]:
        out.append(("lm_head.weight", (v, d)))
    return out


def main():
    kind, out = sys.argv[1], sys.argv[2]
    dtype = {"bf16": torch.bfloat16, "f16": torch.float16, "f32": torch.float32}[
        sys.argv[3] if len(sys.argv) > 3 else "bf16"]
    name = {torch.bfloat16: "BF16", torch.float16: "F16", torch.float32: "F32"}[dtype]
    esize = torch.tensor([], dtype=dtype).element_size()
    cfg = dict(SHAPES[kind], architectures=["LlamaForCausalLM"], model_type="llama",
               rms_norm_eps=1e-5, rope_theta=10000.0, max_position_embeddings=2048,
               hidden_act="silu", bos_token_id=1, eos_token_id=2)
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(cfg, f, indent=1)
    shapes = tensor_shapes(cfg)
    header, off = {}, 0
    for n, s in shapes:
        nb = esize
        for x in s:
            nb *= x
        header[n] = {"dtype": name, "shape": list(s), "data_offsets": [off, off + nb]}
        off += nb
    h = json.dumps(header).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    g = torch.Generator().manual_seed(0)
    with open(os.path.join(out, "model.safetensors"), "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for n, s in shapes:
            if len(s) == 1:
                t = torch.ones(s)
            else:
                t = torch.randn(s, generator=g) / (s[1] ** 0.5)
            f.write(t.to(dtype).reshape(-1).view(torch.uint8).numpy().tobytes())
    print("wrote %s: %.1f M parameters, %.2f GB" % (out, off / esize / 1e6, off / 1e9))


if __name__ == "__main__":
    main()
