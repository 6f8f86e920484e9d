"""test_methods.py: two-trial studies of the icv and resta methods run end to end, and --apply
writes what each method produces (icv: a control vector only; resta: a model equal to
`safearith resta` with the trial's beta and DARE p)."""
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
c.done()
