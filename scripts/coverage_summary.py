#!/usr/bin/python3
"""coverage_summary.py: reads gcovr's JSON for src/ and prints line and branch coverage per
folder, the 20 least-covered functions (most lines not run first), and a last line
`src lines NN.N % branches NN.N %` (scripts/coverage.sh)."""
import bisect
import collections
import json
import sys


def pct(done, total):
    return 100.0 * done / total if total else 100.0


def function_at(starts, lineno):
    i = bisect.bisect_right(starts, (lineno, chr(0x10FFFF))) - 1
    return starts[i][1] if i >= 0 else None


def main(path):
    with open(path) as f:
        files = json.load(f)["files"]
    folders = collections.defaultdict(lambda: [0, 0, 0, 0])
    funcs = collections.defaultdict(lambda: [0, 0])
    for entry in files:
        name = entry["file"]
        parts = name.split("/")
        folder = "/".join(parts[:2]) if len(parts) > 2 else parts[0]
        acc = folders[folder]
        # a line belongs to the function starting last at or before it (gcovr 5 gives starts only)
        starts = sorted((fn["lineno"], fn["name"]) for fn in entry.get("functions", []))
        for line in entry["lines"]:
            if line.get("gcovr/noncode") or line.get("gcovr/excluded"):
                continue
            run = line["count"] > 0
            acc[0] += run
            acc[1] += 1
            for br in line.get("branches", []):
                acc[2] += br["count"] > 0
                acc[3] += 1
            fn = function_at(starts, line["line_number"])
            if fn:
                f = funcs[(name, fn)]
                f[0] += run
                f[1] += 1
    total = [sum(a[i] for a in folders.values()) for i in range(4)]
    print("| folder | lines | line % | branches | branch % |")
    print("|---|--:|--:|--:|--:|")
    for folder in sorted(folders):
        a = folders[folder]
        print(f"| {folder} | {a[0]}/{a[1]} | {pct(a[0], a[1]):.1f} | {a[2]}/{a[3]} | {pct(a[2], a[3]):.1f} |")
    print()
    print("The 20 least-covered functions (lines not run):")
    worst = sorted(funcs.items(), key=lambda kv: (kv[1][0] - kv[1][1], kv[0]))[:20]
    for (name, fn), (run, n) in worst:
        print(f"  {n - run:4d} of {n:4d} lines  {fn}  ({name})")
    print()
    print(f"src lines {pct(total[0], total[1]):.1f} % branches {pct(total[2], total[3]):.1f} %")


if __name__ == "__main__":
    main(sys.argv[1])
