"""test_inspect_diff.py: `safearith inspect` and `safearith diff` on generated checkpoints,
checked against values computed here with torch (diff norms in float64; the C code sums in a
different order, so norms are compared to 1e-12 relative; counts exactly)."""
import json
import math
import os

import torch

from arith_fixtures import Checker, make_tmp, llama_shapes, random_model, run, save_model

c = Checker()
tmp = make_tmp("sa_inspect_diff_")
gen = torch.Generator().manual_seed(5)
shapes = llama_shapes(40, 8, 20, 3)
a = random_model(shapes, torch.bfloat16, gen)
a["model.ids"] = torch.arange(5, dtype=torch.int64)
A = save_model(os.path.join(tmp, "A"), a, shard_bytes=2000)

info = json.loads(run("inspect", A, "--json").stdout)
c.check(info["parameters"] == sum(t.numel() for t in a.values()), "parameter count")
c.check(info["dtypes"] == {"BF16": sum(t.numel() for n, t in a.items() if n != "model.ids"),
                           "I64": 5}, "dtypes %s" % info["dtypes"])
c.check(len(info["shards"]) > 1, "shards listed")
c.check(info["config"]["architecture"] == "LlamaForCausalLM", "architecture")
got = {t["name"]: (t["dtype"], t["shape"]) for t in info["tensors"]}
want = {n: ({torch.bfloat16: "BF16", torch.int64: "I64"}[t.dtype], list(t.shape))
        for n, t in a.items()}
c.check(got == want, "tensor list")
text = run("inspect", A).stdout
c.check("model.layers.2.mlp.down_proj.weight" in text and "LlamaForCausalLM" in text, "text form")
with open(os.path.join(tmp, "broken.safetensors"), "wb") as f:
    f.write(b"\x10\x00\x00\x00\x00\x00\x00\x00{\"a\":1}         ")
p = run("inspect", os.path.join(tmp, "broken.safetensors"), ok=False)
c.check(p.returncode == 1 and "tensor 'a': entry is not an object" in p.stderr, p.stderr.strip())

# B: a few layers changed, one tensor untouched, the I64 buffer changed in one entry
b = {n: t.clone() for n, t in a.items()}
b["model.layers.1.mlp.up_proj.weight"] = (a["model.layers.1.mlp.up_proj.weight"].float()
                                          + 0.5).to(torch.bfloat16)
q = b["model.layers.2.self_attn.q_proj.weight"].float()
q[0, :3] += 1.0
b["model.layers.2.self_attn.q_proj.weight"] = q.to(torch.bfloat16)
b["model.ids"][2] = 9
B = save_model(os.path.join(tmp, "B"), b)
d = json.loads(run("diff", A, B, "--json", "--threads", "2").stdout)
by = {t["name"]: t for t in d["tensors"]}
ok = True
for n in a:
    if n == "model.ids":
        continue
    diff = b[n].double() - a[n].double()
    want_norm = diff.norm().item()
    t = by[n]
    ok &= t["changed"] == int((b[n] != a[n]).sum())
    ok &= math.isclose(t["norm_diff"], want_norm, rel_tol=1e-12, abs_tol=1e-300)
    ok &= math.isclose(t["max_abs_diff"], diff.abs().max().item(), rel_tol=0, abs_tol=0)
c.check(ok, "per-tensor norms, counts and max")
c.check(by["model.ids"]["changed"] == 1 and by["model.ids"]["norm_diff"] is None,
        "integer tensor compared bytewise")
layers = {x["layer"]: x for x in d["layers"]}
c.check(layers[0]["changed"] == 0 and layers[1]["changed"] > 0, "per-layer changes")
l1 = sum((b[n].double() - a[n].double()).norm().item() ** 2 for n in a if ".layers.1." in n)
c.check(math.isclose(layers[1]["norm_diff"], math.sqrt(l1), rel_tol=1e-12), "layer norm")
table = run("diff", A, B, "--by", "layer").stdout
c.check(table.splitlines()[0].startswith("layer") and "total" in table, "table output")
p = run("diff", A, save_model(os.path.join(tmp, "C"), random_model(llama_shapes(40, 8, 20, 2),
                                                                    torch.bfloat16, gen)),
        ok=False)
c.check(p.returncode == 1 and "models do not match" in p.stderr, "diff mismatch error")
c.done()
