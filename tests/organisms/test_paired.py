"""test_paired.py: tools/organisms/paired.py, the McNemar test the docs' ICV tables cite.

The exact two-sided p-value is checked against torch's binomial distribution (an independent
implementation of the same tail) over a grid of discordant counts, and `compare` against two
small run directories written here, whose fixed / broke counts are known by construction.
"""
import json
import os
import sys
import tempfile

import orgtest
import torch

import paired


def write_run(d, flags):
    os.makedirs(d)
    with open(os.path.join(d, "responses.jsonl"), "w", encoding="utf-8") as f:
        for i, fl in enumerate(flags):
            f.write(json.dumps({"dataset": "advbench", "i": i, "kind": "harmful",
                                "judges": {"refusal": {"flag": fl}}}) + "\n")
        f.write(json.dumps({"dataset": "addition", "i": 0, "kind": "qa"}) + "\n")


def main():
    c = orgtest.Checker("paired")
    for fixed in range(0, 30, 3):
        for broke in range(0, 30, 4):
            n = fixed + broke
            want = 1.0 if n == 0 else min(1.0, 2 * float(torch.distributions.Binomial(
                n, torch.tensor(0.5, dtype=torch.float64)).log_prob(
                torch.arange(min(fixed, broke) + 1, dtype=torch.float64)).exp().sum()))
            got = paired.mcnemar_exact(fixed, broke)
            c.check(abs(got - want) <= 1e-9 * max(want, 1e-300) + 1e-15,
                    f"p({fixed}, {broke}) = {got}, torch {want}")
    with tempfile.TemporaryDirectory() as tmp:
        a, b = [1] * 10 + [0] * 10, [0] * 7 + [1] * 3 + [1] * 2 + [0] * 8
        write_run(os.path.join(tmp, "a"), a)
        write_run(os.path.join(tmp, "b"), b)
        r = paired.compare(os.path.join(tmp, "a"), os.path.join(tmp, "b"), ("advbench",))
        c.check((r["n"], r["fixed"], r["broke"]) == (20, 7, 2), f"compare {r}")
        c.check(abs(r["asr_a"] - 50.0) < 1e-9 and abs(r["asr_b"] - 25.0) < 1e-9, f"asr {r}")
        write_run(os.path.join(tmp, "short"), a[:-1])
        try:
            paired.compare(os.path.join(tmp, "a"), os.path.join(tmp, "short"), ("advbench",))
            c.check(False, "runs over different prompts accepted")
        except ValueError:
            c.check(True, "")
    return c.done()


if __name__ == "__main__":
    sys.exit(main())
