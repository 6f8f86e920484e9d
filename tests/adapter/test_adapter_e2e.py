"""test_adapter_e2e.py: BASE+ADAPTER through the streaming commands, against merged weights the
numpy reference (adapter_ref.py) computes itself.

For random Llama, Mistral (GQA) and Qwen2 (q/k/v biases) checkpoints in BF16 and F32, random
adapters (plain; rslora with rank_pattern and alpha_pattern; fan_in_fan_out; modules_to_save,
with and without `modules_to_save.default.` in the name;
embedding LoRA; lora_B biases; BF16 factors; DoRA), checks
  - task-vector --base B --model B+A: exactly scaling * B A on adapted tensors (F32 output; and
    rounded once with the default BF16), the replacement minus the base for modules_to_save,
    zero elsewhere;
  - hdr (B+A as --target, and as --harmful), resta (B+A as --model) and a merge recipe with
    `model: B+A`: bit-identical to arith_ref.py's operations on the reference's merged weights;
  - inspect and diff take B+A.
Exactness: the delta is a float64 product rounded once on both sides, so outputs must agree bit
for bit; a tensor allowed to differ is one whose values are within 1e-6 relative (none expected;
the count is printed)."""
import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.environ.get("SA_SOURCE_DIR", "../.."), "tests", "arith"))
import adapter_ref as AR  # noqa: E402
import arith_ref as ref  # noqa: E402
from arith_fixtures import Checker, make_tmp, perturb, random_model, run, save_model, st_io  # noqa: E402

c = Checker()
tmp = make_tmp("sa_adapter_e2e_")
gen = torch.Generator().manual_seed(2026)
near = 0


def close(got, want, what):
    """Bit-identical, or within 1e-6 relative of the tensor's largest value (counted)."""
    global near
    bad = []
    for n in want:
        g, w = got[n], want[n]
        if g.dtype != w.dtype or g.shape != w.shape:
            bad.append("%s: %s%s vs %s%s" % (n, g.dtype, tuple(g.shape), w.dtype, tuple(w.shape)))
            continue
        if torch.equal(g, w):
            continue
        err = (g.float() - w.float()).abs().max().item()
        if err <= 1e-6 * max(w.float().abs().max().item(), 1e-30):
            near += 1
        else:
            bad.append("%s: max |diff| %.3g" % (n, err))
    c.check(set(got) == set(want) and not bad, "%s: %s" % (what, "; ".join(bad[:4])))


def modules(shapes, kinds):
    return sorted(n[:-len(".weight")] for n in shapes
                  if n.endswith(".weight") and n.split(".")[-2] in kinds)


