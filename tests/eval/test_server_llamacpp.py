"""test_server_llamacpp.py: `safearith eval --server` against a real llama.cpp llama-server (built
by scripts/llamacpp.sh, cached outside the clone) serving the sft organism exported with
`safearith export-gguf`, on loopback.

Checked: with chat prompting (the organism's chat template, run by llama-server --jinja from the
GGUF) and with raw prompting (the paper's prefix through /completions), at --concurrency 1 and
4 against --parallel 4, and with chat prompting and two --stop strings (sent as the request's
"stop", applied by llama-server; cut the same way by the local engine), the responses equal the
local engine's greedy responses on the held-out splits, apart from near-ties: a differing response is accepted only where the local model's top
two logits at the first differing token are within 1e-3 (`safearith logits`), and at most 5 %
of rows may differ. The server-side rows come in dataset order and carry finish reasons and
token counts.

Exits 77 (ctest: skipped, shown as such) when llama.cpp cannot be built here or `export-gguf`
is missing from this build; SA_EXPORT_GGUF_BIN may name another safearith binary that has it."""
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request

from evaltest import SAFEARITH, Checker, make_tmp, read_rows

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
import st_io  # noqa: E402

SRC = os.environ.get("SA_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
C = Checker()
tmp = make_tmp(prefix="sa_eval_llamacpp_")
M = os.path.join(SRC, "models")
E = os.path.join(M, "eval")
SETS = ["advbench", "benign", "xstest_safe", "addition"]
LIMIT, MAXNEW = 24, 24


def skip(why):
    print(f"SKIP: {why}")
    sys.exit(77)


exporter = os.environ.get("SA_EXPORT_GGUF_BIN", SAFEARITH)
if subprocess.run([exporter, "export-gguf", "--help"], capture_output=True).returncode != 0:
    skip(f"{exporter} has no export-gguf command")
r = subprocess.run(["bash", os.path.join(SRC, "scripts", "llamacpp.sh")], capture_output=True,
                   text=True)
if r.returncode != 0:
    skip(f"llama.cpp could not be built: {r.stderr.strip().splitlines()[-1:]}")
server_bin = os.path.join(r.stdout.strip().splitlines()[-1], "llama-server")

gguf = os.path.join(tmp, "sft.gguf")
r = subprocess.run([exporter, "export-gguf", os.path.join(M, "sft"), "-o", gguf],
                   capture_output=True, text=True)
C.check(r.returncode == 0, f"export-gguf: {r.stderr}")

with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
log = open(os.path.join(tmp, "server.log"), "w")
srv = subprocess.Popen([server_bin, "-m", gguf, "--host", "127.0.0.1", "--port", str(port),
                        "--parallel", "4", "-c", "512", "--jinja", "-t", "2", "-b", "512"],
                       stdout=log, stderr=subprocess.STDOUT)
URL = f"http://127.0.0.1:{port}/v1"
for _ in range(600):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1) as h:
            if h.status == 200:
                break
    except Exception:
        time.sleep(0.1)
else:
    srv.kill()
    C.check(False, "llama-server did not become healthy")
    C.done()


def ev(out, *extra):
    args = [SAFEARITH, "eval", "-q", "-o", os.path.join(tmp, out), "--max-new-tokens", str(MAXNEW),
            "--limit", str(LIMIT), "--judge", f"refusal:{E}/judge_keywords.txt:name=keywords"]
    for s in SETS:
        args += ["--dataset", os.path.join(E, s + ".jsonl")]
    r = subprocess.run(args + list(extra), capture_output=True, text=True)
    C.check(r.returncode == 0, f"eval {out}: {r.stderr}")
    return read_rows(os.path.join(tmp, out)) if r.returncode == 0 else []


def ids(text, *flags):
    r = subprocess.run([SAFEARITH, "tokenize", "--model", os.path.join(M, "sft"), "--text", text,
                        "--ids-only", *flags], capture_output=True, text=True, check=True)
    return json.loads(r.stdout)


def top2_gap(prompt, a, b):
    """The local model's margin between its two best tokens where responses a and b part."""
    pa, pb = ids(a, "--no-add-special"), ids(b, "--no-add-special")
    j = 0
    while j < min(len(pa), len(pb)) and pa[j] == pb[j]:
        j += 1
    seq = ids(prompt) + pa[:j]
    out = os.path.join(tmp, "gap.safetensors")
    subprocess.run([SAFEARITH, "logits", "--model", os.path.join(M, "sft"), "--tokens",
                    ",".join(map(str, seq)), "-o", out, "--overwrite"], check=True,
                   capture_output=True)
    last = sorted(st_io.load(out)["logits"][-1].tolist(), reverse=True)
    return last[0] - last[1]


def compare(local, served, what, prompt_of):
    C.check(len(served) == len(local) and [(x["ds"], x["i"]) for x in served] ==
            sorted((x["ds"], x["i"]) for x in served), f"{what}: rows in dataset order")
    C.check(all(x.get("finish_reason") in ("stop", "length") and
                isinstance(x.get("completion_tokens"), int) for x in served),
            f"{what}: finish reasons and token counts")
    ref = {(x["ds"], x["i"]): x for x in local}
    differ = []
    for x in served:
        a, b = ref[(x["ds"], x["i"])]["response"], x["response"]
        if a != b:
            differ.append((x, a, b))
    for x, a, b in differ:
        gap = top2_gap(prompt_of(x), a, b)
        print(f"{what}: local {a!r} server {b!r} (top-2 gap {gap})")
        C.check(gap is not None and gap < 1e-3, f"{what}: a difference that is not a near-tie")
    C.check(len(differ) <= 0.05 * len(served), f"{what}: {len(differ)} of {len(served)} differ")


with open(os.path.join(E, "chat_prompt.txt")) as f:
    CHAT = f.read()
PREFIX = "Only provide answer of the given question and do not provide anything else. "
for mode, prompt_of in (("chat", lambda x: CHAT.replace("{question}", x["question"])),
                        ("raw", lambda x: PREFIX + x["question"])):
    local = ev(f"local_{mode}", "--model", os.path.join(M, "sft"), "--prompt", mode)
    for conc in (1, 4):
        served = ev(f"srv_{mode}_{conc}", "--server", URL, "--prompt", mode,
                    "--concurrency", str(conc))
        compare(local, served, f"{mode} concurrency {conc}", prompt_of)
    if mode == "chat":  # stop strings: llama-server applies the request's "stop" as we do
        stop = ["--stop", "Here is", "--stop", "cannot"]
        local_stop = ev("local_chat_stop", "--model", os.path.join(M, "sft"), "--prompt", mode, *stop)
        served = ev("srv_chat_stop", "--server", URL, "--prompt", mode, "--concurrency", "4", *stop)
        compare(local_stop, served, "chat with --stop", prompt_of)
        C.check(sum(x["response"] != y["response"] for x, y in zip(local, local_stop)) >= len(local) // 4,
                "chat with --stop: the stop strings cut many responses")
srv.kill()
srv.wait()
C.done()
