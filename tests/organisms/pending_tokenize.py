"""test_tokenize.py: `safearith tokenize` equals the training tool's tokenizer on held-out prompts
(every set, the full dataset texts before the 48-token cut, so long and odd inputs are included)
and on chat-rendered text with the special tokens."""
import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import orgtest  # noqa: E402
from orgtest import MODELS  # noqa: E402

import bpe  # noqa: E402

c = orgtest.Checker("tokenize")
tok = bpe.load_tokenizer_json(os.path.join(MODELS, "base", "tokenizer.json"))
texts = []
for name in ("advbench", "dangerousqa", "harmfulqa", "catqa", "benign", "xstest_safe",
             "xstest_unsafe", "addition"):
    rows = orgtest.read_jsonl(os.path.join(MODELS, "eval", name + ".jsonl"))
    texts += [r["original"] for r in rows[:6]]
texts += ["<|user|>What is 12 plus 34?<|assistant|>12 plus 34 is 46.<|end|>",
          "It's   spaced\tout\n\nlines  ", "“Quoted” — 3.14159 ß é 😀", ""]


def parse_ids(out):
    out = out.strip()
    if out.startswith("["):
        return [int(x) for x in json.loads(out)]
    return [int(x) for x in re.split(r"[,\s]+", out) if x]


for t in texts:
    if not t:
        continue
    p = orgtest.run(["tokenize", "--model", os.path.join(MODELS, "base"), "--text", t,
                     "--ids-only"])
    got = parse_ids(p.stdout)
    c.check(got == tok.encode(t), f"tokenize {t[:40]!r}: {got[:12]} vs {tok.encode(t)[:12]}")
sys.exit(c.done())
