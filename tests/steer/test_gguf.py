"""test_gguf.py: control-vector GGUF interoperability and robustness.

1. Our writer (via the test_gguf tool) read back by the independent numpy reader in gguf_ref.py.
2. Files in llama.cpp's and repeng's layouts, made here, read by our reader (values and metadata).
3. A corpus of malformed files: `safearith icv-info` must fail with exit 1 and a one-line message
   naming the problem, never crash; every truncation of a valid file is tried."""
import json
import os
import struct
import subprocess
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
from checks import check, done, rel  # noqa: E402,F401
import gguf_ref as G  # noqa: E402

SA = os.environ["SAFEARITH"]
TOOL = os.path.join(os.environ["SA_BUILD_DIR"], "steer_test_gguf")
def dump(path, n_embd=0):
    r = subprocess.run([TOOL, "dump", path, str(n_embd)], capture_output=True, text=True)
    lines = [json.loads(x) for x in r.stdout.splitlines()]
    return r.returncode, lines


def ours_read_by_numpy(tmp):
    path = os.path.join(tmp, "ours.gguf")
    subprocess.run([TOOL, "write", path], check=True)
    data = open(path, "rb").read()
    version, meta, tensors = G.read(data)
    check(version == 3, "version 3")
    check(meta["general.architecture"] == "controlvector", "architecture")
    check(meta["controlvector.model_hint"] == "llama", "model_hint")
    check(meta["controlvector.layer_count"] == 3, "layer_count")
    check(meta["general.alignment"] == 32, "alignment")
    check(meta["safearith.method"] == "pca+mean" and meta["safearith.position"] == "mean-answer",
          "method/position metadata")
    check(meta["safearith.pair_count"] == 30, "pair count")
    check(sorted(tensors) == ["direction.1", "direction.2", "direction.4"], f"names {sorted(tensors)}")
    for l in (1, 2, 4):
        want = np.array([0.25 * l + 0.01 * k for k in range(5)], dtype=np.float32)
        got = tensors[f"direction.{l}"]
        check(got.shape == (5,) and np.array_equal(got, want), f"values of direction.{l}")
        check(abs(meta["safearith.layer_norms"][l] - np.linalg.norm(want)) < 1e-6, f"norm {l}")
    check(meta["safearith.layer_norms"][0] == 0 and meta["safearith.layer_norms"][3] == 0, "absent norms 0")
    # the layer-0 request is honoured
    p0 = os.path.join(tmp, "ours0.gguf")
    subprocess.run([TOOL, "write", p0, "--layer0"], check=True)
    _, meta0, t0 = G.read(open(p0, "rb").read())
    check("direction.0" in t0 and meta0["controlvector.layer_count"] == 4, "direction.0 when asked")


def interop(tmp):
    rng = np.random.default_rng(0)
    d = 16
    vecs = {l: rng.standard_normal(d).astype(np.float32) for l in range(1, 6)}
    # llama.cpp cvector-generator: INT32 layer_count, model_hint = GGUF arch, direction.1..N.
    llama = G.build([G.kv("general.architecture", G.T_STR, "controlvector"),
                     G.kv("controlvector.model_hint", G.T_STR, "llama"),
                     G.kv("controlvector.layer_count", G.T_I32, 5)],
                    [(f"direction.{l}", vecs[l]) for l in range(1, 6)])
    # repeng: UINT32 layer_count, HF model_type, directions in reverse layer order.
    repeng = G.build([G.kv("general.architecture", G.T_STR, "controlvector"),
                      G.kv("controlvector.model_hint", G.T_STR, "mistral"),
                      G.kv("controlvector.layer_count", G.T_U32, 5)],
                     [(f"direction.{l}", vecs[l]) for l in range(5, 0, -1)])
    # GGUF v2, and two tensors for one layer (summed, as llama.cpp does), and a custom alignment.
    v2 = G.build([G.kv("general.architecture", G.T_STR, "controlvector"),
                  G.kv("general.alignment", G.T_U32, 64)],
                 [("direction.3", vecs[3]), ("direction.3", vecs[4])], version=2, align=64)
    for name, blob, hint, want in (("llama", llama, "llama", vecs), ("repeng", repeng, "mistral", vecs),
                                   ("v2", v2, "", {3: vecs[3] + vecs[4]})):
        path = os.path.join(tmp, name + ".gguf")
        open(path, "wb").write(blob)
        rc, lines = dump(path, d)
        check(rc == 0, f"{name}: read ok ({lines})")
        got = {x["layer"]: np.array(x["values"], dtype=np.float32) for x in lines if "layer" in x}
        check(sorted(got) == sorted(want), f"{name}: layers {sorted(got)}")
        check(all(np.allclose(got[l], want[l], rtol=0, atol=1e-6) for l in got if l in want),
              f"{name}: values")
        check(lines[-1]["model_hint"] == hint, f"{name}: model hint")
        r = subprocess.run([SA, "icv-info", "--json", path], capture_output=True, text=True)
        check(r.returncode == 0 and json.loads(r.stdout)["n_embd"] == d, f"{name}: icv-info")
    rc, lines = dump(os.path.join(tmp, "llama.gguf"), 32)
    check(rc == 1 and "n_embd 16" in lines[0]["error"] and "32" in lines[0]["error"], "n_embd mismatch")


