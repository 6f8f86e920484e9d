"""test_cli_input.py: `safearith tokenize --input` and `detokenize --input` on bad lines: each
ends with one line on stderr naming the line and what is wrong, exit status 1 and nothing on
stdout (the good lines before it are not printed either), where a fractional id or a non-boolean
flag was once taken silently; the same files without the bad line succeed."""
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
from checks import check, done  # noqa: E402
from scratch import make_tmp  # noqa: E402

SAFEARITH = os.environ["SAFEARITH"]
MODEL = os.path.join(os.environ["SA_SOURCE_DIR"], "models", "base")
tmp = make_tmp(prefix="sa_tok_cli_")
GOOD = {"detokenize": '{"ids": [5, 6], "skip_special": true}', "tokenize": '{"text": "hi"}'}


def run(cmd, bad_line):
    path = os.path.join(tmp, "in.jsonl")
    with open(path, "w") as f:
        f.write(GOOD[cmd] + "\n" + (bad_line + "\n" if bad_line is not None else ""))
    return subprocess.run([SAFEARITH, cmd, "--model", MODEL, "--input", path],
                          capture_output=True, text=True)


cases = [
    ("detokenize", "not json", "line 2: not valid JSON"),
    ("detokenize", '{"text": "a"}', 'line 2: needs an "ids" list'),
    ("detokenize", '{"ids": [1.5]}', "line 2: ids must be non-negative integers"),
    ("detokenize", '{"ids": [-5]}', "line 2: ids must be non-negative integers"),
    ("detokenize", '{"ids": ["7"]}', "line 2: ids must be non-negative integers"),
    ("detokenize", '{"ids": [1e30]}', "line 2: ids must be non-negative integers"),
    ("detokenize", '{"ids": [1], "skip_special": 3}',
     'line 2: "skip_special" and "cleanup" must be true or false'),
    ("detokenize", '{"ids": [1], "cleanup": "no"}',
     'line 2: "skip_special" and "cleanup" must be true or false'),
    ("tokenize", "not json", "line 2: not valid JSON"),
    ("tokenize", '{"text": "a", "add_special": "yes"}',
     'line 2: "add_special" and "parse_special" must be true or false'),
    ("tokenize", '{"text": "a", "parse_special": 1}',
     'line 2: "add_special" and "parse_special" must be true or false'),
]
for cmd, line, why in cases:
    r = run(cmd, line)
    err = r.stderr.strip().splitlines()
    check(r.returncode == 1 and len(err) == 1 and why in err[0] and r.stdout == "",
          f"{cmd} with {line!r}: rc {r.returncode}, stdout {r.stdout!r}, stderr {r.stderr!r}")
for cmd in GOOD:
    r = run(cmd, None)
    check(r.returncode == 0 and len(r.stdout.splitlines()) == 1 and r.stderr == "",
          f"{cmd} without the bad line: rc {r.returncode}, {r.stderr!r}")
    out = json.loads(r.stdout)
    check(("text" in out) if cmd == "detokenize" else ("ids" in out), f"{cmd} output {out}")
done()
