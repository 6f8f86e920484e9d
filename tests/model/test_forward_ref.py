"""test_forward_ref.py: safearith's forward pass against an independent PyTorch one (llama_ref.py).

For random-weight Llama / Mistral / Qwen2 checkpoints in F32 and BF16, with odd shapes (head_dim
override, one KV head, a prompt longer than Mistral's sliding window, llama3 and linear RoPE
scaling in both config forms, tied embeddings, a sharded checkpoint), checks that
  - every hidden.N and the logits written by `safearith logits` agree to relative error 1e-4
    (max |ours - ref| / max |ref| per tensor),
  - greedy 32-token continuations from `safearith generate` equal the reference's,
  - the same with 1 and 2 threads, and with the weights read into memory instead of mapped
    (--no-mmap), gives identical files;
all of it once per kernel set this CPU has, forced through SAFEARITH_ISA (tests/common/ksets.py).
"""
import os
import sys
import tempfile
import zlib

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import llama_ref as R  # noqa: E402
import st_io  # noqa: E402
import ksets  # noqa: E402

CASES = [
    ("llama-f32", R.make_config("llama"), torch.float32, None),
    ("llama3-hd-kv1-tied-bf16",
     R.make_config("llama", hidden=48, heads=4, kv_heads=1, head_dim=24, theta=500000.0, tie=True,
                   rope={"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                         "high_freq_factor": 4.0, "original_max_position_embeddings": 64}),
     torch.bfloat16, None),
    ("llama-linear-v5-f32",
     R.make_config("llama", layers=2, rope={"rope_type": "linear", "factor": 2.0},
                   rope_form="rope_parameters"), torch.float32, None),
    ("mistral-window5-f32", R.make_config("mistral", window=5, kv_heads=1), torch.float32, None),
    ("mistral-window5-bf16", R.make_config("mistral", window=5), torch.bfloat16, None),
    ("qwen2-bias-tied-f32", R.make_config("qwen2", tie=True, theta=1e6, eps=1e-6), torch.float32, None),
    ("qwen2-bias-sharded-bf16", R.make_config("qwen2", vocab=131, layers=4), torch.bfloat16, 60000),
]

PROMPT = [1, 17, 5, 60, 33, 33, 8, 91, 42, 4, 77, 12, 9, 9, 50, 23, 61, 2, 88, 14]  # longer than the sliding window


def check_case(name, cfg, dtype, shard, tmp, sets):
    fails = 0
    path = os.path.join(tmp, name)
    weights = R.random_weights(cfg, seed=zlib.crc32(name.encode()) % 100000, dtype=dtype)
    R.write_checkpoint(path, cfg, weights, shard)
    ref_logits, ref_hidden = R.forward(cfg, weights, PROMPT)
    ref = R.greedy(cfg, weights, PROMPT, 32)
    for s in sets:
        with ksets.forced(s):
            fails += check_set("%s [%s]" % (name, s), path, ref_logits, ref_hidden, ref, tmp)
    return fails


def check_set(name, path, ref_logits, ref_hidden, ref, tmp):
    fails = 0
    outs = []
    for threads, extra in ((1, ()), (2, ()), (2, ("--no-mmap",))):
        out = os.path.join(tmp, "%s-%d%s.safetensors" % (name.replace(" ", ""), threads,
                                                         "".join(extra)))
        R.safearith("logits", "--model", path, "--tokens", ",".join(map(str, PROMPT)), "-o", out,
                    "--threads", threads, *extra)
        outs.append(out)
    got, _ = st_io.load_file(outs[0])
    errs = {"logits": R.rel_err(got["logits"], ref_logits)}
    for n, h in enumerate(ref_hidden):
        errs["hidden.%d" % n] = R.rel_err(got["hidden.%d" % n], h)
    worst = max(errs, key=errs.get)
    ok = errs[worst] <= 1e-4 and len(got) == len(ref_hidden) + 1
    print("%s %s: worst relative error %.2e (%s)" % ("ok  " if ok else "FAIL", name, errs[worst], worst))
    fails += not ok
    with open(outs[0], "rb") as a, open(outs[1], "rb") as b, open(outs[2], "rb") as c:
        one = a.read()
        same = one == b.read() and one == c.read()
    print("%s %s: 1 and 2 threads, and weights read into memory (--no-mmap), give identical output"
          % ("ok  " if same else "FAIL", name))
    fails += not same
    r = R.safearith("generate", "--model", path, "--tokens", ",".join(map(str, PROMPT)),
                    "--max-tokens", 32, "--temp", 0, "--print-ids", "--ignore-eos")
    ours = [int(t) for t in r.stdout.split()]
    ok = ours == ref
    print("%s %s: greedy 32 tokens %s" % ("ok  " if ok else "FAIL", name,
                                          "identical" if ok else "differ: %s vs %s" % (ours, ref)))
    fails += not ok
    return fails


def main():
    fails = total = 0
    sets = ksets.supported()
    with tempfile.TemporaryDirectory() as tmp:
        for name, cfg, dtype, shard in CASES:
            fails += check_case(name, cfg, dtype, shard, tmp, sets)
            total += 3 * len(sets)
    print("%d passed, %d failed" % (total - fails, fails))
    sys.exit(1 if fails else 0)


if __name__ == "__main__":
    main()
