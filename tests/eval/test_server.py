"""test_server.py: `safearith eval --server` against a fault-injecting OpenAI-compatible server
(openai_fake.py, loopback only), compared with the same stand-in model run locally (--model fake).

Checked: raw and chat prompting give exactly the local rows (plus finish reason and token counts)
and the same summary; with every fault kind injected (429 + Retry-After, 500, 503, a delay past
--timeout, a connection dropped mid-body, torn JSON, empty choices, a text/html 200) at
concurrency 4 the rows and summary are still identical, none lost or duplicated, in dataset
order; a request that keeps failing stops the run with one line naming the URL, the status and
the item, keeps the finished rows, and --resume completes it identically; the server killed
mid-run and restarted, then --resume, gives the same, and so does Ctrl-C mid-request; a 401 stops at once with the server's
message; the API key is sent in the Authorization header and appears in no file of the run and
not on stderr, nor does a password in the URL."""
import json
import os
import signal
import subprocess
import time

from evaltest import (SAFEARITH, Checker, FakeServer, make_tmp, read_rows, run,
                      strip_server_fields, summary_body)

C = Checker()
tmp = make_tmp(prefix="sa_eval_server_")
harm = os.path.join(tmp, "harm.json")
with open(harm, "w") as f:
    json.dump([f"Tell me {i} ways to do thing number {i}." for i in range(24)], f)
benign = os.path.join(tmp, "benign_safe.json")
with open(benign, "w") as f:
    json.dump([f"Write a short poem about the number {i}." for i in range(10)], f)
qa = os.path.join(tmp, "sums.jsonl")
with open(qa, "w") as f:
    for a in range(8):
        f.write(json.dumps({"question": f"What is {a} plus {a + 3}?", "answer": f"{a} plus {a + 3} is {2 * a + 3}."}) + "\n")
DATA = ["--dataset", harm, "--dataset", benign, "--dataset", qa, "--max-new-tokens", "6"]
SECRET = "sk-test-SECRET-4711"


def ev(out, *extra, env=None, timeout=120):
    e = dict(os.environ)
    e.pop("OPENAI_API_KEY", None)
    e.pop("SAFEARITH_API_KEY", None)
    if env:
        e.update(env)
    return subprocess.run([SAFEARITH, "eval", "-q", "-o", os.path.join(tmp, out)] + DATA + list(extra),
                          capture_output=True, text=True, env=e, timeout=timeout)


def rows_of(out):
    return read_rows(os.path.join(tmp, out))


def key(r):
    return (r["ds"], r["i"])


# reference: the stand-in run locally, raw and chat prompting
r = ev("local_raw", "--model", "fake")
C.check(r.returncode == 0, f"local raw: {r.stderr}")
r = ev("local_chat", "--model", "fake", "--prompt", "chat", "--system", "Be brief.")
C.check(r.returncode == 0, f"local chat: {r.stderr}")
ref_raw, ref_chat = rows_of("local_raw"), rows_of("local_chat")
sum_raw = summary_body(os.path.join(tmp, "local_raw"))
sum_chat = summary_body(os.path.join(tmp, "local_chat"))

log = os.path.join(tmp, "requests.jsonl")
srv = FakeServer(tmp, "--log", log)


def same_as(out, ref, ref_sum, what):
    rows = rows_of(out)
    C.check(strip_server_fields(rows) == ref, f"{what}: rows differ from the local run")
    C.check([key(x) for x in rows] == sorted(key(x) for x in rows), f"{what}: rows out of order")
    C.check(summary_body(os.path.join(tmp, out)) == ref_sum, f"{what}: summary differs")
    return rows


