"""test_steer_forward.py: steered forward passes of `safearith logits`, `generate` and batched
sa_generate against the independent PyTorch implementation in steer_ref.py (float64), on a
random-weight Llama checkpoint, for each mode (add, icv, icv-code), both sites, several
vectors, layer ranges; plus the error paths of --steer."""
import os
import subprocess
import sys
import tempfile

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
from checks import check, done, rel  # noqa: E402,F401
import steer_ref as R  # noqa: E402
import st_io  # noqa: E402  (steer_ref put tests/common on the path)

SA = os.environ["SAFEARITH"]
BATCH_TOOL = os.path.join(os.environ["SA_BUILD_DIR"], "steer_test_steer_batch")
def sa(*args):
    return subprocess.run([SA, *map(str, args)], capture_output=True, text=True)


def main():
    torch.manual_seed(0)
    cfg = R.make_config()
    w = R.random_weights(cfg, 1)
    d, L = cfg["hidden_size"], cfg["num_hidden_layers"]
    with tempfile.TemporaryDirectory() as tmp:
        model = os.path.join(tmp, "m")
        R.write_model(model, cfg, w)
        g = torch.Generator().manual_seed(5)
        v1 = {l: torch.randn(d, generator=g) * 3 for l in (1, 2, 3)}
        v2 = {l: torch.randn(d, generator=g) for l in (0, 1, 2, 3)}
        p1, p2 = os.path.join(tmp, "v1.gguf"), os.path.join(tmp, "v2.gguf")
        R.write_cvec(p1, v1)
        R.write_cvec(p2, v2)
        ids = R.encode("The quick brown fox jumps.")
        tok = ",".join(map(str, ids))
        out = os.path.join(tmp, "out.safetensors")

        def run_logits(flags):
            r = sa("logits", "--model", model, "--tokens", tok, "-o", out, "--overwrite", *flags)
            check(r.returncode == 0, f"logits {flags}: {r.stderr.strip()}")
            t = st_io.load(out)
            return t["logits"], [t[f"hidden.{i}"] for i in range(L + 1)]

        base_logits, _ = R.forward(cfg, w, ids)
        lg, _ = run_logits([])
        check(rel(lg, base_logits) < 1e-4, f"unsteered logits rel {rel(lg, base_logits)}")

        def vecs(spec, lo=0, hi=L - 1):
            vv = {}
            for scale, src in spec:
                for l, v in src.items():
                    if lo <= l <= hi:
                        vv.setdefault(l, []).append((scale, v))
            return vv

        cases = [
            ("add", "residual", [(2.0, v1)], ["--steer", f"{p1}:2"], None),
            ("add", "mlp", [(2.0, v1)], ["--steer", f"{p1}:2", "--steer-at", "mlp"], None),
            ("add", "residual", [(1.5, v1), (-0.7, v2)],
             ["--steer", f"{p1}:1.5", "--steer", f"{p2}:-0.7"], None),
            ("add", "residual", [(1.0, v2)], ["--steer", p2, "--steer-layers", "2-3"], (2, 3)),
            ("icv", "mlp", [(0.5, v1)], ["--steer", f"{p1}:0.5", "--steer-mode", "icv"], None),
            ("icv", "residual", [(0.3, v1)],
             ["--steer", f"{p1}:0.3", "--steer-mode", "icv", "--steer-at", "residual"], None),
            ("icv", "mlp", [(0.4, v1), (0.2, v2)],
             ["--steer", f"{p1}:0.4", "--steer", f"{p2}:0.2", "--steer-mode=icv"], None),
            ("icv", "mlp", [(0.5, v2)],
             ["--steer", f"{p2}:0.5", "--steer-mode", "icv", "--steer-layers", "0-1"], (0, 1)),
            ("icv-code", "mlp", [(0.12, v1)], ["--steer", f"{p1}:0.12", "--steer-mode", "icv-code"], None),
            ("icv-code", "mlp", [(3.0, v1)], ["--steer", f"{p1}:3", "--steer-mode", "icv-code"], None),
            ("icv-code", "residual", [(2.0, v2)],
             ["--steer", f"{p2}:2", "--steer-mode", "icv-code", "--steer-at", "residual"], None),
        ]
        for mode, site, spec, flags, rng in cases:
            lo, hi = rng or (0, L - 1)
            steer = dict(mode=mode, site=site, vectors=vecs(spec, lo, hi))
            ref_logits, ref_hidden = R.forward(cfg, w, ids, steer)
            lg, hid = run_logits(flags)
            e = max([rel(lg, ref_logits)] + [rel(h, rh) for h, rh in zip(hid, ref_hidden)])
            check(e < 1e-4, f"{mode}/{site} {flags}: rel err {e:.2e}")
            check(rel(ref_logits, base_logits) > 1e-3, f"{mode}/{site} {flags}: steering had no effect")

        # Greedy generation steered (prompt and generated tokens alike).
        for mode, flags, spec in (("icv", ["--steer-mode", "icv"], [(0.6, v1)]),
                                  ("add", [], [(0.6, v1)])):
            steer = dict(mode=mode, site="mlp" if mode == "icv" else "residual", vectors=vecs(spec))
            want = R.greedy(cfg, w, ids, 8, steer)
            r = sa("generate", "--model", model, "--tokens", tok, "--temp", "0", "--max-tokens", 8,
                   "--ignore-eos", "--print-ids", "--steer", f"{p1}:0.6", *flags)
            got = [int(x) for x in r.stdout.split()] if r.returncode == 0 else r.stderr
            check(got == want, f"generate {mode}: {got} != {want}")

        # Batched generation: three prompts decoded together, each steered like alone.
        prompts = ["Hello there", "A longer prompt, with more bytes in it", "x"]
        steer = dict(mode="icv", site="mlp", vectors=vecs([(0.6, v1)]))
        r = subprocess.run([BATCH_TOOL, model, p1, "0.6", "icv", *prompts], capture_output=True,
                           text=True)
        check(r.returncode == 0, f"batch tool: {r.stderr.strip()}")
        lines = r.stdout.splitlines()
        for i, p in enumerate(prompts):
            want = R.greedy(cfg, w, R.encode(p), 6, steer)
            got = [int(x) for x in lines[i].split()] if i < len(lines) else None
            check(got == want, f"batched prompt {i}: {got} != {want}")

        # Errors: one line, non-zero exit, naming the problem.
        wide = os.path.join(tmp, "wide.gguf")
        R.write_cvec(wide, {1: torch.ones(d + 1)})
        deep = os.path.join(tmp, "deep.gguf")
        R.write_cvec(deep, {L: torch.ones(d)})
        bad = os.path.join(tmp, "bad.gguf")
        open(bad, "wb").write(b"GGUF\x03\x00\x00\x00")
        for flags, needle, code in (([ "--steer", wide], "n_embd 65", 1),
                                    (["--steer", deep], f"direction.{L}", 1),
                                    (["--steer", bad], "truncated", 1),
                                    (["--steer", os.path.join(tmp, "none.gguf")], "none.gguf", 1),
                                    (["--steer-mode", "icv"], "need --steer", 2),
                                    (["--steer", p1, "--steer-mode", "sideways"], "sideways", 2),
                                    (["--steer", p1, "--steer-layers", f"0-{L}"], "--steer-layers", 2)):
            r = sa("logits", "--model", model, "--tokens", tok, "-o", out, "--overwrite", *flags)
            check(r.returncode == code and needle in r.stderr and r.stderr.startswith("safearith logits: "),
                  f"{flags}: rc={r.returncode} {r.stderr.strip()!r}")
    done()


main()
