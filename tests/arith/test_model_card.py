"""test_model_card.py: the README.md model card of task-vector, hdr, resta and merge outputs.

For each operation on the shipped organisms: the card exists, its YAML front matter parses
(python3-yaml) with base_model, tags (safearith and the operation) and library_name; the body
lists every parameter the checkpoint's __metadata__ records, every input file with the SHA-256
that hashlib computes, the command line and the version; running the recorded command again
(from the same directory) rewrites every file of the output bit for bit. A README.md that came
with the target is kept as README.source.md and linked; --no-model-card writes none."""
import hashlib
import json
import os
import shlex
import shutil
import subprocess
import sys

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.environ.get("SA_SOURCE_DIR", os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(SRC, "tests", "common"))
import st_io  # noqa: E402
from checks import check, done  # noqa: E402
from scratch import make_tmp  # noqa: E402

SA = os.environ.get("SAFEARITH", os.path.join(SRC, "build", "safearith"))
TMP = make_tmp("sa-card-")
M = "models"  # relative paths: the command is recorded as typed


def run(*args, ok=True):
    r = subprocess.run([SA, *args], cwd=SRC, capture_output=True, text=True)
    if ok and r.returncode:
        print(r.stderr, file=sys.stderr)
    return r


def split_card(text):
    check(text.startswith("---\n"), "card starts with YAML front matter")
    _, front, body = text.split("---\n", 2)
    return yaml.safe_load(front), body


def files_of(d):
    return {f: open(os.path.join(d, f), "rb").read() for f in sorted(os.listdir(d))}


def check_card(op, out, inputs, base_model):
    card = open(os.path.join(out, "README.md"), encoding="utf-8").read()
    front, body = split_card(card)
    check(front["base_model"] == base_model, "%s: base_model %r" % (op, front.get("base_model")))
    check(front["tags"][:2] == ["safearith", op], "%s: tags %r" % (op, front.get("tags")))
    check(front["library_name"] == "transformers", op + ": library_name")
    meta = st_io.load_file(os.path.join(out, "model.safetensors"))[1]
    params = json.loads(meta["safearith_params"])
    rows = dict(line[2:-2].split(" | ", 1) for line in body.split("## Parameters", 1)[1]
                .split("## Inputs", 1)[0].splitlines() if line.startswith("| "))
    for k, v in params.items():
        cell = rows.get(k)
        got = cell if isinstance(v, str) else json.loads(cell) if cell else None
        check(got == v, "%s: parameter %s = %r in the card (%r)" % (op, k, v, cell))
    for path in inputs:
        for f in sorted(os.listdir(os.path.join(SRC, path))):
            if f.endswith(".safetensors") or f in ("config.json", "tokenizer.json", "tokenizer_config.json"):
                sha = hashlib.sha256(open(os.path.join(SRC, path, f), "rb").read()).hexdigest()
                check(("| %s | %s |" % (path, f)) in body and sha in body,
                      "%s: input %s/%s with its sha256" % (op, path, f))
    check("safearith version: " + run("--version").stdout.split()[1] in body, op + ": version")
    cmd = body.split("```sh\n", 1)[1].split("\n```", 1)[0]
    return cmd


def reproduce(op, out, cmd):
    """Run the recorded command again: same files, byte for byte."""
    first = files_of(out)
    shutil.rmtree(out)
    argv = shlex.split(cmd)
    check(argv[0] == "safearith", op + ": recorded command starts with safearith")
    r = subprocess.run([SA, *argv[1:]], cwd=SRC, capture_output=True, text=True)
    check(r.returncode == 0, "%s: recorded command runs: %s" % (op, r.stderr))
    check(files_of(out) == first, "%s: recorded command rewrites the output bit for bit" % op)


