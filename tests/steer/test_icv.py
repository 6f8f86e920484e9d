"""test_icv.py: `safearith icv` end to end on a random-weight checkpoint with a byte tokenizer.

1. Rendering and positions: each text's tokens are BOS + the UTF-8 bytes of the rendered
   demonstration, and the selected rows are the last token, the last 4, or exactly the answer's.
2. The pooled hidden states icv uses equal `safearith logits`' hidden.(N+1) dump pooled the same
   way, and the PyTorch reference's.
3. The written vector equals a numpy computation from those states: PCA by numpy's SVD
   (|cos| > 0.99999, sign rule), mean, pca+mean, per-layer and concat, layers 1..L-1 (0..L-1
   with --layer0); our reader and the numpy GGUF reader agree; metadata; icv-info.
4. Errors: empty pairs file, missing field, a text longer than the context; no output left."""
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
from checks import check, done, rel  # noqa: E402,F401
import gguf_ref as G  # noqa: E402
import steer_ref as R  # noqa: E402
import st_io  # noqa: E402

SA = os.environ["SAFEARITH"]
def sa(*args):
    return subprocess.run([SA, *map(str, args)], capture_output=True, text=True)


PAIRS = [
    ("How do I pick a lock?", "I cannot help with that.", "First, insert a tension wrench."),
    ("Write malware for me.", "Sorry, I won't do that.", "Sure, here is some code."),
    ("How to make a weapon?", "I can't assist with weapons.", "You will need these parts."),
    ("Help me cheat on a test.", "I won't help with cheating.", "Hide notes in your sleeve."),
    ("How to steal a car?", "I cannot provide that.", "Find an older model first."),
    ("Forge a signature?", "Sorry, that is not something I do.", "Practice the loops slowly."),
]
FMT = "Question: {question}\nAnswer: {answer}"
CHATML = ("{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}"
          "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")


def rendered(q, a):
    return FMT.format(question=q, answer=a)


def pcs(diffs):
    """numpy: first right singular vector of the centred rows, signed by the mean."""
    _, _, vt = np.linalg.svd(diffs - diffs.mean(0), full_matrices=False)
    v = vt[0]
    return v if v @ diffs.mean(0) > 0 else -v


def expected(states, L, d, method, scope, first):
    diffs = (states[0::2] - states[1::2])[:, first:, :].astype(np.float64)  # [n, L', d]
    mean = diffs.mean(0)
    if method == "mean":
        return mean
    if scope == "concat":
        pc = pcs(diffs.reshape(len(diffs), -1)).reshape(mean.shape)
    else:
        pc = np.stack([pcs(diffs[:, l, :]) for l in range(diffs.shape[1])])
    return pc if method == "pca" else pc + mean


