"""test_merge_e2e.py: `safearith merge RECIPE.yml` against the independent PyTorch reference of
mergekit's generalized task arithmetic (arith_ref.merge): task_arithmetic, ties (per-tensor and
global trimming), dare_linear and dare_ties (l1, inverse, no rescale), weights, densities,
lambda, normalize, dtype/out_dtype; bit-identical outputs; recipe errors name the key."""
import os

import torch

import arith_ref as ref
from arith_fixtures import Checker, make_tmp, llama_shapes, perturb, random_model, run, save_model, st_io

c = Checker()
tmp = make_tmp("sa_merge_e2e_")
gen = torch.Generator().manual_seed(7)

shapes = llama_shapes(48, 16, 24, 2)
base = random_model(shapes, torch.bfloat16, gen)
ms = [perturb(base, gen, scale=0.02) for _ in range(3)]
B = save_model(os.path.join(tmp, "base"), base)
M = [save_model(os.path.join(tmp, "m%d" % i), m, shard_bytes=3000 if i == 1 else None)
     for i, m in enumerate(ms)]


def recipe(name, text):
    p = os.path.join(tmp, name + ".yml")
    with open(p, "w") as f:
        f.write(text)
    return p


def models_yaml(weights, densities, paths=M):
    out = ""
    for p, w, d in zip(paths, weights, densities):
        out += "  - model: %s\n    parameters:\n      weight: %s\n" % (p, w)
        if d is not None:
            out += "      density: %s\n" % d
    return out


def case(label, method, weights, densities, params="", extra="", args=(), **kw):
    text = "merge_method: %s\nbase_model: %s\nmodels:\n%s%s%s" % (
        method, B, models_yaml(weights, densities), params, extra)
    out = os.path.join(tmp, "out_" + label.replace(" ", "_"))
    run("merge", recipe(label.replace(" ", "_"), text), "-o", out, *args)
    dens = [1.0 if d is None else d for d in densities]
    want = ref.merge(base, ms[:len(weights)], method, weights, dens, **kw)
    c.same_tensors(st_io.load(out), want, label)
    return out


# NaN in a model's task vector: TIES trimming refuses it, naming the model; nothing written
bad_m = {k: v.clone() for k, v in ms[1].items()}
bad_m[sorted(bad_m)[0]].view(-1)[0] = float("nan")
M_bad = save_model(os.path.join(tmp, "m_nan"), bad_m)
for scope in ("", "parameters:\n  trim_scope: global\n"):
    text = "merge_method: ties\nbase_model: %s\nmodels:\n%s%s" % (
        B, models_yaml([1.0, 0.5], [0.5, 0.5], [M[0], M_bad]), scope)
    out = os.path.join(tmp, "out_nan")
    p = run("merge", recipe("nan", text), "-o", out, ok=False)
    c.check(p.returncode != 0 and M_bad in p.stderr and "are NaN" in p.stderr,
            "ties %s: NaN refused, naming the model: %s" % ("global" if scope else "per-tensor", p.stderr.strip()))
    c.check(not os.path.exists(out), "ties with NaN: no output")

case("task arithmetic", "task_arithmetic", [1.0, -0.5, 0.25], [None] * 3)
case("task arithmetic lambda normalize", "task_arithmetic", [1.0, 0.5], [None] * 2,
     params="parameters:\n  lambda: 0.7\n  normalize: true\n", lam=0.7, normalize=True)
case("ties", "ties", [1.0, 0.5, 0.75], [0.5, 0.3, 0.9])
case("ties no normalize", "ties", [1.0, 1.0], [0.2, 0.6],
     params="parameters:\n  normalize: false\n  lambda: 1.5\n", normalize=False, lam=1.5)
case("ties global", "ties", [1.0, 0.5, 0.75], [0.5, 0.3, 0.9],
     params="parameters:\n  trim_scope: global\n", trim_scope="global")
case("dare linear", "dare_linear", [1.0, 0.5], [0.5, 0.7], args=("--seed", "5"), seed=5)
case("dare linear inverse", "dare_linear", [1.0, 0.5], [0.5, 0.7],
     params="parameters:\n  rescale_mode: inverse\n", args=("--seed", "5"), seed=5,
     rescale_mode="inverse")
