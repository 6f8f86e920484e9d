#!/usr/bin/env bash
# paper_table.sh: the Safety Arithmetic paper's table on the shipped model organisms (models/),
# with safearith alone: for each of the paper's three scenarios (the benign fine-tune `sft` as
# "original", the aligned `base`, the `edited` organism) the model as shipped, ICV only, HDR only
# and HDR+ICV, each evaluated on the held-out splits (chat prompting, greedy, 24 new tokens, the
# organisms' keyword judge), one run directory per row, then `safearith report` over the twelve.
#
# ICV follows the paper by default: the vector is the first principal component of the
# safe - unsafe differences of the last token's residual state (--position last --method pca),
# computed on the model it steers (for HDR+ICV: on the HDR model, as the paper does), and injected
# with the paper's rule (eqs. 9-10, --steer-mode icv) at the residual stream (--steer-at
# residual), as the paper's equations read, alpha 0.1. The demonstrations are the organisms'
# in-context pairs (models/eval/icv_pairs_context.jsonl: a held-in question answered safely or
# not, then the next question up to <|assistant|>, so the last token is the decision point);
# --pairs models/eval/icv_pairs.jsonl gives the question/answer pairs rendered through the chat
# template (last token: the end of the answer's turn), which steer far less (docs/organisms.md). HDR: top-10 % of tau = harmful - base, lambda 1 (the
# README's); for the edit scenario the organism is `edited_erode` (an edit that erodes safety),
# HDR confined to the edited tensors (every decoder layer's MLP, --include mlp) at lambda 0.75.
#
# Usage: scripts/paper_table.sh [options] OUT_DIR
#   --alpha A        ICV alpha (default 0.1)
#   --lambda L       HDR lambda (default 1)
#   --edited-lambda L  HDR lambda of the edit scenario (default 0.75)
#   --pairs FILE     ICV demonstration pairs (default models/eval/icv_pairs_context.jsonl)
#   --position P --method M --steer-at S   passed to icv / eval (defaults: last, pca, residual)
#   --limit N        only the first N items of each dataset (a quick structural run)
#   --bin PATH       the safearith binary (default $SAFEARITH, else build/safearith)
#   --threads N      threads for every command (default: all cores)
# OUT_DIR must not exist or be empty. Rows: OUT_DIR/{original, icv, hdr, hdr_icv, base, base_icv,
# base_hdr, base_hdr_icv, edited, edited_icv, edited_hdr, edited_hdr_icv}; the HDR models and the
# vectors go to OUT_DIR/work/; the table to OUT_DIR/report.md (and report.svg).
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
bin=${SAFEARITH:-$src/build/safearith}
alpha=0.1 lambda=1 edited_lambda=0.75 position=last method=pca steer_at=residual
pairs=$src/models/eval/icv_pairs_context.jsonl
limit=() threads=()
usage() { sed -n '20,31p' "$0" | sed 's/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
  case $1 in
    --alpha) alpha=$2; shift 2 ;;
    --lambda) lambda=$2; shift 2 ;;
    --edited-lambda) edited_lambda=$2; shift 2 ;;
    --pairs) pairs=$2; shift 2 ;;
    --position) position=$2; shift 2 ;;
    --method) method=$2; shift 2 ;;
    --steer-at) steer_at=$2; shift 2 ;;
    --limit) limit=(--limit "$2"); shift 2 ;;
    --bin) bin=$2; shift 2 ;;
    --threads) threads=(--threads "$2"); shift 2 ;;
    -h | --help) usage; exit 0 ;;
    -*) echo "paper_table.sh: unknown option $1" >&2; exit 2 ;;
    *) break ;;
  esac
done
if [ $# -ne 1 ]; then
  usage >&2
  exit 2
fi
out=$1
if [ -e "$out" ] && [ -n "$(ls -A "$out")" ]; then
  echo "paper_table.sh: $out exists and is not empty" >&2
  exit 1
fi
if [ ! -x "$bin" ]; then
  echo "paper_table.sh: no safearith binary at $bin (build first, or --bin)" >&2
  exit 1
fi
m=$src/models
ev=$m/eval
work=$out/work
mkdir -p "$work"

datasets=()
for d in advbench dangerousqa harmfulqa catqa xstest_unsafe; do
  datasets+=(--dataset "$ev/$d.jsonl:field=prompt:kind=harmful:name=$d")
done
for d in benign xstest_safe; do
  datasets+=(--dataset "$ev/$d.jsonl:field=prompt:kind=benign:name=$d")
done
datasets+=(--dataset "$ev/addition.jsonl:field=prompt:kind=qa:name=addition")

# evaluate ROW MODEL [VECTOR]: one row of the table
evaluate() {
  local row=$1 model=$2 steer=()
  if [ $# -gt 2 ]; then
    steer=(--steer "$3:$alpha" --steer-mode icv --steer-at "$steer_at")
  fi
  echo "== $row" >&2
  "$bin" eval --model "$model" --label "$row" --prompt chat --max-new-tokens 24 \
    --judge "refusal:$ev/judge_keywords.txt:rule=substring" -q "${limit[@]}" "${threads[@]}" \
    "${steer[@]}" "${datasets[@]}" -o "$out/$row"
}

# icv MODEL VECTOR: the safety vector of MODEL from the demonstration pairs
icv() {
  "$bin" icv --model "$1" --pairs "$pairs" --chat --position "$position" --method "$method" \
    "${threads[@]}" -o "$2"
}

# hdr TARGET OUT LAMBDA [ARGS...]: HDR with the organisms' harm vector
hdr() {
  local target=$1 dst=$2 lam=$3
  shift 3
  "$bin" hdr --target "$target" --base "$m/base" --harmful "$m/harmful" --top-k 10 \
    --lambda "$lam" "${threads[@]}" "$@" -o "$dst" >/dev/null
}

# scenario PREFIX MODEL LAMBDA [HDR ARGS...]: the four rows of one scenario
scenario() {
  local prefix=$1 model=$2 lam=$3
  shift 3
  local name=${prefix:+${prefix}_}
  local first=${prefix:-original}
  hdr "$model" "$work/${name}hdr" "$lam" "$@"
  icv "$model" "$work/${name}icv.gguf"
  icv "$work/${name}hdr" "$work/${name}hdr_icv.gguf"
  evaluate "$first" "$model"
  evaluate "${name}icv" "$model" "$work/${name}icv.gguf"
  evaluate "${name}hdr" "$work/${name}hdr"
  evaluate "${name}hdr_icv" "$work/${name}hdr" "$work/${name}hdr_icv.gguf"
}

scenario "" "$m/sft" "$lambda"
scenario base "$m/base" "$lambda"
scenario edited "$m/edited_erode" "$edited_lambda" --include mlp

rows=(original icv hdr hdr_icv base base_icv base_hdr base_hdr_icv
  edited edited_icv edited_hdr edited_hdr_icv)
"$bin" report "${rows[@]/#/$out/}" -o "$out/report.md"
cat "$out/report.md"