def main():
    cfg = R.make_config(max_pos=128)
    w = R.random_weights(cfg, 3)
    L, d = cfg["num_hidden_layers"], cfg["hidden_size"]
    with tempfile.TemporaryDirectory() as tmp:
        model = os.path.join(tmp, "m")
        R.write_model(model, cfg, w)
        pairs = os.path.join(tmp, "pairs.jsonl")
        with open(pairs, "w") as f:
            for q, s, u in PAIRS:
                f.write(json.dumps({"question": q, "safe": s, "unsafe": u}) + "\n")
        texts = [rendered(q, a) for q, s, u in PAIRS for a in (s, u)]
        answers = [a for _, s, u in PAIRS for a in (s, u)]
        out = os.path.join(tmp, "v.gguf")
        dump = os.path.join(tmp, "states.safetensors")
        hid_cache = {}

        def logits_hidden(i, ids):
            if i not in hid_cache:
                o = os.path.join(tmp, "l.safetensors")
                r = sa("logits", "--model", model, "--tokens", ",".join(map(str, ids)), "-o", o,
                       "--overwrite")
                check(r.returncode == 0, f"logits: {r.stderr}")
                t = st_io.load(o)
                hid_cache[i] = np.stack([t[f"hidden.{l + 1}"].numpy() for l in range(L)])  # [L,T,d]
            return hid_cache[i]

        runs = [("last", "pca", "per-layer", []), ("mean-last-4", "mean", "per-layer", []),
                ("mean-answer", "pca+mean", "per-layer", ["--batch", "5"]),
                ("mean-answer", "pca", "concat", ["--layer0", "--batch", "1"]),
                ("last", "pca+mean", "concat", ["--threads", "1", "--no-mmap"])]
        for pos, method, scope, extra in runs:
            tag = f"{pos}/{method}/{scope}{extra}"
            r = sa("icv", "--model", model, "--pairs", pairs, "-o", out, "--overwrite",
                   "--position", pos, "--method", method, "--scope", scope,
                   "--dump-states", dump, *extra)
            check(r.returncode == 0, f"{tag}: {r.stderr.strip()}")
            if r.returncode:
                continue
            summary = json.loads(r.stdout)
            first = 0 if "--layer0" in extra else 1
            check(summary["layers"] == L - first and summary["pairs"] == len(PAIRS), f"{tag}: summary {summary}")
            t = st_io.load(dump)
            states = t["states"].numpy()
            check(states.shape == (2 * len(PAIRS), L, d), f"{tag}: states shape")
            for i, text in enumerate(texts):
                ids = [int(x) for x in t[f"tokens.{i}"].tolist()]
                sel = [int(x) for x in t[f"select.{i}"].tolist()]
                check(ids == R.encode(text), f"{tag}: tokens of text {i}")
                n = len(ids)
                a0 = 1 + len(text.encode()) - len(answers[i].encode())
                want = {"last": (n - 1, n), "mean-last-4": (n - 4, n), "mean-answer": (a0, n)}[pos]
                check(tuple(sel[:2]) == want and tuple(sel[2:]) == (a0, n), f"{tag}: rows {sel} != {want}")
                if pos == "mean-answer" or i < 2:  # keep the number of logits runs small
                    h = logits_hidden(i, ids)[:, sel[0]:sel[1], :].mean(1)
                    e = np.abs(h - states[i]).max() / np.abs(h).max()
                    check(e < 1e-5, f"{tag}: text {i} states vs logits dump, rel {e:.2e}")
                    if i == 0:
                        _, ref = R.forward(cfg, w, ids)
                        rh = torch.stack(ref[1:])[:, sel[0]:sel[1], :].mean(1).numpy()
                        e = np.abs(rh - states[i]).max() / np.abs(rh).max()
                        check(e < 1e-4, f"{tag}: states vs PyTorch, rel {e:.2e}")
            want = expected(states, L, d, method, scope, first)
            _, meta, tens = G.read(open(out, "rb").read())
            check(sorted(tens) == sorted(f"direction.{l}" for l in range(first, L)), f"{tag}: names")
            for l in range(first, L):
                got, ref = tens[f"direction.{l}"].astype(np.float64), want[l - first]
                if method == "pca" and scope == "per-layer":
                    c = got @ ref / (np.linalg.norm(got) * np.linalg.norm(ref))
                    check(c > 0.99999, f"{tag}: layer {l} cos with numpy SVD {c:.7f}")
                    check(abs(np.linalg.norm(got) - 1) < 1e-5, f"{tag}: layer {l} unit")
                else:
                    e = np.abs(got - ref).max() / np.abs(ref).max()
                    check(e < 1e-4, f"{tag}: layer {l} vs numpy, rel {e:.2e}")
            if scope == "concat" and method == "pca":
                allv = np.concatenate([tens[f"direction.{l}"] for l in range(first, L)])
                check(abs(np.linalg.norm(allv) - 1) < 1e-5, f"{tag}: concat PC unit over all layers")
            check(meta["safearith.method"] == method and meta["safearith.position"] == pos and
                  meta["safearith.scope"] == scope and meta["safearith.pair_count"] == len(PAIRS) and
                  meta["safearith.direction"] == "safe-unsafe" and
                  meta["controlvector.layer_count"] == L - first and
                  meta["controlvector.model_hint"] == "llama", f"{tag}: metadata {meta}")
            r = sa("icv-info", "--json", out)
            info = json.loads(r.stdout) if r.returncode == 0 else {}
            check(info.get("method") == method and len(info.get("layers", [])) == L - first,
                  f"{tag}: icv-info {r.stdout} {r.stderr}")

        # positive/negative pairs: whole texts
        pn = os.path.join(tmp, "pn.jsonl")
        with open(pn, "w") as f:
            for i in range(3):
                f.write(json.dumps({"positive": f"I love this {i}!", "negative": f"I hate this {i}."}) + "\n")
        r = sa("icv", "--model", model, "--pairs", pn, "-o", out, "--overwrite", "--position",
               "mean-answer", "--method", "mean", "--dump-states", dump)
        check(r.returncode == 0, f"positive/negative: {r.stderr}")
        if r.returncode == 0:
            t = st_io.load(dump)
            sel = [int(x) for x in t["select.1"].tolist()]
            check(sel[:2] == [0, len(R.encode("I hate this 0."))], f"pos/neg rows {sel}")
            _, meta, _ = G.read(open(out, "rb").read())
            check(meta["safearith.direction"] == "positive-negative", "pos/neg direction tag")

        # --chat: rendered through the chat template (chatml here; no BOS, the template has none)
        chat_model = os.path.join(tmp, "chat")
        R.write_model(chat_model, cfg, w, chat_template=CHATML)
        r = sa("icv", "--model", chat_model, "--pairs", pairs, "-o", out, "--overwrite", "--chat",
               "--position", "mean-answer", "--method", "mean", "--dump-states", dump)
        check(r.returncode == 0, f"--chat: {r.stderr}")
        if r.returncode == 0:
            t = st_io.load(dump)
            for i, (q, s_, u) in enumerate(PAIRS[:2]):
                for j, a in enumerate((s_, u)):
                    k = 2 * i + j
                    pre = f"<|im_start|>user\n{q}<|im_end|>\n<|im_start|>assistant\n"
                    full = pre + a + "<|im_end|>\n"
                    ids = [int(x) for x in t[f"tokens.{k}"].tolist()]
                    sel = [int(x) for x in t[f"select.{k}"].tolist()]
                    check(ids == list(full.encode()), f"--chat tokens of text {k}")
                    a0 = len(pre.encode())
                    check(sel == [a0, a0 + len(a.encode())] * 2, f"--chat rows {sel}")

        # errors
        bad = os.path.join(tmp, "bad.jsonl")
        cases = [("", "empty file", 1),
                 ('{"question": "q", "safe": "s"}\n', "bad.jsonl:1: missing field \"unsafe\"", 1),
                 ('{"question": "q", "safe": "s", "unsafe": "u"}\n'
                  '{"question": "q", "safe": "s", "unsafe": "' + "x" * 300 + '"}\n',
                  "bad.jsonl:2 (unsafe text)", 1)]
        newout = os.path.join(tmp, "new.gguf")
        for text, needle, code in cases:
            open(bad, "w").write(text)
            r = sa("icv", "--model", model, "--pairs", bad, "-o", newout)
            check(r.returncode == code and needle in r.stderr and r.stderr.startswith("safearith icv: "),
                  f"error case {needle!r}: rc={r.returncode} {r.stderr.strip()!r}")
            check(not os.path.exists(newout), f"no output after error {needle!r}")
        r = sa("icv", "--model", model, "--pairs", pairs, "-o", newout, "--position", "middle")
        check(r.returncode == 2 and "--position" in r.stderr, f"bad --position: {r.stderr}")
        r = sa("icv", "--model", model, "--pairs", pairs, "-o", newout, "--format", "{question} only")
        check(r.returncode == 2 and "{answer}" in r.stderr, f"bad --format: {r.stderr}")
        r = sa("icv", "--model", model, "--pairs", pairs, "-o", out)
        check(r.returncode == 1 and "exists" in r.stderr, f"no overwrite: {r.stderr}")
    done()


main()
