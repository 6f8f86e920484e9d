"""test_agreement.py: `safearith judge-agreement` on small labelled files made here, in the three
layouts (HarmBench classifier validation JSON, XSTest labelled completions CSV, JSONL), against
hand-computed numbers.

The keyword judge (the default AdvBench list) flags a response 1 (complied) unless it holds a
refusal string, so each file's confusion matrix is known by construction: TP 4, FP 1, FN 2,
TN 3 (n 10). By hand: agreement po = 7/10; the judge says 1 for 5/10, the labels for 6/10, so
chance agreement pe = 0.5 * 0.6 + 0.5 * 0.4 = 0.5 and kappa = (0.7 - 0.5) / (1 - 0.5) = 0.4;
precision 4/5, recall 4/6, F1 = 8/11. Intervals: Wilson (evaltest.wilson, solved from its
quadratic) and kappa +- 1.96 sqrt(po (1 - po) / (n (1 - pe)^2)). A server judge's unparseable
verdicts are counted apart; malformed label files end with one line naming the file."""
import csv
import json
import math
import os

from evaltest import Checker, FakeServer, make_tmp, run, shared_data, wilson

C = Checker()
tmp = make_tmp(prefix="sa_eval_agree_")
COMPLY, REFUSE = "Sure, here is how you do it.", "I'm sorry, I cannot help with that."
# (response, human label): 4 TP, 1 FP, 2 FN, 3 TN for the keyword judge
CASES = [(COMPLY, 1)] * 4 + [(COMPLY, 0)] + [(REFUSE, 1)] * 2 + [(REFUSE, 0)] * 3
Q = [f"Question number {i}?" for i in range(len(CASES))]

hb = os.path.join(tmp, "text_behaviors_val_set.json")
votes = {1: (1, 1, 0), 0: (0, 1, 0)}  # majority decides
with open(hb, "w") as f:
    json.dump({f"behavior_{i}": [{"test_case": Q[i], "generation": r,
                                  **{f"human_{k}": v for k, v in enumerate(votes[y])},
                                  "experiment": "x"}] for i, (r, y) in enumerate(CASES)}, f)
xs = os.path.join(tmp, "xstest_v2_completions_test.csv")
with open(xs, "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["id", "type", "prompt", "completion", "annotation_1", "annotation_2", "agreement",
                "final_label"])
    for i, (r, y) in enumerate(CASES):
        lab = "1_full_compliance" if y else ("2_full_refusal" if i % 2 else "3_partial_refusal")
        w.writerow([f"v2-{i}", "homonyms", Q[i], r, lab, lab, "TRUE", lab])
jl = os.path.join(tmp, "mine.jsonl")
with open(jl, "w") as f:
    for i, (r, y) in enumerate(CASES):
        f.write(json.dumps({"question": Q[i], "response": r, "label": y}) + "\n")


def close(a, b):
    return abs(a - b) < 1e-9


po, pe, n = 0.7, 0.5, 10
kappa_se = math.sqrt(po * (1 - po) / (n * (1 - pe) ** 2))
for path, layout in ((hb, "HarmBench"), (xs, "XSTest"), (jl, "JSON Lines")):
    r = run(["judge-agreement", "--labels", path, "--judge", "refusal:name=kw"])
    C.check(r.returncode == 0, f"{layout}: {r.stderr}")
    if r.returncode:
        continue
    rep = json.loads(r.stdout)
    C.check(rep["layout"].startswith(layout) and rep["examples"] == 10 and rep["positive"] == 6,
            f"{layout}: layout and counts {rep['layout']} {rep['examples']} {rep['positive']}")
    j = rep["judges"][0]
    C.check(j["confusion"] == {"tp": 4, "fp": 1, "fn": 2, "tn": 3}, f"{layout}: {j['confusion']}")
    for key, k, m in (("agreement", 7, 10), ("precision", 4, 5), ("recall", 4, 6)):
        lo, hi = wilson(k, m)
        C.check(close(j[key]["rate"], k / m) and close(j[key]["ci95"][0], lo)
                and close(j[key]["ci95"][1], hi), f"{layout}: {key} {j[key]}")
    C.check(close(j["f1"], 8 / 11), f"{layout}: f1 {j['f1']}")
    C.check(close(j["kappa"]["value"], 0.4), f"{layout}: kappa {j['kappa']}")
    C.check(close(j["kappa"]["ci95_normal"][0], 0.4 - 1.959963984540054 * kappa_se)
            and close(j["kappa"]["ci95_normal"][1], min(1, 0.4 + 1.959963984540054 * kappa_se)),
            f"{layout}: kappa interval {j['kappa']}")

# a server judge: every verdict parseable or counted apart
srv = FakeServer(tmp)
JP = os.path.join(shared_data(), "judge_prompts", "harmbench_llama2_cls_prompt.json")
r = run(["judge-agreement", "--labels", jl, "--judge", f"server:{srv.url}:{JP}:model=harmbench"])
C.check(r.returncode == 0, f"server judge: {r.stderr}")
if r.returncode == 0:
    j = json.loads(r.stdout)["judges"][0]
    cm = j["confusion"]
    C.check(sum(cm.values()) + j["unparseable"] == 10, f"server judge counts {j}")
srv.stop()

# malformed labels: one line naming the file, non-zero
bad = os.path.join(tmp, "bad.jsonl")
with open(bad, "w") as f:
    f.write(json.dumps({"question": "q", "response": "r", "label": "maybe"}) + "\n")
for path in (bad, os.path.join(tmp, "missing.csv")):
    r = run(["judge-agreement", "--labels", path, "--judge", "refusal"])
    C.check(r.returncode != 0 and len(r.stderr.strip().splitlines()) == 1 and path in r.stderr,
            f"bad labels {path}: {r.stderr!r}")
r = run(["judge-agreement", "--labels", jl])
C.check(r.returncode == 2, "no judge is a usage error")
C.done()
