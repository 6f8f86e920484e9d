"""test_pca.py: safearith's first principal component against numpy's SVD.

Synthetic rows with a known principal direction (plus noise and an offset mean) are written as
float32, the test_pca tool computes the PC, and it must match numpy's first right singular
vector of the centred rows to |cos| > 0.99999, with our sign rule (the mean projects positively)
holding. Both the Gram path (dim >= rows) and the covariance path (dim < rows) are exercised."""
import os
import subprocess
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
from checks import check, done, rel  # noqa: E402,F401
TOOL = os.path.join(os.environ["SA_BUILD_DIR"], "steer_test_pca")
def case(tmp, rng, n, dim, noise, mean_sign):
    d = rng.standard_normal(dim)
    d /= np.linalg.norm(d)
    t = rng.standard_normal(n) * 2.0
    mean = mean_sign * 0.8 * d + 0.02 * rng.standard_normal(dim) / np.sqrt(dim)
    X = (mean + t[:, None] * d + noise * rng.standard_normal((n, dim))).astype(np.float32)
    src, dst = os.path.join(tmp, "x.f32"), os.path.join(tmp, "pc.f64")
    X.tofile(src)
    r = subprocess.run([TOOL, "pca", src, str(n), str(dim), dst], capture_output=True, text=True)
    check(r.returncode == 0, f"tool failed: {r.stderr}")
    if r.returncode:
        return
    pc = np.fromfile(dst, dtype=np.float64)
    Xd = X.astype(np.float64)
    _, _, vt = np.linalg.svd(Xd - Xd.mean(0), full_matrices=False)
    ref = vt[0]
    cos = float(pc @ ref / np.linalg.norm(pc))
    check(abs(cos) > 0.99999, f"n={n} dim={dim}: |cos| with numpy SVD = {abs(cos):.8f}")
    check(abs(np.linalg.norm(pc) - 1) < 1e-9, "unit norm")
    check(float(pc @ Xd.mean(0)) > 0, f"n={n} dim={dim}: sign rule (mean projects positively)")
    check(float(pc @ d) * float(Xd.mean(0) @ d) > 0, f"n={n} dim={dim}: points to the mean's side")
    check(abs(float(pc @ d)) > 0.99, f"n={n} dim={dim}: recovers the planted direction")


def main():
    rng = np.random.default_rng(42)
    with tempfile.TemporaryDirectory() as tmp:
        for n, dim, noise in ((30, 512, 0.01), (30, 512, 0.03), (12, 4096, 0.005), (200, 16, 0.2),
                              (2, 64, 0.01)):
            for sign in (1, -1):
                case(tmp, rng, n, dim, noise, sign)
    done()


main()
