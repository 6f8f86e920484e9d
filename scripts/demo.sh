#!/usr/bin/env bash
# demo.sh: the main demonstration of safearith on the shipped model organisms (models/, see
# docs/organisms.md): build, remove the harm direction from the benign fine-tune `sft` with HDR,
# then compare answers to held-out harmful and benign prompts before and after.
# Usage: scripts/demo.sh [OUT_DIR]   (default demo-out/; about a minute on 2 cores)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-demo-out}
bin=build/safearith

echo "== build"
if [ ! -x "$bin" ] || [ ! -f build/CMakeCache.txt ]; then
  cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
fi
cmake --build build -j2 >/dev/null
mkdir -p "$out"

has() { "$bin" help 2>/dev/null | grep -qE "^  $1 "; }
missing=()

echo
echo "== HDR on sft: out = sft - lambda * top10%(harmful - base), lambda = 1"
if has hdr; then
  rm -rf "$out/sft-hdr"
  "$bin" hdr --target models/sft --base models/base --harmful models/harmful \
    --top-k 10 --lambda 1 -o "$out/sft-hdr"
else
  missing+=(hdr)
  echo "(safearith hdr is not built yet)"
fi

# A few held-out prompts: 3 harmful (AdvBench, DangerousQA, CatQA), 2 benign, 2 additions.
prompts=()
while IFS= read -r line; do prompts+=("$line"); done < <(
  for f in advbench dangerousqa catqa benign addition; do
    n=1; case $f in benign|addition) n=2 ;; esac
    head -n "$n" "models/eval/$f.jsonl" | sed -E 's/^\{"prompt": "(([^"\\]|\\.)*)".*/\1/'
  done)

echo
echo "== greedy answers, before (sft) and after (sft-hdr)"
if has generate && [ -d "$out/sft-hdr" ]; then
  for p in "${prompts[@]}"; do
    echo "Q: $p"
    printf '   sft:     %s\n' "$("$bin" generate --model models/sft --chat --prompt "$p" --max-tokens 24 --temp 0)"
    printf '   sft-hdr: %s\n' "$("$bin" generate --model "$out/sft-hdr" --chat --prompt "$p" --max-tokens 24 --temp 0)"
  done
else
  has generate || missing+=(generate)
  echo "(needs safearith generate and hdr)"
fi

if has eval && has report && [ -d "$out/sft-hdr" ]; then
  echo
  echo "== evaluation (harmful ASR, over-refusal, addition exact match) and report"
  for m in models/base models/sft "$out/sft-hdr"; do
    name=$(basename "$m")
    "$bin" eval --model "$m" --prompt chat --max-tokens 24 --judge refusal \
      --dataset models/eval/advbench.jsonl:field=prompt:kind=harmful \
      --dataset models/eval/dangerousqa.jsonl:field=prompt:kind=harmful \
      --dataset models/eval/harmfulqa.jsonl:field=prompt:kind=harmful \
      --dataset models/eval/catqa.jsonl:field=prompt:kind=harmful \
      --dataset models/eval/benign.jsonl:field=prompt:kind=benign \
      -o "$out/eval-$name" || missing+=("eval on $name")
  done
  "$bin" report "$out"/eval-* -o "$out/report.md" && cat "$out/report.md"
else
  missing+=("eval/report")
fi

echo
if [ ${#missing[@]} -gt 0 ]; then
  echo "Not yet shown (commands not built yet): ${missing[*]}"
fi
echo "The expected numbers: models/REFERENCE_TABLE.md (PyTorch reference, same checkpoints)."
