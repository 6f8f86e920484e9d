"""test_gguf_export.py: what `safearith export-gguf` writes, checked field by field and tensor by
tensor against independent references (gguf_export_ref.py's numpy reader, permutation, F16/BF16
rounding and Q8_0 quantiser; the tokenizer files themselves), and what it refuses.

Running the exports in real llama.cpp is test_gguf_llamacpp.py."""
import hashlib
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.environ.get("SA_SOURCE_DIR", os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(SRC, "tests", "common"))
sys.path.insert(0, HERE)
import gguf_cases  # noqa: E402
import gguf_export_ref as G  # noqa: E402
import st_io  # noqa: E402
from checks import check, done  # noqa: E402
from scratch import make_tmp  # noqa: E402

SA = os.environ.get("SAFEARITH", os.path.join(SRC, "build", "safearith"))
TMP = make_tmp("sa-gguf-export-")
# token texts llama.cpp always treats as end-of-generation control tokens (llama-vocab.cpp)
LLAMACPP_EOG = {"<|eot_id|>", "<|im_end|>", "<|end|>", "<|return|>", "<|call|>", "<|flush|>", "<|calls|>",
                "<end_of_turn>", "<|endoftext|>", "</s>", "<|eom_id|>", "<EOT>", "_<EOT>", "[EOT]", "[EOS]",
                "<|end_of_text|>", "<end_of_utterance>", "<eos>", "<turn|>", "<|tool_response>",
                "<｜end▁of▁sentence｜>", "[e~["}


def export(model, out, *flags, ok=True):
    r = subprocess.run([SA, "export-gguf", model, "-o", out, *flags], capture_output=True, text=True)
    if ok and r.returncode != 0:
        print(r.stderr, file=sys.stderr)
    return r


def hf_tensors(d):
    return {k: v.float().numpy() for k, v in st_io.load(os.path.join(d, "model.safetensors")).items()}


def tokenizer_tokens(d, vocab_size):
    """tokens by id from tokenizer.json (model vocab, then added tokens), holes as None."""
    t = json.load(open(os.path.join(d, "tokenizer.json"), encoding="utf-8"))
    out = [None] * vocab_size
    for tok, i in t["model"]["vocab"].items():
        out[i] = tok
    for a in t["added_tokens"]:
        out[a["id"]] = a["content"]
    return t, out


def check_tensors(d, g, want_type, what):
    """Every HF tensor against its GGUF counterpart: name, type, permutation, rounding."""
    cfg = gguf_cases.config(d) if os.path.exists(os.path.join(d, "config.json")) else None
    meta, tens = g
    W = hf_tensors(d)
    heads, kv = cfg["num_attention_heads"], cfg.get("num_key_value_heads", cfg["num_attention_heads"])
    qwen = cfg["model_type"] == "qwen2"
    names = {"model.embed_tokens.weight": "token_embd.weight", "model.norm.weight": "output_norm.weight",
             "lm_head.weight": "output.weight"}
    sub = {"input_layernorm.weight": "attn_norm.weight", "post_attention_layernorm.weight": "ffn_norm.weight",
           "self_attn.q_proj.weight": "attn_q.weight", "self_attn.k_proj.weight": "attn_k.weight",
           "self_attn.v_proj.weight": "attn_v.weight", "self_attn.o_proj.weight": "attn_output.weight",
           "self_attn.q_proj.bias": "attn_q.bias", "self_attn.k_proj.bias": "attn_k.bias",
           "self_attn.v_proj.bias": "attn_v.bias", "mlp.gate_proj.weight": "ffn_gate.weight",
           "mlp.up_proj.weight": "ffn_up.weight", "mlp.down_proj.weight": "ffn_down.weight"}
    seen = set()
    for hf, w in W.items():
        if hf in names:
            gg = names[hf]
        else:
            parts = hf.split(".")
            gg = "blk.%s.%s" % (parts[2], sub[".".join(parts[3:])])
        if hf == "lm_head.weight" and cfg.get("tie_word_embeddings"):
            continue
        seen.add(gg)
        if gg not in tens:
            check(False, "%s: %s missing" % (what, gg))
            continue
        typ, dims, raw = tens[gg]
        check(dims == list(w.shape[::-1]), "%s: %s dims %s vs HF %s" % (what, gg, dims, w.shape))
        if not qwen and hf.endswith("q_proj.weight"):
            w = G.permute(w, heads)
        if not qwen and hf.endswith("k_proj.weight"):
            w = G.permute(w, kv)
        if w.ndim == 1:
            check(typ == G.F32, "%s: %s (1-D) is type %d, not F32" % (what, gg, typ))
            want = w
        else:
            t = want_type
            if t == G.Q8_0 and w.shape[1] % 32:
                t = G.F16  # the converter's fallback
            check(typ == t, "%s: %s type %d, expected %d" % (what, gg, typ, t))
            if typ == G.Q8_0:
                check(raw == G.q8_0(w), "%s: %s Q8_0 bytes differ from the numpy quantiser" % (what, gg))
                continue
            want = {G.F32: w, G.F16: G.f16_round(w), G.BF16: G.bf16_round(w)}[typ]
        got = G.to_f32(typ, dims, raw)
        check(np.array_equal(got, want), "%s: %s values differ (max %g)" %
              (what, gg, float(np.abs(got - want).max())))
    extra = set(tens) - seen - {"rope_freqs.weight"}
    check(not extra, "%s: unexpected GGUF tensors %s" % (what, sorted(extra)))
    check(("output.weight" in tens) == (not cfg.get("tie_word_embeddings")), what + ": output iff untied")


