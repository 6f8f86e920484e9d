"""test_hdr_e2e.py: `safearith task-vector` and `safearith hdr` against the independent PyTorch
reference (arith_ref.py) on small random Llama-shaped checkpoints: F32 and BF16, sharded and
not, global and per-tensor selection, ties at the threshold, layer/regex selection, --no-trim,
stored task vectors, --dtype, thread counts; outputs must be bit-identical after rounding."""
import json
import os

import torch

import arith_ref as ref
from arith_fixtures import Checker, make_tmp, llama_shapes, perturb, random_model, run, save_model, st_io

c = Checker()
tmp = make_tmp("sa_hdr_e2e_")
gen = torch.Generator().manual_seed(1234)


def triple(name, shapes, dtype, shard=None, ties=False, extra=None):
    base = random_model(shapes, dtype, gen)
    if extra:
        base.update(extra)
    harm = perturb(base, gen, ties=ties)
    target = perturb(base, gen, scale=0.01)
    d = os.path.join(tmp, name)
    return (save_model(d + "_T", target, shard), save_model(d + "_B", base, shard),
            save_model(d + "_H", harm, shard), target, base, harm)


def hdr_case(label, T, B, H, args, want, out_name=None):
    out = os.path.join(tmp, out_name or label.replace(" ", "_").replace("/", "_"))
    base = ["--base", B] if B else []
    run("hdr", "--target", T, *base, "--harmful", H, "-o", out, *args)
    c.same_tensors(st_io.load(out), want, label)
    return out


shapes = llama_shapes(64, 16, 40, 4)
odd = llama_shapes(37, 12, 30, 3)

# BF16, single file, default global top-10 %, lambda 3; an I64 buffer is passed through
ids = {"model.rotary.ids": torch.arange(7, dtype=torch.int64)}
T, B, H, t, b, h = triple("bf16", shapes, torch.bfloat16, extra=ids)
out = hdr_case("bf16 global", T, B, H, [], ref.hdr(t, b, h))
with open(os.path.join(out, "config.json")) as f:
    c.check(json.load(f)["model_type"] == "llama", "config.json copied")
c.check(os.path.exists(os.path.join(out, "tokenizer.json")), "tokenizer copied")
c.check(not os.path.exists(os.path.join(out, "pytorch_model.bin")), "stale weights not copied")
meta = st_io.load_file(os.path.join(out, "model.safetensors"))[1]
c.check(meta.get("safearith_op") == "hdr", "metadata op")
params = json.loads(meta.get("safearith_params", "{}"))
c.check(params.get("top_k") == 10 and params.get("lambda") == 3, "metadata params")
# the summary counts agree with the reference
summ = json.loads(run("hdr", "--target", T, "--base", B, "--harmful", H, "-o",
                      os.path.join(tmp, "o_summary"), "--top-k", "25").stdout)
sel = sum(x.numel() for n, x in t.items() if x.is_floating_point())
c.check(summ["selected_params"] == sel, "selected_params %d vs %d" % (summ["selected_params"], sel))
c.check(summ["kept_params"] >= int(sel * 0.25), "kept_params at least int(d k)")

# other settings on the same triple
hdr_case("bf16 k25 lambda0.3", T, B, H, ["--top-k", "25", "--lambda", "0.3"],
         ref.hdr(t, b, h, k=25, lam=0.3))
hdr_case("bf16 per-tensor", T, B, H, ["--select", "per-tensor", "--top-k", "30"],
         ref.hdr(t, b, h, k=30, scope="per-tensor"))
hdr_case("bf16 no-trim", T, B, H, ["--no-trim", "--lambda", "2"],
         ref.hdr(t, b, h, lam=2, trim=False))
hdr_case("bf16 k0", T, B, H, ["--top-k", "0"], ref.hdr(t, b, h, k=0))
hdr_case("bf16 k100", T, B, H, ["--top-k", "100"], ref.hdr(t, b, h, k=100))
layers = lambda n: 1 <= ref.layer_of(n) <= 2  # noqa: E731
hdr_case("bf16 layers", T, B, H, ["--layers", "1-2"], ref.hdr(t, b, h, select=layers))
hdr_case("bf16 layers notebook bug", T, B, H, ["--layers", "1-2", "--notebook-edited-bug"],
         ref.hdr(t, b, h, select=layers, dense_outside=True))
rx = lambda n: "mlp" in n and "down" not in n  # noqa: E731
hdr_case("bf16 include/exclude", T, B, H, ["--include", "mlp", "--exclude", "down_proj"],
         ref.hdr(t, b, h, select=rx))
hdr_case("bf16 -> f32", T, B, H, ["--dtype", "f32"], ref.hdr(t, b, h, out_dtype=torch.float32))
o1 = hdr_case("bf16 threads1", T, B, H, ["--threads", "1", "--top-k", "20"],
              ref.hdr(t, b, h, k=20))
o3 = hdr_case("bf16 threads3", T, B, H, ["--threads", "3", "--top-k", "20"],
              ref.hdr(t, b, h, k=20))
with open(os.path.join(o1, "model.safetensors"), "rb") as f1, \
        open(os.path.join(o3, "model.safetensors"), "rb") as f3:
    c.check(f1.read() == f3.read(), "output files identical for 1 and 3 threads")

# stored task vector as --harmful (F32 task vector of BF16 models)
p = run("task-vector", "--base", B, "--model", H, "-o", os.path.join(tmp, "tv"), ok=False)
c.check(p.returncode == 1 and "'model.rotary.ids'" in p.stderr and "I64" in p.stderr,
        "task-vector refuses an I64 tensor, naming it")
