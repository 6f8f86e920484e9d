"""test_cli_args.py: argument handling shared by the weight-arithmetic commands: --help, usage
errors (exit 2, message naming the flag), --shard-size parsing (decimal and binary suffixes;
checked through the shard count of the output), --dtype names."""
import json
import os

import torch

from arith_fixtures import Checker, make_tmp, llama_shapes, perturb, random_model, run, save_model, st_io

c = Checker()
tmp = make_tmp("sa_cli_args_")
gen = torch.Generator().manual_seed(3)
base = random_model(llama_shapes(32, 16, 32, 2), torch.float32, gen)
B = save_model(os.path.join(tmp, "B"), base)
M = save_model(os.path.join(tmp, "M"), perturb(base, gen))
total = sum(t.numel() * 4 for t in base.values())

for cmd in ("inspect", "diff", "task-vector", "hdr", "resta", "merge"):
    p = run(cmd, "--help")
    c.check(p.returncode == 0 and p.stdout.startswith("usage: safearith " + cmd), cmd + " --help")
    p = run(cmd, "--bogus-flag", ok=False)
    c.check(p.returncode == 2 and ("safearith %s:" % cmd) in p.stderr and "--bogus-flag" in p.stderr,
            cmd + " unknown flag: " + p.stderr.strip())
helptext = run("help").stdout
c.check(all(x in helptext for x in ("inspect", "diff", "task-vector", "hdr", "resta", "merge")),
        "safearith help lists the commands")


def shards(size):
    out = os.path.join(tmp, "tv_" + size.replace(".", "_"))
    run("task-vector", "--base", B, "--model", M, "-o", out, "--shard-size", size)
    idx = os.path.join(out, "model.safetensors.index.json")
    if not os.path.exists(idx):
        return 1
    with open(idx) as f:
        wm = json.load(f)
    c.check(wm["metadata"]["total_size"] == total, "index total_size")
    c.check(st_io.load(out).keys() == base.keys(), "sharded output holds every tensor")
    return len(set(wm["weight_map"].values()))


c.check(shards("0") == 1, "--shard-size 0: one file")
c.check(shards("1GB") == 1, "--shard-size 1GB: one file")
n_k = shards("8K")
c.check(n_k > 3, "--shard-size 8K shards (%d)" % n_k)
c.check(shards("8000") == n_k, "8K == 8000 bytes")
c.check(shards("0.008MB") == n_k, "0.008MB == 8000 bytes")
c.check(shards("8KiB") <= n_k, "8KiB >= 8000 bytes")
for bad in ("-1", "12XB", "lots", ""):
    p = run("task-vector", "--base", B, "--model", M, "-o", os.path.join(tmp, "x"), "--shard-size",
            bad, ok=False)
    c.check(p.returncode == 2 and "--shard-size" in p.stderr, "bad size '%s' refused" % bad)
p = run("task-vector", "--base", B, "--model", M, "-o", os.path.join(tmp, "x"), "--dtype", "int8",
        ok=False)
c.check(p.returncode == 2 and "--dtype" in p.stderr, "bad dtype refused")
for name, dt in (("bfloat16", torch.bfloat16), ("F16", torch.float16), ("fp32", torch.float32)):
    out = os.path.join(tmp, "dt_" + name)
    run("task-vector", "--base", B, "--model", M, "-o", out, "--dtype", name)
    c.check(all(t.dtype == dt for t in st_io.load(out).values()), "--dtype " + name)
    with open(os.path.join(out, "config.json")) as f:
        want = {torch.bfloat16: "bfloat16", torch.float16: "float16", torch.float32: "float32"}[dt]
        c.check(json.load(f)["torch_dtype"] == want, "config.json torch_dtype follows --dtype")
p = run("hdr", "--target", M, "--base", B, "--harmful", M, ok=False)
c.check(p.returncode == 2 and "-o" in p.stderr, "missing -o")
p = run("hdr", "--target", M, "--base", B, "--harmful", M, "-o", os.path.join(tmp, "y"),
        "--select", "sideways", ok=False)
c.check(p.returncode == 2 and "--select" in p.stderr, "bad --select")
p = run("hdr", "--target", M, "--base", B, "--harmful", M, "-o", os.path.join(tmp, "y"),
        "--layers", "3-1", ok=False)
c.check(p.returncode == 2 and "--layers" in p.stderr, "bad --layers")
p = run("hdr", "--target", M, "--base", B, "--harmful", M, "-o", os.path.join(tmp, "y"),
        "--notebook-edited-bug", ok=False)
c.check(p.returncode == 2 and "--notebook-edited-bug" in p.stderr, "bug flag needs a selection")
tv = os.path.join(tmp, "tv_0")
p = run("hdr", "--target", M, "--base", B, "--harmful", tv, "-o", os.path.join(tmp, "y"), ok=False)
c.check(p.returncode == 2 and "task vector" in p.stderr, "task vector with --base refused")
p = run("resta", "--model", M, "--aligned", B, "--unaligned", M, "-o", os.path.join(tmp, "y"),
        "--rescale", "l2", ok=False)
c.check(p.returncode == 2 and "--rescale" in p.stderr, "bad --rescale")
p = run("merge", "-o", os.path.join(tmp, "y"), ok=False)
c.check(p.returncode == 2 and "RECIPE" in p.stderr, "merge without recipe")
p = run("diff", B, ok=False)
c.check(p.returncode == 2, "diff with one model")
c.done()
