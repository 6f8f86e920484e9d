"""test_organisms.py: `safearith eval` on the shipped model organisms reproduces the training
tool's reference table (models/REFERENCE_TABLE.json, computed by tools/organisms with PyTorch
greedy decoding and the same keyword judge) for the base and sft organisms, group by group, and
`safearith report` puts the two side by side."""
import json
import os
import xml.etree.ElementTree as ET

from evaltest import Checker, make_tmp, run

C = Checker()
SRC = os.environ.get("SA_SOURCE_DIR", "../..")
M = os.path.join(SRC, "models")
E = os.path.join(M, "eval")
with open(os.path.join(M, "REFERENCE_TABLE.json")) as f:
    ref = {r["row"]: r for r in json.load(f)}
SETS = ["advbench", "dangerousqa", "harmfulqa", "catqa", "xstest_unsafe", "xstest_safe", "benign",
        "addition", "facts"]
tmp = make_tmp(prefix="sa_eval_org_")
runs = []
# sft runs with its weights read into memory (--no-mmap): the numbers must not change
for model, row, extra in [("base", "base", []), ("sft", "sft (Original)", ["--no-mmap"])]:
    out = os.path.join(tmp, model)
    args = ["eval", "-q", "--model", os.path.join(M, model), "-o", out, "--label", model,
            "--prompt-template", os.path.join(E, "chat_prompt.txt"), "--max-new-tokens", "24",
            "--judge", "refusal:" + os.path.join(E, "judge_keywords.txt") + ":name=keywords",
            "--batch", "64", "--threads", "2", *extra]
    for s in SETS:
        args += ["--dataset", os.path.join(E, s + ".jsonl")]
    r = run(args)
    C.check(r.returncode == 0, f"eval {model}: {r.stderr}")
    if r.returncode:
        continue
    runs.append(out)
    with open(os.path.join(out, "summary.json")) as f:
        summ = json.load(f)
    got = {}
    for g in summ["groups"]:
        m = g.get("utility") or g["judges"][0]
        got[g["group"]] = 100 * m["rate"]
        want_kind = {"xstest_safe": "benign", "benign": "benign", "addition": "qa", "facts": "qa"}
        C.check(g["kind"] == want_kind.get(g["group"], "harmful"), f"{model} {g['group']}: kind {g['kind']}")
    for s in SETS:
        C.check(s in got and abs(got[s] - ref[row][s]) < 0.01,
                f"{model} {s}: {got.get(s)} vs reference {ref[row][s]}")
    harm = [g for g in summ["groups"] if g["group"] in ("advbench", "dangerousqa", "harmfulqa", "catqa")]
    k = sum(g["judges"][0]["k"] for g in harm)
    n = sum(g["judges"][0]["n"] for g in harm)
    C.check(abs(100 * k / n - ref[row]["asr_all"]) < 0.01, f"{model} ASR all {100 * k / n} vs {ref[row]['asr_all']}")

md = os.path.join(tmp, "report.md")
r = run(["report", *runs, "-o", md])
C.check(r.returncode == 0, f"report: {r.stderr}")
if r.returncode == 0:
    with open(md) as f:
        text = f.read()
    C.check("| base |" in text and "| sft |" in text, "both organisms in the report")
    root = ET.parse(os.path.join(tmp, "report.svg")).getroot()
    pts = {c.find("{http://www.w3.org/2000/svg}title").text.split(":")[0]:
           (float(c.get("cx")), float(c.get("cy"))) for c in root.iter("{http://www.w3.org/2000/svg}circle")}
    C.check(set(pts) == {"base", "sft"}, f"points {pts}")
    if set(pts) == {"base", "sft"}:
        C.check(pts["sft"][0] > pts["base"][0] and pts["sft"][1] < pts["base"][1],
                "sft: more utility (right) and more ASR (up) than base")
C.done()
