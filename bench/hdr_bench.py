"""hdr_bench.py: the HDR benchmark of bench/hdr.md, all measurements in one invocation.

For each model size (a directory made by hdr_gen holding base/, harmful/, target/): warm the
page cache with the inputs, then time `safearith hdr` (global top-10 %, lambda 3), the I/O floor
(bench/io_floor) and, where asked, the PyTorch baseline (bench/hdr_torch.py); wall time and
peak RSS of each child come from GNU time. Outputs of safearith and PyTorch are compared tensor by
tensor (they must be bit-identical). Prints a markdown table.

  flock /work/.heavy.lock /usr/bin/python3 bench/hdr_bench.py BUILD_DIR RUNS SIZE_DIR[:torch] ...
"""
import json
import os
import shutil
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def timed(cmd):
    """(wall seconds, peak RSS MiB, stdout); RSS from GNU time, whose child starts small (a
    child forked from Python would inherit Python's high-water mark across exec)."""
    t0 = time.time()
    p = subprocess.run(["/usr/bin/time", "-f", "%M"] + cmd, capture_output=True, text=True)
    wall = time.time() - t0
    if p.returncode != 0:
        raise SystemExit("failed: %s\n%s" % (" ".join(cmd), p.stderr))
    return wall, int(p.stderr.strip().splitlines()[-1]) / 1024.0, p.stdout


def mem_available_gib():
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) / 2**20
    return 0.0


def warm(size_dir):
    for m in ("base", "harmful", "target"):
        d = os.path.join(size_dir, m)
        for f in os.listdir(d):
            with open(os.path.join(d, f), "rb") as fh:
                while fh.read(1 << 24):
                    pass


def same_output(sa_dir, torch_file):
    """Tensor names whose bytes differ between the two outputs."""
    sys.path.insert(0, HERE)
    import torch
    import hdr_torch
    a, b = hdr_torch.load(sa_dir), hdr_torch.load(torch_file)
    if set(a) != set(b):
        return len(a), ["<names differ>"]
    return len(a), [n for n in a if not torch.equal(a[n].reshape(-1).view(torch.int16),
                                                   b[n].reshape(-1).view(torch.int16))]


def main():
    build, runs = sys.argv[1], int(sys.argv[2])
    rows = []
    for spec in sys.argv[3:]:
        size_dir, _, want_torch = spec.partition(":")
        T, B, H = (os.path.join(size_dir, m) for m in ("target", "base", "harmful"))
        params = json.loads(timed([os.path.join(build, "safearith"), "inspect", T, "--json",
                                   "--no-tensors"])[2])["parameters"]
        res = {"hdr": [], "io": [], "torch": []}
        out = os.path.join(size_dir, "out_hdr")
        for r in range(runs):
            warm(size_dir)
            shutil.rmtree(out, ignore_errors=True)
            res["hdr"].append(timed([os.path.join(build, "safearith"), "hdr", "--target", T,
                                     "--base", B, "--harmful", H, "-o", out])[:2])
            warm(size_dir)
            io_out = os.path.join(size_dir, "io_floor.bin")
            res["io"].append(timed([os.path.join(build, "io_floor"), io_out, T, B, H])[:2])
            os.unlink(io_out)
        # alive at the peak: tau, |tau| and kthvalue's copy (float32) and its int64 index
        # buffer, plus the memory-mapped bf16 inputs
        need = params * (4 * 3 + 8 + 2 * 3) / 2**30
        if want_torch and mem_available_gib() < need + 2:
            print("skipping PyTorch on %.2f B params: needs ~%.1f GiB, %.1f GiB available"
                  % (params / 1e9, need, mem_available_gib()), flush=True)
        elif want_torch:
            tout = os.path.join(size_dir, "torch_out.safetensors")
            for r in range(int(want_torch)):
                warm(size_dir)
                res["torch"].append(timed(["/usr/bin/python3", os.path.join(HERE, "hdr_torch.py"),
                                           T, B, H, tout])[:2])
            n, bad = same_output(out, tout)
            print("safearith vs PyTorch output: %d tensors, %d differ %s" % (n, len(bad), bad[:3]),
                  flush=True)
            os.unlink(tout)
        shutil.rmtree(out, ignore_errors=True)
        for k, v in res.items():
            if v:
                rows.append((params, k, statistics.median(x[0] for x in v),
                             max(x[1] for x in v), len(v), [round(x[0], 1) for x in v]))
        print(rows[-3:], flush=True)
    print("| params | run | median wall s | peak RSS MiB | runs | all walls |")
    print("|---|---|---|---|---|---|")
    for p, k, w, m, n, allw in rows:
        print("| %.3f B | %s | %.1f | %.0f | %d | %s |" % (p / 1e9, k, w, m, n, allw))


if __name__ == "__main__":
    main()
