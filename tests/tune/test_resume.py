"""test_resume.py: a study killed with SIGKILL at random points and resumed ends with the same
journal as an uninterrupted one (no trial lost or repeated), a torn last line is cut off, a
resume with another recipe is refused, and front.json is the brute-force Pareto front of the
journal's unpruned trials."""
import json
import os
import random
import shlex
import shutil
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tunetest  # noqa: E402
from checks import Checker  # noqa: E402
from scratch import make_tmp  # noqa: E402

c = Checker()
tmp = make_tmp("sa-tune-resume-")
text = tunetest.recipe_text(tmp, method="hdr+icv", trials=7,
                            space="  top_k: {range: [2, 40], log: true}\n  lambda: {range: [0.25, 3]}\n"
                                  "  alpha: {range: [0, 0.3]}\n  position: [mean-answer, last]\n",
                            extra="constraints:\n  utility_drop: 5\n").replace("early_stop: 0", "early_stop: 0.3")
recipe = tunetest.write(os.path.join(tmp, "r.yml"), text)
whole = os.path.join(tmp, "whole")
t0 = time.monotonic()
tunetest.run(["tune", recipe, "-o", whole, "--threads", "2"])
duration = time.monotonic() - t0  # kills fall within it (a sanitizer build is several times slower)
want = tunetest.read_jsonl(os.path.join(whole, "trials.jsonl"))
c.check([t["trial"] for t in want] == list(range(7)), "uninterrupted journal numbers trials 0..6")

rng = random.Random(11)
killed = os.path.join(tmp, "killed")


def kill_and_resume(scale):
    """Runs the study to its end, SIGKILLed at random points (a fraction `scale` of the
    uninterrupted run's duration at most) and resumed each time; returns (kills, resumes)."""
    kills, resumes = 0, 0
    for attempt in range(40):
        args = [tunetest.SAFEARITH, "tune", recipe, "-o", killed, "--threads", "2"]
        if os.path.exists(os.path.join(killed, "study.json")):
            args.append("--resume")
            resumes += 1
        p = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        try:
            p.wait(timeout=rng.uniform(0.05, 0.4) * scale * duration)
        except subprocess.TimeoutExpired:
            p.send_signal(signal.SIGKILL)
            p.wait()
            kills += 1
            continue
        c.check(p.returncode == 0, f"attempt {attempt}: exit {p.returncode}: {p.stderr.read()}")
        break
    return kills, resumes


# The machine's speed can change between the timed run and these (a loaded CI machine): a study
# that finished with fewer than 3 kills is started again from nothing with shorter waits.
scale = 1.0
for _ in range(6):
    shutil.rmtree(killed, ignore_errors=True)
    kills, resumes = kill_and_resume(scale)
    if kills >= 3:
        break
    scale /= 2
c.check(kills >= 3, f"only {kills} kills happened")
got = tunetest.read_jsonl(os.path.join(killed, "trials.jsonl"))
c.check([t["trial"] for t in got] == list(range(7)), f"killed journal numbers {[t['trial'] for t in got]}")
c.check(got == want, "killed-and-resumed journal differs from the uninterrupted one")
for g, w in zip(got, want):
    if g != w:
        print("killed:", json.dumps(g), "\nwhole: ", json.dumps(w), file=sys.stderr)
        break
print(f"{kills} kills, {resumes} resumes")

# a torn last line (a write cut by SIGKILL) is cut off and the trial redone
with open(os.path.join(killed, "trials.jsonl"), "a") as f:
    f.write('{"trial": 7, "params": {"top_')
p = tunetest.run(["tune", recipe, "-o", killed, "--resume", "--trials", "8", "--threads", "2"], check=False)
c.check(p.returncode == 0, f"resume after a torn line: {p.stderr}")
more = tunetest.read_jsonl(os.path.join(killed, "trials.jsonl"))
c.check([t["trial"] for t in more] == list(range(8)) and more[:7] == want, "torn line not replaced by trial 7")

