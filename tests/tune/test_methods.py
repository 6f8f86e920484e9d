"""test_methods.py: two-trial studies of the icv and resta methods run end to end, and --apply
writes what each method produces (icv: a control vector only; resta: a model equal to
`safearith resta` with the trial's beta and DARE p). hdr+icv computes its ICV on each trial's
HDR model by default (the README's HDR+ICV rows: `safearith icv` on the `safearith hdr` model),
or once on the unmodified model with inputs.icv_model: unmodified; --apply's control vector is
`safearith icv` on the applied model, or on the unmodified one."""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tunetest  # noqa: E402
from checks import Checker  # noqa: E402
from scratch import make_tmp  # noqa: E402

c = Checker()
tmp = make_tmp("sa-tune-methods-")
M = tunetest.MODELS
spaces = {"icv": "  alpha: {range: [0.05, 0.4]}\n  position: [last, mean-answer]\n  icv_method: [pca, mean]\n",
          "resta": "  beta: {range: [0.1, 0.6]}\n  dare_p: [0, 0.3]\n"}
for method, space in spaces.items():
    d = os.path.join(tmp, method)
    os.mkdir(d)
    recipe = tunetest.write(os.path.join(d, "r.yml"), tunetest.recipe_text(d, method=method, trials=2, space=space))
    study = os.path.join(d, "study")
    p = tunetest.run(["tune", recipe, "-o", study, "--threads", "2"], check=False)
    c.check(p.returncode == 0, f"{method}: {p.stderr}")
    trials = tunetest.read_jsonl(os.path.join(study, "trials.jsonl")) if p.returncode == 0 else []
    c.check(len(trials) == 2, f"{method}: {len(trials)} trials")
    for t in trials:
        c.check(set(t["params"]) >= set(k.split(":")[0].strip() for k in space.splitlines()),
                f"{method}: params {t['params']}")
        c.check(t["objectives"]["kl"] > 0, f"{method}: trial {t['trial']} KL {t['objectives']['kl']}")
    if not trials:
        continue
    t = trials[0]
    if method == "icv":
        cv = os.path.join(d, "v.gguf")
        p = tunetest.run(["tune", "--apply", "0", "--study", study, "--cvec", cv])
        c.check(os.path.exists(cv) and "--steer-mode icv" in p.stdout, f"icv --apply: {p.stdout!r}")
        p = tunetest.run(["tune", "--apply", "0", "--study", study, "--cvec", cv + "2", "-o", os.path.join(d, "m")], check=False)
        c.check(p.returncode != 0 and "writes no model" in p.stderr and not os.path.exists(cv + "2"),
                f"icv --apply -o: {p.stderr!r}")
    else:
        out, ref = os.path.join(d, "applied"), os.path.join(d, "direct")
        tunetest.run(["tune", "--apply", "0", "--study", study, "-o", out])
        args = ["resta", "--model", f"{M}/sft", "--aligned", f"{M}/base", "--unaligned", f"{M}/harmful",
                "--beta", str(t["params"]["beta"]), "-o", ref]
        if t["params"]["dare_p"] > 0:
            args += ["--dare", str(t["params"]["dare_p"]), "--seed", "5"]
        tunetest.run(args)
        import st_io  # noqa: E402
        a, _ = st_io.load_file(os.path.join(out, "model.safetensors"))
        b, _ = st_io.load_file(os.path.join(ref, "model.safetensors"))
        c.check(a.keys() == b.keys() and all((a[n] == b[n]).all() for n in a), "resta --apply differs from safearith resta")


def directions(path):
    sys.path.insert(0, os.path.join(tunetest.SRC, "tests", "steer"))
    import gguf_ref  # noqa: E402
    with open(path, "rb") as f:
        tensors = gguf_ref.read(f.read())[2]
    return {k: v for k, v in tensors.items() if k.startswith("direction.")}


def same_directions(a, b):
    return a.keys() == b.keys() and all((a[k] == b[k]).all() for k in a)


FMT = "<|user|>{question}<|assistant|>{answer}"
space = "  top_k: {range: [8, 12]}\n  lambda: {range: [0.5, 1.5]}\n  alpha: {range: [0.05, 0.2]}\n"
for on in ["trial", "unmodified"]:
    d = os.path.join(tmp, "hdr_icv_" + on)
    os.mkdir(d)
    text = tunetest.recipe_text(d, method="hdr+icv", trials=2, space=space)
    if on == "unmodified":
        text = text.replace("  icv_format:", "  icv_model: unmodified\n  icv_format:")
    recipe = tunetest.write(os.path.join(d, "r.yml"), text)
    study = os.path.join(d, "study")
    p = tunetest.run(["tune", recipe, "-o", study, "--threads", "2"], check=False)
    c.check(p.returncode == 0, f"hdr+icv ({on}): {p.stderr}")
    if p.returncode:
        continue
    with open(os.path.join(study, "study.json")) as f:
        canon = json.load(f)["recipe"]["inputs"]
    c.check(canon.get("icv_model") == on, f"canonical recipe's icv_model: {canon.get('icv_model')}")
    out, cv = os.path.join(d, "applied"), os.path.join(d, "applied.gguf")
    tunetest.run(["tune", "--apply", "0", "--study", study, "-o", out, "--cvec", cv])
    icv = ["icv", "--pairs", f"{M}/eval/icv_pairs.jsonl", "--format", FMT, "--position", "last",
           "--method", "pca", "--threads", "2"]
    tunetest.run(icv + ["--model", out, "-o", os.path.join(d, "on_trial.gguf")])
    tunetest.run(icv + ["--model", f"{M}/sft", "-o", os.path.join(d, "on_sft.gguf")])
    got = directions(cv)
    want = directions(os.path.join(d, "on_trial.gguf" if on == "trial" else "on_sft.gguf"))
    other = directions(os.path.join(d, "on_sft.gguf" if on == "trial" else "on_trial.gguf"))
    c.check(same_directions(got, want), f"hdr+icv ({on}): --apply's vector is not safearith icv on the {on} model")
    c.check(not same_directions(got, other), f"hdr+icv ({on}): the two models give the same vector")
bad = tunetest.recipe_text(tmp, method="hdr+icv", space=space).replace("  icv_format:", "  icv_model: hdr\n  icv_format:")
p = tunetest.run(["tune", tunetest.write(os.path.join(tmp, "bad.yml"), bad), "-o", os.path.join(tmp, "bad")], check=False)
c.check(p.returncode != 0 and "inputs.icv_model" in p.stderr and len(p.stderr.strip().splitlines()) == 1,
        f"icv_model: hdr: {p.stderr!r}")
only_icv = tunetest.recipe_text(tmp, method="icv", space="  alpha: 0.1\n").replace("  icv_format:", "  icv_model: trial\n  icv_format:")
p = tunetest.run(["tune", tunetest.write(os.path.join(tmp, "icvm.yml"), only_icv), "-o", os.path.join(tmp, "icvm")], check=False)
c.check(p.returncode != 0 and "inputs.icv_model" in p.stderr and "not used" in p.stderr, f"icv_model on icv: {p.stderr!r}")
c.done()
