"""test_first_errors.py: regression tests for issue 23's bugs a new user hits first, on the shipped
organisms (models/), each one failing before its fix:

  silent garbage: a merge weight of 1e40 (inf/NaN weights written with exit 0), --steer V:1e300
  (inf in float32, NaN logits), generate on a model with NaN weights (NUL bytes printed);
  report replacing an existing file without --overwrite (data loss: the table-driven
  test_outputs_inputs.py covers outputs inside inputs);
  errors: -o DIR/ with a trailing '/' for every model-writing command, bench with its defaults,
  detokenize of an unknown id (dropped silently; now an error, or dropped with --skip-unknown),
  generate --tokens with a bad id (an empty line and "eval: row 2"), hdr --target DIR/FILE (an
  output without config or tokenizer), a truncated config.json (copied into outputs, skipped by
  inspect), icv taking invalid UTF-8 that eval refuses, and SIGINT (exit 1, "icv: icv:")."""
import os
import shutil
import signal
import subprocess
import sys
import time

SRC = os.environ.get("SA_SOURCE_DIR") or os.path.dirname(os.path.dirname(
    os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(SRC, "tests", "common"))
from checks import check, done  # noqa: E402
from scratch import make_tmp  # noqa: E402
import st_io  # noqa: E402

BIN = os.environ.get("SAFEARITH", os.path.join(SRC, "build", "safearith"))
MODELS = os.path.join(SRC, "models")
S, BASE, HARM, UNAL = (os.path.join(MODELS, n) for n in ("sft", "base", "harmful", "unaligned"))
PAIRS = os.path.join(MODELS, "eval", "icv_pairs.jsonl")
tmp = make_tmp("sa_first_errors_")


def run(*args, **kw):
    return subprocess.run([BIN, *args], capture_output=True, timeout=600, **kw)


def one_error(p, cmd, what, must_contain=()):
    """Non-zero exit, exactly one stderr line 'safearith CMD: ...' containing must_contain."""
    err = p.stderr.decode(errors="replace")
    lines = err.splitlines()
    ok = p.returncode not in (0, -6, -11) and len(lines) == 1 and \
        lines[0].startswith(f"safearith {cmd}: ") and all(s in err for s in must_contain)
    check(ok, f"{what}: exit {p.returncode}, stderr {err!r}")
    return ok


def entries(d):
    return sorted(os.listdir(d))


# ---- merge weight 1e40: refused naming the tensor, nothing left behind
out_parent = os.path.join(tmp, "merges")
os.makedirs(out_parent)
recipe = os.path.join(tmp, "big.yml")
with open(recipe, "w") as f:
    f.write(f"merge_method: task_arithmetic\nbase_model: {BASE}\nmodels:\n"
            f"  - model: {S}\n    parameters:\n      weight: 1e40\n")
p = run("merge", recipe, "-o", os.path.join(out_parent, "m"))
one_error(p, "merge", "merge weight 1e40", ["tensor '", "inf or NaN"])
check(entries(out_parent) == [], f"merge weight 1e40 left {entries(out_parent)}")
# narrowing that overflows float16 is refused too (the values fit float32)
with open(recipe, "w") as f:
    f.write(f"merge_method: task_arithmetic\nbase_model: {BASE}\nmodels:\n"
            f"  - model: {S}\n    parameters:\n      weight: 1e9\n")
p = run("merge", recipe, "--dtype", "f16", "-o", os.path.join(out_parent, "m16"))
one_error(p, "merge", "merge into f16 beyond its range", ["tensor '", "F16"])
p = run("merge", recipe, "-o", os.path.join(out_parent, "m32"))
check(p.returncode == 0, f"a finite merge in f32 fails: {p.stderr!r}")

# ---- --steer V:1e300 (inf in float32) is refused
vec = os.path.join(tmp, "v.gguf")
pairs3 = os.path.join(tmp, "pairs3.jsonl")
with open(PAIRS) as f, open(pairs3, "w") as g:
    g.writelines(f.readlines()[:3])
p = run("icv", "--model", S, "--pairs", pairs3, "-o", vec)
check(p.returncode == 0, f"icv: {p.stderr!r}")
for cmd in (["generate", "--model", S, "--prompt", "hi", "--max-tokens", "2"],
            ["logits", "--model", S, "--text", "hi", "-o", os.path.join(tmp, "l.st")]):
    p = run(*cmd, "--steer", vec + ":1e300")
    one_error(p, cmd[0], f"{cmd[0]} --steer V:1e300", ["float32"])
check(not os.path.exists(os.path.join(tmp, "l.st")), "logits wrote an output with a bad scale")

# ---- generate on a model whose weights are NaN: one error, no NUL bytes
nan_model = os.path.join(tmp, "nan_model")
shutil.copytree(S, nan_model)
tensors, meta = st_io.load_file(os.path.join(nan_model, "model.safetensors"))
for t in tensors.values():
    t[:] = float("nan")
st_io.save(os.path.join(nan_model, "model.safetensors"), tensors, meta)
for extra in ([], ["--temp", "0.8", "--seed", "3"]):
    p = run("generate", "--model", nan_model, "--prompt", "hi", "--max-tokens", "5", *extra)
    check(b"\0" not in p.stdout, f"generate {extra} on NaN weights printed NUL bytes")
    one_error(p, "generate", f"generate {extra} on NaN weights", ["NaN"])

# ---- report replaces an existing file only with --overwrite
run_dir = os.path.join(tmp, "run")
p = run("eval", "--model", S, "--dataset", os.path.join(MODELS, "eval", "facts.jsonl"),
        "--limit", "1", "--max-new-tokens", "4", "-q", "-o", run_dir)
check(p.returncode == 0, f"eval: {p.stderr!r}")
report = os.path.join(tmp, "notes.md")
with open(report, "w") as f:
    f.write("my notes\n")
p = run("report", run_dir, "-o", report, "--svg", os.path.join(tmp, "c.svg"))
one_error(p, "report", "report -o over an existing file", ["already exists"])
check(open(report).read() == "my notes\n", "report replaced an existing file")
check(not os.path.exists(os.path.join(tmp, "c.svg")), "a refused report wrote its chart")
p = run("report", run_dir, "-o", report, "--svg", os.path.join(tmp, "c.svg"), "--overwrite")
check(p.returncode == 0 and open(report).read() != "my notes\n", f"report --overwrite: {p.stderr}")

# ---- -o DIR/ works for every model-writing command
with open(recipe, "w") as f:
    f.write(f"merge_method: task_arithmetic\nbase_model: {BASE}\nmodels:\n"
            f"  - model: {S}\n    parameters:\n      weight: 0.5\n")
slash = {
    "hdr": ["hdr", "--target", S, "--base", BASE, "--harmful", HARM],
    "resta": ["resta", "--model", S, "--aligned", BASE, "--unaligned", UNAL],
    "task-vector": ["task-vector", "--model", S, "--base", BASE],
    "merge": ["merge", recipe],
}
for name, argv in slash.items():
    out = os.path.join(tmp, "slash_" + name.replace("-", "_"))
    p = run(*argv, "-o", out + "/")
    got = entries(out) if os.path.isdir(out) else []
    check(p.returncode == 0 and "model.safetensors" in got and "config.json" in got,
          f"{name} -o DIR/: exit {p.returncode}, {got}, {p.stderr!r}")
    p = run(*argv, "-o", out + "//", "--overwrite")
    check(p.returncode == 0, f"{name} -o DIR// --overwrite: {p.stderr!r}")

# ---- --overwrite replaces a previous output, not someone's directory
mine = os.path.join(tmp, "my_dir")
os.makedirs(mine)
with open(os.path.join(mine, "notes.txt"), "w") as f:
    f.write("precious\n")
p = run(*slash["task-vector"], "-o", mine, "--overwrite")
one_error(p, "task-vector", "task-vector -o SOMEONES_DIR --overwrite", ["previous output"])
check(entries(mine) == ["notes.txt"], f"--overwrite replaced a directory: {entries(mine)}")

# ---- bench with its defaults on every shipped organism
for org in ("base", "harmful", "sft", "edited", "unaligned"):
    p = run("bench", "--model", os.path.join(MODELS, org), "--reps", "1", "--json")
    check(p.returncode == 0 and b'"n_prompt": 128' in p.stdout,
          f"bench defaults on {org}: exit {p.returncode} {p.stderr!r}")
p = run("bench", "--model", S, "--reps", "1", "-p", "0", "-n", "128")
check(p.returncode == 2 and b"128" in p.stderr, "bench -n 128 on 128 positions is accepted")

# ---- detokenize an unknown id; generate --tokens with a bad id
p = run("detokenize", "--model", S, "--ids", "5,99999")
one_error(p, "detokenize", "detokenize --ids 5,99999", ["99999"])
check(p.stdout == b"", "detokenize of an unknown id printed a result")
p = run("detokenize", "--model", S, "--ids", "5,99999", "--skip-unknown")
want = run("detokenize", "--model", S, "--ids", "5")
check(p.returncode == 0 and p.stdout == want.stdout, f"--skip-unknown: {p.stdout!r} {p.stderr!r}")
p = run("generate", "--model", S, "--tokens", "1,2,99999")
one_error(p, "generate", "generate --tokens 1,2,99999", ["99999"])
check(p.stdout == b"", f"generate with a bad id printed {p.stdout!r}")
check(b"eval: row" not in p.stderr, "generate names an internal row")
p = run("logits", "--model", S, "--tokens", "1,99999", "-o", os.path.join(tmp, "bad.st"))
one_error(p, "logits", "logits --tokens 1,99999", ["99999"])
check(b"eval: row" not in p.stderr, "logits names an internal row")

# ---- hdr --target DIR/model.safetensors; weights outside a model directory; bad config.json
hdr = ["hdr", "--base", BASE, "--harmful", HARM]
out = os.path.join(tmp, "hdr_file_target")
p = run(*hdr, "--target", os.path.join(S, "model.safetensors"), "-o", out)
check(p.returncode == 0 and {"config.json", "tokenizer.json"} <= set(entries(out)),
      f"hdr --target DIR/model.safetensors: {p.stderr!r} {entries(out) if os.path.isdir(out) else []}")
loose = os.path.join(tmp, "loose")
os.makedirs(loose)
shutil.copy(os.path.join(S, "model.safetensors"), loose)
p = run(*hdr, "--target", os.path.join(loose, "model.safetensors"), "-o", out + "2")
one_error(p, "hdr", "hdr --target FILE outside a model directory", ["config.json"])
check(not os.path.exists(out + "2"), "hdr wrote an output without config and tokenizer")
broken = os.path.join(tmp, "broken_config")
shutil.copytree(S, broken)
with open(os.path.join(S, "config.json"), "rb") as f:
    cfg = f.read()
with open(os.path.join(broken, "config.json"), "wb") as f:
    f.write(cfg[: len(cfg) // 2])
p = run(*hdr, "--target", broken, "-o", out + "3")
one_error(p, "hdr", "hdr with a truncated config.json", ["config.json"])
check(not os.path.exists(out + "3"), "a truncated config.json went into an output")
p = run("inspect", broken, "--no-tensors")
one_error(p, "inspect", "inspect with a truncated config.json", ["config.json"])

# ---- icv refuses invalid UTF-8 as eval does
bad = os.path.join(tmp, "bad_utf8.jsonl")
with open(bad, "wb") as f:
    f.write(b'{"positive": "fine", "negative": "unsafe"}\n'
            b'{"positive": "safe \xff", "negative": "unsafe"}\n'
            b'{"positive": "good", "negative": "bad"}\n')
p = run("icv", "--model", S, "--pairs", bad, "-o", os.path.join(tmp, "bad.gguf"))
one_error(p, "icv", "icv with invalid UTF-8", ["UTF-8", "line 2"])
badq = os.path.join(tmp, "bad_q.jsonl")
with open(badq, "wb") as f:
    f.write(b'{"prompt": "safe \xff"}\n')
p = run("eval", "--model", S, "--dataset", badq, "-o", os.path.join(tmp, "bad_run"))
one_error(p, "eval", "eval with invalid UTF-8", ["UTF-8", "line 1"])


# ---- SIGINT: exit 130, one line, no doubled prefix
def interrupted(name, argv):
    proc = subprocess.Popen([BIN, *argv], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    time.sleep(1.0)
    proc.send_signal(signal.SIGINT)
    err = proc.communicate(timeout=300)[1].decode()
    lines = err.splitlines()
    check(proc.returncode == 130, f"{name} after SIGINT: exit {proc.returncode}")
    check(len(lines) == 1 and lines[0].startswith(f"safearith {name}: interrupted"),
          f"{name} after SIGINT: stderr {err!r}")
    check(f"{name}: {name}:" not in err, f"{name}: doubled prefix {err!r}")


many = os.path.join(tmp, "many_pairs.jsonl")
with open(PAIRS) as f, open(many, "w") as g:
    g.write(f.read() * 60)
interrupted("icv", ["icv", "--model", S, "--pairs", many, "-o", os.path.join(tmp, "int.gguf"),
                    "--threads", "1"])
check(not os.path.exists(os.path.join(tmp, "int.gguf")), "an interrupted icv left an output")
# enough prompts that eval is still running after a second on any machine (the three held-out
# sets took about 1 s with the AVX-512 kernels)
big = os.path.join(tmp, "many_prompts.jsonl")
with open(big, "w") as g:
    for n in ("advbench", "harmfulqa", "catqa"):
        with open(os.path.join(MODELS, "eval", n + ".jsonl")) as f:
            g.write(f.read() * 20)
interrupted("eval", ["eval", "--model", S, "--dataset", big, "-q", "--threads", "1",
                     "-o", os.path.join(tmp, "int_run")])
done()