T2, B2, H2, t2, b2, h2 = triple("f32", odd, torch.float32, shard=2000)
tv2 = os.path.join(tmp, "tv2")
run("task-vector", "--base", B2, "--model", H2, "-o", tv2)
c.same_tensors(st_io.load(tv2), {n: h2[n] - b2[n] for n in b2}, "task-vector f32 sharded")
hdr_case("f32 sharded via task vector", T2, None, tv2, ["--top-k", "15"],
         ref.hdr(t2, None, {n: h2[n] - b2[n] for n in b2}, k=15))
hdr_case("f32 sharded", T2, B2, H2, ["--shard-size", "3000"], ref.hdr(t2, b2, h2))
c.check(os.path.exists(os.path.join(tmp, "f32_sharded", "model.safetensors.index.json")),
        "sharded output has an index")
hdr_case("f32 sharded bf16 out", T2, B2, H2, ["--dtype", "bf16", "--lambda", "1.5"],
         ref.hdr(t2, b2, h2, lam=1.5, out_dtype=torch.bfloat16))

# ties at the threshold: deltas from {-0.5, -0.25, 0, 0.25, 0.5}
T3, B3, H3, t3, b3, h3 = triple("ties", shapes, torch.float32, ties=True)
for k in ("10", "37", "50", "90"):
    hdr_case("ties k" + k, T3, B3, H3, ["--top-k", k], ref.hdr(t3, b3, h3, k=float(k)),
             out_name="ties_" + k)
hdr_case("ties per-tensor", T3, B3, H3, ["--top-k", "37", "--select", "per-tensor"],
         ref.hdr(t3, b3, h3, k=37, scope="per-tensor"))

# errors
odd_b = os.path.join(tmp, "odd_B")
save_model(odd_b, random_model(odd, torch.bfloat16, gen))
p = run("hdr", "--target", T, "--base", odd_b, "--harmful", H, "-o", os.path.join(tmp, "e1"),
        ok=False)
c.check(p.returncode == 1 and "models do not match" in p.stderr and "shape" in p.stderr,
        "mismatch error lists shapes: " + p.stderr.strip())
p = run("hdr", "--target", T, "--base", B, "--harmful", H, "-o", os.path.join(T, "sub"), ok=False)
c.check(p.returncode == 1 and "refusing to write into an input" in p.stderr,
        "writing into an input refused: " + p.stderr.strip())
p = run("hdr", "--target", T, "--base", B, "--harmful", H, "-o", out, ok=False)
c.check(p.returncode == 1 and "already exists" in p.stderr, "existing output refused")
p = run("hdr", "--target", T, "--base", B, "--harmful", H, "-o", os.path.join(tmp, "e2"),
        "--layers", "9-12", ok=False)
c.check(p.returncode == 1 and "--layers 9-12" in p.stderr and "decoder layers" in p.stderr
        and not os.path.exists(os.path.join(tmp, "e2")),
        "a layer range beyond the model refused, naming the range and the layer count: "
        + p.stderr.strip())
p = run("hdr", "--target", T, "--base", B, "--harmful", H, "-o", os.path.join(tmp, "e3"),
        "--include", "(", ok=False)
c.check(p.returncode == 2 or p.returncode == 1, "bad regex refused")
c.check("--include" in p.stderr, "bad regex message names the flag: " + p.stderr.strip())
p = run("hdr", "--target", T, "--base", B, "--harmful", H, "-o", os.path.join(tmp, "e4"),
        "--top-k", "101", ok=False)
c.check(p.returncode == 2 and "--top-k" in p.stderr, "top-k range checked")
# NaN in the harm vector (from a NaN weight, or inf - inf): top-k has no answer there, so hdr
# refuses, naming the tensor, globally and per tensor, and writes nothing (--no-trim does not
# select, and still runs). An infinite entry alone is ordered as the largest magnitude.
for bad in (float("nan"), "inf-inf"):
    hb = {k: v.clone() for k, v in h.items()}
    victim = sorted(k for k in hb if k.endswith("mlp.up_proj.weight"))[1]
    bb = b
    if bad == "inf-inf":
        bb = {k: v.clone() for k, v in b.items()}
        bb[victim].view(-1)[5] = float("inf")
        hb[victim].view(-1)[5] = float("inf")
    else:
        hb[victim].view(-1)[5] = bad
    Hb = save_model(os.path.join(tmp, "bad_H_%s" % bad), hb)
    Bb = save_model(os.path.join(tmp, "bad_B_%s" % bad), bb)
    for scope in ("global", "per-tensor"):
        out = os.path.join(tmp, "bad_out_%s_%s" % (bad, scope))
        p = run("hdr", "--target", T, "--base", Bb, "--harmful", Hb, "-o", out, "--select", scope,
                ok=False)
        c.check(p.returncode != 0 and victim in p.stderr and "is NaN" in p.stderr
                and len(p.stderr.strip().splitlines()) == 1,
                "%s in tau (%s) refused, naming %s: %s" % (bad, scope, victim, p.stderr.strip()))
        c.check(not os.path.exists(out), "%s in tau (%s): no output" % (bad, scope))
    out = os.path.join(tmp, "bad_out_notrim_%s" % bad)
    run("hdr", "--target", T, "--base", Bb, "--harmful", Hb, "-o", out, "--no-trim")
    c.check(os.path.exists(out), "%s in tau with --no-trim: runs (no selection)" % bad)
c.check(not any(x.startswith(".") for x in os.listdir(tmp)), "no temporaries left behind")
c.check(run("hdr", "--help").stdout.startswith("usage: safearith hdr"), "--help")
c.done()
