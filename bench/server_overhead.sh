#!/bin/bash
# server_overhead.sh: the client side alone: `safearith eval --server` against the tests' fake
# OpenAI server (tests/eval/openai_fake.py, no model: every answer costs the same few
# milliseconds), next to curl --parallel sending the same request bodies, alternated.
# usage (under flock /work/.heavy.lock): bench/server_overhead.sh BUILD_DIR [prompts=200] [rounds=3] [concurrency="1 4"]
# Prints per round the wall seconds of each; eval's time is the whole command.
set -e
here=$(cd "$(dirname "$0")" && pwd)
B=$1 N=${2:-200} R=${3:-3} CONC=${4:-"1 4"}
W=$(mktemp -d)
/usr/bin/python3 "$here/../tests/eval/openai_fake.py" --port 0 --portfile "$W/port" >/dev/null 2>&1 &
srv=$!
trap 'kill $srv; rm -rf "$W"' EXIT
while [ ! -f "$W/port" ]; do sleep 0.1; done
url=http://127.0.0.1:$(cat "$W/port")/v1
/usr/bin/python3 - "$W" "$url" "$N" <<'PY'
import json, sys
W, url, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
qs = [f"Question number {i} about things?" for i in range(n)]
json.dump(qs, open(f"{W}/q.json", "w"))
pre = "Only provide answer of the given question and do not provide anything else. "
with open(f"{W}/cfg", "w") as c:
    for k, q in enumerate(qs):
        json.dump({"model": "fake-served", "prompt": pre + q, "max_tokens": 24, "temperature": 0,
                   "seed": 0, "stream": False}, open(f"{W}/r{k}.json", "w"))
        c.write(("next\n" if k else "") + f'url = "{url}/completions"\nsilent\n'
                f'header = "Content-Type: application/json"\ndata = "@{W}/r{k}.json"\n'
                'output = "/dev/null"\n')
PY
for c in $CONC; do for r in $(seq "$R"); do
  rm -rf "$W/run"
  t0=$(date +%s.%N)
  "$B/safearith" eval -q --server "$url" --concurrency "$c" -o "$W/run" --dataset "$W/q.json" \
    --max-new-tokens 24
  t1=$(date +%s.%N)
  curl --parallel --parallel-immediate --parallel-max "$c" -K "$W/cfg" 2>/dev/null
  t2=$(date +%s.%N)
  echo "{\"concurrency\": $c, \"round\": $r, \"prompts\": $N, \"eval_s\": $(echo "$t1 - $t0" | bc), \"client_s\": $(echo "$t2 - $t1" | bc)}"
done; done