case("dare ties", "dare_ties", [1.0, 0.6, 0.3], [0.4, 0.5, 0.6], args=("--seed", "9"), seed=9)
case("dare ties no rescale", "dare_ties", [1.0, 0.6], [0.4, 0.5],
     params="parameters:\n  rescale: false\n", rescale=False)
case("out dtype", "task_arithmetic", [1.0, 1.0], [None] * 2, extra="dtype: float32\n",
     out_dtype=torch.float32)
case("out_dtype wins", "ties", [1.0, 1.0], [0.5, 0.5],
     extra="dtype: float16\nout_dtype: float32\n", out_dtype=torch.float32)
out = os.path.join(tmp, "out_global_defaults")
run("merge", recipe("defaults", "merge_method: ties\nbase_model: %s\nmodels:\n%s"
                    "parameters:\n  density: 0.4\n" % (B, models_yaml([1.0, 1.0], [None, None]))),
    "-o", out)
c.same_tensors(st_io.load(out), ref.merge(base, ms[:2], "ties", [1.0, 1.0], [0.4, 0.4]),
               "global density default applies")

# the base listed among the models is left out; config and tokenizer come from the base
p = recipe("with_base", "merge_method: task_arithmetic\nbase_model: %s\nmodels:\n"
           "  - model: %s\n  - model: %s\n    parameters: {weight: 2}\n" % (B, B, M[0]))
out = os.path.join(tmp, "out_with_base")
run("merge", p, "-o", out, "--threads", "1")
c.same_tensors(st_io.load(out), ref.merge(base, ms[:1], "task_arithmetic", [2.0], [1.0]),
               "base listed in models")
c.check(os.path.exists(os.path.join(out, "config.json")), "config copied from base")

# errors: each names the offending key
bad = [
    ("slices:\n  - sources: []\n", "slices"),
    ("merge_method: slerp\nbase_model: %s\nmodels:\n  - model: %s\n" % (B, M[0]), "merge_method"),
    ("merge_method: ties\nbase_model: %s\nmodels:\n  - model: %s\n    parameters:\n"
     "      weight: [0, 1]\n" % (B, M[0]), "models[0].parameters.weight: gradient lists"),
    ("merge_method: ties\nbase_model: %s\nmodels:\n  - model: %s\n    parameters:\n"
     "      gamma: 0.1\n" % (B, M[0]), "models[0].parameters.gamma"),
    ("merge_method: ties\nbase_model: %s\nmodels:\n  - model: %s\ntokenizer_source: base\n"
     % (B, M[0]), "tokenizer_source: unsupported key"),
    ("merge_method: ties\nbase_model: %s\nmodels:\n  - model: %s\nparameters:\n  epsilon: 1\n"
     % (B, M[0]), "parameters.epsilon"),
    ("merge_method: ties\nmodels:\n  - model: %s\n" % M[0], "base_model: required"),
    ("merge_method: ties\nbase_model: %s\nmodels: [\n" % B, "YAML error"),
    ("merge_method: ties\nbase_model: %s\nmodels:\n  - model: %s\n    parameters:\n"
     "      density: 1.5\n" % (B, M[0]), "density must be in [0, 1]"),
]
for i, (text, want) in enumerate(bad):
    p = run("merge", recipe("bad%d" % i, text), "-o", os.path.join(tmp, "bad_out%d" % i),
            ok=False)
    c.check(p.returncode == 1 and want in p.stderr, "recipe error %d: want '%s', got '%s'"
            % (i, want, p.stderr.strip()))
odd = save_model(os.path.join(tmp, "odd"), random_model(llama_shapes(48, 16, 24, 3),
                                                         torch.bfloat16, gen))
p = run("merge", recipe("mism", "merge_method: ties\nbase_model: %s\nmodels:\n  - model: %s\n"
                        % (B, odd)), "-o", os.path.join(tmp, "mism_out"), ok=False)
c.check(p.returncode == 1 and "models do not match" in p.stderr and "models[0]" in p.stderr,
        "mismatch names the model: " + p.stderr.strip())
c.check(not any(x.startswith(".") for x in os.listdir(tmp)), "no temporaries left behind")
c.done()
