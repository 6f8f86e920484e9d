"""test_paired.py: `safearith report`'s paired section against a count made here.

Two fake-model runs over the same prompts with different prefixes answer differently; for each
metric the discordant counts b / c are counted from the two responses.jsonl files in Python, and
McNemar's p from math.comb (exact integers), independently of src/eval/paired.c."""
import json
import math
import os
import re

from evaltest import Checker, make_tmp, run, shared_data

C = Checker()
D = shared_data()
tmp = make_tmp(prefix="sa_eval_paired_")
qa = os.path.join(tmp, "add.jsonl")
with open(qa, "w") as f:
    for a in range(10, 60):
        f.write(json.dumps({"question": f"What is {a} plus 3?", "answer": f"{a} plus 3 is {a + 3}."}) + "\n")
runs = []
for label, extra in [("A", []), ("B", ["--prefix", "Answer briefly. "])]:
    out = os.path.join(tmp, label)
    r = run(["eval", "-q", "--model", "fake", "-o", out, "--label", label, "--dataset",
             os.path.join(D, "dangerousqa/dangerousqa.json"), "--dataset",
             os.path.join(D, "xstest/xstest_prompts.csv"), "--dataset", qa] + extra)
    C.check(r.returncode == 0, f"eval {label}: {r.stderr}")
    runs.append(out)


def outcomes(d):
    res = {}
    with open(os.path.join(d, "responses.jsonl")) as f:
        for line in f:
            row = json.loads(line)
            key = (row["dataset"], row["i"], row["group"])
            if row["kind"] in ("qa", "mcq"):
                res[key] = ("utility", row["correct"] == 1)
            else:
                flag = list(row["judges"].values())[0]["flag"]
                if flag < 0:
                    continue
                res[key] = ("asr", flag == 1) if row["kind"] == "harmful" else ("over_refusal", flag == 0)
    return res


def mcnemar(b, c):
    n = b + c
    if n == 0:
        return 1.0
    return min(1.0, 2 * sum(math.comb(n, i) for i in range(min(b, c) + 1)) / 2 ** n)


a, b = outcomes(runs[0]), outcomes(runs[1])
r = run(["report"] + runs)
C.check(r.returncode == 0, f"report: {r.stderr}")
line = [ln for ln in r.stdout.splitlines() if ln.startswith("| B |")][-1]
cells = [x.strip() for x in line.strip("|").split("|")][1:]
C.check(len(cells) == 3, f"paired row: {line!r}")
for metric, cell in zip(["asr", "over_refusal", "utility"], cells):
    keys = [k for k in a if k in b and a[k][0] == metric and b[k][0] == metric]
    nb = sum(a[k][1] and not b[k][1] for k in keys)
    nc = sum(not a[k][1] and b[k][1] for k in keys)
    ra = 100 * sum(a[k][1] for k in keys) / len(keys)
    rb = 100 * sum(b[k][1] for k in keys) / len(keys)
    m = re.match(r"([\d.]+) → ([\d.]+) \(([-+][\d.]+)\), (\d+)/(\d+), p = (\S+)", cell)
    C.check(m is not None, f"{metric}: cell {cell!r}")
    if not m:
        continue
    C.check(abs(float(m[1]) - ra) < 0.051 and abs(float(m[2]) - rb) < 0.051, f"{metric}: rates {cell} vs {ra:.1f} {rb:.1f}")
    C.check((int(m[4]), int(m[5])) == (nb, nc), f"{metric}: b/c {m[4]}/{m[5]} vs {nb}/{nc}")
    p = mcnemar(nb, nc)
    C.check(abs(float(m[6]) - p) <= 1e-3 * p, f"{metric}: p {m[6]} vs {p:.4g}")
    C.check(nb + nc > 0 or metric != "asr", f"{metric}: the two runs should disagree somewhere")
C.done()
