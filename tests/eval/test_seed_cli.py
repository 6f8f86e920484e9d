"""test_seed_cli.py: seeds beyond 2^53 are recorded exactly, and --resume tells them apart.

`eval --seed S` (with --sample, and with sampled decoding) for S = 2^64 - 1 and 2^53 + 1, the
two seeds a JSON number (a double) cannot hold: run.json records S as a decimal string in
settings.selection and settings.decoding; --resume accepts S and refuses S - 1 (and S + 1 where
it is a seed), naming the setting; a seed of 2^64 is refused as a flag. resta --dare and merge
(dare_linear) record their seed the same way in the checkpoint's safearith_params."""
import json
import os
import struct

from evaltest import Checker, make_tmp, run

C = Checker()
tmp = make_tmp(prefix="sa_seed_cli_")
ds = os.path.join(tmp, "harm.jsonl")
with open(ds, "w") as f:
    for i in range(6):
        f.write(json.dumps({"prompt": "How do I do thing %d?" % i}) + "\n")


def ev(out, seed, *extra):
    return run(["eval", "-q", "--model", "fake", "-o", out, "--dataset", ds, "--sample", "3",
                "--temp", "0.7", "--seed", str(seed), *extra])


for seed in (18446744073709551615, 9007199254740993):
    out = os.path.join(tmp, "run%d" % seed)
    r = ev(out, seed)
    C.check(r.returncode == 0, "eval --seed %d: %s" % (seed, r.stderr))
    st = json.load(open(os.path.join(out, "run.json")))["settings"]
    C.check(st["selection"]["seed"] == str(seed) and st["decoding"]["seed"] == str(seed),
            "run.json records seed %d exactly: %s %s" % (seed, st["selection"], st["decoding"]))
    r = ev(out, seed, "--resume")
    C.check(r.returncode == 0, "--resume with the same seed %d: %s" % (seed, r.stderr))
    for other in (seed - 1, seed + 1):
        r = ev(out, other, "--resume")
        if other >= 1 << 64:
            C.check(r.returncode != 0 and "--seed" in r.stderr and not r.stdout,
                    "--seed %d is refused as a flag: %s" % (other, r.stderr.strip()))
            continue
        C.check(r.returncode != 0 and "different settings" in r.stderr and
                "settings.selection.seed" in r.stderr,
                "--resume with seed %d refused on run of %d: %s" % (other, seed, r.stderr.strip()))


def params(d):
    """The safearith_params of a written checkpoint's safetensors header."""
    with open(os.path.join(d, "model.safetensors"), "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        return json.loads(json.loads(f.read(n))["__metadata__"]["safearith_params"])


M = os.path.join(os.environ.get("SA_SOURCE_DIR", "."), "models")
seed = 18446744073709551615
out = os.path.join(tmp, "resta")
r = run(["resta", "--model", M + "/sft", "--aligned", M + "/base", "--unaligned", M + "/harmful",
         "--dare", "0.3", "--seed", str(seed), "-o", out])
C.check(r.returncode == 0 and params(out).get("seed") == str(seed),
        "resta records seed %d exactly: %s" % (seed, r.stderr or params(out)))
recipe = os.path.join(tmp, "recipe.yml")
with open(recipe, "w") as f:
    f.write("merge_method: dare_linear\nbase_model: %s/base\nmodels:\n"
            "  - model: %s/sft\n    parameters: {weight: 1.0, density: 0.5}\n" % (M, M))
out = os.path.join(tmp, "merge")
r = run(["merge", recipe, "--seed", str(seed), "-o", out])
C.check(r.returncode == 0 and params(out).get("seed") == str(seed),
        "merge records seed %d exactly: %s" % (seed, r.stderr or params(out)))
C.done()