def check_arch(d, meta, what, ctx=None):
    cfg = gguf_cases.config(d)
    arch = "qwen2" if cfg["model_type"] == "qwen2" else "llama"
    hd = cfg.get("head_dim") or cfg["hidden_size"] // cfg["num_attention_heads"]
    want = {"general.architecture": arch, "general.alignment": 32,
            arch + ".block_count": cfg["num_hidden_layers"], arch + ".embedding_length": cfg["hidden_size"],
            arch + ".feed_forward_length": cfg["intermediate_size"],
            arch + ".attention.head_count": cfg["num_attention_heads"],
            arch + ".attention.head_count_kv": cfg["num_key_value_heads"],
            arch + ".attention.key_length": hd, arch + ".attention.value_length": hd,
            arch + ".rope.dimension_count": hd, arch + ".vocab_size": cfg["vocab_size"],
            arch + ".context_length": ctx or cfg["max_position_embeddings"]}
    for k, v in want.items():
        check(meta.get(k) == v, "%s: %s = %r, expected %r" % (what, k, meta.get(k), v))
    check(meta.get(arch + ".rope.freq_base") == np.float32(cfg.get("rope_theta", 10000.0)), what + ": rope theta")
    check(meta.get(arch + ".attention.layer_norm_rms_epsilon") == np.float32(cfg["rms_norm_eps"]), what + ": eps")


def check_bpe_vocab(d, meta, what, pre):
    cfg = gguf_cases.config(d)
    t, toks = tokenizer_tokens(d, cfg["vocab_size"])
    check(meta["tokenizer.ggml.model"] == "gpt2" and meta["tokenizer.ggml.pre"] == pre,
          "%s: tokenizer gpt2/%s, got %s/%s" % (what, pre, meta["tokenizer.ggml.model"],
                                                meta.get("tokenizer.ggml.pre")))
    want = [x if x is not None else "[PAD%d]" % i for i, x in enumerate(toks)]
    check(meta["tokenizer.ggml.tokens"] == want, what + ": tokens in id order (holes [PADn])")
    # control: special added tokens, added tokens that look like control tokens (the converter's
    # rule), and any token whose text llama.cpp makes an end-of-generation control token
    special = {a["id"]: a["special"] or (a["content"].startswith("<|") and a["content"].endswith("|>"))
               for a in t["added_tokens"]}
    types = [5 if x is None else 3 if x in LLAMACPP_EOG or special.get(i) else 4 if i in special else 1
             for i, x in enumerate(toks)]
    check(meta["tokenizer.ggml.token_type"] == types, what + ": token types")
    merges = [m if isinstance(m, str) else " ".join(m) for m in t["model"]["merges"]]
    check(meta["tokenizer.ggml.merges"] == merges, what + ": merges in rank order")
    check("tokenizer.ggml.scores" not in meta, what + ": no scores for gpt2")


