"""test_kl.py: a study's KL against PyTorch, and --apply against `safearith hdr`.

A two-trial HDR study on the sft organism; for each trial the model `tune --apply` writes must
equal, tensor for tensor and bit for bit, what `safearith hdr` writes for the same k and lambda
(the study's one-histogram thresholds equal hdr's own selection). Then the training tool's
PyTorch forward pass (an independent implementation) reads the token ids of kl_prompts.json:
the reference answer must be sft's greedy answer, and KL(sft || trial) at the answer positions,
in float64, must match the journal's kl (mean) and kl_first within 1e-4 (relative, or 1e-6)."""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tunetest  # noqa: E402
from checks import Checker  # noqa: E402
from scratch import make_tmp  # noqa: E402

import orgtest  # noqa: E402,F401  (puts tools/organisms on the path, one torch thread)
import model  # noqa: E402
import st_io  # noqa: E402
import torch  # noqa: E402

c = Checker()
tmp = make_tmp("sa-tune-kl-")
recipe = tunetest.write(os.path.join(tmp, "r.yml"), tunetest.recipe_text(tmp, trials=2))
study = os.path.join(tmp, "study")
tunetest.run(["tune", recipe, "-o", study, "--threads", "2"])
trials = tunetest.read_jsonl(os.path.join(study, "trials.jsonl"))
c.check(len(trials) == 2, f"{len(trials)} trials")
with open(os.path.join(study, "kl_prompts.json")) as f:
    prompts = json.load(f)
c.check(len(prompts) == 8, f"{len(prompts)} KL prompts")

sft = model.load_model_dir(os.path.join(tunetest.MODELS, "sft"))


def logprobs(params, ids):
    with torch.no_grad():
        logits = model.forward(params, torch.tensor([ids]))
    if isinstance(logits, tuple):
        logits = logits[0]
    return torch.log_softmax(logits[0].double(), dim=-1)


ref = []
for p in prompts:
    ids, P, A = p["ids"], p["prompt_tokens"], p["answer_tokens"]
    lp = logprobs(sft, ids[:P + A - 1])
    greedy = [int(torch.argmax(lp[P - 1 + j])) for j in range(A)]
    c.check(greedy == ids[P:P + A], f"reference answer {ids[P:P + A]} vs torch greedy {greedy}")
    ref.append(lp[P - 1:P + A - 1])

for t in trials:
    k, lam = t["params"]["top_k"], t["params"]["lambda"]
    applied, direct = os.path.join(tmp, f"apply{t['trial']}"), os.path.join(tmp, f"hdr{t['trial']}")
    tunetest.run(["tune", "--apply", str(t["trial"]), "--study", study, "-o", applied])
    tunetest.run(["hdr", "--target", f"{tunetest.MODELS}/sft", "--base", f"{tunetest.MODELS}/base",
                  "--harmful", f"{tunetest.MODELS}/harmful", "--top-k", str(k), "--lambda", str(lam),
                  "-o", direct])
    a, _ = st_io.load_file(os.path.join(applied, "model.safetensors"))
    b, _ = st_io.load_file(os.path.join(direct, "model.safetensors"))
    c.check(a.keys() == b.keys() and all(torch.equal(a[n], b[n]) for n in a),
            f"trial {t['trial']}: --apply model differs from safearith hdr k={k} lambda={lam}")
    trial = model.load_model_dir(applied)
    kls, firsts = [], []
    for p, r in zip(prompts, ref):
        ids, P, A = p["ids"], p["prompt_tokens"], p["answer_tokens"]
        lq = logprobs(trial, ids[:P + A - 1])[P - 1:P + A - 1]
        kl = (r.exp() * (r - lq)).sum(dim=-1)
        kls += kl.tolist()
        firsts.append(float(kl[0]))
    want, want_first = sum(kls) / len(kls), sum(firsts) / len(firsts)
    got, got_first = t["objectives"]["kl"], t["kl_first"]
    for name, g, w in [("kl", got, want), ("kl_first", got_first, want_first)]:
        c.check(abs(g - w) <= 1e-4 * abs(w) + 1e-6,
                f"trial {t['trial']} {name}: safearith {g:.8g}, torch {w:.8g}")
    c.check(want > 0, f"trial {t['trial']}: KL of a changed model should be positive ({want})")
c.done()
