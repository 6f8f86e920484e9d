#!/usr/bin/env bash
# demo.sh: the main demonstration of safearith on the shipped model organisms (models/, see
# docs/organisms.md): build, remove the harm direction from the benign fine-tune `sft` with HDR,
# compare answers to held-out harmful and benign prompts before and after, then evaluate base,
# sft and sft+HDR on the held-out splits and put the runs side by side (table + SVG chart).
# Usage: scripts/demo.sh [OUT_DIR]   (default demo-out/; about a minute on 2 cores after the build)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-demo-out}
bin=build/safearith
ev=models/eval

echo "== build"
scripts/deps.sh
if [ ! -f build/CMakeCache.txt ]; then
  cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
fi
cmake --build build -j"$(nproc)" >/dev/null
mkdir -p "$out"

echo
echo "== HDR on sft: out = sft - lambda * top10%(harmful - base), lambda = 1"
rm -rf "$out/sft-hdr"
"$bin" hdr --target models/sft --base models/base --harmful models/harmful \
  --top-k 10 --lambda 1 -o "$out/sft-hdr"

# A few held-out prompts: 3 harmful (AdvBench, DangerousQA, CatQA), 2 benign, 2 additions.
prompts=()
while IFS= read -r line; do prompts+=("$line"); done < <(
  for f in advbench dangerousqa catqa benign addition; do
    n=1
    case $f in benign | addition) n=2 ;; esac
    awk -v n="$n" '!/\\/ && c < n { c++; print }' "$ev/$f.jsonl" |
      sed -E 's/^\{"prompt": "([^"]*)".*/\1/'
  done)

echo
echo "== greedy answers through the organisms' chat template, before (sft) and after (sft-hdr)"
for p in "${prompts[@]}"; do
  echo "Q: $p"
  for m in models/sft "$out/sft-hdr"; do
    printf '   %-8s %s\n' "$(basename "$m"):" \
      "$("$bin" generate --model "$m" --chat --prompt "$p" --max-tokens 24 --temp 0)"
  done
done

echo
echo "== safearith eval on the held-out splits (greedy, keyword judge), then safearith report"
for m in models/base models/sft "$out/sft-hdr"; do
  name=$(basename "$m") # the run directory's name labels the report's row
  rm -rf "$out/eval-$name"
  args=()
  for d in advbench dangerousqa harmfulqa catqa xstest_unsafe; do
    args+=(--dataset "$ev/$d.jsonl:field=prompt:kind=harmful:name=$d")
  done
  for d in benign xstest_safe; do
    args+=(--dataset "$ev/$d.jsonl:field=prompt:kind=benign:name=$d")
  done
  args+=(--dataset "$ev/addition.jsonl:field=prompt:kind=qa:name=addition")
  "$bin" eval --model "$m" --label "$name" --prompt chat \
    --max-new-tokens 24 --judge "refusal:$ev/judge_keywords.txt:rule=substring" -q \
    "${args[@]}" -o "$out/eval-$name"
done
"$bin" report "$out/eval-base" "$out/eval-sft" "$out/eval-sft-hdr" -o "$out/report.md"
cat "$out/report.md"
echo
echo "Chart: $out/report.svg. Expected numbers: models/REFERENCE_TABLE.md (PyTorch reference)."
