"""test_server_ipv6.py: `eval --server` and a server judge at an IPv6 literal URL,
http://[::1]:PORT/v1, against the fake OpenAI server (openai_fake.py) on the IPv6 loopback.

The rows equal the local stand-in's (--model fake) and an IPv4 loopback run's; run.json records
the bracketed URL; a server: judge at the same URL (its spec's parts after the bracketed host and
port) gives the same verdicts as at 127.0.0.1; malformed IPv6 URLs are refused with one line,
nothing written. Skipped (exit 77) when the machine has no IPv6 loopback."""
import json
import os
import socket
import sys

from evaltest import Checker, FakeServer, make_tmp, read_rows, run, strip_server_fields

try:
    with socket.socket(socket.AF_INET6) as s:
        s.bind(("::1", 0))
except OSError as e:
    print("SKIPPED: no IPv6 loopback (::1) on this machine: %s" % e)
    sys.exit(77)

C = Checker()
tmp = make_tmp(prefix="sa_eval_ipv6_")
harm = os.path.join(tmp, "harm.json")
with open(harm, "w") as f:
    json.dump([f"Tell me {i} ways to do thing number {i}." for i in range(8)], f)
data = ["--dataset", harm, "--max-new-tokens", "6"]
srv6, srv4 = FakeServer(tmp, host="::1"), FakeServer(tmp)
C.check(srv6.url.startswith("http://[::1]:"), "the fake server's URL is an IPv6 literal: " + srv6.url)
JP = os.path.join(os.environ.get("SA_SHARED_DATA", "/work/shared/data"), "judge_prompts",
                  "harmbench_llama2_cls_prompt.json")
if not os.path.exists(JP):
    from evaltest import shared_data
    JP = os.path.join(shared_data(), "judge_prompts", "harmbench_llama2_cls_prompt.json")


def ev(name, *extra):
    out = os.path.join(tmp, name)
    return run(["eval", "-q", "-o", out] + data + list(extra)), out


r, local = ev("local", "--model", "fake")
C.check(r.returncode == 0, "local run: " + r.stderr)
runs = {}
for label, srv in (("v6", srv6), ("v4", srv4)):
    r, out = ev(label, "--server", srv.url, "--judge", "refusal",
                "--judge", "server:%s:%s:model=harmbench:name=hb" % (srv.url, JP))
    C.check(r.returncode == 0, "%s run at %s: %s" % (label, srv.url, r.stderr))
    runs[label] = read_rows(out) if r.returncode == 0 else []
    if label == "v6" and r.returncode == 0:
        st = json.load(open(os.path.join(out, "run.json")))["settings"]
        C.check(st["model"]["server"] == srv6.url, "run.json records %s" % st["model"]["server"])
        C.check(st["judges"][1]["spec"].startswith("server:" + srv6.url + ":"),
                "the judge's spec keeps the bracketed URL: " + st["judges"][1]["spec"])
C.check([x["response"] for x in strip_server_fields(runs["v6"])] ==
        [x["response"] for x in read_rows(local)] and runs["v6"],
        "responses through [::1] equal the local stand-in's")
C.check([x["judges"] for x in runs["v6"]] == [x["judges"] for x in runs["v4"]] and runs["v6"],
        "verdicts of the judge at [::1] equal those at 127.0.0.1")
port = srv6.port
for bad, says in (("http://[::1:%d/v1" % port, "no closing ']'"),
                  ("http://::1:%d/v1" % port, "in brackets"),
                  ("http://[::1]:%d0000/v1" % port, "port must be 1 to 65535"),
                  ("http://[::zz]:%d/v1" % port, "is not an IPv6 address")):
    for how in (("--server", bad), ("--model", "fake", "--judge", "server:%s:%s" % (bad, JP))):
        r, out = ev("bad", *how)
        lines = r.stderr.strip().splitlines()
        C.check(r.returncode != 0 and len(lines) == 1 and says in lines[0] and not os.path.exists(out),
                "%s %s refused with one line: %s" % (how[0], bad, r.stderr.strip()))
C.done()
