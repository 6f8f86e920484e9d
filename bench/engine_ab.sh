#!/bin/bash
# engine_ab.sh: one measurement of two builds of safearith, alternated in one invocation, so that
# the ratio holds on a machine whose speed drifts (the shared VM of bench/engine.md).
# usage: bench/engine_ab.sh NEW_BUILD_DIR OLD_BUILD_DIR MODEL_DIR [rounds=3] [threads=2] [what=pp]
#   what: pp (prompt processing, 128 tokens), tg (decoding, 32 tokens) or b16 (decoding 16
#   sequences at once, 8 tokens each)
# NEW_ARGS and OLD_ARGS (environment) add flags to one side, e.g. NEW_ARGS=--no-mmap with the same
# build on both sides compares reading the weights into memory with mapping them.
# Prints one JSON line per run and, at the end, the median tokens/s of each build and their ratio.
set -e
. "$(dirname "$0")/bench_util.sh"
N=$1 O=$2 M=$3 R=${4:-3} T=${5:-2} W=${6:-pp}
bench_what "$W" || { echo "engine_ab.sh: unknown measurement '$W' (pp, tg or b16)" >&2; exit 2; }
new=() old=()
for _ in $(seq "$R"); do
  for side in new old; do
    [ $side = new ] && b=$N || b=$O
    [ $side = new ] && extra=${NEW_ARGS:-} || extra=${OLD_ARGS:-}
    # shellcheck disable=SC2086  # the extra flags are meant to split
    line=$("$b/safearith" bench --model "$M" "${args[@]}" --threads "$T" --reps 1 --json $extra)
    echo "$line"
    v=$(json_num "$key" "$line")
    if [ $side = new ]; then new+=("$v"); else old+=("$v"); fi
  done
done
mn=$(med "${new[@]}") mo=$(med "${old[@]}")
echo "{\"what\": \"$W\", \"threads\": $T, \"rounds\": $R, \"new_tok_s\": $mn, \"old_tok_s\": $mo, \"ratio\": $(ratio "$mn" "$mo")}"
