#!/bin/bash
# server_bench.sh: prompts/s of `safearith eval --server` against llama-server --parallel 4,
# next to a plain client loop sending the same requests (curl --parallel: libcurl, no
# evaluation), alternated in one invocation so the ratio holds on a machine whose speed drifts.
# usage (under flock /work/.heavy.lock): bench/server_bench.sh BUILD_DIR MODEL.gguf [rounds=3] [prompts=160] [concurrency="1 2 4 8"]
#   MODEL.gguf: e.g. `safearith export-gguf models/sft -o sft.gguf`; llama.cpp from
#   scripts/llamacpp.sh. The prompts are the organisms' held-out advbench and benign splits with
#   the paper's raw prefix (POST /v1/completions, max_tokens 24, greedy), the bodies written
#   exactly as eval sends them. eval's time is the whole command (start, /models, run directory,
#   fdatasync per batch, summary); the client loop's is curl's. Each round runs eval, the
#   client, the client, eval (A B B A) and takes the ratio of the two pairs' rates; per
#   concurrency one JSON line per round, then the medians of the rates and of the round ratios.
set -e
here=$(cd "$(dirname "$0")" && pwd)
. "$here/bench_util.sh"
B=$1 G=$2 R=${3:-3} N=${4:-160} CONC=${5:-"1 2 4 8"}
bin=$("$here/../scripts/llamacpp.sh")
E=$here/../models/eval
work=$(mktemp -d)
trap 'kill $srv 2>/dev/null; rm -rf "$work"' EXIT
port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$bin/llama-server" -m "$G" --host 127.0.0.1 --port "$port" --parallel 4 -c 512 -t 2 \
  >"$work/server.log" 2>&1 &
srv=$!
until curl -sf "http://127.0.0.1:$port/health" >/dev/null; do sleep 0.2; done
url=http://127.0.0.1:$port/v1
model=$(curl -s "$url/models" | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["data"][0]["id"])')
half=$((N / 2))
# the datasets eval reads, and the request bodies eval sends for them, in the same order
head -n "$half" "$E/advbench.jsonl" >"$work/advbench.jsonl"
head -n "$half" "$E/benign.jsonl" >"$work/benign.jsonl"
/usr/bin/python3 - "$work" "$model" "$url" <<'EOF'
import json, sys
work, model, url = sys.argv[1:4]
pre = "Only provide answer of the given question and do not provide anything else. "
with open(f"{work}/curl.cfg", "w") as cfg:
    k = 0
    for name in ("advbench", "benign"):
        for line in open(f"{work}/{name}.jsonl"):
            o = json.loads(line)
            q = next(o[k] for k in ("question", "instruction", "prompt", "goal") if k in o)
            body = {"model": model, "prompt": pre + q, "max_tokens": 24, "temperature": 0,
                    "seed": 0, "stream": False}
            with open(f"{work}/req{k}.json", "w") as f:
                json.dump(body, f, separators=(",", ":"))
            cfg.write(("next\n" if k else "") + f'url = "{url}/completions"\nsilent\nfail\n'
                      f'header = "Content-Type: application/json"\n'
                      f'data = "@{work}/req{k}.json"\noutput = "{work}/out{k}.json"\n')
            k += 1
EOF
now() { date +%s.%N; }
eval_run() {
  rm -rf "$work/run"
  local t0 t1
  t0=$(now)
  "$B/safearith" eval -q --server "$url" --concurrency "$1" -o "$work/run" --max-new-tokens 24 \
    --dataset "$work/advbench.jsonl" --dataset "$work/benign.jsonl" >/dev/null ||
    { echo "server_bench.sh: eval failed" >&2; exit 1; }
  t1=$(now)
  [ "$(wc -l <"$work/run/responses.jsonl")" = "$N" ] || { echo "server_bench.sh: eval rows" >&2; exit 1; }
  awk -v n="$N" -v a="$t0" -v b="$t1" 'BEGIN {printf "%.3f", n / (b - a)}'
}
client_run() {
  local t0 t1
  t0=$(now)
  rm -f "$work"/out*.json
  curl --parallel --parallel-immediate --parallel-max "$1" -K "$work/curl.cfg" ||
    { echo "server_bench.sh: curl failed" >&2; exit 1; }
  t1=$(now)
  [ "$(grep -l '"choices"' "$work"/out*.json | wc -l)" = "$N" ] ||
    { echo "server_bench.sh: client answers" >&2; exit 1; }
  awk -v n="$N" -v a="$t0" -v b="$t1" 'BEGIN {printf "%.3f", n / (b - a)}'
}
eval_run 4 >/dev/null || exit 1 # warm-up (the server's first requests)
for c in $CONC; do
  ours=() theirs=() ratios=()
  for r in $(seq "$R"); do # A B B A: each round's ratio sees the same drift on both sides
    a1=$(eval_run "$c") && b1=$(client_run "$c") && b2=$(client_run "$c") &&
      a2=$(eval_run "$c") || exit 1
    a=$(awk -v x="$a1" -v y="$a2" 'BEGIN {printf "%.3f", 2 / (1 / x + 1 / y)}')
    b=$(awk -v x="$b1" -v y="$b2" 'BEGIN {printf "%.3f", 2 / (1 / x + 1 / y)}')
    echo "{\"concurrency\": $c, \"round\": $r, \"eval_prompts_s\": [$a1, $a2], \"client_prompts_s\": [$b1, $b2], \"ratio\": $(ratio "$a" "$b")}"
    ours+=("$a") theirs+=("$b") ratios+=("$(ratio "$a" "$b")")
  done
  mo=$(med "${ours[@]}") mt=$(med "${theirs[@]}")
  echo "{\"concurrency\": $c, \"prompts\": $N, \"rounds\": $R, \"eval_prompts_s\": $mo, \"client_prompts_s\": $mt, \"median_round_ratio\": $(med "${ratios[@]}")}"
done