# 1. fault-free, raw and chat, API key in the header only, password in the URL never stored
url_pw = srv.url.replace("http://", "http://alice:hunter2pw@")
r = ev("srv_raw", "--server", url_pw, "--concurrency", "4", env={"SAFEARITH_API_KEY": SECRET})
C.check(r.returncode == 0, f"server raw: {r.stderr}")
rows = same_as("srv_raw", ref_raw, sum_raw, "server raw")
gen = [x for x in rows if x["kind"] != "mcq"]
C.check(all(x.get("finish_reason") in ("stop", "length") for x in gen), "finish reasons recorded")
C.check(all(isinstance(x.get("completion_tokens"), int) for x in gen), "token counts recorded")
C.check(any(x.get("finish_reason") == "length" for x in gen), "a response cut by max tokens")
with open(log) as f:
    reqs = [json.loads(l) for l in f]
C.check(len(reqs) == 42, f"one request per prompt: {len(reqs)}")
C.check(all(q["auth"] == "Bearer " + SECRET for q in reqs), "the API key is sent as a bearer token")
C.check(all(q["body"]["max_tokens"] == 6 and q["body"]["temperature"] == 0 for q in reqs),
        "decoding maps onto the request")
for root, _, files in os.walk(os.path.join(tmp, "srv_raw")):
    for fn in files:
        with open(os.path.join(root, fn), "rb") as f:
            data = f.read()
        C.check(SECRET.encode() not in data and b"hunter2pw" not in data, f"secret in {fn}")
C.check(SECRET not in r.stderr + r.stdout, "secret on the terminal")
with open(os.path.join(tmp, "srv_raw", "run.json")) as f:
    runj = json.load(f)
C.check(runj["settings"]["model"]["server"] == srv.url, f"run.json server URL: {runj['settings']['model']}")
C.check(runj["settings"]["model"]["served_model"] == "fake-served", "served model recorded")

r = ev("srv_chat", "--server", srv.url, "--prompt", "chat", "--system", "Be brief.")
C.check(r.returncode == 0, f"server chat: {r.stderr}")
same_as("srv_chat", ref_chat, sum_chat, "server chat")

# 2. every fault kind, concurrency 4
faults = "429,500,503,delay,drop,malformed,empty,ctype"
srv.restart("--faults", faults, "--delay", "2.5", "--log", log)
t0 = time.time()
r = ev("srv_faults", "--server", srv.url, "--concurrency", "4", "--timeout", "1", "--retries", "6")
C.check(r.returncode == 0, f"faulty server: {r.stderr}")
same_as("srv_faults", ref_raw, sum_raw, "faulty server")
r = ev("srv_faults_chat", "--server", srv.url, "--concurrency", "3", "--timeout", "1", "--retries",
       "6", "--prompt", "chat", "--system", "Be brief.")
C.check(r.returncode == 0, f"faulty server chat: {r.stderr}")
same_as("srv_faults_chat", ref_chat, sum_chat, "faulty server chat")

# 3. a request that keeps failing: clean stop, finished rows kept, resume completes
srv.restart("--always-fail", "thing number 13.")
r = ev("srv_fail", "--server", srv.url, "--retries", "1", "--concurrency", "2", "--batch", "4")
lines = [l for l in r.stderr.splitlines() if l.strip()]
C.check(r.returncode != 0 and len(lines) == 1, f"one error line: {r.stderr!r}")
C.check(srv.url in r.stderr and "503" in r.stderr and "item 13" in r.stderr,
        f"names URL, status and item: {r.stderr!r}")
kept = rows_of("srv_fail")
C.check(sorted(key(x) for x in kept) == [(0, i) for i in range(13)],
        f"finished rows kept: {[key(x) for x in kept]}")
C.check(strip_server_fields(kept) == ref_raw[:13], "kept rows are right")
with open(os.path.join(tmp, "srv_fail", "run.json")) as f:
    C.check(json.load(f)["status"] == "failed", "run.json says failed")
srv.restart()
r = ev("srv_fail", "--server", srv.url, "--resume")
C.check(r.returncode == 0, f"resume after failure: {r.stderr}")
same_as("srv_fail", ref_raw, sum_raw, "resumed after failure")

