"""test_stop.py: `eval --stop STR` (repeatable).

- The local engine (the sft organism, chat prompting, greedy): each response is the response
  without stop strings cut before the earliest occurrence of any of them (and left whole when
  none occurs); some rows are cut by each string.
- Through the fake OpenAI server (openai_fake.py): every /completions and /chat/completions
  request body carries "stop": [the strings, in order]; the rows equal the local stand-in's
  (--model fake) with the same strings; without --stop no request has a "stop" field.
- run.json's settings.decoding.stop records the strings, and so the --resume fingerprint covers
  them: the same strings resume, others (or none) are refused naming decoding.stop.
- An empty --stop is refused with one line, nothing written."""
import json
import os

from evaltest import SAFEARITH, Checker, FakeServer, make_tmp, read_rows, run, strip_server_fields

SRC = os.environ.get("SA_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
E = os.path.join(SRC, "models", "eval")
C = Checker()
tmp = make_tmp(prefix="sa_eval_stop_")
STOPS = ["Here is", "cannot", "here is"]


def ev(out, *extra):
    out = os.path.join(tmp, out)
    r = run(["eval", "-q", "-o", out, "--max-new-tokens", "24", "--limit", "8", "--threads", "2",
             "--dataset", os.path.join(E, "benign.jsonl"),
             "--dataset", os.path.join(E, "advbench.jsonl")] + list(extra))
    return r, out


def stops(*strs):
    return [a for s in strs for a in ("--stop", s)]


def cut(text, strs):
    hits = [text.find(s) for s in strs if s in text]
    return text[:min(hits)] if hits else text


# the local engine
sft = ["--model", os.path.join(SRC, "models", "sft"), "--prompt", "chat"]
r, full = ev("engine_full", *sft)
C.check(r.returncode == 0, "engine without --stop: " + r.stderr)
r, stopped = ev("engine_stop", *sft, *stops(*STOPS))
C.check(r.returncode == 0, "engine with --stop: " + r.stderr)
F, S = read_rows(full), read_rows(stopped)
C.check(len(F) == len(S) == 16, "16 rows each")
C.check([cut(a["response"], STOPS) for a in F] == [b["response"] for b in S],
        "the engine's responses are the full ones cut before the first stop string")
for s in STOPS[:2]:
    C.check(any(s in a["response"] and cut(a["response"], STOPS) == a["response"][:a["response"].find(s)]
                for a in F), "some response is cut at %r" % s)
C.check(any(b["response"] != a["response"] for a, b in zip(F, S)), "some response is shorter")
st = json.load(open(os.path.join(stopped, "run.json")))["settings"]
C.check(st["decoding"].get("stop") == STOPS, "run.json records the stop strings: %s" % st["decoding"])
C.check("stop" not in json.load(open(os.path.join(full, "run.json")))["settings"]["decoding"],
        "no stop field without --stop")

# resume: the same strings continue, others are refused
r, _ = ev("engine_stop", *sft, *stops(*STOPS), "--resume")
C.check(r.returncode == 0, "--resume with the same stop strings: " + r.stderr)
for other in (stops(*STOPS[:2]), stops(*STOPS[::-1]), []):
    r, _ = ev("engine_stop", *sft, *other, "--resume")
    C.check(r.returncode != 0 and "settings.decoding" in r.stderr and "different settings" in r.stderr,
            "--resume with stop strings %s refused: %s" % (other, r.stderr.strip()))

# the fake server sees the stop list; rows equal the local stand-in's
log = os.path.join(tmp, "requests.jsonl")
srv = FakeServer(tmp, "--log", log)
for mode in ("raw", "chat"):
    r, local = ev("fake_" + mode, "--model", "fake", "--prompt", mode, *stops(*STOPS))
    C.check(r.returncode == 0, "fake %s: %s" % (mode, r.stderr))
    r, served = ev("srv_" + mode, "--server", srv.url, "--prompt", mode, *stops(*STOPS))
    C.check(r.returncode == 0, "server %s: %s" % (mode, r.stderr))
    L, R = read_rows(local), strip_server_fields(read_rows(served))
    C.check(L == R and L, "%s: rows through the server equal the local stand-in's with --stop" % mode)
    r, whole = ev("fake_whole_" + mode, "--model", "fake", "--prompt", mode)
    W = read_rows(whole)
    C.check([cut(x["response"], STOPS) for x in W] == [x["response"] for x in L] and
            any(cut(x["response"], STOPS) != x["response"] for x in W),
            "%s: the stand-in's responses are cut before the first stop string" % mode)
reqs = [json.loads(x) for x in open(log)]
gen = [q for q in reqs if q["path"].endswith("completions")]
C.check(gen and all(q["body"].get("stop") == STOPS for q in gen),
        "every completion request carries \"stop\": %s (%d requests)" % (STOPS, len(gen)))
C.check(all(not any(s in x["response"] for s in STOPS) for x in read_rows(os.path.join(tmp, "srv_raw"))),
        "no served response holds a stop string")
os.remove(log)
r, _ = ev("srv_nostop", "--server", srv.url)
C.check(r.returncode == 0 and all("stop" not in json.loads(x)["body"] for x in open(log)
                                  if json.loads(x)["path"].endswith("completions")),
        "without --stop no request has a stop field")

# an empty stop string
r, out = ev("empty", "--model", "fake", "--stop", "")
C.check(r.returncode != 0 and len(r.stderr.strip().splitlines()) == 1 and "--stop" in r.stderr
        and not os.path.exists(out), "an empty --stop is refused: " + r.stderr.strip())
C.done()
