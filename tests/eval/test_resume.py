"""test_resume.py: crash safety of the run directory.

A run is SIGKILLed at random moments and resumed until it completes; the rows must then equal an
uninterrupted run's exactly (none lost, none duplicated) and summary.json / summary.md must be
byte-identical. A torn last line is cut off on resume. Resuming with different settings or a
changed dataset file is refused, and so is writing into a directory that holds a run."""
import json
import os
import random
import shutil
import signal
import subprocess
import time

from evaltest import SAFEARITH, Checker, make_tmp, read_rows, run, shared_data

C = Checker()
D = shared_data()
tmp = make_tmp(prefix="sa_eval_resume_")
ds_copy = os.path.join(tmp, "dangerousqa.json")
shutil.copy(os.path.join(D, "dangerousqa/dangerousqa.json"), ds_copy)
qa = os.path.join(tmp, "add.jsonl")
with open(qa, "w") as f:
    for a in range(10, 40):
        f.write(json.dumps({"question": f"What is {a} plus {a % 7}?", "answer": f"{a} plus {a % 7} is {a + a % 7}."}) + "\n")
mcq = os.path.join(tmp, "mcq.jsonl")
with open(mcq, "w") as f:
    for a in range(25):
        f.write(json.dumps({"question": f"Pick {a}", "choices": [str(a), str(a + 1), "none"], "answer": 0}) + "\n")


def args(out, model="fake:5", extra=()):
    return ["eval", "-q", "--model", model, "-o", out, "--batch", "3",
            "--dataset", ds_copy, "--dataset", os.path.join(D, "xstest/xstest_prompts.csv"),
            "--dataset", qa, "--dataset", mcq, "--sample", "120", "--seed", "5",
            "--judge", "refusal",
            "--judge", "model:fake:" + os.path.join(D, "judge_prompts/redeval_gpt4_judge_prompt.json"),
            *extra]


ref = os.path.join(tmp, "ref")
r = run(args(ref))
C.check(r.returncode == 0, f"uninterrupted run failed: {r.stderr}")

seed = int(time.time())
print("kill schedule seed", seed)
rng = random.Random(seed)
out = os.path.join(tmp, "killed")
kills = 0
torn = False
for attempt in range(40):
    extra = ["--resume"] if attempt else []
    p = subprocess.Popen([SAFEARITH] + args(out, extra=extra), stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, text=True)
    delay = rng.uniform(0.02, 0.3)
    try:
        p.wait(timeout=delay)
    except subprocess.TimeoutExpired:
        os.kill(p.pid, signal.SIGKILL)
        p.wait()
        kills += 1
        if not torn and os.path.exists(os.path.join(out, "responses.jsonl")):
            with open(os.path.join(out, "responses.jsonl"), "a") as f:
                f.write('{"ds": 0, "i": 12345, "response": "torn')  # a crash mid-line
            torn = True
        continue
    err = p.stderr.read()
    C.check(p.returncode == 0, f"resume attempt {attempt} failed: {err}")
    break
else:
    r = run(args(out, extra=["--resume"]))
    C.check(r.returncode == 0, f"final resume failed: {r.stderr}")
print("kills:", kills)
C.check(kills >= 3, f"only {kills} kills happened; the schedule is too slow to test anything")
C.check(torn, "no torn line was injected")

a, b = read_rows(ref), read_rows(out)
keys = [(x["ds"], x["i"]) for x in b]
C.check(len(keys) == len(set(keys)), f"duplicated rows: {len(keys) - len(set(keys))}")
key = lambda x: (x["ds"], x["i"])
C.check(sorted(a, key=key) == sorted(b, key=key), f"rows differ: {len(a)} vs {len(b)}")
C.check(not any(x["i"] == 12345 for x in b), "the torn line survived")
for name in ("summary.json", "summary.md"):
    with open(os.path.join(ref, name), "rb") as f1, open(os.path.join(out, name), "rb") as f2:
        C.check(f1.read() == f2.read(), f"{name} differs from the uninterrupted run's")
with open(os.path.join(out, "run.json")) as f:
    rj = json.load(f)
C.check(rj["status"] == "complete" and rj["resumed"] >= 1, f"run.json status {rj['status']} resumed {rj.get('resumed')}")
with open(os.path.join(ref, "summary.json")) as f:
    C.check(json.load(f)["complete"] is True, "summary says complete")

# refusals
r = run(args(out, extra=["--resume", "--max-new-tokens", "64"]))
C.check(r.returncode == 1 and "different settings" in r.stderr and "decoding.max_new_tokens" in r.stderr,
        f"resume with other decoding: {r.stderr}")
r = run(args(out, extra=["--resume", "--seed", "6"]))
C.check(r.returncode == 1 and "different settings" in r.stderr, f"resume with another sample seed: {r.stderr}")
with open(ds_copy, "a") as f:
    f.write("\n")
r = run(args(out, extra=["--resume"]))
C.check(r.returncode == 1 and "sha256" in r.stderr, f"resume with a changed dataset: {r.stderr}")
r = run(args(ref))
C.check(r.returncode == 1 and "already holds a run" in r.stderr, f"overwrite without --resume: {r.stderr}")

# a responses.jsonl edited by hand: resume names the line and what is wrong, and changes nothing
# (before the check, a row without "group" crashed the summary and a negative "ds" was undefined)
shutil.copy(os.path.join(D, "dangerousqa/dangerousqa.json"), ds_copy)  # undo the change above
with open(os.path.join(ref, "responses.jsonl")) as f:
    ref_rows = f.read().splitlines()
harmful_line = next(n for n, line in enumerate(ref_rows) if json.loads(line)["kind"] == "harmful")
bad_cases = [
    (lambda x: x.pop("group"), 'no "group" string'),
    (lambda x: x.update(ds=-1), '"ds" is not a dataset index'),
    (lambda x: x.update(i=2.5), '"i" is not an item index'),
    (lambda x: x.update(kind="evil"), '"kind" is not harmful, benign, mcq or qa'),
    (lambda x: x.update(category=7), '"category" is not a string'),
    (lambda x: next(iter(x["judges"].values())).update(flag=2),
     'a verdict in "judges" has no "flag" of -1, 0 or 1'),
]
for edit, why in bad_cases:
    bad = make_tmp(prefix="sa_eval_badrow_")
    for name in ("run.json", "summary.json", "summary.md"):
        shutil.copy(os.path.join(ref, name), bad)
    rows = list(ref_rows)
    row = json.loads(rows[harmful_line])
    edit(row)
    rows[harmful_line] = json.dumps(row)
    with open(os.path.join(bad, "responses.jsonl"), "w") as f:
        f.write("\n".join(rows[:harmful_line + 1]) + "\n")
    before = {n: open(os.path.join(bad, n), "rb").read() for n in os.listdir(bad)}
    r = run(args(bad, extra=["--resume"]))
    where = f"responses.jsonl:{harmful_line + 1}: {why}"
    C.check(r.returncode == 1 and where in r.stderr and len(r.stderr.strip().splitlines()) == 1,
            f"resume over a bad row ({why}): rc {r.returncode}, {r.stderr!r}")
    after = {n: open(os.path.join(bad, n), "rb").read() for n in os.listdir(bad)}
    C.check(after == before, f"resume over a bad row ({why}) changed the run directory")
C.done()
