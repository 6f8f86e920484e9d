#!/usr/bin/env bash
# test.sh: build safearith and run every test, twice: a normal -Werror build, then under
# AddressSanitizer + UndefinedBehaviorSanitizer (clang), where each libFuzzer target of fuzz/ also
# runs a few thousand mutations of its seeds (fuzz/smoke.sh). Installs missing Debian packages and the
# npm test references first; between the two, scripts/coverage.sh prints src/'s line and branch
# coverage. Usage: scripts/test.sh [--quick]  (--quick: normal build only)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh --test
if [ -f tests/tokenizer/package.json ]; then
  (cd tests/tokenizer && { [ -d node_modules ] || npm ci --no-audit --no-fund --loglevel=error; })
fi
# llama.cpp for the interoperability tests (GGUF export): built once, cached outside the clone.
scripts/llamacpp.sh >/dev/null || echo "test.sh: llama.cpp unavailable; its tests skip (fail with CI=true)" >&2
jobs=$(nproc)
# Formatting is part of the build's contract (.clang-format).
find include src cli tests bench fuzz -name '*.[ch]' -not -path '*/node_modules/*' -print0 |
  xargs -0 clang-format --dry-run -Werror
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DSA_WERROR=ON >/dev/null
cmake --build build -j"$jobs"
(cd build && ctest --output-on-failure -j"$jobs")
if [ "${1:-}" != "--quick" ]; then
  # Line and branch coverage of src/ by the same suites (gcc --coverage), printed for the log.
  scripts/coverage.sh build-cov
  CC=clang cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSA_WERROR=ON \
    -DSA_SANITIZE=ON -DSA_FUZZ=ON -DSA_ALLOC_FAULTS=ON -DSA_IO_FAULTS=ON >/dev/null
  cmake --build build-asan -j"$jobs"
  (cd build-asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 \
    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ctest --output-on-failure -j"$jobs")
fi
