#!/bin/bash
# engine_roofline.sh: decoding speed as a fraction of the memory-bandwidth roofline, with the
# bandwidth measured right before each decoding run (the shared VM of bench/engine.md drifts by
# up to 1.5x between minutes, so a roofline taken minutes apart says little).
# usage: bench/engine_roofline.sh BUILD_DIR MODEL_DIR [rounds=5] [threads=2] [extra bench flags]
# Each round: membw (1 GiB, 3 repetitions, the faster of its two read patterns) at THREADS, then
# `safearith bench -p 0 -n 32` once; fraction = tokens/s x bytes per token / bandwidth. Prints
# one JSON line per round and, at the end, the medians.
set -e
. "$(dirname "$0")/bench_util.sh"
B=$1 M=$2 R=${3:-5} T=${4:-2} X=${5:-}
fr=() bw=() tps=()
for i in $(seq "$R"); do
  g=$(json_num read_gb_per_s "$("$B/membw" 1024 "$T" 3 | grep '^{')")
  # shellcheck disable=SC2086  # the extra flags are meant to split
  line=$("$B/safearith" bench --model "$M" -p 0 -n 32 --threads "$T" --reps 1 --json $X)
  t=$(json_num gen_tokens_per_s "$line")
  b=$(json_num bytes_per_token "$line")
  f=$(awk -v t="$t" -v b="$b" -v g="$g" 'BEGIN {printf "%.3f", t * b / 1e9 / g}')
  echo "{\"round\": $i, \"read_gb_per_s\": $g, \"gen_tokens_per_s\": $t, \"fraction\": $f}"
  fr+=("$f") bw+=("$g") tps+=("$t")
done
echo "{\"model\": \"$M\", \"threads\": $T, \"flags\": \"$X\", \"rounds\": $R, \"median_read_gb_per_s\": $(med "${bw[@]}"), \"median_gen_tokens_per_s\": $(med "${tps[@]}"), \"median_fraction\": $(med "${fr[@]}")}"
