"""test_cli_flags.py: the CLI reads flags one way in every command (regressions of issue 23):
--name=value works wherever --name value does, numbers are decimal and range-checked (hex,
fractions and overflow refused with a message naming the flag), seeds span uint64 exactly, the
decoding flags have one vocabulary (--max-tokens, alias --max-new-tokens, in generate, chat and
eval), --steer PATH:SCALE refuses a scale that is not a number, hdr --layers beyond the model is
refused naming the range and the layer count, `help --help` and `--version` work. Every refusal
is exit 2 (usage) or 1, one line naming the flag, and no output written."""
import os
import shutil
import subprocess
import sys
import tempfile

SRC = os.environ.get("SA_SOURCE_DIR") or os.path.dirname(os.path.dirname(
    os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(SRC, "tests", "common"))
from checks import Checker  # noqa: E402

BIN = os.environ.get("SAFEARITH", os.path.join(SRC, "build", "safearith"))
M = os.path.join(SRC, "models")
c = Checker()
tmp = tempfile.mkdtemp(prefix="sa_cli_flags_")


def run(*args):
    return subprocess.run([BIN, *args], capture_output=True, text=True, timeout=300)


def refused(p, flag, what, code=2):
    """Usage error: the exit code, the flag named on the first stderr line, nothing on stdout."""
    first = p.stderr.splitlines()[0] if p.stderr else ""
    c.check(p.returncode == code and flag in first and p.stdout == "",
            "%s refused (exit %d, naming %s): rc=%d %r" % (what, code, flag, p.returncode,
                                                           p.stderr.strip()))


gen = ["generate", "--model", M + "/base", "--prompt", "Hello", "--print-ids", "--temp", "1",
       "--top-k", "0", "--max-tokens", "16"]

# --name=value in every kind of command (generate's --threads was "--threads VALUE" only)
for args in (gen + ["--threads=2"], ["bench", "--model", M + "/base", "-p", "8", "-n", "4",
                                      "--reps=1", "--threads=2"],
             ["tokenize", "--model=" + M + "/base", "--text=hi"],
             ["detokenize", "--model=" + M + "/base", "--ids=5,6"],
             ["inspect", M + "/base", "--json"]):
    p = run(*args)
    c.check(p.returncode == 0, "%s with --name=value: %s" % (args[0], p.stderr.strip()))
p = run("hdr", "--overwrite=yes")
refused(p, "--overwrite", "a switch given a value")

# numbers: hex (strtod read 0x10 as 16), fractions, overflow
base3 = ["--target", M + "/sft", "--base", M + "/base", "--harmful", M + "/harmful"]
out = os.path.join(tmp, "out")
refused(run("hdr", *base3, "--top-k", "0x10", "-o", out), "--top-k", "hdr --top-k 0x10")
refused(run("hdr", *base3, "--top-k", "1e1000", "-o", out), "--top-k", "hdr --top-k overflow")
refused(run(*gen, "--top-k", "0x10"), "--top-k", "generate --top-k 0x10")
refused(run(*gen, "--top-k", "4294967297"), "--top-k", "generate --top-k beyond int")
refused(run(*gen, "--seed", "1.5"), "--seed", "a fractional seed")
refused(run(*gen, "--seed", "18446744073709551616"), "--seed", "a seed of 2^64")
refused(run(*gen, "--seed", "-1"), "--seed", "a negative seed")
refused(run("task-vector", "--base", M + "/base", "--model", M + "/sft", "-o", out,
            "--shard-size", "1e30GB"), "--shard-size", "a shard size beyond uint64")
refused(run(*gen, "--steer", os.path.join(tmp, "v.gguf") + ":0x10"), "--steer",
        "a hexadecimal steering scale")
for bad in ("0x10", "inf", "nan"):
    recipe = os.path.join(tmp, "r.yml")
    with open(recipe, "w") as f:
        f.write("merge_method: task_arithmetic\nbase_model: %s/base\nmodels:\n"
                "  - model: %s/sft\n    parameters: {weight: %s}\n" % (M, M, bad))
    merged = os.path.join(tmp, "merged")
    p = run("merge", recipe, "-o", merged)
    c.check(p.returncode == 1 and "weight" in p.stderr and "not a finite decimal" in p.stderr
            and not os.path.exists(merged),
            "merge recipe weight %s refused: %s" % (bad, p.stderr.strip()))
for bad in ("0x1", "+1", "1,,2", "4294967296"):
    refused(run("generate", "--model", M + "/base", "--tokens", bad, "--print-ids"), "--tokens",
            "--tokens " + bad)
    refused(run("detokenize", "--model", M + "/base", "--ids", bad), "--ids", "--ids " + bad)
c.check(not os.path.exists(out), "no output after refusals")

# seeds are exact integers: 2^53 and 2^53 + 1 were the same double
a = run(*gen, "--seed", "9007199254740992")
b = run(*gen, "--seed", "9007199254740993")
again = run(*gen, "--seed", "9007199254740993")
c.check(a.returncode == 0 and b.returncode == 0 and b.stdout == again.stdout,
        "seeds near 2^53 accepted and reproducible")
c.check(a.stdout != b.stdout, "seeds 2^53 and 2^53 + 1 sample differently")
p = run(*gen, "--seed", "18446744073709551615")
c.check(p.returncode == 0 and p.stdout.strip(), "seed 2^64 - 1 accepted: " + p.stderr.strip())

# one decoding vocabulary
p = run(*gen[:-2], "--max-new-tokens", "3", "--ignore-eos")
c.check(p.returncode == 0 and len(p.stdout.split()) == 3, "generate --max-new-tokens 3")
ds = os.path.join(tmp, "one.jsonl")
with open(ds, "w") as f:
    f.write('{"prompt": "What is 2 plus 3?"}\n')
run_dir = os.path.join(tmp, "run")
p = run("eval", "--model", M + "/base", "--dataset", ds + ":field=prompt:kind=harmful", "-q",
        "--max-tokens=4", "-o", run_dir)
c.check(p.returncode == 0, "eval --max-tokens=4: " + p.stderr.strip())
rj = os.path.join(run_dir, "run.json")
c.check(os.path.exists(rj) and '"max_new_tokens":4' in "".join(open(rj).read().split()),
        "eval recorded max_new_tokens 4")

# --steer: a scale that is not a number (was "cannot open x")
p = run(*gen, "--steer", "x:abc")
refused(p, "--steer", "--steer x:abc")
c.check("cannot open" not in p.stderr and "abc" in p.stderr and "number" in p.stderr,
        "--steer x:abc says the scale is not a number: " + p.stderr.strip())

# hdr --layers beyond the model: refused before any output, naming the range and layer count
p = run("hdr", *base3, "--layers", "0-99", "-o", out)
c.check(p.returncode != 0 and "0-99" in p.stderr and "4 decoder layers" in p.stderr
        and not os.path.exists(out), "hdr --layers 0-99 on 4 layers: " + p.stderr.strip())
p = run("hdr", *base3, "--notebook-edited-bug", "-o", out)
refused(p, "--notebook-edited-bug", "--notebook-edited-bug without a selection")

# help
p = run("help", "--help")
c.check(p.returncode == 0 and "commands:" in p.stdout, "help --help: " + p.stderr.strip())
p = run("help")
c.check("--version" in p.stdout, "help lists --version")
p = run("--version")
c.check(p.returncode == 0 and p.stdout.startswith("safearith "), "--version")

shutil.rmtree(tmp)
c.done()