def check_specials(d, meta, what):
    tc = json.load(open(os.path.join(d, "tokenizer_config.json"), encoding="utf-8"))
    check(meta.get("tokenizer.chat_template") == tc.get("chat_template"), what + ": chat template verbatim")
    info = json.loads(subprocess.run([SA, "tokenize", "--model", d, "--info"], capture_output=True,
                                     text=True).stdout)
    for key, field in (("bos_token_id", "bos_id"), ("eos_token_id", "eos_id"),
                       ("padding_token_id", "pad_id"), ("unknown_token_id", "unk_id")):
        got = meta.get("tokenizer.ggml." + key, -1)
        want = info.get(field, -1)
        if want == -1 and field == "bos_id":
            want = gguf_cases.config(d).get("bos_token_id") or -1
        check(got == want, "%s: %s = %r, tokenizer says %r" % (what, key, got, want))
    ids = json.loads(subprocess.run([SA, "tokenize", "--model", d, "--text", "hi", "--ids-only"],
                                    capture_output=True, text=True).stdout)
    plain = json.loads(subprocess.run([SA, "tokenize", "--model", d, "--text", "hi", "--ids-only",
                                       "--no-add-special"], capture_output=True, text=True).stdout)
    check(meta["tokenizer.ggml.add_bos_token"] == (len(ids) > len(plain) and ids[0] != plain[0]),
          what + ": add_bos_token as the post-processor")
    check(meta["tokenizer.ggml.add_eos_token"] == (ids[-1] != plain[-1]), what + ": add_eos_token")


def test_organism():
    d = os.path.join(SRC, "models", "sft")
    out = os.path.join(TMP, "sft.gguf")
    r = export(d, out)
    check(r.returncode == 0, "organism export: " + r.stderr)
    res = json.loads(r.stdout)
    check(res["architecture"] == "llama" and res["tokenizer"] == "gpt2" and res["pre"] == "qwen2",
          "organism result line: %s" % r.stdout)
    g = G.read(out)
    meta = g[0]
    check(meta["general.file_type"] == 0, "organism: F32 source gives file_type 0 (ALL_F32)")
    check_arch(d, meta, "sft")
    check_bpe_vocab(d, meta, "sft", "qwen2")
    check_specials(d, meta, "sft")
    check_tensors(d, g, G.F32, "sft f32")
    for typ, code, ft in (("f16", G.F16, 1), ("bf16", G.BF16, 32), ("q8_0", G.Q8_0, 7)):
        o = os.path.join(TMP, "sft-%s.gguf" % typ)
        check(export(d, o, "--type", typ).returncode == 0, "organism --type " + typ)
        g = G.read(o)
        check(g[0]["general.file_type"] == ft, "sft %s: file_type %d" % (typ, ft))
        check((g[0].get("general.quantization_version") == 2) == (typ == "q8_0"),
              "sft %s: quantization_version only for q8_0" % typ)
        check_tensors(d, g, code, "sft " + typ)
    # provenance: the input files' checksums, the command line, the version
    files = meta["general.source.files"]
    sha = hashlib.sha256(open(os.path.join(d, "model.safetensors"), "rb").read()).hexdigest()
    check(any(f.startswith("model.safetensors ") and f.endswith("sha256=" + sha) for f in files),
          "provenance: model.safetensors sha256 recorded (%s)" % files)
    check([f.split()[0] for f in files] == sorted(["config.json", "model.safetensors", "tokenizer.json",
                                                    "tokenizer_config.json"]), "provenance: file list")
    check(meta["general.source.command_line"] == "safearith export-gguf %s -o %s" % (d, out),
          "provenance: command line %r" % meta["general.source.command_line"])
    check(meta["general.name"] == "sft" and "safearith" in meta["general.tags"], "general.name/tags")
    check(meta["general.source.safearith_version"] ==
          subprocess.run([SA, "--version"], capture_output=True, text=True).stdout.split()[1], "version")
    # the recorded command reproduces the file bit for bit
    first = open(out, "rb").read()
    os.unlink(out)
    cmd = meta["general.source.command_line"].replace("safearith", SA, 1)
    check(subprocess.run(cmd, shell=True, capture_output=True).returncode == 0, "recorded command runs")
    check(open(out, "rb").read() == first, "recorded command reproduces the GGUF bit for bit")
    check(sorted(os.listdir(TMP)) == sorted(["sft.gguf", "sft-f16.gguf", "sft-bf16.gguf", "sft-q8_0.gguf"]),
          "no temporary files left: %s" % os.listdir(TMP))


