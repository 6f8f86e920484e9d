#!/bin/bash
# engine_bench.sh: the numbers recorded in bench/engine.md (run under `flock /work/.heavy.lock`).
# usage: bench/engine_bench.sh BUILD_DIR MODEL_DIR [reps] [extra bench flags, e.g. --no-mmap]
# Prints the machine's read bandwidth (membw) and FMA throughput (flops), the two rooflines, and
# `safearith bench --json` for prompt processing
# (pp128) and decoding (tg) at 1 and 2 threads, and batched decoding of 16 sequences, each run
# under /usr/bin/time so that CPU time can be set against wall time on a shared machine.
set -e
B=$1 M=$2 R=${3:-3} X=${4:-}
"$B/membw" 1024 1,2 5 | grep '^{'
"$B/flops" 1,2 5 | grep '^{'
for t in 1 2; do
  /usr/bin/time -f "{\"cpu_user_s\": %U, \"wall_s\": %e}" "$B/safearith" bench --model "$M" -p 128 -n 32 --threads $t --reps $R --json $X 2>&1
  /usr/bin/time -f "{\"cpu_user_s\": %U, \"wall_s\": %e}" "$B/safearith" bench --model "$M" -p 0 -n 8 --batch 16 --threads $t --reps $R --json $X 2>&1
done
