"""test_hdr.py: `safearith hdr` on the shipped organisms equals the training tool's HDR bit for bit.

Global top-10 % of tau = harmful - base over every tensor (torch.kthvalue threshold, ties kept),
out = sft - lambda * tau_k, for lambda 0.5, 1 and 3 (3 checks the float32 product lambda * tau);
and the edited-model scenarios, --layers 1-3 on `edited` (tau zero outside decoder layers 1..3,
top-k within) and --include mlp on `edited_erode` (only the tensors whose name contains "mlp").
"""
import glob
import json
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import orgtest  # noqa: E402
from orgtest import MODELS, torch  # noqa: E402

import arith  # noqa: E402
import model  # noqa: E402
import st_io  # noqa: E402

c = orgtest.Checker("hdr")
M = {n: model.load_model_dir(os.path.join(MODELS, n)) for n in ("base", "harmful", "sft", "edited",
                                                                    "edited_erode")}


def load_out(d):
    out = {}
    for p in sorted(glob.glob(os.path.join(d, "*.safetensors"))):
        out.update(st_io.load_file(p)[0])
    return out


cases = [("sft", lam, None, None) for lam in (0.5, 1.0, 3.0)] + [("edited", 2.0, "1-3", None),
                                                                  ("edited_erode", 0.75, None, "mlp")]
with tempfile.TemporaryDirectory() as tmp:
    for i, (target, lam, layers, include) in enumerate(cases):
        out = os.path.join(tmp, f"out{i}")
        args = ["hdr", "--target", os.path.join(MODELS, target), "--base",
                os.path.join(MODELS, "base"), "--harmful", os.path.join(MODELS, "harmful"),
                "--top-k", "10", "--lambda", repr(lam), "-o", out]
        if layers:
            args += ["--layers", layers]
        if include:
            args += ["--include", include]
        orgtest.run(args)
        got = load_out(out)
        lay = None if layers is None else list(range(int(layers[0]), int(layers[-1]) + 1))
        ref = arith.hdr(M[target], M["base"], M["harmful"], lam, 10.0, layers=lay, include=include)
        what = f"hdr {target} λ={lam:g} layers={layers} include={include}"
        c.check(set(got) == set(ref), f"{what}: same tensor names")
        bad = [n for n in ref if n in got and not (got[n].dtype == torch.float32 and
                                                   torch.equal(got[n], ref[n]))]
        c.check(not bad, f"{what}: bitwise equal (differs: {bad[:3]})")
        changed = sum(int((ref[n] != M[target][n]).sum()) for n in ref)
        c.check(changed > 0, f"{what}: the edit changes weights ({changed})")
sys.exit(c.done())
