"""make_gguf.py: write a llama.cpp GGUF file of a Llama checkpoint, for timing llama.cpp on it.

usage: /usr/bin/python3 bench/make_gguf.py CKPT_DIR OUT.gguf

For benchmarks only: it takes the random-weight checkpoints of bench/make_random_ckpt.py (one
model.safetensors, a config.json of LlamaForCausalLM) and writes the same weights in the same
dtype (norms in float32, as llama.cpp's converter does), so that llama.cpp reads as many bytes
per token as we do. The tokenizer is a placeholder (the special tokens, the 256 byte tokens,
then "t<id>"): the benchmark feeds token ids. q and k are not permuted into llama.cpp's rotary
layout, so its outputs are not those of our engine; only the speed is compared. Tensors are
copied one at a time, so memory stays at one tensor.
"""
import json
import os
import struct
import sys

import numpy as np

GGUF_U32, GGUF_I32, GGUF_F32, GGUF_STRING, GGUF_ARRAY = 4, 5, 6, 8, 9
GGML_TYPE = {"F32": 0, "F16": 1, "BF16": 30}
ALIGN = 32

LAYER_NAMES = {
    "input_layernorm": "attn_norm", "post_attention_layernorm": "ffn_norm",
    "self_attn.q_proj": "attn_q", "self_attn.k_proj": "attn_k", "self_attn.v_proj": "attn_v",
    "self_attn.o_proj": "attn_output", "mlp.gate_proj": "ffn_gate", "mlp.up_proj": "ffn_up",
    "mlp.down_proj": "ffn_down",
}


def gguf_name(hf):
    if hf == "model.embed_tokens.weight":
        return "token_embd.weight"
    if hf == "model.norm.weight":
        return "output_norm.weight"
    if hf == "lm_head.weight":
        return "output.weight"
    parts = hf.split(".")
    assert parts[:2] == ["model", "layers"] and parts[-1] == "weight", hf
    return "blk.%s.%s.weight" % (parts[2], LAYER_NAMES[".".join(parts[3:-1])])


def gstr(s):
    b = s.encode()
    return struct.pack("<Q", len(b)) + b


def kv(key, vtype, value):
    out = gstr(key) + struct.pack("<I", vtype)
    if vtype == GGUF_STRING:
        return out + gstr(value)
    if vtype == GGUF_ARRAY:
        etype, items = value
        out += struct.pack("<IQ", etype, len(items))
        if etype == GGUF_STRING:
            return out + b"".join(gstr(x) for x in items)
        return out + np.asarray(items, dtype={GGUF_F32: "<f4", GGUF_I32: "<i4"}[etype]).tobytes()
    return out + struct.pack({GGUF_U32: "<I", GGUF_F32: "<f"}[vtype], value)


def metadata(c):
    v = c["vocab_size"]
    heads = c["num_attention_heads"]
    head_dim = c.get("head_dim", c["hidden_size"] // heads)
    tokens = ["<unk>", "<s>", "</s>"] + ["<0x%02X>" % b for b in range(256)]
    types = [2, 3, 3] + [6] * 256
    tokens += ["t%d" % i for i in range(len(tokens), v)]
    types += [1] * (v - len(types))
    items = [
        ("general.architecture", GGUF_STRING, "llama"),
        ("general.name", GGUF_STRING, "safearith-bench"),
        ("general.alignment", GGUF_U32, ALIGN),
        ("llama.context_length", GGUF_U32, c["max_position_embeddings"]),
        ("llama.embedding_length", GGUF_U32, c["hidden_size"]),
        ("llama.block_count", GGUF_U32, c["num_hidden_layers"]),
        ("llama.feed_forward_length", GGUF_U32, c["intermediate_size"]),
        ("llama.rope.dimension_count", GGUF_U32, head_dim),
        ("llama.attention.head_count", GGUF_U32, heads),
        ("llama.attention.head_count_kv", GGUF_U32, c.get("num_key_value_heads", heads)),
        ("llama.attention.layer_norm_rms_epsilon", GGUF_F32, c["rms_norm_eps"]),
        ("llama.rope.freq_base", GGUF_F32, c.get("rope_theta", 10000.0)),
        ("llama.vocab_size", GGUF_U32, v),
        ("tokenizer.ggml.model", GGUF_STRING, "llama"),
        ("tokenizer.ggml.tokens", GGUF_ARRAY, (GGUF_STRING, tokens)),
        ("tokenizer.ggml.scores", GGUF_ARRAY, (GGUF_F32, [0.0] * v)),
        ("tokenizer.ggml.token_type", GGUF_ARRAY, (GGUF_I32, types)),
        ("tokenizer.ggml.unknown_token_id", GGUF_U32, 0),
        ("tokenizer.ggml.bos_token_id", GGUF_U32, c.get("bos_token_id", 1)),
        ("tokenizer.ggml.eos_token_id", GGUF_U32, c.get("eos_token_id", 2)),
    ]
    return b"".join(kv(*i) for i in items), len(items)


def read_safetensors_header(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
    header.pop("__metadata__", None)
    return header, 8 + n


def plan(header):
    """(gguf name, hf name, ggml type, dims innermost first, offset, size) per tensor."""
    out, off = [], 0
    for hf, t in header.items():
        dtype = "F32" if len(t["shape"]) == 1 else t["dtype"]
        esize = 4 if dtype == "F32" else 2
        size = esize
        for x in t["shape"]:
            size *= x
        out.append((gguf_name(hf), hf, dtype, list(reversed(t["shape"])), off, size))
        off += (size + ALIGN - 1) // ALIGN * ALIGN
    return out


def tensor_bytes(st, data_start, t, dtype):
    a, b = t["data_offsets"]
    raw = np.memmap(st, dtype=np.uint8, mode="r", offset=data_start + a, shape=(b - a,))
    if dtype != "F32" or t["dtype"] == "F32":
        return raw.tobytes()
    if t["dtype"] == "BF16":
        return (raw.view("<u2").astype("<u4") << 16).view("<f4").tobytes()
    return raw.view("<f2").astype("<f4").tobytes()


def main():
    ckpt, out = sys.argv[1], sys.argv[2]
    with open(os.path.join(ckpt, "config.json")) as f:
        c = json.load(f)
    st = os.path.join(ckpt, "model.safetensors")
    header, data_start = read_safetensors_header(st)
    tensors = plan(header)
    meta, n_kv = metadata(c)
    head = b"GGUF" + struct.pack("<IQQ", 3, len(tensors), n_kv) + meta
    for name, _, dtype, dims, off, _ in tensors:
        head += gstr(name) + struct.pack("<I", len(dims))
        head += b"".join(struct.pack("<Q", d) for d in dims)
        head += struct.pack("<IQ", GGML_TYPE[dtype], off)
    head += b"\0" * ((ALIGN - len(head) % ALIGN) % ALIGN)
    tmp = out + ".tmp"
    with open(tmp, "wb") as f:
        f.write(head)
        for _, hf, dtype, _, off, size in tensors:
            f.seek(len(head) + off)
            data = tensor_bytes(st, data_start, header[hf], dtype)
            assert len(data) == size, hf
            f.write(data)
        f.write(b"\0" * ((ALIGN - f.tell() % ALIGN) % ALIGN))
    os.replace(tmp, out)
    print("wrote %s: %d tensors" % (out, len(tensors)))


if __name__ == "__main__":
    main()
