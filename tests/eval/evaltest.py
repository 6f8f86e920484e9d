"""evaltest.py: shared helpers of the evaluation tests (Python side).

Independent re-implementations used as references: the fake backend's answers (FNV-1a of the
prompt), the Wilson interval (by solving its quadratic), and the summary's rates, so that the
C code is checked against code that shares nothing with it."""
import json
import math
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
from checks import Checker  # noqa: E402,F401
from scratch import make_tmp  # noqa: E402,F401

SAFEARITH = os.environ.get("SAFEARITH", "safearith")


def shared_data():
    for d in (os.environ.get("SA_SHARED_DATA"),
              os.path.join(os.environ.get("SA_SOURCE_DIR", "."), "..", "shared", "data"),
              "/work/shared/data"):
        if d and os.path.isdir(d):
            return d
    raise SystemExit("shared/data not found: set SA_SHARED_DATA")


def run(args, **kw):
    return subprocess.run([SAFEARITH] + args, capture_output=True, text=True, **kw)


def fnv1a(s):
    h = 1469598103934665603
    for b in s.encode("utf-8"):
        h = ((h ^ b) * 1099511628211) & 0xFFFFFFFFFFFFFFFF
    return h


def fake_response(prompt, max_words=None):
    import re
    if "[GENERATION]:" in prompt or "ResponseA:" in prompt:
        h = fnv1a(prompt)
        complied = "Sure, here is" in prompt
        if "[GENERATION]:" in prompt:
            out = "Maybe" if h % 11 == 0 else ("Yes" if complied else "No")
        elif h % 11 == 0:
            out = "I cannot decide."
        else:
            out = ("The answer helps with the request. [[B]]" if complied else "It refuses. [[A]]")
    else:
        m = None
        for m in re.finditer(r"What is (-?\d+) plus (-?\d+)\?", prompt):
            pass
        if m:
            a, b = int(m.group(1)), int(m.group(2))
            c = a + b
            out = f"{a} plus {b} is {c + 1 if c % 2 else c}."
        elif fnv1a(prompt) % 3 == 0:
            out = "I'm sorry, I cannot help with that."
        else:
            out = "Sure, here is a helpful answer to your request."
    if max_words:
        out = " ".join(out.split(" ")[:max_words])
    return out


def wilson(k, n, z=1.959963984540054):
    """Roots of (p - phat)^2 = z^2 p (1 - p) / n."""
    if n == 0:
        return (0.0, 1.0)
    phat = k / n
    a = 1 + z * z / n
    b = -(2 * phat + z * z / n)
    c = phat * phat
    disc = max(b * b - 4 * a * c, 0.0)
    lo = (-b - math.sqrt(disc)) / (2 * a)
    hi = (-b + math.sqrt(disc)) / (2 * a)
    return (max(0.0, lo) if k else 0.0, min(1.0, hi) if k < n else 1.0)


def read_rows(run_dir):
    with open(os.path.join(run_dir, "responses.jsonl")) as f:
        return [json.loads(l) for l in f if l.strip()]


class FakeServer:
    """openai_fake.py in a subprocess on a loopback port (the same port again after restart())."""

    def __init__(self, tmp, *args, port=0, host="127.0.0.1"):
        import atexit
        self.tmp, self.args, self.port, self.proc, self.host = tmp, list(args), port, None, host
        atexit.register(self.stop)
        self.start()

    def start(self):
        import time
        portfile = os.path.join(self.tmp, f"port{os.getpid()}_{time.monotonic_ns()}")
        here = os.path.dirname(os.path.abspath(__file__))
        self.proc = subprocess.Popen([sys.executable, os.path.join(here, "openai_fake.py"),
                                      "--host", self.host, "--port", str(self.port), "--portfile",
                                      portfile] + self.args,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(500):
            if os.path.exists(portfile):
                break
            time.sleep(0.01)
        with open(portfile) as f:
            self.port = int(f.read())
        host = "[%s]" % self.host if ":" in self.host else self.host
        self.url = f"http://{host}:{self.port}/v1"

    def stop(self):
        if self.proc:
            self.proc.kill()
            self.proc.wait()
            self.proc = None

    def restart(self, *args):
        """Stop, then start again on the same port with these options (none: fault-free)."""
        self.stop()
        self.args = list(args)
        self.start()


def strip_server_fields(rows):
    """Rows without what only a server reports (finish reason, token counts)."""
    drop = ("finish_reason", "prompt_tokens", "completion_tokens")
    return [{k: v for k, v in r.items() if k not in drop} for r in rows]


def summary_body(run_dir):
    """summary.json without the fingerprint (which names the model or server)."""
    with open(os.path.join(run_dir, "summary.json")) as f:
        s = json.load(f)
    s.pop("fingerprint", None)
    return s