def scenario(label, arch, dtype, kinds, **kw):
    shapes = AR.arch_shapes(arch)
    b = random_model(shapes, dtype, gen, scale=0.5)
    B = save_model(os.path.join(tmp, label + "_B"), b)
    cfg, at = AR.make_adapter(b, gen, modules(shapes, kinds), **kw)
    A = AR.write_adapter(os.path.join(tmp, label + "_A"), cfg, at)
    m32, delta = AR.merged(b, cfg, at)
    BA = B + "+" + A

    # task-vector: exactly the delta (F32), rounded once (default dtype: the model's)
    tv = os.path.join(tmp, label + "_tv32")
    run("task-vector", "--base", B, "--model", BA, "-o", tv, "--dtype", "f32")
    want = {n: torch.from_numpy(delta[n]) if n in delta
            else torch.from_numpy(m32[n] - b[n].float().numpy()) for n in b}
    close(st_io.load(tv), want, label + " task-vector f32")
    changed = sum(1 for n in want if want[n].abs().max() > 0)
    c.check(changed >= len(delta), "%s: %d tensors changed" % (label, changed))
    tv = os.path.join(tmp, label + "_tv")
    run("task-vector", "--base", B, "--model", BA, "-o", tv)
    close(st_io.load(tv), {n: w.to(dtype) for n, w in want.items()}, label + " task-vector")

    merged_t = AR.as_torch(m32, dtype=torch.float32)
    h = perturb(b, gen, scale=0.05)
    H = save_model(os.path.join(tmp, label + "_H"), h)
    out = os.path.join(tmp, label + "_hdr")
    run("hdr", "--target", BA, "--base", B, "--harmful", H, "-o", out)
    close(st_io.load(out), ref.hdr(merged_t, b, h, out_dtype=dtype), label + " hdr --target B+A")
    t = perturb(b, gen, scale=0.01)
    T = save_model(os.path.join(tmp, label + "_T"), t)
    out = os.path.join(tmp, label + "_hdr_h")
    run("hdr", "--target", T, "--base", B, "--harmful", BA, "-o", out, "--top-k", "20")
    close(st_io.load(out), ref.hdr(t, b, merged_t, k=20), label + " hdr --harmful B+A")

    u = perturb(b, gen, scale=0.05)
    U = save_model(os.path.join(tmp, label + "_U"), u)
    out = os.path.join(tmp, label + "_resta")
    run("resta", "--model", BA, "--aligned", B, "--unaligned", U, "-o", out)
    close(st_io.load(out), ref.resta(merged_t, b, u, out_dtype=dtype), label + " resta")
    with open(os.path.join(out, "config.json")) as f:
        c.check(json.load(f)["model_type"] == "llama", label + ": base's config.json copied")

    rec = os.path.join(tmp, label + ".yml")
    with open(rec, "w") as f:
        f.write("merge_method: task_arithmetic\nbase_model: %s\nmodels:\n  - model: %s\n"
                "    parameters: {weight: 0.5}\n  - model: %s\n    parameters: {weight: 0.5}\n"
                % (B, os.path.basename(B) + "+" + os.path.basename(A), U))  # relative: recipe's dir
    out = os.path.join(tmp, label + "_merge")
    run("merge", rec, "-o", out)
    close(st_io.load(out), ref.merge(b, [merged_t, u], "task_arithmetic", [0.5, 0.5], [1.0, 1.0],
                                     out_dtype=dtype), label + " merge model: B+A")

    info = json.loads(run("inspect", BA, "--json").stdout)
    c.check(info.get("adapter") == A and info.get("adapted_tensors", 0) >= len(delta),
            label + ": inspect names the adapter")
    d = json.loads(run("diff", B, BA, "--json").stdout)
    moved = {n for n in b if not np.array_equal(m32[n], b[n].float().numpy())}
    got = {t["name"] for t in d["tensors"] if t["changed"]}
    c.check(got == moved and moved, label + ": diff B B+A changes exactly the adapted tensors "
            "(%d)" % len(moved))


ATTN = ("q_proj", "k_proj", "v_proj", "o_proj")
ALL = ATTN + ("gate_proj", "up_proj", "down_proj")
scenario("llama_plain_bf16", "llama", torch.bfloat16, ATTN)
scenario("mistral_rslora_patterns", "mistral", torch.bfloat16, ALL, use_rslora=True,
         rank_pattern={"k_proj": 2, r"layers\.1\.mlp\..*": 6},
         alpha_pattern={"model.layers.0.self_attn.v_proj": 3.5, "down_proj": 12})
scenario("qwen2_bias_save_f32", "qwen2", torch.float32, ("q_proj", "k_proj", "v_proj"),
         lora_bias=True, save=("lm_head", "model.embed_tokens"))
scenario("llama_embed_bf16_factors", "llama", torch.bfloat16, ("v_proj", "up_proj"),
         fdtype=torch.bfloat16, embed="model.embed_tokens", save=("lm_head",))
scenario("mistral_fifo_f32", "mistral", torch.float32, ("q_proj", "o_proj"), fifo=True)
scenario("qwen2_dora_bf16", "qwen2", torch.bfloat16, ("q_proj", "v_proj", "down_proj"), dora=True)
print("tensors within 1e-6 relative but not bit-identical: %d" % near)
c.done()