def malformed_cases():
    ok_kv = [G.kv("general.architecture", G.T_STR, "controlvector")]
    v = np.ones(8, dtype=np.float32)
    good = G.build(ok_kv, [("direction.1", v)])
    hdr = b"GGUF" + struct.pack("<I", 3)
    cases = [
        ("empty", b"", "truncated"),
        ("magic", b"GGML" + good[4:], "bad magic"),
        ("version1", b"GGUF" + struct.pack("<I", 1) + good[8:], "version 1"),
        ("version4", b"GGUF" + struct.pack("<I", 4) + good[8:], "version 4"),
        ("f16", G.build(ok_kv, [("direction.1", v)], ggml_type=1), "expected F32"),
        ("2d", G.build(ok_kv, [("direction.1", np.ones((2, 4), np.float32))]), "1-D"),
        ("widths", G.build(ok_kv, [("direction.1", v), ("direction.2", np.ones(4, np.float32))]),
         "others have 8"),
        ("huge tensors", hdr + struct.pack("<QQ", 1 << 62, 0), "tensor count"),
        ("negative kv", hdr + struct.pack("<qq", 0, -1), "key/value count"),
        ("huge kv", hdr + struct.pack("<QQ", 0, 1 << 40), "key/value count"),
        ("huge string", hdr + struct.pack("<QQ", 0, 1) + struct.pack("<Q", 1 << 60) + b"x" * 20,
         "length"),
        ("huge array", hdr + struct.pack("<QQ", 0, 1) + G.s("k") + struct.pack("<IIQ", G.T_ARR, G.T_F32, 1 << 61),
         "array elements"),
        ("nested array", hdr + struct.pack("<QQ", 0, 1) + G.s("k") + struct.pack("<IIQ", G.T_ARR, G.T_ARR, 1),
         "nested array"),
        ("bad type", hdr + struct.pack("<QQ", 0, 1) + G.s("k") + struct.pack("<I", 99) + b"\0" * 16,
         "unknown value type"),
        ("no tensors", G.build(ok_kv, []), "no direction tensors"),
        ("bad name", G.build(ok_kv, [("output.weight", v)]), "not named direction.N"),
        ("negative layer", G.build(ok_kv, [("direction.-1", v)]), "not named direction.N"),
        ("huge layer", G.build(ok_kv, [("direction.99999999", v)]), "not named direction.N"),
        ("arch", G.build([G.kv("general.architecture", G.T_STR, "llama")], [("direction.1", v)]),
         "not 'controlvector'"),
        ("layer_count str", G.build(ok_kv + [G.kv("controlvector.layer_count", G.T_STR, "5")],
                                    [("direction.1", v)]), "expected an integer"),
        ("duplicate key", G.build(ok_kv + ok_kv, [("direction.1", v)]), "duplicate key"),
        ("bad alignment", G.build(ok_kv + [G.kv("general.alignment", G.T_U32, 3)], [("direction.1", v)]),
         "power of two"),
    ]
    # A tensor whose dims claim more data than the file holds, one with an offset past the end,
    # one whose offset is not aligned.
    huge_dim = G.build(ok_kv, [("direction.1", v)]).replace(struct.pack("<q", 8), struct.pack("<q", 1 << 40), 1)
    cases.append(("huge dim", huge_dim, "past the end"))
    big = G.build(ok_kv, [("direction.1", np.ones(8, np.float32))])
    i = big.index(G.s("direction.1")) + len(G.s("direction.1")) + 4 + 8 + 4
    cases.append(("offset past end", big[:i] + struct.pack("<Q", 1 << 20) + big[i + 8:], "past the end"))
    cases.append(("unaligned offset", big[:i] + struct.pack("<Q", 4) + big[i + 8:], "not a multiple"))
    for n in range(len(good)):  # every truncation
        cases.append((f"truncated at {n}", good[:n], ""))
    return cases


def malformed(tmp):
    path = os.path.join(tmp, "bad.gguf")
    for name, blob, needle in malformed_cases():
        open(path, "wb").write(blob)
        r = subprocess.run([SA, "icv-info", path], capture_output=True, text=True)
        err = r.stderr.strip()
        ok = (r.returncode == 1 and err.startswith("safearith icv-info: ") and "\n" not in err
              and needle in err and r.stdout == "")
        check(ok, f"{name}: rc={r.returncode} stderr={err!r}")


def main():
    with tempfile.TemporaryDirectory() as tmp:
        ours_read_by_numpy(tmp)
        interop(tmp)
        malformed(tmp)
    done()


main()
