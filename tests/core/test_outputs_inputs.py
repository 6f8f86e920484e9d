"""test_outputs_inputs.py: no command ever writes into what it reads (issue 23).

Table-driven: for every command with an output (logits -o, icv -o and --dump-states, eval -o,
report -o and --svg, hdr, resta, task-vector and merge -o), each output is pointed at each of the
command's inputs and at paths inside them: a new file in a model directory, an existing file
there, the same paths spelled through '..', a trailing '/', and a symlink to the model directory;
each with and without --overwrite (eval: --resume). Every such run must exit non-zero with
exactly one line on stderr and leave every input byte-identical (the input trees are hashed
before and after; a cheap listing with sizes and mtimes is compared after every run).

The inputs are copies of the shipped organisms (models/) in a scratch directory, a few pairs and
questions from models/eval, a steering vector and a run directory made here."""
import hashlib
import os
import shutil
import subprocess
import sys

SRC = os.environ.get("SA_SOURCE_DIR") or os.path.dirname(os.path.dirname(
    os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(SRC, "tests", "common"))
from checks import check, done  # noqa: E402
from scratch import make_tmp  # noqa: E402

BIN = os.environ.get("SAFEARITH", os.path.join(SRC, "build", "safearith"))
MODELS = os.path.join(SRC, "models")
tmp = make_tmp("sa_outputs_")
IN = os.path.join(tmp, "in")  # everything a command reads lives here
os.makedirs(IN)


def run(*args):
    return subprocess.run([BIN, *args], capture_output=True, text=True, timeout=300)


def must(*args):
    p = run(*args)
    if p.returncode != 0:
        sys.exit(f"setup failed: safearith {' '.join(args)}: {p.stderr}")
    return p


S, B, H, U = (os.path.join(IN, n) for n in ("S", "B", "H", "U"))
for name, dst in (("sft", S), ("base", B), ("harmful", H), ("unaligned", U)):
    shutil.copytree(os.path.join(MODELS, name), dst)
P = os.path.join(IN, "pairs.jsonl")
with open(os.path.join(MODELS, "eval", "icv_pairs.jsonl")) as f, open(P, "w") as g:
    g.writelines(f.readlines()[:3])
D = os.path.join(IN, "facts.jsonl")
with open(os.path.join(MODELS, "eval", "facts.jsonl")) as f, open(D, "w") as g:
    g.writelines(f.readlines()[:2])
V = os.path.join(IN, "v.gguf")
must("icv", "--model", S, "--pairs", P, "-o", V)
R = os.path.join(IN, "run")
must("eval", "--model", S, "--dataset", D, "--limit", "1", "--max-new-tokens", "4", "-q", "-o", R)
Y = os.path.join(IN, "recipe.yml")
with open(Y, "w") as f:
    f.write(f"merge_method: task_arithmetic\nbase_model: {B}\nmodels:\n"
            f"  - model: {S}\n    parameters:\n      weight: 0.5\n")
L = os.path.join(IN, "link_to_S")
os.symlink(S, L)


def listing():
    out = []
    for root, dirs, files in os.walk(IN):
        dirs.sort()
        for n in sorted(dirs + files):
            p = os.path.join(root, n)
            st = os.lstat(p)
            out.append((os.path.relpath(p, IN), st.st_size, st.st_mtime_ns, st.st_ino))
    return out


def digest():
    h = hashlib.sha256()
    for rel, *_ in listing():
        p = os.path.join(IN, rel)
        h.update(rel.encode() + b"\0")
        if os.path.isfile(p) and not os.path.islink(p):
            with open(p, "rb") as f:
                h.update(f.read())
    return h.hexdigest()


def targets(inputs):
    """Output paths that are, or lie inside, the given inputs."""
    out = []
    for i in inputs:
        out.append(i)
        if os.path.isdir(i):
            out += [os.path.join(i, "new_output"), i + "/",
                    os.path.join(i, "..", os.path.basename(i), "new_output")]
            existing = sorted(os.listdir(i))[0]
            out.append(os.path.join(i, existing))
        else:
            out.append(os.path.join(os.path.dirname(i), ".", os.path.basename(i)))
        if i == S:
            out += [L, os.path.join(L, "new_output"), os.path.join(L, "model.safetensors")]
    return out


OK = os.path.join(tmp, "fine_output")  # a legal output, for commands with two outputs

# name, inputs, outputs: {flag: build(out) -> argv}, flag that replaces a previous output
COMMANDS = [
    ("logits", [S, V], {"-o": lambda o: ["logits", "--model", S, "--text", "hi",
                                         "--steer", V, "-o", o]}, "--overwrite"),
    ("icv", [S, P], {"-o": lambda o: ["icv", "--model", S, "--pairs", P, "-o", o],
                     "--dump-states": lambda o: ["icv", "--model", S, "--pairs", P,
                                                 "-o", OK + ".gguf", "--dump-states", o]},
     "--overwrite"),
    ("eval", [S, D, V], {"-o": lambda o: ["eval", "--model", S, "--dataset", D, "--steer", V,
                                          "--limit", "1", "--max-new-tokens", "2", "-q",
                                          "-o", o]}, "--resume"),
    ("report", [R], {"-o": lambda o: ["report", R, "-o", o, "--svg", OK + ".svg"],
                     "--svg": lambda o: ["report", R, "-o", OK + ".md", "--svg", o]},
     "--overwrite"),
    ("hdr", [S, B, H], {"-o": lambda o: ["hdr", "--target", S, "--base", B, "--harmful", H,
                                         "-o", o]}, "--overwrite"),
    ("resta", [S, B, U], {"-o": lambda o: ["resta", "--model", S, "--aligned", B,
                                           "--unaligned", U, "-o", o]}, "--overwrite"),
    ("task-vector", [S, B], {"-o": lambda o: ["task-vector", "--model", S, "--base", B,
                                              "-o", o]}, "--overwrite"),
    ("merge", [Y, B, S], {"-o": lambda o: ["merge", Y, "-o", o]}, "--overwrite"),
    ("export-gguf", [S], {"-o": lambda o: ["export-gguf", S, "-o", o]}, "--overwrite"),
]

before = digest()
snap = listing()
runs = 0
for name, inputs, outputs, again in COMMANDS:
    for flag, build in outputs.items():
        for target in targets(inputs):
            for extra in ([], [again]):
                argv = build(target) + extra
                p = run(*argv)
                runs += 1
                what = f"safearith {' '.join(argv)}"
                lines = p.stderr.splitlines()
                check(p.returncode not in (0, -11, -6), f"{what}: exit {p.returncode}")
                check(len(lines) == 1, f"{what}: {len(lines)} stderr lines: {p.stderr!r}")
                check(lines and lines[0].startswith(f"safearith {name}: "),
                      f"{what}: stderr {p.stderr!r}")
                now = listing()
                if not check(now == snap, f"{what}: changed the inputs"):
                    snap = now
                for extra_out in (OK + ".gguf", OK + ".svg", OK + ".md"):
                    if os.path.exists(extra_out):
                        os.remove(extra_out)  # a refusal leaves none, but keep runs independent
check(runs > 150, f"only {runs} runs")
check(digest() == before, "the inputs are not byte-identical after all runs")

# The same commands with a legal output still work (the refusals above are not blanket ones).
for name, inputs, outputs, again in COMMANDS:
    out = os.path.join(tmp, "legal_" + name.replace("-", "_") + ".out")
    p = run(*outputs["-o"](out))
    check(p.returncode == 0, f"{name} -o {out}: exit {p.returncode}: {p.stderr}")
    p = run(*outputs["-o"](out))
    check(p.returncode != 0 and len(p.stderr.splitlines()) == 1,
          f"{name}: an existing output without {again}: exit {p.returncode}: {p.stderr!r}")
    for extra_out in (OK + ".gguf", OK + ".svg", OK + ".md"):
        if os.path.exists(extra_out):
            os.remove(extra_out)
    if again == "--overwrite":
        p = run(*outputs["-o"](out), again)
        check(p.returncode == 0, f"{name} {again}: exit {p.returncode}: {p.stderr}")
check(digest() == before, "the inputs are not byte-identical after the legal runs")
done()
