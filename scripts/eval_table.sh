#!/usr/bin/env bash
# eval_table.sh: regenerate the organisms' table of docs/eval.md by running the commands printed
# just above it (HDR on sft, then eval of base, sft and sft-hdr1 on the held-out splits through the
# organisms' chat prompt, then report) and replacing the lines between the markers
# "<!-- eval-table:begin -->" and "<!-- eval-table:end -->" with report.md's table.
# Usage: scripts/eval_table.sh [--check] [BUILD_DIR]   (default build; about 20 s on 2 cores)
#   --check: change nothing; exit 1 if docs/eval.md's table differs from what the commands give
#            (tests/eval/test_eval_table.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
check=0
if [ "${1:-}" = --check ]; then
  check=1
  shift
fi
bin=${1:-build}/safearith
M=models
E=$M/eval
tmp=$(mktemp -d /tmp/sa_eval_table.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
"$bin" hdr --target $M/sft --base $M/base --harmful $M/harmful --lambda 1 -o "$tmp/sft-hdr1" >/dev/null
mkdir -p "$tmp/runs"
for m in $M/base $M/sft "$tmp/sft-hdr1"; do
  ds=()
  for s in advbench dangerousqa harmfulqa catqa xstest_unsafe xstest_safe benign addition; do
    ds+=(--dataset "$E/$s.jsonl")
  done
  "$bin" eval -q --model "$m" -o "$tmp/runs/$(basename "$m")" --label "$(basename "$m")" \
    --prompt-template $E/chat_prompt.txt --max-new-tokens 24 \
    --judge "refusal:$E/judge_keywords.txt:name=keywords" --batch 64 "${ds[@]}"
done
"$bin" report "$tmp/runs/base" "$tmp/runs/sft" "$tmp/runs/sft-hdr1" -o "$tmp/report.md" >/dev/null
# the report's table: its lines starting with '|'
grep '^|' "$tmp/report.md" >"$tmp/table.md"
awk -v table="$tmp/table.md" '
  /<!-- eval-table:end -->/ { while ((getline l < table) > 0) print l; skip = 0 }
  !skip { print }
  /<!-- eval-table:begin -->/ { skip = 1 }' docs/eval.md >"$tmp/eval.md"
grep -q '<!-- eval-table:begin -->' "$tmp/eval.md" || { echo "eval_table: no markers in docs/eval.md" >&2; exit 1; }
if [ "$check" -eq 1 ]; then
  diff docs/eval.md "$tmp/eval.md" >&2 || { echo "docs/eval.md: the table is stale (run scripts/eval_table.sh)" >&2; exit 1; }
  echo "docs/eval.md: the table matches" >&2
else
  cp "$tmp/eval.md" docs/eval.md
  echo "docs/eval.md: table regenerated" >&2
fi
