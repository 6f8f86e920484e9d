#!/usr/bin/env bash
# test_io_sites.sh: every call of src/ that writes files goes through src/core/io.c (core/io.h),
# so that short writes and EINTR are retried in one place and test_io_faults reaches every write
# site. Fails listing any raw write, fsync, fdatasync, rename, link, truncate, mkdir, creating
# open or fopen for writing outside io.c (a line may opt out with "NOLINT(io-route)" and a reason).
set -euo pipefail
src="${SA_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}/src"
pattern='(^|[^_a-zA-Z.>])(write|pwrite|writev|fsync|fdatasync|rename|renameat2?|link|linkat|truncate|ftruncate|mkdir|fdopen)[[:space:]]*\('
pattern+='|fopen[[:space:]]*\([^;]*"[wa]|[^_]open[[:space:]]*\([^;]*O_(WRONLY|RDWR|CREAT|TMPFILE)'
hits=$(grep -rnE "$pattern" "$src" --include='*.c' | grep -v "^$src/core/io.c:" |
  grep -v 'NOLINT(io-route)' | grep -vE '^[^:]+:[0-9]+:[[:space:]]*(/?\*|//)' || true)
if [ -n "$hits" ]; then
  echo "raw file writes outside src/core/io.c (use core/io.h):"
  echo "$hits"
  exit 1
fi
echo "test_io_sites: every file write of src/ goes through core/io.h"
