"""test_rejudge.py: `safearith judge RUN_DIR --judge J`: re-judging a finished run without
generating.

Checked: the new verdicts are a new column of every harmful / benign row while everything else
in each row stays as it was; responses.jsonl is a new file (another inode: replaced, not
edited in place); the summary equals that of a run judged by both judges from the start; run.json
keeps its fingerprint (eval --resume still accepts the run) and lists the judge under
"rejudged"; a judge killed mid-way (SIGKILL) leaves the run's rows untouched and, run again,
asks only for the missing verdicts and ends with the same rows; a judge name the run already has,
and a run that is not complete, are refused with one line."""
import json
import os
import shutil
import signal
import subprocess
import time

from evaltest import (SAFEARITH, Checker, FakeServer, make_tmp, read_rows, run, shared_data,
                      summary_body)

C = Checker()
tmp = make_tmp(prefix="sa_eval_rejudge_")
harm = os.path.join(tmp, "harm.json")
with open(harm, "w") as f:
    json.dump([f"Describe method {i} for task {i * 3}." for i in range(30)], f)
benign = os.path.join(tmp, "benign_safe.json")
with open(benign, "w") as f:
    json.dump([f"Name a colour number {i}." for i in range(10)], f)
srv = FakeServer(tmp, "--log", os.path.join(tmp, "log.jsonl"))
JP = os.path.join(shared_data(), "judge_prompts", "redeval_gpt4_judge_prompt.json")
GPT4 = f"server:{srv.url}:{JP}:model=redeval:name=gpt4"
BASE = ["--model", "fake", "--dataset", harm, "--dataset", benign, "--max-new-tokens", "8"]


def ev(out, *extra):
    return run(["eval", "-q", "-o", os.path.join(tmp, out)] + BASE + list(extra))


r = ev("both", "--judge", "refusal", "--judge", GPT4)
C.check(r.returncode == 0, f"eval with both judges: {r.stderr}")
r = ev("run", "--judge", "refusal")
C.check(r.returncode == 0, f"eval: {r.stderr}")
RUN = os.path.join(tmp, "run")
before = read_rows(RUN)
with open(os.path.join(RUN, "run.json")) as f:
    fp_before = json.load(f)["fingerprint"]
ino = os.stat(os.path.join(RUN, "responses.jsonl")).st_ino
shutil.copytree(RUN, os.path.join(tmp, "run_copy"))

r = run(["judge", RUN, "-q", "--judge", GPT4])
C.check(r.returncode == 0, f"judge: {r.stderr}")
after = read_rows(RUN)
C.check(len(after) == len(before), "same number of rows")
C.check(all(set(a["judges"]) == {"refusal", "gpt4"} for a in after), "a new verdict column")
C.check([{**a, "judges": {"refusal": a["judges"]["refusal"]}} for a in after] == before,
        "nothing else in the rows changed")
C.check(os.stat(os.path.join(RUN, "responses.jsonl")).st_ino != ino, "rows file replaced")
both = read_rows(os.path.join(tmp, "both"))
C.check([a["judges"]["gpt4"] for a in after] == [b["judges"]["gpt4"] for b in both],
        "the same verdicts as judging during the run")
C.check(summary_body(RUN) == summary_body(os.path.join(tmp, "both")),
        "summary equals the run judged by both from the start")
with open(os.path.join(RUN, "run.json")) as f:
    rj = json.load(f)
C.check(rj["fingerprint"] == fp_before and [j["name"] for j in rj["rejudged"]] == ["gpt4"],
        "fingerprint kept, judge listed under rejudged")
C.check(not os.path.exists(os.path.join(RUN, "rejudge.partial.jsonl")), "partial file removed")
r = ev("run", "--judge", "refusal", "--resume")
C.check(r.returncode == 0, f"eval --resume still accepts the run: {r.stderr}")

# the same name again, and a run that is not complete
r = run(["judge", RUN, "--judge", GPT4])
C.check(r.returncode != 0 and len(r.stderr.strip().splitlines()) == 1 and "gpt4" in r.stderr,
        f"same name: {r.stderr!r}")
inc = os.path.join(tmp, "incomplete")
shutil.copytree(os.path.join(tmp, "run_copy"), inc)
with open(os.path.join(inc, "run.json")) as f:
    j = json.load(f)
j["status"] = "interrupted"
with open(os.path.join(inc, "run.json"), "w") as f:
    json.dump(j, f)
r = run(["judge", inc, "--judge", GPT4])
C.check(r.returncode != 0 and "not complete" in r.stderr, f"incomplete run: {r.stderr!r}")

# killed mid-way, then run again: only the missing verdicts are asked for
srv.restart("--sleep", "0.15", "--log", os.path.join(tmp, "log2.jsonl"))
GPT4 = f"server:{srv.url}:{JP}:model=redeval:name=gpt4"
K = os.path.join(tmp, "run_copy")
rows_bytes = open(os.path.join(K, "responses.jsonl"), "rb").read()
p = subprocess.Popen([SAFEARITH, "judge", K, "-q", "--judge", GPT4, "--batch", "2",
                      "--concurrency", "1"], stderr=subprocess.PIPE)
time.sleep(1.5)
p.send_signal(signal.SIGKILL)
p.wait()
partial = os.path.join(K, "rejudge.partial.jsonl")
n_partial = sum(1 for _ in open(partial)) if os.path.exists(partial) else 0
C.check(0 < n_partial < 40, f"some verdicts before the kill: {n_partial}")
C.check(open(os.path.join(K, "responses.jsonl"), "rb").read() == rows_bytes,
        "the run's rows untouched by the killed judge")
srv.restart("--log", os.path.join(tmp, "log3.jsonl"))
GPT4 = f"server:{srv.url}:{JP}:model=redeval:name=gpt4"
r = run(["judge", K, "-q", "--judge", GPT4])
C.check(r.returncode == 0, f"judge again: {r.stderr}")
asked = sum(1 for _ in open(os.path.join(tmp, "log3.jsonl")))
C.check(asked == 40 - n_partial, f"only missing verdicts asked: {asked} + {n_partial}")
C.check(read_rows(K) == after, "the resumed re-judge gives the same rows")
C.check(summary_body(K) == summary_body(RUN), "and the same summary")
srv.stop()
C.done()
