"""test_report.py: `safearith report` on three runs: the table, and the SVG chart's geometry.

The values in each cell are checked against the runs' summary.json; the SVG is parsed as XML,
has one point per run, and the points are ordered on screen as their ASR and utility are."""
import json
import os
import re
import xml.etree.ElementTree as ET

from evaltest import Checker, make_tmp, run, shared_data

C = Checker()
D = shared_data()
tmp = make_tmp(prefix="sa_eval_report_")
qa = os.path.join(tmp, "add.jsonl")
with open(qa, "w") as f:
    for a in range(10, 30):
        f.write(json.dumps({"question": f"What is {a} plus 3?", "answer": f"{a} plus 3 is {a + 3}."}) + "\n")
mcq = os.path.join(tmp, "mcq.jsonl")
with open(mcq, "w") as f:
    for a in range(40):
        f.write(json.dumps({"question": f"Pick {a}", "choices": ["a", "b", "c", "d"], "answer": a % 4}) + "\n")

runs = []
for label, extra in [("base", []), ("prefixless", ["--prefix", ""]),
                     (None, ["--prompt", "chat", "--mcq-format", "Q: {question}\nA:"])]:
    out = os.path.join(tmp, "dir-" + label if label else "chat-run")
    cmd = ["eval", "-q", "--model", "fake", "-o", out, "--dataset",
           os.path.join(D, "dangerousqa/dangerousqa.json"), "--dataset",
           os.path.join(D, "xstest/xstest_prompts.csv"), "--dataset", qa, "--dataset", mcq] + extra
    if label:
        cmd += ["--label", label]
    r = run(cmd)
    C.check(r.returncode == 0, f"eval {label}: {r.stderr}")
    runs.append(out)

md_path = os.path.join(tmp, "report.md")
r = run(["report"] + runs + ["-o", md_path])
C.check(r.returncode == 0, f"report: {r.stderr}")
with open(md_path) as f:
    md = f.read()
table = md[md.index("| configuration"):]
lines = [l for l in table[:table.index("\n\n")].splitlines() if l.startswith("|")]  # the first table
C.check("McNemar" in md and md.count("| run | ASR | over-refusal | utility |") == 1,
        "the paired section follows the table")
header = [c.strip() for c in lines[0].strip("|").split("|")]
C.check(header[0] == "configuration" and header[-2:] == ["mean ASR", "mean utility"], f"header {header}")
for g in ("dangerousqa", "xstest/safe", "xstest/unsafe", "add", "mcq"):
    C.check(g in header, f"column {g} missing from {header}")
body = lines[2:]
C.check(len(body) == 3, f"{len(body)} rows")
C.check([b.strip("|").split("|")[0].strip() for b in body] == ["base", "prefixless", "chat-run"],
        "row labels: --label, else the directory name")

means = []
for out, row in zip(runs, body):
    cells = [c.strip() for c in row.strip("|").split("|")]
    with open(os.path.join(out, "summary.json")) as f:
        s = json.load(f)
    asr, util = [], []
    for g in s["groups"]:
        m = g.get("utility") or g["judges"][0]
        cell = cells[header.index(g["group"])]
        num = float(re.match(r"([0-9.]+)", cell).group(1))
        C.check(abs(num - 100 * m["value"]) < 0.051, f"{out} {g['group']}: cell {cell} vs {m['value']}")
        C.check("[" in cell, f"{g['group']}: no interval in {cell}")
        if g["kind"] == "harmful":
            asr.append(m["value"])
        elif g["kind"] in ("mcq", "qa"):
            util.append(m["value"])
    ma, mu = sum(asr) / len(asr), sum(util) / len(util)
    C.check(abs(s["overall"]["mean_asr"] - ma) < 2e-6 and abs(s["overall"]["mean_utility"] - mu) < 2e-6,
            f"summary overall {s['overall']} vs {ma}, {mu}")
    C.check(abs(float(cells[-2]) - 100 * ma) < 0.051, f"mean ASR {cells[-2]} vs {ma}")
    C.check(abs(float(cells[-1]) - 100 * mu) < 0.051, f"mean utility {cells[-1]} vs {mu}")
    means.append((ma, mu))
C.check(len(set(means)) == 3, f"the three configurations should differ: {means}")

svg_path = os.path.join(tmp, "report.svg")
C.check(os.path.exists(svg_path), "report.svg beside report.md")
C.check("![ASR vs utility](report.svg)" in md, "the report links the chart")
root = ET.parse(svg_path).getroot()
ns = {"s": "http://www.w3.org/2000/svg"}
circles = root.findall(".//s:circle", ns)
C.check(len(circles) == 3, f"{len(circles)} points")
pts = [(float(c.get("cx")), float(c.get("cy")), c.find("s:title", ns).text) for c in circles]
for i in range(3):
    for j in range(3):
        if means[i][1] > means[j][1]:
            C.check(pts[i][0] > pts[j][0], "higher utility is further right")
        if means[i][0] > means[j][0]:
            C.check(pts[i][1] < pts[j][1], "higher ASR is higher up")
C.check(pts[0][2].startswith("base:"), "point titles name the run")
w, h = float(root.get("width")), float(root.get("height"))
C.check(all(0 < x < w and 0 < y < h for x, y, _ in pts), "points inside the canvas")

# --judge picks the judge whose verdicts fill the cells
jr = os.path.join(tmp, "two-judges")
odd = os.path.join(tmp, "odd.txt")  # "Sure" counts as a refusal: the opposite verdicts
with open(odd, "w") as f:
    f.write("Sure\n")
r = run(["eval", "-q", "--model", "fake", "-o", jr, "--dataset", os.path.join(D, "xstest/xstest_prompts.csv"),
         "--judge", "refusal", "--judge", f"refusal:{odd}:name=hb"])
C.check(r.returncode == 0, f"two judges: {r.stderr}")
with open(os.path.join(jr, "summary.json")) as f:
    js = json.load(f)
C.check(all(abs(g["judges"][0]["value"] - g["judges"][1]["value"]) > 0.2 for g in js["groups"]),
        "the two judges disagree")
for judge, idx in (("hb", 1), ("refusal", 0)):
    r = run(["report", jr, "--judge", judge])
    row = [l for l in r.stdout.splitlines() if l.startswith("| two-judges")][0]
    cells = [c.strip() for c in row.strip("|").split("|")]
    hdr = [c.strip() for c in r.stdout.splitlines()[[i for i, l in enumerate(r.stdout.splitlines()) if l.startswith("| configuration")][0]].strip("|").split("|")]
    for g in js["groups"]:
        want = 100 * g["judges"][idx]["value"]
        got = float(re.match(r"([0-9.]+)", cells[hdr.index(g["group"])]).group(1))
        C.check(abs(got - want) < 0.051, f"--judge {judge} {g['group']}: {got} vs {want}")
r = run(["report", jr, "--judge", "nope"])
C.check(r.returncode == 0 and "| two-judges | – | – |" in r.stdout, f"unknown judge gives empty cells: {r.stdout}")

r = run(["report"] + runs[:2])
C.check(r.returncode == 0 and "| base |" in r.stdout, "report to stdout")
r = run(["report", tmp])
C.check(r.returncode == 1 and "run.json" in r.stderr, f"not a run dir: {r.stderr}")
r = run(["report"])
C.check(r.returncode == 2, "report without runs is a usage error")
C.done()
