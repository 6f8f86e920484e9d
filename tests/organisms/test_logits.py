"""test_logits.py: `safearith logits` on each shipped organism equals the PyTorch forward pass of
the training tool: logits and hidden.0..hidden.L, relative error (max |a - b| / max |b|) <= 1e-4,
on chat-formatted held-out prompts followed by an answer; once per kernel set this CPU has, forced
through SAFEARITH_ISA (tests/common/ksets.py)."""
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import orgtest  # noqa: E402
from orgtest import MODELS, ORGANISMS, torch  # noqa: E402

import bpe  # noqa: E402
import ksets  # noqa: E402
import model  # noqa: E402
import st_io  # noqa: E402
import train  # noqa: E402

c = orgtest.Checker("logits")
tok = bpe.load_tokenizer_json(os.path.join(MODELS, "base", "tokenizer.json"))
enc = train.Encoder(tok)
seqs = [enc.prompt(orgtest.eval_prompts("advbench")[0]) + tok.encode("I'm sorry, I can't."),
        enc.prompt(orgtest.eval_prompts("addition")[0]) + tok.encode("12 plus 34 is 46.") + [bpe.END_ID],
        enc.prompt(orgtest.eval_prompts("benign")[1])]


def rel(a, b):
    return float((a - b).abs().max() / b.abs().max().clamp_min(1e-30))


sets = ksets.supported()
with tempfile.TemporaryDirectory() as tmp:
    for org in ORGANISMS:
        params = model.load_model_dir(os.path.join(MODELS, org))
        for k, ids in enumerate(seqs):
            with torch.no_grad():
                logits, hidden = model.forward(params, torch.tensor([ids]), want_hidden=True)
            for s in sets:
                out = os.path.join(tmp, f"{org}{k}-{s}.safetensors")
                with ksets.forced(s):
                    orgtest.run(["logits", "--model", os.path.join(MODELS, org), "--tokens",
                                 ",".join(map(str, ids)), "-o", out, "--threads", "1"])
                got, _ = st_io.load_file(out)
                e = rel(got["logits"], logits[0])
                c.check(e <= 1e-4, f"{org} seq {k} [{s}]: logits rel err {e:.2e}")
                for n, h in enumerate(hidden):
                    e = rel(got[f"hidden.{n}"], h[0])
                    c.check(e <= 1e-4, f"{org} seq {k} [{s}]: hidden.{n} rel err {e:.2e}")
sys.exit(c.done())
