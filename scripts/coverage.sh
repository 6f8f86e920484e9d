#!/usr/bin/env bash
# coverage.sh: line and branch coverage of src/ by the test suite. Builds an instrumented copy
# (-DSA_COVERAGE=ON: gcc --coverage -O0) in build-cov, runs every ctest suite there, and prints
# per folder of src/ the lines and branches covered, the 20 least-covered functions (by lines
# not run), and last the line `src lines NN.N % branches NN.N %`. Branches are gcc's, without
# those the compiler adds for exceptions. Uses gcovr (Debian) to read the .gcda files.
# usage: scripts/coverage.sh [BUILD_DIR=build-cov] [--no-build]   (SA_COV_JSON=FILE keeps gcovr's JSON)
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-build-cov}
jobs=$(nproc)
if [ "${2:-}" != "--no-build" ]; then
  cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=Debug -DSA_COVERAGE=ON >/dev/null
  cmake --build "$dir" -j"$jobs" >/dev/null
  find "$dir" -name '*.gcda' -delete
  # a failing suite still counts its coverage; the status is reported, not hidden
  (cd "$dir" && ctest -j"$jobs" --output-on-failure >ctest.log 2>&1) ||
    echo "coverage.sh: some suites failed (see $dir/ctest.log)" >&2
fi
json=${SA_COV_JSON:-$dir/coverage.json}
gcovr --root . --filter 'src/' --exclude-unreachable-branches --exclude-throw-branches \
  --json "$json" "$dir" >/dev/null
/usr/bin/python3 scripts/coverage_summary.py "$json"
