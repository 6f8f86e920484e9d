#!/usr/bin/env bash
# test_eval_table.sh: docs/eval.md's organisms table is what its printed commands give today
# (scripts/eval_table.sh --check reruns them and compares), so the page cannot drift by hand.
set -euo pipefail
"${SA_SOURCE_DIR:?}/scripts/eval_table.sh" --check "${SA_BUILD_DIR:?}"
