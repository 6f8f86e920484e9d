"""test_server_judge.py: a tune study whose judge sits behind an OpenAI-compatible server (the
tests' fake, tests/eval/openai_fake.py, judging in XSTest's classes), generation on the local
engine. Checked: verdicts in the trials' rows are the fake judge's for their responses; the API
key goes to the server and into no file of the study; transient faults (429, 5xx, dropped
connections, malformed answers) are retried and leave the journal equal to a fault-free one; a
judge request that keeps failing stops the trial with one line and a non-zero exit, the journal
keeping only the finished trials, and --resume then continues to the fault-free journal; the
server settings are part of the fingerprint; generation through a server, a judge URL with
credentials, a server section without a server judge and a judge that does not say refused /
complied are refused in one line, before any study directory exists."""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tunetest  # noqa: E402
from checks import Checker  # noqa: E402
from scratch import make_tmp  # noqa: E402

sys.path.insert(0, os.path.join(tunetest.SRC, "tests", "eval"))
from evaltest import FakeServer, shared_data  # noqa: E402

c = Checker()
tmp = make_tmp("sa-tune-server-")
KEY = "sk-tune-test-5c1e7"
LOG = os.path.join(tmp, "requests.jsonl")
BASE_ARGS = ["--comply-text", "Here is", "--require-key", KEY, "--log", LOG]
srv = FakeServer(tmp, *BASE_ARGS)
PROMPT = os.path.join(shared_data(), "judge_prompts", "xstest_gpt4_classifier_prompt.json")
JUDGE = f"server:{srv.url}:{PROMPT}:model=xstest:name=srv"
KEYWORDS = f"refusal:{tunetest.MODELS}/eval/judge_keywords.txt:name=keywords"


def recipe(name, judge=JUDGE, server="server:\n  retries: 1\n  timeout_s: 5\n", trials=4):
    text = tunetest.recipe_text(tmp, trials=trials).replace(f"  judge: {KEYWORDS}", f"  judge: {judge}")
    return tunetest.write(os.path.join(tmp, name + ".yml"), text + server)


def tune(args, key=KEY):
    env = dict(os.environ)
    env.pop("OPENAI_API_KEY", None)
    env.pop("SAFEARITH_API_KEY", None)
    if key:
        env["SAFEARITH_API_KEY"] = key
    return tunetest.run(["tune"] + args + ["--threads", "2"], check=False, env=env)


def journal(study):
    path = os.path.join(study, "trials.jsonl")
    return tunetest.read_jsonl(path) if os.path.exists(path) else []


def one_line_failure(p, what, needles):
    err = p.stderr.strip()
    c.check(p.returncode != 0 and len(err.splitlines()) == 1, f"{what}: exit {p.returncode}, {err!r}")
    for n in needles:
        c.check(n in err, f"{what}: {n!r} not in {err!r}")


# a fault-free study: the reference journal
r = recipe("r")
whole = os.path.join(tmp, "whole")
p = tune([r, "-o", whole])
c.check(p.returncode == 0, f"fault-free study: {p.stderr}")
want = journal(whole)
c.check([t["trial"] for t in want] == list(range(4)), f"journal numbers {[t['trial'] for t in want]}")
sys.path.insert(0, os.path.join(tunetest.SRC, "tests", "eval"))
from openai_fake import verdict_for  # noqa: E402
rows = tunetest.read_jsonl(os.path.join(whole, "runs", "trial-0000", "responses.jsonl"))
judged = [row for row in rows if row["kind"] in ("harmful", "benign")]
c.check(len(judged) > 10 and all("srv" in row["judges"] for row in judged), "rows without the server judge")
for row in judged:
    flag = row["judges"]["srv"]["flag"]
    c.check(flag == -1 or flag == int("Here is" in row["response"]),
            f"verdict {flag} for response {row['response']!r}")
c.check(any(row["judges"]["srv"]["flag"] == 1 for row in judged) and
        any(row["judges"]["srv"]["flag"] == 0 for row in judged), "the fake judge's verdicts do not vary")
