"""test_resta_e2e.py: `safearith resta` (plain and with DARE, every rescale mode) against the
independent PyTorch reference (arith_ref.py, including its own Philox4x32-10 DARE mask), on
BF16 and F32 checkpoints, sharded and not; bit-identical outputs, and identical files for any
thread count and input sharding."""
import os

import torch

import arith_ref as ref
from arith_fixtures import Checker, make_tmp, llama_shapes, perturb, random_model, run, save_model, st_io

c = Checker()
tmp = make_tmp("sa_resta_e2e_")
gen = torch.Generator().manual_seed(99)


def models(name, shapes, dtype, shard=None):
    a = random_model(shapes, dtype, gen)
    u = perturb(a, gen, scale=0.05)
    s = perturb(a, gen, scale=0.02)
    d = os.path.join(tmp, name)
    return (save_model(d + "_S", s, shard), save_model(d + "_A", a, shard),
            save_model(d + "_U", u, shard), s, a, u)


def case(label, S, A, U, args, want):
    out = os.path.join(tmp, label.replace(" ", "_"))
    run("resta", "--model", S, "--aligned", A, "--unaligned", U, "-o", out, *args)
    c.same_tensors(st_io.load(out), want, label)
    return out


shapes = llama_shapes(64, 16, 40, 3)
S, A, U, s, a, u = models("bf16", shapes, torch.bfloat16)
case("plain", S, A, U, [], ref.resta(s, a, u))
case("plain beta0.5", S, A, U, ["--beta", "0.5"], ref.resta(s, a, u, beta=0.5))
case("dare inverse", S, A, U, ["--dare", "0.3", "--seed", "7"], ref.resta(s, a, u, p=0.3, seed=7))
case("dare l1", S, A, U, ["--dare", "0.5", "--seed", "3", "--rescale", "l1", "--beta", "0.75"],
     ref.resta(s, a, u, p=0.5, seed=3, rescale="l1", beta=0.75))
case("dare none f32", S, A, U, ["--dare", "0.9", "--rescale", "none", "--dtype", "f32"],
     ref.resta(s, a, u, p=0.9, rescale="none", out_dtype=torch.float32))

# the mask really drops about p of the delta entries
d_big = s["model.embed_tokens.weight"].float() - a["model.embed_tokens.weight"].float()
m = ref.dare_mask(7, 0, "model.embed_tokens.weight", d_big.numel(), 0.7)
c.check(abs(m.mean().item() - 0.7) < 0.05, "keep fraction %.3f near 0.7" % m.mean().item())

# thread count and sharding do not change the output
outs = []
for i, (th, shard) in enumerate([("1", None), ("2", None), ("4", 1500)]):
    out = os.path.join(tmp, "det%d" % i)
    src = (S, A, U)
    if shard is not None:  # same tensors, stored sharded
        src = [save_model(os.path.join(tmp, "sh%d_%s" % (i, k)), x, shard)
               for k, x in (("S", s), ("A", a), ("U", u))]
    run("resta", "--model", src[0], "--aligned", src[1], "--unaligned", src[2], "-o", out,
        "--dare", "0.4", "--seed", "11", "--rescale", "l1", "--threads", th)
    outs.append(st_io.load(out))
want = ref.resta(s, a, u, p=0.4, seed=11, rescale="l1")
for i, o in enumerate(outs):
    c.same_tensors(o, want, "determinism run %d" % i)

# F32, sharded inputs and output
S2, A2, U2, s2, a2, u2 = models("f32", llama_shapes(37, 12, 30, 2), torch.float32, shard=2500)
out = case("f32 sharded dare", S2, A2, U2, ["--dare", "0.2", "--shard-size", "4000"],
           ref.resta(s2, a2, u2, p=0.2))
c.check(os.path.exists(os.path.join(out, "model.safetensors.index.json")), "sharded output")

p = run("resta", "--model", S, "--aligned", A, "--unaligned", U, "-o", os.path.join(tmp, "x"),
        "--dare", "1", ok=False)
c.check(p.returncode == 2 and "--dare" in p.stderr, "--dare 1 refused")
p = run("resta", "--model", S, "--aligned", A2, "--unaligned", U, "-o", os.path.join(tmp, "y"),
        ok=False)
c.check(p.returncode == 1 and "models do not match (30 mismatches, first ones)" in p.stderr,
        "mismatch: " + p.stderr.strip())
c.done()
