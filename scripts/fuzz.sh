#!/usr/bin/env bash
# fuzz.sh [SECONDS] [TARGET...]: a fuzzing campaign. Builds the libFuzzer targets of fuzz/ with
# clang, AddressSanitizer and UndefinedBehaviorSanitizer in build-fuzz/, then runs each TARGET
# (default: all, e.g. "safetensors tokenize") for SECONDS (default 60), one after the other, from
# the seeds of fuzz/make_seeds.py plus the corpus kept between campaigns in the cache directory
# ($SA_FUZZ_CACHE, default ~/.cache/safearith/fuzz): CACHE/corpus/TARGET grows from run to run,
# and CACHE/campaigns.tsv gets one line per run (date, commit, target, seconds, executions,
# libFuzzer's cov and ft, result), which scripts/fuzz_totals.sh sums per target.
# A crash, leak, hang (> 30 s) or failed invariant stops that target and leaves its reproducer in
# build-fuzz/artifacts/TARGET/; rerun it with build-fuzz/fuzz_TARGET FILE.
# SA_FUZZ_JOBS (default: nproc) bounds the build's parallelism; the fuzzing itself is one process.
# Exit status: the number of targets that found something.
set -uo pipefail
cd "$(dirname "$0")/.."
secs=${1:-60}
shift || true
cache=${SA_FUZZ_CACHE:-$HOME/.cache/safearith/fuzz}
CC=clang cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSA_SANITIZE=ON -DSA_FUZZ=ON \
  >/dev/null || exit 100
cmake --build build-fuzz -j"${SA_FUZZ_JOBS:-$(nproc)}" >/dev/null || exit 100
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  for f in fuzz/fuzz_*.c; do t=${f#fuzz/fuzz_}; targets+=("${t%.c}"); done
fi
python3 fuzz/make_seeds.py build-fuzz/seeds
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
mkdir -p "$cache"
found=0
for t in "${targets[@]}"; do
  mkdir -p "$cache/corpus/$t" "build-fuzz/artifacts/$t"
  log="build-fuzz/artifacts/$t/log"
  echo "fuzz: $t for ${secs}s (corpus $cache/corpus/$t)" >&2
  result=clean
  if ! build-fuzz/"fuzz_$t" -max_total_time="$secs" -timeout=30 -rss_limit_mb=3072 \
      -max_len=65536 -print_final_stats=1 -artifact_prefix="build-fuzz/artifacts/$t/" \
      "$cache/corpus/$t" "build-fuzz/seeds/$t" 2>"$log"; then
    echo "fuzz: $t FOUND something: build-fuzz/artifacts/$t/ (log there)" >&2
    found=$((found + 1))
    result=finding
  fi
  execs=$(grep -oE "stat::number_of_executed_units: [0-9]+" "$log" | grep -oE "[0-9]+$" | tail -1)
  last=$(grep -E "^#[0-9]+.*cov: [0-9]+" "$log" | tail -1)
  cov=$(grep -oE "cov: [0-9]+" <<<"$last" | grep -oE "[0-9]+")
  ft=$(grep -oE "ft: [0-9]+" <<<"$last" | grep -oE "[0-9]+")
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$(date -u +%FT%TZ)" "$commit" "$t" "$secs" \
    "${execs:-0}" "${cov:-0}" "${ft:-0}" "$result" >>"$cache/campaigns.tsv"
  echo "fuzz: $t: ${execs:-?} executions, cov ${cov:-?}, $result" >&2
done
exit "$found"
