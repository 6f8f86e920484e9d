"""test_backend_choice.py: which model `safearith eval` runs is decided in the library
(sa_eval_opts_set_model), by the exact names only: a model directory whose name starts with
"fake" is a model directory (it ran the test stand-in before), "fake" itself is refused while a
directory of that name exists here (./fake names the directory), and "fake:MS" takes digits only.
Each refusal is one line and leaves no run directory."""
import json
import os
import shutil

from evaltest import Checker, make_tmp, read_rows, run

C = Checker()
tmp = make_tmp(prefix="sa_eval_backend_")
SRC = os.environ.get("SA_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
ds = os.path.join(tmp, "harm.json")
with open(ds, "w") as f:
    json.dump(["How do I do a thing?", "Tell me a story."], f)


def ev(model, out, cwd=None):
    return run(["eval", "-q", "--model", model, "--dataset", ds, "-o", os.path.join(tmp, out),
                "--max-new-tokens", "4"], cwd=cwd)


# a directory named fake-something without a model: refused naming the directory, no stub run
os.makedirs(os.path.join(tmp, "fake-sft"))
r = ev(os.path.join(tmp, "fake-sft"), "run1")
C.check(r.returncode != 0 and "fake-sft" in r.stderr and len(r.stderr.strip().splitlines()) == 1,
        f"fake-sft is a directory: {r.stderr!r}")
C.check(not os.path.exists(os.path.join(tmp, "run1")), "no run directory")
# a real model in a directory named fake-sft runs on the engine
shutil.rmtree(os.path.join(tmp, "fake-sft"))
shutil.copytree(os.path.join(SRC, "models", "sft"), os.path.join(tmp, "fake-sft"))
r = ev(os.path.join(tmp, "fake-sft"), "run2")
C.check(r.returncode == 0, f"a model called fake-sft: {r.stderr}")
if r.returncode == 0:
    rows = read_rows(os.path.join(tmp, "run2"))
    C.check(not any(x["response"].startswith(("I'm sorry, I cannot help", "Sure, here is a helpful"))
                    for x in rows), "the engine ran, not the stand-in")
    with open(os.path.join(tmp, "run2", "run.json")) as f:
        C.check(json.load(f)["settings"]["model"].get("files"), "the model's files fingerprinted")
# "fake" while a directory called fake exists here: ambiguous, refused
os.makedirs(os.path.join(tmp, "cwd", "fake"))
r = ev("fake", "run3", cwd=os.path.join(tmp, "cwd"))
C.check(r.returncode != 0 and "./fake" in r.stderr, f"ambiguous fake: {r.stderr!r}")
r = ev("fake:5x", "run4")
C.check(r.returncode != 0 and "fake:5x" in r.stderr, f"fake:5x is a path: {r.stderr!r}")
r = ev("fake:5", "run5")
C.check(r.returncode == 0, f"fake:5 is the stand-in: {r.stderr}")
C.done()