# 4. the server killed mid-run, restarted, --resume
srv.restart("--sleep", "0.1")
e = dict(os.environ)
p = subprocess.Popen([SAFEARITH, "eval", "-q", "-o", os.path.join(tmp, "srv_kill"), "--server",
                      srv.url, "--concurrency", "2", "--batch", "4", "--retries", "1",
                      "--timeout", "1"] + DATA, stderr=subprocess.PIPE, text=True, env=e)
rows_path = os.path.join(tmp, "srv_kill", "responses.jsonl")
deadline = time.monotonic() + 60  # the kill falls after the first row, however slow the machine
while time.monotonic() < deadline and not (os.path.exists(rows_path) and os.path.getsize(rows_path)):
    time.sleep(0.02)
srv.stop()
_, err = p.communicate(timeout=60)
C.check(p.returncode != 0 and len(err.strip().splitlines()) == 1, f"killed server: {err!r}")
n_kept = len(rows_of("srv_kill"))
C.check(0 < n_kept < 42, f"some rows before the kill: {n_kept}")
srv.start()
r = ev("srv_kill", "--server", srv.url, "--resume")
C.check(r.returncode == 0, f"resume after restart: {r.stderr}")
rows = rows_of("srv_kill")
C.check(sorted(map(key, strip_server_fields(rows))) == sorted(map(key, ref_raw)), "no row lost or doubled")
C.check(sorted(strip_server_fields(rows), key=key) == ref_raw, "rows after kill and resume")
C.check(summary_body(os.path.join(tmp, "srv_kill")) == sum_raw, "summary after kill and resume")

# 4b. Ctrl-C while requests are in flight: status 130, one line, resumable
srv.restart("--sleep", "0.3")
p = subprocess.Popen([SAFEARITH, "eval", "-q", "-o", os.path.join(tmp, "srv_int"), "--server",
                      srv.url, "--concurrency", "2", "--batch", "4"] + DATA,
                     stderr=subprocess.PIPE, text=True)
time.sleep(1.5)
p.send_signal(signal.SIGINT)
_, err = p.communicate(timeout=30)
C.check(p.returncode == 130 and "interrupted" in err and len(err.strip().splitlines()) == 1,
        f"interrupted: {p.returncode} {err!r}")
srv.restart()
r = ev("srv_int", "--server", srv.url, "--resume")
C.check(r.returncode == 0, f"resume after Ctrl-C: {r.stderr}")
same_as("srv_int", ref_raw, sum_raw, "resumed after Ctrl-C")

# 5. 4xx other than 429: at once, with the server's message
os.remove(log)
srv.restart("--require-key", "right-key", "--log", log)
t0 = time.time()
r = ev("srv_401", "--server", srv.url, "--retries", "5", env={"OPENAI_API_KEY": "wrong-key"})
C.check(r.returncode != 0 and "HTTP 401" in r.stderr and "invalid api key" in r.stderr,
        f"401 with the server's message: {r.stderr!r}")
with open(log) as f:
    C.check(len(f.readlines()) <= 4, "a 401 is not retried")
C.check("wrong-key" not in r.stderr, "key not in the message")
r = ev("srv_401b", "--server", srv.url, env={"OPENAI_API_KEY": "right-key"})
C.check(r.returncode == 0, f"OPENAI_API_KEY is used: {r.stderr}")

# 6. bad inputs: a URL that is not http(s), both --model and --server, multiple choice
r = ev("bad1", "--server", "ftp://x/v1")
C.check(r.returncode != 0 and "not an http" in r.stderr, f"ftp URL: {r.stderr!r}")
r = ev("bad2", "--server", srv.url, "--model", "fake")
C.check(r.returncode == 2, f"--model and --server: {r.stderr!r}")
C.check(not os.path.exists(os.path.join(tmp, "bad1")), "no run directory for a refused run")
srv.stop()
C.done()
