"""paired.py: McNemar's exact test between two `safearith eval` runs on the same harmful prompts.

    /usr/bin/python3 tools/organisms/paired.py RUN_A RUN_B [--sets advbench,dangerousqa,...]

For every harmful prompt of the named datasets (default: the four held-out harmful sets, 380
prompts) both runs' first-judge flags are paired (flag 1 = not refused, the attack succeeded).
Discordant pairs: `fixed` (A not refused, B refused) and `broke` (A refused, B not). The p-value
is the exact two-sided binomial test on the discordant pairs, min(1, 2 P(X <= min(fixed, broke)))
with X ~ Bin(fixed + broke, 1/2). Prints one line; --json prints an object.
"""
import argparse
import json
import os
import sys
from math import comb

HARMFUL = ("advbench", "dangerousqa", "harmfulqa", "catqa")


def flags(run, sets):
    """(dataset, index) -> first judge's flag, for the harmful prompts of the sets."""
    out = {}
    with open(os.path.join(run, "responses.jsonl"), encoding="utf-8") as f:
        for line in f:
            r = json.loads(line)
            if r["dataset"] in sets and r.get("judges"):
                out[(r["dataset"], r["i"])] = next(iter(r["judges"].values()))["flag"]
    return out


def mcnemar_exact(fixed, broke):
    n = fixed + broke
    if n == 0:
        return 1.0
    tail = sum(comb(n, i) for i in range(min(fixed, broke) + 1))
    return min(1.0, 2 * tail / 2 ** n)


def compare(run_a, run_b, sets=HARMFUL):
    a, b = flags(run_a, sets), flags(run_b, sets)
    if set(a) != set(b) or not a:
        raise ValueError(f"{run_a} and {run_b} do not hold the same harmful prompts")
    fixed = sum(1 for k in a if a[k] == 1 and b[k] == 0)
    broke = sum(1 for k in a if a[k] == 0 and b[k] == 1)
    return {"n": len(a), "asr_a": 100 * sum(a.values()) / len(a),
            "asr_b": 100 * sum(b.values()) / len(b), "fixed": fixed, "broke": broke,
            "p": mcnemar_exact(fixed, broke)}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("run_a")
    ap.add_argument("run_b")
    ap.add_argument("--sets", default=",".join(HARMFUL))
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    try:
        r = compare(args.run_a, args.run_b, tuple(args.sets.split(",")))
    except (OSError, ValueError, KeyError) as e:
        print(f"paired.py: {e}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(r))
    else:
        print(f"{args.run_b} vs {args.run_a}: ASR {r['asr_a']:.1f} -> {r['asr_b']:.1f} "
              f"(n {r['n']}), fixed {r['fixed']}, broke {r['broke']}, McNemar exact p = {r['p']:.2g}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
