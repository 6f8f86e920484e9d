#!/bin/bash
# engine_ab.sh: prompt processing (pp128) of two builds of safearith, alternated in one invocation,
# so that the ratio holds on a machine whose speed drifts (the shared VM of bench/engine.md).
# usage: bench/engine_ab.sh NEW_BUILD_DIR OLD_BUILD_DIR MODEL_DIR [rounds=3] [threads=2]
# Prints one JSON line per run and, at the end, the median prompt tokens/s of each build and their
# ratio.
set -e
N=$1 O=$2 M=$3 R=${4:-3} T=${5:-2}
new=() old=()
for i in $(seq "$R"); do
  for b in "$N" "$O"; do
    line=$("$b/safearith" bench --model "$M" -p 128 -n 1 --threads "$T" --reps 1 --json)
    echo "$line"
    v=$(echo "$line" | sed 's/.*"prompt_tokens_per_s": \([0-9.]*\).*/\1/')
    if [ "$b" = "$N" ]; then new+=("$v"); else old+=("$v"); fi
  done
done
med() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
mn=$(med "${new[@]}") mo=$(med "${old[@]}")
echo "{\"threads\": $T, \"rounds\": $R, \"new_pp128_tok_s\": $mn, \"old_pp128_tok_s\": $mo, \"ratio\": $(awk -v a="$mn" -v b="$mo" 'BEGIN {printf "%.2f", a / b}')}"
