#!/usr/bin/env bash
# fuzz.sh [SECONDS] [TARGET...]: a fuzzing campaign. Builds the libFuzzer targets of fuzz/ with
# clang, AddressSanitizer and UndefinedBehaviorSanitizer in build-fuzz/, then runs each TARGET
# (default: all, e.g. "safetensors tokenize") for SECONDS (default 60) from the seeds of
# fuzz/make_seeds.py plus the corpus kept in build-fuzz/corpus/TARGET from earlier campaigns.
# A crash, leak, hang (> 30 s) or failed invariant stops that target and leaves its reproducer in
# build-fuzz/artifacts/TARGET/; rerun it with build-fuzz/fuzz_TARGET FILE. Exit status: the number
# of targets that found something.
set -uo pipefail
cd "$(dirname "$0")/.."
secs=${1:-60}
shift || true
CC=clang cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSA_SANITIZE=ON -DSA_FUZZ=ON \
  >/dev/null || exit 100
cmake --build build-fuzz -j"$(nproc)" >/dev/null || exit 100
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  for f in fuzz/fuzz_*.c; do t=${f#fuzz/fuzz_}; targets+=("${t%.c}"); done
fi
python3 fuzz/make_seeds.py build-fuzz/seeds
found=0
for t in "${targets[@]}"; do
  mkdir -p "build-fuzz/corpus/$t" "build-fuzz/artifacts/$t"
  echo "fuzz: $t for ${secs}s" >&2
  if ! build-fuzz/"fuzz_$t" -max_total_time="$secs" -timeout=30 -rss_limit_mb=3072 \
      -max_len=65536 -print_final_stats=1 -artifact_prefix="build-fuzz/artifacts/$t/" \
      "build-fuzz/corpus/$t" "build-fuzz/seeds/$t" 2>"build-fuzz/artifacts/$t/log"; then
    echo "fuzz: $t FOUND something: build-fuzz/artifacts/$t/ (log there)" >&2
    found=$((found + 1))
  else
    grep -E "stat::number_of_executed_units|cov:" "build-fuzz/artifacts/$t/log" | tail -2 >&2
  fi
done
exit "$found"
