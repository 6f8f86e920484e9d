#!/bin/bash
# llamacpp_cpu.sh: decoding at 1 thread, safearith against llama.cpp in CPU seconds per token, for a
# machine so loaded that wall-clock ratios scatter (bench/engine.md). Memory-bound decoding spends
# its CPU time reading the weights, so this ratio is the read speed per CPU-second of each engine.
# usage: bench/llamacpp_cpu.sh BUILD_DIR MODEL_DIR MODEL.gguf [rounds=5]
# Each round runs each engine for 8 and for 40 tokens (user + sys seconds from bash `time`); the
# difference / 32 drops loading, set-up and warm-up. Only at 1 thread: with more, the workers of
# both engines spin while they wait, and that counts as CPU time. LLAMACPP_BIN as in llamacpp_ab.sh.
# Prints one line per round and the medians: ms per token of each, and llama.cpp's / ours.
set -e
here=$(dirname "$0")
. "$here/bench_util.sh"
B=$1 M=$2 G=$3 R=${4:-5}
bin=${LLAMACPP_BIN:-$here/llamacpp/build/bin}
[ -x "$bin/llama-bench" ] || { echo "llamacpp_cpu.sh: run bench/llamacpp/build.sh first" >&2; exit 2; }
TIMEFORMAT='%U %S'
cpu() { { time "$@" >/dev/null 2>&1; } 2>&1 | awk '{print $1 + $2}'; }
ms() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.1f", (b - a) / 32 * 1000}'; }
ours=() theirs=() ratios=()
for _ in $(seq "$R"); do
  s8=$(cpu "$B/safearith" bench --model "$M" -p 0 -n 8 --threads 1 --reps 1 --json)
  s40=$(cpu "$B/safearith" bench --model "$M" -p 0 -n 40 --threads 1 --reps 1 --json)
  l8=$(cpu "$bin/llama-bench" -m "$G" -p 0 -n 8 -t 1 -r 1 --no-warmup)
  l40=$(cpu "$bin/llama-bench" -m "$G" -p 0 -n 40 -t 1 -r 1 --no-warmup)
  o=$(ms "$s8" "$s40") t=$(ms "$l8" "$l40")
  echo "{\"safearith_ms_per_token\": $o, \"llamacpp_ms_per_token\": $t, \"ratio\": $(ratio "$t" "$o")}"
  ours+=("$o") theirs+=("$t") ratios+=("$(ratio "$t" "$o")")
done
echo "{\"rounds\": $R, \"safearith_ms_per_token\": $(med "${ours[@]}"), \"llamacpp_ms_per_token\": $(med "${theirs[@]}"), \"ratio\": $(med "${ratios[@]}")}"
