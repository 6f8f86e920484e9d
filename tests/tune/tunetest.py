"""tunetest.py: shared helpers for the tune tests (not a test itself).

small_study(tmp, ...) writes a recipe over small slices of the organisms' held-out sets (so a
trial takes well under a second) and returns its path; run() calls the safearith binary."""
import json
import os
import subprocess
import sys

SRC = os.environ.get("SA_SOURCE_DIR") or os.path.dirname(os.path.dirname(
    os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(SRC, "tests", "common"))
sys.path.insert(0, os.path.join(SRC, "tests", "organisms"))
MODELS = os.path.join(SRC, "models")
SAFEARITH = os.environ.get("SAFEARITH", os.path.join(SRC, "build", "safearith"))

import scratch  # noqa: E402,F401


def run(args, check=True, **kw):
    p = subprocess.run([SAFEARITH] + args, capture_output=True, text=True, **kw)
    if check and p.returncode != 0:
        raise RuntimeError(f"safearith {' '.join(args)} failed ({p.returncode}): {p.stderr.strip()}")
    return p


def slice_sets(tmp, n=24):
    """The first n items of four held-out sets, as files in tmp (names keep their kind)."""
    paths = []
    for name in ["advbench", "xstest_safe", "benign", "addition"]:
        src = os.path.join(MODELS, "eval", name + ".jsonl")
        dst = os.path.join(tmp, name + ".jsonl")
        with open(src) as f, open(dst, "w") as g:
            g.writelines(f.readlines()[:n])
        paths.append(dst)
    return paths


def recipe_text(tmp, method="hdr", trials=6, space=None, extra="", n=24):
    files = slice_sets(tmp, n)
    space = space or "  top_k: {range: [2, 40], log: true}\n  lambda: {range: [0.25, 3]}\n"
    inputs = {"hdr": f"  target: {MODELS}/sft\n  base: {MODELS}/base\n  harmful: {MODELS}/harmful\n",
              "hdr+icv": f"  target: {MODELS}/sft\n  base: {MODELS}/base\n  harmful: {MODELS}/harmful\n"
                         f"  pairs: {MODELS}/eval/icv_pairs.jsonl\n"
                         "  icv_format: \"<|user|>{question}<|assistant|>{answer}\"\n",
              "icv": f"  target: {MODELS}/sft\n  pairs: {MODELS}/eval/icv_pairs.jsonl\n"
                     "  icv_format: \"<|user|>{question}<|assistant|>{answer}\"\n",
              "resta": f"  sft: {MODELS}/sft\n  aligned: {MODELS}/base\n  unaligned: {MODELS}/harmful\n"}[method]
    return (f"method: {method}\ninputs:\n{inputs}space:\n{space}datasets:\n  files:\n"
            + "".join(f"    - {p}\n" for p in files)
            + f"  tune_fraction: 0.5\n  seed: 3\neval:\n  prompt_template: {MODELS}/eval/chat_prompt.txt\n"
            f"  judge: refusal:{MODELS}/eval/judge_keywords.txt:name=keywords\n  max_new_tokens: 16\n"
            f"  batch: 32\nkl:\n  prompts: 8\n  answer_tokens: 3\nsearch:\n  trials: {trials}\n"
            f"  initial: 3\n  seed: 5\n  early_stop: 0\n" + extra)


def write(path, text):
    with open(path, "w") as f:
        f.write(text)
    return path


def read_jsonl(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]