with open(LOG) as f:
    reqs = [json.loads(line) for line in f]
c.check(reqs and all(q["auth"] == "Bearer " + KEY for q in reqs), "a request without the API key")
c.check(all(q["body"]["model"] == "xstest" for q in reqs), "a request not to the judge model")
for root, _, files in os.walk(whole):
    for name in files:
        with open(os.path.join(root, name), "rb") as f:
            c.check(KEY.encode() not in f.read(), f"the API key is in {os.path.join(root, name)}")
with open(os.path.join(whole, "study.json")) as f:
    canon = json.load(f)["recipe"]
c.check(canon["server"] == {"retries": 1, "timeout_s": 5, "concurrency": 4, "insecure": False},
        f"canonical server settings: {canon['server']}")

# no key: the server's 401, one line
p = tune([r, "-o", os.path.join(tmp, "nokey")], key=None)
one_line_failure(p, "no API key", ["401", "invalid api key"])

# transient faults: retried, the same journal
srv.restart(*BASE_ARGS, "--faults", "429,500,503,drop,malformed,empty,ctype")
faulty = os.path.join(tmp, "faulty")
p = tune([recipe("faults", server="server:\n  retries: 6\n  timeout_s: 5\n"), "-o", faulty])
c.check(p.returncode == 0, f"study with transient faults: {p.stderr}")
c.check(journal(faulty) == want, "transient faults changed the journal")

# a judge request that keeps failing: trial 2 stops, trials 0 and 1 stay, --resume continues
srv.restart(*BASE_ARGS)
part = os.path.join(tmp, "part")
p = tune([r, "-o", part, "--trials", "2"])
c.check(p.returncode == 0 and journal(part) == want[:2], f"two-trial study: {p.stderr}")
question = next(row["question"] for row in judged if row["kind"] == "harmful")
srv.restart(*BASE_ARGS, "--always-fail", question)
p = tune([r, "-o", part, "--resume"])
one_line_failure(p, "failing judge", ["overloaded"])
c.check(journal(part) == want[:2], f"journal after the failed trial: {[t['trial'] for t in journal(part)]}")
c.check(not os.path.exists(os.path.join(part, "work")), "the failed trial's model was left in work/")
srv.restart(*BASE_ARGS)
p = tune([r, "-o", part, "--resume"])
c.check(p.returncode == 0 and journal(part) == want, f"resume after the failed trial: {p.stderr}")

# the server settings are fingerprinted
p = tune([recipe("retries", server="server:\n  retries: 2\n  timeout_s: 5\n"), "-o", part, "--resume"])
one_line_failure(p, "resume with other server settings", ["another recipe"])
other_url = JUDGE.replace("127.0.0.1", "localhost")
p = tune([recipe("url", judge=other_url), "-o", part, "--resume"])
one_line_failure(p, "resume with another judge URL", ["another recipe"])


def refused(name, needles, **kw):
    out = os.path.join(tmp, name + "-out")
    one_line_failure(tune([recipe(name, **kw), "-o", out]), name, needles)
    c.check(not os.path.exists(out), f"{name}: {out} was created")


refused("generation", ["server.url", "top_k", "one fixed model"],
        server=f"server:\n  url: {srv.url}\n")
refused("credentials", ["eval.judge", "SAFEARITH_API_KEY"],
        judge=JUDGE.replace("http://", f"http://me:{KEY}@"))
refused("query", ["eval.judge", "query"], judge=JUDGE.replace("/v1:", f"/v1?key={KEY}:"))
refused("unused", ["server", "no server back end"], judge=KEYWORDS)
refused("bad-retries", ["server.retries"], server="server:\n  retries: -1\n")
refused("harm-judge", ["eval.judge", "refused / complied"],
        judge=JUDGE.replace("xstest_gpt4_classifier_prompt", "harmbench_llama2_cls_prompt"))
refused("no-prompt", ["eval.judge", "missing.json"], judge=JUDGE.replace(PROMPT, PROMPT + ".missing.json"))
c.done()