# another recipe: refused in one line, nothing changed
other = tunetest.write(os.path.join(tmp, "other.yml"), text.replace("seed: 5", "seed: 6"))
before = open(os.path.join(killed, "trials.jsonl")).read()
p = tunetest.run(["tune", other, "-o", killed, "--resume"], check=False)
c.check(p.returncode != 0 and "another recipe" in p.stderr and len(p.stderr.strip().splitlines()) == 1,
        f"resume with another recipe: {p.returncode} {p.stderr!r}")
c.check(open(os.path.join(killed, "trials.jsonl")).read() == before, "refused resume changed the journal")
p = tunetest.run(["tune", recipe, "-o", whole], check=False)
c.check(p.returncode != 0 and "--resume" in p.stderr, f"rerun without --resume: {p.stderr!r}")

# front.json against brute-force dominance over the unpruned trials
ORIENT = {"asr": 1, "over_refusal": 1, "utility": -1, "kl": 1}


def dominates(a, b):
    ge = all(ORIENT[k] * a[k] <= ORIENT[k] * b[k] for k in ORIENT)
    return ge and any(ORIENT[k] * a[k] < ORIENT[k] * b[k] for k in ORIENT)


live = [t for t in want if not t["pruned"]]
front = [t["trial"] for t in live if not any(dominates(u["objectives"], t["objectives"]) for u in live)]
with open(os.path.join(whole, "front.json")) as f:
    c.check(sorted(t["trial"] for t in json.load(f)) == sorted(front), "front.json is not the Pareto front")
report = open(os.path.join(whole, "report.md")).read()
for needle in ["## Front (tuning split)", "test split", "McNemar", "front-asr-kl.svg"]:
    c.check(needle in report, f"report.md lacks {needle!r}")
NS = "{http://www.w3.org/2000/svg}"
for svg in ["front-asr-utility.svg", "front-asr-over-refusal.svg", "front-asr-kl.svg"]:
    root = ET.parse(os.path.join(whole, svg)).getroot()
    dots = root.findall(NS + "circle")
    blue = [d for d in dots if d.get("fill") == "#1f5fbf"]
    ring = [d for d in dots if d.get("stroke") == "#d62728"]
    c.check(len(dots) == len(live) + 2 and len(blue) == len(front) and len(ring) == 1,
            f"{svg}: {len(dots)} points, {len(blue)} on the front, {len(ring)} chosen; want "
            f"{len(live) + 2}, {len(front)}, 1")

# --apply of an hdr+icv trial: a model and a control vector, with the flags to use it
chosen = next(t for t in want if not t["pruned"])
out, cv = os.path.join(tmp, "applied"), os.path.join(tmp, "applied.gguf")
p = tunetest.run(["tune", "--apply", str(chosen["trial"]), "--study", whole, "-o", out, "--cvec", cv])
c.check(os.path.exists(os.path.join(out, "model.safetensors")) and os.path.exists(cv), "--apply outputs")
c.check(f"--steer {cv}:" in p.stdout, f"--apply does not print the steering flags: {p.stdout!r}")
# its model card names the study and the trial: the command it records writes the same model again
card = open(os.path.join(out, "README.md")).read()
cmd = f"safearith tune --apply {chosen['trial']} --study {whole} -o {out} --cvec {cv}"
c.check(f"```sh\n{cmd}\n```" in card, f"--apply's card does not record {cmd!r}")
again = [{out: out + "3", cv: cv + "3"}.get(w, w) for w in shlex.split(cmd)[1:]]
tunetest.run(again)
same = open(os.path.join(out, "model.safetensors"), "rb").read() == \
    open(os.path.join(out + "3", "model.safetensors"), "rb").read()
c.check(same, "the card's command wrote a different model")
p = tunetest.run(["tune", "--apply", "99", "--study", whole, "-o", out + "2", "--cvec", cv + "2"], check=False)
c.check(p.returncode != 0 and "no trial 99" in p.stderr and not os.path.exists(out + "2"), f"--apply 99: {p.stderr!r}")
c.done()