def test_ops():
    tv = os.path.join(TMP, "tv")
    r = run("task-vector", "--base", M + "/base", "--model", M + "/harmful", "-o", tv, "--threads", "1")
    check(r.returncode == 0, "task-vector runs")
    reproduce("task_vector", tv, check_card("task_vector", tv, [M + "/harmful", M + "/base"], M + "/harmful"))

    out = os.path.join(TMP, "hdr")
    r = run("hdr", "--target", M + "/sft", "--base", M + "/base", "--harmful", M + "/harmful",
            "--top-k", "5", "--lambda", "2", "-o", out, "--threads", "2")
    check(r.returncode == 0, "hdr runs")
    reproduce("hdr", out, check_card("hdr", out, [M + "/sft", M + "/base", M + "/harmful"], M + "/sft"))

    out = os.path.join(TMP, "resta")
    r = run("resta", "--model", M + "/sft", "--aligned", M + "/base", "--unaligned", M + "/unaligned",
            "--beta", "0.5", "--dare", "0.3", "--seed", "7", "-o", out)
    check(r.returncode == 0, "resta runs")
    reproduce("resta", out, check_card("resta", out, [M + "/sft", M + "/base", M + "/unaligned"], M + "/sft"))

    recipe = os.path.join(TMP, "ties.yml")
    open(recipe, "w").write("merge_method: ties\nbase_model: %s/base\nmodels:\n"
                            "  - model: %s/sft\n    parameters: {weight: 1.0, density: 0.5}\n"
                            "  - model: %s/edited\n    parameters: {weight: 0.5, density: 0.7}\n"
                            "parameters: {lambda: 0.9}\n" % (M, M, M))
    out = os.path.join(TMP, "merge")
    r = run("merge", recipe, "-o", out)
    check(r.returncode == 0, "merge runs")
    reproduce("merge", out, check_card("merge", out, [M + "/base", M + "/sft", M + "/edited"], M + "/base"))


def test_existing_card_and_opt_out():
    tgt = os.path.join(TMP, "target")
    shutil.copytree(os.path.join(SRC, M, "sft"), tgt)
    open(os.path.join(tgt, "README.md"), "w").write("---\nlicense: mit\n---\n# upstream card\n")
    out = os.path.join(TMP, "hdr2")
    r = run("hdr", "--target", tgt, "--base", M + "/base", "--harmful", M + "/harmful", "-o", out)
    check(r.returncode == 0, "hdr on a target with a card")
    kept = os.path.join(out, "README.source.md")
    check(os.path.exists(kept) and open(kept).read().endswith("# upstream card\n"),
          "the target's card is kept as README.source.md")
    card = open(os.path.join(out, "README.md")).read()
    check("[README.source.md](README.source.md)" in card, "and linked from the new card")
    check(split_card(card)[0]["base_model"] == tgt, "base_model is the target")
    check(open(os.path.join(tgt, "README.md")).read().endswith("# upstream card\n"), "input untouched")
    out = os.path.join(TMP, "nocard")
    r = run("task-vector", "--base", M + "/base", "--model", M + "/harmful", "-o", out, "--no-model-card")
    check(r.returncode == 0 and not os.path.exists(os.path.join(out, "README.md")), "--no-model-card")
    check("--no-model-card" in run("hdr", "--help").stdout, "--no-model-card in --help")


def test_adapter_input():
    """A BASE+ADAPTER input: the card lists the base's files and the adapter's, with their
    SHA-256, and the recorded command (naming BASE+ADAPTER) reproduces the output."""
    sys.path.insert(0, os.path.join(SRC, "tests", "adapter"))
    import adapter_ref
    import torch
    base = st_io.load(os.path.join(SRC, M, "base"))
    mods = sorted(n[:-len(".weight")] for n in base if n.endswith(("q_proj.weight", "v_proj.weight")))
    cfg, t = adapter_ref.make_adapter(base, torch.Generator().manual_seed(3), mods)
    ad = adapter_ref.write_adapter(os.path.join(TMP, "adapter"), cfg, t)
    out = os.path.join(TMP, "resta_ba")
    r = run("resta", "--model", M + "/base+" + ad, "--aligned", M + "/base", "--unaligned",
            M + "/unaligned", "-o", out)
    check(r.returncode == 0, "resta on BASE+ADAPTER runs")
    cmd = check_card("resta", out, [M + "/base", ad, M + "/unaligned"], M + "/base+" + ad)
    body = open(os.path.join(out, "README.md"), encoding="utf-8").read()
    check("| sft (adapter) | %s | adapter_config.json |" % ad in body,
          "resta B+A: the adapter's rows carry the role and the adapter directory")
    reproduce("resta B+A", out, cmd)


test_ops()
test_existing_card_and_opt_out()
test_adapter_input()
done()