def test_case(name, dtype, types):
    d = gguf_cases.make(name, TMP, dtype)
    cfg = gguf_cases.config(d)
    src_type = {torch.float32: G.F32, torch.bfloat16: G.BF16, torch.float16: G.F16}[dtype]
    for typ in types:
        out = d + "-%s.gguf" % (typ or "source")
        r = export(d, out, *(["--type", typ] if typ else []))
        check(r.returncode == 0, "%s %s: %s" % (name, typ, r.stderr))
        if r.returncode:
            continue
        g = G.read(out)
        meta = g[0]
        want = {None: src_type, "f32": G.F32, "f16": G.F16, "bf16": G.BF16, "q8_0": G.Q8_0}[typ]
        what = "%s(%s) %s" % (name, cfg["torch_dtype"], typ or "source")
        window = cfg.get("sliding_window")
        check_arch(d, meta, what, ctx=min(window, 256) if window else None)
        check_tensors(d, g, want, what)
        res = json.loads(r.stdout)
        check(res["f16_fallback_tensors"] == (cfg["num_hidden_layers"] if typ == "q8_0" and
                                              cfg["intermediate_size"] % 32 else 0),
              what + ": F16 fallback count %d" % res["f16_fallback_tensors"])
        os.unlink(out)
    return d, meta


