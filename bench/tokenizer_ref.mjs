// tokenizer_ref.mjs: the comparison run for tokenizer_bench: the same paragraphs encoded by the
// reference implementation (@lenml/tokenizers under node), a fresh tokenizer per run.
// usage: node bench/tokenizer_ref.mjs MODEL_DIR TEXT_FILE [RUNS]
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { loadRefs } from "../tests/tokenizer/refs.mjs";

const [dir, file, runsArg] = process.argv.slice(2);
const runs = Number(runsArg ?? 5);
const { TokenizerLoader } = await loadRefs();
const bytes = readFileSync(file);
const paragraphs = bytes.toString("utf8").split("\n\n");
const json = readFileSync(join(dir, "tokenizer.json"), "utf8");
const config = readFileSync(join(dir, "tokenizer_config.json"), "utf8");
const mbs = [];
let tokens = 0;
for (let r = 0; r < runs; r++) {
  const tok = TokenizerLoader.fromPreTrained({ tokenizerJSON: JSON.parse(json), tokenizerConfig: JSON.parse(config) });
  tokens = 0;
  const t0 = process.hrtime.bigint();
  for (const p of paragraphs) tokens += tok.encode(p).length;
  const dt = Number(process.hrtime.bigint() - t0) / 1e9;
  mbs.push(bytes.length / dt / 1e6);
}
const sorted = [...mbs].sort((a, b) => a - b);
console.log(JSON.stringify({ impl: "@lenml/tokenizers", bytes: bytes.length, runs_mb_s: mbs.map((x) => +x.toFixed(3)), tokens, median_mb_s: +sorted[Math.floor(runs / 2)].toFixed(3) }));
