#!/usr/bin/env bash
# smoke.sh FUZZER TARGET WORKDIR [RUNS]: the ctest of one fuzz target (SA_FUZZ builds): write the
# seeds (make_seeds.py), then run RUNS deterministic mutations (seed 1) from them. New inputs and
# any crash reproducer go to WORKDIR, never into the source tree. Longer campaigns: scripts/fuzz.sh.
set -euo pipefail
fuzzer=$1 target=$2 work=$3 runs=${4:-4000}
here=$(cd "$(dirname "$0")" && pwd)
rm -rf "$work"
mkdir -p "$work/new"
"${SA_PYTHON:-python3}" "$here/make_seeds.py" "$work/seeds"
exec "$fuzzer" -seed=1 -runs="$runs" -timeout=30 -rss_limit_mb=3072 -max_len=65536 \
  -artifact_prefix="$work/" "$work/new" "$work/seeds/$target"
