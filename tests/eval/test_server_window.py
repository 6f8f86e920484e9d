"""test_server_window.py: how `safearith eval --server` schedules its requests and commits rows,
seen from the fault-injecting server (openai_fake.py: --gather, --hold, --events), no timing of
the client involved.

Checked: at --concurrency 1, 2, 4 and 8 the server sees exactly that many requests in flight at
most, and at least once (--gather holds the first ones until they are all there); a request held
back until a later one (seven prompts further on, across the old batch boundary) has been
answered does not stop the others: the window slides past it, the held request is answered last,
and the rows still come out in dataset order, identical to the local run; the window stays within
--batch prompts of the first unanswered one; the eval killed with SIGKILL while one early request
is held and the seven after it are answered keeps exactly the rows before the held one (none torn,
none out of order), and --resume completes the run identically."""
import json
import os
import signal
import subprocess
import time

from evaltest import (SAFEARITH, Checker, FakeServer, make_tmp, read_rows, strip_server_fields,
                      summary_body)

C = Checker()
tmp = make_tmp(prefix="sa_eval_window_")
harm = os.path.join(tmp, "harm.json")
with open(harm, "w") as f:
    json.dump([f"Tell me {i} ways to do thing number {i}." for i in range(40)], f)
benign = os.path.join(tmp, "benign_safe.json")
with open(benign, "w") as f:
    json.dump([f"Write a short poem about the number {i}." for i in range(10)], f)
DATA = ["--dataset", harm, "--dataset", benign, "--max-new-tokens", "6"]
N = 50


def ev(out, *extra):
    return subprocess.run([SAFEARITH, "eval", "-q", "-o", os.path.join(tmp, out)] + DATA +
                          list(extra), capture_output=True, text=True, timeout=120)


def key(r):
    return (r["ds"], r["i"])


def item(i):
    return f"thing number {i}."


def events(path):
    with open(path) as f:
        return [json.loads(line) for line in f]


def answered(evs):
    return [e["prompt"] for e in evs if e["ev"] == "answer"]


def pos(prompts, i):
    """Index of the first prompt of harm item i in a list of prompts."""
    return next(k for k, p in enumerate(prompts) if item(i) in p)


r = ev("local", "--model", "fake")
C.check(r.returncode == 0, f"local: {r.stderr}")
ref = read_rows(os.path.join(tmp, "local"))
ref_sum = summary_body(os.path.join(tmp, "local"))


def same_as_local(out, what):
    rows = read_rows(os.path.join(tmp, out))
    C.check(strip_server_fields(rows) == ref, f"{what}: rows differ from the local run")
    C.check([key(x) for x in rows] == sorted(key(x) for x in rows), f"{what}: rows out of order")
    C.check(summary_body(os.path.join(tmp, out)) == ref_sum, f"{what}: summary differs")


srv = None
# 1. exactly `concurrency` requests in flight at most, and that many at once
for c in (1, 2, 4, 8):
    ev_path = os.path.join(tmp, f"events_c{c}.jsonl")
    args = ["--gather", str(c), "--events", ev_path, "--sleep", "0.02"]
    if srv:
        srv.restart(*args)
    else:
        srv = FakeServer(tmp, *args)
    r = ev(f"c{c}", "--server", srv.url, "--concurrency", str(c))
    C.check(r.returncode == 0, f"concurrency {c}: {r.stderr}")
    same_as_local(f"c{c}", f"concurrency {c}")
    evs = events(ev_path)
    peak = max(e["inflight"] for e in evs)
    C.check(peak == c, f"concurrency {c}: the server saw up to {peak} requests in flight")
    C.check(len([e for e in evs if e["ev"] == "arrive"]) == N, f"concurrency {c}: one request each")

# 2. a request held until one seven prompts later is answered: the window slides past it
for batch in ("8", None):
    ev_path = os.path.join(tmp, f"events_hold{batch}.jsonl")
    srv.restart("--hold", f"{item(2)}={item(9)}", "--events", ev_path)
    out = f"hold{batch}"
    r = ev(out, "--server", srv.url, "--concurrency", "2", *(["--batch", batch] if batch else []))
    C.check(r.returncode == 0, f"held request, batch {batch}: {r.stderr}")
    same_as_local(out, f"held request, batch {batch}")
    evs = events(ev_path)
    C.check([e["ev"] for e in evs if e["ev"] in ("release", "timeout")] == ["release"],
            f"batch {batch}: the held request was released by the later answer")
    done = answered(evs)
    C.check(all(pos(done, k) < pos(done, 2) for k in range(3, 10)),
            f"batch {batch}: items 3..9 answered before the held item 2")
    C.check(max(e["inflight"] for e in evs) == 2, f"batch {batch}: two in flight at most")

# 3. the window stays within --batch of the first unanswered request: item 10 is not sent
# while item 2 (held until the timeout) is unanswered
ev_path = os.path.join(tmp, "events_bound.jsonl")
srv.restart("--hold", f"{item(2)}={item(10)}", "--hold-timeout", "2", "--events", ev_path)
r = ev("bound", "--server", srv.url, "--concurrency", "2", "--batch", "8")
C.check(r.returncode == 0, f"bounded window: {r.stderr}")
same_as_local("bound", "bounded window")
evs = events(ev_path)
C.check([e["ev"] for e in evs if e["ev"] in ("release", "timeout")] == ["timeout"],
        "item 10 never answered while item 2 was held")
order = [(e["ev"], e["prompt"]) for e in evs if e["ev"] in ("arrive", "answer")]
first_10 = next(k for k, (e, p) in enumerate(order) if e == "arrive" and item(10) in p)
answer_2 = next(k for k, (e, p) in enumerate(order) if e == "answer" and item(2) in p)
C.check(answer_2 < first_10, "item 10 sent only after item 2 was answered")

# 4. SIGKILL with item 2 held and items 3..9 answered: exactly rows 0 and 1 kept; resume
ev_path = os.path.join(tmp, "events_kill.jsonl")
srv.restart("--hold", f"{item(2)}=", "--hold-timeout", "120", "--events", ev_path)
p = subprocess.Popen([SAFEARITH, "eval", "-q", "-o", os.path.join(tmp, "kill"), "--server",
                      srv.url, "--concurrency", "2", "--batch", "8"] + DATA,
                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
deadline = time.monotonic() + 60
while time.monotonic() < deadline:
    done = answered(events(ev_path)) if os.path.exists(ev_path) else []
    if all(any(item(k) in d for d in done) for k in range(3, 10)):
        break
    time.sleep(0.05)
C.check(all(any(item(k) in d for d in done) for k in range(3, 10)),
        f"items 3..9 answered while item 2 is held: {done}")
p.send_signal(signal.SIGKILL)
p.communicate(timeout=30)
with open(os.path.join(tmp, "kill", "responses.jsonl"), "rb") as f:
    text = f.read()
C.check(text.endswith(b"\n"), "no torn row")
rows = read_rows(os.path.join(tmp, "kill"))
C.check(strip_server_fields(rows) == ref[:2], f"rows kept after SIGKILL: {[key(x) for x in rows]}")
srv.restart()
r = ev("kill", "--server", srv.url, "--resume")
C.check(r.returncode == 0, f"resume after SIGKILL: {r.stderr}")
same_as_local("kill", "resumed after SIGKILL")
srv.stop()
C.done()
