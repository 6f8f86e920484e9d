"""test_icv_organisms.py: `safearith icv` and `--steer-mode icv` on the shipped organisms against
the organisms' own PyTorch reference (tools/organisms: arith.icv_vectors, model.Steer), i.e. the
recipe the organisms' results table was produced with.

The ICV of the `sft` organism from models/eval/icv_pairs.jsonl (--chat --position mean-answer
--method mean --layer0) must equal arith.icv_vectors to float32 rounding, and logits steered
with it (alpha 0.1 on every layer's MLP output) must equal model.forward with model.Steer."""
import json
import os
import subprocess
import sys
import tempfile

import torch

SRC = os.environ["SA_SOURCE_DIR"]
sys.path.insert(0, os.path.join(SRC, "tools", "organisms"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
from checks import check, done, rel  # noqa: E402,F401
import arith  # noqa: E402
import bpe  # noqa: E402
import gguf_ref as G  # noqa: E402
import model  # noqa: E402
import steer_ref  # noqa: E402,F401  (puts tests/common on the path)
import st_io  # noqa: E402
import train  # noqa: E402

SA = os.environ["SAFEARITH"]
def main():
    mdir = os.path.join(SRC, "models", "sft")
    pairs_path = os.path.join(SRC, "models", "eval", "icv_pairs.jsonl")
    params = model.load_model_dir(mdir)
    tok = bpe.load_tokenizer_json(os.path.join(mdir, "tokenizer.json"))
    enc = train.Encoder(tok)
    with open(pairs_path) as f:
        pairs = [tuple(json.loads(x)[k] for k in ("question", "safe", "unsafe")) for x in f if x.strip()]
    ref = arith.icv_vectors(params, enc, pairs, "mean-answer")
    with tempfile.TemporaryDirectory() as tmp:
        vec = os.path.join(tmp, "icv.gguf")
        r = subprocess.run([SA, "icv", "--model", mdir, "--pairs", pairs_path, "--chat",
                            "--position", "mean-answer", "--method", "mean", "--layer0", "-o", vec],
                           capture_output=True, text=True)
        check(r.returncode == 0, f"icv: {r.stderr}")
        if r.returncode:
            return
        _, meta, t = G.read(open(vec, "rb").read())
        check(meta["safearith.pair_count"] == len(pairs), "pair count")
        for l in range(ref.shape[0]):
            e = rel(torch.tensor(t[f"direction.{l}"]), ref[l])
            check(e < 1e-5, f"direction.{l} vs arith.icv_vectors: rel {e:.2e}")
        # steered logits on a held-out harmful prompt
        with open(os.path.join(SRC, "models", "eval", "advbench.jsonl")) as f:
            q = json.loads(f.readline())["prompt"]
        ids = enc.prompt(q)
        steer = model.Steer(ref, 0.1)
        with torch.no_grad():
            want = model.forward(params, torch.tensor([ids]), steer=steer)
        want = want[0]
        out = os.path.join(tmp, "l.safetensors")
        r = subprocess.run([SA, "logits", "--model", mdir, "--tokens", ",".join(map(str, ids)),
                            "-o", out, "--steer", f"{vec}:0.1", "--steer-mode", "icv"],
                           capture_output=True, text=True)
        check(r.returncode == 0, f"logits --steer: {r.stderr}")
        if r.returncode == 0:
            got = st_io.load(out)["logits"]
            e = rel(got, want)
            check(e < 1e-4, f"steered logits vs model.Steer: rel {e:.2e}")
            with torch.no_grad():
                plain = model.forward(params, torch.tensor([ids]))
            plain = plain[0]
            check(rel(want, plain) > 1e-3, "steering changes the organism's logits")
    done()


main()