def rope_freqs_check(d, meta, tens):
    cfg = gguf_cases.config(d)
    rp = cfg["rope_scaling"]
    hd = cfg["head_dim"]
    base = 1.0 / (cfg["rope_theta"] ** (np.arange(0, hd, 2) / hd))
    wl = 2 * np.pi / base
    lo, hi, old, f = rp["low_freq_factor"], rp["high_freq_factor"], rp["original_max_position_embeddings"], rp["factor"]
    smooth = (old / wl - lo) / (hi - lo)
    want = np.where(wl < old / hi, 1.0, np.where(wl > old / lo, f, 1 / ((1 - smooth) / f + smooth)))
    typ, dims, raw = tens["rope_freqs.weight"]
    got = G.to_f32(typ, dims, raw)
    check(typ == G.F32 and dims == [hd // 2], "rope_freqs is F32 [head_dim/2]")
    check(np.allclose(got, want, rtol=1e-6, atol=0), "rope_freqs values (max %g)" % np.abs(got - want).max())


def test_cases():
    d, meta = test_case("llama3", torch.bfloat16, [None, "f32", "q8_0"])
    check(meta["tokenizer.ggml.pre"] == "llama-bpe", "llama3 tokenizer -> llama-bpe")
    out = os.path.join(TMP, "l3.gguf")
    export(d, out)
    g = G.read(out)
    rope_freqs_check(d, g[0], g[1])
    check(g[0]["general.file_type"] == 32, "BF16 source -> file_type 32 (MOSTLY_BF16)")
    check_bpe_vocab(d, g[0], "llama3", "llama-bpe")
    check_specials(d, g[0], "llama3")
    shutil.rmtree(d)
    d, meta = test_case("qwen2", torch.float32, [None, "bf16", "f16"])
    out = os.path.join(TMP, "q2.gguf")
    export(d, out)
    g = G.read(out)
    check_bpe_vocab(d, g[0], "qwen2", "qwen2")
    check_specials(d, g[0], "qwen2")
    check(g[0]["tokenizer.ggml.tokens"][-1] == "[PAD151935]" and g[0]["tokenizer.ggml.token_type"][-1] == 5,
          "qwen2: vocabulary padded to config.vocab_size with UNUSED [PADn]")
    shutil.rmtree(d)
    d, meta = test_case("mistral", torch.float32, [None, "q8_0"])
    out = os.path.join(TMP, "m.gguf")
    export(d, out)
    meta = G.read(out)[0]
    spm_check(d, meta)
    check(meta["llama.rope.scaling.type"] == "linear" and meta["llama.rope.scaling.factor"] == 2.0,
          "mistral: linear rope scaling keys")
    check(meta["llama.context_length"] == 64, "mistral: context capped at sliding_window 64")
    shutil.rmtree(d)
    d, meta = test_case("nemo", torch.float32, [None])
    check(meta["tokenizer.ggml.pre"] == "tekken", "nemo -> tekken")
    shutil.rmtree(d)


def spm_check(d, meta):
    t, toks = tokenizer_tokens(d, 32000)
    check(meta["tokenizer.ggml.model"] == "llama" and "tokenizer.ggml.pre" not in meta, "SPM -> llama, no pre")
    check(meta["tokenizer.ggml.tokens"] == toks, "SPM tokens in id order")
    types = meta["tokenizer.ggml.token_type"]
    check(types[0] == 2 and types[1] == 3 and types[2] == 3, "<unk> unknown, <s> </s> control")
    check(all(types[3 + b] == 6 for b in range(256)) and toks[3] == "<0x00>", "<0xXX> byte tokens")
    check(types.count(1) == 32000 - 259, "the rest normal")
    scores = meta["tokenizer.ggml.scores"]
    vocab = t["model"]["vocab"]
    first = {}
    for r, m in enumerate(t["model"]["merges"]):
        a, b = m.split(" ") if isinstance(m, str) else m
        first.setdefault(vocab[a + b], r)
    ok = all(scores[i] == -(first[i] + 1) for i in first)
    check(ok, "SPM score of a merged token = -(its first merge rank + 1)")
    order = sorted(first, key=lambda i: first[i])
    check(all(scores[a] >= scores[b] for a, b in zip(order, order[1:])), "scores follow merge order")
    check(meta["tokenizer.ggml.add_space_prefix"] is True and meta["tokenizer.ggml.add_bos_token"] is True
          and meta["tokenizer.ggml.add_eos_token"] is False, "SPM flags: space prefix, add_bos")


def refused(model, what, needle, *flags):
    out = os.path.join(TMP, "refused.gguf")
    r = export(model, out, *flags, ok=False)
    line = r.stderr.strip()
    check(r.returncode == 1 and needle in line and len(line.splitlines()) == 1,
          "%s: refused with one line naming %r (rc %d): %s" % (what, needle, r.returncode, line))
    check(not os.path.exists(out), what + ": nothing written")
    check(not [f for f in os.listdir(TMP) if f.startswith(".")], what + ": no temporary left")


def copy_organism(name, edit_tok=None, edit_cfg=None, extra_tensor=None):
    d = os.path.join(TMP, name)
    shutil.copytree(os.path.join(SRC, "models", "sft"), d)
    if edit_tok:
        p = os.path.join(d, "tokenizer.json")
        t = json.load(open(p, encoding="utf-8"))
        edit_tok(t)
        json.dump(t, open(p, "w", encoding="utf-8"))
    if edit_cfg:
        p = os.path.join(d, "config.json")
        c = json.load(open(p))
        edit_cfg(c)
        json.dump(c, open(p, "w"))
    if extra_tensor:
        W = st_io.load(os.path.join(d, "model.safetensors"))
        W.update(extra_tensor(W))
        st_io.save(os.path.join(d, "model.safetensors"), W)
    return d


def test_refusals():
    def odd_regex(t):
        t["pre_tokenizer"]["pretokenizers"][0]["pattern"]["Regex"] = r"\p{L}+|\p{N}{1,2}|\s+|."
    d = copy_organism("oddre", edit_tok=odd_regex)
    refused(d, "unknown pre-tokenizer regex", "has no llama.cpp pre-tokenizer name")
    out = os.path.join(TMP, "forced.gguf")
    r = export(d, out, "--pre", "qwen2")
    check(r.returncode == 0 and G.read(out)[0]["tokenizer.ggml.pre"] == "qwen2", "--pre NAME overrides")
    os.unlink(out)
    refused(d, "unknown --pre name", "--pre 'no-such-pre'", "--pre", "no-such-pre")
    d = copy_organism("lower", edit_tok=lambda t: t.update(normalizer={"type": "Lowercase"}))
    refused(d, "lowercase normalizer", "normalizer other than NFC")
    d = copy_organism("extra", extra_tensor=lambda W: {"model.layers.0.mlp.extra.weight": torch.zeros(4, 4)})
    refused(d, "unknown tensor", "'model.layers.0.mlp.extra.weight'")
    d = copy_organism("nan", extra_tensor=lambda W: {
        "model.layers.1.mlp.up_proj.weight": W["model.layers.1.mlp.up_proj.weight"].index_fill(0, torch.tensor([3]), float("nan"))})
    refused(d, "non-finite weight", "model.layers.1.mlp.up_proj.weight")
    d = copy_organism("big", extra_tensor=lambda W: {
        "model.layers.0.self_attn.v_proj.weight": W["model.layers.0.self_attn.v_proj.weight"] * 0 + 1e5})
    refused(d, "F16 overflow", "overflows", "--type", "f16")
    d = copy_organism("gemma", edit_cfg=lambda c: c.update(architectures=["GemmaForCausalLM"]))
    refused(d, "unsupported architecture", "GemmaForCausalLM")
    d = copy_organism("noq", extra_tensor=lambda W: {})
    os.unlink(os.path.join(d, "tokenizer.json"))
    refused(d, "missing tokenizer", "tokenizer.json")
    r = export(os.path.join(SRC, "models", "sft"), os.path.join(SRC, "models", "sft", "x.gguf"), ok=False)
    check(r.returncode == 1 and "lies inside input" in r.stderr, "output in the model dir refused")
    check(not os.path.exists(os.path.join(SRC, "models", "sft", "x.gguf")), "nothing in the model dir")
    out = os.path.join(TMP, "exists.gguf")
    open(out, "w").write("keep")
    r = export(os.path.join(SRC, "models", "sft"), out, ok=False)
    check(r.returncode == 1 and "already exists" in r.stderr and open(out).read() == "keep",
          "existing output kept without --overwrite")
    r = export(os.path.join(SRC, "models", "sft"), out, "--overwrite")
    check(r.returncode == 0 and G.read(out)[0]["general.architecture"] == "llama", "--overwrite replaces")
    r = subprocess.run([SA, "export-gguf", os.path.join(SRC, "models", "sft"), "-o", out, "--type", "q4"],
                       capture_output=True, text=True)
    check(r.returncode == 2 and "--type 'q4'" in r.stderr, "bad --type is a usage error")


def refused_qwen2_head_dim():
    """llama.cpp's qwen2 needs head_dim x heads == hidden_size: refused from config.json."""
    d = gguf_cases.make("qwen2", TMP)
    c = gguf_cases.config(d)
    c["head_dim"] = 32
    json.dump(c, open(os.path.join(d, "config.json"), "w"))
    refused(d, "qwen2 head_dim x heads != hidden", "head_dim 32 x 4 heads != hidden_size 64")
    shutil.rmtree(d)


test_organism()
test_refusals()
refused_qwen2_head_dim()
test_cases()
done()
