"""test_recipe.py: recipe errors are one line on stderr naming the file and key, a non-zero exit,
and no study directory; a valid recipe's fingerprint ignores formatting but not content."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tunetest  # noqa: E402
from checks import Checker  # noqa: E402
from scratch import make_tmp  # noqa: E402

c = Checker()
tmp = make_tmp("sa-tune-recipe-")
good = tunetest.recipe_text(tmp)


def refused(name, text, needles):
    path = tunetest.write(os.path.join(tmp, name + ".yml"), text)
    out = os.path.join(tmp, name + "-out")
    p = tunetest.run(["tune", path, "-o", out], check=False)
    err = p.stderr.strip()
    c.check(p.returncode != 0, f"{name}: exit {p.returncode}")
    c.check(len(err.splitlines()) == 1, f"{name}: not one line: {err!r}")
    for n in needles:
        c.check(n in err, f"{name}: {n!r} not in {err!r}")
    c.check(not os.path.exists(out), f"{name}: {out} was created")


refused("malformed", good.replace("space:\n", "space:\n  top_k: [1, 2\n"), ["malformed YAML", "line"])
refused("tab", "method: hdr\n\tinputs: x\n", ["malformed YAML"])
refused("unknown-knob", good.replace("  lambda:", "  lamda:"), ["space.lamda", "unknown knob"])
refused("foreign-knob", good.replace("  lambda:", "  beta: 0.5\n  lambda:"), ["space.beta", "not a knob of this method"])
refused("empty-range", good.replace("{range: [0.25, 3]}", "{range: [2, 2]}"), ["space.lambda", "empty range"])
refused("reversed-range", good.replace("{range: [0.25, 3]}", "{range: [3, 1]}"), ["space.lambda", "empty range"])
refused("empty-list", good.replace("{range: [0.25, 3]}", "[]"), ["space.lambda", "empty list"])
refused("log-zero", good.replace("{range: [2, 40], log: true}", "{range: [0, 40], log: true}"), ["space.top_k", "log range"])
refused("unknown-key", good + "colour: blue\n", ["colour", "unknown key"])
refused("method", good.replace("method: hdr", "method: magic"), ["method", "unknown method"])
refused("missing-input", good.replace(f"  harmful: {tunetest.MODELS}/harmful\n", ""), ["inputs.harmful", "missing"])
refused("fraction-one", good.replace("tune_fraction: 0.5", "tune_fraction: 1"), ["tune_fraction", "test split"])
sets = tunetest.slice_sets(tmp)
same = good[:good.index("datasets:")] + "datasets:\n  tune:\n" + "".join(f"    - {p}\n" for p in sets) \
    + "  test:\n" + "".join(f"    - {p}\n" for p in sets[1:]) + good[good.index("eval:"):]
refused("same-split", same, ["datasets.test", "both splits"])
refused("no-file", good.replace(sets[0], sets[0] + ".missing"), ["datasets.files", "does not exist"])
# fuzz finding: a directory as a dataset file leaked the parsed spec after a vague "read error"
refused("dir-file", good.replace(sets[0], os.path.dirname(sets[0])), ["datasets.files", "is a directory"])
# ... and a dataset file that cannot be read (Linux's /proc/self/mem reads fail with EIO) leaked it
# in the fingerprint's checksum (one line only without the leak report of the sanitizer build)
refused("unreadable-file", good.replace(sets[0], "/proc/self/mem"), ["mem", "read error"])
# fuzz finding: the messages quoted the path as written after resolving it had freed that string
# (a relative path resolves to a longer one; use-after-free in the sanitizer build)
refused("relative-missing", good.replace(sets[0], "nothere.jsonl"), ["datasets.files", "'nothere.jsonl' does not exist"])
refused("relative-dir", good.replace(sets[0], "."), ["datasets.files", "'.' is a directory"])
refused("bad-trials", good.replace("trials: 6", "trials: 0"), ["search.trials"])
# audit of counts: a count beyond int was converted before its range was checked (undefined; the
# sanitizer build's binary stops)
refused("huge-trials", good.replace("trials: 6", "trials: 1e300"), ["search.trials", "expected an integer"])

# inputs found wrong only when the study starts (a set with no item in the tuning split, a model
# that is not one) left study.json and trials.jsonl behind, and the fixed recipe was then refused
# ("already holds a study"); a directory given empty stays empty
one = os.path.join(tmp, "one.jsonl")
with open(sets[1]) as f, open(one, "w") as g:
    g.write(f.readline())
refused("empty-tune-split", good.replace(sets[1], one), ["no item falls into the tune split"])
refused("bad-model", good.replace(f"{tunetest.MODELS}/base\n", f"{tmp}\n"), [tmp])
given = os.path.join(tmp, "given-empty")
os.mkdir(given)
p = tunetest.run(["tune", tunetest.write(os.path.join(tmp, "one.yml"), good.replace(sets[1], one)),
                  "-o", given], check=False)
c.check(p.returncode != 0 and os.listdir(given) == [], f"empty -o dir kept empty: {os.listdir(given)}")

# where a study may go: not inside an input, not into a non-empty directory without a study
a = tunetest.write(os.path.join(tmp, "ok.yml"), good)
inside = os.path.join(tunetest.MODELS, "sft", "study")
p = tunetest.run(["tune", a, "-o", inside], check=False)
c.check(p.returncode != 0 and "inside input" in p.stderr and not os.path.exists(inside), f"-o in an input: {p.stderr!r}")
busy = os.path.join(tmp, "busy")
os.mkdir(busy)
tunetest.write(os.path.join(busy, "keep.txt"), "mine")
p = tunetest.run(["tune", a, "-o", busy], check=False)
c.check(p.returncode != 0 and "not empty" in p.stderr and os.listdir(busy) == ["keep.txt"], f"-o busy dir: {p.stderr!r}")
p = tunetest.run(["tune", a], check=False)
c.check(p.returncode == 2 and "-o" in p.stderr, f"no -o: {p.returncode} {p.stderr!r}")
p = tunetest.run(["tune", a, "-o", os.path.join(tmp, "x"), "--trials", "zero"], check=False)
c.check(p.returncode == 2 and "--trials" in p.stderr, f"bad --trials: {p.stderr!r}")
p = tunetest.run(["tune", "--apply", "0", "-o", os.path.join(tmp, "m")], check=False)
c.check(p.returncode == 2 and "--study" in p.stderr, f"--apply without --study: {p.stderr!r}")
p = tunetest.run(["tune", "--help"])
c.check("RECIPE.yml" in p.stdout, "tune --help")
c.done()
