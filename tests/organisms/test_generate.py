"""test_generate.py: greedy `safearith generate` (prompt in the chat format) equals the reference
generation, token for token (KV cache, stop at <|end|>, at most 24 new tokens) on held-out
prompts of each kind, for base and sft."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import orgtest  # noqa: E402
from orgtest import MODELS  # noqa: E402

import bpe  # noqa: E402
import evaluate  # noqa: E402
import model  # noqa: E402
import train  # noqa: E402

c = orgtest.Checker("generate")
tok = bpe.load_tokenizer_json(os.path.join(MODELS, "base", "tokenizer.json"))
enc = train.Encoder(tok)
prompts = []
for name in ("advbench", "dangerousqa", "catqa", "benign", "xstest_safe", "addition"):
    prompts += orgtest.eval_prompts(name)[:2]
for org in ("base", "sft"):
    params = model.load_model_dir(os.path.join(MODELS, org))
    ref = evaluate.greedy(params, [enc.prompt(q) for q in prompts])
    for q, r in zip(prompts, ref):
        p = orgtest.run(["generate", "--model", os.path.join(MODELS, org), "--prompt",
                         "<|user|>" + q + "<|assistant|>", "--print-ids",
                         "--max-tokens", str(evaluate.MAX_NEW), "--temp", "0", "--threads", "1"])
        got = [int(x) for x in p.stdout.split()]
        if got and got[-1] == bpe.END_ID:
            got = got[:-1]
        c.check(got == r, f"{org} {q[:40]!r}: {tok.decode(got)!r} vs reference {tok.decode(r)!r}")
sys.exit(c.done())
