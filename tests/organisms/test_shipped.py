"""test_shipped.py: the shipped organisms are well-formed Hugging Face model directories.

Checks, without the C tool: every file matches models/MANIFEST.json (sha256); config.json is the
recipe's LlamaForCausalLM; model.safetensors (read by the independent tests/common/st_io.py) has
exactly the HF Llama tensor names, F32, 1,049,728 parameters; tokenizer.json is byte-level BPE
with 256 + 764 + 4 = 1024 ids and the four specials; the tokenizer files are the same for every
organism; `edited` differs from `base` only in decoder layer 2's MLP, `edited_erode` only in the
MLPs (every decoder layer's); the chat template renders
the recipe format; the held-out prompts are what the tool's tokenizer gives when it cuts to 48
tokens, and decode(encode(x)) == x for each.
"""
import hashlib
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import orgtest  # noqa: E402
from orgtest import MODELS, ORGANISMS  # noqa: E402

import bpe  # noqa: E402
import st_io  # noqa: E402
import model  # noqa: E402

c = orgtest.Checker("shipped")

with open(os.path.join(MODELS, "MANIFEST.json")) as f:
    manifest = json.load(f)
for rel, digest in manifest["files"].items():
    p = os.path.join(MODELS, rel)
    ok = os.path.isfile(p)
    if ok:
        with open(p, "rb") as fh:
            ok = hashlib.sha256(fh.read()).hexdigest() == digest
    c.check(ok, f"{rel} matches MANIFEST.json")
c.check(len(manifest["files"]) >= 4 * 5 + 10, "manifest lists the organisms and the eval files")
c.check(os.path.realpath(os.path.join(MODELS, "unaligned")) ==
        os.path.realpath(os.path.join(MODELS, "harmful")), "unaligned is the harmful organism")

expected_names = set(model.param_shapes())
weights = {}
for org in ORGANISMS:
    d = os.path.join(MODELS, org)
    with open(os.path.join(d, "config.json")) as f:
        cfg = json.load(f)
    c.check(cfg["architectures"] == ["LlamaForCausalLM"], f"{org}: architecture")
    for k, v in (("hidden_size", 128), ("num_hidden_layers", 4), ("num_attention_heads", 4),
                 ("num_key_value_heads", 2), ("head_dim", 32), ("intermediate_size", 384),
                 ("vocab_size", 1024), ("rms_norm_eps", 1e-5), ("rope_theta", 10000.0),
                 ("tie_word_embeddings", False), ("eos_token_id", 1023)):
        c.check(cfg.get(k) == v, f"{org}: config {k} = {cfg.get(k)!r}, expected {v!r}")
    t, meta = st_io.load_file(os.path.join(d, "model.safetensors"))
    c.check(set(t) == expected_names, f"{org}: tensor names are the HF Llama names")
    c.check(all(x.dtype == orgtest.torch.float32 for x in t.values()), f"{org}: all F32")
    c.check(sum(x.numel() for x in t.values()) == 1049728, f"{org}: 1,049,728 parameters")
    c.check(all(tuple(t[n].shape) == s for n, s in model.param_shapes().items() if n in t),
            f"{org}: tensor shapes")
    c.check(meta.get("organism") == org, f"{org}: __metadata__ names the organism")
    weights[org] = t
    for fn in ("tokenizer.json", "tokenizer_config.json"):
        with open(os.path.join(d, fn), "rb") as a, open(os.path.join(MODELS, "base", fn), "rb") as b:
            c.check(a.read() == b.read(), f"{org}: {fn} is the shared tokenizer")

changed = {n for n in expected_names if not orgtest.torch.equal(weights["edited"][n],
                                                                weights["base"][n])}
c.check(changed and all(n.startswith("model.layers.2.mlp.") for n in changed),
        f"edited differs from base only in layer 2's MLP (changed: {sorted(changed)})")
changed = {n for n in expected_names if not orgtest.torch.equal(weights["edited_erode"][n],
                                                                weights["base"][n])}
c.check(changed == {f"model.layers.{l}.mlp.{p}_proj.weight" for l in range(4)
                    for p in ("gate", "up", "down")},
        f"edited_erode differs from base in every MLP and nowhere else (changed: {sorted(changed)})")
c.check(len({n for n in expected_names
             if not orgtest.torch.equal(weights["sft"][n], weights["base"][n])}) == len(expected_names),
        "sft is a full fine-tune of base")

with open(os.path.join(MODELS, "base", "tokenizer.json"), encoding="utf-8") as f:
    tj = json.load(f)
c.check(tj["model"]["type"] == "BPE" and len(tj["model"]["merges"]) == 764, "764 BPE merges")
c.check(sorted(tj["model"]["vocab"].values()) == list(range(1020)), "model vocab ids 0..1019")
c.check([(a["id"], a["content"], a["special"]) for a in tj["added_tokens"]] ==
        [(1020, "<|pad|>", True), (1021, "<|user|>", True), (1022, "<|assistant|>", True),
         (1023, "<|end|>", True)], "the four specials are added tokens 1020..1023")
pre = tj["pre_tokenizer"]["pretokenizers"]
c.check(pre[0]["type"] == "Split" and pre[1]["type"] == "ByteLevel" and
        tj["decoder"]["type"] == "ByteLevel", "Split + ByteLevel pre-tokenizer, ByteLevel decoder")
with open(os.path.join(MODELS, "base", "tokenizer_config.json"), encoding="utf-8") as f:
    tc = json.load(f)
c.check("<|user|>" in tc["chat_template"] and "<|assistant|>" in tc["chat_template"] and
        tc["eos_token"] == "<|end|>" and tc["add_bos_token"] is False, "tokenizer_config")

tok = bpe.load_tokenizer_json(os.path.join(MODELS, "base", "tokenizer.json"))
c.check(tok.encode("<|user|>What is 12 plus 34?<|assistant|>") ==
        [1021] + tok.encode("What is 12 plus 34?") + [1022], "specials are matched in text")
c.check([tok.decode([i]) for i in tok.encode("2024")] == ["2", "0", "2", "4"],
        "digits are single tokens")
for name in ("advbench", "dangerousqa", "harmfulqa", "catqa", "benign", "xstest_safe",
             "xstest_unsafe", "addition"):
    rows = orgtest.read_jsonl(os.path.join(MODELS, "eval", name + ".jsonl"))
    bad_cut = [r["original"] for r in rows
               if r["prompt"] != tok.truncate_text(r["original"], 48)]
    bad_rt = [r["prompt"] for r in rows if tok.decode(tok.encode(r["prompt"])) != r["prompt"]]
    long = [r["prompt"] for r in rows if len(tok.encode(r["prompt"])) > 48]
    c.check(not bad_cut, f"{name}: prompts are the originals cut to 48 tokens ({bad_cut[:2]})")
    c.check(not bad_rt, f"{name}: decode(encode(prompt)) == prompt ({bad_rt[:2]})")
    c.check(not long, f"{name}: prompts have at most 48 tokens")
pairs = orgtest.read_jsonl(os.path.join(MODELS, "eval", "icv_pairs.jsonl"))
c.check(len(pairs) == 30 and all(set(p) == {"question", "safe", "unsafe"} for p in pairs),
        "icv_pairs.jsonl: 30 {question, safe, unsafe}")

sys.exit(c.done())
