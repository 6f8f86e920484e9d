#!/bin/bash
# llamacpp_ab.sh: safearith against llama.cpp on the same weights, alternated in one invocation,
# so that the ratio holds on a machine whose speed drifts (bench/engine.md).
# usage: bench/llamacpp_ab.sh BUILD_DIR MODEL_DIR MODEL.gguf [rounds=3] [threads=2] [what=pp]
#   what: pp, tg or b16 (bench_util.sh). MODEL.gguf holds MODEL_DIR's weights in the same dtype:
#   /usr/bin/python3 bench/make_gguf.py MODEL_DIR MODEL.gguf
# llama.cpp is built once with bench/llamacpp/build.sh, or by scripts/llamacpp.sh into
# ~/.cache/safearith (LLAMACPP_BIN=the bin dir it prints). SA_ARGS (environment) adds flags to
# safearith's side, e.g. SA_ARGS="--precision bf16". Each round runs each engine once: ours
# reports the median of 3 repetitions, llama-bench the mean of 3 (its only statistic);
# llama-batched-bench (for b16: 16 sequences, a one-token start each, then 8 steps) measures once.
# Prints one JSON line per run and, at the end, the median tokens/s of each and their ratio.
set -e
here=$(dirname "$0")
. "$here/bench_util.sh"
B=$1 M=$2 G=$3 R=${4:-3} T=${5:-2} W=${6:-pp}
bench_what "$W" || { echo "llamacpp_ab.sh: unknown measurement '$W' (pp, tg or b16)" >&2; exit 2; }
bin=${LLAMACPP_BIN:-$here/llamacpp/build/bin}
[ -x "$bin/llama-bench" ] || { echo "llamacpp_ab.sh: run bench/llamacpp/build.sh first" >&2; exit 2; }
llama() {
  case $W in
    pp) "$bin/llama-bench" -m "$G" -p 128 -n 0 -t "$T" -r 3 -o jsonl 2>/dev/null ;;
    tg) "$bin/llama-bench" -m "$G" -p 0 -n 32 -t "$T" -r 3 -o jsonl 2>/dev/null ;;
    b16) "$bin/llama-batched-bench" -m "$G" -c 1024 -npp 1 -ntg 8 -npl 16 -t "$T" -tb "$T" \
      --output-format jsonl 2>/dev/null | grep '"speed_tg"' ;;
  esac
}
llama_key=avg_ts
[ "$W" = b16 ] && llama_key=speed_tg
ours=() theirs=()
for _ in $(seq "$R"); do
  # shellcheck disable=SC2086  # the extra flags are meant to split
  line=$("$B/safearith" bench --model "$M" "${args[@]}" --threads "$T" --reps 3 --json ${SA_ARGS:-})
  echo "$line"
  ours+=("$(json_num "$key" "$line")")
  line=$(llama)
  echo "$line"
  theirs+=("$(json_num "$llama_key" "$line")")
done
mo=$(med "${ours[@]}") mt=$(med "${theirs[@]}")
echo "{\"what\": \"$W\", \"threads\": $T, \"rounds\": $R, \"safearith_tok_s\": $mo, \"llamacpp_tok_s\": $mt, \"ratio\": $(ratio "$mo" "$mt")}"
