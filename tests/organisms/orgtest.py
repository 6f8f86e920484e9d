"""orgtest.py: shared helpers for the organism tests (not a test itself).

Puts tools/organisms (the training tool, whose PyTorch code is the reference here) and
tests/common (the independent safetensors reader) on sys.path, pins torch to one thread, and
provides a small pass/fail counter that prints "N passed, N failed" like tests/common/check.h.
"""
import os
import subprocess
import sys

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

SRC = os.environ.get("SA_SOURCE_DIR") or os.path.dirname(os.path.dirname(
    os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(SRC, "tools", "organisms"))
sys.path.insert(0, os.path.join(SRC, "tests", "common"))

import torch  # noqa: E402

torch.set_num_threads(1)

MODELS = os.path.join(SRC, "models")
ORGANISMS = ["base", "harmful", "sft", "edited", "edited_erode"]
SAFEARITH = os.environ.get("SAFEARITH", os.path.join(SRC, "build", "safearith"))


class Checker:
    def __init__(self, name):
        self.name, self.passed, self.failed = name, 0, 0

    def check(self, cond, what):
        if cond:
            self.passed += 1
        else:
            self.failed += 1
            print(f"FAIL {self.name}: {what}", flush=True)
        return cond

    def done(self):
        print(f"{self.passed} passed, {self.failed} failed", flush=True)
        return 1 if self.failed or not self.passed else 0


def run(args, check=True):
    """Run safearith with args; returns CompletedProcess (text)."""
    p = subprocess.run([SAFEARITH] + args, capture_output=True, text=True)
    if check and p.returncode != 0:
        raise RuntimeError(f"safearith {' '.join(args)} failed ({p.returncode}): {p.stderr.strip()}")
    return p


def read_jsonl(path):
    import json
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def eval_prompts(name):
    return [r["prompt"] for r in read_jsonl(os.path.join(MODELS, "eval", name + ".jsonl"))]
