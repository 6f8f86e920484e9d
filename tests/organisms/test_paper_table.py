"""test_paper_table.py: scripts/paper_table.sh builds the paper's table from the right pieces.

Runs the script on the first 3 items of every held-out set and checks its structure: the twelve
row directories, each a complete `safearith eval` run on its model (the shipped organism or the
script's HDR model) with the ICV vector only on the *_icv rows, the vectors equal to a direct
`safearith icv --position last --method pca` from the in-context pairs on the model they steer,
the HDR models equal to a direct `safearith hdr`, the report's rows in order, and the refusal of
a non-empty output directory. The numbers themselves are the full run's (docs/organisms.md).
"""
import filecmp
import json
import os
import subprocess
import sys
import tempfile

import orgtest
from orgtest import MODELS, SAFEARITH, SRC

ROWS = ["original", "icv", "hdr", "hdr_icv", "base", "base_icv", "base_hdr", "base_hdr_icv",
        "edited", "edited_icv", "edited_hdr", "edited_hdr_icv"]
SOURCE = {"original": "sft", "base": "base", "edited": "edited_erode"}
LIMIT, SETS = 3, 8


def row_model(row, out):
    """The model directory a row must have evaluated."""
    prefix = row.split("_")[0] if row.startswith(("base", "edited")) else "original"
    if "hdr" in row:
        return os.path.join(out, "work", ("" if prefix == "original" else prefix + "_") + "hdr")
    return os.path.join(MODELS, SOURCE[prefix])


def row_vector(row, out):
    if not row.endswith("icv"):
        return None
    return os.path.join(out, "work", row + ".gguf")


def main():
    c = orgtest.Checker("paper_table")
    script = os.path.join(SRC, "scripts", "paper_table.sh")
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "table")
        env = dict(os.environ, SAFEARITH=SAFEARITH)
        p = subprocess.run(["bash", script, "--limit", str(LIMIT), "--alpha", "0.3", out],
                           capture_output=True, text=True, env=env)
        if not c.check(p.returncode == 0, f"script failed: {p.stderr[-2000:]}"):
            return c.done()
        for row in ROWS:
            d = os.path.join(out, row)
            for f in ("run.json", "responses.jsonl", "summary.json"):
                c.check(os.path.isfile(os.path.join(d, f)), f"{row}/{f} missing")
            run = json.load(open(os.path.join(d, "run.json"), encoding="utf-8"))["settings"]
            c.check(os.path.realpath(run["model"]["path"]) ==
                    os.path.realpath(row_model(row, out)), f"{row}: model {run['model']['path']}")
            steer = run.get("steer") or []
            vec = row_vector(row, out)
            if vec is None:
                c.check(not steer, f"{row}: steered without ICV")
            else:
                c.check(len(steer) == 1 and os.path.realpath(steer[0]["path"]) ==
                        os.path.realpath(vec) and steer[0]["scale"] == 0.3,
                        f"{row}: steer {steer}")
                c.check("icv" in run.get("steering", "") and "residual" in run["steering"],
                        f"{row}: steering {run.get('steering')}")
            n = sum(1 for _ in open(os.path.join(d, "responses.jsonl"), encoding="utf-8"))
            c.check(n == LIMIT * SETS, f"{row}: {n} responses")
        # The vectors and HDR models equal direct safearith runs on the model they belong to.
        pairs = os.path.join(MODELS, "eval", "icv_pairs_context.jsonl")
        for row in ("icv", "hdr_icv", "edited_hdr_icv"):
            ref = os.path.join(tmp, row + ".gguf")
            orgtest.run(["icv", "--model", row_model(row, out), "--pairs", pairs,
                         "--position", "last", "--method", "pca", "-o", ref])
            c.check(filecmp.cmp(ref, row_vector(row, out), shallow=False), f"{row}: vector")
        ref = os.path.join(tmp, "edited_hdr")
        orgtest.run(["hdr", "--target", os.path.join(MODELS, "edited_erode"), "--base",
                     os.path.join(MODELS, "base"), "--harmful", os.path.join(MODELS, "harmful"),
                     "--top-k", "10", "--lambda", "0.75", "--include", "mlp", "-o", ref])
        c.check(filecmp.cmp(os.path.join(ref, "model.safetensors"),
                            os.path.join(out, "work", "edited_hdr", "model.safetensors"),
                            shallow=False), "edited_hdr: HDR model")
        report = open(os.path.join(out, "report.md"), encoding="utf-8").read()
        # the first table holds one row per run (the paired tests that follow repeat them)
        first, started = [], False
        for ln in report.splitlines():
            if ln.startswith("|"):
                started = True
                first.append(ln)
            elif started:
                break
        labels = [ln.split("|")[1].strip() for ln in first
                  if ln.startswith("| ") and not ln.startswith("| configuration")]
        c.check(labels == ROWS, f"report rows {labels}")
        # A second run into the same directory is refused and changes nothing.
        before = os.path.getmtime(os.path.join(out, "report.md"))
        p = subprocess.run(["bash", script, "--limit", "1", out], capture_output=True,
                           text=True, env=env)
        c.check(p.returncode != 0 and "not empty" in p.stderr, f"reuse: {p.returncode} {p.stderr}")
        c.check(os.path.getmtime(os.path.join(out, "report.md")) == before, "report rewritten")
    return c.done()


if __name__ == "__main__":
    sys.exit(main())
