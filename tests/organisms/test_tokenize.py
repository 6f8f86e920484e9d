"""test_tokenize.py: `safearith tokenize` equals the training tool's tokenizer (tools/organisms/bpe.py)
on every held-out prompt (both the 48-token cut `prompt` and the full dataset `original`), the ICV
demonstrations in chat format (special tokens inside the text), and a few hard strings; and
`--messages` renders the organisms' chat template (recognised from tokenizer_config.json) to the
ids the tool trains and evaluates with."""
import json
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import orgtest  # noqa: E402
from orgtest import MODELS  # noqa: E402

import bpe  # noqa: E402

c = orgtest.Checker("tokenize")
tok = bpe.load_tokenizer_json(os.path.join(MODELS, "base", "tokenizer.json"))
texts = []
for name in ("advbench", "dangerousqa", "harmfulqa", "catqa", "benign", "xstest_safe",
             "xstest_unsafe", "addition", "facts"):
    for r in orgtest.read_jsonl(os.path.join(MODELS, "eval", name + ".jsonl")):
        texts += [r["prompt"], r.get("original", r["prompt"])]
for p in orgtest.read_jsonl(os.path.join(MODELS, "eval", "icv_pairs.jsonl")):
    texts += [f"<|user|>{p['question']}<|assistant|>{p['safe']}<|end|>",
              f"<|user|>{p['question']}<|assistant|>{p['unsafe']}"]
texts += ["It's   spaced\tout\n\nlines  ", "\u201cQuoted\u201d \u2014 3.14159 \u00df \u00e9 \U0001F600",
          "x" * 300, "<|pad|><|end|>", "<|user|<|end|>>", "a  \n  b\r\n"]
with tempfile.TemporaryDirectory() as tmp:
    inp = os.path.join(tmp, "in.jsonl")
    with open(inp, "w", encoding="utf-8") as f:
        for t in texts:
            f.write(json.dumps({"text": t}) + "\n")
    p = orgtest.run(["tokenize", "--model", os.path.join(MODELS, "base"), "--input", inp,
                     "--ids-only"])
    got = [json.loads(line)["ids"] for line in p.stdout.splitlines() if line.strip()]
c.check(len(got) == len(texts), f"one output line per input ({len(got)} for {len(texts)})")
bad = [(t, g) for t, g in zip(texts, got) if g != tok.encode(t)]
for t, g in bad[:5]:
    print(f"  {t[:50]!r}: safearith {g[:10]} tool {tok.encode(t)[:10]}")
c.check(not bad, f"all {len(texts)} texts tokenize identically ({len(bad)} differ)")
c.check(len(texts) > 2000, "the held-out prompts are all covered")
import train  # noqa: E402

enc = train.Encoder(tok)
with tempfile.TemporaryDirectory() as tmp:
    for name in ("advbench", "benign", "addition"):
        for q in orgtest.eval_prompts(name)[:3]:
            path = os.path.join(tmp, "m.json")
            with open(path, "w", encoding="utf-8") as f:
                json.dump([{"role": "user", "content": q}], f)
            out = json.loads(orgtest.run(["tokenize", "--model", os.path.join(MODELS, "base"),
                                          "--messages", path, "--add-generation-prompt"]).stdout)
            c.check(out["ids"] == enc.prompt(q) and out["text"] == f"<|user|>{q}<|assistant|>",
                    f"chat rendering of {q[:40]!r}: {out}")
            with open(path, "w", encoding="utf-8") as f:
                json.dump([{"role": "user", "content": q}, {"role": "assistant", "content": "Sure."}], f)
            out = json.loads(orgtest.run(["tokenize", "--model", os.path.join(MODELS, "base"),
                                          "--messages", path]).stdout)
            c.check(out["ids"] == enc.prompt(q) + tok.encode("Sure.") + [bpe.END_ID],
                    f"chat rendering with an answer of {q[:40]!r}")
sys.exit(c.done())
