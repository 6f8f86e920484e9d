"""precision.py: how far --precision bf16 (BF16 activations, vdpbf16ps) moves the logits from the
float32 reference path, per model (docs/engine.md records the results).

usage: /usr/bin/python3 bench/precision.py BUILD_DIR MODEL_DIR... [--tokens N] [--bf16-copy]
For each model, `safearith logits` runs one sequence twice, --precision f32 and bf16, and this
prints, over all positions: the relative logits error max|b - f| / max|f|, the next-token KL
divergence KL(p_f32 || p_bf16) (mean and max over positions, nats) and how often the greedy
token agrees. The sequence is the model tokenizer's encoding of a fixed English text when the
model has a tokenizer.json, else N pseudo-random ids (default 96, enough for the prefill path).
--bf16-copy first writes a BF16 copy of a checkpoint stored in another dtype (the organisms are
float32, and --precision bf16 only changes products with BF16 weights), and compares on the copy.
Needs a CPU with AVX512-BF16."""
import os
import shutil
import subprocess
import sys
import tempfile

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "common"))
import st_io  # noqa: E402

TEXT = ("The committee met on Tuesday to review the budget for the coming year. After a long "
        "discussion about roads, schools and the new library, they agreed to postpone the vote "
        "until the auditors had finished their report, which is expected in early spring.")


def bf16_copy(src, dst):
    os.makedirs(dst)
    for f in os.listdir(src):
        p = os.path.join(src, f)
        if f.endswith(".safetensors"):
            t, meta = st_io.load_file(p)
            st_io.save(os.path.join(dst, f), {k: v.to(torch.bfloat16) if v.is_floating_point() else v
                                              for k, v in t.items()}, meta)
        elif os.path.isfile(p):
            shutil.copy(p, dst)


def logits(exe, model, seq_args, prec, out):
    r = subprocess.run([exe, "logits", "--model", model, *seq_args, "-o", out, "--precision", prec],
                       capture_output=True, text=True)
    if r.returncode:
        sys.exit("precision.py: %s" % r.stderr.strip())
    t = st_io.load_file(out)[0]["logits"].double()
    os.remove(out)  # logits never overwrites
    return t


def compare(exe, model, n, tmp):
    if os.path.exists(os.path.join(model, "tokenizer.json")):
        seq = ["--text", TEXT]
    else:
        import json
        vocab = json.load(open(os.path.join(model, "config.json")))["vocab_size"]
        seq = ["--tokens", ",".join(str((i * 2654435761 + 12345) % vocab) for i in range(n))]
    f = logits(exe, model, seq, "f32", os.path.join(tmp, "f.safetensors"))
    b = logits(exe, model, seq, "bf16", os.path.join(tmp, "b.safetensors"))
    rel = float((b - f).abs().max() / f.abs().max())
    lf, lb = torch.log_softmax(f, -1), torch.log_softmax(b, -1)
    kl = (lf.exp() * (lf - lb)).sum(-1)
    agree = float((f.argmax(-1) == b.argmax(-1)).double().mean())
    return {"positions": f.shape[0], "rel_logits_err": rel, "kl_mean": float(kl.mean()),
            "kl_max": float(kl.max()), "greedy_agree": agree}


def main():
    args = sys.argv[1:]
    n, copy = 96, False
    if "--tokens" in args:
        i = args.index("--tokens")
        n = int(args[i + 1])
        del args[i:i + 2]
    if "--bf16-copy" in args:
        copy = True
        args.remove("--bf16-copy")
    if len(args) < 2:
        sys.exit(__doc__)
    exe = os.path.join(args[0], "safearith")
    with tempfile.TemporaryDirectory() as tmp:
        for k, model in enumerate(args[1:]):
            m = model
            if copy:
                m = os.path.join(tmp, "copy%d" % k)
                bf16_copy(model, m)
            r = compare(exe, m, n, tmp)
            print("%-40s positions %3d  rel logits err %.2e  KL mean %.2e max %.2e nats  "
                  "greedy agree %.3f" % (model, r["positions"], r["rel_logits_err"], r["kl_mean"],
                                         r["kl_max"], r["greedy_agree"]))


if __name__ == "__main__":
    main()
